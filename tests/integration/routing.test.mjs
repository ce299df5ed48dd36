// Issue 5 in the gateway: `auto` routed by the shipped learned model, and the live cascade with
// the shipped cascade model, through the official SDKs.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startTriage, config, repoRoot, triageBin } from "./lib/harness.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";
import { startFaultyUpstream } from "./lib/faults.mjs";

const sim = (n) => ({ latency_ms: 0, ttft_ms: 0, output_tokens: n, tokens_per_second: 100000 });
const tiers = [
  { name: "open", deployments: [{ name: "o", sim: sim(4), catalog: "gemma-4-31b" }] },
  { name: "mid", deployments: [{ name: "m", sim: sim(4), catalog: "claude-sonnet-4.6" }] },
  { name: "frontier", deployments: [{ name: "f", sim: sim(4), catalog: "claude-opus-4.7" }] },
];
// Header values are bytes; the SDKs decode them as latin1.
const utf8 = (v) => Buffer.from(v, "latin1").toString("utf8");
// triage_route_decisions_total from /metrics as {"decision/tier": count}.
async function decisions(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^triage_route_decisions_total\{decision="(\w+)",tier="(\w+)"\} (\d+)$/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}
// triage_route_score histogram of one kind from /metrics: {buckets: {le: cumulative}, sum, count}.
async function scoreHistogram(url, kind) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = {};
  for (const m of text.matchAll(new RegExp(`^triage_route_score_bucket\\{kind="${kind}",le="([^"]+)"\\} (\\d+)$`, "gm"))) buckets[m[1]] = Number(m[2]);
  const num = (name) => Number(text.match(new RegExp(`^triage_route_score_${name}\\{kind="${kind}"\\} ([\\d.]+)$`, "m"))[1]);
  return { buckets, sum: num("sum"), count: num("count") };
}
// The score histogram agrees with the ledger's unrounded scores: count, sum and every bucket.
function assertHistogramMatches(h, scores) {
  assert.equal(h.count, scores.length);
  assert.ok(Math.abs(h.sum - scores.reduce((a, b) => a + b, 0)) < 1e-5, `${h.sum}`);
  assert.equal(Object.keys(h.buckets).length, 21);
  for (const [le, n] of Object.entries(h.buckets)) {
    const bound = le === "+Inf" ? Infinity : Number(le);
    assert.equal(n, scores.filter((x) => x <= bound + 1e-9).length, `le=${le}`);
  }
}

