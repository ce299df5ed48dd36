// Money review: token counts an upstream should never send (negative, beyond int64, absurdly
// large, strings), a reported usage that says nothing, and the counterfactual of an answer from
// the reference model itself when the operator prices it. Figures checked by hand against the
// catalog (gemma-4-31b: $0.20 / $0.20 per Mtok; reference claude-opus-4.7: $5 / $25).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, curl } from "./lib/harness.mjs";
import { startFakeAnthropic, message } from "./lib/fake_anthropic.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";

const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

// A non-streamed OpenAI answer whose `usage` is written as raw JSON text (so that numbers
// beyond 2^53 reach the gateway exactly as written).
function openaiBody(model, text, usageJson) {
  const head = JSON.stringify({ id: "chatcmpl-x", object: "chat.completion", created: 1, model, choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }] });
  return head.slice(0, -1) + `,"usage":${usageJson}}`;
}

function metric(text, name, labels) {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? line.split(" ")[1] : undefined;
}

describe("money: token counts no upstream should report", () => {
  let ant, oai, t;
  before(async () => {
    ant = await startFakeAnthropic();
    oai = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "local", url: oai.url, catalog: "gemma-4-31b" }] },
          { name: "mid", deployments: [{ name: "claude", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6" }] },
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

  // The prompt "hi" -> ceil(2 / 4) = 1 input token; the answer's 40 characters -> 10 output
  // tokens: 11 x $0.20 per Mtok = 2.2 -> 2 micro-dollars; reference 1 x $5 + 10 x $25 = 255.
  const text = "a".repeat(40);
  const cases = [
    ["2^63-1 for both counts", `{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807,"total_tokens":0}`],
    ["2^64-1 (beyond int64) for both counts", `{"prompt_tokens":18446744073709551615,"completion_tokens":18446744073709551615}`],
    ["negative counts", `{"prompt_tokens":-1000000,"completion_tokens":-5000}`],
    ["2^40 tokens, more than any context holds", `{"prompt_tokens":1099511627776,"completion_tokens":1099511627776}`],
    ["counts as strings", `{"prompt_tokens":"100","completion_tokens":"50"}`],
    ["an all-zero usage", `{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}`],
  ];
  for (const [name, usage] of cases) {
    test(`OpenAI-compatible answer with ${name}: estimated, flagged, never negative or overflowing`, async () => {
      oai.behave((req, res, body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(openaiBody(body.model, text, usage));
      });
      const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages: [{ role: "user", content: "hi" }] })]);
      assert.equal(r.status, 200);
      const row = t.rows().at(-1);
      assert.deepEqual(
        [row.input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros, row.usage_estimated],
        [1, 10, 2, 255, 1],
      );
      assert.equal(r.headers["x-triage-cost-usd"], "0.000002");
      assert.equal(r.headers["x-triage-reference-cost-usd"], "0.000255");
    });
  }

  test("Anthropic input_tokens of 2^63-1 plus cache reads do not wrap to a negative count", async () => {
    ant.handler = (req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      const head = JSON.stringify(message({ model: body.model, content: [{ type: "text", text }], usage: {} }));
      res.end(head.replace(`"usage":{}`, `"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":1000,"cache_creation_input_tokens":0,"output_tokens":20}`));
    };
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.messages.create({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).withResponse();
    // The absurd uncached count is dropped (not reported), so the input is the 1,000 cache reads
    // the upstream reported: 1,000 x $3 + 20 x $15 = 3,300 micro-dollars; reference
    // 1,000 x $5 + 20 x $25 = 5,500.
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.cached_input_tokens, row.output_tokens, row.cost_micros, row.reference_cost_micros], [1000, 1000, 20, 3300, 5500]);
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.003300");
  });

  test("cached_tokens above prompt_tokens: the row's cached count is capped at its input", async () => {
    oai.behave((req, res, body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(openaiBody(body.model, text, `{"prompt_tokens":1000,"completion_tokens":10,"prompt_tokens_details":{"cached_tokens":5000}}`));
    });
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages: [{ role: "user", content: "hi" }] })]);
    assert.equal(r.status, 200);
    // 1,010 x $0.20 per Mtok = 202 micro-dollars (gemma-4-31b has no cached price). Before: the
    // cost was right but the row said 5,000 cached of 1,000 input tokens.
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.cached_input_tokens, row.output_tokens, row.cost_micros], [1000, 1000, 10, 202]);
  });

  test("a stream's usage chunk with negative counts is estimated, not subtracted", async () => {
    oai.behave((req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const c = (delta, finish = null) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.end(c({ role: "assistant", content: "" }) + c({ content: text }) + c({}, "stop") + `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":-7,"completion_tokens":-9}}\n\n` + "data: [DONE]\n\n");
    });
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    let triage;
    for await (const ch of await client.chat.completions.create({ model: "open", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }] }))
      if (ch.triage) triage = ch.triage;
    const row = t.rows().at(-1);
    assert.deepEqual([row.input_tokens, row.output_tokens, row.cost_micros, row.usage_estimated], [1, 10, 2, 1]);
    assert.equal(triage.cost_usd, "0.000002");
  });

  test("after all of the above, /metrics equals the ledger summed and no counter went below zero", async () => {
    const rows = t.rows();
    const m = (await curl([`${t.url}/metrics`])).body;
    for (const tier of ["open", "mid"]) {
      const mine = rows.filter((r) => r.tier === tier);
      const sum = (k) => mine.reduce((a, r) => a + r[k], 0);
      assert.equal(Math.round(Number(metric(m, "triage_cost_usd_total", `tier="${tier}"`)) * 1e6), sum("cost_micros"), tier);
      assert.equal(Math.round(Number(metric(m, "triage_reference_cost_usd_total", `tier="${tier}"`)) * 1e6), sum("reference_cost_micros"), tier);
      assert.equal(Number(metric(m, "triage_tokens_total", `tier="${tier}",direction="input"`)), sum("input_tokens"), tier);
      assert.equal(Number(metric(m, "triage_tokens_total", `tier="${tier}",direction="output"`)), sum("output_tokens"), tier);
    }
    for (const r of rows) for (const k of ["input_tokens", "output_tokens", "cached_input_tokens", "cost_micros", "reference_cost_micros"]) assert.ok(r[k] >= 0 && r[k] < 2 ** 40, `${k} ${r[k]}`);
  });
});

