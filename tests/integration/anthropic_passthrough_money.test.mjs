// An Anthropic client's stream from an Anthropic upstream passes through, but its usage is what
// the ledger bills: where the upstream's message_delta leaves the final counts out (no
// `output_tokens`: message_start's is a running count; no input counts anywhere), the row bills
// triage's estimate and the message_delta the client gets says those counts (the `triage` object
// and the x-triage-usage-estimated trailer say it is an estimate). A complete report passes
// through byte for byte.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, curl } from "./lib/harness.mjs";
import { startFakeAnthropic } from "./lib/fake_anthropic.mjs";

const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
// 40 characters of text: 10 output tokens by the documented estimate.
const TEXT = "0123456789abcdefghijABCDEFGHIJklmnopqrst";

function stream(model, startUsage, deltaUsage) {
  const delta = { delta: { stop_reason: "end_turn", stop_sequence: null } };
  if (deltaUsage) delta.usage = deltaUsage;
  return (
    ev("message_start", { message: { id: "msg_pt", type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage } }) +
    ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: TEXT } }) +
    ev("content_block_stop", { index: 0 }) +
    ev("message_delta", delta) +
    ev("message_stop", {})
  );
}

let ant, t;
before(async () => {
  ant = await startFakeAnthropic();
  t = await startTriage(
    config({
      tiers: [{ name: "mid", deployments: [{ name: "sonnet", provider: "anthropic", url: ant.url, catalog: "claude-sonnet-4.6" }] }],
      extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
    }),
  );
});
after(async () => {
  await t.cleanup();
  await ant.close();
});

async function ask() {
  const client = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
  const s = client.messages.stream({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: "x".repeat(400) }] });
  let delta, stop;
  s.on("streamEvent", (e) => {
    if (e.type === "message_delta") delta = e;
    if (e.type === "message_stop") stop = e;
  });
  const msg = await s.finalMessage();
  return { msg, delta, stop, row: t.rows().at(-1) };
}

test("a message_delta without output_tokens: the output is estimated from the text, and the client's message_delta says the billed counts", async () => {
  ant.handler = (req, res, body) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(stream(body.model, { input_tokens: 120, output_tokens: 1 }, { }));
  };
  const { msg, delta, stop, row } = await ask();
  assert.equal(msg.content[0].text, TEXT);
  // Not message_start's running count of 1: the estimate of the 40 characters.
  assert.deepEqual([row.input_tokens, row.output_tokens, row.usage_estimated], [120, 10, 1], JSON.stringify(row));
  assert.equal(delta.usage.output_tokens, 10);
  assert.equal(delta.usage.input_tokens, 120);
  assert.equal(msg.usage.output_tokens, 10);
  assert.equal(stop.triage.usage_estimated, true);
});

test("no input count anywhere: the input is estimated from the prompt, and the client's message_delta says it", async () => {
  ant.handler = (req, res, body) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(stream(body.model, { output_tokens: 1 }, { output_tokens: 12 }));
  };
  const { msg, delta, stop, row } = await ask();
  assert.equal(row.usage_estimated, 1);
  assert.equal(row.output_tokens, 12);
  assert.ok(row.input_tokens >= 100, JSON.stringify(row));
  assert.equal(delta.usage.input_tokens, row.input_tokens);
  assert.equal(delta.usage.output_tokens, 12);
  assert.equal(msg.usage.input_tokens, row.input_tokens);
  assert.equal(stop.triage.usage_estimated, true);
});

test("a complete report passes through as the upstream wrote it", async () => {
  ant.handler = (req, res, body) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(stream(body.model, { input_tokens: 120, output_tokens: 1 }, { output_tokens: 33, some_future_field: 7 }));
  };
  const r = await curl(["-N", "--raw", `${t.url}/v1/messages`, "-H", "content-type: application/json", "-H", "anthropic-version: 2023-06-01", "-d", JSON.stringify({ model: "mid", max_tokens: 64, stream: true, messages: [{ role: "user", content: "hi" }] })]);
  assert.match(r.body, /data: \{"type":"message_delta","delta":\{"stop_reason":"end_turn","stop_sequence":null\},"usage":\{"output_tokens":33,"some_future_field":7\}\}\n/);
  const row = t.rows().at(-1);
  assert.deepEqual([row.input_tokens, row.output_tokens, row.usage_estimated], [120, 33, 0]);
  assert.match(r.body, /\r\nx-triage-usage-estimated: false\r\n/);
});

