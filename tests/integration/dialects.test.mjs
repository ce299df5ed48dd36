// Issue 3: both SDKs unchanged against triage, in both directions, through the translation.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startTriage, startTwoDialects, config, curl } from "./lib/harness.mjs";
import { startFakeOpenAI, chunk, openaiError } from "./lib/fake_openai.mjs";
import { startFakeAnthropic, anthropicError, streamEvents } from "./lib/fake_anthropic.mjs";

const aev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

describe("dialects", () => {
  let oai, ant, t, anthropic, openai;
  before(async () => {
    oai = await startFakeOpenAI();
    ant = await startFakeAnthropic();
    t = await startTwoDialects(oai.url, ant.url);
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "client-key", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oai.close();
    await ant.close();
  });

  test("Anthropic SDK -> OpenAI upstream: system, multi-turn, answer and usage translated", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: "translated!", usage: { prompt_tokens: 20, completion_tokens: 7 } }));
    const msg = await anthropic.messages.create({
      model: "open",
      max_tokens: 256,
      system: "Be brief.",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "How are you?" },
      ],
    });
    assert.equal(msg.type, "message");
    assert.equal(msg.role, "assistant");
    assert.equal(msg.content[0].type, "text");
    assert.equal(msg.content[0].text, "translated!");
    assert.equal(msg.stop_reason, "end_turn");
    assert.equal(msg.usage.input_tokens, 20);
    assert.equal(msg.usage.output_tokens, 7);
    const up = oai.requests.at(-1).body;
    assert.equal(up.model, "gemma4:31b");
    assert.equal(up.messages[0].role, "system");
    assert.equal(up.messages[0].content, "Be brief.");
    assert.equal(up.messages.length, 4);
    assert.equal(up.max_tokens ?? up.max_completion_tokens, 256);
  });

  test("Anthropic SDK streaming -> OpenAI upstream: exact event sequence, text reassembled", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { chunks: ["one ", "two ", "three"], usage: { prompt_tokens: 11, completion_tokens: 3 } }));
    const stream = anthropic.messages.stream({ model: "open", max_tokens: 64, messages: [{ role: "user", content: "count" }] });
    const types = [];
    stream.on("streamEvent", (e) => types.push(e.type));
    const final = await stream.finalMessage();
    assert.equal(final.content[0].text, "one two three");
    assert.equal(final.stop_reason, "end_turn");
    assert.equal(final.usage.output_tokens, 3);
    assert.equal(types[0], "message_start");
    assert.equal(types.at(-1), "message_stop");
    assert.ok(types.includes("content_block_start") && types.includes("content_block_delta") && types.includes("content_block_stop") && types.includes("message_delta"));
  });

  test("Anthropic SDK tool use round trip through an OpenAI upstream (streamed arguments)", async () => {
    const args = JSON.stringify({ city: "Paris", unit: "celsius", days: [1, 2, 3] });
    oai.behave((req, res, body) => {
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "c1", object: "chat.completion", created: 1, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: args } }] }, finish_reason: "tool_calls" }], usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] }))}\n\n`);
      for (let i = 0; i < args.length; i += 4) res.write(`data: ${JSON.stringify(chunk(body.model, { tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + 4) } }] }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk(body.model, {}, "tool_calls"))}\n\n`);
      res.end("data: [DONE]\n\n");
    });
    const tools = [{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const first = await anthropic.messages.create({ model: "open", max_tokens: 100, tools, messages: [{ role: "user", content: "Weather in Paris?" }] });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, JSON.parse(args));
    const sent = oai.requests.at(-1).body;
    assert.equal(sent.tools[0].type, "function");
    assert.equal(sent.tools[0].function.name, "get_weather");
    assert.deepEqual(sent.tools[0].function.parameters, tools[0].input_schema);

    const streamed = await anthropic.messages.stream({ model: "open", max_tokens: 100, tools, messages: [{ role: "user", content: "Weather in Paris?" }] }).finalMessage();
    const suse = streamed.content.find((b) => b.type === "tool_use");
    assert.deepEqual(suse.input, JSON.parse(args), "arguments split across many chunks come out equal in meaning");
    assert.equal(streamed.stop_reason, "tool_use");

    // The tool result goes back upstream as an OpenAI tool message.
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: "It is sunny." }));
    const second = await anthropic.messages.create({
      model: "open",
      max_tokens: 100,
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny, 21C" }] },
      ],
    });
    assert.equal(second.content[0].text, "It is sunny.");
    const msgs = oai.requests.at(-1).body.messages;
    const asst = msgs.find((m) => m.role === "assistant");
    assert.equal(asst.tool_calls[0].function.name, "get_weather");
    const tool = msgs.find((m) => m.role === "tool");
    assert.ok(tool, "tool_result became a tool message");
    assert.equal(tool.tool_call_id, asst.tool_calls[0].id);
  });

  test("Anthropic SDK images (base64 and URL) reach an OpenAI upstream as image_url parts", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: "a cat" }));
    const msg = await anthropic.messages.create({
      model: "open",
      max_tokens: 20,
      messages: [{ role: "user", content: [
        { type: "text", text: "What is in these?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
        { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
      ] }],
    });
    assert.equal(msg.content[0].text, "a cat");
    const parts = oai.requests.at(-1).body.messages.at(-1).content;
    const urls = parts.filter((p) => p.type === "image_url").map((p) => p.image_url.url);
    assert.deepEqual(urls, ["data:image/png;base64,iVBORw0KGgo=", "https://example.com/cat.jpg"]);
  });

  test("Anthropic SDK sees Anthropic-shaped errors", async () => {
    await assert.rejects(anthropic.messages.create({ model: "gpt-9", max_tokens: 10, messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.ok(e instanceof Anthropic.NotFoundError);
      assert.equal(e.error.type, "error");
      assert.equal(e.error.error.type, "not_found_error");
      return true;
    });
    const r = await curl([`${t.url}/v1/messages`, "-H", "content-type: application/json", "-d", '{"model":"open","messages":[{"role":"user","content":"x"}]}']);
    assert.equal(r.status, 400);
    const j = JSON.parse(r.body);
    assert.equal(j.type, "error");
    assert.equal(j.error.type, "invalid_request_error");
    assert.match(j.error.message, /max_tokens/);
  });

  test("OpenAI SDK -> Anthropic upstream: request translated, key and version sent", async () => {
    ant.handler = null;
    ant.content = [{ type: "text", text: "from claude" }];
    const { data, response } = await openai.chat.completions
      .create({ model: "frontier", messages: [{ role: "system", content: "sys" }, { role: "user", content: "Hi" }] })
      .withResponse();
    assert.equal(data.object, "chat.completion");
    assert.equal(data.choices[0].message.content, "from claude");
    assert.equal(data.choices[0].finish_reason, "stop");
    assert.equal(data.usage.prompt_tokens, 100);
    assert.equal(data.usage.completion_tokens, 50);
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.001750"); // opus: 100x5 + 50x25
    const got = ant.requests.at(-1);
    assert.equal(got.url, "/v1/messages");
    assert.equal(got.headers["x-api-key"], "sk-ant-test-key-999");
    assert.equal(got.headers["anthropic-version"], "2023-06-01");
    assert.equal(got.body.model, "claude-opus-4-7");
    assert.equal(got.body.system, "sys");
    assert.ok(got.body.max_tokens > 0);
    assert.equal(got.body.messages.length, 1);
    assert.equal(got.body.messages[0].role, "user");
    const c = got.body.messages[0].content;
    assert.equal(typeof c === "string" ? c : c.map((b) => b.text).join(""), "Hi");
  });

  test("OpenAI SDK streaming -> Anthropic upstream, with a tool call streamed in pieces", async () => {
    ant.content = [
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "toolu_01", name: "lookup", input: { q: "triage", n: 3 } },
    ];
    ant.stop_reason = "tool_use";
    const stream = await openai.chat.completions.create({ model: "frontier", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "go" }], tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }] });
    let text = "";
    let args = "";
    let name = "";
    let finish;
    let usage;
    for await (const c of stream) {
      const d = c.choices[0]?.delta;
      if (d?.content) text += d.content;
      for (const tc of d?.tool_calls || []) {
        if (tc.function?.name) name = tc.function.name;
        args += tc.function?.arguments || "";
      }
      if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, "Let me check.");
    assert.equal(name, "lookup");
    assert.deepEqual(JSON.parse(args), { q: "triage", n: 3 });
    assert.equal(finish, "tool_calls");
    assert.equal(usage.completion_tokens, 50);
    assert.equal(ant.requests.at(-1).body.tools[0].name, "lookup");
    ant.stop_reason = "end_turn";
  });

  test("Anthropic SDK -> Anthropic upstream passes through, streaming too", async () => {
    ant.content = [{ type: "text", text: "native" }];
    const msg = await anthropic.messages.create({ model: "frontier", max_tokens: 50, messages: [{ role: "user", content: "x" }] });
    assert.equal(msg.content[0].text, "native");
    assert.equal(msg.id, "msg_fake01");
    const final = await anthropic.messages.stream({ model: "frontier", max_tokens: 50, messages: [{ role: "user", content: "x" }] }).finalMessage();
    assert.equal(final.content[0].text, "native");
    assert.equal(final.usage.output_tokens, 50);
  });

  test("same-dialect pass-through: the upstream gets the client's body with only model replaced", async () => {
    // Written straight from the parsed body (OpenAIRequestBody / AnthropicRequestBody): foreign
    // members, nesting, escapes and non-ASCII text must arrive as the client sent them.
    const odd = { nested: [1, 2.5, -0.125, 1e300, null, true, "caf\u00e9 \"q\" \\ \n\t\u0001 \ud83d\ude00 \u2028"], "": {}, "\u00e9": [] };
    const post = async (path, body) => {
      const r = await fetch(`${t.url}${path}`, { method: "POST", headers: { "content-type": "application/json", "anthropic-version": "2023-06-01" }, body: JSON.stringify(body) });
      assert.equal(r.status, 200, await r.clone().text());
      await r.text();
    };
    const oaiBody = { x_vendor: odd, model: "open", temperature: 0.25, messages: [{ role: "user", content: odd.nested[6] }], user: "u\u00e9" };
    await post("/v1/chat/completions", oaiBody);
    assert.deepEqual(oai.requests.at(-1).body, { ...oaiBody, model: "gemma4:31b" });
    // Streams always ask for usage; the client's other stream_options members stay.
    const streamBody = { ...oaiBody, stream: true, stream_options: { include_usage: false, zz: [1] } };
    await post("/v1/chat/completions", streamBody);
    assert.deepEqual(oai.requests.at(-1).body, { ...streamBody, model: "gemma4:31b", stream_options: { include_usage: true, zz: [1] } });
    ant.handler = null;
    ant.content = [{ type: "text", text: "native" }];
    const antBody = { model: "frontier", max_tokens: 20, top_k: 5, metadata: { user_id: "u1" }, x_vendor: odd, system: odd.nested[6], messages: [{ role: "user", content: [{ type: "text", text: odd.nested[6] }] }] };
    await post("/v1/messages", antBody);
    assert.deepEqual(ant.requests.at(-1).body, { ...antBody, model: "claude-opus-4-7" });
  });

  test("upstream 529 overloaded reaches an Anthropic client as 529 overloaded_error", async () => {
    ant.handler = (req, res) => {
      res.writeHead(529, { "content-type": "application/json" });
      res.end(JSON.stringify(anthropicError("overloaded_error", "Overloaded")));
    };
    await assert.rejects(anthropic.messages.create({ model: "frontier", max_tokens: 10, messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.equal(e.status, 529);
      assert.equal(e.error.error.type, "overloaded_error");
      return true;
    });
    ant.handler = null;
  });

  // The Messages API can answer 200 and then send `event: error` with overloaded_error; an
  // Anthropic client must see that type, as it would from the API (the SDK sets e.type from it).
  test("an overloaded_error event in an Anthropic stream reaches an Anthropic client as overloaded_error", async () => {
    const start = streamEvents({ model: "m", content: [] }).split("event: ping")[0];
    const overloaded = aev("error", anthropicError("overloaded_error", "Overloaded"));
    const text = aev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) + aev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "partial" } });
    const params = { model: "frontier", max_tokens: 10, messages: [{ role: "user", content: "x" }] };
    // Before any content: nothing was sent, so the client gets the status the API would give.
    ant.handler = (req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(start + overloaded);
    };
    await assert.rejects(anthropic.messages.stream(params).finalMessage(), (e) => {
      assert.ok(e instanceof Anthropic.OverloadedError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, 529);
      assert.equal(e.type, "overloaded_error");
      return true;
    });
    // After content: the stream ends with an error event of the same type.
    ant.handler = (req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(start + text + overloaded);
    };
    await assert.rejects(anthropic.messages.stream(params).finalMessage(), (e) => {
      assert.ok(e instanceof Anthropic.APIError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.type, "overloaded_error");
      assert.match(e.message, /Overloaded/);
      return true;
    });
    ant.handler = null;
  });

  test("parameters with no Anthropic equivalent: dropped and named in a header, or a clear 400", async () => {
    ant.handler = null;
    ant.content = [{ type: "text", text: "ok" }];
    const { response } = await openai.chat.completions
      .create({ model: "frontier", messages: [{ role: "user", content: "x" }], frequency_penalty: 0.5, seed: 3 })
      .withResponse();
    assert.match(response.headers.get("x-triage-dropped-params") || "", /frequency_penalty/);
    assert.equal(ant.requests.at(-1).body.frequency_penalty, undefined);
    await assert.rejects(openai.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "x" }], n: 2 }), (e) => {
      assert.equal(e.status, 400);
      assert.match(e.message, /n: values above 1/);
      return true;
    });
  });

  // The Messages API streams a tool with no input as a tool_use block whose only input_json_delta
  // is "" (the Anthropic SDK reads an empty buffer as {}); OpenAI sends "{}" for such a call.
  test("OpenAI SDK stream helper -> Anthropic upstream: a tool with no input gets arguments \"{}\"", async () => {
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        streamEvents({ model: body.model, content: [], stop_reason: "tool_use" })
          .replace(/event: message_delta/, () =>
            aev("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_now", name: "now", input: {} } }) +
            aev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: "" } }) +
            aev("content_block_stop", { index: 0 }) +
            "event: message_delta"),
      );
    };
    const tools = [{ type: "function", function: { name: "now", strict: true, parameters: { type: "object", properties: {}, additionalProperties: false } } }];
    // The helper JSON.parses the arguments of a strict tool when the call is done.
    const done = [];
    const stream = openai.chat.completions.stream({ model: "frontier", messages: [{ role: "user", content: "time?" }], tools });
    stream.on("tool_calls.function.arguments.done", (e) => done.push(e));
    const final = await stream.finalChatCompletion();
    const call = final.choices[0].message.tool_calls[0];
    assert.equal(call.id, "toolu_now");
    assert.equal(call.function.name, "now");
    assert.equal(call.function.arguments, "{}");
    assert.deepEqual(done.map((e) => e.parsed_arguments), [{}]);
    assert.equal(final.choices[0].finish_reason, "tool_calls");
    // The same answer not streamed already said "{}".
    ant.handler = null;
    ant.content = [{ type: "tool_use", id: "toolu_now", name: "now", input: {} }];
    ant.stop_reason = "tool_use";
    const unary = await openai.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "time?" }], tools });
    assert.equal(unary.choices[0].message.tool_calls[0].function.arguments, "{}");
    ant.stop_reason = "end_turn";
  });

  test("Anthropic SDK -> OpenAI upstream: a refusal ends with stop_reason refusal, streamed or not", async () => {
    oai.behave((req, res, body) => {
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "chatcmpl-r", object: "chat.completion", created: 1, model: body.model, choices: [{ index: 0, message: { role: "assistant", content: null, refusal: "I can't help." }, logprobs: null, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: null, refusal: "" }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk(body.model, { refusal: "I can't " }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk(body.model, { refusal: "help." }))}\n\n`);
      res.write(`data: ${JSON.stringify(chunk(body.model, {}, "stop"))}\n\n`);
      res.end("data: [DONE]\n\n");
    });
    const params = { model: "open", max_tokens: 10, messages: [{ role: "user", content: "x" }] };
    const unary = await anthropic.messages.create(params);
    assert.equal(unary.content[0].text, "I can't help.");
    assert.equal(unary.stop_reason, "refusal");
    const streamed = await anthropic.messages.stream(params).finalMessage();
    assert.equal(streamed.content[0].text, "I can't help.");
    assert.equal(streamed.stop_reason, "refusal");
  });

  test("Anthropic SDK -> OpenAI upstream: tool_choice is not sent without tools (vLLM refuses it)", async () => {
    // As vLLM's ChatCompletionRequest validator: "When using `tool_choice`, `tools` must be set."
    oai.behave((req, res, body) => {
      if (body.tool_choice !== undefined && !body.tools) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify(openaiError(400, "When using `tool_choice`, `tools` must be set.", "BadRequestError")));
        return;
      }
      oai.reply(req, res, body, { text: "searched" });
    });
    // Server tools run inside Anthropic: dropped towards OpenAI, and the tool_choice with them.
    const { data, response } = await anthropic.messages
      .create({ model: "open", max_tokens: 10, tools: [{ type: "web_search_20250305", name: "web_search" }], tool_choice: { type: "auto" }, messages: [{ role: "user", content: "x" }] })
      .withResponse();
    assert.equal(data.content[0].text, "searched");
    assert.match(response.headers.get("x-triage-dropped-params") || "", /tools\.web_search_20250305/);
    const up = oai.requests.at(-1).body;
    assert.equal(up.tools, undefined);
    assert.equal(up.tool_choice, undefined);
    oai.behave((req, res, body) => oai.reply(req, res, body, {}));
  });

  test("OpenAI SDK -> Anthropic upstream: temperature and top_p together send temperature only", async () => {
    // As current Claude models answer a request with both.
    ant.handler = (req, res, body) => {
      if (body.temperature !== undefined && body.top_p !== undefined) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify(anthropicError("invalid_request_error", "`temperature` and `top_p` cannot both be specified for this model. Please use only one.")));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "msg_t", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } }));
    };
    const { data, response } = await openai.chat.completions
      .create({ model: "frontier", temperature: 0.7, top_p: 0.9, messages: [{ role: "user", content: "x" }] })
      .withResponse();
    assert.equal(data.choices[0].message.content, "ok");
    assert.match(response.headers.get("x-triage-dropped-params") || "", /top_p \(sent with temperature\)/);
    assert.equal(ant.requests.at(-1).body.temperature, 0.7);
    assert.equal(ant.requests.at(-1).body.top_p, undefined);
    // top_p alone still goes through.
    await openai.chat.completions.create({ model: "frontier", top_p: 0.5, messages: [{ role: "user", content: "x" }] });
    assert.equal(ant.requests.at(-1).body.top_p, 0.5);
    ant.handler = null;
  });

  test("Anthropic SDK reads the request id (request-id header, request_id in error bodies)", async () => {
    ant.handler = null;
    ant.content = [{ type: "text", text: "ok" }];
    const { data, response } = await anthropic.messages.create({ model: "frontier", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).withResponse();
    const id = response.headers.get("x-request-id");
    assert.match(id, /^req_/);
    assert.equal(data._request_id, id);
    await assert.rejects(anthropic.messages.create({ model: "gpt-9", max_tokens: 10, messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.ok(e instanceof Anthropic.NotFoundError);
      assert.match(e.requestID, /^req_/);
      assert.equal(e.error.request_id, e.requestID);
      return true;
    });
  });

  test("OpenAI SDK -> Anthropic upstream: an image/jpg data URL is sent as image/jpeg", async () => {
    // As the Messages API validates image sources.
    ant.handler = (req, res, body) => {
      const bad = body.messages.flatMap((m) => m.content).find((b) => b.type === "image" && b.source.type === "base64" && !["image/jpeg", "image/png", "image/gif", "image/webp"].includes(b.source.media_type));
      if (bad) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify(anthropicError("invalid_request_error", "messages.0.content.1.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'")));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "msg_i", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "a cat" }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 3, output_tokens: 2 } }));
    };
    const data = await openai.chat.completions.create({
      model: "frontier",
      messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/jpg;base64,/9j/4AAQ" } }] }],
    });
    assert.equal(data.choices[0].message.content, "a cat");
    const img = ant.requests.at(-1).body.messages[0].content.find((b) => b.type === "image");
    assert.deepEqual(img.source, { type: "base64", media_type: "image/jpeg", data: "/9j/4AAQ" });
    ant.handler = null;
  });

  test("OpenAI SDK -> Anthropic upstream: a whitespace-only stop sequence is a clear 400, not sent upstream", async () => {
    // As the Messages API answers such a request.
    ant.handler = (req, res, body) => {
      if ((body.stop_sequences || []).some((s) => s.trim() === "")) {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify(anthropicError("invalid_request_error", "stop_sequences: each stop sequence must contain non-whitespace")));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "msg_s", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 3, output_tokens: 1 } }));
    };
    const before = ant.requests.length;
    await assert.rejects(openai.chat.completions.create({ model: "frontier", stop: ["\n"], messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
      assert.match(e.message, /stop: the Messages API refuses a stop sequence that is empty or only whitespace/);
      return true;
    });
    assert.equal(ant.requests.length, before, "the Anthropic deployment was not tried");
    // A stop sequence with other characters goes through.
    await openai.chat.completions.create({ model: "frontier", stop: ["\nEND"], messages: [{ role: "user", content: "x" }] });
    assert.deepEqual(ant.requests.at(-1).body.stop_sequences, ["\nEND"]);
    ant.handler = null;
  });

  const citySchema = {
    type: "object",
    properties: { name: { type: "string" }, population: { type: "integer" } },
    required: ["name", "population"],
    additionalProperties: false,
  };

  test("OpenAI SDK response_format json_schema + reasoning_effort -> Anthropic output_config", async () => {
    ant.handler = null;
    ant.content = [{ type: "text", text: '{"name":"Paris","population":2100000}' }];
    const { data, response } = await openai.chat.completions
      .create({
        model: "frontier",
        messages: [{ role: "user", content: "Largest city in France?" }],
        response_format: { type: "json_schema", json_schema: { name: "city", strict: true, schema: citySchema } },
        reasoning_effort: "high",
      })
      .withResponse();
    const up = ant.requests.at(-1).body;
    assert.deepEqual(up.output_config, { effort: "high", format: { type: "json_schema", schema: citySchema } });
    assert.equal(up.response_format, undefined);
    assert.equal(up.reasoning_effort, undefined);
    assert.equal(up.thinking, undefined, "effort alone: thinking is not turned on");
    assert.doesNotMatch(response.headers.get("x-triage-dropped-params") || "", /response_format|reasoning_effort/);
    // The answer comes back as text content, unchanged.
    assert.deepEqual(JSON.parse(data.choices[0].message.content), { name: "Paris", population: 2100000 });

    // json_object has no schema: still dropped, with the reason; "text" is the default, not reported.
    const { response: r2 } = await openai.chat.completions
      .create({ model: "frontier", messages: [{ role: "user", content: "JSON please" }], response_format: { type: "json_object" }, reasoning_effort: "minimal" })
      .withResponse();
    assert.equal(ant.requests.at(-1).body.output_config.format, undefined);
    assert.equal(ant.requests.at(-1).body.output_config.effort, "low");
    const dropped = r2.headers.get("x-triage-dropped-params") || "";
    assert.match(dropped, /response_format \(json_object: the Messages API needs a schema\)/);
    assert.match(dropped, /reasoning_effort \(minimal sent as low\)/);
    const { response: r3 } = await openai.chat.completions
      .create({ model: "frontier", messages: [{ role: "user", content: "x" }], response_format: { type: "text" } })
      .withResponse();
    assert.equal(ant.requests.at(-1).body.output_config, undefined);
    assert.equal(r3.headers.get("x-triage-dropped-params"), null);
  });

  test("OpenAI SDK streaming with json_schema -> Anthropic upstream: output_config sent, text streamed", async () => {
    ant.handler = null;
    ant.content = [{ type: "text", text: '{"name":"Lyon","population":520000}' }];
    const stream = await openai.chat.completions.create({
      model: "frontier",
      stream: true,
      messages: [{ role: "user", content: "Second city?" }],
      response_format: { type: "json_schema", json_schema: { name: "city", schema: citySchema } },
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    assert.deepEqual(ant.requests.at(-1).body.output_config, { format: { type: "json_schema", schema: citySchema } });
    assert.deepEqual(JSON.parse(text), { name: "Lyon", population: 520000 });
  });

  test("Anthropic SDK output_config (format + effort) -> OpenAI response_format + reasoning_effort", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: '{"name":"Rome","population":2800000}' }));
    const { data, response } = await anthropic.messages
      .create({
        model: "open",
        max_tokens: 2000,
        messages: [{ role: "user", content: "Capital of Italy?" }],
        output_config: { effort: "medium", format: { type: "json_schema", schema: citySchema } },
        thinking: { type: "enabled", budget_tokens: 1024 },
      })
      .withResponse();
    const up = oai.requests.at(-1).body;
    assert.deepEqual(up.response_format, { type: "json_schema", json_schema: { name: "response", schema: citySchema, strict: true } });
    assert.equal(up.reasoning_effort, "medium");
    assert.equal(up.output_config, undefined);
    assert.equal(up.thinking, undefined);
    const dropped = response.headers.get("x-triage-dropped-params") || "";
    assert.match(dropped, /thinking/);
    assert.doesNotMatch(dropped, /output_config/);
    assert.equal(data.content[0].type, "text");
    assert.deepEqual(JSON.parse(data.content[0].text), { name: "Rome", population: 2800000 });
  });

  test("same dialect: response_format and reasoning_effort reach an OpenAI upstream untouched (vLLM's structural_tag too)", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: "ok" }));
    const response_format = { type: "structural_tag", structures: [{ begin: "<a>", schema: citySchema, end: "</a>" }], triggers: ["<a>"] };
    const { response } = await openai.chat.completions
      .create({ model: "open", messages: [{ role: "user", content: "x" }], response_format, reasoning_effort: "minimal" })
      .withResponse();
    const up = oai.requests.at(-1).body;
    assert.deepEqual(up.response_format, response_format);
    assert.equal(up.reasoning_effort, "minimal");
    assert.equal(response.headers.get("x-triage-dropped-params"), null);
  });

  test("malformed or untranslatable structured output: a 400 invalid_request_error in the client's dialect", async () => {
    const before = ant.requests.length;
    await assert.rejects(
      openai.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "x", schema: "{}" } } }),
      (e) => {
        assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.type, "invalid_request_error");
        assert.match(e.message, /response_format\.json_schema\.schema: expected an object, got a string/);
        return true;
      },
    );
    await assert.rejects(
      openai.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "x" }], response_format: { type: "grammar", grammar: "root ::= x" } }),
      (e) => e instanceof OpenAI.BadRequestError && /response_format\.type: 'grammar' is not supported/.test(e.message),
    );
    assert.equal(ant.requests.length, before, "nothing reached the upstream");
    await assert.rejects(
      anthropic.messages.create({ model: "open", max_tokens: 10, messages: [{ role: "user", content: "x" }], output_config: { effort: "extreme" } }),
      (e) => {
        assert.ok(e instanceof Anthropic.BadRequestError, `${e.constructor.name}: ${e.message}`);
        assert.equal(e.type, "invalid_request_error");
        assert.match(e.message, /output_config\.effort: unknown value 'extreme'/);
        return true;
      },
    );
  });

  test("upstream refusals keep the upstream's reason in the OpenAI client's error.code", async () => {
    // Anthropic's context overflow, seen by an OpenAI client.
    ant.handler = (req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify(anthropicError("invalid_request_error", "prompt is too long: 210183 tokens > 200000 maximum")));
    };
    await assert.rejects(openai.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.code, "context_length_exceeded");
      assert.equal(e.type, "invalid_request_error");
      assert.match(e.message, /prompt is too long: 210183 tokens > 200000 maximum/);
      return true;
    });
    // An Anthropic client still gets Anthropic's own error type.
    await assert.rejects(anthropic.messages.create({ model: "frontier", max_tokens: 10, messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.ok(e instanceof Anthropic.BadRequestError, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.type, "invalid_request_error");
      return true;
    });
    // An OpenAI upstream's own code passes through; vLLM's integer code and message are mapped.
    oai.behave((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "Invalid 'messages[0].content': string too long.", type: "invalid_request_error", param: "messages[0].content", code: "string_above_max_length" } }));
    });
    await assert.rejects(openai.chat.completions.create({ model: "open", messages: [{ role: "user", content: "x" }] }), (e) => e.status === 400 && e.code === "string_above_max_length");
    oai.behave((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.", type: "BadRequestError", param: null, code: 400 } }));
    });
    await assert.rejects(openai.chat.completions.create({ model: "open", messages: [{ role: "user", content: "x" }] }), (e) => e.status === 400 && e.code === "context_length_exceeded");
    // The gateway's own key refused upstream: never shown as the client's invalid_api_key.
    oai.behave((req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "Incorrect API key provided: sk-proj-SECRET999.", type: "invalid_request_error", param: null, code: "invalid_api_key" } }));
    });
    await assert.rejects(openai.chat.completions.create({ model: "open", messages: [{ role: "user", content: "x" }] }), (e) => {
      assert.notEqual(e.code, "invalid_api_key");
      assert.equal(e.status, 502);
      assert.doesNotMatch(e.message, /SECRET999/);
      return true;
    });
    oai.behave((req, res, body) => oai.reply(req, res, body, {}));
    ant.handler = null;
  });

  test("count_tokens gives a documented estimate", async () => {
    const r = await anthropic.messages.countTokens({ model: "frontier", messages: [{ role: "user", content: "a".repeat(400) }] });
    assert.ok(r.input_tokens >= 100 && r.input_tokens <= 120, `estimate ${r.input_tokens}`);
  });

  // Bodies over 64 KiB are read by a simdjson parser of their own (docs/dialects.md, "Reading
  // the request body"); whatever the path, the upstream gets the client's content unchanged.
  test("large bodies (300 KB of turns, a 1.5 MB image, a 4.5 MB photo both ways) reach the upstream intact, with their exact numbers", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: "read it all" }));
    const para = 'Quarterly figures: revenue +4.2%, "caf\u00e9" \u2014 G\u00f6teborg \\ tab\there.\n';
    const messages = [];
    for (let i = 0; i < 200; i++) messages.push({ role: i % 2 ? "assistant" : "user", content: `Turn ${i}. ` + para.repeat(22) });
    messages.push({ role: "user", content: "Summarise." });
    const answer = await openai.chat.completions.create({ model: "open", messages, temperature: 0, max_tokens: 50 });
    assert.equal(answer.choices[0].message.content, "read it all");
    const up = oai.requests.at(-1);
    assert.ok(up.raw.length > 300000, `upstream body of ${up.raw.length} bytes`);
    assert.deepEqual(up.body.messages, messages);
    assert.equal(up.body.temperature, 0);

    // Numbers at the edges of each type, in a vendor member that passes through: written as sent.
    const raw = JSON.stringify({ model: "open", messages: messages.slice(0, 100), max_tokens: 5 }).slice(0, -1) +
      ',"vendor_x":{"u":18446744073709551615,"i":-9223372036854775808,"f":1.5e300,"z":0,"nz":-0.0,"big":100000000000000000000000}}';
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "--data-binary", "@-"], { input: raw });
    assert.equal(r.status, 200, r.body.slice(0, 300));
    const sent = oai.requests.at(-1).raw;
    const vendor = sent.match(/"vendor_x":\{[^}]*\}/)?.[0] ?? "";
    assert.match(vendor, /"i":-9223372036854775808,"nz":-0\.0,"u":18446744073709551615,"z":0\}$/, vendor);
    // 1e23 is no double: the nearest one, in the 17 digits nlohmann writes, as before.
    const parsed = JSON.parse(vendor.slice('"vendor_x":'.length));
    assert.equal(parsed.big, 1e23);
    assert.equal(parsed.f, 1.5e300);

    // An Anthropic client's 1.5 MB image to the Anthropic upstream: the base64 data byte for byte.
    const data = Buffer.alloc(1100000, 7).toString("base64");
    await anthropic.messages.create({
      model: "frontier",
      max_tokens: 20,
      messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data } }, { type: "text", text: "What is it?" }] }],
    });
    const image = ant.requests.at(-1).body.messages[0].content[0];
    assert.equal(image.source.data, data);
    assert.equal(image.source.media_type, "image/png");

    // An OpenAI client's photo of 4.5 MB (6 MB of base64, over the 4 MiB that went to nlohmann's
    // parse until 2026-12-07, under limits.max_body_bytes' 8 MiB) to the OpenAI upstream, and
    // the same photo from an Anthropic client, translated: the data byte for byte both ways.
    const photo = Buffer.alloc(4500000);
    for (let i = 0; i < photo.length; i++) photo[i] = (i * 7919) & 0xff;
    const b64 = photo.toString("base64");
    const seen = await openai.chat.completions.create({
      model: "open",
      max_tokens: 20,
      messages: [{ role: "user", content: [{ type: "text", text: "What is in this photo?" }, { type: "image_url", image_url: { url: `data:image/jpeg;base64,${b64}` } }] }],
    });
    assert.equal(seen.choices[0].message.content, "read it all");
    assert.ok(oai.requests.at(-1).raw.length > 6000000);
    assert.equal(oai.requests.at(-1).body.messages[0].content[1].image_url.url, `data:image/jpeg;base64,${b64}`);
    await anthropic.messages.create({
      model: "open",
      max_tokens: 20,
      messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/jpeg", data: b64 } }, { type: "text", text: "What is in this photo?" }] }],
    });
    assert.equal(oai.requests.at(-1).body.messages[0].content[0].image_url.url, `data:image/jpeg;base64,${b64}`);
  });

  test("ledger records the dialect of each request", () => {
    const rows = t.rows();
    assert.ok(rows.some((r) => r.dialect === "anthropic"));
    assert.ok(rows.some((r) => r.dialect === "openai"));
  });
});

