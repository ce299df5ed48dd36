// Hedged requests (tiers[].hedge): when the first attempt has no first token after the delay, a
// second starts on another deployment; the first to produce its first token answers, the other
// is cancelled (its upstream connection closed) and billed as a failed attempt. Both deployments
// of tier "open" sit on one fake upstream, which answers by the order of the calls it receives
// (the attempt order within a tier is balanced at random), never by deployment.
import { test, describe, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, curl, sleep, repoRoot } from "./lib/harness.mjs";
import { startFakeOpenAI, completion, chunk, openaiError } from "./lib/fake_openai.mjs";

const SLOW_MS = 3000; // a slow first token, against a 100 ms hedge delay
const messages = [{ role: "user", content: "Say hello to the hedged gateway, please." }];

// The fake: `script[i]` answers the i-th call ("fast", "slow", "slow_content", "fail", "hang").
// Each call's fate is recorded: whether its connection closed before it finished.
function scripted(fake) {
  const state = { script: [], calls: [] };
  fake.behave(async (req, res, body) => {
    const i = state.calls.length;
    const call = { model: body.model, stream: !!body.stream, closedEarly: false, finished: false };
    state.calls.push(call);
    res.on("close", () => {
      if (!res.writableFinished) call.closedEarly = true;
    });
    const mode = state.script[i] || "fast";
    const text = `answer of call ${i + 1}`;
    const wait = (ms) => new Promise((r) => {
      const t = setTimeout(r, ms);
      res.on("close", () => {
        clearTimeout(t);
        r();
      });
    });
    if (mode === "fail") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(openaiError(500, "boom")));
      return;
    }
    if (mode === "hang") {
      await wait(10000);
      if (!res.destroyed) res.destroy();
      return;
    }
    if (!body.stream) {
      if (mode === "slow") await wait(SLOW_MS);
      if (res.destroyed) return;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(completion({ model: body.model, text })));
      call.finished = true;
      return;
    }
    if (mode === "slow") await wait(SLOW_MS);
    if (res.destroyed) return;
    res.writeHead(200, { "content-type": "text/event-stream" });
    // The head and the role chunk at once: a stream's first token is its first content.
    res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: "" }))}\n\n`);
    if (mode === "slow_content") await wait(SLOW_MS);
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(chunk(body.model, { content: text }))}\n\n`);
    res.write(`data: ${JSON.stringify(chunk(body.model, {}, "stop"))}\n\n`);
    if (body.stream_options?.include_usage) {
      const u = { ...chunk(body.model, {}), choices: [], usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 } };
      res.write(`data: ${JSON.stringify(u)}\n\n`);
    }
    res.end("data: [DONE]\n\n");
    call.finished = true;
  });
  return state;
}

function hedgeConfig(url, hedge) {
  const y = config({
    tiers: [
      {
        name: "open",
        deployments: [
          { name: "dep-a", url, catalog: "gemma-4-31b", model: "model-a" },
          { name: "dep-b", url, catalog: "gemma-4-31b", model: "model-b" },
        ],
      },
    ],
    extra: "routing: {fallback: none}\nretry: {backoff_base_ms: 1, backoff_max_ms: 1}\n",
  });
  return hedge ? y.replace("  - name: open\n", `  - name: open\n    hedge: ${hedge}\n`) : y;
}

async function metric(gw, re) {
  const r = await fetch(`${gw.url}/metrics`);
  const text = await r.text();
  const m = text.match(re);
  return m ? Number(m[1]) : NaN;
}
const hedges = (gw, result) => metric(gw, new RegExp(`triage_hedges_total\\{tier="open",result="${result}"\\} (\\d+)`));

// The row is committed before the answer's last byte; the loser's close reaches the fake a
// moment after the answer.
async function settle(state, n) {
  for (let i = 0; i < 100 && state.calls.filter((c) => c.closedEarly || c.finished).length < n; i++) await sleep(20);
}