describe("money: the counterfactual of an answer from the reference model", () => {
  let ant, t;
  before(async () => {
    ant = await startFakeAnthropic();
    t = await startTriage(
      config({
        tiers: [
          { name: "mid", deployments: [{ name: "sonnet", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6" }] },
          {
            name: "frontier",
            // Anthropic's list prices for Opus, with its prompt-cache prices, as docs/config.md
            // recommends writing them.
            deployments: [{ name: "opus", provider: "anthropic", url: ant.url, catalog: "claude-opus-4.7", more: "        price: {input: 5, output: 25, cached_input: 0.5, cache_write: 6.25}\n" }],
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

  const answer = (usage) => (req, res, body) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(message({ model: body.model, content: [{ type: "text", text: "hey" }], usage })));
  };

  test("cache reads answered by the reference model: reference = cost, savings 0", async () => {
    ant.handler = answer({ input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 0, output_tokens: 50 });
    const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.messages.create({ model: "frontier", max_tokens: 64, messages: [{ role: "user", content: "hi" }] }).withResponse();
    // 10 x $5 + 1,000 x $0.50 + 50 x $25 = 50 + 500 + 1,250 = 1,800 micro-dollars. Before: the
    // reference priced the 1,000 cached tokens at the catalog's $5 (6,300) and showed a saving
    // of 4,500 on a request that went all-frontier.
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.001800");
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.001800");
    const row = t.rows().at(-1);
    assert.deepEqual([row.tier, row.cost_micros, row.reference_cost_micros], ["frontier", 1800, 1800]);
  });

  test("cache writes answered by the reference model: no negative savings", async () => {
    ant.handler = answer({ input_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 2000, output_tokens: 4 });
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "hi" }] }).withResponse();
    // 10 x $5 + 2,000 x $6.25 + 4 x $25 = 50 + 12,500 + 100 = 12,650 micro-dollars. Before:
    // reference 2,010 x $5 + 4 x $25 = 10,150, 2,500 below what was spent.
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.012650");
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.012650");
  });

  test("a cheaper tier's cache reads are compared with the reference model at the configured prices", async () => {
    ant.handler = answer({ input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 0, output_tokens: 50 });
    const r = await curl([`${t.url}/v1/messages`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: "hi" }] })]);
    assert.equal(r.status, 200);
    // sonnet (catalog, no cache price): 1,010 x $3 + 50 x $15 = 3,780. All-frontier would have
    // been billed by the opus deployment as configured: 10 x $5 + 1,000 x $0.50 + 50 x $25 =
    // 1,800 (before: the catalog's 1,010 x $5 + 50 x $25 = 6,300, a saving that was not there).
    assert.equal(r.headers["x-triage-cost-usd"], "0.003780");
    assert.equal(r.headers["x-triage-reference-cost-usd"], "0.001800");
  });
});