// Anthropic's web search server tool: usage.server_tool_use.web_search_requests, billed per
// 1,000 searches on top of the tokens when the deployment's price says web_search_per_1k.
test("web searches: counted from the body and from message_delta, billed at price.web_search_per_1k, in the row and the reference", async () => {
  const ant2 = await startFakeAnthropic();
  // sonnet $3 / $15 per Mtok and $10 per 1,000 searches; the reference (opus) $5 / $25 and $10.
  const t2 = await startTriage(
    config({
      tiers: [
        { name: "mid", deployments: [{ name: "sonnet", provider: "anthropic", url: ant2.url, catalog: "claude-sonnet-4.6", more: "        price: {input: 3, output: 15, web_search_per_1k: 10}\n" }] },
        { name: "frontier", deployments: [{ name: "opus", provider: "anthropic", url: ant2.url, catalog: "claude-opus-4.7", more: "        price: {input: 5, output: 25, web_search_per_1k: 10}\n" }] },
        { name: "plain", deployments: [{ name: "unpriced-search", provider: "anthropic", url: ant2.url, catalog: "claude-sonnet-4.6" }] },
      ],
      extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
    }),
  );
  const usage = { input_tokens: 100, output_tokens: 50, server_tool_use: { web_search_requests: 3 } };
  ant2.handler = (req, res, body) => {
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ id: "msg_ws", type: "message", role: "assistant", model: body.model, content: [{ type: "text", text: "found it" }], stop_reason: "end_turn", stop_sequence: null, usage }));
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    // message_start says no search yet; message_delta's cumulative count says 3.
    res.end(
      ev("message_start", { message: { id: "msg_ws", type: "message", role: "assistant", model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1, server_tool_use: { web_search_requests: 0 } } } }) +
        ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
        ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "found it" } }) +
        ev("content_block_stop", { index: 0 }) +
        ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage }) +
        ev("message_stop", {}),
    );
  };
  try {
    const client = new Anthropic({ baseURL: t2.url, apiKey: "unused", maxRetries: 0 });
    // 100 x 3 + 50 x 15 = 1,050 in tokens, + 3 searches x 10,000 = 31,050; the reference
    // 100 x 5 + 50 x 25 = 1,750, + 30,000 = 31,750.
    const { data, response } = await client.messages.create({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: "search" }] }).withResponse();
    assert.equal(data.usage.server_tool_use.web_search_requests, 3);
    assert.equal(response.headers.get("x-triage-cost-usd"), "0.031050");
    assert.equal(response.headers.get("x-triage-reference-cost-usd"), "0.031750");
    let row = t2.rows().at(-1);
    assert.deepEqual([row.web_search_requests, row.cost_micros, row.reference_cost_micros], [3, 31050, 31750]);

    const s = client.messages.stream({ model: "mid", max_tokens: 64, messages: [{ role: "user", content: "search" }] });
    let stop;
    s.on("streamEvent", (e) => {
      if (e.type === "message_stop") stop = e;
    });
    const msg = await s.finalMessage();
    assert.equal(msg.usage.server_tool_use.web_search_requests, 3);
    row = t2.rows().at(-1);
    assert.deepEqual([row.stream, row.web_search_requests, row.cost_micros, row.reference_cost_micros], [1, 3, 31050, 31750]);
    assert.equal(stop.triage.cost_usd, "0.031050");

    // A deployment without web_search_per_1k: the searches are recorded, not billed (the
    // reference, whose price has it, still counts them).
    await client.messages.create({ model: "plain", max_tokens: 64, messages: [{ role: "user", content: "search" }] });
    row = t2.rows().at(-1);
    assert.deepEqual([row.web_search_requests, row.cost_micros, row.reference_cost_micros], [3, 1050, 31750]);
  } finally {
    await t2.cleanup();
    await ant2.close();
  }
});
