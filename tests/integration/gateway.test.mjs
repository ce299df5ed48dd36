// Issue 2: the OpenAI-compatible gateway driven by the official `openai` SDK and curl.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { startTriage, config, curl, sleep, triageBin } from "./lib/harness.mjs";
import { startFakeOpenAI, openaiError } from "./lib/fake_openai.mjs";

describe("gateway core", () => {
  let open, mid, t, client;
  before(async () => {
    open = await startFakeOpenAI();
    mid = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "gemma-local", url: open.url, catalog: "gemma-4-31b", model: "gemma4:31b", timeouts: { first_byte_ms: 800 } }] },
          { name: "mid", deployments: [{ name: "sonnet", url: mid.url, catalog: "claude-sonnet-4.6", model: "claude-sonnet-4-6", api_key_env: "TRIAGE_IT_MID_KEY" }] },
          { name: "frontier", deployments: [{ name: "opus", sim: { latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000 }, catalog: "claude-opus-4.7" }] },
        ],
        // header_timeout_ms stays at its default (10 s): it is also how long a new connection may
        // stay silent, and Node's fetch opens a spare connection when a request is aborted ("a
        // client that goes away ...") and sends the next SDK request on it ("health, readiness,
        // models, metrics"), 0.3-0.5 s later. With header_timeout_ms: 500, triage closed it at
        // 500 ms, and a request sent at that moment failed with "other side closed" (3 of 28 runs
        // under TSan; the race is the one every server's idle close has, see docs/config.md).
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\nlimits: {max_body_bytes: 65536, max_header_bytes: 8192, body_timeout_ms: 500}\n",
      }),
      { env: { TRIAGE_IT_MID_KEY: "sk-test-secret-value-123" } },
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await open.close();
    await mid.close();
  });

  const msgs = [{ role: "user", content: "Hello" }];

  test("non-streaming answer with tier and exact cost headers", async () => {
    open.behave((req, res, body) => open.reply(req, res, body, { text: "hi there", usage: { prompt_tokens: 100, completion_tokens: 50 } }));
    const { data, response } = await client.chat.completions.create({ model: "auto", messages: msgs }).withResponse();
    assert.equal(data.choices[0].message.content, "hi there");
    assert.equal(data.usage.prompt_tokens, 100);
    assert.equal(response.headers.get("x-triage-tier"), "open");
    assert.equal(response.headers.get("x-triage-deployment"), "gemma-local");
    // gemma-4-31b: 150 tokens x $0.20/Mtok = 30 micro-dollars.
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.000030");
    // claude-opus-4.7: 100 x $5 + 50 x $25 per Mtok = 1750 micro-dollars.
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.001750");
    assert.match(response.headers.get("x-request-id"), /^req_[0-9a-f]{24}$/);
    const got = open.requests.at(-1);
    assert.equal(got.url, "/v1/chat/completions");
    assert.equal(got.body.model, "gemma4:31b");
    assert.deepEqual(got.body.messages, msgs);
  });

  test("request ids are time-ordered: the creation millisecond, then 48 random bits", async () => {
    const ids = [];
    const before = Date.now();
    for (let i = 0; i < 3; i++) {
      const { response } = await client.chat.completions.create({ model: "auto", messages: msgs }).withResponse();
      ids.push(response.headers.get("x-request-id"));
      await new Promise((r) => setTimeout(r, 3));
    }
    const after = Date.now();
    for (const id of ids) {
      assert.match(id, /^req_[0-9a-f]{24}$/);
      const ms = parseInt(id.slice(4, 16), 16);
      assert.ok(ms >= before && ms <= after, `${id}: ${ms} not in [${before}, ${after}]`);
    }
    // 3 ms apart, so strictly increasing as strings (the ledger's primary key order).
    assert.ok(ids[0] < ids[1] && ids[1] < ids[2], ids.join(" "));
    assert.equal(new Set(ids.map((id) => id.slice(16))).size, 3, "the random parts differ");
  });

  test("the upstream gets the key from api_key_env and its own model name", async () => {
    await client.chat.completions.create({ model: "mid", messages: msgs });
    const got = mid.requests.at(-1);
    assert.equal(got.headers.authorization, "Bearer sk-test-secret-value-123");
    assert.equal(got.body.model, "claude-sonnet-4-6");
    assert.ok(!t.stderr().includes("sk-test-secret-value-123"), "the key must never be logged");
  });

  test("streaming reassembles content; include_usage adds usage and the triage object", async () => {
    open.behave((req, res, body) => open.reply(req, res, body, { chunks: ["a", "b", "c"], usage: { prompt_tokens: 10, completion_tokens: 3 } }));
    const stream = await client.chat.completions.create({ model: "open", messages: msgs, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let last;
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content) text += c.choices[0].delta.content;
      last = c;
    }
    assert.equal(text, "abc");
    assert.equal(last.usage.prompt_tokens, 10);
    assert.equal(last.usage.completion_tokens, 3);
    assert.equal(last.triage.tier, "open");
    assert.equal(last.triage.cost_usd, "0.000003"); // 13 x 0.2 = 2.6 -> 3 micro-dollars
    assert.equal(open.requests.at(-1).body.stream_options.include_usage, true);
  });

  test("streaming without include_usage: no usage chunk reaches the client", async () => {
    open.behave((req, res, body) => open.reply(req, res, body, {}));
    const stream = await client.chat.completions.create({ model: "open", messages: msgs, stream: true });
    let sawUsage = false;
    let text = "";
    for await (const c of stream) {
      if (c.usage) sawUsage = true;
      text += c.choices[0]?.delta?.content || "";
    }
    assert.equal(text, "Hello from the fake.");
    assert.equal(sawUsage, false);
    // Upstream was still asked for usage, for accounting.
    assert.equal(open.requests.at(-1).body.stream_options.include_usage, true);
  });

  test("curl stream shows the cost comment, [DONE] and the cost trailer", async () => {
    open.behave((req, res, body) => open.reply(req, res, body, { usage: { prompt_tokens: 100, completion_tokens: 50 } }));
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "--raw", "-d", JSON.stringify({ model: "open", stream: true, messages: msgs })]);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/event-stream");
    assert.equal(r.headers["transfer-encoding"], "chunked");
    assert.match(r.headers["trailer"], /x-triage-cost-usd/);
    assert.match(r.body, /: triage cost_usd=0\.000030 reference_cost_usd=0\.001750/);
    assert.match(r.body, /data: \[DONE\]/);
    assert.match(r.body, /x-triage-cost-usd: 0\.000030/); // the trailer, after the last chunk
    // The usage was reported: the x-triage-usage-estimated trailer (announced) says false.
    assert.equal(r.headers["trailer"], "x-triage-cost-usd, x-triage-reference-cost-usd, x-triage-usage-estimated");
    assert.match(r.body.slice(r.body.lastIndexOf("\r\n0\r\n")), /\r\nx-triage-usage-estimated: false\r\n/);
  });

  test("model pins: tier, deployment, catalog id; auto goes to the default tier", async () => {
    for (const [model, tier] of [["frontier", "frontier"], ["opus", "frontier"], ["claude-opus-4.7", "frontier"], ["claude-sonnet-4.6", "mid"], ["auto", "open"]]) {
      const { response } = await client.chat.completions.create({ model, messages: msgs }).withResponse();
      assert.equal(response.headers.get("x-triage-tier"), tier, model);
    }
  });

  test("unknown model: 404 model_not_found listing what exists", async () => {
    await assert.rejects(client.chat.completions.create({ model: "gpt-9", messages: msgs }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError);
      assert.equal(e.status, 404);
      assert.equal(e.code, "model_not_found");
      assert.equal(e.type, "invalid_request_error"); // as OpenAI types its own 404s
      assert.match(e.message, /available: auto, open, gemma-local/);
      return true;
    });
  });

  test("a key pasted into `model` is not echoed in the 404, logged or stored in the ledger", async () => {
    const key = "sk-proj-PastedByMistake0123456789abcdefXYZ";
    const { status, body } = await curl([
      "-X", "POST", `${t.url}/v1/chat/completions`, "-H", "content-type: application/json",
      "-d", JSON.stringify({ model: key, messages: msgs }),
    ]);
    assert.equal(status, 404);
    const json = JSON.parse(body);
    assert.equal(json.error.code, "model_not_found");
    assert.match(json.error.message, /^model '\[redacted\]' not found; available: auto/);
    assert.ok(!JSON.stringify(json).includes(key.slice(3, 20)));
    await sleep(100);
    assert.ok(!t.stderr().includes(key.slice(3, 20)), "the pasted key must not be logged");
    const row = t.rows().at(-1);
    assert.equal(row.status, 404);
    assert.equal(row.requested_model, "[redacted]");
  });

  test("malformed bodies get 400 invalid_request_error naming the problem", async () => {
    const cases = [
      ["", /empty/],
      ["{not json", /JSON/],
      ["[1,2]", /object/],
      ['{"model":"auto"}', /messages/],
      ['{"model":"auto","messages":"hi"}', /messages/],
      ['{"model":"auto","messages":[]}', /messages/],
      ['{"model":7,"messages":[{"role":"user","content":"x"}]}', /model/],
      ['{"model":"auto","messages":[{"role":"user","content":"x"}],"stream":"yes"}', /stream/],
      ["[".repeat(5000) + "]".repeat(5000), /deep|depth|nested/],
    ];
    for (const [body, re] of cases) {
      const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "--data-binary", "@-"], { input: body });
      assert.equal(r.status, 400, body.slice(0, 40));
      const j = JSON.parse(r.body);
      assert.equal(j.error.type, "invalid_request_error", body.slice(0, 40));
      assert.match(j.error.message, re, body.slice(0, 40));
    }
  });

  test("SDK surfaces a 400 as BadRequestError", async () => {
    await assert.rejects(client.chat.completions.create({ model: "auto", messages: [] }), (e) => e instanceof OpenAI.BadRequestError && e.status === 400);
  });

  // OpenAI names the member at fault in error.param, which the SDK gives as APIError.param; it was
  // always null here.
  test("a 400 names the member at fault in error.param", async () => {
    const cases = [
      [{ model: "auto", messages: [] }, "messages"],
      [{ model: "auto", messages: [{ role: "user", content: "hi" }], temperature: 9 }, "temperature"],
      [{ model: "auto", messages: [{ role: "robot", content: "hi" }] }, "messages[0].role"],
      [{ model: "auto", messages: [{ role: "user", content: [{ type: "text" }] }] }, "messages[0].content[0].text"],
    ];
    for (const [body, param] of cases) {
      const e = await client.chat.completions.create(body).then(() => null, (err) => err);
      assert.ok(e instanceof OpenAI.BadRequestError, JSON.stringify(body));
      assert.equal(e.param, param, e.message);
      assert.ok(e.error.message.startsWith(param + ": "), e.error.message);
    }
    // A fault of the whole body names no member.
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", "{"]);
    assert.equal(r.status, 400);
    assert.equal(JSON.parse(r.body).error.param, null);
  });

  test("body over the limit: 413", async () => {
    const big = JSON.stringify({ model: "auto", messages: [{ role: "user", content: "x".repeat(100000) }] });
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "--data-binary", "@-"], { input: big });
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).error.code, "request_too_large");
  });

  test("oversized headers: 431", async () => {
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "x-big: " + "a".repeat(20000), "-d", "{}"]);
    assert.equal(r.status, 431);
  });

  test("a client that never sends its body gets 408 within body_timeout", async () => {
    const started = Date.now();
    const reply = await new Promise((resolve, reject) => {
      const s = net.connect(new URL(t.url).port, "127.0.0.1", () => {
        s.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
      });
      let data = "";
      s.on("data", (d) => (data += d));
      s.on("close", () => resolve(data));
      s.on("error", reject);
      setTimeout(() => reject(new Error("no answer")), 5000);
    });
    assert.match(reply, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 3000);
  });

  test("upstream 500 becomes a clean 502 with the upstream's message", async () => {
    open.behave((req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(openaiError(500, "the model crashed")));
    });
    await assert.rejects(client.chat.completions.create({ model: "open", messages: msgs }), (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.code, "upstream_error");
      assert.match(e.message, /gemma-local.*500.*the model crashed/);
      return true;
    });
  });

  test("upstream hang becomes 504 within first_byte_ms", async () => {
    open.behave(() => {}); // never answers
    const started = Date.now();
    await assert.rejects(client.chat.completions.create({ model: "open", messages: msgs }), (e) => {
      assert.equal(e.status, 504);
      assert.equal(e.code, "upstream_timeout");
      return true;
    });
    assert.ok(Date.now() - started < 3000, "answered within the deadline");
  });

  test("a client that goes away cancels the upstream call, and is accounted", async () => {
    let upstreamClosed;
    const closed = new Promise((r) => (upstreamClosed = r));
    open.behave((req, res) => {
      res.on("close", () => upstreamClosed(Date.now()));
    }); // hangs until triage drops the connection
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 150);
    await assert.rejects(client.chat.completions.create({ model: "open", messages: msgs }, { signal: ac.signal }));
    const at = await Promise.race([closed, sleep(2000).then(() => null)]);
    assert.ok(at, "the upstream connection was closed");
    assert.ok(at - started < 700, `cancelled promptly (${at - started} ms), before first_byte_ms`);
    await sleep(100);
    const row = t.rows().at(-1);
    assert.equal(row.status, 499);
    assert.equal(row.error_kind, "client_closed");
  });

  // Regression: the disconnect watch ended at the first byte the client sent while its chat
  // request ran, so a client that pipelined its next request and then left went unnoticed and
  // the upstream call ran on (here until first_byte_ms: a 504 upstream_timeout row).
  test("a client that pipelines its next request and then goes away still cancels the upstream call", async () => {
    let upstreamClosed;
    const closed = new Promise((r) => (upstreamClosed = r));
    const seen = open.requests.length;
    open.behave((req, res) => {
      res.on("close", () => upstreamClosed(Date.now()));
    }); // hangs until triage drops the connection
    const before = t.rows().length;
    const body = JSON.stringify({ model: "open", messages: msgs });
    const sock = net.connect(t.port, "127.0.0.1");
    sock.on("error", () => {});
    await new Promise((r) => sock.once("connect", r));
    sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    while (open.requests.length === seen) await sleep(10);
    sock.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); // pipelined while the chat request waits
    await sleep(100);
    sock.destroy();
    const at = await Promise.race([closed, sleep(3000).then(() => null)]);
    assert.ok(at, "the upstream connection was closed");
    // Cancelled because the client left (499), not ended by first_byte_ms (504) as before.
    let rows = t.rows();
    for (let i = 0; i < 50 && rows.length === before; i++) {
      await sleep(20);
      rows = t.rows();
    }
    assert.deepEqual([rows.at(-1).status, rows.at(-1).error_kind], [499, "client_closed"]);
  });

  test("a request pipelined behind a running chat request is answered after it", async () => {
    open.behave((req, res, body) => setTimeout(() => open.reply(req, res, body, { text: "first" }), 200));
    const body = JSON.stringify({ model: "open", messages: msgs });
    const sock = net.connect(t.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => (got += d.toString("latin1")));
    await new Promise((r) => sock.once("connect", r));
    sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await sleep(50);
    // The next request arrives in pieces while the first one waits on its upstream.
    sock.write("GET /healthz HTTP/1.1\r\n");
    await sleep(30);
    sock.write("Host: x\r\nConnection: close\r\n\r\n");
    await new Promise((r) => sock.once("close", r));
    const answers = got.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, got);
    assert.match(answers[0], /^HTTP\/1\.1 200/);
    assert.match(answers[0], /"first"/);
    assert.match(answers[1], /^HTTP\/1\.1 200/);
    assert.match(answers[1], /\{"status":"ok"\}/);
  });

  test("health, readiness, models, metrics; unknown path is a JSON 404", async () => {
    assert.equal((await curl([`${t.url}/healthz`])).status, 200);
    const ready = await curl([`${t.url}/readyz`]);
    assert.equal(ready.status, 200);
    assert.equal(JSON.parse(ready.body).deployments.length, 3);
    const models = await client.models.list();
    const ids = [];
    for await (const m of models) ids.push(m.id);
    for (const id of ["auto", "open", "mid", "frontier", "gemma-local", "sonnet", "opus", "gemma-4-31b"]) assert.ok(ids.includes(id), id);
    const metrics = await curl([`${t.url}/metrics`]);
    assert.match(metrics.body, /triage_requests_total\{tier="open"\} \d+/);
    assert.match(metrics.body, /triage_deployment_circuit_open\{tier="open",deployment="gemma-local"\} 0/);
    const nf = await curl([`${t.url}/v2/nothing`]);
    assert.equal(nf.status, 404);
    assert.ok(JSON.parse(nf.body).error.message);
  });

  test("ledger: one row per request, ids equal x-request-id", async () => {
    open.behave((req, res, body) => open.reply(req, res, body, {}));
    const before = t.rows().length;
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const { response } = await client.chat.completions.create({ model: "open", messages: msgs }).withResponse();
      ids.push(response.headers.get("x-request-id"));
    }
    await assert.rejects(client.chat.completions.create({ model: "nope", messages: msgs }));
    const rows = t.rows();
    assert.equal(rows.length, before + 6);
    const recent = rows.slice(before);
    assert.deepEqual(recent.slice(0, 5).map((r) => r.id), ids);
    for (const r of recent.slice(0, 5)) {
      assert.equal(r.status, 200);
      assert.equal(r.tier, "open");
      assert.equal(r.input_tokens, 100);
      assert.equal(r.output_tokens, 50);
      assert.equal(r.cost_micros, 30);
      assert.equal(r.reference_cost_micros, 1750);
    }
    assert.equal(recent[5].status, 404);
    assert.equal(recent[5].error_kind, "not_found");
  });
});

