// Money: the figures of the ledger, the cost headers and trailers, checked by hand against the
// catalog's prices (claude-sonnet-4.6: $3 / $15 per Mtok; reference claude-opus-4.7: $5 / $25;
// gemma-4-31b: $0.20 / $0.20).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, curl, sleep } from "./lib/harness.mjs";
import { startFakeAnthropic, message } from "./lib/fake_anthropic.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";

const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

// The first events of a real Anthropic stream: message_start says `output_tokens: 1` (a
// placeholder; the real count comes in message_delta at the end), then `pieces` text deltas of
// ten characters each.
function anthropicHead(model, pieces, inputTokens = 100) {
  let out = ev("message_start", { message: message({ model, content: [], stop_reason: null, usage: { input_tokens: inputTokens, output_tokens: 1 } }) });
  out += ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
  for (let i = 0; i < pieces; i++) out += ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "0123456789" } });
  return out;
}

// Waits until the ledger holds `n` rows (the row of a request the client left is written
// after the client is gone).
async function rowsAtLeast(t, n) {
  for (let i = 0; i < 200; i++) {
    const rows = t.rows();
    if (rows.length >= n) return rows;
    await sleep(25);
  }
  return t.rows();
}

describe("money: streams cut before their end", () => {
  let ant, t;
  before(async () => {
    ant = await startFakeAnthropic();
    t = await startTriage(
      config({
        tiers: [{ name: "mid", deployments: [{ name: "claude", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6" }] }],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await ant.close();
  });

  test("an Anthropic stream cut mid-way bills the text it generated, not message_start's output_tokens: 1", async () => {
    // 40 x 10 characters = 400 characters -> 100 output tokens by the documented estimate.
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(anthropicHead(body.model, 40));
      setTimeout(() => req.socket.destroy(), 50);
    };
    // Same dialect, through the official SDK: the cut surfaces as an error event.
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    let text = "";
    await assert.rejects(async () => {
      const stream = await anthropic.messages.create({ model: "mid", max_tokens: 500, stream: true, messages: [{ role: "user", content: "hi" }] });
      for await (const e of stream) if (e.type === "content_block_delta") text += e.delta.text;
    });
    assert.equal(text.length, 400);
    // Translated, with curl: the cost trailer says what the ledger says.
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "mid", stream: true, messages: [{ role: "user", content: "hi" }] })]);
    assert.match(r.body, /"type":"api_error"/);
    // 100 x $3 + 100 x $15 per Mtok = 1,800 micro-dollars; reference 100 x $5 + 100 x $25 = 3,000.
    assert.match(r.body, /x-triage-cost-usd: 0\.001800/);
    assert.match(r.body, /x-triage-reference-cost-usd: 0\.003000/);
    const rows = t.rows().slice(-2);
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.equal(row.error_kind, "upstream_error");
      assert.deepEqual([row.input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros], [100, 100, 1800, 3000]);
    }
  });

  test("a client that leaves an Anthropic stream is billed for the text generated so far", async () => {
    // 400 characters, then the upstream waits: the client reads them all and leaves.
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(anthropicHead(body.model, 40));
    };
    const before = t.rows().length;
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "mid", stream: true, messages: [{ role: "user", content: "hi" }] });
    let text = "";
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content || "";
      if (text.length >= 400) break; // leaves: the SDK aborts the request
    }
    const row = (await rowsAtLeast(t, before + 1)).at(-1);
    assert.equal(row.error_kind, "client_closed");
    assert.deepEqual([row.input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros], [100, 100, 1800, 3000]);
  });

  test("a cut stream translated for an OpenAI client counts the thinking it generated too", async () => {
    // 40 x 10 characters of thinking (no OpenAI equivalent: not sent, but generated and
    // billed) + 40 characters of text = 440 characters -> 110 output tokens.
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let out = ev("message_start", { message: message({ model: body.model, content: [], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } }) });
      out += ev("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } });
      for (let i = 0; i < 40; i++) out += ev("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "abcdefghij" } });
      out += ev("content_block_stop", { index: 0 });
      out += ev("content_block_start", { index: 1, content_block: { type: "text", text: "" } });
      for (let i = 0; i < 4; i++) out += ev("content_block_delta", { index: 1, delta: { type: "text_delta", text: "0123456789" } });
      res.write(out);
      setTimeout(() => req.socket.destroy(), 50);
    };
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "mid", stream: true, messages: [{ role: "user", content: "hi" }] })]);
    assert.ok(!r.body.includes("abcdefghij"));
    // 100 x $3 + 110 x $15 per Mtok = 1,950 micro-dollars; reference 100 x $5 + 110 x $25 = 3,250.
    assert.match(r.body, /x-triage-cost-usd: 0\.001950/);
    const row = t.rows().at(-1);
    assert.deepEqual([row.error_kind, row.output_tokens, row.cost_micros, row.reference_cost_micros], ["upstream_error", 110, 1950, 3250]);
  });

  test("a complete stream is billed at the upstream's own count, not the estimate", async () => {
    // 400 characters but message_delta says 37 output tokens: the upstream's count wins.
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        anthropicHead(body.model, 40) +
          ev("content_block_stop", { index: 0 }) +
          ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 37 } }) +
          ev("message_stop", {}),
      );
    };
    const r = await curl([`${t.url}/v1/messages`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "mid", max_tokens: 500, stream: true, messages: [{ role: "user", content: "hi" }] })]);
    // 100 x 3 + 37 x 15 = 855 micro-dollars; reference 100 x 5 + 37 x 25 = 1,425.
    assert.match(r.body, /x-triage-cost-usd: 0\.000855/);
    assert.match(r.body, /x-triage-reference-cost-usd: 0\.001425/);
    const row = t.rows().at(-1);
    assert.deepEqual([row.error_kind, row.output_tokens, row.cost_micros, row.reference_cost_micros], ["", 37, 855, 1425]);
    assert.equal(row.usage_estimated, 0, "reported, not estimated");
  });
});

