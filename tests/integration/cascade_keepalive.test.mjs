// The live cascade's keep-alive (routing.cascade_keepalive_ms): a streamed cheap answer held
// longer than the interval begins the client's stream (x-triage-route: cascade pending) and sends
// `: keep-alive` SSE comments until the decision, which then writes into that stream: the
// released answer, the escalation's, the cheap answer after a failed escalation, or an error
// event; the final route comes as a `: triage route=` comment and an HTTP trailer. Raw bytes
// with curl, and the official SDKs streaming.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import net from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, repoRoot, curl } from "./lib/harness.mjs";
import { startFakeOpenAI, openaiError } from "./lib/fake_openai.mjs";

const model = path.join(repoRoot, "models/cascade-v3.model");
// Header values are bytes; the SDKs decode them as latin1.
const utf8 = (v) => Buffer.from(v, "latin1").toString("utf8");
const messages = [{ role: "user", content: "What is 12 * 7?" }];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A cheap upstream whose `mode` is "slow" (a stream of four chunks 700 ms apart: held about
// 2.8 s), "fast", or "slow_fail" (a 500 after 2.5 s); and a strong one whose `mode` is "ok"
// (a quick stream of its own text), "slow" (the same after 2.5 s of silence) or "fail" (500).
async function upstreams() {
  const cheap = await startFakeOpenAI();
  cheap.mode = "slow";
  cheap.behave(async (req, res, body) => {
    if (cheap.mode === "fast") return cheap.reply(req, res, body, {});
    if (cheap.mode === "slow") return cheap.reply(req, res, body, { delayMs: 700 });
    await sleep(2500);
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify(openaiError(500, "cheap broke")));
  });
  const strong = await startFakeOpenAI();
  strong.mode = "ok";
  strong.behave(async (req, res, body) => {
    if (strong.mode === "slow") await sleep(2500);
    if (strong.mode !== "fail") return strong.reply(req, res, body, { chunks: ["Strong", " answer", " here."] });
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify(openaiError(500, "strong broke")));
  });
  return { cheap, strong };
}

// A cascade gateway; threshold 1.0: every cheap answer is released; 0.0: every one escalates.
async function gateway({ cheap, strong }, threshold, keepalive = 1000) {
  return startTriage(
    config({
      tiers: [
        { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] },
        { name: "mid", deployments: [{ name: "strong", url: strong.url, catalog: "claude-sonnet-4.6" }] },
      ],
      extra: `routing: {router: "cascade:${model}", thresholds: [${threshold}], cascade_keepalive_ms: ${keepalive}}\nretry: {max_attempts: 1}\n`,
    }),
  );
}

function curlStream(url, dialect = "openai") {
  const anthropic = dialect === "anthropic";
  const body = anthropic ? { model: "auto", max_tokens: 50, stream: true, messages } : { model: "auto", stream: true, messages };
  return curl([
    "-N",
    "--raw",
    `${url}${anthropic ? "/v1/messages" : "/v1/chat/completions"}`,
    "-H", "content-type: application/json",
    ...(anthropic ? ["-H", "anthropic-version: 2023-06-01"] : []),
    "-d", JSON.stringify(body),
  ]);
}

// The three streaming clients of one request each: curl's raw bytes, the OpenAI SDK's text, the
// Anthropic SDK's text. SDK failures come back as {error}.
async function openaiText(url) {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0, timeout: 20000 });
  try {
    const s = await openai.chat.completions.create({ model: "auto", stream: true, stream_options: { include_usage: true }, messages }).withResponse();
    let text = "";
    for await (const c of s.data) text += c.choices[0]?.delta?.content || "";
    return { text, headers: s.response.headers };
  } catch (error) {
    return { error };
  }
}
async function anthropicText(url) {
  const anthropic = new Anthropic({ baseURL: url, apiKey: "x", maxRetries: 0, timeout: 20000 });
  try {
    const s = anthropic.messages.stream({ model: "auto", max_tokens: 50, messages });
    const msg = await s.finalMessage();
    return { text: msg.content.map((b) => b.text || "").join(""), headers: (await s.withResponse()).response.headers };
  } catch (error) {
    return { error };
  }
}

