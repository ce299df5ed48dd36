// The live cascade when the cheap call fails while it is held: its row, its columns, its
// breaker. A held cheap stream that breaks after its first content is a failed attempt the
// client never saw, like a non-streamed one that breaks: the same escalation, the same row
// (its usage in failed_input_tokens / failed_output_tokens / failed_cost_micros). Official
// SDKs, both dialects, streamed or not.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, repoRoot, curl } from "./lib/harness.mjs";
import { startFakeOpenAI, chunk } from "./lib/fake_openai.mjs";
import { startFaultyUpstream } from "./lib/faults.mjs";

const model = path.join(repoRoot, "models/cascade-v3.model");
const utf8 = (v) => Buffer.from(v, "latin1").toString("utf8");
const messages = [{ role: "user", content: "What is 12 * 7?" }];

// The strong tier's own answer: 200 in, 80 out, on claude-sonnet-4.6 ($3 / $15): 1800 micros.
async function strongUpstream() {
  const strong = await startFakeOpenAI();
  strong.behave((req, res, body) =>
    strong.reply(req, res, body, { text: "strong answer", chunks: ["strong", " answer"], usage: { prompt_tokens: 200, completion_tokens: 80 } }),
  );
  return strong;
}

function gateway(cheapUrl, strongUrl, extra = "") {
  return startTriage(
    config({
      tiers: [
        { name: "open", deployments: [{ name: "cheap", url: cheapUrl, catalog: "gemma-4-31b", timeouts: { first_byte_ms: 1500, idle_ms: 1000 } }] },
        { name: "mid", deployments: [{ name: "strong", url: strongUrl, catalog: "claude-sonnet-4.6" }] },
      ],
      // Threshold 1.0: a cheap answer that came would be released; these never come.
      extra: `routing: {router: "cascade:${model}", thresholds: [1.0]}\nretry: {max_attempts: 1}\n${extra}`,
    }),
  );
}

// One request of each client kind; resolves the answer's text and route header.
async function ask(url, kind) {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
  const anthropic = new Anthropic({ baseURL: url, apiKey: "x", maxRetries: 0 });
  if (kind === "openai") {
    const { data, response } = await openai.chat.completions.create({ model: "auto", messages }).withResponse();
    return { text: data.choices[0].message.content, route: utf8(response.headers.get("x-triage-route")) };
  }
  if (kind === "openai-stream") {
    const s = await openai.chat.completions.create({ model: "auto", stream: true, messages }).withResponse();
    let text = "";
    for await (const c of s.data) text += c.choices[0]?.delta?.content || "";
    return { text, route: utf8(s.response.headers.get("x-triage-route")) };
  }
  if (kind === "anthropic") {
    const { data, response } = await anthropic.messages.create({ model: "auto", max_tokens: 50, messages }).withResponse();
    return { text: data.content[0].text, route: utf8(response.headers.get("x-triage-route")) };
  }
  const s = anthropic.messages.stream({ model: "auto", max_tokens: 50, messages });
  const msg = await s.finalMessage();
  return { text: msg.content[0].text, route: utf8((await s.withResponse()).response.headers.get("x-triage-route")) };
}

