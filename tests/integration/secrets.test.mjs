// Secrets: the deployment keys (api_key_env) never reach a client, a log line, /metrics, /readyz or
// the ledger, whatever an upstream echoes and wherever it echoes it; a client's own credentials
// and headers are never forwarded upstream; a base_url carrying credentials is refused without
// being echoed. The gateway logs at debug level here, so every log line is searched.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTriage, config, curl, triageBin } from "./lib/harness.mjs";
import { startFakeOpenAI, chunk } from "./lib/fake_openai.mjs";
import { startFakeAnthropic } from "./lib/fake_anthropic.mjs";

const OPENAI_KEY = "sk-proj-SECRETopenaiKEY0123456789abcdef";
const ANTHROPIC_KEY = "sk-ant-api03-SECRETanthropicKEY0123456789";
const CLIENT_KEY = "sk-client-CLIENTKEY0123456789xyz";
const msgs = [{ role: "user", content: "Hello" }];
// The key the upstream was sent (either header), as a misbehaving upstream would echo it.
const keyOf = (req) => req.headers["x-api-key"] || (req.headers.authorization || "").replace("Bearer ", "");

describe("secrets", () => {
  let oa, an, bare, t;
  before(async () => {
    oa = await startFakeOpenAI();
    an = await startFakeAnthropic();
    bare = await startFakeOpenAI();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "gemma", url: oa.url, catalog: "gemma-4-31b", api_key_env: "TRIAGE_IT_OA_KEY" }] },
          { name: "nokey", deployments: [{ name: "bare", url: bare.url, catalog: "gemma-4-31b" }] },
          { name: "frontier", deployments: [{ name: "claude", provider: "anthropic", url: an.url, catalog: "claude-opus-4.7", api_key_env: "TRIAGE_IT_AN_KEY" }] },
        ],
        // No breaker or cool-down in the way: every request reaches its upstream.
        extra:
          "log_level: debug\nrouting: {fallback: none}\nretry: {max_attempts: 1, cooldown_max_ms: 0}\n" +
          "breaker: {consecutive_failures: 1000000, min_requests: 1000000}\n",
      }),
      { env: { TRIAGE_IT_OA_KEY: OPENAI_KEY, TRIAGE_IT_AN_KEY: ANTHROPIC_KEY } },
    );
  });
  after(async () => {
    await t.cleanup();
    await oa.close();
    await bare.close();
    an.server.close();
  });

  // Neither key, nor a recognisable part of one, in anything triage showed or stored since `mark`
  // (taken by mark()), nor in `extra` (what the clients got).
  const mark = () => ({ log: t.stderr().length, rows: t.rows().length });
  async function assertNoKeyAnywhere(since, extra) {
    const places = {
      extra,
      stderr: t.stderr().slice(since.log),
      ledger: JSON.stringify(t.rows().slice(since.rows)),
      metrics: (await curl([`${t.url}/metrics`])).raw,
      readyz: (await curl([`${t.url}/readyz`])).raw,
    };
    for (const [where, text] of Object.entries(places))
      for (const needle of ["SECRETopenai", "SECRETanthropic"]) assert.ok(!text.includes(needle), `${needle} in ${where}:\n${text.slice(0, 2000)}`);
  }

  test("a client's credentials and headers never reach the upstream; a deployment without api_key_env sends no key", async () => {
    const headers = {
      "anthropic-beta": "client-beta",
      "openai-organization": "org-CLIENT",
      "openai-project": "proj-CLIENT",
      cookie: "session=CLIENT",
      "proxy-authorization": "Basic CLIENT",
      "x-forwarded-for": "10.9.9.9",
    };
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, defaultHeaders: headers });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: CLIENT_KEY, maxRetries: 0, defaultHeaders: headers });
    for (const model of ["open", "nokey", "frontier"]) {
      await openai.chat.completions.create({ model, messages: msgs });
      await anthropic.messages.create({ model, max_tokens: 10, messages: msgs });
    }
    // Hop-by-hop fields (and one the client names in Connection) stop at the gateway too.
    const r = await curl([`${t.url}/v1/chat/completions`, "-H", `authorization: Bearer ${CLIENT_KEY}`, "-H", "connection: keep-alive, x-hop", "-H", "x-hop: CLIENT", "-H", "te: trailers", "-H", "content-type: application/json", "-d", JSON.stringify({ model: "nokey", messages: msgs })]);
    assert.equal(r.status, 200);
    const posts = (f) => f.requests.filter((q) => q.method === "POST");
    const own = {
      oa: ["accept", "authorization", "content-length", "content-type", "host", "user-agent"],
      bare: ["accept", "content-length", "content-type", "host", "user-agent"],
      an: ["accept", "anthropic-version", "content-length", "content-type", "host", "user-agent", "x-api-key"],
    };
    for (const [name, fake] of Object.entries({ oa, bare, an })) {
      assert.ok(posts(fake).length >= 2, name);
      for (const q of posts(fake)) {
        assert.deepEqual(Object.keys(q.headers).sort(), own[name], `${name} got ${JSON.stringify(q.headers)}`);
        assert.ok(!JSON.stringify(q.headers).includes("CLIENT"), name);
        assert.ok(!q.raw.includes("CLIENT"), name);
      }
    }
    assert.ok(posts(oa).every((q) => q.headers.authorization === `Bearer ${OPENAI_KEY}`));
    assert.ok(posts(an).every((q) => q.headers["x-api-key"] === ANTHROPIC_KEY));
    assert.ok(!t.stderr().includes("CLIENTKEY"), "the client's key is never logged");
  });

  test("an upstream echoing its key in a stream answer's content-type: masked in the error, logs, ledger", async () => {
    const since = mark();
    // The answer to a stream request is not SSE: triage names the content-type it got, a value
    // the upstream chose (here a proxy reflecting the key it was sent).
    const echo = (req, res) => {
      res.writeHead(200, { "content-type": `application/json; key=${keyOf(req)}` });
      res.end("{}");
    };
    oa.behave(echo);
    an.handler = echo;
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    let seen = "";
    for (const model of ["open", "frontier"]) {
      await assert.rejects(
        (async () => {
          for await (const _ of await openai.chat.completions.create({ model, messages: msgs, stream: true }));
        })(),
        (e) => {
          assert.equal(e.status, 502);
          assert.match(e.message, /upstream answered a stream request with content-type 'application\/json; key=\[redacted\]'/);
          seen += e.message;
          return true;
        },
      );
      await assert.rejects(
        (async () => {
          for await (const _ of await anthropic.messages.create({ model, max_tokens: 10, messages: msgs, stream: true }));
        })(),
        (e) => {
          assert.equal(e.status, 502);
          seen += e.message;
          return true;
        },
      );
    }
    oa.behave((req, res, body) => oa.reply(req, res, body, {}));
    an.handler = null;
    await assertNoKeyAnywhere(since, seen);
  });

  test("an upstream echoing its key in error bodies, HTML pages and stream error events: masked everywhere", async () => {
    const since = mark();
    const modes = {
      json401: (req, res, k) => {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${k}`, type: "invalid_request_error", code: "invalid_api_key" } }));
      },
      json400: (req, res, k) => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `bad request from ${k}`, type: k, code: k } }));
      },
      fastapi400: (req, res) => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ detail: `headers: authorization=${req.headers.authorization} x-api-key=${req.headers["x-api-key"]}` }));
      },
      html500: (req, res, k) => {
        res.writeHead(500, { "content-type": "text/html" });
        res.end(`<html><body><h1>Internal Server Error</h1><pre>Authorization: Bearer ${k}</pre></body></html>`);
      },
      sseErrorMidStream: (req, res, k) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        if (req.headers["x-api-key"]) {
          const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
          res.write(ev("message_start", { message: { id: "m", type: "message", role: "assistant", model: "x", content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 1 } } }));
          res.write(ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
          res.write(ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "partial" } }));
          res.end(ev("error", { error: { type: "api_error", message: `key ${k} expired` } }));
        } else {
          res.write(`data: ${JSON.stringify(chunk("m", { role: "assistant", content: "partial" }))}\n\n`);
          res.end(`data: ${JSON.stringify({ error: { message: `key ${k} expired`, type: k, code: k } })}\n\n`);
        }
      },
    };
    let seen = "";
    for (const [name, fn] of Object.entries(modes)) {
      oa.behave((req, res) => fn(req, res, keyOf(req)));
      an.handler = (req, res) => fn(req, res, keyOf(req));
      for (const route of ["/v1/chat/completions", "/v1/messages"])
        for (const model of ["open", "frontier"])
          for (const stream of [false, true]) {
            const r = await curl([`${t.url}${route}`, "-H", "content-type: application/json", "-d", JSON.stringify({ model, stream, max_tokens: 10, messages: msgs })]);
            assert.ok(r.status >= 400 || /partial/.test(r.body), `${name} ${route} ${model} ${stream}: ${r.status}`);
            seen += r.raw;
          }
    }
    oa.behave((req, res, body) => oa.reply(req, res, body, {}));
    an.handler = null;
    assert.match(seen, /\[redacted\]/);
    await assertNoKeyAnywhere(since, seen);
  });
});

describe("credentials in base_url", () => {
  // userinfo and a query key (Gemini's ?key=) were shown by `check`, and the userinfo reached
  // clients and logs in DNS errors; both are refused now, and the value never echoed.
  for (const url of ["http://user:hunter2pass@127.0.0.1:9/v1", "http://127.0.0.1:9/v1?key=hunter2pass"]) {
    test(`${url.includes("@") ? "userinfo" : "a query"} is refused by check and serve without echo`, () => {
      const dir = mkdtempSync(path.join(tmpdir(), "triage-secrets-"));
      try {
        const file = path.join(dir, "c.yaml");
        writeFileSync(file, config({ tiers: [{ name: "open", deployments: [{ name: "d", url, catalog: "gemma-4-31b" }] }] }).replace("${LEDGER}", path.join(dir, "l.db")));
        for (const args of [["check", "--config", file], ["serve", "--config", file, "--listen", "127.0.0.1:0"]]) {
          const r = spawnSync(triageBin, args, { encoding: "utf8", timeout: 10000 });
          assert.equal(r.status, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, /tiers\[0\]\.deployments\[0\]\.base_url: must not contain/);
          assert.ok(!(r.stdout + r.stderr).includes("hunter2"), r.stdout + r.stderr);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("credentials in a ledger URL", () => {
  // Someone trying a PostgreSQL ledger: the refusal names the URL without its password.
  const pg = "postgres://triage:hunter2pass@db.internal/triage";
  test("check (storage.ledger) and demo (--ledger) refuse it without the password", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "triage-secrets-"));
    try {
      const file = path.join(dir, "c.yaml");
      writeFileSync(file, config({ tiers: [{ name: "open", deployments: [{ name: "d", sim: {}, catalog: "gemma-4-31b" }] }] }).replace("sqlite://${LEDGER}", pg));
      for (const args of [["check", "--config", file], ["demo", "--listen", "127.0.0.1:0", "--ledger", pg]]) {
        const r = spawnSync(triageBin, args, { encoding: "utf8", timeout: 10000 });
        assert.notEqual(r.status, 0, `${args[0]}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /'postgres:\/\/\[redacted\]@db\.internal\/triage'/);
        assert.ok(!(r.stdout + r.stderr).includes("hunter2"), r.stdout + r.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Regression: keys were masked by their exact value only. An upstream echoing a key with
// characters JSON may escape ('/' as '\/', '+' and '=' as '\u002b' '\u003d', as PHP and some
// proxies do) or percent-encoded (a URL it logs) in a body triage shows raw passed unmasked to
// the client, the log and the ledger. Base64-style keys (Azure, many self-hosted gateways) hold
// all three.
describe("keys echoed escaped or percent-encoded", () => {
  const KEY = "tok/SECRETslash+SECRETplus=";
  let oa, an, t;
  before(async () => {
    oa = await startFakeOpenAI();
    an = await startFakeAnthropic();
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "gemma", url: oa.url, catalog: "gemma-4-31b", api_key_env: "TRIAGE_IT_B64_KEY" }] },
          { name: "frontier", deployments: [{ name: "claude", provider: "anthropic", url: an.url, catalog: "claude-opus-4.7", api_key_env: "TRIAGE_IT_B64_KEY" }] },
        ],
        extra:
          "log_level: debug\nrouting: {fallback: none}\nretry: {max_attempts: 1, cooldown_max_ms: 0}\n" +
          "breaker: {consecutive_failures: 1000000, min_requests: 1000000}\n",
      }),
      { env: { TRIAGE_IT_B64_KEY: KEY } },
    );
  });
  after(async () => {
    await t.cleanup();
    await oa.close();
    an.server.close();
  });

  test("JSON-escaped and percent-encoded echoes of a key are masked in the client's answer, the log and the ledger, both dialects", async () => {
    const jsonEscaped = (k) => k.replaceAll("/", "\\/").replaceAll("+", "\\u002b").replaceAll("=", "\\u003D");
    const modes = {
      // No error.message: triage shows the raw body, escapes and all.
      escapedDetail: (req, res, k) => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(`{"detail":"invalid credentials ${jsonEscaped(k)}"}`);
      },
      percentInMessage: (req, res, k) => {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `denied GET /v1/models?api_key=${encodeURIComponent(k)}`, type: "authentication_error" } }));
      },
      percentLowerText: (req, res, k) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`upstream proxy failed for key=${encodeURIComponent(k).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`);
      },
      escapedStreamError: (req, res, k) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        if (req.headers["x-api-key"]) {
          const ev = (type, data) => `event: ${type}\ndata: ${data}\n\n`;
          res.write(ev("message_start", JSON.stringify({ type: "message_start", message: { id: "m", type: "message", role: "assistant", model: "x", content: [], stop_reason: null, usage: { input_tokens: 1, output_tokens: 1 } } })));
          res.end(ev("error", `{"type":"error","error":{"type":"api_error","detail":"key ${jsonEscaped(k)} expired"}}`));
        } else {
          res.end(`data: {"error":{"detail":"key ${jsonEscaped(k)} expired"}}\n\n`);
        }
      },
    };
    const since = { log: t.stderr().length, rows: t.rows().length };
    let seen = "";
    for (const [name, fn] of Object.entries(modes)) {
      oa.behave((req, res) => fn(req, res, keyOf(req)));
      an.handler = (req, res) => fn(req, res, keyOf(req));
      for (const route of ["/v1/chat/completions", "/v1/messages"])
        for (const model of ["open", "frontier"])
          for (const stream of [false, true]) {
            const r = await curl([`${t.url}${route}`, "-H", "content-type: application/json", "-d", JSON.stringify({ model, stream, max_tokens: 10, messages: msgs })]);
            assert.ok(r.status >= 400 || /error/.test(r.body), `${name} ${route} ${model} ${stream}: ${r.status} ${r.body}`);
            seen += r.raw;
          }
    }
    // The upstreams did get the key; the answers said something about it.
    assert.ok(oa.requests.some((q) => q.headers.authorization === `Bearer ${KEY}`));
    const places = { clients: seen, stderr: t.stderr().slice(since.log), ledger: JSON.stringify(t.rows().slice(since.rows)) };
    for (const [where, text] of Object.entries(places))
      for (const needle of ["SECRETslash", "SECRETplus"]) {
        const at = text.indexOf(needle);
        assert.ok(at < 0, `${needle} in ${where}: ...${text.slice(Math.max(0, at - 300), at + 100)}`);
      }
    assert.match(seen, /\[redacted\]/);
  });
});