test("learned router: the same conversation scores the same in both dialects, with or without the app's system prompt", async () => {
  const t = await startTriage(config({ tiers, extra: `routing: {router: "learned:builtin", thresholds: [0.58, 0.68]}\n` }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const system = "You are the support assistant of an online bookshop. Answer politely and briefly. ".repeat(20);
    const turns = [
      { role: "user", content: "A box holds 12 books and a shelf holds 5 boxes. How many books fit on 3 shelves?" },
      { role: "assistant", content: "180 books." },
      { role: "user", content: "And if every second box holds only half as many books?" },
    ];
    const routes = [];
    routes.push((await openai.chat.completions.create({ model: "auto", messages: turns }).withResponse()).response.headers.get("x-triage-route"));
    routes.push((await openai.chat.completions.create({ model: "auto", messages: [{ role: "system", content: system }, ...turns] }).withResponse()).response.headers.get("x-triage-route"));
    routes.push((await openai.chat.completions.create({ model: "auto", messages: [{ role: "developer", content: system }, ...turns] }).withResponse()).response.headers.get("x-triage-route"));
    routes.push((await anthropic.messages.create({ model: "auto", max_tokens: 20, messages: turns }).withResponse()).response.headers.get("x-triage-route"));
    routes.push((await anthropic.messages.create({ model: "auto", max_tokens: 20, system, messages: turns }).withResponse()).response.headers.get("x-triage-route"));
    assert.match(utf8(routes[0]), /^learned score=0\.\d+ → \w+$/);
    for (const r of routes) assert.equal(r, routes[0]);
    // Unrounded in the ledger too.
    const scores = t.rows().map((r) => r.route_score);
    assert.equal(scores.length, 5);
    for (const s of scores) assert.equal(s, scores[0]);
    // A longer conversation is another request: the score moves.
    const { response } = await openai.chat.completions.create({ model: "auto", messages: [{ role: "system", content: system }, ...turns, { role: "assistant", content: "150." }, { role: "user", content: "Why?" }] }).withResponse();
    assert.notEqual(t.rows().at(-1).route_score, scores[0], response.headers.get("x-triage-route"));
  } finally {
    await t.stop();
  }
});

async function followUpScores(router) {
  const t = await startTriage(config({ tiers, extra: `routing: {router: "${router}", thresholds: [0.58, 0.68]}\n` }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const questions = [
      "Which of these animals is a mammal? A. a shark B. a dolphin C. a trout D. a giant squid",
      "Let f(x) = x^3 - 3x. Find all x in [-2, 2] where f attains its maximum and prove it. Go",
    ];
    assert.equal(questions[0].length, questions[1].length); // so that the prompt lengths agree
    const followUp = (q) => [
      { role: "user", content: q },
      { role: "assistant", content: "B." },
      { role: "user", content: "Are you sure? Check it once more." },
    ];
    for (const q of questions) {
      await openai.chat.completions.create({ model: "auto", messages: followUp(q) });
      await anthropic.messages.create({ model: "auto", max_tokens: 20, messages: followUp(q) });
    }
    // A tool loop: OpenAI's `tool` message and Anthropic's user turn of tool results both leave
    // the question as the text the router reads.
    const q = questions[1];
    await openai.chat.completions.create({
      model: "auto",
      tools: [{ type: "function", function: { name: "calc", parameters: { type: "object", properties: {} } } }],
      messages: [
        { role: "user", content: q },
        { role: "assistant", content: null, tool_calls: [{ id: "t1", type: "function", function: { name: "calc", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "t1", content: "2" },
      ],
    });
    await anthropic.messages.create({
      model: "auto",
      max_tokens: 20,
      tools: [{ name: "calc", input_schema: { type: "object", properties: {} } }],
      messages: [
        { role: "user", content: q },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "calc", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "2" }] },
      ],
    });
    return t.rows().map((r) => r.route_score);
  } finally {
    await t.stop();
  }
}

test("learned router: a short follow-up is scored with the question it follows, and a tool loop by its question, alike in both dialects", async () => {
  const s = await followUpScores("learned:builtin");
  assert.equal(s.length, 6);
  assert.equal(s[0], s[1], "follow-up of question 1: OpenAI and Anthropic");
  assert.equal(s[2], s[3], "follow-up of question 2: OpenAI and Anthropic");
  // Feature set 3 reads the question with the follow-up.
  assert.ok(Math.abs(s[0] - s[2]) > 1e-3, `${s[0]} vs ${s[2]}`);
  assert.equal(s[4], s[5], "tool loop: OpenAI and Anthropic");
  // learned-v2.model, the same weights with feature set 2, reads the follow-up alone: one score
  // whatever question it follows.
  const v2 = await followUpScores(`learned:${path.join(repoRoot, "models/learned-v2.model")}`);
  assert.equal(v2[0], v2[2]);
  assert.notEqual(v2[0], s[0]);
});

test("the gateway scores a conversation as `triage eval --scores` does: tool loops, turns without text, several text parts", async () => {
  // Thresholds are calibrated by `eval` / `calibrate` on recorded conversations, so the router
  // must read the same text live. A message without text (an assistant turn of tool calls alone,
  // a user turn of an image alone) adds nothing to the prompt text in either; until 2026-12-07
  // the data reader joined an empty text for it, one "\n" more than the gateway read.
  const q = "Let f(x) = x^3 - 3x. Find all x in [-2, 2] where f attains its maximum and prove it.";
  const image = { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } };
  const conversations = [
    [
      { role: "user", content: q },
      { role: "assistant", content: null, tool_calls: [{ id: "t1", type: "function", function: { name: "calc", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "t1", content: "2" },
    ],
    [
      { role: "user", content: "Here is my photo." },
      { role: "user", content: [image] },
      { role: "assistant", content: "A cat on a mat." },
      { role: "user", content: "How many legs does it have, and how many would three of them have?" },
    ],
    [{ role: "user", content: [{ type: "text", text: "First part." }, image, { type: "text", text: "Second part: count the cats." }] }],
  ];
  const dir = mkdtempSync(path.join(tmpdir(), "triage-read-"));
  try {
    const data = path.join(dir, "c.jsonl");
    writeFileSync(data, conversations.map((messages, i) => JSON.stringify({ id: `c${i}`, messages, outcomes: { "mixtral-8x7b-instruct": { score: 1 }, "gpt-4-1106-preview": { score: 0 } } })).join("\n") + "\n");
    for (const router of ["length", "learned:builtin"]) {
      const scores = path.join(dir, "s.jsonl");
      const ev = spawnSync(triageBin, ["eval", "--data", data, "--router", router, "--bootstrap", "0", "--scores", scores], { encoding: "utf8" });
      assert.equal(ev.status, 0, ev.stderr);
      const { readFileSync } = await import("node:fs");
      const expected = readFileSync(scores, "utf8").trim().split("\n").map((l) => JSON.parse(l).score);
      const t = await startTriage(config({ tiers, extra: `routing: {router: "${router}", thresholds: [0.5, 0.9]}\n` }));
      try {
        const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
        const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
        for (const messages of conversations) await openai.chat.completions.create({ model: "auto", messages });
        // The tool loop in Anthropic's form reads alike.
        await anthropic.messages.create({
          model: "auto",
          max_tokens: 20,
          messages: [
            { role: "user", content: q },
            { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "calc", input: {} }] },
            { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "2" }] },
          ],
        });
        const got = t.rows().map((r) => r.route_score);
        assert.deepEqual(got, [...expected, expected[0]], router);
      } finally {
        await t.cleanup();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("learned router: every auto request carries its score and lands on the tier its thresholds pick", async () => {
  const model = path.join(repoRoot, "models/learned-v2.model");
  const t = await startTriage(config({ tiers, extra: `routing: {router: "learned:${model}", thresholds: [0.58, 0.68]}\n` }));
  try {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const prompts = [
      "Hi!",
      "What is the capital of France?",
      "A train leaves at 3pm going 60 mph and another at 4pm going 80 mph from the same station. When does the second catch up, and how far have they travelled? Show every step.",
      "Let f(x) = x^3 - 6x^2 + 11x - 6. Find all roots, prove they are the only ones, and compute the integral of f from 0 to 3.",
    ];
    const seen = new Set();
    const routes = [];
    for (const content of prompts) {
      const { response } = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content }] }).withResponse();
      const route = utf8(response.headers.get("x-triage-route"));
      const m = route.match(/^learned score=(\d\.\d\d) → (\w+)$/);
      assert.ok(m, route);
      const score = Number(m[1]);
      const want = score < 0.58 ? "open" : score < 0.68 ? "mid" : "frontier";
      assert.equal(m[2], want, route);
      assert.equal(response.headers.get("x-triage-tier"), want);
      seen.add(want);
      routes.push([route, score]);
    }
    // The thresholds are the 70/25/5 split `triage calibrate` prints for this model on the dev
    // files; these prompts do not all score alike.
    assert.ok(seen.size >= 2, [...seen].join(","));
    // Pinning still bypasses the router.
    const { response } = await client.chat.completions.create({ model: "frontier", messages: [{ role: "user", content: "Hi!" }] }).withResponse();
    assert.equal(response.headers.get("x-triage-tier"), "frontier");
    // The ledger keeps each decision: the header's text and the unrounded score.
    const rows = t.rows();
    assert.equal(rows.length, prompts.length + 1);
    rows.slice(0, prompts.length).forEach((r, i) => {
      assert.equal(r.route, routes[i][0]);
      assert.ok(Math.abs(r.route_score - routes[i][1]) <= 0.005, `${r.route_score} vs ${routes[i][1]}`);
    });
    assert.equal(rows.at(-1).route, "pinned tier=frontier");
    assert.equal(rows.at(-1).route_score, null);
    // /metrics counts each decision against the tier it chose.
    const d = await decisions(t.url);
    for (const tier of ["open", "mid", "frontier"]) {
      const want = routes.filter(([r]) => r.endsWith(`→ ${tier}`)).length;
      assert.equal(d[`router/${tier}`], want, `router/${tier}`);
    }
    assert.equal(d["pinned/frontier"], 1);
    assert.equal(d["default/open"], 0);
    // Recalibrating on live traffic: `calibrate --ledger` reads the scores the router gave these
    // requests (while the gateway runs) and puts half of them above the threshold.
    const scored = rows.slice(0, prompts.length).map((r) => r.route_score);
    const cal = spawnSync(triageBin, ["calibrate", "--ledger", `sqlite://${t.ledger}`, "--router", `learned:${model}`, "--strong-fraction", "0.5"], { encoding: "utf8" });
    assert.equal(cal.status, 0, cal.stderr);
    assert.match(cal.stdout, new RegExp(`^# from ${prompts.length} learned scores in sqlite://`));
    assert.match(cal.stdout, /achieved split 50\.0\/50\.0/);
    const th = Number(cal.stdout.match(/thresholds: \[([\d.]+)\]/)[1]);
    assert.equal(scored.filter((x) => x >= th).length, prompts.length / 2, `${th} vs ${scored}`);
    const other = spawnSync(triageBin, ["calibrate", "--ledger", `sqlite://${t.ledger}`, "--router", "length", "--split", "70/30"], { encoding: "utf8" });
    assert.equal(other.status, 1);
    assert.match(other.stderr, new RegExp(`no length scores in .* \\(scored rows by kind: learned ${prompts.length}\\)`));
    // The score histogram holds the router's scores (not the pinned request's).
    assertHistogramMatches(await scoreHistogram(t.url, "router"), rows.slice(0, prompts.length).map((r) => r.route_score));
    assert.equal((await scoreHistogram(t.url, "cascade")).count, 0);
  } finally {
    await t.cleanup();
  }
});

test("live cascade: the cheap answer is held, scored, then released or escalated; one ledger row each", async () => {
  const model = path.join(repoRoot, "models/cascade-v2.model");
  const t = await startTriage(config({ tiers, extra: `routing: {router: "cascade:${model}", thresholds: [0.5, 0.9]}\n` }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const routes = [];
    for (const stream of [false, true]) {
      if (stream) {
        const s = await openai.chat.completions.create({ model: "auto", stream: true, messages: [{ role: "user", content: "What is 12 * 7?" }] }).withResponse();
        let text = "";
        for await (const c of s.data) text += c.choices[0]?.delta?.content || "";
        assert.ok(text.length > 0);
        routes.push([utf8(s.response.headers.get("x-triage-route")), s.response.headers.get("x-triage-tier"), text]);
      } else {
        const { data, response } = await openai.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "What is 12 * 7?" }] }).withResponse();
        routes.push([utf8(response.headers.get("x-triage-route")), response.headers.get("x-triage-tier"), data.choices[0].message.content]);
      }
    }
    const msg = await anthropic.messages.create({ model: "auto", max_tokens: 50, messages: [{ role: "user", content: "What is 12 * 7?" }] });
    assert.equal(msg.type, "message");
    for (const [route, tier, text] of routes) {
      const m = route.match(/^cascade score=(\d\.\d\d) (>=|<) 0\.50 → (\w+)$/);
      assert.ok(m, route);
      // Released answers come from the cheap tier; the simulated answers score below the second
      // threshold (0.9), so escalated ones go to the second tier (see the three-tier test below).
      assert.equal(tier, m[2] === "<" ? "open" : "mid");
      assert.equal(m[3], tier);
      assert.ok(text.includes(`[simulated ${tier === "open" ? "gemma-4-31b" : "claude-sonnet-4.6"}]`), text);
    }
    const rows = t.rows();
    assert.equal(rows.length, 3, "one row per request, not per call");
    rows.slice(0, 2).forEach((r, i) => assert.equal(r.route, routes[i][0]));
    const d = await decisions(t.url);
    const released = rows.filter((r) => r.tier === "open").length;
    assert.equal(d["cascade_released/open"], released);
    assert.equal(d["cascade_escalated/mid"], 3 - released);
    assert.equal(d["router/open"] + d["default/open"], 0);
    assertHistogramMatches(await scoreHistogram(t.url, "cascade"), rows.map((r) => r.route_score));
    assert.equal((await scoreHistogram(t.url, "router")).count, 0);
    for (const r of rows) {
      assert.match(r.route, /^cascade score=/);
      assert.ok(r.route_score >= 0 && r.route_score <= 1, String(r.route_score));
      if (r.tier === "mid") assert.equal(r.attempts, 2);
      if (r.tier === "open") assert.equal(r.attempts, 1);
    }
  } finally {
    await t.cleanup();
  }
});

