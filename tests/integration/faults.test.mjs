// Issue 4: the fault matrix. Every fault x streaming/non-streaming x fallback available or not:
// the client gets a correct answer via fallback or a clear error within the deadline, exactly
// one ledger row, retries within max_attempts, and no leaked file descriptors.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import net from "node:net";
import http from "node:http";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, curl, sleep } from "./lib/harness.mjs";
import { startFakeOpenAI, openaiError } from "./lib/fake_openai.mjs";
import { startFaultyUpstream, FAULTS, AFTER_CONTENT } from "./lib/faults.mjs";

const EXPECTED_STATUS = {
  status_500: 502, status_502: 502, status_503: 502, status_529: 502, status_429_retry_after: 429,
  connection_refused: 502, reset_before_headers: 502, reset_mid_body: 502, hang_before_headers: 504,
  hang_mid_stream: 504, slow_drip: 504, malformed_json: 502, truncated_sse: 502,
  wrong_content_type: 502, oversized_response: 502,
};

// Faults that strike after a 2xx head: the upstream began to answer, its provider billed the
// call, and the failed attempt is in the row's failed_* columns (estimated, as none of these
// report usage). The others (a refusal's status, no connection, no head, a 200 HTML page from a
// proxy) add nothing.
const STARTED = new Set(["reset_mid_body", "hang_mid_stream", "slow_drip", "malformed_json", "truncated_sse", "oversized_response"]);

