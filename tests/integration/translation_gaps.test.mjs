// Cross-dialect cases that once went wrong, through the official SDKs against the real binary:
// streamed tool calls as OpenAI-compatible servers really send them (id or name late, no index),
// and request members that were lost without being reported.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startTwoDialects, startTriage, config } from "./lib/harness.mjs";
import { chunk } from "./lib/fake_openai.mjs";
import { message } from "./lib/fake_anthropic.mjs";

const od = (o) => `data: ${JSON.stringify(o)}\n\n`;

// An upstream that records each request body and answers with `plan(body)` (a string body;
// SSE when the request streams).
async function startScripted() {
  const s = { plan: null, requests: [] };
  s.server = http.createServer((req, res) => {
    let data = "";
    req.setEncoding("utf8").on("data", (d) => (data += d)); // decoded whole: a character may span two chunks
    req.on("end", () => {
      const body = JSON.parse(data || "{}");
      s.requests.push(body);
      res.writeHead(200, { "content-type": body.stream ? "text/event-stream" : "application/json" });
      res.end(s.plan(body));
    });
  });
  await new Promise((r) => s.server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${s.server.address().port}/v1`;
  s.close = () => new Promise((r) => s.server.close(r));
  return s;
}

const usageChunk = (model) => od({ ...chunk(model, {}), choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
const toolStream = (model, deltas) =>
  od(chunk(model, { role: "assistant", content: "" })) +
  deltas.map((d) => od(chunk(model, { tool_calls: d }))).join("") +
  od(chunk(model, {}, "tool_calls")) +
  usageChunk(model) +
  "data: [DONE]\n\n";

describe("translation gaps", () => {
  let oa, an, t, anthropic, openai;
  before(async () => {
    oa = await startScripted();
    an = await startScripted();
    an.plan = (b) => JSON.stringify(message({ model: b.model, content: [{ type: "text", text: "ok" }] }));
    t = await startTwoDialects(oa.url, an.url);
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "client-key", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oa.close();
    await an.close();
  });

  const streamed = async () => {
    const events = [];
    const s = anthropic.messages.stream({ model: "open", max_tokens: 64, messages: [{ role: "user", content: "hi" }] });
    s.on("streamEvent", (e) => events.push(e));
    const m = await s.finalMessage();
    return { m, events };
  };
  const calls = (m) => m.content.filter((b) => b.type === "tool_use").map((b) => [b.name, b.input]);
  // Every block is opened, streamed and closed in order, as the Messages API sends them.
  const wellFormed = (events) => {
    let open = null;
    for (const e of events) {
      if (e.type === "content_block_start") (assert.equal(open, null, "a block opened while another is open"), (open = e.index));
      if (e.type === "content_block_delta") assert.equal(e.index, open, "a delta outside its open block");
      if (e.type === "content_block_stop") (assert.equal(e.index, open), (open = null));
    }
    const starts = events.filter((e) => e.type === "content_block_start").map((e) => e.index);
    assert.deepEqual(starts, starts.map((_, i) => i));
  };

  // SGLang and some proxies name the call in a later delta than the one that opens it: the
  // block went out with name "" and the name was never added.
  test("Anthropic SDK <- OpenAI upstream: a tool call named after its first delta keeps its name", async () => {
    oa.plan = (b) =>
      toolStream(b.model, [
        [{ index: 0, id: "call_a", type: "function", function: { arguments: "" } }],
        [{ index: 0, function: { name: "get_weather" } }],
        [{ index: 0, function: { arguments: '{"city":' } }],
        [{ index: 0, function: { arguments: '"Paris"}' } }],
      ]);
    const { m, events } = await streamed();
    wellFormed(events);
    assert.deepEqual(calls(m), [["get_weather", { city: "Paris" }]]);
    assert.equal(m.content[0].id, "toolu_call_a");
  });

  // A second parallel call whose first delta has no id (it comes later, or never): each call
  // must be its own block with an id of its own: both used to get "toolu_call_<index>", which
  // collide with an upstream whose real ids are call_0, call_1, ... and repeat in every turn.
  test("Anthropic SDK <- OpenAI upstream: calls without ids get ids of their own", async () => {
    oa.plan = (b) =>
      toolStream(b.model, [
        [{ index: 0, id: "call_1", type: "function", function: { name: "a", arguments: '{"x":1}' } }],
        [{ index: 1, type: "function", function: { name: "b", arguments: "" } }],
        [{ index: 1, function: { arguments: '{"y":2}' } }],
        [{ index: 2, type: "function", function: { name: "c", arguments: "{}" } }],
      ]);
    const { m, events } = await streamed();
    wellFormed(events);
    assert.deepEqual(calls(m), [["a", { x: 1 }], ["b", { y: 2 }], ["c", {}]]);
    const ids = m.content.map((b) => b.id);
    assert.equal(new Set(ids).size, 3, `ids not unique: ${ids}`);
    for (const id of ids) assert.match(id, /^toolu_[A-Za-z0-9_-]+$/);
    const again = (await streamed()).m.content.map((b) => b.id);
    assert.notDeepEqual(again.slice(1), ids.slice(1), "synthesised ids repeat across answers");
  });

  // Gemini's and GLM's OpenAI-compatible streams send several calls in one delta without
  // `index`: read as index 0, they were joined into one tool_use with two objects run together.
  test("Anthropic SDK <- OpenAI upstream: calls without index in one delta stay separate", async () => {
    oa.plan = (b) =>
      toolStream(b.model, [
        [
          { type: "function", function: { name: "a", arguments: '{"x":1}' } },
          { type: "function", function: { name: "b", arguments: '{"y":2}' } },
        ],
      ]);
    const { m, events } = await streamed();
    wellFormed(events);
    assert.deepEqual(calls(m), [["a", { x: 1 }], ["b", { y: 2 }]]);
  });

  // OpenAI's per-message `name` has no Anthropic slot: it was lost without being reported.
  test("OpenAI SDK -> Anthropic upstream: a message's name is reported dropped", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "frontier", messages: [{ role: "user", name: "alice", content: "hi" }] })
      .withResponse();
    assert.match(response.headers.get("x-triage-dropped-params") || "", /messages\.name/);
    assert.deepEqual(an.requests.at(-1).messages, [{ role: "user", content: [{ type: "text", text: "hi" }] }]);
  });

  // thinking {type: "disabled"} asks for what an OpenAI-compatible request without it gets:
  // nothing is lost, so nothing is reported; an enabled budget still is.
  test("Anthropic SDK -> OpenAI upstream: thinking disabled is not reported dropped", async () => {
    oa.plan = (b) => JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: b.model, choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    const ask = (thinking) =>
      anthropic.messages.create({ model: "open", max_tokens: 2048, thinking, messages: [{ role: "user", content: "hi" }] }).withResponse();
    const off = await ask({ type: "disabled" });
    assert.doesNotMatch(off.response.headers.get("x-triage-dropped-params") || "", /thinking/);
    const on = await ask({ type: "enabled", budget_tokens: 1024 });
    assert.match(on.response.headers.get("x-triage-dropped-params") || "", /thinking/);
  });

  // A tool's `strict: true` (Anthropic's strict tool use: inputs guaranteed to follow the schema)
  // is OpenAI's `function.strict`; it was lost without being named, as were the tool members
  // with no Chat Completions slot.
  test("Anthropic SDK -> OpenAI upstream: a strict tool stays strict, tool members without a slot are named", async () => {
    oa.plan = (b) => JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: b.model, choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const { response } = await anthropic.messages
      .create({
        model: "open",
        max_tokens: 64,
        messages: [{ role: "user", content: "weather?" }],
        tools: [
          { name: "weather", description: "d", input_schema: schema, strict: true, input_examples: [{ city: "Paris" }] },
          { name: "plain", input_schema: { type: "object" }, strict: false },
        ],
      })
      .withResponse();
    assert.deepEqual(oa.requests.at(-1).tools, [
      { type: "function", function: { name: "weather", description: "d", parameters: schema, strict: true } },
      { type: "function", function: { name: "plain", parameters: { type: "object" } } },
    ]);
    const dropped = response.headers.get("x-triage-dropped-params") || "";
    assert.match(dropped, /tools\.input_examples/);
    assert.doesNotMatch(dropped, /strict/);
  });

  // OpenAI ends a forced call (tool_choice naming a function, often "required" too) with
  // finish_reason "stop", and vLLM does for a named choice: an Anthropic client forcing a tool
  // got stop_reason end_turn next to its tool_use block, where the Messages API always says
  // tool_use, and an agent loop that runs tools on stop_reason "tool_use" stopped.
  test("Anthropic SDK <- OpenAI upstream: tool calls ending with finish_reason stop are stop_reason tool_use", async () => {
    const call = { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } };
    oa.plan = (b) =>
      b.stream
        ? od(chunk(b.model, { role: "assistant", content: null })) +
          od(chunk(b.model, { tool_calls: [{ index: 0, ...call, function: { name: "weather", arguments: "" } }] })) +
          od(chunk(b.model, { tool_calls: [{ index: 0, function: { arguments: call.function.arguments } }] })) +
          od(chunk(b.model, {}, "stop")) +
          usageChunk(b.model) +
          "data: [DONE]\n\n"
        : JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: b.model, choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [call] }, logprobs: null, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    const params = {
      model: "open",
      max_tokens: 64,
      tools: [{ name: "weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      tool_choice: { type: "tool", name: "weather" },
      messages: [{ role: "user", content: "weather in Paris?" }],
    };
    const unary = await anthropic.messages.create(params);
    assert.equal(unary.stop_reason, "tool_use");
    assert.deepEqual(unary.content.map((b) => [b.type, b.name, b.input]), [["tool_use", "weather", { city: "Paris" }]]);
    assert.deepEqual(oa.requests.at(-1).tool_choice, { type: "function", function: { name: "weather" } });
    const streamed = await anthropic.messages.stream(params).finalMessage();
    assert.equal(streamed.stop_reason, "tool_use");
    assert.deepEqual(streamed.content.map((b) => [b.type, b.name, b.input]), [["tool_use", "weather", { city: "Paris" }]]);
    // A plain answer that ends with "stop" is still end_turn.
    oa.plan = (b) =>
      b.stream
        ? od(chunk(b.model, { content: "sunny" })) + od(chunk(b.model, {}, "stop")) + usageChunk(b.model) + "data: [DONE]\n\n"
        : JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: b.model, choices: [{ index: 0, message: { role: "assistant", content: "sunny" }, finish_reason: "stop" }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    assert.equal((await anthropic.messages.create({ ...params, tool_choice: { type: "auto" } })).stop_reason, "end_turn");
    assert.equal((await anthropic.messages.stream({ ...params, tool_choice: { type: "auto" } }).finalMessage()).stop_reason, "end_turn");
    // And the reverse: vLLM with tool_choice "required" and no tool parser says "tool_calls" for
    // an answer without any (vllm-project/vllm#53255): tool_use with no tool_use block, which the
    // Messages API never sends, sent an agent loop looking for calls that are not there.
    oa.plan = (b) =>
      b.stream
        ? od(chunk(b.model, { content: "sunny" })) + od(chunk(b.model, {}, "tool_calls")) + usageChunk(b.model) + "data: [DONE]\n\n"
        : JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: b.model, choices: [{ index: 0, message: { role: "assistant", content: "sunny", tool_calls: [] }, finish_reason: "tool_calls" }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    assert.equal((await anthropic.messages.create({ ...params, tool_choice: { type: "any" } })).stop_reason, "end_turn");
    assert.equal((await anthropic.messages.stream({ ...params, tool_choice: { type: "any" } }).finalMessage()).stop_reason, "end_turn");
  });

  // vLLM names the stop string that ended the answer in the choice's `stop_reason`, SGLang in
  // `matched_stop` (an integer there is a stop token, e.g. EOS). An Anthropic client that sent
  // stop_sequences got end_turn and stop_sequence null, as if the model had stopped by itself.
  test("Anthropic SDK <- vLLM / SGLang: a matched stop string is stop_reason stop_sequence, streamed or not", async () => {
    const final = (m, extra) => ({ ...chunk(m, {}, "stop"), choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop", ...extra }] });
    const answer = (m, extra) =>
      JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: m, choices: [{ index: 0, message: { role: "assistant", content: "abc" }, logprobs: null, finish_reason: "stop", ...extra }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } });
    const cases = [
      [{ stop_reason: "END" }, "stop_sequence", "END"], // vLLM
      [{ matched_stop: "END" }, "stop_sequence", "END"], // SGLang
      [{ stop_reason: 2 }, "end_turn", null], // vLLM, a stop token id
      [{ matched_stop: 151645 }, "end_turn", null], // SGLang, EOS
      [{ stop_reason: null }, "end_turn", null],
    ];
    for (const [extra, reason, sequence] of cases) {
      oa.plan = (b) =>
        b.stream
          ? od(chunk(b.model, { role: "assistant", content: "" })) + od(chunk(b.model, { content: "abc" })) + od(final(b.model, extra)) + usageChunk(b.model) + "data: [DONE]\n\n"
          : answer(b.model, extra);
      const params = { model: "open", max_tokens: 64, stop_sequences: ["END"], messages: [{ role: "user", content: "hi" }] };
      const unary = await anthropic.messages.create(params);
      assert.deepEqual([unary.stop_reason, unary.stop_sequence], [reason, sequence], JSON.stringify(extra));
      const events = [];
      const s = anthropic.messages.stream(params);
      s.on("streamEvent", (e) => events.push(e));
      const m = await s.finalMessage();
      assert.deepEqual([m.stop_reason, m.stop_sequence], [reason, sequence], JSON.stringify(extra));
      const delta = events.find((e) => e.type === "message_delta");
      assert.deepEqual(delta.delta, { stop_reason: reason, stop_sequence: sequence });
      assert.equal(m.content[0].text, "abc");
    }
  });
});

// OpenAI's own API refuses more than 4 stop sequences; vLLM, llama.cpp and Ollama take more.
// A deployment on api.openai.com is kept out of the plan of such a request (the others in the
// plan answer it), and when none is left the client gets the gateway's 400 in its dialect. The
// upstream here is never reached (there is no network): the request used to be sent anyway.
describe("stop sequences towards the OpenAI API", () => {
  let oa, t, anthropic, openai;
  before(async () => {
    oa = await startScripted();
    oa.plan = (b) => JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: b.model, choices: [{ index: 0, message: { role: "assistant", content: "from vllm" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    const timeouts = { connect_ms: 500, first_byte_ms: 1000, total_ms: 2000 };
    t = await startTriage(
      config({
        tiers: [
          { name: "gpt", deployments: [{ name: "openai", url: "https://api.openai.com/v1", catalog: "gemma-4-31b", model: "gpt-x", timeouts }] },
          {
            name: "mixed",
            deployments: [
              // The OpenAI API deployment is the balancer's first pick.
              { name: "openai2", url: "https://api.openai.com/v1", catalog: "gemma-4-31b", model: "gpt-x", timeouts, more: "        weight: 1000\n" },
              { name: "vllm", url: oa.url, catalog: "gemma-4-31b", model: "qwen", timeouts, more: "        weight: 0.001\n" },
            ],
          },
        ],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "client-key", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oa.close();
  });
  const five = ["a", "b", "c", "d", "e"];

  test("Anthropic SDK: five stop_sequences to an OpenAI API deployment is the gateway's 400", async () => {
    const err = await anthropic.messages
      .create({ model: "gpt", max_tokens: 16, stop_sequences: five, messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    assert.ok(err instanceof Anthropic.BadRequestError, String(err));
    assert.equal(err.error?.error?.type, "invalid_request_error");
    assert.match(err.message, /stop_sequences: 5 stop sequences.*at most 4/);
  });

  test("OpenAI SDK: five stop sequences skip the OpenAI API deployment of the plan", async () => {
    const r = await openai.chat.completions.create({ model: "mixed", stop: five, messages: [{ role: "user", content: "hi" }] });
    assert.equal(r.choices[0].message.content, "from vllm");
    assert.deepEqual(oa.requests.at(-1).stop, five);
    const row = t.rows().at(-1);
    assert.equal(row.deployment, "vllm");
    assert.equal(row.attempts, 1, "the OpenAI API deployment was tried first");
  });
});
