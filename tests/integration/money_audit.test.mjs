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