describe("money: usage as upstreams report it", () => {
  let ant, oai, t;
  before(async () => {
    ant = await startFakeAnthropic();
    oai = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "local", url: oai.url, catalog: "gemma-4-31b" }] },
          { name: "mid", deployments: [{ name: "claude", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6" }] },
          {
            name: "frontier",
            deployments: [{ name: "claude-cache-priced", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6", more: "        price: {input: 3, output: 15, cached_input: 0.3, cache_write: 3.75}\n" }],
          },
        ],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await ant.close();
    await oai.close();
  });

  test("a message_delta repeating input_tokens without the cache fields keeps message_start's cache counts", async () => {
    // The API's message_delta usage is cumulative and each input field is optional.
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        ev("message_start", { message: message({ model: body.model, content: [], stop_reason: null, usage: { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 1 } }) }) +
          ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
          ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "hey" } }) +
          ev("content_block_stop", { index: 0 }) +
          ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { input_tokens: 10, output_tokens: 50 } }) +
          ev("message_stop", {}),
      );
    };
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    let usage, triage;
    for await (const c of await client.chat.completions.create({ model: "mid", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }))
      if (c.usage) ({ usage, triage } = c);
    assert.equal(usage.prompt_tokens, 1210); // 10 uncached + 1000 read + 200 written
    assert.equal(usage.prompt_tokens_details.cached_tokens, 1000);
    // No cached price for claude-sonnet-4.6: 1,210 x $3 + 50 x $15 = 4,380 micro-dollars;
    // reference 1,210 x $5 + 50 x $25 = 7,300.
    assert.equal(triage.cost_usd, "0.004380");
    assert.equal(triage.reference_cost_usd, "0.007300");
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.cached_input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros], [1210, 1000, 50, 4380, 7300]);
  });

  test("cache reads and cache writes are priced at price.cached_input and price.cache_write", async () => {
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(message({ model: body.model, content: [{ type: "text", text: "hey" }], usage: { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 50 } })));
    };
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.messages.create({ model: "claude-cache-priced", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).withResponse();
    // 10 x $3 + 1,000 read x $0.30 + 200 written x $3.75 + 50 x $15 = 30 + 300 + 750 + 750;
    // the reference (claude-opus-4.7, no cache prices) 1,210 x $5 + 50 x $25 = 7,300.
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.001830");
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.007300");
    const row = t.rows().at(-1);
    assert.deepEqual([row.deployment, row.input_tokens, row.cached_input_tokens, row.cost_micros, row.reference_cost_micros], ["claude-cache-priced", 1210, 1000, 1830, 7300]);
  });

  test("an n=2 answer without usage is estimated from both choices", async () => {
    oai.behave((req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      const choice = (index, content) => ({ index, message: { role: "assistant", content }, finish_reason: "stop" });
      // 40 + 40 characters -> 20 output tokens; "hi" -> 1 input token.
      res.end(JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: body.model, choices: [choice(0, "a".repeat(40)), choice(1, "b".repeat(40))] }));
    });
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", n: 2, messages: [{ role: "user", content: "hi" }] })]);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).choices.length, 2);
    // 21 tokens x $0.20 per Mtok = 4.2 -> 4 micro-dollars; reference 1 x $5 + 20 x $25 = 505.
    assert.equal(r.headers["x-triage-cost-usd"], "0.000004");
    assert.equal(r.headers["x-triage-reference-cost-usd"], "0.000505");
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros], [1, 20, 4, 505]);
    assert.equal(row.usage_estimated, 1, "no usage came back: the row says its tokens are estimated");
  });
});

describe("money: a client that leaves before the answer", () => {
  let oai, t;
  before(async () => {
    oai = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [{ name: "open", deployments: [{ name: "local", url: oai.url, catalog: "gemma-4-31b" }] }],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await oai.close();
  });

  test("is billed the estimated prompt the same way for an answer and a stream", async () => {
    // The upstream takes the prompt and answers only after the client has gone.
    let release;
    oai.behave(async (req, res, body) => {
      await new Promise((r) => (release = r));
      if (!res.destroyed) oai.reply(req, res, body, {});
    });
    for (const stream of [false, true]) {
      const before = t.rows().length;
      const seen = oai.requests.length;
      const ac = new AbortController();
      const done = fetch(`${t.url}/v1/chat/completions`, {
        method: "POST",
        signal: ac.signal,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "open", stream, messages: [{ role: "user", content: "x".repeat(4000) }] }),
      }).then((r) => r.text(), () => "aborted");
      while (oai.requests.length === seen) await sleep(10);
      ac.abort();
      await done;
      const row = (await rowsAtLeast(t, before + 1)).at(-1);
      release();
      // 4,000 characters -> 1,000 tokens x $0.20 per Mtok = 200 micro-dollars; reference x $5 = 5,000.
      assert.deepEqual([row.stream, row.status, row.error_kind], [stream ? 1 : 0, 499, "client_closed"]);
      assert.deepEqual([row.input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros], [1000, 0, 200, 5000]);
      assert.equal(row.usage_estimated, 1, "the row says its tokens are an estimate");
    }
  });
});