// Regression: a deployment's extra_body (where some providers take a key) was shown whole by
// `triage check` and in config errors, and an upstream echoing the request body in an error
// passed its values to the client, the log and the ledger. Values under a secret-looking name
// (key, token, secret, password, authorization, any case, any depth) are masked.
describe("credentials in extra_body", () => {
  const shaping = [
    "        request:\n",
    "          extra_body:\n",
    "            api_key: SECRETbodykey1\n",
    "            auth: {Authorization: \"Bearer SECRETnested2\"}\n",
    "            creds: [{Password: SECRETlist3}]\n",
    "            top_k: 20\n",
    "            min_tokens: 5\n",
    "            keep_alive: 5m\n",
  ].join("");
  const secretIn = (text) => ["SECRETbodykey1", "SECRETnested2", "SECRETlist3"].find((s) => text.includes(s));
  const writeConfig = (dir, url, more) => {
    const file = path.join(dir, "c.yaml");
    writeFileSync(file, config({ tiers: [{ name: "open", deployments: [{ name: "d", url, catalog: "gemma-4-31b", more }] }] }).replace("${LEDGER}", path.join(dir, "l.db")));
    return file;
  };

  test("check masks the secret-looking members and shows the others", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "triage-secrets-"));
    try {
      const r = spawnSync(triageBin, ["check", "--config", writeConfig(dir, "http://127.0.0.1:9/v1", shaping)], { encoding: "utf8", timeout: 10000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(secretIn(r.stdout + r.stderr), undefined, r.stdout);
      const line = r.stdout.split("\n").find((l) => l.includes("extra body"));
      assert.ok(line, r.stdout);
      const shown = JSON.parse(line.slice(line.indexOf("extra body ") + 11));
      assert.deepEqual(shown, { api_key: "[redacted]", auth: { Authorization: "[redacted]" }, creds: [{ Password: "[redacted]" }], top_k: 20, min_tokens: 5, keep_alive: "5m" });
      // A value refused as a number names itself, except under such a name.
      const bad = spawnSync(triageBin, ["check", "--config", writeConfig(dir, "http://127.0.0.1:9/v1", "        request: {extra_body: {secret_pin: 99999999999999999999999991, top_k: 99999999999999999999999992}}\n")], { encoding: "utf8", timeout: 10000 });
      assert.equal(bad.status, 2, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /extra_body\.secret_pin: integer '\[redacted\]' is out of range/);
      assert.match(bad.stderr, /extra_body\.top_k: integer '99999999999999999999999992' is out of range/);
      assert.ok(!bad.stderr.includes("99999999999999999999999991"), bad.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an upstream echoing the request body in an error: masked for the client, in the log, the ledger, /readyz", async () => {
    const fake = await startFakeOpenAI();
    const t = await startTriage(
      config({
        tiers: [{ name: "open", deployments: [{ name: "d", url: fake.url, catalog: "gemma-4-31b", more: shaping }] }],
        extra: "log_level: debug\nretry: {max_attempts: 1}\n",
      }),
    );
    try {
      fake.behave((req, res, body) => {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ detail: `invalid request: ${JSON.stringify(body)}` }));
      });
      const r = await curl([`${t.url}/v1/chat/completions`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", messages: msgs })]);
      const a = await curl([`${t.url}/v1/messages`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "open", max_tokens: 10, messages: msgs })]);
      // The upstream did get them, and said so.
      assert.equal(secretIn(fake.requests.at(-1).raw), "SECRETbodykey1");
      assert.equal(r.status, 400, r.raw);
      assert.equal(a.status, 400, a.raw);
      const places = { openai: r.raw, anthropic: a.raw, stderr: t.stderr(), ledger: JSON.stringify(t.rows()), readyz: (await curl([`${t.url}/readyz`])).raw, metrics: (await curl([`${t.url}/metrics`])).raw };
      for (const [where, text] of Object.entries(places)) assert.equal(secretIn(text), undefined, `${where}: ${text.slice(0, 2000)}`);
      assert.match(r.body + a.body, /\[redacted\]/);
    } finally {
      await t.cleanup();
      await fake.close();
    }
  });
});