describe("durability and shutdown", () => {
  // Regression: a SIGTERM that came while the gateway was starting (ledger, model, listener)
  // killed it with the default action: exit 143, no drain, no "stopped" line. The signals are
  // now held from the start of serving until the handlers are in place. Race-free: the signal is
  // sent only once /proc shows it blocked (SigBlk), i.e. inside that window; a start that got
  // past the window before it was seen is retried. The old build never blocks it, so it fails.
  test("SIGTERM during startup drains and exits 0, as after startup", async () => {
    const SIGTERM_BIT = 1n << 14n; // signal 15
    for (let attempt = 0; attempt < 10; attempt++) {
      const proc = spawn(triageBin, ["demo", "--listen", "127.0.0.1:0", "--ledger", "sqlite::memory:"], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      proc.stderr.on("data", (d) => (err += d));
      const exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
      let held = false;
      // A synchronous poll: nothing else runs meanwhile, which is what makes it fast enough.
      const until = Date.now() + 2000;
      while (Date.now() < until) {
        let status = "";
        try {
          status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
        } catch {
          break; // gone
        }
        const m = status.match(/^SigBlk:\s*([0-9a-f]+)$/m);
        if (m && BigInt("0x" + m[1]) & SIGTERM_BIT) {
          held = true;
          break;
        }
        if (/^State:\s*Z/m.test(status)) break;
      }
      if (!held) {
        proc.kill("SIGKILL");
        await exited;
        continue;
      }
      proc.kill("SIGTERM");
      const r = await Promise.race([exited, sleep(15000).then(() => null)]);
      if (!r) proc.kill("SIGKILL");
      assert.deepEqual(r, { code: 0, signal: null }, `exit after a SIGTERM during startup\n${err}`);
      assert.match(err, /"msg":"signal received"/);
      assert.match(err, /"msg":"stopped"/);
      return;
    }
    assert.fail("never saw SIGTERM held during startup in 10 starts");
  });

  test("kill -9 right after the last response: every answered request has its row", async () => {
    const t = await startTriage(config({ tiers: [{ name: "open", deployments: [{ name: "s", sim: { latency_ms: 0, output_tokens: 3 }, catalog: "gemma-4-31b" }] }] }));
    try {
      const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
      const ids = [];
      for (let i = 0; i < 40; i++) {
        const { response } = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: `n${i}` }] }).withResponse();
        ids.push(response.headers.get("x-request-id"));
      }
      t.proc.kill("SIGKILL");
      await t.exited;
      const rows = t.rows();
      assert.equal(rows.length, 40);
      assert.deepEqual(rows.map((r) => r.id), ids);
    } finally {
      await t.cleanup();
    }
  });

  test("grace period over: requests still in flight get a 503 or a stream error event, and every row is written", async () => {
    const slow = { latency_ms: 60000, ttft_ms: 60000, output_tokens: 5 };
    const trickle = { latency_ms: 0, ttft_ms: 10, output_tokens: 1000, tokens_per_second: 5 };
    const t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "slow", sim: slow, catalog: "gemma-4-31b" }] },
          { name: "mid", deployments: [{ name: "trickle", sim: trickle, catalog: "claude-sonnet-4.6" }] },
        ],
        extra: "server: {shutdown_grace_ms: 300}\n",
      }),
    );
    try {
      const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
      const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
      const unary = openai.chat.completions.create({ model: "open", messages: [{ role: "user", content: "hi" }] }).then(
        () => assert.fail("should not answer"),
        (e) => e,
      );
      const anth = anthropic.messages.create({ model: "open", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }).then(
        () => assert.fail("should not answer"),
        (e) => e,
      );
      const stream = await openai.chat.completions.create({ model: "mid", stream: true, messages: [{ role: "user", content: "hi" }] });
      let n = 0;
      let streamError = null;
      const started = Date.now();
      try {
        for await (const c of stream) {
          if (c.choices[0]?.delta?.content && n++ === 0) t.proc.kill("SIGTERM");
        }
      } catch (e) {
        streamError = e;
      }
      // The stream had begun: it ends with an error event the SDK raises, well before 1000 tokens.
      assert.ok(streamError, "stream should end with an error event");
      assert.match(String(streamError.message), /shutting down/);
      assert.ok(n > 0 && n < 1000, `${n} chunks`);
      const e1 = await unary;
      assert.equal(e1.status, 503);
      assert.match(e1.message, /shutting down/);
      const e2 = await anth;
      assert.equal(e2.status, 503);
      assert.equal(e2.error?.type, "error");
      const { code } = await t.exited;
      assert.equal(code, 0);
      assert.ok(Date.now() - started < 10000);
      const rows = t.rows();
      assert.equal(rows.length, 3, JSON.stringify(rows));
      for (const r of rows) assert.equal(r.error_kind, "shutdown", JSON.stringify(r));
      assert.deepEqual(rows.map((r) => r.status).sort(), [200, 503, 503]);
    } finally {
      await t.cleanup();
    }
  });

  test("SIGTERM drains: an in-flight stream completes, exit code 0, row written", async () => {
    const t = await startTriage(
      config({ tiers: [{ name: "open", deployments: [{ name: "s", sim: { ttft_ms: 50, tokens_per_second: 20, output_tokens: 20 }, catalog: "gemma-4-31b" }] }] }),
    );
    try {
      const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
      const stream = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "long" }], stream: true });
      let n = 0;
      let sent = false;
      for await (const c of stream) {
        if (c.choices[0]?.delta?.content) n++;
        if (!sent) {
          t.proc.kill("SIGTERM");
          sent = true;
        }
      }
      assert.equal(n, 20);
      const { code } = await t.exited;
      assert.equal(code, 0);
      assert.equal(t.rows().length, 1);
      assert.equal(t.rows()[0].status, 200);
    } finally {
      await t.cleanup();
    }
  });
});

