// The `sim` provider behind `triage demo`: OpenAI's `n`, and tool calls in a tool loop, through
// the official SDKs of both dialects, streaming and not.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config } from "./lib/harness.mjs";

const tiers = [{ name: "open", deployments: [{ name: "s", sim: { latency_ms: 0, ttft_ms: 0, output_tokens: 6, tokens_per_second: 100000 }, catalog: "gemma-4-31b" }] }];
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] }, days: { type: "integer" }, hourly: { type: "boolean" } },
      required: ["city"],
    },
  },
};
const clock = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { zone: { type: "string" } } } } };
const expectedArgs = { city: "sample", unit: "celsius", days: 1, hourly: true };

test("sim: a request with tools gets a tool call with arguments from the schema, then text after the tool result (OpenAI SDK)", async () => {
  const t = await startTriage(config({ tiers }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const messages = [{ role: "user", content: "Weather in Paris?" }];
    const r = await openai.chat.completions.create({ model: "open", tools: [weather, clock], messages });
    assert.equal(r.choices[0].finish_reason, "tool_calls");
    const call = r.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), expectedArgs);
    // Streamed: the same call, its arguments in fragments.
    const stream = await openai.chat.completions.create({ model: "open", tools: [weather, clock], messages, stream: true, stream_options: { include_usage: true } });
    let args = "", name = "", finish = null, usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        for (const tc of c.delta.tool_calls ?? []) {
          if (tc.function?.name) name = tc.function.name;
          args += tc.function?.arguments ?? "";
        }
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(name, "get_weather");
    assert.deepEqual(JSON.parse(args), expectedArgs);
    assert.equal(finish, "tool_calls");
    assert.ok(usage.completion_tokens > 0);
    // tool_choice names another tool: that one is called.
    const named = await openai.chat.completions.create({ model: "open", tools: [weather, clock], tool_choice: { type: "function", function: { name: "get_time" } }, messages });
    assert.equal(named.choices[0].message.tool_calls[0].function.name, "get_time");
    // tool_choice none: text.
    const none = await openai.chat.completions.create({ model: "open", tools: [weather], tool_choice: "none", messages });
    assert.equal(none.choices[0].finish_reason, "stop");
    assert.match(none.choices[0].message.content, /^\[simulated gemma-4-31b\]/);
    // After the tool result the loop ends in text.
    const done = await openai.chat.completions.create({
      model: "open",
      tools: [weather],
      messages: [...messages, r.choices[0].message, { role: "tool", tool_call_id: call.id, content: "sunny" }],
    });
    assert.equal(done.choices[0].finish_reason, "stop");
    assert.equal(done.choices[0].message.tool_calls, undefined);
    // ...unless the client requires another call.
    const again = await openai.chat.completions.create({
      model: "open",
      tools: [weather],
      tool_choice: "required",
      messages: [...messages, r.choices[0].message, { role: "tool", tool_call_id: call.id, content: "sunny" }],
    });
    assert.equal(again.choices[0].finish_reason, "tool_calls");
    // The ledger counts the call's tokens.
    const rows = t.rows();
    assert.equal(rows.length, 6);
    assert.ok(rows.every((row) => row.status === 200 && row.output_tokens > 0));
  } finally {
    await t.stop();
  }
});

test("sim: tool use through the Anthropic SDK, streaming and not, and text after the tool_result", async () => {
  const t = await startTriage(config({ tiers }));
  try {
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const tools = [{ name: weather.function.name, input_schema: weather.function.parameters }];
    const messages = [{ role: "user", content: "Weather in Paris?" }];
    const r = await anthropic.messages.create({ model: "open", max_tokens: 100, tools, messages });
    assert.equal(r.stop_reason, "tool_use");
    const use = r.content.find((b) => b.type === "tool_use");
    assert.equal(use.name, "get_weather");
    assert.deepEqual(use.input, expectedArgs);
    const streamed = await anthropic.messages.stream({ model: "open", max_tokens: 100, tools, messages }).finalMessage();
    assert.equal(streamed.stop_reason, "tool_use");
    assert.deepEqual(streamed.content.find((b) => b.type === "tool_use").input, expectedArgs);
    const done = await anthropic.messages.create({
      model: "open",
      max_tokens: 100,
      tools,
      messages: [...messages, { role: "assistant", content: r.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] }],
    });
    assert.equal(done.stop_reason, "end_turn");
    assert.equal(done.content[0].type, "text");
    const any = await anthropic.messages.create({ model: "open", max_tokens: 100, tools, tool_choice: { type: "any" }, messages: [...messages, { role: "assistant", content: r.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] }] });
    assert.equal(any.stop_reason, "tool_use");
  } finally {
    await t.stop();
  }
});

test("sim: n choices, each its own text, streaming and not; usage counts them all", async () => {
  const t = await startTriage(config({ tiers }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const messages = [{ role: "user", content: "Hi" }];
    const one = await openai.chat.completions.create({ model: "open", messages });
    const r = await openai.chat.completions.create({ model: "open", n: 3, messages });
    assert.equal(r.choices.length, 3);
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
    assert.equal(new Set(r.choices.map((c) => c.message.content)).size, 3);
    assert.equal(r.usage.completion_tokens, 3 * one.usage.completion_tokens);
    const stream = await openai.chat.completions.create({ model: "open", n: 3, messages, stream: true, stream_options: { include_usage: true } });
    const texts = ["", "", ""];
    const finishes = [];
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? "";
        if (c.finish_reason) finishes.push(c.index);
      }
    }
    // Each request's words depend on the request, so the streamed texts are checked for shape.
    assert.equal(new Set(texts).size, 3);
    for (const text of texts) assert.equal(text.split(" ").length, r.choices[0].message.content.split(" ").length, text);
    assert.deepEqual(finishes.sort(), [0, 1, 2]);
    assert.equal(usage.completion_tokens, r.usage.completion_tokens);
    assert.equal(t.rows().at(-1).output_tokens, r.usage.completion_tokens);
  } finally {
    await t.stop();
  }
});
