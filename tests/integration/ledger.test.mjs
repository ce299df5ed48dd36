// The ledger under failures, against the real binary: a failed attempt's reported usage is in
// the request's row (and cost, and /metrics), estimated usage is flagged, a write lock held by
// another process for seconds loses no row, and many concurrent requests give exactly one row
// each. Prices: claude-sonnet-4.6 $3 / $15 per Mtok, reference claude-opus-4.7 $5 / $25,
// gemma-4-31b $0.20 / $0.20.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startTriage, config, curl, sleep } from "./lib/harness.mjs";
import { startFakeAnthropic, message } from "./lib/fake_anthropic.mjs";
import { startFakeOpenAI, completion, chunk, openaiError } from "./lib/fake_openai.mjs";

const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

const metric = (body, name) => {
  const m = body.match(new RegExp(`^${name.replace(/[{}"=,]/g, (c) => "\\" + c)} (\\S+)$`, "m"));
  return m ? Number(m[1]) : undefined;
};

describe("ledger: a failed attempt's reported usage", () => {
  let flaky, good, t;
  before(async () => {
    flaky = await startFakeAnthropic();
    good = await startFakeAnthropic();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "flaky", provider: "anthropic", url: flaky.url, catalog: "claude-sonnet-4.6" }] },
          { name: "mid", deployments: [{ name: "good", provider: "anthropic", url: good.url, catalog: "claude-sonnet-4.6" }] },
        ],
        extra: "retry: {max_attempts: 2}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await flaky.close();
    await good.close();
  });

  test("message_start's input tokens then overloaded_error before content: the fallback's row, cost and metrics bill both", async () => {
    // The flaky upstream reports 1,000 input tokens, then is overloaded before any content.
    flaky.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        ev("message_start", { message: message({ model: body.model, content: [], stop_reason: null, usage: { input_tokens: 1000, output_tokens: 1 } }) }) +
          ev("ping", {}) +
          ev("error", { error: { type: "overloaded_error", message: "Overloaded" } }),
      );
    };
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    let text = "";
    const stream = anthropic.messages.stream({ model: "auto", max_tokens: 100, messages: [{ role: "user", content: "hi" }] });
    for await (const e of stream) if (e.type === "content_block_delta") text += e.delta.text;
    assert.equal(text, "Hello from the Anthropic fake.", "the fallback is invisible");
    const row = t.rows().at(-1);
    // Failed: 1,000 x 3 + 1 x 15 = 3,015. Answer (fake: 100 in, 50 out): 300 + 750 = 1,050.
    // Reference prices the answer only: 100 x 5 + 50 x 25 = 1,750.
    assert.deepEqual(
      [row.tier, row.attempts, row.error_kind, row.input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros],
      ["mid", 2, "", 1100, 51, 4065, 1750],
    );
    assert.deepEqual([row.failed_input_tokens, row.failed_output_tokens, row.failed_cost_micros, row.usage_estimated], [1000, 1, 3015, 0]);
    const m = (await curl([`${t.url}/metrics`])).body;
    assert.equal(metric(m, 'triage_cost_usd_total{tier="mid"}'), 0.004065);
    assert.equal(metric(m, 'triage_tokens_total{tier="mid",direction="input"}'), 1100);
  });

  test("every attempt fails after reporting usage: the refusal's row carries what was billed", async () => {
    const failing = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(ev("message_start", { message: message({ model: body.model, content: [], stop_reason: null, usage: { input_tokens: 200, output_tokens: 1 } }) }));
      setTimeout(() => req.socket.destroy(), 20); // broken before any content
    };
    flaky.handler = failing;
    good.handler = failing;
    const r = await curl([`${t.url}/v1/messages`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "auto", max_tokens: 100, stream: true, messages: [{ role: "user", content: "hi" }] })]);
    assert.equal(r.status, 502, r.body);
    const row = t.rows().at(-1);
    // Two attempts x (200 x 3 + 1 x 15 = 615).
    assert.deepEqual([row.status, row.attempts, row.input_tokens, row.output_tokens, row.cost_micros], [502, 2, 400, 2, 1230]);
    assert.equal(row.failed_cost_micros, 1230);
    assert.equal(r.headers["x-triage-cost-usd"], "0.001230");
    good.handler = null;
  });
});