async function freePortUrl() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}/v1`;
}

for (const dialect of ["openai", "anthropic"])
describe(`fault matrix, ${dialect} upstream`, () => {
  let faulty, healthy, t, client, refusedUrl, fdsAtStart;
  before(async () => {
    faulty = await startFaultyUpstream(dialect);
    healthy = await startFakeOpenAI();
    refusedUrl = await freePortUrl();
    const timeouts = { connect_ms: 500, first_byte_ms: 600, idle_ms: 300, total_ms: 2500 };
    t = await startTriage(
      config({
        tiers: [
          { name: "flaky", deployments: [{ name: "faulty", provider: dialect, url: faulty.url, catalog: "gemma-4-31b", timeouts }] },
          { name: "spare", deployments: [{ name: "refused", provider: dialect, url: refusedUrl, catalog: "gemma-4-31b", timeouts }] },
          { name: "good", deployments: [{ name: "healthy", url: healthy.url, catalog: "claude-sonnet-4.6", timeouts }] },
        ],
        extra:
          "routing: {fallback: up}\n" +
          // Each cell is one request's handling of its fault: no cool-down carries a 429's wait
          // into the next cells (the cool-down has its own tests below).
          "retry: {max_attempts: 3, backoff_base_ms: 10, backoff_max_ms: 50, max_server_wait_ms: 5000, budget_ratio: 5, budget_min: 1000, cooldown_max_ms: 0}\n" +
          "breaker: {consecutive_failures: 100000, min_requests: 100000}\n" +
          "limits: {max_response_bytes: 1048576}\n",
      }),
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0, timeout: 15000 });
    fdsAtStart = readdirSync(`/proc/${t.proc.pid}/fd`).length;
  });
  after(async () => {
    await t.cleanup();
    await faulty.close();
    await healthy.close();
  });

  for (const fault of FAULTS) {
    for (const stream of [false, true]) {
      for (const fallback of [true, false]) {
        const name = `${fault} ${stream ? "stream" : "unary"} ${fallback ? "with" : "without"} fallback`;
        test(name, async () => {
          faulty.fault = fault;
          // With fallback: tier "flaky" (faulty first, then the tiers above it). Without: the one
          // failing deployment pinned.
          const model = fault === "connection_refused" ? (fallback ? "spare" : "refused") : fallback ? "flaky" : "faulty";
          const rowsBefore = t.rows().length;
          const started = Date.now();
          const req = { model, messages: [{ role: "user", content: `cell ${name}` }] };
          let answer = "";
          let error;
          try {
            if (stream) {
              const s = await client.chat.completions.create({ ...req, stream: true });
              for await (const c of s) answer += c.choices[0]?.delta?.content || "";
            } else {
              const r = await client.chat.completions.create(req);
              answer = r.choices[0].message.content;
            }
          } catch (e) {
            error = e;
          }
          const elapsed = Date.now() - started;
          assert.ok(elapsed < 8000, `answered within the deadline (${elapsed} ms)`);

          if (stream && AFTER_CONTENT.has(fault)) {
            // Content went out before the failure: no silent partial answer, an error event.
            assert.ok(error, "a stream that failed after content must end in an error");
            assert.match(String(error.message), /deployment faulty/);
            assert.equal(answer, "partial");
          } else if (fallback) {
            assert.equal(error, undefined, `fallback should answer: ${error}`);
            assert.equal(answer, "Hello from the fake.");
          } else {
            assert.ok(error, "no fallback: a clear error");
            assert.equal(error.status, EXPECTED_STATUS[fault], `${error.status} ${error.message}`);
            assert.ok(error.message.length > 0);
          }

          const rows = t.rows();
          assert.equal(rows.length, rowsBefore + 1, "exactly one ledger row");
          const row = rows.at(-1);
          assert.ok(row.attempts >= 1 && row.attempts <= 3, `attempts ${row.attempts}`);
          if (fallback && !(stream && AFTER_CONTENT.has(fault))) assert.equal(row.deployment, "healthy");
          if (stream && AFTER_CONTENT.has(fault)) {
            assert.equal(row.status, 200);
            assert.notEqual(row.error_kind, "");
          }
          // A failed attempt is billed when its upstream had begun to answer; a stream whose
          // content reached the client failed as the answer itself (its usage, not failed_*).
          if (STARTED.has(fault) && !(stream && AFTER_CONTENT.has(fault))) {
            assert.ok(row.failed_input_tokens > 0 && row.failed_cost_micros > 0, `billed: ${JSON.stringify(row)}`);
            assert.equal(row.usage_estimated, 1);
          } else {
            assert.deepEqual([row.failed_input_tokens, row.failed_output_tokens, row.failed_cost_micros], [0, 0, 0], "nothing billed");
          }
        });
      }
    }
  }

  test("no leaked file descriptors after the matrix", async (ctx) => {
    // Pooled keep-alive connections to the upstreams may stay open, a handful at most per io
    // thread: each thread keeps its own pool (the thread count comes from the gateway's
    // "listening" log line, so TRIAGE_IT_THREADS=4 is allowed for, not mistaken for a leak; the
    // threads' own epoll and eventfd descriptors are open before fdsAtStart is taken).
    // Sockets of the last requests may still be closing (a lingering close takes up to 2 s on a
    // loaded machine): wait up to 6 s for the count to come down; a leak never does.
    const listening = await t.listening();
    const threads = listening?.threads;
    assert.ok(Number.isInteger(threads) && threads >= 1, `io threads in the listening line: ${JSON.stringify(listening)}`);
    const bound = fdsAtStart + 4 * threads;
    const count = () => readdirSync(`/proc/${t.proc.pid}/fd`).length;
    let fds = count();
    for (const deadline = Date.now() + 6000; fds > bound && Date.now() < deadline; fds = count())
      await new Promise((r) => setTimeout(r, 100));
    ctx.diagnostic(`fds ${fdsAtStart} -> ${fds} (bound ${bound}, ${threads} io threads)`);
    assert.ok(fds <= bound, `fds ${fdsAtStart} -> ${fds} (bound ${bound}, ${threads} io threads)`);
  });
});

// Retries, Retry-After, the queue and timeouts, against a scripted fake OpenAI upstream: what the
// client sees, what the ledger says, and what the upstream actually received.
describe("retry, queue and timeout behaviour", () => {
  let a, b, t;
  const timeouts = { connect_ms: 1000, first_byte_ms: 5000, idle_ms: 10000, total_ms: 20000 };
  const quick = { ...timeouts, first_byte_ms: 800 };
  before(async () => {
    a = await startFakeOpenAI();
    b = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "t1", deployments: [{ name: "a", url: a.url, catalog: "gemma-4-31b", timeouts, more: "        max_concurrency: 1\n        max_queue: 8\n        queue_timeout_ms: 10000\n" }] },
          { name: "t2", deployments: [{ name: "b", url: b.url, catalog: "claude-sonnet-4.6", timeouts: quick }] },
        ],
        extra:
          "routing: {fallback: up}\n" +
          "server: {threads: 1}\n" + // one connection pool: a reused connection is certain
          // One request's retries and waits, each test on its own: no cool-down carries a 429's
          // wait into the next test (the cool-down has its own tests below).
          "retry: {max_attempts: 2, backoff_base_ms: 10, backoff_max_ms: 20, max_server_wait_ms: 3000, budget_min: 1000, cooldown_max_ms: 0}\n" +
          "breaker: {consecutive_failures: 100000, min_requests: 100000}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await a.close();
    await b.close();
  });
  const client = () => new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0, timeout: 30000 });
  const ask = (model, content = "hi") => client().chat.completions.create({ model, messages: [{ role: "user", content }] }).withResponse();
  const rateLimited = (headers) => (req, res) => {
    res.writeHead(429, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(openaiError(429, "Rate limit reached", "requests")));
  };
  async function failure(p) {
    try {
      await p;
    } catch (e) {
      return e;
    }
    assert.fail("expected an error");
  }

  test("an absurd Retry-After skips the deployment instead of retrying it at once", async () => {
    a.behave(rateLimited({ "retry-after": "1e20" }));
    const n = a.requests.length;
    const e = await failure(ask("a"));
    assert.equal(e.status, 429);
    assert.equal(a.requests.length - n, 1, "the upstream asked to be left alone: asked once");
    assert.equal(t.rows().at(-1).attempts, 1);
    assert.equal(e.headers.get("retry-after"), "86400");
  });

  test("a final 429 tells the client the upstream's own wait", async () => {
    a.behave(rateLimited({ "retry-after": "30" }));
    const e = await failure(ask("a"));
    assert.equal(e.status, 429);
    assert.equal(e.headers.get("retry-after"), "30");
    a.behave(rateLimited({ "x-ratelimit-reset-requests": "6m0s" }));
    const e2 = await failure(ask("a"));
    assert.equal(e2.headers.get("retry-after"), "360");
  });

  test("an upstream 425 is retried on the next deployment", async () => {
    a.behave((req, res) => {
      res.writeHead(425, { "content-type": "application/json" });
      res.end(JSON.stringify(openaiError(425, "Too early")));
    });
    const { data, response } = await ask("t1");
    assert.equal(data.choices[0].message.content, "Hello from the fake.");
    assert.equal(response.headers.get("x-triage-deployment"), "b");
  });

  // Regression: a 401 / 403 / 404 was answered to the client as the request's fault (502, no
  // fallback), so one deployment with a revoked key or a model its server does not have failed
  // every request planned on it, though the next deployment could serve them.
  for (const status of [401, 403, 404]) {
    test(`an upstream ${status} (the deployment's key or model) falls back, and that deployment is not asked again`, async () => {
      a.behave((req, res) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(openaiError(status, `deployment trouble ${status}`)));
      });
      const na = a.requests.length;
      const { data, response } = await ask("t1");
      assert.equal(data.choices[0].message.content, "Hello from the fake.");
      assert.equal(response.headers.get("x-triage-deployment"), "b");
      assert.equal(a.requests.length - na, 1);
      assert.equal(t.rows().at(-1).attempts, 2);
      const streamed = await client().chat.completions.create({ model: "t1", stream: true, messages: [{ role: "user", content: "hi" }] });
      let text = "";
      for await (const c of streamed) text += c.choices[0]?.delta?.content ?? "";
      assert.equal(text, "Hello from the fake.");
      assert.deepEqual([t.rows().at(-1).deployment, t.rows().at(-1).attempts], ["b", 2]);
      // Pinned to it, with max_attempts 2: one call, not a retry of the same call.
      const n = a.requests.length;
      const e = await failure(ask("a"));
      assert.equal(e.status, 502);
      assert.match(e.message, new RegExp(`deployment trouble ${status}`));
      assert.equal(a.requests.length - n, 1, "not asked twice");
      assert.equal(t.rows().at(-1).attempts, 1);
    });
  }

  // Regression: a 400 saying the prompt does not fit the model's context window was answered as
  // the request's fault, though the next tier's model, with a larger window, could take it.
  test("an upstream context-window 400 falls back to the next deployment; other 400s do not", async () => {
    const vllm = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.";
    a.behave((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "error", message: vllm, type: "BadRequestError", param: null, code: 400 }));
    });
    const na = a.requests.length;
    const nb = b.requests.length;
    const { data, response } = await ask("t1");
    assert.equal(data.choices[0].message.content, "Hello from the fake.");
    assert.equal(response.headers.get("x-triage-deployment"), "b");
    assert.deepEqual([a.requests.length - na, b.requests.length - nb], [1, 1]);
    assert.deepEqual([t.rows().at(-1).deployment, t.rows().at(-1).attempts, t.rows().at(-1).status], ["b", 2, 200]);
    const streamed = await client().chat.completions.create({ model: "t1", stream: true, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    for await (const c of streamed) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "Hello from the fake.");
    assert.deepEqual([t.rows().at(-1).deployment, t.rows().at(-1).attempts], ["b", 2]);
    // With nowhere larger to go (pinned), the client gets a 400 it can branch on.
    const e = await failure(ask("a"));
    assert.equal(e.status, 400);
    assert.equal(e.code, "context_length_exceeded");
    assert.equal(e.type, "invalid_request_error");
    assert.match(e.message, /maximum context length is 8192 tokens/);
    // Any other 400 is the request's own fault: answered as it is, the next tier not asked.
    a.behave((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "Invalid 'tools' format", type: "invalid_request_error", param: "tools", code: null } }));
    });
    const nb2 = b.requests.length;
    const e2 = await failure(ask("t1"));
    assert.equal(e2.status, 400);
    assert.match(e2.message, /Invalid 'tools' format/);
    assert.equal(e2.param, "tools", "the upstream's error.param reaches the client");
    assert.equal(b.requests.length - nb2, 0);
    assert.equal(t.rows().at(-1).attempts, 1);
    a.behave((req, res, body) => a.reply(req, res, body, {}));
  });

  // Regression: a 400 that merely mentioned "context window" (here, quoting the client's own
  // prompt in a vLLM validation error) counted as a context overflow: the next tier's model was
  // asked, and a pinned OpenAI client was told `context_length_exceeded`.
  test("a validation 400 quoting a prompt about context windows is the request's own fault", async () => {
    const quoted = "1 validation error for ChatCompletionRequest\nmessages.1.tool_call_id\n  Field required [type=missing, input_value={'role': 'tool', 'content': 'The context window of Llama 3 is 8k; its context length is 8192.'}, input_type=dict]";
    a.behave((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "error", message: quoted, type: "BadRequestError", param: null, code: 400 }));
    });
    const nb = b.requests.length;
    const e = await failure(ask("t1"));
    assert.equal(e.status, 400);
    assert.equal(e.code, "upstream_rejected_request");
    assert.match(e.message, /tool_call_id/);
    assert.equal(b.requests.length - nb, 0, "the next tier was not asked");
    assert.equal(t.rows().at(-1).attempts, 1);
    a.behave((req, res, body) => a.reply(req, res, body, {}));
  });

  test("a request a reused connection delivered is never sent again behind the attempt count", async () => {
    a.behave((req, res, body) => a.reply(req, res, body, {}));
    await ask("a"); // leaves a kept-alive connection in the (one) pool
    a.behave((req) => req.socket.destroy()); // reads the request, dies without an answer
    const n = a.requests.length;
    const e = await failure(ask("a"));
    assert.equal(e.status, 502);
    const row = t.rows().at(-1);
    assert.equal(a.requests.length - n, row.attempts, `upstream got ${a.requests.length - n}, attempts ${row.attempts}`);
    const metrics = await curl([`${t.url}/metrics`]);
    const total = Number(metrics.body.match(/^triage_upstream_attempts_total (\d+)$/m)[1]);
    assert.equal(total, a.requests.length + b.requests.length, "the attempts metric counts what the upstreams received");
  });

  test("a stream whose head came but whose first event never does fails after first_byte_ms", async () => {
    b.behave((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.flushHeaders(); // and nothing more
    });
    const e = await failure((async () => {
      const s = await client().chat.completions.create({ model: "b", messages: [{ role: "user", content: "hi" }], stream: true });
      for await (const c of s) void c;
    })());
    assert.equal(e.status, 504);
    assert.match(e.message, /first_byte 800 ms/);
    assert.equal(t.rows().at(-1).error_kind, "upstream_timeout");
    b.behave((req, res, body) => b.reply(req, res, body, {}));
  });

  test("a queued request whose client leaves calls no other deployment", async () => {
    a.behave((req, res, body) => setTimeout(() => a.reply(req, res, body, {}), 1200));
    const nb = b.requests.length;
    const first = ask("t1", "first");
    await sleep(300);
    const gone = new AbortController();
    const queued = client().chat.completions.create({ model: "t1", messages: [{ role: "user", content: "queued" }] }, { signal: gone.signal }).catch((e) => e);
    await sleep(300);
    gone.abort();
    await queued;
    await first;
    await sleep(200);
    assert.equal(b.requests.length - nb, 0, "the fallback was not called for a client that left");
    const row = t.rows().find((r) => r.status === 499 && r.requested_model === "t1");
    assert.ok(row, "the queued request has its row");
    assert.equal(row.attempts, 0);
    assert.notEqual(row.deployment, "b");
    const ready = JSON.parse((await curl([`${t.url}/readyz`])).body).deployments;
    for (const d of ready) {
      assert.equal(d.in_flight, 0, `${d.deployment} in flight`);
      assert.equal(d.queued, 0, `${d.deployment} queued`);
    }
  });

  test("the queue is served in arrival order", async () => {
    a.behave((req, res, body) => setTimeout(() => a.reply(req, res, body, {}), 300));
    const n = a.requests.length;
    const all = [];
    const sent = [];
    for (let i = 0; i < 6; i++) {
      sent.push(`n${i}`);
      all.push(ask("a", `n${i}`));
      await sleep(100);
    }
    await Promise.all(all);
    assert.deepEqual(a.requests.slice(n).map((r) => r.body.messages[0].content), sent);
  });
});