describe("hedging on (after_ms: 100)", () => {
  let fake, gw, state, openai, anthropic;
  before(async () => {
    fake = await startFakeOpenAI();
    state = scripted(fake);
    gw = await startTriage(hedgeConfig(fake.url, "{after_ms: 100}"));
    openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gw.url, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await gw.cleanup();
    await fake.close();
  });
  beforeEach(() => {
    state.calls.length = 0;
    state.script = [];
  });

  test("non-streamed, OpenAI client: the hedge answers, the slow first is cancelled, both billed", async () => {
    state.script = ["slow", "fast"];
    const won = await hedges(gw, "won");
    const t0 = Date.now();
    const { data, response } = await openai.chat.completions.create({ model: "open", messages }).withResponse();
    assert.ok(Date.now() - t0 < SLOW_MS, "answered before the slow attempt could have");
    assert.equal(data.choices[0].message.content, "answer of call 2");
    assert.equal(response.headers.get("x-triage-hedge"), "won");
    await settle(state, 2);
    assert.equal(state.calls.length, 2);
    assert.notEqual(state.calls[0].model, state.calls[1].model, "the hedge went to the other deployment");
    assert.equal(response.headers.get("x-triage-deployment"), state.calls[1].model === "model-a" ? "dep-a" : "dep-b");
    assert.equal(state.calls[0].closedEarly, true, "the loser's upstream connection was closed");
    assert.equal(state.calls[0].finished, false);
    const row = gw.rows().at(-1);
    assert.equal(row.status, 200);
    assert.equal(row.attempts, 2);
    assert.equal(row.usage_estimated, 1, "the loser's bill is an estimate");
    assert.ok(row.failed_input_tokens > 0, "the loser is billed its prompt");
    assert.ok(row.failed_cost_micros > 0);
    assert.equal(row.input_tokens, 100 + row.failed_input_tokens);
    assert.equal(await hedges(gw, "won"), won + 1);
  });

  test("non-streamed: a fast first attempt is not hedged", async () => {
    state.script = ["fast"];
    const before = { won: await hedges(gw, "won"), lost: await hedges(gw, "lost"), skipped: await hedges(gw, "skipped") };
    const r = await curl(["-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages }), `${gw.url}/v1/chat/completions`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-triage-hedge"], undefined);
    await sleep(300); // past the hedge delay: no late hedge either
    assert.equal(state.calls.length, 1);
    const row = gw.rows().at(-1);
    assert.equal(row.attempts, 1);
    assert.equal(row.failed_input_tokens, 0);
    assert.equal(await hedges(gw, "won"), before.won);
    assert.equal(await hedges(gw, "lost"), before.lost);
    assert.equal(await hedges(gw, "skipped"), before.skipped);
  });

  test("streamed, OpenAI client: the first token is the first content, not the head", async () => {
    state.script = ["slow_content", "fast"];
    const { data: stream, response } = await openai.chat.completions
      .create({ model: "open", messages, stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content || "";
    assert.equal(text, "answer of call 2");
    assert.equal(response.headers.get("x-triage-hedge"), "won");
    await settle(state, 2);
    assert.equal(state.calls[0].closedEarly, true);
    const row = gw.rows().at(-1);
    assert.equal(row.status, 200);
    assert.equal(row.stream, 1);
    assert.equal(row.attempts, 2);
    // The loser had begun to answer (a 2xx head, a role chunk): billed as a failed stream.
    assert.ok(row.failed_input_tokens > 0);
    assert.equal(row.usage_estimated, 1);
  });

  test("streamed, Anthropic client: the first attempt wins over a hedge that is slower still", async () => {
    // The first answers its content after SLOW_MS; the hedge hangs: the first answers, the hedge
    // is cancelled.
    state.script = ["slow_content", "hang"];
    const lost = await hedges(gw, "lost");
    const stream = anthropic.messages.stream({ model: "open", max_tokens: 50, messages });
    const msg = await stream.finalMessage();
    assert.equal(msg.content[0].text, "answer of call 1");
    await settle(state, 2);
    assert.equal(state.calls.length, 2);
    assert.equal(state.calls[1].closedEarly, true, "the hedge's connection was closed");
    const row = gw.rows().at(-1);
    assert.equal(row.dialect, "anthropic");
    assert.equal(row.attempts, 2);
    assert.ok(row.failed_input_tokens > 0, "the cancelled hedge is billed its prompt");
    assert.equal(await hedges(gw, "lost"), lost + 1);
  });

  test("non-streamed, Anthropic client: the hedge answers", async () => {
    state.script = ["slow", "fast"];
    const { data, response } = await anthropic.messages.create({ model: "open", max_tokens: 50, messages }).withResponse();
    assert.equal(data.content[0].text, "answer of call 2");
    assert.equal(response.headers.get("x-triage-hedge"), "won");
    await settle(state, 2);
    assert.equal(state.calls[0].closedEarly, true);
  });

  test("the first attempt failing before the delay falls back as usual, no hedge", async () => {
    state.script = ["fail", "fast"];
    const skipped = await hedges(gw, "skipped");
    const won = await hedges(gw, "won");
    const { data, response } = await openai.chat.completions.create({ model: "open", messages }).withResponse();
    assert.equal(data.choices[0].message.content, "answer of call 2");
    assert.equal(response.headers.get("x-triage-hedge"), null);
    await sleep(300);
    assert.equal(state.calls.length, 2);
    assert.equal(gw.rows().at(-1).attempts, 2);
    assert.equal(await hedges(gw, "won"), won);
    assert.equal(await hedges(gw, "skipped"), skipped);
  });

  test("the hedge failing before its first token: the first attempt still answers", async () => {
    state.script = ["slow", "fail"];
    const failed = await hedges(gw, "failed");
    const { data, response } = await openai.chat.completions.create({ model: "open", messages }).withResponse();
    assert.equal(data.choices[0].message.content, "answer of call 1");
    assert.equal(response.headers.get("x-triage-hedge"), "failed");
    assert.equal(state.calls.length, 2, "no third call: one hedge per request");
    assert.equal(state.calls[0].closedEarly, false);
    const row = gw.rows().at(-1);
    assert.equal(row.attempts, 2);
    assert.equal(row.failed_input_tokens, 0, "a refused hedge (500) is not billed");
    assert.equal(await hedges(gw, "failed"), failed + 1);
  });

  test("no deployment to hedge to: skipped, the first answers", async () => {
    // A pinned deployment's plan holds only it (routing.fallback none).
    state.script = ["slow"];
    const skipped = await hedges(gw, "skipped");
    const r = await curl(["-H", "content-type: application/json", "-d", JSON.stringify({ model: "dep-a", messages }), `${gw.url}/v1/chat/completions`]);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).choices[0].message.content, "answer of call 1");
    assert.equal(r.headers["x-triage-hedge"], undefined);
    assert.equal(state.calls.length, 1);
    assert.equal(gw.rows().at(-1).attempts, 1);
    assert.equal(await hedges(gw, "skipped"), skipped + 1);
  });

  test("streamed: at most one hedge, even when both are slow", async () => {
    state.script = ["slow_content", "slow_content"];
    const r = await curl(["-N", "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages, stream: true }), `${gw.url}/v1/chat/completions`]);
    assert.equal(r.status, 200);
    assert.match(r.body, /answer of call [12]/);
    await settle(state, 2);
    assert.equal(state.calls.length, 2);
    assert.equal(state.calls.filter((c) => c.closedEarly).length, 1, "exactly one was cancelled");
  });

  test("the client leaving while both run cancels both; one row", async () => {
    state.script = ["hang", "hang"];
    const cancelled = await hedges(gw, "cancelled");
    const rows = gw.rows().length;
    const ac = new AbortController();
    const p = openai.chat.completions.create({ model: "open", messages }, { signal: ac.signal }).catch((e) => e);
    for (let i = 0; i < 100 && state.calls.length < 2; i++) await sleep(20);
    assert.equal(state.calls.length, 2, "the hedge started");
    ac.abort();
    await p;
    for (let i = 0; i < 100 && gw.rows().length === rows; i++) await sleep(20);
    await settle(state, 2);
    assert.ok(state.calls.every((c) => c.closedEarly), "both upstream connections closed");
    const all = gw.rows();
    assert.equal(all.length, rows + 1);
    const row = all.at(-1);
    assert.equal(row.status, 499);
    assert.equal(row.attempts, 2);
    assert.equal(row.usage_estimated, 1);
    assert.ok(row.input_tokens > 0 && row.failed_input_tokens > 0, "both had the prompt: both billed " + JSON.stringify(row));
    assert.equal(await hedges(gw, "cancelled"), cancelled + 1);
  });
});

describe("hedging off by default", () => {
  test("a slow first attempt is waited for; no second call", async () => {
    const fake = await startFakeOpenAI();
    const state = scripted(fake);
    const gw = await startTriage(hedgeConfig(fake.url, null));
    try {
      state.script = ["slow", "fast"];
      const r = await curl(["-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages }), `${gw.url}/v1/chat/completions`]);
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).choices[0].message.content, "answer of call 1");
      assert.equal(r.headers["x-triage-hedge"], undefined);
      assert.equal(state.calls.length, 1);
      assert.equal(gw.rows().at(-1).attempts, 1);
      assert.equal(await hedges(gw, "skipped"), 0);
    } finally {
      await gw.cleanup();
      await fake.close();
    }
  });
});

describe("p95 delay", () => {
  test("after: p95 uses after_ms until min_samples first tokens, then the tier's p95", async () => {
    const fake = await startFakeOpenAI();
    const state = scripted(fake);
    // after_ms 5000 (longer than SLOW_MS) until 3 samples; then p95 of fast answers, floored at
    // min_after_ms 100.
    const gw = await startTriage(hedgeConfig(fake.url, "{after: p95, after_ms: 5000, min_after_ms: 100, min_samples: 3}"));
    try {
      const ask = () => curl(["-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages }), `${gw.url}/v1/chat/completions`]);
      state.script = ["slow"];
      let r = await ask();
      assert.equal(JSON.parse(r.body).choices[0].message.content, "answer of call 1");
      assert.equal(r.headers["x-triage-hedge"], undefined, "no hedge before min_samples: after_ms 5000 applies");
      // 19 fast first tokens and the slow one: the p95 (nearest rank of 20) is a fast one.
      for (let i = 0; i < 19; i++) {
        state.calls.length = 0;
        state.script = ["fast"];
        assert.equal((await ask()).status, 200);
      }
      state.calls.length = 0;
      state.script = ["slow", "fast"];
      r = await ask();
      assert.equal(JSON.parse(r.body).choices[0].message.content, "answer of call 2");
      assert.equal(r.headers["x-triage-hedge"], "won");
    } finally {
      await gw.cleanup();
      await fake.close();
    }
  });
});

describe("shutdown while both attempts run", () => {
  test("SIGTERM: both cancelled at the end of the grace period, 503, one row, clean exit", async () => {
    const fake = await startFakeOpenAI();
    const state = scripted(fake);
    const yaml = hedgeConfig(fake.url, "{after_ms: 100}") + "server: {shutdown_grace_ms: 300}\n";
    const gw = await startTriage(yaml);
    try {
      state.script = ["hang", "hang"];
      const p = curl(["-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages }), `${gw.url}/v1/chat/completions`]);
      for (let i = 0; i < 100 && state.calls.length < 2; i++) await sleep(20);
      assert.equal(state.calls.length, 2, "the hedge started");
      gw.proc.kill("SIGTERM");
      const r = await p;
      assert.equal(r.status, 503);
      const exit = await Promise.race([gw.exited, sleep(15000).then(() => null)]);
      assert.deepEqual(exit, { code: 0, signal: null });
      await settle(state, 2);
      assert.ok(state.calls.every((c) => c.closedEarly), "both upstream connections closed");
      const rows = gw.rows();
      assert.equal(rows.length, 1);
      assert.equal(rows[0].status, 503);
      assert.equal(rows[0].attempts, 2);
      assert.ok(rows[0].failed_input_tokens > 0, "the hedge is billed its prompt");
      assert.doesNotMatch(gw.stderr(), /requests still in flight at exit/);
    } finally {
      await gw.cleanup();
      await fake.close();
    }
  });
});

describe("a live cascade's escalation is hedged when its tier hedges", () => {
  // The cheap tier answers at once; threshold 0 escalates every answer to "mid", whose two
  // deployments sit on the scripted fake: the escalation's first attempt is slow, its hedge fast.
  let cheap, fake, gw, state;
  before(async () => {
    cheap = await startFakeOpenAI();
    cheap.behave((req, res, body) => cheap.reply(req, res, body, { text: "cheap answer", chunks: ["cheap", " answer"], usage: { prompt_tokens: 30, completion_tokens: 5 } }));
    fake = await startFakeOpenAI();
    state = scripted(fake);
    const model = path.join(repoRoot, "models/cascade-v3.model");
    gw = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] },
          {
            name: "mid",
            deployments: [
              { name: "dep-a", url: fake.url, catalog: "claude-sonnet-4.6", model: "model-a" },
              { name: "dep-b", url: fake.url, catalog: "claude-sonnet-4.6", model: "model-b" },
            ],
          },
        ],
        extra: `routing: {router: "cascade:${model}", thresholds: [0.0], fallback: none}\nretry: {backoff_base_ms: 1, backoff_max_ms: 1}\n`,
      }).replace("  - name: mid\n", "  - name: mid\n    hedge: {after_ms: 100}\n"),
    );
  });
  after(async () => {
    await gw.cleanup();
    await fake.close();
    await cheap.close();
  });
  beforeEach(() => {
    state.calls.length = 0;
    state.script = ["slow", "fast"];
  });

  for (const stream of [false, true]) {
    test(`${stream ? "streamed" : "non-streamed"}: the hedge answers the escalation, the slow attempt is cancelled, the cheap call and both billed`, async () => {
      const cheapCalls = cheap.requests.length;
      const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const t0 = Date.now();
      let text = "";
      let response;
      if (stream) {
        const s = await openai.chat.completions.create({ model: "auto", messages, stream: true }).withResponse();
        for await (const c of s.data) text += c.choices[0]?.delta?.content || "";
        response = s.response;
      } else {
        const r = await openai.chat.completions.create({ model: "auto", messages }).withResponse();
        text = r.data.choices[0].message.content;
        response = r.response;
      }
      assert.ok(Date.now() - t0 < SLOW_MS, "answered before the slow attempt could have");
      assert.equal(text, "answer of call 2");
      assert.equal(cheap.requests.length, cheapCalls + 1, "the cheap tier was called once");
      assert.equal(response.headers.get("x-triage-hedge"), "won");
      assert.equal(response.headers.get("x-triage-tier"), "mid");
      await settle(state, 2);
      assert.equal(state.calls.length, 2);
      assert.equal(state.calls[0].closedEarly, true, "the slow escalation's connection was closed");
      const row = gw.rows().at(-1);
      assert.equal(row.status, 200);
      assert.equal(row.tier, "mid");
      assert.equal(row.attempts, 3, "the cheap call, the slow escalation and its hedge");
      assert.equal(row.usage_estimated, 1, "the loser's bill is an estimate");
      // The loser's prompt estimate in the failed-attempt columns; the row's totals hold the
      // cheap call (30 in, 5 out), the hedge's answer (100 in, 50 out) and the loser.
      assert.ok(row.failed_input_tokens > 0, JSON.stringify(row));
      assert.ok(row.failed_cost_micros > 0);
      assert.equal(row.input_tokens, 30 + 100 + row.failed_input_tokens, JSON.stringify(row));
      assert.equal(row.output_tokens, 5 + 50 + row.failed_output_tokens, JSON.stringify(row));
    });
  }
});