test("a held cheap stream that breaks after its first content escalates, its usage in the row's failed_* like a non-streamed one's", async () => {
  const cheap = await startFaultyUpstream("openai");
  const strong = await strongUpstream();
  const t = await gateway(cheap.url, strong.url, "breaker: {consecutive_failures: 1000}\n");
  try {
    for (const fault of ["truncated_sse", "reset_mid_body", "hang_mid_stream"]) {
      cheap.fault = fault;
      for (const kind of ["openai", "openai-stream", "anthropic", "anthropic-stream"]) {
        const got = await ask(t.url, kind);
        assert.equal(got.text, "strong answer", `${fault} ${kind}`);
        assert.equal(got.route, "cascade open failed → mid", `${fault} ${kind}`);
        const r = t.rows().at(-1);
        const what = `${fault} ${kind}: ${JSON.stringify(r)}`;
        assert.equal(r.status, 200, what);
        assert.equal(r.error_kind, "", what);
        assert.equal(r.tier, "mid", what);
        assert.equal(r.attempts, 2, what);
        assert.equal(r.usage_estimated, 1, what);
        // The answer itself is the strong call's; everything else is the failed cheap call's,
        // billed (estimated from the prompt and the text received) and said so.
        assert.deepEqual([r.input_tokens - r.failed_input_tokens, r.output_tokens - r.failed_output_tokens, r.cost_micros - r.failed_cost_micros], [200, 80, 1800], what);
        assert.ok(r.failed_input_tokens > 0 && r.failed_cost_micros > 0, what);
      }
    }
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("a held cheap stream that outgrows limits.max_response_bytes fails its attempt: escalated, billed as failed, counted by the breaker", async () => {
  const cheap = await startFakeOpenAI();
  // 400 chunks of 1,000 characters: far beyond the 100,000 bytes the gateway holds.
  cheap.behave((req, res, body) => cheap.reply(req, res, body, { chunks: Array.from({ length: 400 }, () => "x".repeat(1000)) }));
  const strong = await strongUpstream();
  const t = await gateway(cheap.url, strong.url, "breaker: {consecutive_failures: 2}\nlimits: {max_response_bytes: 100000}\n");
  try {
    for (let i = 0; i < 3; i++) {
      const got = await ask(t.url, i === 1 ? "anthropic-stream" : "openai-stream");
      assert.equal(got.text, "strong answer");
      assert.equal(got.route, "cascade open failed → mid");
      const r = t.rows().at(-1);
      assert.deepEqual([r.input_tokens - r.failed_input_tokens, r.output_tokens - r.failed_output_tokens, r.cost_micros - r.failed_cost_micros], [200, 80, 1800], JSON.stringify(r));
      // The first two calls' text up to the limit is billed; the third is not made.
      if (i < 2) assert.ok(r.failed_output_tokens > 20000 && r.failed_output_tokens < 25100, JSON.stringify(r));
      else assert.equal(r.failed_output_tokens, 0, JSON.stringify(r));
    }
    // Two failures in a row opened the cheap deployment's circuit: the third request escalated
    // without calling it.
    assert.equal(cheap.requests.length, 2);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /^triage_deployment_circuit_open\{tier="open",deployment="cheap"\} 1$/m);
    const failures = t.stderr().split("\n").filter((l) => l.includes('"msg":"upstream attempt failed"'));
    assert.equal(failures.length, 2, failures.join("\n"));
    for (const l of failures) {
      assert.match(l, /"code":"upstream_response_too_large"/);
      assert.match(l, /"deployment":"cheap"/);
      assert.match(l, /grew beyond limits\.max_response_bytes \(100000 bytes\) while held/);
    }
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("a held cheap stream that breaks after its first content is retried within the cheap tier, like a non-streamed one", async () => {
  // Every other call breaks after its first content (a clean end without a finish, or a reset);
  // the next one answers.
  const cheap = await startFakeOpenAI();
  cheap.fault = "truncated";
  cheap.behave((req, res, body) => {
    if (cheap.requests.length % 2 === 0) return cheap.reply(req, res, body, {});
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json", "content-length": "5000" });
      res.write('{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"partial');
      return cheap.fault === "truncated" ? res.end() : setTimeout(() => req.socket.destroy(), 50);
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: "" }))}\n\n`);
    res.write(`data: ${JSON.stringify(chunk(body.model, { content: "partial" }))}\n\n`);
    return cheap.fault === "truncated" ? res.end() : setTimeout(() => req.socket.destroy(), 50);
  });
  const strong = await strongUpstream();
  const t = await startTriage(
    config({
      tiers: [
        { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b", timeouts: { idle_ms: 500 } }] },
        { name: "mid", deployments: [{ name: "strong", url: strong.url, catalog: "claude-sonnet-4.6" }] },
      ],
      extra: `routing: {router: "cascade:${model}", thresholds: [1.0]}\nretry: {max_attempts: 2, backoff_base_ms: 1, backoff_max_ms: 1}\nbreaker: {consecutive_failures: 1000}\n`,
    }),
  );
  try {
    for (const fault of ["truncated", "reset"]) {
      cheap.fault = fault;
      for (const kind of ["openai", "openai-stream", "anthropic", "anthropic-stream"]) {
        const got = await ask(t.url, kind);
        const what = `${fault} ${kind}`;
        assert.equal(got.text, "Hello from the fake.", what);
        assert.match(got.route, /^cascade score=0\.\d\d < 1\.00 → open$/, what);
        const r = t.rows().at(-1);
        assert.deepEqual([r.tier, r.status, r.error_kind, r.attempts, r.usage_estimated], ["open", 200, "", 2, 1], `${what}: ${JSON.stringify(r)}`);
        // The answer is the retry's (100 in, 50 out); the broken call is the failed part.
        assert.deepEqual([r.input_tokens - r.failed_input_tokens, r.output_tokens - r.failed_output_tokens], [100, 50], `${what}: ${JSON.stringify(r)}`);
        assert.ok(r.failed_input_tokens > 0 && r.failed_output_tokens > 0, `${what}: ${JSON.stringify(r)}`);
      }
    }
    assert.equal(cheap.requests.length, 16);
    assert.equal(strong.requests.length, 0, "nothing escalated");
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("an escalation to a failing tier makes up to retry.max_attempts attempts of its own; the breaker opening explains fewer", async () => {
  // The cheap tier answers, every answer escalates (threshold 0), the mid tier's one deployment
  // answers 500: the escalation retries it up to max_attempts (3) times, then the cheap answer is
  // released. The row's attempts count the cheap call too.
  const cheap = await startFakeOpenAI();
  const strong = await startFakeOpenAI();
  strong.behave((req, res) => {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "down", type: "server_error" } }));
  });
  const run = async (extra, attempts = 3) => {
    const t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] },
          { name: "mid", deployments: [{ name: "strong", url: strong.url, catalog: "claude-sonnet-4.6" }] },
        ],
        extra: `routing: {router: "cascade:${model}", thresholds: [0.0]}\nretry: {max_attempts: ${attempts}, backoff_base_ms: 1, backoff_max_ms: 1}\n${extra}`,
      }),
    );
    const seen = [];
    try {
      for (let i = 0; i < 3; i++) {
        const before = strong.requests.length;
        const got = await ask(t.url, i % 2 ? "anthropic-stream" : "openai");
        assert.match(got.route, /→ mid; released open \(mid failed\)$/);
        seen.push([strong.requests.length - before, t.rows().at(-1).attempts]);
      }
    } finally {
      await t.cleanup();
    }
    return seen;
  };
  try {
    // With a breaker that never opens: 3 escalation calls each time, 4 attempts in the row.
    assert.deepEqual(await run("breaker: {consecutive_failures: 1000}\n"), [[3, 4], [3, 4], [3, 4]]);
    // max_attempts bounds the escalation alone (the cheap call is not counted against it).
    assert.deepEqual(await run("breaker: {consecutive_failures: 1000}\n", 2), [[2, 3], [2, 3], [2, 3]]);
    // The default breaker (5 failures in a row): the second request's second failure opens the
    // circuit, its third attempt is skipped; the third request escalates without a call.
    assert.deepEqual(await run(""), [[3, 4], [2, 3], [0, 1]]);
  } finally {
    await cheap.close();
    await strong.close();
  }
});

// A streamed request with curl: the raw chunked body (events and the trailer section).
function curlStream(url, dialect) {
  const anthropic = dialect === "anthropic";
  // (An OpenAI stream carries the `triage` object in its usage chunk: include_usage.)
  const body = anthropic ? { model: "auto", max_tokens: 50, stream: true, messages } : { model: "auto", stream: true, stream_options: { include_usage: true }, messages };
  return curl([
    "-N",
    "--raw",
    `${url}${anthropic ? "/v1/messages" : "/v1/chat/completions"}`,
    "-H", "content-type: application/json",
    ...(anthropic ? ["-H", "anthropic-version: 2023-06-01"] : []),
    "-d", JSON.stringify(body),
  ]);
}

test("a held cheap stream released after a failed escalation: its triage object says whether the row's usage is an estimate", async () => {
  // The cheap tier streams an answer (with its usage, or without: estimated); every answer
  // escalates (threshold 0); the mid tier fails: a 500 (nothing billed), or a stream that breaks
  // before its first content (billed as a failed attempt, estimated). The cheap answer is
  // released, and its `triage` object's usage_estimated is the row's.
  const cheap = await startFakeOpenAI();
  const strong = await startFakeOpenAI();
  const t = await startTriage(
    config({
      tiers: [
        { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] },
        { name: "mid", deployments: [{ name: "strong", url: strong.url, catalog: "claude-sonnet-4.6" }] },
      ],
      extra: `routing: {router: "cascade:${model}", thresholds: [0.0]}\nretry: {max_attempts: 1}\nbreaker: {consecutive_failures: 1000}\n`,
    }),
  );
  try {
    for (const [cheapUsage, strongFault, estimated] of [
      [true, "500", false],
      [false, "500", true],
      [true, "broken", true],
    ]) {
      cheap.behave((req, res, body) => cheap.reply(req, res, body, { usage: { prompt_tokens: 20, completion_tokens: 10 }, omitUsage: !cheapUsage }));
      strong.behave((req, res, body) => {
        if (strongFault === "500") {
          res.writeHead(500, { "content-type": "application/json" });
          return res.end(JSON.stringify({ error: { message: "down", type: "server_error" } }));
        }
        // A stream whose role chunk comes, then it ends: no content, no finish.
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: "" }))}\n\n`);
      });
      for (const dialect of ["openai", "anthropic"]) {
        const what = `cheap usage ${cheapUsage}, escalation ${strongFault}, ${dialect}`;
        const r = await curlStream(t.url, dialect);
        assert.equal(r.status, 200, what);
        const row = t.rows().at(-1);
        assert.match(row.route_reason ?? row.route ?? "", /released open \(mid failed\)/, `${what}: ${JSON.stringify(row)}`);
        assert.equal(row.usage_estimated, estimated ? 1 : 0, `${what}: ${JSON.stringify(row)}`);
        const flags = [...r.body.matchAll(/"usage_estimated":(true|false)/g)].map((m) => m[1]);
        assert.deepEqual(flags, [String(estimated)], `${what}: ${r.body}`);
        assert.match(r.body, new RegExp(`"cost_usd":"${(row.cost_micros / 1e6).toFixed(6)}"`), what);
        // The flag is an HTTP trailer too, announced in the head like the cost's.
        assert.equal(r.headers["trailer"], "x-triage-cost-usd, x-triage-reference-cost-usd, x-triage-usage-estimated", what);
        const trailer = r.body.slice(r.body.lastIndexOf("\r\n0\r\n"));
        assert.match(trailer, new RegExp(`\r\nx-triage-usage-estimated: ${estimated}\r\n`), `${what}: ${trailer}`);
        assert.match(trailer, new RegExp(`\r\nx-triage-cost-usd: ${(row.cost_micros / 1e6).toFixed(6)}\r\n`), `${what}: ${trailer}`);
      }
    }
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});