// Regression: a deployment whose upstream answered 429 "retry after 30 s" was asked again by the
// very next request (only the request that got the 429 waited), so a rate-limited provider was
// hammered with calls that could only fail, each costing the client a failed attempt first.
describe("cool-down after an upstream asks to wait", () => {
  let a, b, t;
  const timeouts = { connect_ms: 1000, first_byte_ms: 5000, idle_ms: 10000, total_ms: 20000 };
  before(async () => {
    a = await startFakeOpenAI();
    b = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "t1", deployments: [{ name: "a", url: a.url, catalog: "gemma-4-31b", timeouts }] },
          { name: "t2", deployments: [{ name: "b", url: b.url, catalog: "claude-sonnet-4.6", timeouts }] },
        ],
        extra:
          "routing: {fallback: up}\n" +
          "retry: {max_attempts: 2, backoff_base_ms: 10, backoff_max_ms: 20, max_server_wait_ms: 500, budget_min: 1000, cooldown_max_ms: 1500}\n" +
          "breaker: {consecutive_failures: 100000, min_requests: 100000}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await a.close();
    await b.close();
  });
  const client = (maxRetries = 0) => new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries, timeout: 30000 });
  const ask = (model) => client().chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).withResponse();
  const cooldown = async (name) => {
    const ready = JSON.parse((await curl([`${t.url}/readyz`])).body).deployments;
    return ready.find((d) => d.deployment === name).cooldown_ms;
  };

  test("a 429 with Retry-After keeps every request off that deployment until the wait is over (capped by retry.cooldown_max_ms)", async () => {
    a.behave((req, res) => {
      res.writeHead(429, { "content-type": "application/json", "retry-after": "30" });
      res.end(JSON.stringify(openaiError(429, "Rate limit reached", "requests")));
    });
    const na = a.requests.length;
    const first = await ask("t1");
    assert.equal(first.response.headers.get("x-triage-deployment"), "b");
    assert.equal(a.requests.length - na, 1);
    // 30 s asked, capped at 1.5 s.
    const left = await cooldown("a");
    assert.ok(left > 0 && left <= 1500, `cooldown_ms ${left}`);
    const metrics = (await curl([`${t.url}/metrics`])).body;
    const gauge = Number(metrics.match(/^triage_deployment_cooldown_seconds\{tier="t1",deployment="a"\} ([0-9.]+)$/m)[1]);
    assert.ok(gauge > 0 && gauge <= 1.5, `gauge ${gauge}`);
    // The next requests go straight to b: a is not asked, one attempt each.
    a.behave((req, res, body) => a.reply(req, res, body, {}));
    for (let i = 0; i < 3; i++) {
      const { response } = await ask("t1");
      assert.equal(response.headers.get("x-triage-deployment"), "b");
      assert.equal(t.rows().at(-1).attempts, 1);
    }
    assert.equal(a.requests.length - na, 1, "a was left alone while it cooled down");
    // Pinned to a: refused at once, without a call, with the time left as retry-after.
    const e = await client().chat.completions.create({ model: "a", messages: [{ role: "user", content: "hi" }] }).catch((x) => x);
    assert.equal(e.status, 429);
    assert.equal(e.code, "upstream_rate_limited");
    assert.match(e.message, /cooling down: its upstream answered 429/);
    const ra = Number(e.headers.get("retry-after"));
    assert.ok(ra >= 1 && ra <= 2, `retry-after ${ra}`);
    assert.equal(a.requests.length - na, 1);
    assert.equal(t.rows().at(-1).attempts, 0);
    assert.equal(t.rows().at(-1).status, 429);
    // After the wait, a is asked again.
    await sleep(1600);
    assert.equal(await cooldown("a"), 0);
    const after = await ask("t1");
    assert.equal(after.response.headers.get("x-triage-deployment"), "a");
    assert.equal(a.requests.length - na, 2);
  });

  // Regression: two requests got the same 429 "retry after 200 ms" a moment apart; the second
  // one's extended the cool-down past the first one's wait, so the first one's retry found the
  // deployment cooling and its client got the 429, though it would have been served a few
  // milliseconds later (and was, before the cool-down existed).
  test("a request retrying after its wait also waits out the cool-down a sibling's answer extended", async () => {
    let calls = 0;
    a.behave(async (req, res, body) => {
      const k = calls++;
      if (k < 2) {
        await sleep(k * 100);
        res.writeHead(429, { "content-type": "application/json", "retry-after-ms": "200" });
        res.end(JSON.stringify(openaiError(429, "Rate limit reached", "requests")));
        return;
      }
      a.reply(req, res, body, {});
    });
    const na = a.requests.length;
    const ask1 = () => client().chat.completions.create({ model: "a", messages: [{ role: "user", content: "hi" }] }).then((r) => r.choices[0].message.content, (e) => `${e.status} ${e.message}`);
    const got = await Promise.all([ask1(), ask1()]);
    assert.deepEqual(got, ["Hello from the fake.", "Hello from the fake."]);
    assert.equal(a.requests.length - na, 4);
    assert.deepEqual(t.rows().slice(-2).map((r) => [r.status, r.attempts]), [[200, 2], [200, 2]]);
    a.behave((req, res, body) => a.reply(req, res, body, {}));
    await sleep(300);
  });

  // Regression: a deployment cooling down after an upstream 529 (overloaded) refused Anthropic
  // clients with 503, the SDK's ServiceUnavailableError, while the 529 itself reached them as
  // 529 (OverloadedError).
  test("a cool-down started by a 529 is a 529 overloaded_error for Anthropic clients, 503 for OpenAI clients", async () => {
    a.behave((req, res) => {
      res.writeHead(529, { "content-type": "application/json", "retry-after": "1" });
      res.end(JSON.stringify(openaiError(529, "Overloaded")));
    });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const askA = () => anthropic.messages.create({ model: "a", max_tokens: 16, messages: [{ role: "user", content: "hi" }] }).catch((x) => x);
    const na = a.requests.length;
    const direct = await askA();
    assert.equal(direct.status, 529);
    assert.equal(a.requests.length - na, 1);
    const cooling = await askA();
    assert.equal(a.requests.length - na, 1, "not asked while cooling down");
    assert.match(cooling.message, /cooling down: its upstream answered 529/);
    assert.equal(cooling.status, 529);
    assert.ok(cooling instanceof Anthropic.OverloadedError);
    assert.equal(cooling.error.error.type, "overloaded_error");
    assert.equal(cooling.headers.get("retry-after"), "1");
    const openai = await client().chat.completions.create({ model: "a", messages: [{ role: "user", content: "hi" }] }).catch((x) => x);
    assert.equal(openai.status, 503);
    assert.equal(openai.code, "upstream_unavailable");
    a.behave((req, res, body) => a.reply(req, res, body, {}));
    await sleep(1100);
  });

  test("the SDK's own retry, told the cool-down's retry-after, gets through once it is over", async () => {
    a.behave((req, res) => {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
      res.end(JSON.stringify(openaiError(503, "Model is loading")));
    });
    const na = a.requests.length;
    const e = await client().chat.completions.create({ model: "a", messages: [{ role: "user", content: "hi" }] }).catch((x) => x);
    assert.equal(e.status, 502);
    assert.equal(a.requests.length - na, 1, "asked once: its 1 s wait is over max_server_wait_ms, so this request does not retry it");
    a.behave((req, res, body) => a.reply(req, res, body, {}));
    // Cooling down: a 503 with retry-after; the openai SDK waits that long and retries.
    const started = Date.now();
    const { data, response } = await client(2).chat.completions.create({ model: "a", messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(data.choices[0].message.content, "Hello from the fake.");
    assert.equal(response.headers.get("x-triage-deployment"), "a");
    assert.ok(Date.now() - started >= 500, "the SDK waited for the cool-down");
    const refused = t.rows().filter((r) => r.requested_model === "a" && r.error_kind !== "" && r.attempts === 0);
    assert.ok(refused.length >= 1, "the refused try has its row, with no attempt");
  });
});

