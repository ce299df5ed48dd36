// Money audit (2026-12-07): the usage a client is shown agrees with what the ledger bills.
// An upstream that reports no usage is billed triage's estimate (ceil(characters / 4)); the
// usage the client gets (an OpenAI stream's usage chunk, an Anthropic stream's message_delta, a
// translated non-streamed body) says those same tokens, and the `triage` object says
// `usage_estimated`, like the ledger row.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config } from "./lib/harness.mjs";
import { startFakeOpenAI, chunk } from "./lib/fake_openai.mjs";

// 4 pieces of 10 characters: 40 characters -> 10 output tokens by the documented estimate.
const PIECES = ["0123456789", "abcdefghij", "ABCDEFGHIJ", "klmnopqrst"];
// The prompt "x" * 400 -> 100 input tokens (plus whatever the prompt estimate counts besides
// the text; the test compares with the row, not with a figure of its own).
const PROMPT = "x".repeat(400);

// An OpenAI-compatible upstream that never reports usage (stream or not), like an old llama.cpp
// server or a proxy that drops stream_options.
function noUsage(req, res, body) {
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: "chatcmpl-nousage",
        object: "chat.completion",
        created: 1700000000,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: PIECES.join("") }, finish_reason: "stop" }],
      }),
    );
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: "" }))}\n\n`);
  for (const p of PIECES) res.write(`data: ${JSON.stringify(chunk(body.model, { content: p }))}\n\n`);
  res.write(`data: ${JSON.stringify(chunk(body.model, {}, "stop"))}\n\n`);
  res.end("data: [DONE]\n\n");
}

describe("money: an upstream that reports no usage", () => {
  let oai, t;
  before(async () => {
    oai = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [{ name: "mid", deployments: [{ name: "sonnet-compat", url: oai.url, catalog: "claude-sonnet-4.6" }] }],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await oai.close();
  });

  test("OpenAI stream with include_usage: the usage chunk says the tokens the ledger bills, marked estimated", async () => {
    oai.behave(noUsage);
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    let usage, triage, text = "";
    const stream = await client.chat.completions.create({ model: "mid", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: PROMPT }] });
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) ({ usage, triage } = c);
    }
    assert.equal(text, PIECES.join(""));
    const row = t.rows().at(-1);
    assert.equal(row.usage_estimated, 1);
    assert.equal(row.output_tokens, 10);
    assert.ok(row.input_tokens >= 100, `input estimate ${row.input_tokens}`);
    assert.equal(usage.prompt_tokens, row.input_tokens);
    assert.equal(usage.completion_tokens, row.output_tokens);
    assert.equal(usage.total_tokens, row.input_tokens + row.output_tokens);
    assert.equal(triage.usage_estimated, true);
    assert.equal(triage.cost_usd, (row.cost_micros / 1e6).toFixed(6));
  });

  test("Anthropic stream translated from it: message_delta's usage says the billed tokens", async () => {
    oai.behave(noUsage);
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    let delta, stop;
    const stream = await client.messages.create({ model: "mid", max_tokens: 64, stream: true, messages: [{ role: "user", content: PROMPT }] });
    for await (const e of stream) {
      if (e.type === "message_delta") delta = e;
      if (e.type === "message_stop") stop = e;
    }
    const row = t.rows().at(-1);
    assert.equal(row.usage_estimated, 1);
    assert.equal(delta.usage.output_tokens, row.output_tokens);
    assert.equal(delta.usage.input_tokens, row.input_tokens);
    assert.equal(stop.triage.usage_estimated, true);
  });

  test("Anthropic answer translated from it (not streamed): the body's usage says the billed tokens", async () => {
    oai.behave(noUsage);
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const { data, response } = await client.messages.create({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: PROMPT }] }).withResponse();
    const row = t.rows().at(-1);
    assert.equal(row.usage_estimated, 1);
    assert.equal(data.usage.output_tokens, row.output_tokens);
    assert.equal(data.usage.input_tokens, row.input_tokens);
    assert.equal(response.headers.get("x-triage-usage-estimated"), "true");
  });

  test("OpenAI answer passed through (not streamed) without usage: the body gets the billed usage", async () => {
    oai.behave(noUsage);
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: "mid", messages: [{ role: "user", content: PROMPT }] }).withResponse();
    assert.equal(data.choices[0].message.content, PIECES.join(""));
    assert.equal(data.id, "chatcmpl-nousage");
    const row = t.rows().at(-1);
    assert.equal(row.usage_estimated, 1);
    assert.deepEqual(data.usage, { prompt_tokens: row.input_tokens, completion_tokens: row.output_tokens, total_tokens: row.input_tokens + row.output_tokens });
    assert.equal(response.headers.get("x-triage-usage-estimated"), "true");
  });

  test("a reported usage is passed on as the upstream wrote it and marked not estimated", async () => {
    oai.behave((req, res, body) => oai.reply(req, res, body, { usage: { prompt_tokens: 7, completion_tokens: 3 } }));
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    let usage, triage;
    for await (const c of await client.chat.completions.create({ model: "mid", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }))
      if (c.usage) ({ usage, triage } = c);
    assert.deepEqual(usage, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    assert.equal(triage.usage_estimated, false);
    const { response } = await client.chat.completions.create({ model: "mid", messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(response.headers.get("x-triage-usage-estimated"), "false");
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.output_tokens, row.usage_estimated], [7, 3, 0]);
  });
});

// Anthropic bills a 1-hour cache write at twice the input price, a 5-minute one at 1.25 times
// it (cache_creation_input_tokens is their sum; usage.cache_creation says how it splits).
// price.cache_write_1h prices the 1-hour part; price.cache_write the rest.
describe("money: Anthropic's 1-hour cache writes", () => {
  let ant, t;
  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const usage = {
    input_tokens: 10,
    cache_read_input_tokens: 1000,
    cache_creation_input_tokens: 300,
    cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
    output_tokens: 50,
  };
  before(async () => {
    const { startFakeAnthropic } = await import("./lib/fake_anthropic.mjs");
    ant = await startFakeAnthropic();
    t = await startTriage(
      config({
        tiers: [
          {
            name: "mid",
            deployments: [{ name: "sonnet", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6", more: "        price: {input: 3, output: 15, cached_input: 0.3, cache_write: 3.75, cache_write_1h: 6}\n" }],
          },
          {
            name: "frontier",
            deployments: [{ name: "opus", provider: "anthropic", url: ant.url, catalog: "claude-opus-4.7", more: "        price: {input: 5, output: 25, cached_input: 0.5, cache_write: 6.25, cache_write_1h: 10}\n" }],
          },
        ],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await ant.close();
  });

  // 10 x $3 + 1,000 read x $0.30 + 100 (5 min) x $3.75 + 200 (1 h) x $6 + 50 x $15
  // = 30 + 300 + 375 + 1,200 + 750 = 2,655 micro-dollars; the reference (opus at its configured
  // prices) 10 x $5 + 1,000 x $0.50 + 100 x $6.25 + 200 x $10 + 50 x $25
  // = 50 + 500 + 625 + 2,000 + 1,250 = 4,425.
  test("not streamed: the 1-hour part at cache_write_1h, for the cost and the reference", async () => {
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "msg_1h", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "hey" }], stop_reason: "end_turn", stop_sequence: null, usage }));
    };
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.messages.create({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.002655");
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.004425");
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.cached_input_tokens, row.cost_micros, row.reference_cost_micros], [1310, 1000, 2655, 4425]);
  });

  test("streamed and translated for an OpenAI client: message_start's split is kept through message_delta", async () => {
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        ev("message_start", { message: { id: "msg_1h", type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }) +
          ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
          ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "hey" } }) +
          ev("content_block_stop", { index: 0 }) +
          // The cumulative message_delta repeats the counts without the cache_creation object.
          ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300, output_tokens: 50 } }) +
          ev("message_stop", {}),
      );
    };
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    let triage;
    for await (const c of await client.chat.completions.create({ model: "mid", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }))
      if (c.usage) ({ triage } = c);
    assert.equal(triage.cost_usd, "0.002655");
    assert.equal(triage.reference_cost_usd, "0.004425");
    const row = t.rows().at(-1);
    assert.deepEqual([row.cost_micros, row.reference_cost_micros], [2655, 4425]);
  });

  test("an answer from the reference model: reference = cost, the 1-hour part at its price", async () => {
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "msg_1h", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "hey" }], stop_reason: "end_turn", stop_sequence: null, usage }));
    };
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.messages.create({ model: "frontier", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.004425");
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.004425");
  });
});
