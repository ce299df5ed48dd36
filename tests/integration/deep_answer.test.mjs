// Regression: an upstream answer nested ~200,000 levels deep (a tool_use `input`, ~400 KB, well
// under limits.max_response_bytes) crashed the gateway while it turned the answer into the
// client's dialect. It is now a malformed answer (upstream_bad_response): the attempt fails, the
// plan moves on to the next deployment, the row is written and the gateway stays up.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config } from "./lib/harness.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";
import { startFakeAnthropic, message } from "./lib/fake_anthropic.mjs";

const DEPTH = 200000;
const deepInput = () => `{"a":${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}}`;
const REASON = "upstream sent a malformed answer: JSON nested deeper than 512 levels";

// An Anthropic answer (JSON or the SSE sequence) with one tool_use block whose input is DEPTH
// arrays deep. Built as text: JSON.stringify itself would overflow on such a value.
function deepBody(model, usage) {
  const m = message({ model, content: [], stop_reason: "tool_use" });
  if (!usage) delete m.usage;
  const head = JSON.stringify(m);
  const block = `{"type":"tool_use","id":"toolu_1","name":"lookup","input":${deepInput()}}`;
  return head.replace(`"content":[]`, `"content":[${block}]`);
}
function deepEvents(model) {
  const ev = (type, data) => `event: ${type}\ndata: ${data}\n\n`;
  return (
    ev("message_start", JSON.stringify({ type: "message_start", message: message({ model, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } }) })) +
    ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"lookup","input":${deepInput()}}}`) +
    ev("content_block_stop", `{"type":"content_block_stop","index":0}`) +
    ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":5}}`) +
    ev("message_stop", `{"type":"message_stop"}`)
  );
}

describe("an upstream answer nested 200,000 levels deep", () => {
  let deep, healthy, t, openai, anthropic;
  before(async () => {
    deep = await startFakeAnthropic();
    deep.usage = true;
    deep.handler = (req, res, body) => {
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(deepEvents(body.model));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(deepBody(body.model, deep.usage));
      }
    };
    healthy = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "flaky", deployments: [{ name: "deep", provider: "anthropic", url: deep.url, catalog: "gemma-4-31b" }] },
          { name: "good", deployments: [{ name: "healthy", url: healthy.url, catalog: "claude-sonnet-4.6" }] },
        ],
        extra: "routing: {fallback: up}\nbreaker: {consecutive_failures: 100000, min_requests: 100000}\n",
      }),
    );
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0, timeout: 15000 });
    anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0, timeout: 15000 });
  });
  after(async () => {
    await t.cleanup();
    await deep.close();
    await healthy.close();
  });

  const alive = () => assert.equal(t.proc.exitCode ?? t.proc.signalCode, null, `triage died:\n${t.stderr().slice(-2000)}`);

  for (const stream of [false, true]) {
    test(`${stream ? "streamed" : "unary"}: the OpenAI client gets the next deployment's answer`, async () => {
      const before = t.rows().length;
      const req = { model: "flaky", messages: [{ role: "user", content: "deep" }] };
      let answer = "";
      if (stream) {
        const s = await openai.chat.completions.create({ ...req, stream: true });
        for await (const c of s) answer += c.choices[0]?.delta?.content || "";
      } else {
        answer = (await openai.chat.completions.create(req)).choices[0].message.content;
      }
      assert.equal(answer, "Hello from the fake.");
      alive();
      const rows = t.rows();
      assert.equal(rows.length, before + 1);
      const row = rows.at(-1);
      assert.equal(row.deployment, "healthy");
      assert.equal(row.attempts, 2);
      assert.equal(row.status, 200);
      // The failed attempt began to answer: billed (usage reported or estimated) into the row.
      assert.ok(row.failed_input_tokens > 0, JSON.stringify(row));
      // The attempt's failure is logged with the deployment and the reason, never the body.
      assert.ok(t.stderr().includes(`deployment deep: ${REASON}`), t.stderr().slice(-2000));
      assert.ok(!t.stderr().includes("[[[[[[[["));
      // A second request is served too.
      const again = await openai.chat.completions.create({ model: "healthy", messages: [{ role: "user", content: "again" }] });
      assert.equal(again.choices[0].message.content, "Hello from the fake.");
      alive();
    });
  }

  test("without a fallback: a clear 502 naming the deployment and the reason", async () => {
    const before = t.rows().length;
    await assert.rejects(openai.chat.completions.create({ model: "deep", messages: [{ role: "user", content: "deep" }] }), (e) => {
      assert.equal(e.status, 502);
      assert.equal(e.code, "upstream_bad_response");
      assert.equal(e.message, `502 deployment deep: ${REASON}`);
      return true;
    });
    const row = t.rows().at(-1);
    assert.equal(t.rows().length, before + 1);
    assert.equal(row.deployment, "deep");
    assert.equal(row.status, 502);
    assert.equal(row.error_kind, "upstream_error");
    alive();
  });

  test("passed through to an Anthropic client (no usage reported): the next deployment answers", async () => {
    deep.usage = false;
    try {
      const before = t.rows().length;
      const r = await anthropic.messages.create({ model: "flaky", max_tokens: 50, messages: [{ role: "user", content: "deep" }] });
      assert.equal(r.content[0].text, "Hello from the fake.");
      const row = t.rows().at(-1);
      assert.equal(t.rows().length, before + 1);
      assert.equal(row.deployment, "healthy");
      assert.equal(row.attempts, 2);
      alive();
    } finally {
      deep.usage = true;
    }
  });
});