// A mixed load through both SDKs and raw HTTP (for stream trailers): streamed and not, both
// dialects, every tier, an open tier whose first deployment fails in the ways that are billed
// (a stream that reported usage then broke) and not (a 500), cache reads and writes. Then each
// answer's cost header / trailer / stream object equals its row, and the ledger summed per tier
// equals /metrics to the micro-dollar.
describe("money: a mixed load adds up", () => {
  let ant, flaky, good, t;
  let n = 0;
  before(async () => {
    ant = await startFakeAnthropic();
    flaky = await startFakeOpenAI();
    good = await startFakeOpenAI();
    const usageFor = (i) => ({ prompt_tokens: 100 + (i % 37), completion_tokens: 1 + (i % 11), prompt_tokens_details: { cached_tokens: i % 3 ? 0 : 64 } });
    good.behave((req, res, body) => good.reply(req, res, body, { usage: usageFor(n++) }));
    flaky.behave((req, res, body) => {
      const i = n++;
      if (i % 3 === 0) {
        res.writeHead(500, { "content-type": "application/json" });
        return res.end(JSON.stringify({ error: { message: "boom", type: "server_error" } }));
      }
      if (i % 3 === 1 && body.stream) {
        // Usage reported, then the stream breaks before content: billed, then falls back.
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: body.model, choices: [], usage: { prompt_tokens: 333, completion_tokens: 0 } })}\n\n`);
        return setTimeout(() => req.socket.destroy(), 5);
      }
      return flaky.reply(req, res, body, { usage: usageFor(i) });
    });
    ant.handler = (req, res, body) => {
      const i = n++;
      const usage = { input_tokens: 10 + (i % 13), cache_read_input_tokens: i % 2 ? 500 : 0, cache_creation_input_tokens: i % 5 ? 0 : 77, output_tokens: 3 + (i % 7) };
      const content = [{ type: "text", text: "Hello from the Anthropic fake." }];
      if (!body.stream) {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(message({ model: body.model, content, usage })));
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(
        ev("message_start", { message: message({ model: body.model, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } }) }) +
          ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
          ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: content[0].text } }) +
          ev("content_block_stop", { index: 0 }) +
          ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }) +
          ev("message_stop", {}),
      );
    };
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "flaky", url: flaky.url, catalog: "gemma-4-31b", more: "        weight: 1000\n" }, { name: "good", url: good.url, catalog: "gemma-4-26b-a4b", more: "        price: {input: 0.13, output: 0.37, cached_input: 0.01}\n" }] },
          { name: "mid", deployments: [{ name: "sonnet", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6", more: "        price: {input: 3, output: 15, cached_input: 0.3, cache_write: 3.75}\n" }] },
          { name: "frontier", deployments: [{ name: "opus", provider: "anthropic", url: ant.url, catalog: "claude-opus-4.7", more: "        price: {input: 5, output: 25, cached_input: 0.5, cache_write: 6.25}\n" }] },
        ],
        extra: "routing: {default_tier: open}\nretry: {max_attempts: 2, budget_ratio: 10, budget_min: 1000}\nbreaker: {consecutive_failures: 1000000, error_rate: 1, min_requests: 1000000}\n",
      }),
    );
  });
  after(async () => {
    await t.cleanup();
    await ant.close();
    await flaky.close();
    await good.close();
  });

  // A stream through raw HTTP: its cost trailers, and the SSE comment.
  function rawStream(pathname, body) {
    return new Promise((resolve, reject) => {
      const u = new URL(t.url);
      const req = http.request({ host: u.hostname, port: u.port, path: pathname, method: "POST", headers: { "content-type": "application/json", "x-api-key": "unused", "anthropic-version": "2023-06-01" } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ id: res.headers["x-request-id"], cost: res.trailers["x-triage-cost-usd"], ref: res.trailers["x-triage-reference-cost-usd"], text }));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  }

  test("300 requests: headers, trailers and stream objects equal their rows; the ledger equals /metrics per tier", async () => {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const models = ["open", "mid", "frontier", "auto"];
    const seen = []; // [request id, cost, reference cost] as the client was told
    const one = async (i) => {
      const model = models[i % 4];
      const messages = [{ role: "user", content: `question ${i} ${"x".repeat(i % 50)}` }];
      switch (Math.floor(i / 4) % 5) {
        case 0: {
          const { data, response } = await openai.chat.completions.create({ model, messages }).withResponse();
          assert.ok(data.choices.length);
          seen.push([response.headers.get("x-request-id"), response.headers.get("x-triage-cost-usd"), response.headers.get("x-triage-reference-cost-usd")]);
          break;
        }
        case 1: {
          const { response } = await anthropic.messages.create({ model, max_tokens: 64, messages }).withResponse();
          seen.push([response.headers.get("x-request-id"), response.headers.get("x-triage-cost-usd"), response.headers.get("x-triage-reference-cost-usd")]);
          break;
        }
        case 2: {
          const { data: stream, response } = await openai.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } }).withResponse();
          let triage;
          for await (const c of stream) if (c.triage) triage = c.triage;
          assert.ok(triage, "the usage chunk carries the triage object");
          assert.equal(triage.request_id, response.headers.get("x-request-id"));
          seen.push([triage.request_id, triage.cost_usd, triage.reference_cost_usd]);
          break;
        }
        case 3: {
          const r = await rawStream("/v1/chat/completions", { model, messages, stream: true });
          const m = r.text.match(/: triage cost_usd=(\S+) reference_cost_usd=(\S+)/);
          assert.ok(m, r.text.slice(-300));
          assert.deepEqual([m[1], m[2]], [r.cost, r.ref], "the comment says what the trailers say");
          seen.push([r.id, r.cost, r.ref]);
          break;
        }
        default: {
          const r = await rawStream("/v1/messages", { model, max_tokens: 64, messages, stream: true });
          seen.push([r.id, r.cost, r.ref]);
        }
      }
    };
    for (let i = 0; i < 300; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => one(i + k)));
    const rows = t.rows();
    assert.equal(rows.length, 300);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const usd = (micros) => (micros / 1e6).toFixed(6);
    for (const [id, cost, ref] of seen) {
      const row = byId.get(id);
      assert.ok(row, id);
      assert.deepEqual([cost, ref], [usd(row.cost_micros), usd(row.reference_cost_micros)], id);
      assert.equal(row.status, 200, id);
      assert.ok(row.reference_cost_micros >= 0 && row.cost_micros >= 0);
      if (row.deployment === "opus") assert.equal(row.reference_cost_micros, row.cost_micros - row.failed_cost_micros, "saved 0 on the reference model");
    }
    assert.ok(rows.some((r) => r.failed_cost_micros > 0), "some attempts failed after reporting usage");
    assert.ok(rows.some((r) => r.attempts > 1 && r.failed_cost_micros === 0), "some fell back from a 500, which adds nothing");
    const m = (await curl([`${t.url}/metrics`])).body;
    for (const tier of ["open", "mid", "frontier", "none"]) {
      const mine = rows.filter((r) => (r.tier || "none") === tier);
      const sum = (k) => mine.reduce((a, r) => a + r[k], 0);
      assert.equal(metric(m, "triage_cost_usd_total", `tier="${tier}"`), usd(sum("cost_micros")), tier);
      assert.equal(metric(m, "triage_reference_cost_usd_total", `tier="${tier}"`), usd(sum("reference_cost_micros")), tier);
      assert.equal(Number(metric(m, "triage_tokens_total", `tier="${tier}",direction="input"`)), sum("input_tokens"), tier);
      assert.equal(Number(metric(m, "triage_tokens_total", `tier="${tier}",direction="output"`)), sum("output_tokens"), tier);
      assert.equal(Number(metric(m, "triage_requests_total", `tier="${tier}"`)), mine.length, tier);
    }
  });
});
