// The live cascade and tool calls (routing.cascade_tool_calls): a cheap answer that only calls
// tools is checked against the request's tools instead of being judged as an empty text; a
// valid call is released, an invalid one escalates. Through the official SDKs, streamed or not,
// with OpenAI and Anthropic cheap upstreams.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, repoRoot, triageBin } from "./lib/harness.mjs";
import { startFakeOpenAI, chunk } from "./lib/fake_openai.mjs";
import { startFakeAnthropic } from "./lib/fake_anthropic.mjs";

const model = path.join(repoRoot, "models/cascade-v2.model");
// Header values are bytes; the SDKs decode them as latin1.
const utf8 = (v) => Buffer.from(v, "latin1").toString("utf8");

const schema = { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] };
const openaiTools = [
  { type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: schema } },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
const anthropicTools = [
  { name: "get_weather", description: "Weather of a city", input_schema: schema },
  { name: "get_time", input_schema: { type: "object", properties: {} } },
];
const messages = [{ role: "user", content: "What is the weather in Paris right now?" }];

// triage_route_decisions_total from /metrics as {"decision/tier": count}.
async function decisions(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {};
  for (const m of text.matchAll(/^triage_route_decisions_total\{decision="(\w+)",tier="(\w+)"\} (\d+)$/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}

// A cheap OpenAI upstream that answers with the tool call in `fake.call` ({name, args: the
// arguments string, finish}); streamed, the arguments come in 3-character fragments.
async function toolCallingOpenAI() {
  const fake = await startFakeOpenAI();
  fake.call = { name: "get_weather", args: '{"city":"Paris"}', finish: "tool_calls" };
  fake.behave(async (req, res, body) => {
    const { name, args, finish } = fake.call;
    const usage = { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 };
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "chatcmpl-tools",
          object: "chat.completion",
          created: 1700000000,
          model: body.model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "call_1", type: "function", function: { name, arguments: args } }] },
              logprobs: null,
              finish_reason: finish,
            },
          ],
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: ${JSON.stringify(chunk(body.model, { role: "assistant", content: null }))}\n\n`);
    res.write(`data: ${JSON.stringify(chunk(body.model, { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name, arguments: "" } }] }))}\n\n`);
    for (let i = 0; i < args.length; i += 3)
      res.write(`data: ${JSON.stringify(chunk(body.model, { tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + 3) } }] }))}\n\n`);
    res.write(`data: ${JSON.stringify(chunk(body.model, {}, finish))}\n\n`);
    if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ ...chunk(body.model, {}), choices: [], usage })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  return fake;
}

// The four clients: each asks with the weather tools and returns what it got: the tool call
// ({name, input} or null), the text, and the response headers.
function clients(url) {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
  const anthropic = new Anthropic({ baseURL: url, apiKey: "x", maxRetries: 0 });
  const fromOpenAI = (msg) => {
    const c = msg.tool_calls?.[0];
    return { call: c ? { name: c.function.name, input: c.function.arguments ? JSON.parse(c.function.arguments) : {} } : null, text: msg.content || "" };
  };
  const fromAnthropic = (msg) => {
    const c = msg.content.find((b) => b.type === "tool_use");
    return { call: c ? { name: c.name, input: c.input } : null, text: msg.content.filter((b) => b.type === "text").map((b) => b.text).join("") };
  };
  return {
    "openai": async () => {
      const { data, response } = await openai.chat.completions.create({ model: "auto", messages, tools: openaiTools }).withResponse();
      return { ...fromOpenAI(data.choices[0].message), headers: response.headers };
    },
    "openai stream": async () => {
      const s = await openai.chat.completions.create({ model: "auto", messages, tools: openaiTools, stream: true, stream_options: { include_usage: true } }).withResponse();
      // The message the chunks make: text, and tool calls joined by index.
      const msg = { content: "", tool_calls: [] };
      for await (const c of s.data) {
        const d = c.choices[0]?.delta;
        if (!d) continue;
        msg.content += d.content || "";
        for (const tc of d.tool_calls || []) {
          const call = (msg.tool_calls[tc.index] ||= { function: { name: "", arguments: "" } });
          call.function.name += tc.function?.name || "";
          call.function.arguments += tc.function?.arguments || "";
        }
      }
      return { ...fromOpenAI(msg), headers: s.response.headers };
    },
    "anthropic": async () => {
      const { data, response } = await anthropic.messages.create({ model: "auto", max_tokens: 200, messages, tools: anthropicTools }).withResponse();
      return { ...fromAnthropic(data), headers: response.headers };
    },
    "anthropic stream": async () => {
      const s = anthropic.messages.stream({ model: "auto", max_tokens: 200, messages, tools: anthropicTools });
      const msg = await s.finalMessage();
      return { ...fromAnthropic(msg), headers: (await s.withResponse()).response.headers };
    },
  };
}

const tiersWith = (cheap, strong, provider = "openai") => [
  { name: "open", deployments: [{ name: "cheap", url: cheap.url, catalog: "gemma-4-31b", provider }] },
  { name: "mid", deployments: [{ name: "strong", url: strong.url, catalog: "claude-sonnet-4.6" }] },
];

test("live cascade: a valid cheap tool call is released unjudged, an invalid one escalates (OpenAI cheap upstream, both SDKs, streamed or not)", async () => {
  const cheap = await toolCallingOpenAI();
  const strong = await startFakeOpenAI();
  const t = await startTriage(config({ tiers: tiersWith(cheap, strong), extra: `routing: {router: "cascade:${model}", thresholds: [0.5]}\n` }));
  try {
    const run = clients(t.url);
    const expected = [];
    // Valid: released from the cheap tier; the strong upstream is never called.
    for (const [name, ask] of Object.entries(run)) {
      const got = await ask();
      assert.deepEqual(got.call, { name: "get_weather", input: { city: "Paris" } }, name);
      assert.equal(got.headers.get("x-triage-tier"), "open", name);
      assert.equal(utf8(got.headers.get("x-triage-route")), "cascade tool call checked → open", name);
      expected.push(["open", "cascade tool call checked → open"]);
    }
    assert.equal(strong.requests.length, 0, "the strong tier got no call");
    assert.equal(cheap.requests.length, 4);
    // Invalid: escalated; the client gets the strong tier's answer.
    const invalid = [
      [{ name: "lookup", args: '{"city":"Paris"}', finish: "tool_calls" }, 'unknown tool "lookup"'],
      [{ name: "get_weather", args: '{"unit":"secret-unit"}', finish: "tool_calls" }, 'missing required "city"'],
      [{ name: "get_weather", args: "[1,2]", finish: "tool_calls" }, "arguments are not a JSON object"],
      // Cut at max_tokens mid-arguments: they do not parse.
      [{ name: "get_weather", args: '{"city":"Pa', finish: "length" }, "arguments are not a JSON object"],
    ];
    for (const [call, why] of invalid) {
      // (Anthropic clients get the cheap answer translated; arguments that are no JSON object
      // are checked as such there too.)
      for (const name of Object.keys(run)) {
        cheap.call = call;
        const before = strong.requests.length;
        const got = await run[name]();
        const route = `cascade tool call invalid (${why}) → mid`;
        assert.equal(got.headers.get("x-triage-tier"), "mid", `${name}: ${why}`);
        assert.equal(utf8(got.headers.get("x-triage-route")), route, name);
        assert.equal(got.call, null, name);
        assert.match(got.text, /Hello from the fake\.|Hello/, name);
        assert.equal(strong.requests.length, before + 1, `${name}: the strong tier got the call`);
        expected.push(["mid", route]);
      }
    }
    const rows = t.rows();
    assert.equal(rows.length, expected.length, "one row per request");
    rows.forEach((r, i) => {
      assert.equal(r.tier, expected[i][0]);
      assert.equal(r.route, expected[i][1]);
      assert.equal(r.route_score, null, "a decision of the tool check alone has no judge score");
      assert.equal(r.status, 200);
      // Released: the cheap call's cost; escalated: both calls (the cheap one carried).
      assert.equal(r.attempts, r.tier === "open" ? 1 : 2);
      assert.ok(r.cost_micros > 0);
      assert.doesNotMatch(r.route, /secret-unit|Paris/, "argument values are never echoed");
    });
    const open = rows.find((r) => r.tier === "open");
    const mid = rows.find((r) => r.tier === "mid");
    assert.ok(mid.cost_micros > open.cost_micros, `${mid.cost_micros} vs ${open.cost_micros}`);
    assert.doesNotMatch(t.stderr(), /secret-unit/);
    const d = await decisions(t.url);
    assert.equal(d["cascade_released/open"], 4);
    assert.equal(d["cascade_escalated/mid"], expected.length - 4);
    // calibrate --ledger reads judge scores only: these rows have none.
    const cal = spawnSync(triageBin, ["calibrate", "--ledger", `sqlite://${t.ledger}`, "--router", `cascade:${model}`, "--split", "70/30"], { encoding: "utf8" });
    assert.equal(cal.status, 1, cal.stdout);
    assert.match(cal.stderr, /no cascade scores in .* \(scored rows by kind: none\)/);
    // A text answer is judged as before, and only its score is read.
    cheap.behave(async (req, res, body) => cheap.reply(req, res, body, { text: "The answer is 84." }));
    const text = await new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 }).chat.completions
      .create({ model: "auto", messages: [{ role: "user", content: "What is 12 * 7?" }] })
      .withResponse();
    assert.match(utf8(text.response.headers.get("x-triage-route")), /^cascade score=\d\.\d\d (<|>=) 0\.50 → (open|mid)$/);
    assert.ok(t.rows().at(-1).route_score >= 0);
    const cal2 = spawnSync(triageBin, ["calibrate", "--ledger", `sqlite://${t.ledger}`, "--router", `cascade:${model}`, "--split", "70/30"], { encoding: "utf8" });
    assert.equal(cal2.status, 0, cal2.stderr);
    assert.match(cal2.stdout, /^# from 1 cascade scores in sqlite:/);
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("live cascade: Anthropic cheap upstream's tool_use is checked in the client's dialect, both SDKs, streamed or not", async () => {
  const cheap = await startFakeAnthropic();
  const strong = await startFakeOpenAI();
  const t = await startTriage(config({ tiers: tiersWith(cheap, strong, "anthropic"), extra: `routing: {router: "cascade:${model}", thresholds: [0.5]}\n` }));
  try {
    const run = clients(t.url);
    cheap.stop_reason = "tool_use";
    // Two calls, both valid (get_time has no required keys).
    cheap.content = [
      { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      { type: "tool_use", id: "toolu_2", name: "get_time", input: {} },
    ];
    for (const [name, ask] of Object.entries(run)) {
      const got = await ask();
      assert.deepEqual(got.call, { name: "get_weather", input: { city: "Paris" } }, name);
      assert.equal(got.headers.get("x-triage-tier"), "open", name);
      assert.equal(utf8(got.headers.get("x-triage-route")), "cascade tool calls checked → open", name);
    }
    assert.equal(strong.requests.length, 0);
    // A required key missing in the second call: escalated.
    cheap.content = [
      { type: "tool_use", id: "toolu_1", name: "get_time", input: {} },
      { type: "tool_use", id: "toolu_2", name: "get_weather", input: { unit: "C" } },
    ];
    for (const [name, ask] of Object.entries(run)) {
      const got = await ask();
      assert.equal(got.headers.get("x-triage-tier"), "mid", name);
      assert.equal(utf8(got.headers.get("x-triage-route")), 'cascade tool call invalid (missing required "city") → mid', name);
      assert.equal(got.call, null, name);
    }
    assert.equal(strong.requests.length, 4);
    // tool_choice forcing get_time while the model calls get_weather: escalated.
    cheap.content = [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }];
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const forced = await anthropic.messages
      .create({ model: "auto", max_tokens: 200, messages, tools: anthropicTools, tool_choice: { type: "tool", name: "get_time" } })
      .withResponse();
    assert.equal(utf8(forced.response.headers.get("x-triage-route")), "cascade tool call invalid (tool_choice asks for get_time) → mid");
    const rows = t.rows();
    assert.equal(rows.length, 9);
    for (const r of rows) assert.equal(r.route_score, null, r.route);
    const d = await decisions(t.url);
    assert.equal(d["cascade_released/open"], 4);
    assert.equal(d["cascade_escalated/mid"], 5);
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

// The values of the arguments against the tool's JSON Schema: a wrongly typed value, one
// outside an enum, a nested one of the wrong type escalate (the reason names the path, never the
// value); correctly typed ones are released.
const typedSchema = {
  type: "object",
  properties: {
    city: { type: "string" },
    unit: { type: "string", enum: ["c", "f"] },
    days: { type: "integer" },
    location: { $ref: "#/$defs/Point" },
  },
  required: ["city"],
  additionalProperties: false,
  $defs: { Point: { type: "object", properties: { lat: { type: "number" }, lon: { type: "number" } }, required: ["lat", "lon"] } },
};
const typedCases = [
  [{ city: 42 }, "city: expected string"],
  [{ city: "Paris", unit: "kelvin" }, "unit: not one of the enum"],
  [{ city: "Paris", days: 2.5 }, "days: expected integer"],
  [{ city: "Paris", location: { lat: "48.8", lon: 2.3 } }, "location.lat: expected number"],
  [{ city: "Paris", secret_key: "s3cr3t" }, 'unexpected key "secret_key"'],
];
const typedValid = { city: "Paris", unit: "c", days: 3, location: { lat: 48.8, lon: 2 } };

test("live cascade: argument values are checked against the schema (official openai client, streamed or not)", async () => {
  const cheap = await toolCallingOpenAI();
  const strong = await startFakeOpenAI();
  const t = await startTriage(config({ tiers: tiersWith(cheap, strong), extra: `routing: {router: "cascade:${model}", thresholds: [0.5]}\n` }));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0 });
    const tools = [{ type: "function", function: { name: "get_weather", parameters: typedSchema } }];
    const ask = async (stream) => {
      if (!stream) {
        const { data, response } = await openai.chat.completions.create({ model: "auto", messages, tools }).withResponse();
        return { route: utf8(response.headers.get("x-triage-route")), tier: response.headers.get("x-triage-tier"), calls: data.choices[0].message.tool_calls?.length ?? 0 };
      }
      const s = await openai.chat.completions.create({ model: "auto", messages, tools, stream: true }).withResponse();
      let calls = 0;
      for await (const c of s.data) calls += (c.choices[0]?.delta?.tool_calls || []).filter((tc) => tc.id).length;
      return { route: utf8(s.response.headers.get("x-triage-route")), tier: s.response.headers.get("x-triage-tier"), calls };
    };
    for (const stream of [false, true]) {
      // 3.0 is an integer in JSON Schema.
      for (const args of [JSON.stringify(typedValid), '{"city":"Paris","days":3.0}']) {
        cheap.call = { name: "get_weather", args, finish: "tool_calls" };
        const got = await ask(stream);
        assert.equal(got.route, "cascade tool call checked → open", `${stream} ${args}`);
        assert.equal(got.tier, "open");
        assert.equal(got.calls, 1);
      }
      for (const [input, why] of typedCases) {
        cheap.call = { name: "get_weather", args: JSON.stringify(input), finish: "tool_calls" };
        const before = strong.requests.length;
        const got = await ask(stream);
        assert.equal(got.route, `cascade tool call invalid (${why}) → mid`, `${stream} ${why}`);
        assert.equal(got.tier, "mid");
        assert.equal(got.calls, 0, "the strong tier's text answer, not the cheap call");
        assert.equal(strong.requests.length, before + 1);
      }
    }
    for (const r of t.rows()) assert.doesNotMatch(r.route, /s3cr3t|kelvin|48\.8/, "argument values are never echoed");
    assert.doesNotMatch(t.stderr(), /s3cr3t/);
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("live cascade: argument values are checked against the input_schema (@anthropic-ai/sdk, Anthropic cheap upstream, streamed or not)", async () => {
  const cheap = await startFakeAnthropic();
  const strong = await startFakeOpenAI();
  const t = await startTriage(config({ tiers: tiersWith(cheap, strong, "anthropic"), extra: `routing: {router: "cascade:${model}", thresholds: [0.5]}\n` }));
  try {
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const tools = [{ name: "get_weather", input_schema: typedSchema }];
    const ask = async (stream, extra = {}) => {
      const params = { model: "auto", max_tokens: 200, messages, tools, ...extra };
      if (!stream) {
        const { data, response } = await anthropic.messages.create(params).withResponse();
        return { route: utf8(response.headers.get("x-triage-route")), tier: response.headers.get("x-triage-tier"), msg: data };
      }
      const s = anthropic.messages.stream(params);
      const msg = await s.finalMessage();
      const { response } = await s.withResponse();
      return { route: utf8(response.headers.get("x-triage-route")), tier: response.headers.get("x-triage-tier"), msg };
    };
    cheap.stop_reason = "tool_use";
    for (const stream of [false, true]) {
      cheap.content = [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: typedValid }];
      let got = await ask(stream);
      assert.equal(got.route, "cascade tool call checked → open", String(stream));
      assert.deepEqual(got.msg.content.find((b) => b.type === "tool_use").input, typedValid);
      for (const [input, why] of typedCases) {
        cheap.content = [{ type: "tool_use", id: "toolu_1", name: "get_weather", input }];
        got = await ask(stream);
        assert.equal(got.route, `cascade tool call invalid (${why}) → mid`, `${stream} ${why}`);
        assert.equal(got.tier, "mid");
        assert.equal(got.msg.content.some((b) => b.type === "tool_use"), false);
      }
      // Toolsets have no `name` (they were refused with 400): they reach the Anthropic upstream
      // unchanged, and a call of one of their members (toolset_name) is not an unknown tool.
      const toolsets = [
        { type: "mcp_toolset", mcp_server_name: "docs" },
        { type: "browser_toolset_20260801", configs: { navigate: { enabled: true } } },
      ];
      cheap.content = [{ type: "tool_use", id: "toolu_2", name: "navigate", toolset_name: "browser", input: { url: "https://example.com" } }];
      got = await ask(stream, { tools: [...tools, ...toolsets], mcp_servers: [{ type: "url", url: "https://mcp.example.com/sse", name: "docs" }] });
      assert.equal(got.route, "cascade tool call checked → open", String(stream));
      const sent = cheap.requests.at(-1).body;
      assert.deepEqual(sent.tools, [...tools, ...toolsets]);
      assert.deepEqual(sent.mcp_servers, [{ type: "url", url: "https://mcp.example.com/sse", name: "docs" }]);
      // Without its toolset_name the same call is unknown.
      cheap.content = [{ type: "tool_use", id: "toolu_2", name: "navigate", input: {} }];
      got = await ask(stream, { tools: [...tools, ...toolsets] });
      assert.equal(got.route, 'cascade tool call invalid (unknown tool "navigate") → mid', String(stream));
    }
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("Anthropic toolsets towards an OpenAI upstream are dropped like other server tools (@anthropic-ai/sdk)", async () => {
  const up = await toolCallingOpenAI();
  const t = await startTriage(config({ tiers: [{ name: "open", deployments: [{ name: "o", url: up.url, catalog: "gemma-4-31b" }] }] }));
  try {
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "x", maxRetries: 0 });
    const { data, response } = await anthropic.messages
      .create({ model: "auto", max_tokens: 200, messages, tools: [{ type: "mcp_toolset", mcp_server_name: "docs" }, { name: "get_weather", input_schema: schema }] })
      .withResponse();
    assert.equal(response.status, 200);
    assert.match(response.headers.get("x-triage-dropped-params") || "", /tools\.mcp_toolset/);
    assert.deepEqual(up.requests.at(-1).body.tools.map((x) => x.function.name), ["get_weather"]);
    assert.equal(data.content.find((b) => b.type === "tool_use").name, "get_weather");
  } finally {
    await t.cleanup();
    await up.close();
  }
});

test("routing.cascade_tool_calls: escalate keeps judging a tool call as an empty text; SIGHUP switches it", async () => {
  const cheap = await toolCallingOpenAI();
  const strong = await startFakeOpenAI();
  const yaml = (mode) => config({ tiers: tiersWith(cheap, strong), extra: `routing: {router: "cascade:${model}", thresholds: [0.5], cascade_tool_calls: ${mode}}\n` });
  const t = await startTriage(yaml("escalate"));
  try {
    const run = clients(t.url);
    for (const name of ["openai", "openai stream", "anthropic", "anthropic stream"]) {
      const got = await run[name]();
      assert.equal(got.headers.get("x-triage-tier"), "mid", name);
      assert.match(utf8(got.headers.get("x-triage-route")), /^cascade score=\d\.\d\d >= 0\.50 → mid$/, name);
    }
    assert.equal(strong.requests.length, 4);
    for (const r of t.rows()) assert.ok(r.route_score >= 0.5, String(r.route_score));
    // Reloaded with the routing: check from the next request on.
    writeFileSync(path.join(t.dir, "config.yaml"), yaml("check").replaceAll("${LEDGER}", t.ledger));
    t.proc.kill("SIGHUP");
    for (let i = 0; i < 100 && !/"msg":"routing reloaded"/.test(t.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(t.stderr(), /^(?=.*"msg":"routing reloaded")(?=.*"cascade_tool_calls":"check").*$/m);
    const got = await run["openai"]();
    assert.equal(utf8(got.headers.get("x-triage-route")), "cascade tool call checked → open");
    assert.equal(strong.requests.length, 4);
  } finally {
    await t.cleanup();
    await cheap.close();
    await strong.close();
  }
});

test("triage check reports a bad routing.cascade_tool_calls and explains a good one", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "triage-cascade-tools-"));
  const file = path.join(dir, "cascade-tools-check.yaml");
  const tiers = [
    { name: "open", deployments: [{ name: "o", sim: { latency_ms: 0 }, catalog: "gemma-4-31b" }] },
    { name: "mid", deployments: [{ name: "m", sim: { latency_ms: 0 }, catalog: "claude-sonnet-4.6" }] },
  ];
  const check = (mode) => {
    writeFileSync(file, config({ tiers, extra: `routing: {router: "cascade:${model}", thresholds: [0.5], cascade_tool_calls: ${mode}}\n` }).replaceAll("${LEDGER}", "/tmp/x.db"));
    return spawnSync(triageBin, ["check", "--config", file], { encoding: "utf8" });
  };
  const bad = check("judge");
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr + bad.stdout, /routing\.cascade_tool_calls: expected check or escalate, got 'judge'/);
  const good = check("escalate");
  rmSync(dir, { recursive: true, force: true });
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /\(routing\.cascade_tool_calls escalate\)/);
});

// Regression: a cheap answer whose tool-call arguments nest 200000 levels deep (OpenAI
// `arguments` sent as a JSON value, an Anthropic `input`) crashed the gateway (SIGSEGV): the
// stream readings copied the event's members and the tool check serialised OpenAI's value, both
// recursively. Such an answer is now refused before any of that reads it (an upstream answer
// nested deeper than 512 levels is upstream_bad_response), so the cheap call fails and the
// request escalates, streamed or not, in both dialects.
test("live cascade: tool-call arguments nested 200000 deep escalate instead of crashing the gateway", async () => {
  const deep = "[".repeat(200000) + "]".repeat(200000);
  const openaiCheap = await startFakeOpenAI();
  openaiCheap.behave(async (req, res, body) => {
    const call = `{"index":0,"id":"c","type":"function","function":{"name":"get_time","arguments":{"a":${deep}}}}`;
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(`{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[${call}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`);
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[${call}]},"finish_reason":null}]}\n\n`);
    res.write(`data: ${JSON.stringify(chunk(body.model, {}, "tool_calls"))}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  const anthropicCheap = await startFakeAnthropic();
  anthropicCheap.handler = (req, res, body) => {
    const use = `{"type":"tool_use","id":"t","name":"get_time","input":{"a":${deep}}}`;
    if (!body.stream) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(`{"id":"m","type":"message","role":"assistant","model":"x","content":[${use}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`);
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`event: message_start\ndata: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"x","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n`);
    res.write(`event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":${use}}\n\n`);
    res.write(`event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n`);
    res.write(`event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}}\n\n`);
    res.end(`event: message_stop\ndata: {"type":"message_stop"}\n\n`);
  };
  const strong = await startFakeOpenAI();
  try {
    for (const [cheap, provider, path, tools] of [
      [openaiCheap, "openai", "/v1/chat/completions", openaiTools],
      [anthropicCheap, "anthropic", "/v1/messages", anthropicTools],
    ]) {
      const t = await startTriage(config({ tiers: tiersWith(cheap, strong, provider), extra: `routing: {router: "cascade:${model}", thresholds: [0.5]}\n` }));
      try {
        for (const stream of [false, true]) {
          const r = await fetch(`${t.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "auto", stream, max_tokens: 50, messages, tools }),
          });
          await r.text();
          assert.equal(r.status, 200, `${provider} stream=${stream}`);
          assert.equal(utf8(r.headers.get("x-triage-route")), "cascade open failed → mid", `${provider} stream=${stream}`);
        }
        const rows = t.rows();
        assert.equal(rows.length, 2, "one row per request: the gateway is alive");
        for (const row of rows) assert.equal(row.tier, "mid");
      } finally {
        await t.stop();
      }
    }
  } finally {
    await openaiCheap.close();
    await anthropicCheap.close();
    await strong.close();
  }
});
