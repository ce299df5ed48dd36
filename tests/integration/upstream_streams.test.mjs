// Legal but unusual upstream streams, through the official SDKs in all four dialect directions:
// what the client gets and what the ledger says. Each case once went wrong (named after it).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startTwoDialects } from "./lib/harness.mjs";
import { chunk } from "./lib/fake_openai.mjs";
import { message } from "./lib/fake_anthropic.mjs";

const aev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const od = (o) => `data: ${JSON.stringify(o)}\n\n`;

// An upstream whose answer to each request is `plan(body)`: {pieces, hold}. Pieces are written
// one by one; `hold` leaves the response open after the last one (no end of the chunked body).
async function startScripted() {
  const s = { plan: null, sockets: new Set() };
  s.server = http.createServer((req, res) => {
    let data = "";
    req.setEncoding("utf8").on("data", (d) => (data += d)); // decoded whole: a character may span two chunks
    req.on("end", () => {
      const body = JSON.parse(data || "{}");
      const p = s.plan(body);
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const piece of p.pieces) res.write(piece);
      if (!p.hold) res.end();
    });
  });
  s.server.on("connection", (c) => {
    s.sockets.add(c);
    c.on("close", () => s.sockets.delete(c));
  });
  await new Promise((r) => s.server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${s.server.address().port}/v1`;
  s.close = () => {
    for (const c of s.sockets) c.destroy();
    return new Promise((r) => s.server.close(r));
  };
  return s;
}

// Complete answers, "Hi there" with usage 10 in / 5 out, in each upstream dialect.
const openaiAnswer = (model) =>
  od(chunk(model, { role: "assistant", content: "" })) +
  od(chunk(model, { content: "Hi" })) +
  od(chunk(model, { content: " there" })) +
  od(chunk(model, {}, "stop")) +
  od({ ...chunk(model, {}), choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }) +
  "data: [DONE]\n\n";
const messageStart = (model, usage = { input_tokens: 10, output_tokens: 1 }) =>
  aev("message_start", { message: message({ model, content: [], stop_reason: null, usage }) });
const anthropicAnswer = (model) =>
  messageStart(model) +
  aev("ping", {}) +
  aev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
  aev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi" } }) +
  aev("content_block_delta", { index: 0, delta: { type: "text_delta", text: " there" } }) +
  aev("content_block_stop", { index: 0 }) +
  aev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } }) +
  aev("message_stop", {});

describe("unusual upstream streams", () => {
  let oa, an, t, anthropic, openai;
  before(async () => {
    oa = await startScripted();
    an = await startScripted();
    t = await startTwoDialects(oa.url, an.url, { timeouts: { idle_ms: 5000 } });
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "client-key", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oa.close();
    await an.close();
  });

  // The four directions, each reading the whole answer through its SDK's stream helper.
  const viaOpenAI = async (model) => {
    const f = await openai.chat.completions
      .stream({ model, messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } })
      .finalChatCompletion();
    return { text: f.choices[0].message.content, usage: [f.usage.prompt_tokens, f.usage.completion_tokens], message: f.choices[0].message };
  };
  const viaAnthropic = async (model) => {
    const m = await anthropic.messages.stream({ model, max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).finalMessage();
    return { text: m.content.filter((b) => b.type === "text").map((b) => b.text).join(""), usage: [m.usage.input_tokens, m.usage.output_tokens], message: m };
  };
  const directions = [
    ["OpenAI SDK <- OpenAI upstream", viaOpenAI, "open"],
    ["Anthropic SDK <- OpenAI upstream", viaAnthropic, "open"],
    ["OpenAI SDK <- Anthropic upstream", viaOpenAI, "frontier"],
    ["Anthropic SDK <- Anthropic upstream", viaAnthropic, "frontier"],
  ];
  const lastRow = () => t.rows().at(-1);

  // A server (or a proxy in front of it) that sends the whole stream but holds the response
  // open: the answer waited for the upstream's idle timeout (30 s by default), then ended in
  // an upstream_timeout error after all its text, the row an error and the deployment blamed.
  for (const [name, client, model] of directions) {
    test(`${name}: the terminal event ends the answer even if the upstream holds the response open`, async () => {
      oa.plan = (b) => ({ pieces: [openaiAnswer(b.model)], hold: true });
      an.plan = (b) => ({ pieces: [anthropicAnswer(b.model)], hold: true });
      const t0 = Date.now();
      const r = await client(model);
      assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
      assert.equal(r.text, "Hi there");
      assert.deepEqual(r.usage, [10, 5]);
      const row = lastRow();
      assert.equal(row.status, 200);
      assert.equal(row.error_kind, "");
      assert.equal(row.input_tokens, 10);
      assert.equal(row.output_tokens, 5);
      assert.equal(row.usage_estimated, 0);
    });
  }

  // Bytes after [DONE] / message_stop (a repeated chunk, a proxy's trailer that is no JSON):
  // the openai SDK stops at [DONE], triage failed the complete answer as "malformed chunk", or
  // passed the extra text on after message_stop.
  for (const [name, client, model] of directions) {
    test(`${name}: what follows the terminal event is ignored`, async () => {
      oa.plan = (b) => ({ pieces: [openaiAnswer(b.model) + od(chunk(b.model, { content: " LATE" })) + "data: {not json\n\n"] });
      an.plan = (b) => ({
        pieces: [anthropicAnswer(b.model) + aev("content_block_delta", { index: 0, delta: { type: "text_delta", text: " LATE" } }) + "event: error\ndata: {not json\n\n"],
      });
      const r = await client(model);
      assert.equal(r.text, "Hi there");
      assert.equal(lastRow().error_kind, "");
      assert.equal(lastRow().output_tokens, 5);
    });
  }

  // A leading byte-order mark (the SSE spec says to ignore one): the first event was lost: an
  // OpenAI-compatible server's first chunk with its first content, or an Anthropic stream's
  // message_start when it comes without `event:` lines (its input usage).
  for (const [name, client, model] of directions) {
    test(`${name}: a byte-order mark before the first event loses nothing`, async () => {
      oa.plan = (b) => ({ pieces: ["\uFEFF" + openaiAnswer(b.model).replace('"content":""', '"content":"Oh, "')] });
      an.plan = (b) => ({ pieces: ["\uFEFF" + anthropicAnswer(b.model).replace(/^event: .*\n/gm, "")] });
      const r = await client(model);
      assert.equal(r.text, model === "open" ? "Oh, Hi there" : "Hi there");
      assert.deepEqual(r.usage, [10, 5]);
    });
  }

  // Ollama's OpenAI-compatible stream numbers every parallel call 0, each whole with its own id:
  // the Anthropic client got one tool_use whose input was two JSON objects run together.
  test("Anthropic SDK <- OpenAI upstream: parallel calls that all say index 0 (Ollama) stay two calls", async () => {
    const call = (model, id, path) =>
      od(chunk(model, { tool_calls: [{ id, index: 0, type: "function", function: { name: "write_file", arguments: JSON.stringify({ path }) } }] }));
    oa.plan = (b) => ({
      pieces: [od(chunk(b.model, { role: "assistant", content: "" })) + call(b.model, "call_a", "a.py") + call(b.model, "call_b", "b.py") +
        od(chunk(b.model, {}, "tool_calls")) + od({ ...chunk(b.model, {}), choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }) + "data: [DONE]\n\n"],
    });
    const { message: m } = await viaAnthropic("open");
    assert.equal(m.stop_reason, "tool_use");
    assert.deepEqual(
      m.content.map((b) => [b.type, b.id, b.name, b.input]),
      [["tool_use", "toolu_call_a", "write_file", { path: "a.py" }], ["tool_use", "toolu_call_b", "write_file", { path: "b.py" }]],
    );
  });

  // A server tool's block (web search) streams its input like a tool_use block; it is not
  // shown to OpenAI clients, but its input went out as a tool_calls delta without id or type,
  // and the openai SDK's stream helper threw "tool call snapshot missing `type`".
  test("OpenAI SDK <- Anthropic upstream: a server tool's streamed input is not a tool call", async () => {
    an.plan = (b) => ({
      pieces: [
        messageStart(b.model) +
          aev("content_block_start", { index: 0, content_block: { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} } }) +
          aev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: '{"query":"weather"}' } }) +
          aev("content_block_stop", { index: 0 }) +
          aev("content_block_start", { index: 1, content_block: { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] } }) +
          aev("content_block_stop", { index: 1 }) +
          aev("content_block_start", { index: 2, content_block: { type: "tool_use", id: "toolu_2", name: "save", input: {} } }) +
          aev("content_block_delta", { index: 2, delta: { type: "input_json_delta", partial_json: '{"ok":true}' } }) +
          aev("content_block_stop", { index: 2 }) +
          aev("message_delta", { delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 5 } }) +
          aev("message_stop", {}),
      ],
    });
    const { message: m } = await viaOpenAI("frontier");
    assert.deepEqual(m.tool_calls.map((c) => [c.id, c.type, c.function.name, c.function.arguments]), [["toolu_2", "function", "save", '{"ok":true}']]);
  });

  // vLLM streams a reasoning model's thinking as delta.reasoning_content; an Anthropic client
  // does not see it, but a stream cut before its usage is billed for it, as it is for an
  // OpenAI client (the translator counted none of it: 2 output tokens instead of 102).
  test("Anthropic SDK <- OpenAI upstream: a cut stream bills the reasoning it streamed", async () => {
    oa.plan = (b) => ({
      pieces: [od(chunk(b.model, { role: "assistant", content: "" })) + od(chunk(b.model, { reasoning_content: "x".repeat(400) })) + od(chunk(b.model, { content: "Answer: 4" }))],
    });
    await assert.rejects(viaAnthropic("open"), (e) => e instanceof Anthropic.APIError && /ended before it was complete/.test(e.message));
    const row = lastRow();
    assert.equal(row.error_kind, "upstream_error");
    assert.equal(row.usage_estimated, 1);
    assert.equal(row.output_tokens, Math.ceil((400 + 9) / 4));
  });
});