// Regression: the time a streaming client took to read what was already sent counted against the
// upstream's timeouts.total_ms, so a slow reader of a long answer had it cut short with an
// upstream_timeout error event, and the deployment's breaker counted a failure it never had.
describe("a slow-reading streaming client", () => {
  let a, t;
  const timeouts = { connect_ms: 1000, first_byte_ms: 5000, idle_ms: 5000, total_ms: 1500 };
  const chunks = 2048; // 16 KiB each: 32 MiB of content, sent by the upstream at once, more than the socket buffers hold
  const piece = "x".repeat(16 * 1024);
  before(async () => {
    a = await startFakeOpenAI();
    a.behave((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const head = { id: "chatcmpl-slow", object: "chat.completion.chunk", created: 1700000000, model: "gemma-4-31b" };
      const ev = (o) => `data: ${JSON.stringify({ ...head, ...o })}\n\n`;
      res.write(ev({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] }));
      for (let i = 0; i < chunks; i++) res.write(ev({ choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }));
      res.write(ev({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }));
      res.write(ev({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 4000, total_tokens: 4005 } }));
      res.end("data: [DONE]\n\n");
    });
    t = await startTriage(
      config({
        tiers: [{ name: "t1", deployments: [{ name: "a", url: a.url, catalog: "gemma-4-31b", timeouts }] }],
        extra: "breaker: {consecutive_failures: 1}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await a.close();
  });

  test("gets the whole answer however long it takes to read, and the deployment is not blamed", async () => {
    // A client that stops reading for 2.5 s (longer than total_ms) once the stream has begun:
    // the kernel's socket buffers fill and triage's writes wait for it.
    const started = Date.now();
    const body = await new Promise((resolve, reject) => {
      const req = http.request(`${t.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
        let got = "";
        let paused = false;
        res.setEncoding("utf8");
        res.on("data", (d) => {
          got += d;
          if (!paused) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), 2500);
          }
        });
        res.on("end", () => resolve(got));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(JSON.stringify({ model: "a", stream: true, messages: [{ role: "user", content: "long" }] }));
    });
    const took = Date.now() - started;
    assert.ok(took > timeouts.total_ms, `the read took ${took} ms, longer than total_ms`);
    // (Not assert.match: a failure would print 32 MiB.)
    assert.ok(!body.includes('"error"') && body.endsWith("data: [DONE]\n\n"), `the stream ended with ${body.slice(-300)}`);
    const text = body.split("\n").filter((l) => l.startsWith("data: {")).map((l) => JSON.parse(l.slice(6)).choices?.[0]?.delta?.content ?? "").join("");
    assert.equal(text.length, chunks * piece.length);
    const row = t.rows().at(-1);
    assert.deepEqual([row.status, row.error_kind, row.output_tokens], [200, "", 4000]);
    const ready = JSON.parse((await curl([`${t.url}/readyz`])).body).deployments;
    assert.equal(ready[0].circuit, "closed", "one failure would have opened it");
  });
});
