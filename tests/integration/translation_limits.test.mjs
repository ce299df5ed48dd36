// Requests translated across dialects must reach the upstream in a form it accepts, or be
// refused by the gateway with a clear error in the client's dialect (not the upstream's 400).
// The fake Anthropic upstream refuses what the Messages API refuses (lib/anthropic_rules.mjs).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { startTwoDialects } from "./lib/harness.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";
import { startFakeAnthropic, message, streamEvents, anthropicError } from "./lib/fake_anthropic.mjs";
import { messagesRequestError } from "./lib/anthropic_rules.mjs";

describe("translation limits", () => {
  let oai, ant, t, anthropic, openai;
  before(async () => {
    oai = await startFakeOpenAI();
    ant = await startFakeAnthropic();
    ant.handler = (req, res, body) => {
      const err = messagesRequestError(body);
      if (err) {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end(JSON.stringify(anthropicError("invalid_request_error", err)));
      }
      const content = [{ type: "text", text: "ok from claude" }];
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        return res.end(streamEvents({ model: body.model, content }));
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(message({ model: body.model, content })));
    };
    t = await startTwoDialects(oai.url, ant.url);
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "client-key", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await oai.close();
    await ant.close();
  });

  test("OpenAI SDK -> Anthropic: whitespace-only text and typeless tool parameters are sent in a form the Messages API accepts", async () => {
    const before = ant.requests.length;
    const r = await openai.chat.completions.create({
      model: "frontier",
      messages: [
        { role: "user", content: "What is the weather in Paris?" },
        { role: "assistant", content: "\n", tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: " " },
        { role: "user", content: [{ type: "text", text: " " }, { type: "text", text: "And tomorrow?" }] },
      ],
      tools: [
        { type: "function", function: { name: "weather", parameters: { properties: { city: { type: "string" } } } } },
        { type: "function", function: { name: "now", parameters: {} } },
      ],
    });
    assert.equal(r.choices[0].message.content, "ok from claude");
    assert.equal(ant.requests.length, before + 1);
    const up = ant.requests.at(-1).body;
    assert.equal(messagesRequestError(up), null);
    assert.deepEqual(up.tools.map((x) => x.input_schema.type), ["object", "object"]);
    assert.deepEqual(up.tools[0].input_schema.properties, { city: { type: "string" } });
    assert.deepEqual(up.messages[1].content, [{ type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } }]);
    assert.deepEqual(up.messages[2].content, [{ type: "tool_result", tool_use_id: "call_1" }, { type: "text", text: "And tomorrow?" }]);
  });

  test("OpenAI SDK -> Anthropic: nothing left to answer, custom tools and allowed_tools get a clear 400 without an upstream call", async () => {
    const cases = [
      [{ messages: [{ role: "system", content: "Be brief." }] }, /messages: nothing to answer/],
      [{ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "yes?" }, { role: "user", content: "\n" }] }, /messages: nothing to answer/],
      [{ messages: [{ role: "user", content: "hi" }], tools: [{ type: "custom", custom: { name: "sql", description: "runs SQL" } }] }, /tools\[0\]\.type: 'custom' is not supported/],
      [
        {
          messages: [{ role: "user", content: "hi" }],
          tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
          tool_choice: { type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "f" } }] } },
        },
        /tool_choice\.type: 'allowed_tools' is not supported/,
      ],
    ];
    for (const [params, re] of cases) {
      const before = ant.requests.length;
      await assert.rejects(openai.chat.completions.create({ model: "frontier", ...params }), (e) => {
        assert.equal(e.status, 400, e.message);
        assert.equal(e.type, "invalid_request_error");
        assert.match(e.message, re);
        return true;
      });
      assert.equal(ant.requests.length, before, "the upstream must not be called");
    }
  });

  test("Anthropic SDK -> OpenAI upstream: a plain-text document reaches the model as text", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { text: "green" }));
    const msg = await anthropic.messages.create({
      model: "open",
      max_tokens: 64,
      messages: [
        {
          role: "user",
          content: [
            { type: "document", source: { type: "text", media_type: "text/plain", data: "The sky on Zorg is green." } },
            { type: "text", text: "What colour is the sky on Zorg?" },
          ],
        },
      ],
    });
    assert.equal(msg.content[0].text, "green");
    const up = oai.requests.at(-1).body;
    assert.deepEqual(up.messages, [
      {
        role: "user",
        content: [
          { type: "text", text: "The sky on Zorg is green." },
          { type: "text", text: "What colour is the sky on Zorg?" },
        ],
      },
    ]);
  });
});