// Per-deployment request shaping (tiers[i].deployments[j].request): what each fake upstream
// receives, byte for byte, from the real SDKs, and what x-triage-dropped-params says.
describe("request shaping per deployment", () => {
  let oai, ant, t, anthropic, openai;
  const qwen = [
    "        request:\n",
    "          drop_params: [seed, logit_bias, reasoning_effort]\n",
    "          max_output_tokens: 1024\n",
    "          extra_body:\n",
    "            chat_template_kwargs: {enable_thinking: false}\n",
    "            top_k: 20\n",
    "            min_p: 0.0\n",
    "            keep_alive: \"5\"\n",
  ].join("");
  before(async () => {
    oai = await startFakeOpenAI();
    ant = await startFakeAnthropic();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "qwen", url: oai.url, catalog: "gemma-4-31b", model: "Qwen/Qwen3-32B", more: qwen }] },
          { name: "plain", deployments: [{ name: "plain-gemma", url: oai.url, catalog: "gemma-4-31b", model: "gemma4:31b" }] },
          { name: "gpt", deployments: [{ name: "gpt55", url: oai.url, catalog: "claude-sonnet-4.6", model: "gpt-5.5", more: "        request: {max_tokens_field: max_completion_tokens}\n" }] },
          { name: "frontier", deployments: [{ name: "claude", provider: "anthropic", url: ant.url, catalog: "claude-opus-4.7", model: "claude-opus-4-7", more: "        request: {drop_params: [top_k], max_output_tokens: 2000}\n" }] },
        ],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "client-key", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oai.close();
    await ant.close();
  });

  test("OpenAI SDK, same dialect: members dropped, extra_body merged with exact JSON types, max_tokens clamped", async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: "open", messages: [{ role: "user", content: "hi" }], seed: 7, logit_bias: { 50256: -100 }, temperature: 0.3, max_tokens: 8000 })
      .withResponse();
    assert.equal(data.choices[0].message.content, "Hello from the fake.");
    assert.equal(
      oai.requests.at(-1).raw,
      '{"chat_template_kwargs":{"enable_thinking":false},"keep_alive":"5","max_tokens":1024,"messages":[{"content":"hi","role":"user"}],"min_p":0.0,"model":"Qwen/Qwen3-32B","temperature":0.3,"top_k":20}',
    );
    assert.equal(response.headers.get("x-triage-dropped-params"), "max_tokens (clamped to 1024), seed (deployment drop_params), logit_bias (deployment drop_params)");
    // The client's own top_k wins over extra_body's; a stream still asks for usage.
    const stream = await openai.chat.completions.create({ model: "open", messages: [{ role: "user", content: "hi" }], top_k: 3, stream: true });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "Hello from the fake.");
    assert.equal(
      oai.requests.at(-1).raw,
      '{"chat_template_kwargs":{"enable_thinking":false},"keep_alive":"5","messages":[{"content":"hi","role":"user"}],"min_p":0.0,"model":"Qwen/Qwen3-32B","stream":true,"stream_options":{"include_usage":true},"top_k":3}',
    );
  });

  test("a deployment without request: still gets the client's body untouched", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "plain", messages: [{ role: "user", content: "hi" }], seed: 7, max_tokens: 8000 })
      .withResponse();
    assert.equal(oai.requests.at(-1).raw, '{"max_tokens":8000,"messages":[{"content":"hi","role":"user"}],"model":"gemma4:31b","seed":7}');
    assert.equal(response.headers.get("x-triage-dropped-params"), null);
  });

  test("Anthropic SDK, translated: reasoning_effort dropped, extra_body added, max_tokens clamped", async () => {
    const { response } = await anthropic.messages
      .create({ model: "open", max_tokens: 4000, output_config: { effort: "high" }, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    assert.equal(
      oai.requests.at(-1).raw,
      '{"chat_template_kwargs":{"enable_thinking":false},"keep_alive":"5","max_tokens":1024,"messages":[{"content":"hi","role":"user"}],"min_p":0.0,"model":"Qwen/Qwen3-32B","top_k":20}',
    );
    assert.equal(response.headers.get("x-triage-dropped-params"), "max_tokens (clamped to 1024), reasoning_effort (deployment drop_params)");
  });

  test("max_tokens_field: max_completion_tokens for gpt-5.5, from both SDKs", async () => {
    const { response } = await openai.chat.completions
      .create({ model: "gpt", messages: [{ role: "user", content: "hi" }], max_tokens: 300 })
      .withResponse();
    assert.equal(oai.requests.at(-1).raw, '{"max_completion_tokens":300,"messages":[{"content":"hi","role":"user"}],"model":"gpt-5.5"}');
    assert.equal(response.headers.get("x-triage-dropped-params"), null);
    const msg = await anthropic.messages.create({ model: "gpt", max_tokens: 256, messages: [{ role: "user", content: "hi" }] });
    assert.equal(msg.content[0].text, "Hello from the fake.");
    assert.equal(oai.requests.at(-1).raw, '{"max_completion_tokens":256,"messages":[{"content":"hi","role":"user"}],"model":"gpt-5.5"}');
  });

  test("Anthropic upstream: top_k dropped, max_tokens capped, the 4096 default included", async () => {
    ant.handler = null;
    ant.content = [{ type: "text", text: "ok" }];
    const { response } = await anthropic.messages
      .create({ model: "frontier", max_tokens: 16000, top_k: 5, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    assert.equal(ant.requests.at(-1).raw, '{"max_tokens":2000,"messages":[{"content":"hi","role":"user"}],"model":"claude-opus-4-7"}');
    assert.equal(response.headers.get("x-triage-dropped-params"), "max_tokens (clamped to 2000), top_k (deployment drop_params)");
    const r2 = await openai.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(r2.data.choices[0].message.content, "ok");
    assert.equal(ant.requests.at(-1).body.max_tokens, 2000);
    assert.equal(r2.response.headers.get("x-triage-dropped-params"), "max_tokens (clamped to 2000)");
  });

  test("a SIGHUP reload that changes request: says it waits for a restart, and the running shape stays", async () => {
    const file = path.join(t.dir, "config.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("max_output_tokens: 1024", "max_output_tokens: 512"));
    t.proc.kill("SIGHUP");
    let line;
    for (let i = 0; i < 100 && !line; ++i) {
      line = t.stderr().split("\n").find((l) => l.includes('"msg":"routing reloaded"'));
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(line, t.stderr());
    assert.deepEqual(JSON.parse(line).not_applied_until_restart, ["tiers[0].deployments"]);
    await openai.chat.completions.create({ model: "open", messages: [{ role: "user", content: "hi" }], max_tokens: 8000 });
    assert.equal(oai.requests.at(-1).body.max_tokens, 1024);
  });
});

// The dialect check of a fallback in the other dialect waits until the attempt loop reaches it
// (Gateway::DropUntranslatable), when the first deployment can take the request: it must still
// keep every request that dialect cannot express away from that deployment, and let the others
// through.
describe("fallback to a deployment of the other dialect", () => {
  let oai, ant, t, openai;
  before(async () => {
    oai = await startFakeOpenAI();
    ant = await startFakeAnthropic();
    t = await startTwoDialects(oai.url, ant.url, {}, "routing: {fallback: up}\nretry: {max_attempts: 2}\n");
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oai.close();
    await ant.close();
  });

  test("a request Anthropic can take falls back to it; one it cannot (n: 2) never reaches it", async () => {
    oai.behave(async (req, res) => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(openaiError(500, "the open tier is down")));
    });
    const messages = [{ role: "user", content: "hi" }];
    const fellBack = await openai.chat.completions.create({ model: "open", messages }).withResponse();
    assert.equal(fellBack.response.headers.get("x-triage-deployment"), "claude");
    assert.equal(ant.requests.length, 1);
    assert.equal(ant.requests[0].body.model, "claude-opus-4-7");

    const before = { oai: oai.requests.length, ant: ant.requests.length };
    await assert.rejects(
      openai.chat.completions.create({ model: "open", messages, n: 2 }),
      (e) => e instanceof OpenAI.InternalServerError || e.status === 502,
    );
    // Both attempts (max_attempts 2) went to the open tier: the fallback was not a candidate.
    assert.equal(oai.requests.length, before.oai + 2, "the open tier was tried twice");
    assert.equal(ant.requests.length, before.ant, "the Anthropic fallback was not called with n: 2");

    // The first deployment answering, n: 2 is served there (the deferred check refuses nothing).
    oai.behave(async (req, res, body) => oai.reply(req, res, body, {}));
    const served = await openai.chat.completions.create({ model: "open", messages, n: 2 }).withResponse();
    assert.equal(served.response.headers.get("x-triage-deployment"), "gemma");
    assert.equal(ant.requests.length, before.ant);
    const rows = t.rows();
    assert.deepEqual(
      rows.slice(-3).map((r) => [r.deployment, r.attempts]),
      [["claude", 2], ["gemma", 2], ["gemma", 1]],
    );
  });
});