// Attempts that failed after their upstream began to answer (a 2xx head) without reporting
// usage: the provider billed them, so the row carries triage's estimate, ceil(characters / 4) of
// the prompt and of the text received, at the failed deployment's price, flagged
// usage_estimated. Both deployments are claude-sonnet-4.6 ($3 / $15 per Mtok).
describe("ledger: a failed attempt that began to answer is estimated", () => {
  let flaky, good, t, client;
  const prompt = "p".repeat(400); // 100 input tokens by the estimate
  const msgs = [{ role: "user", content: prompt }];
  // The good answer (fake: 100 in, 50 out): 100 x 3 + 50 x 15 = 1,050.
  const ANSWER = 1050;
  before(async () => {
    flaky = await startFakeOpenAI();
    good = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "flaky", url: flaky.url, catalog: "claude-sonnet-4.6", timeouts: { idle_ms: 300 } }] },
          { name: "mid", deployments: [{ name: "good", url: good.url, catalog: "claude-sonnet-4.6" }] },
        ],
        // Every test fails the flaky deployment: no breaker or cool-down keeps it out of the next.
        extra:
          "retry: {max_attempts: 2, cooldown_max_ms: 0}\nlimits: {max_response_bytes: 2000}\n" +
          "breaker: {consecutive_failures: 100000, min_requests: 100000}\n",
      }),
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await flaky.close();
    await good.close();
  });

  // The row bills the answer and the failed attempt (100 input tokens, `out` output tokens).
  function assertBilled(row, out) {
    const failed = 100 * 3 + out * 15;
    assert.deepEqual(
      [row.tier, row.attempts, row.error_kind, row.failed_input_tokens, row.failed_output_tokens, row.failed_cost_micros, row.usage_estimated],
      ["mid", 2, "", 100, out, failed, 1],
    );
    assert.deepEqual([row.input_tokens, row.output_tokens, row.cost_micros], [200, 50 + out, ANSWER + failed]);
  }

  test("a non-streamed 200 cut mid-body: the prompt and the 80 characters of content received", async () => {
    flaky.behave((req, res, body) => {
      const full = JSON.stringify(completion({ model: body.model, text: "a".repeat(500) }));
      res.writeHead(200, { "content-type": "application/json", "content-length": String(full.length) });
      res.write(full.slice(0, full.indexOf("aaaa") + 80));
      setTimeout(() => req.socket.destroy(), 30);
    });
    const { data, response } = await client.chat.completions.create({ model: "auto", messages: msgs }).withResponse();
    assert.equal(data.choices[0].message.content, "Hello from the fake.");
    const row = t.rows().at(-1);
    assertBilled(row, 20); // 100 x 3 + 20 x 15 = 600
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.001650");
    const m = (await curl([`${t.url}/metrics`])).body;
    assert.equal(metric(m, 'triage_tokens_total{tier="mid",direction="input"}'), 200);
  });

  test("a non-streamed 200 over limits.max_response_bytes: the content up to the limit", async () => {
    let prefix = 0;
    flaky.behave((req, res, body) => {
      const full = JSON.stringify(completion({ model: body.model, text: "x".repeat(4000) }));
      prefix = full.indexOf("xxxx");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(full);
    });
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "auto", messages: msgs })]);
    assert.equal(r.status, 200, r.body);
    const row = t.rows().at(-1);
    const out = Math.ceil((2000 - prefix) / 4); // the content within the first 2,000 bytes
    assertBilled(row, out);
    assert.equal(r.headers["x-triage-cost-usd"], (row.cost_micros / 1e6).toFixed(6));
  });

  test("a stream broken after its role chunk, before content and usage: the prompt, and the trailer says so", async () => {
    flaky.behave((req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: "" }))}\n\n`);
      setTimeout(() => req.socket.destroy(), 30);
    });
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "--raw", "-d", JSON.stringify({ model: "auto", stream: true, stream_options: { include_usage: true }, messages: msgs })]);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /Hello/);
    const row = t.rows().at(-1);
    assertBilled(row, 0); // 100 x 3 = 300
    assert.match(r.body, /: triage cost_usd=0\.001350 /);
    assert.match(r.body, /x-triage-cost-usd: 0\.001350/); // the trailer
  });

  test("a 200 whose body stalls after the head (idle timeout): started, billed", async () => {
    flaky.behave((req, res, body) => {
      const full = JSON.stringify(completion({ model: body.model, text: "b".repeat(500) }));
      res.writeHead(200, { "content-type": "application/json", "content-length": String(full.length) });
      res.write(full.slice(0, full.indexOf("bbbb") + 40)); // and nothing more
    });
    const { response } = await client.chat.completions.create({ model: "auto", messages: msgs }).withResponse();
    const row = t.rows().at(-1);
    assertBilled(row, 10); // 100 x 3 + 10 x 15 = 450
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.001500");
  });

  test("attempts refused with 429 or 500 add nothing: providers do not bill them", async () => {
    for (const status of [429, 500]) {
      flaky.behave((req, res) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(openaiError(status, "refused")));
      });
      const { response } = await client.chat.completions.create({ model: "auto", messages: msgs }).withResponse();
      const row = t.rows().at(-1);
      assert.deepEqual(
        [row.tier, row.attempts, row.failed_input_tokens, row.failed_output_tokens, row.failed_cost_micros, row.usage_estimated, row.cost_micros],
        ["mid", 2, 0, 0, 0, 0, ANSWER],
        `status ${status}`,
      );
      assert.equal(response.headers.get("x-triage-cost-usd"), "0.001050");
    }
  });
});

describe("ledger: storage faults", () => {
  let t;
  const sim = { latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000 };
  before(async () => {
    t = await startTriage(config({ tiers: [{ name: "open", deployments: [{ name: "s", sim, catalog: "gemma-4-31b" }] }] }));
  });
  after(async () => {
    await t.cleanup();
  });

  test("another process holding the write lock for 3 s delays answers but loses no row", async () => {
    const before = t.rows().length;
    const locker = spawn("sqlite3", [t.ledger], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    locker.stdout.on("data", (d) => (out += d));
    locker.stdin.write(".timeout 5000\nBEGIN EXCLUSIVE;\nSELECT 'locked';\n");
    while (!out.includes("locked")) await sleep(10);
    const started = Date.now();
    const send = (stream) =>
      fetch(`${t.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "open", stream, messages: [{ role: "user", content: "hi" }] }),
      }).then((r) => r.text().then(() => r.status));
    const pending = Array.from({ length: 20 }, (_, i) => send(i % 2 === 0));
    await sleep(3000);
    locker.stdin.end("COMMIT;\n.quit\n");
    const statuses = await Promise.all(pending);
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.ok(Date.now() - started >= 2900, "the rows waited for the lock, the answers for their rows");
    assert.equal(t.rows().length, before + 20);
    const m = (await curl([`${t.url}/metrics`])).body;
    assert.equal(metric(m, "triage_ledger_write_failures_total"), 0);
    assert.equal(metric(m, "triage_ledger_rows_written_late_total"), 0, "none failed, none written late");
  });

  test("10,000 concurrent requests give exactly 10,000 rows whose sums match /metrics", async () => {
    // Summed by sqlite3 itself: 10,000 rows as JSON outgrow execFileSync's buffer.
    const sums = () =>
      JSON.parse(
        execFileSync("sqlite3", ["-json", t.ledger, "select count(*) n, count(distinct id) ids, total(input_tokens) i, total(output_tokens) o, total(cost_micros) c from requests"], { encoding: "utf8" }),
      )[0];
    const before = sums();
    const n = 10000;
    let next = 0;
    const statuses = [];
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const r = await fetch(`${t.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "open", stream: i % 2 === 0, messages: [{ role: "user", content: `q${i}` }] }),
        });
        await r.text();
        statuses.push(r.status);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    assert.equal(statuses.length, n);
    assert.ok(statuses.every((s) => s === 200));
    const after = sums();
    assert.equal(after.n, before.n + n);
    assert.equal(after.ids, after.n, "ids are unique");
    const m = (await curl([`${t.url}/metrics`])).body;
    assert.equal(metric(m, 'triage_requests_total{tier="open"}'), after.n);
    assert.equal(metric(m, 'triage_tokens_total{tier="open",direction="input"}'), after.i);
    assert.equal(metric(m, 'triage_tokens_total{tier="open",direction="output"}'), after.o);
    assert.equal(Math.round(metric(m, 'triage_cost_usd_total{tier="open"}') * 1e6), after.c);
    assert.equal(metric(m, "triage_ledger_write_failures_total"), 0);
    // 10,000 rows add far more than the 1,000 WAL pages that wake the checkpointer.
    const checkpoints = metric(m, "triage_ledger_checkpoints_total");
    assert.ok(checkpoints >= 1, `checkpoints: ${checkpoints}`);
    assert.ok(metric(m, "triage_ledger_wal_restarts_total") <= checkpoints, "a restart follows a checkpoint");
  });
});