// Upstream keys are masked by value wherever upstream text is passed on, not only when they
// look like keys ("sk-...", long alphanumeric tokens); and without usage from the upstream the
// ledger estimates output tokens from the answer's text (characters / 4), not its JSON.
describe("keys masked by value; output estimated from the text", () => {
  const key = "vllm-token-hunter2"; // 18 characters, no "sk-": the shape rules let it through
  let up, t, client;
  before(async () => {
    up = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [{ name: "open", deployments: [{ name: "local", url: up.url, catalog: "gemma-4-31b", api_key_env: "TRIAGE_IT_PLAIN_KEY" }] }],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
      { env: { TRIAGE_IT_PLAIN_KEY: key } },
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await up.close();
  });
  const msgs = [{ role: "user", content: "Hello" }];

  test("a key echoed in an upstream error body never reaches the client, the log or the ledger", async () => {
    const bodies = [
      // OpenAI's error shape, as a misconfigured vLLM proxy echoes the key it got
      (k) => JSON.stringify(openaiError(401, `Incorrect API key provided: ${k}.`, "invalid_request_error")),
      // plain text, with the key straddling the 200th byte where the message is cut
      (k) => "x".repeat(195) + k + " rejected",
    ];
    for (const make of bodies) {
      up.behave((req, res) => {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(make(req.headers.authorization.replace("Bearer ", "")));
      });
      await assert.rejects(client.chat.completions.create({ model: "open", messages: msgs }), (e) => {
        assert.equal(e.status, 502);
        assert.ok(!e.message.includes(key.slice(0, 8)), e.message);
        assert.match(e.message, /\[reda/); // the mask itself may be cut at the 200th byte
        return true;
      });
    }
    const stream = await client.chat.completions.create({ model: "open", messages: msgs, stream: true }).catch((e) => e);
    if (!(stream instanceof Error)) for await (const _ of stream); // drained (the 401 came first)
    assert.ok(!t.stderr().includes(key.slice(0, 8)), "the key must never be logged");
    assert.ok(!JSON.stringify(t.rows()).includes(key.slice(0, 8)), "nor stored in the ledger");
    const metrics = await curl([`${t.url}/metrics`]);
    assert.ok(!metrics.body.includes(key.slice(0, 8)), "nor exported as a metric");
  });

  test("a key in a mid-stream error event is masked too", async () => {
    up.behave((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }] })}\n\n`);
      res.end(`data: ${JSON.stringify({ error: { message: `upstream auth expired for ${key}` } })}\n\n`);
    });
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", stream: true, messages: msgs })]);
    assert.match(r.body, /partial/);
    assert.match(r.body, /upstream auth expired for \[redacted\]/);
    assert.ok(!r.body.includes(key.slice(0, 8)));
    assert.ok(!t.stderr().includes(key.slice(0, 8)));
  });

  test("a stream without usage is estimated from its text: characters / 4, rounded up", async () => {
    // 5 + 4 + 4 + 5 = 18 characters (ü and ß count once each) -> 5 tokens; the JSON of the
    // four chunks is ~600 bytes, which the estimate must not count.
    up.behave((req, res, body) => up.reply(req, res, body, { chunks: ["Grüße", " aus", " dem", " Test"], omitUsage: true }));
    let text = "";
    for await (const c of await client.chat.completions.create({ model: "open", messages: msgs, stream: true }))
      text += c.choices[0]?.delta?.content || "";
    assert.equal(text, "Grüße aus dem Test");
    const row = t.rows().at(-1);
    assert.equal(row.status, 200);
    assert.equal(row.output_tokens, 5);
  });

  // The usage chunk an include_usage client is owed is written by the gateway when the upstream
  // sent none (a server that ignores stream_options): it came without the id, created and model
  // every chunk of the stream has (the Python SDK's chunk then has no `id` attribute at all).
  test("a usage chunk the gateway writes itself carries the stream's id, created and model", async () => {
    up.behave((req, res, body) => up.reply(req, res, body, { omitUsage: true }));
    const chunks = [];
    const stream = await client.chat.completions.create({ model: "open", messages: msgs, stream: true, stream_options: { include_usage: true } });
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage, "a usage chunk closes the stream");
    assert.deepEqual(
      [last.id, last.object, last.created, last.model],
      [chunks[0].id, "chat.completion.chunk", chunks[0].created, chunks[0].model],
    );
    assert.equal(last.id, "chatcmpl-fake");
  });

  test("an answer without usage is estimated from its text too", async () => {
    up.behave((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // 24 characters of content -> 6 tokens (the whole body is ~200 bytes)
      res.end(JSON.stringify({ id: "c1", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "twenty-four characters!!" }, finish_reason: "stop" }] }));
    });
    const r = await client.chat.completions.create({ model: "open", messages: msgs });
    assert.equal(r.choices[0].message.content, "twenty-four characters!!");
    const row = t.rows().at(-1);
    assert.equal(row.output_tokens, 6);
  });
});