test("live cascade at shutdown: a held cheap call cut by the grace period answers 503 and writes its row", async () => {
  const model = path.join(repoRoot, "models/cascade-v2.model");
  const slowTiers = [
    { name: "open", deployments: [{ name: "o", sim: { latency_ms: 60000, ttft_ms: 60000, output_tokens: 4 }, catalog: "gemma-4-31b" }] },
    ...tiers.slice(1),
  ];
  const t = await startTriage(
    config({ tiers: slowTiers, extra: `routing: {router: "cascade:${model}", thresholds: [0.5, 0.9]}\nserver: {shutdown_grace_ms: 200}\n` }),
  );
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const pending = openai.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "What is 12 * 7?" }] }).then(
      () => assert.fail("should not answer"),
      (e) => e,
    );
    // Wait until the request is in flight (the cheap call sleeps), then stop the gateway.
    await new Promise((r) => setTimeout(r, 300));
    t.proc.kill("SIGTERM");
    const e = await pending;
    assert.equal(e.status, 503);
    assert.match(e.message, /shutting down/);
    assert.equal((await t.exited).code, 0);
    const rows = t.rows();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].error_kind, "shutdown");
    assert.equal(rows[0].status, 503);
  } finally {
    await t.cleanup();
  }
});

test("live cascade: an escalation that fails releases the held cheap answer instead of an error, in both SDKs, streamed or not", async () => {
  const model = path.join(repoRoot, "models/cascade-v3.model");
  const cheap = await startFakeOpenAI();
  const strong = await startFaultyUpstream("openai");
  strong.fault = "status_500";
  const t = await startTriage(
    config({
      tiers: [
        { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] },
        { name: "mid", deployments: [{ name: "strong", url: strong.url, catalog: "claude-sonnet-4.6" }] },
      ],
      // Threshold 0: every cheap answer escalates.
      extra: `routing: {router: "cascade:${model}", thresholds: [0.0]}\nretry: {max_attempts: 1}\n`,
    }),
  );
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const messages = [{ role: "user", content: "What is 12 * 7?" }];
    const route = /^cascade score=\d\.\d\d >= 0\.00 → mid; released open \(mid failed\)$/;
    const got = [];
    {
      const { data, response } = await openai.chat.completions.create({ model: "auto", messages }).withResponse();
      got.push([data.choices[0].message.content, response]);
    }
    {
      const s = await openai.chat.completions.create({ model: "auto", stream: true, stream_options: { include_usage: true }, messages }).withResponse();
      let text = "";
      let usage = null;
      for await (const c of s.data) {
        text += c.choices[0]?.delta?.content || "";
        if (c.usage) usage = c.usage;
      }
      assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [100, 50]);
      got.push([text, s.response]);
    }
    {
      const { data, response } = await anthropic.messages.create({ model: "auto", max_tokens: 50, messages }).withResponse();
      got.push([data.content[0].text, response]);
    }
    {
      const s = anthropic.messages.stream({ model: "auto", max_tokens: 50, messages });
      const msg = await s.finalMessage();
      assert.equal(msg.stop_reason, "end_turn");
      got.push([msg.content[0].text, (await s.withResponse()).response]);
    }
    for (const [text, response] of got) {
      assert.equal(text, "Hello from the fake.");
      assert.equal(response.headers.get("x-triage-tier"), "open");
      assert.match(utf8(response.headers.get("x-triage-route")), route);
    }
    assert.equal(cheap.requests.length, 4);
    assert.equal(strong.requests, 4);
    const rows = t.rows();
    assert.equal(rows.length, 4, "one row per request");
    for (const r of rows) {
      assert.equal(r.status, 200);
      assert.equal(r.error_kind, "");
      assert.equal(r.tier, "open");
      assert.equal(r.attempts, 2);
      assert.deepEqual([r.input_tokens, r.output_tokens, r.cost_micros], [100, 50, 30]); // the cheap call's
      assert.match(r.route, route);
    }
    assert.match(t.stderr(), /"msg":"cascade escalation failed; the cheap answer is released"/);
    const d = await decisions(t.url);
    assert.equal(d["cascade_escalated/mid"], 4);
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("live cascade with three tiers: two thresholds on one score; the least convincing answers escalate straight to the last tier", async () => {
  // `triage calibrate --router cascade:FILE --split 70/25/5` prints two thresholds: a score below
  // the first releases the cheap answer, one at or above the second escalates to the third tier,
  // one between them to the second (until 2026-12-07 every escalation went to the second tier).
  const model = path.join(repoRoot, "models/cascade-v3.model");
  const q = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?";
  // The cheap answers, in the order the cheap tier gets the requests; the shipped cascade model
  // scores them (with this question) about 0.56, 0.85 and 0.90: `triage eval --scores` below.
  const answers = [
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72",
    "",
    "I am not sure.",
  ];
  const dir = mkdtempSync(path.join(tmpdir(), "triage-c3-"));
  const data = path.join(dir, "c.jsonl");
  writeFileSync(data, answers.map((a, i) => JSON.stringify({ id: `a${i}`, benchmark: "g", messages: [{ role: "user", content: q }], outcomes: { "mixtral-8x7b-instruct": { score: 1, response: a }, "gpt-4-1106-preview": { score: 1 } } })).join("\n") + "\n");
  const ev = spawnSync(triageBin, ["eval", "--data", data, "--router", `cascade:${model}`, "--bootstrap", "0", "--scores", path.join(dir, "s.jsonl")], { encoding: "utf8" });
  assert.equal(ev.status, 0, ev.stderr);
  const { readFileSync } = await import("node:fs");
  const expected = readFileSync(path.join(dir, "s.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).score);
  rmSync(dir, { recursive: true, force: true });
  const [t0, t1] = [0.7, 0.88];
  assert.ok(expected[0] < t0 && expected[1] >= t0 && expected[1] < t1 && expected[2] >= t1, `${expected}`);
  const want = ["open", "mid", "frontier"];
  const cheap = await startFakeOpenAI();
  let n = 0;
  cheap.behave((req, res, body) => {
    const text = answers[n++ % 3];
    return cheap.reply(req, res, body, { text, chunks: text ? [text.slice(0, 10), text.slice(10)] : [] });
  });
  const t = await startTriage(
    config({
      tiers: [{ name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] }, ...tiers.slice(1)],
      extra: `routing: {router: "cascade:${model}", thresholds: [${t0}, ${t1}]}\n`,
    }),
  );
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const messages = [{ role: "user", content: q }];
    const got = [];
    for (const [dialect, stream] of [["openai", false], ["openai", true], ["anthropic", false], ["anthropic", true]]) {
      for (let i = 0; i < 3; i++) {
        let response;
        if (dialect === "openai") {
          const r = await openai.chat.completions.create({ model: "auto", stream, messages }).withResponse();
          if (stream) for await (const _ of r.data);
          response = r.response;
        } else {
          const r = await anthropic.messages.create({ model: "auto", max_tokens: 50, stream, messages }).withResponse();
          if (stream) for await (const _ of r.data);
          response = r.response;
        }
        got.push([`${dialect} ${stream ? "stream" : "unary"} answer ${i}`, i, utf8(response.headers.get("x-triage-route")), response.headers.get("x-triage-tier")]);
      }
    }
    const rows = t.rows();
    assert.equal(rows.length, got.length);
    got.forEach(([what, i, route, tier], k) => {
      assert.equal(tier, want[i], `${what}: ${route}`);
      const form = [/^cascade score=0\.\d+ < 0\.70 → open$/, /^cascade score=0\.\d+ >= 0\.70 → mid$/, /^cascade score=0\.\d+ >= 0\.88 → frontier$/][i];
      assert.match(route, form, what);
      assert.equal(rows[k].route, route);
      assert.equal(rows[k].tier, want[i]);
      assert.ok(Math.abs(rows[k].route_score - expected[i]) < 1e-9, `${what}: ${rows[k].route_score} vs ${expected[i]}`);
      assert.equal(rows[k].attempts, i === 0 ? 1 : 2, what);
    });
    const d = await decisions(t.url);
    assert.deepEqual([d["cascade_released/open"], d["cascade_escalated/mid"], d["cascade_escalated/frontier"]], [4, 4, 4]);
  } finally {
    await t.cleanup();
    await cheap.close();
  }
});