// What curl got after the head: the keep-alives, then the rest.
function afterKeepAlives(body) {
  const m = body.match(/^(?:[0-9a-f]+\r\n: keep-alive\n\n\r\n)+/);
  return { count: m ? m[0].split(": keep-alive").length - 1 : 0, rest: m ? body.slice(m[0].length) : body };
}

test("a slow cheap answer: keep-alives, then the released answer with its route in a comment and the trailer", async () => {
  const up = await upstreams();
  const t = await gateway(up, 1.0);
  try {
    const r = await curlStream(t.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/event-stream");
    assert.equal(r.headers["x-triage-route"], "cascade pending");
    assert.equal(r.headers["x-triage-tier"], "pending");
    assert.equal(r.headers["trailer"], "x-triage-cost-usd, x-triage-reference-cost-usd, x-triage-usage-estimated, x-triage-route, x-triage-tier, x-triage-deployment");
    const { count, rest } = afterKeepAlives(r.body);
    assert.ok(count >= 2, `keep-alives before the answer: ${count}\n${r.body}`);
    const route = /^cascade score=\d\.\d\d < 1\.00 → open$/;
    const comment = rest.match(/: triage route=(.*)\n\n/);
    assert.ok(comment, rest);
    assert.match(comment[1], route);
    assert.ok(rest.indexOf(": triage route=") < rest.indexOf("data: {"), "the route before the answer");
    assert.match(rest, /"content":" fake\."/);
    assert.match(rest, /data: \[DONE\]/);
    // The trailers, after the last chunk.
    const trailer = rest.match(/\r\n0\r\n([\s\S]*)$/)[1];
    assert.match(trailer, /x-triage-cost-usd: 0\.\d{6}/);
    assert.match(trailer, /x-triage-usage-estimated: false\r\n/);
    assert.match(trailer.match(/x-triage-route: (.*)\r\n/)[1], route);
    assert.match(trailer, /x-triage-tier: open\r\n/);
    assert.match(trailer, /x-triage-deployment: cheap\r\n/);

    for (const [name, ask] of [["openai", openaiText], ["anthropic", anthropicText]]) {
      const got = await ask(t.url);
      assert.ifError(got.error);
      assert.equal(got.text, "Hello from the fake.", name);
      assert.equal(got.headers.get("x-triage-route"), "cascade pending", name);
    }
    const rows = t.rows();
    assert.equal(rows.length, 3, "one row per request");
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.equal(row.error_kind, "");
      assert.equal(row.tier, "open");
      assert.match(row.route, route);
      assert.ok(row.ttft_ms >= 2000, `ttft is the answer's first byte, not a keep-alive's: ${row.ttft_ms}`);
    }
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("a slow cheap answer that escalates: the strong tier's answer flows into the begun stream", async () => {
  const up = await upstreams();
  const t = await gateway(up, 0.0);
  try {
    const r = await curlStream(t.url, "anthropic");
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-triage-route"], "cascade pending");
    const { count, rest } = afterKeepAlives(r.body);
    assert.ok(count >= 2, r.body);
    const route = /^cascade score=\d\.\d\d >= 0\.00 → mid$/;
    assert.match(rest.match(/: triage route=(.*)\n\n/)[1], route);
    assert.match(rest, /event: message_start/);
    assert.match(rest, /"text":"Strong"/);
    assert.doesNotMatch(rest, /Hello/);
    const trailer = rest.match(/\r\n0\r\n([\s\S]*)$/)[1];
    assert.match(trailer.match(/x-triage-route: (.*)\r\n/)[1], route);
    assert.match(trailer, /x-triage-tier: mid\r\n/);

    for (const [name, ask] of [["openai", openaiText], ["anthropic", anthropicText]]) {
      const got = await ask(t.url);
      assert.ifError(got.error);
      assert.equal(got.text, "Strong answer here.", name);
    }
    const rows = t.rows();
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.equal(row.tier, "mid");
      assert.equal(row.attempts, 2);
      assert.match(row.route, route);
    }
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("an escalation slow to its first byte: the begun stream keeps getting keep-alives until it comes", async () => {
  const up = await upstreams();
  up.strong.mode = "slow";
  const t = await gateway(up, 0.0);
  try {
    const r = await curlStream(t.url);
    assert.equal(r.status, 200);
    const { count, rest } = afterKeepAlives(r.body);
    // About 2 during the 2.8 s hold (every 1 s), about 2 more during the strong tier's 2.5 s of
    // silence; the hold alone gives 2, at most 3 on a slow machine.
    assert.ok(count >= 4, `keep-alives before the answer: ${count}\n${r.body}`);
    assert.match(rest.match(/: triage route=(.*)\n\n/)[1], /→ mid$/);
    assert.match(rest, /"content":"Strong"/);
    assert.match(rest, /data: \[DONE\]/);
    assert.doesNotMatch(rest, /keep-alive/, "no comment once the answer flows");
    const got = await anthropicText(t.url);
    assert.ifError(got.error);
    assert.equal(got.text, "Strong answer here.");
    const rows = t.rows();
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.equal(row.tier, "mid");
      // The client's first answer byte, not a keep-alive: after the hold and the strong wait.
      assert.ok(row.ttft_ms >= 5000, `ttft_ms ${row.ttft_ms}`);
    }
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("a slow cheap answer whose escalation fails: the held answer is released into the begun stream", async () => {
  const up = await upstreams();
  up.strong.mode = "fail";
  const t = await gateway(up, 0.0);
  try {
    const route = /^cascade score=\d\.\d\d >= 0\.00 → mid; released open \(mid failed\)$/;
    const r = await curlStream(t.url);
    const { count, rest } = afterKeepAlives(r.body);
    assert.ok(count >= 2, r.body);
    assert.match(rest.match(/: triage route=(.*)\n\n/)[1], route);
    assert.match(rest.match(/\r\n0\r\n[\s\S]*x-triage-route: (.*)\r\n/)[1], route);
    for (const [name, ask] of [["openai", openaiText], ["anthropic", anthropicText]]) {
      const got = await ask(t.url);
      assert.ifError(got.error);
      assert.equal(got.text, "Hello from the fake.", name);
    }
    const rows = t.rows();
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.equal(row.error_kind, "");
      assert.equal(row.tier, "open");
      assert.match(row.route, route);
    }
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("an escalation that fails after the stream began ends it with an error event the SDKs raise", async () => {
  const up = await upstreams();
  up.cheap.mode = "slow_fail";
  up.strong.mode = "fail";
  const t = await gateway(up, 0.5);
  try {
    const route = "cascade open failed → mid";
    const r = await curlStream(t.url);
    assert.equal(r.status, 200);
    const { count, rest } = afterKeepAlives(r.body);
    assert.ok(count >= 2, r.body);
    assert.equal(rest.match(/: triage route=(.*)\n\n/)[1], route);
    assert.match(rest, /data: \{"error":\{[^\n]*"message":"deployment strong: upstream returned 500: strong broke"/);
    assert.match(rest.match(/\r\n0\r\n[\s\S]*x-triage-route: (.*)\r\n/)[1], new RegExp(`^${route}$`));
    {
      const r = await curlStream(t.url, "anthropic");
      const { rest } = afterKeepAlives(r.body);
      const data = JSON.parse(rest.match(/event: error\ndata: (.*)\n\n/)[1]);
      assert.equal(data.type, "error");
      assert.equal(data.error.type, "api_error");
      assert.match(data.error.message, /strong broke/);
    }
    for (const [name, ask] of [["openai", openaiText], ["anthropic", anthropicText]]) {
      const got = await ask(t.url);
      assert.ok(got.error, `${name}: should raise`);
      assert.ok(got.error instanceof (name === "openai" ? OpenAI.APIError : Anthropic.APIError), `${name}: ${got.error}`);
      assert.match(String(got.error.message), /strong/, name);
    }
    const rows = t.rows();
    assert.equal(rows.length, 4);
    for (const row of rows) {
      assert.equal(row.status, 200); // the client got a 200 and an error event
      assert.equal(row.error_kind, "upstream_error");
      assert.equal(row.route, route);
    }
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("a fast cheap answer sends no keep-alive: its head says the route, as before", async () => {
  const up = await upstreams();
  up.cheap.mode = "fast";
  const t = await gateway(up, 1.0);
  try {
    const route = /^cascade score=\d\.\d\d < 1\.00 → open$/;
    const r = await curlStream(t.url);
    assert.equal(r.status, 200);
    assert.match(r.headers["x-triage-route"], route);
    assert.equal(r.headers["x-triage-tier"], "open");
    assert.equal(r.headers["trailer"], "x-triage-cost-usd, x-triage-reference-cost-usd, x-triage-usage-estimated");
    assert.doesNotMatch(r.body, /keep-alive|: triage route=|x-triage-route:/);
    for (const [name, ask] of [["openai", openaiText], ["anthropic", anthropicText]]) {
      const got = await ask(t.url);
      assert.ifError(got.error);
      assert.equal(got.text, "Hello from the fake.", name);
      assert.match(utf8(got.headers.get("x-triage-route")), route, name);
    }
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("routing.cascade_keepalive_ms: 0 sends nothing before the decision; SIGHUP turns it on", async () => {
  const up = await upstreams();
  const t = await gateway(up, 1.0, 0);
  try {
    const r = await curlStream(t.url);
    assert.match(r.headers["x-triage-route"], /^cascade score=/);
    assert.doesNotMatch(r.body, /keep-alive/);
    const file = path.join(t.dir, "config.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("cascade_keepalive_ms: 0", "cascade_keepalive_ms: 1000"));
    t.proc.kill("SIGHUP");
    for (let i = 0; i < 50 && !/"msg":"routing reloaded"/.test(t.stderr()); i++) await sleep(100);
    assert.match(t.stderr(), /^(?=.*"msg":"routing reloaded")(?=.*"cascade_keepalive_ms":1000).*$/m);
    const again = await curlStream(t.url);
    assert.equal(again.headers["x-triage-route"], "cascade pending");
    assert.ok(afterKeepAlives(again.body).count >= 2, again.body);
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});

test("a client that leaves after a keep-alive cancels the held cheap call; its row says client_closed", async () => {
  const up = await upstreams();
  const t = await gateway(up, 1.0);
  try {
    const body = JSON.stringify({ model: "auto", stream: true, messages });
    const got = await new Promise((resolve, reject) => {
      const s = net.connect(t.port, "127.0.0.1", () =>
        s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
      );
      let text = "";
      s.on("data", (d) => {
        text += d;
        if (text.includes(": keep-alive")) {
          s.destroy();
          resolve(text);
        }
      });
      s.on("error", reject);
      s.on("end", () => resolve(text));
      s.setTimeout(10000, () => {
        s.destroy();
        reject(new Error(`no keep-alive within 10 s:\n${text}`));
      });
    });
    assert.match(got, /^HTTP\/1\.1 200 /);
    assert.match(got, /x-triage-route: cascade pending/i);
    // The row is written once the cheap call is cancelled, well before its 2.8 s answer.
    let rows = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      await sleep(100);
      rows = t.rows();
    }
    assert.equal(rows.length, 1);
    assert.equal(rows[0].error_kind, "client_closed");
    assert.equal(rows[0].status, 200); // the stream had begun
    assert.ok(rows[0].latency_ms < 2500, `cancelled at ${rows[0].latency_ms} ms`);
  } finally {
    await t.cleanup();
    await up.cheap.close();
    await up.strong.close();
  }
});
