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