test("live cascade with three tiers: an escalation to the third tier that fails falls back per `fallback`, else the cheap answer is released", async () => {
  const model = path.join(repoRoot, "models/cascade-v3.model");
  const cheap = await startFakeOpenAI();
  cheap.behave((req, res, body) => cheap.reply(req, res, body, { text: "I am not sure.", chunks: ["I am", " not sure."] }));
  const bad = await startFaultyUpstream("openai");
  bad.fault = "status_500";
  const q = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?";
  try {
    for (const [fallback, tier, route] of [
      ["both", "mid", /^cascade score=0\.90 >= 0\.60 → frontier$/],
      ["down", "mid", /^cascade score=0\.90 >= 0\.60 → frontier$/],
      ["up", "open", /^cascade score=0\.90 >= 0\.60 → frontier; released open \(frontier failed\)$/],
    ]) {
      const t = await startTriage(
        config({
          tiers: [
            { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b" }] },
            tiers[1],
            { name: "frontier", deployments: [{ name: "broken", url: bad.url, catalog: "claude-opus-4.7" }] },
          ],
          extra: `routing: {router: "cascade:${model}", thresholds: [0.5, 0.6], fallback: ${fallback}}\nretry: {max_attempts: 2}\n`,
        }),
      );
      try {
        const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
        for (const stream of [false, true]) {
          const r = await openai.chat.completions.create({ model: "auto", stream, messages: [{ role: "user", content: q }] }).withResponse();
          if (stream) for await (const _ of r.data);
          assert.equal(r.response.headers.get("x-triage-tier"), tier, `fallback ${fallback}`);
          assert.match(utf8(r.response.headers.get("x-triage-route")), route, `fallback ${fallback}`);
        }
      } finally {
        await t.cleanup();
      }
    }
  } finally {
    await cheap.close();
    await bad.close();
  }
});

test("calibrate --out: the snippet, pasted into the config, routes the calibration data through the gateway as the split it printed", async () => {
  // Long prompts of 30,003 and 30,004 characters: `length` scores 5.4e-7 apart, closer than the
  // six decimals the snippet used to write (its threshold then sent both halves strong).
  const dir = mkdtempSync(path.join(tmpdir(), "triage-cal-"));
  try {
    const data = path.join(dir, "long.jsonl");
    const prompts = Array.from({ length: 40 }, (_, i) => "a".repeat(30003 + (i % 2)));
    writeFileSync(data, prompts.map((content, i) => JSON.stringify({ id: `l${i}`, messages: [{ role: "user", content }], outcomes: { "mixtral-8x7b-instruct": { score: i % 2 }, "gpt-4-1106-preview": { score: 1 } } })).join("\n") + "\n");
    const out = path.join(dir, "snippet.yaml");
    const cal = spawnSync(triageBin, ["calibrate", "--data", data, "--router", "length", "--strong-fraction", "0.5", "--out", out], { encoding: "utf8" });
    assert.equal(cal.status, 0, cal.stderr);
    assert.match(cal.stdout, /achieved split 50\.0\/50\.0/);
    const { readFileSync } = await import("node:fs");
    const snippet = readFileSync(out, "utf8");
    const t = await startTriage(config({ tiers: [tiers[0], tiers[2]], extra: snippet }));
    try {
      const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
      const got = { open: 0, frontier: 0 };
      for (const content of prompts) {
        const { response } = await openai.chat.completions.create({ model: "auto", messages: [{ role: "user", content }] }).withResponse();
        got[response.headers.get("x-triage-tier")]++;
      }
      assert.deepEqual(got, { open: 20, frontier: 20 }, snippet);
    } finally {
      await t.cleanup();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SIGHUP reloads routing.router and routing.thresholds from the config file; a bad reload keeps the running routing", async () => {
  const model = path.join(repoRoot, "models/learned-v2.model");
  const yaml = (router, thresholds, ts = tiers) => config({ tiers: ts, extra: `routing: {router: "${router}", thresholds: [${thresholds}]}\n` });
  const t = await startTriage(yaml(`learned:${model}`, "0.99, 0.995"));
  try {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const ask = async () => {
      const { response } = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "What is 12 * 7?" }] }).withResponse();
      return [response.headers.get("x-triage-tier"), utf8(response.headers.get("x-triage-route"))];
    };
    // Rewrites the config, sends SIGHUP and waits for the n-th reload log line.
    let reloads = 0;
    const reload = async (text, pattern) => {
      writeFileSync(path.join(t.dir, "config.yaml"), text.replaceAll("${LEDGER}", t.ledger));
      t.proc.kill("SIGHUP");
      reloads++;
      for (let i = 0; i < 100 && (t.stderr().match(/"msg":"routing reload/g) || []).length < reloads; i++) await new Promise((r) => setTimeout(r, 50));
      const lines = t.stderr().trim().split("\n").filter((l) => l.includes('"msg":"routing reload'));
      assert.equal(lines.length, reloads, t.stderr());
      assert.match(lines.at(-1), pattern);
    };
    assert.equal((await ask())[0], "open");
    await reload(yaml(`learned:${model}`, "0.01, 0.02"), /"msg":"routing reloaded".*"thresholds":\[0\.01,0\.02\]/);
    const [tier, route] = await ask();
    assert.equal(tier, "frontier");
    assert.match(route, /^learned score=\d\.\d\d → frontier$/);
    // A model that does not load, or other tiers: refused, logged, the running routing stays.
    await reload(yaml("learned:/nonexistent/x.model", "0.5, 0.6"), /^(?=.*routing reload failed)(?=.*cannot open model file \/nonexistent\/x\.model)/);
    assert.equal((await ask())[0], "frontier");
    await reload(yaml(`learned:${model}`, "0.5", tiers.slice(0, 2)), /^(?=.*routing reload failed)(?=.*tiers differ)/);
    assert.equal((await ask())[0], "frontier");
    // Switching to the live cascade takes effect as well.
    await reload(yaml(`cascade:${path.join(repoRoot, "models/cascade-v2.model")}`, "0.5, 0.9"), /"msg":"routing reloaded"/);
    assert.match((await ask())[1], /^cascade score=\d\.\d\d (<|>=) 0\.50 → (open|mid)$/);
    assert.deepEqual(await t.stop("SIGTERM"), { code: 0, signal: null });
  } finally {
    await t.cleanup();
  }
});

test("odd tier names: spaces, non-ASCII and quotes reach the headers and /metrics intact; a control character is refused by check", async () => {
  // Names travel in x-triage-tier, x-triage-deployment and x-triage-route, and as /metrics labels.
  const names = ["open tier é", 'mid "q" \\x'];
  const odd = [
    { name: JSON.stringify(names[0]), deployments: [{ name: JSON.stringify("dép 1"), sim: sim(4), catalog: "gemma-4-31b" }] },
    { name: JSON.stringify(names[1]), deployments: [{ name: "m", sim: sim(4), catalog: "claude-sonnet-4.6" }] },
  ];
  const t = await startTriage(config({ tiers: odd, extra: `routing: {router: "length", thresholds: [0.5]}\n` }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const { response } = await openai.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(utf8(response.headers.get("x-triage-tier")), names[0]);
    assert.equal(utf8(response.headers.get("x-triage-deployment")), "dép 1");
    assert.equal(utf8(response.headers.get("x-triage-route")), `length score=0.00 → ${names[0]}`);
    const pinned = await openai.chat.completions.create({ model: names[1], messages: [{ role: "user", content: "hi" }] }).withResponse();
    assert.equal(utf8(pinned.response.headers.get("x-triage-route")), `pinned tier=${names[1]}`);
    // Every sample line of /metrics is well-formed in the Prometheus text format: a quote or
    // backslash in a label value is escaped (it used to end the value and break the page).
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? \S+$/;
    for (const line of text.split("\n")) if (line && !line.startsWith("#")) assert.match(line, sample);
    assert.ok(text.includes('triage_requests_total{tier="mid \\"q\\" \\\\x"} 1\n'), text);
    assert.ok(text.includes('triage_deployment_in_flight{tier="mid \\"q\\" \\\\x",deployment="m"} 0\n'), text);
  } finally {
    await t.cleanup();
  }
  // A CR LF in a name used to pass `check` and start a header of its own in every answer.
  const dir = mkdtempSync(path.join(tmpdir(), "triage-names-"));
  try {
    for (const [bad, key] of [
      [[{ ...odd[0], name: JSON.stringify("open\r\nx-evil: 1") }, odd[1]], "tiers[0].name"],
      [[odd[0], { ...odd[1], deployments: [{ name: JSON.stringify("m\n"), sim: sim(4), catalog: "claude-sonnet-4.6" }] }], "tiers[1].deployments[0].name"],
    ]) {
      const file = path.join(dir, "c.yaml");
      writeFileSync(file, config({ tiers: bad }).replaceAll("${LEDGER}", path.join(dir, "l.db")));
      const r = spawnSync(triageBin, ["check", "--config", file], { encoding: "utf8" });
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`${key.replace(/[[\].]/g, "\\$&")}: must not contain control characters`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("x-triage-route says when the decided tier could not take the request and where it went instead", async () => {
  // Until 2026-12-07 the route said only the decision ("default tier=open") while the answer came
  // from mid: the capability filter's detour was visible in x-triage-tier alone.
  const image = { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } };
  const detourTiers = (open) => [
    { name: "open", deployments: [{ name: "o", sim: sim(4), catalog: open }] },
    { name: "mid", deployments: [{ name: "m", sim: sim(4), catalog: "claude-sonnet-4.6" }] },
  ];
  const ask = async (t, model, content) => {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const { response } = await openai.chat.completions.create({ model, messages: [{ role: "user", content }] }).withResponse();
    return [utf8(response.headers.get("x-triage-route")), response.headers.get("x-triage-tier")];
  };
  // deepseek-v4 takes text only.
  let t = await startTriage(config({ tiers: detourTiers("deepseek-v4") }));
  try {
    assert.deepEqual(await ask(t, "auto", "hi"), ["default tier=open", "open"]);
    assert.deepEqual(await ask(t, "auto", [{ type: "text", text: "what is this?" }, image]), ["default tier=open; open cannot take image input → mid", "mid"]);
    assert.deepEqual(await ask(t, "open", [image]), ["pinned tier=open; open cannot take image input → mid", "mid"]);
    assert.equal(t.rows().at(-1).route, "pinned tier=open; open cannot take image input → mid");
  } finally {
    await t.stop();
  }
  // gemma-4-e2b's window is 128K tokens, claude-sonnet-4.6's 200K: a 150,000-token prompt (chars / 4).
  t = await startTriage(config({ tiers: detourTiers("gemma-4-e2b"), extra: `routing: {router: "length", thresholds: [0.9999999]}\n` }));
  try {
    const [route, tier] = await ask(t, "auto", "word ".repeat(120000));
    assert.match(route, /^length score=0\.\d+ → open; open context window too small for about 150000 tokens → mid$/);
    assert.equal(tier, "mid");
  } finally {
    await t.stop();
  }
});
