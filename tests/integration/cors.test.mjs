// CORS (server.cors): browser apps calling the gateway. Off by default (no CORS fields; an
// OPTIONS gets 204 with Allow, which a browser refuses for lack of them); when on, the server
// answers preflights itself and every answer to an allowed origin (JSON, errors of the server
// and of the pipeline, SSE streams) carries the CORS fields.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, startDemo, config, curl, sleep } from "./lib/harness.mjs";

const ORIGIN = "https://app.example.com";
const sim = { latency_ms: 1, ttft_ms: 1, output_tokens: 5, tokens_per_second: 100000 };
const tiers = [
  { name: "open", deployments: [{ name: "gemma-sim", sim, catalog: "gemma-4-31b" }] },
  { name: "broken", deployments: [{ name: "broken-sim", sim: { ...sim, error_rate: 1 }, catalog: "claude-sonnet-4.6" }] },
];
const base = "routing: {fallback: none}\nretry: {max_attempts: 1}\nlimits: {max_body_bytes: 65536, max_header_bytes: 4096}\n";
const corsOn = `server:\n  cors:\n    allow_origins: ["${ORIGIN}", "http://localhost:5173"]\n`;
const chat = JSON.stringify({ model: "open", messages: [{ role: "user", content: "Hi" }] });
const message = JSON.stringify({ model: "open", max_tokens: 64, messages: [{ role: "user", content: "Hi" }] });
const CORS_FIELDS = ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age", "access-control-expose-headers"];

function assertNoCors(headers, what) {
  for (const f of CORS_FIELDS) assert.equal(headers[f] ?? (headers.get ? headers.get(f) : undefined) ?? null, null, `${what}: ${f}`);
}

function list(value) {
  return (value ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
}

// A fetch that enforces CORS the way a browser does (Fetch standard, "CORS-preflight fetch" and
// "CORS check"): a request with headers that are not CORS-safelisted is preceded by a preflight
// naming them, which must succeed (2xx) and allow the origin, the method and each header; the
// request then goes with an Origin field, and its answer must allow the origin; the script sees
// only the safelisted response fields and the exposed ones. A failed check throws a TypeError,
// as fetch does in a browser. `seen` collects what happened.
function browserFetch(origin, seen = []) {
  const safelistedRequest = new Set(["accept", "accept-language", "content-language"]);
  const safelistedResponse = new Set(["cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"]);
  return async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const method = (init.method || "GET").toUpperCase();
    const names = [...headers.keys()].filter((n) => !safelistedRequest.has(n)).sort();
    if (names.length > 0 || !["GET", "HEAD", "POST"].includes(method)) {
      const pre = await fetch(url, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": method, "access-control-request-headers": names.join(",") },
      });
      seen.push({ preflight: pre.status, requested: names });
      if (pre.status < 200 || pre.status > 299) throw new TypeError(`CORS preflight answered ${pre.status}`);
      const acao = pre.headers.get("access-control-allow-origin");
      if (acao !== origin && acao !== "*") throw new TypeError(`CORS preflight: origin not allowed (${acao})`);
      if (!["GET", "HEAD", "POST"].includes(method) && !list(pre.headers.get("access-control-allow-methods")).includes(method.toLowerCase()))
        throw new TypeError(`CORS preflight: method ${method} not allowed`);
      const allowed = list(pre.headers.get("access-control-allow-headers"));
      for (const n of names) if (!allowed.includes(n)) throw new TypeError(`CORS preflight: request header ${n} not allowed`);
    }
    headers.set("origin", origin);
    const res = await fetch(url, { ...init, headers });
    const acao = res.headers.get("access-control-allow-origin");
    if (acao !== origin && acao !== "*") throw new TypeError(`CORS: response to ${origin} not allowed (${acao})`);
    const exposed = new Set(list(res.headers.get("access-control-expose-headers")));
    const visible = new Headers();
    for (const [k, v] of res.headers) if (safelistedResponse.has(k) || exposed.has(k)) visible.append(k, v);
    seen.push({ status: res.status, visible: [...visible.keys()] });
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers: visible });
  };
}

describe("CORS off (the default)", () => {
  let t;
  before(async () => {
    t = await startTriage(config({ tiers, extra: base }));
  });
  after(async () => t.cleanup());

  test("no CORS fields on any answer; a preflight gets 204 with Allow and no CORS field, so the browser refuses", async () => {
    const pre = await curl(["-X", "OPTIONS", "-H", `Origin: ${ORIGIN}`, "-H", "Access-Control-Request-Method: POST", `${t.url}/v1/chat/completions`]);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.allow, "POST, OPTIONS");
    assertNoCors(pre.headers, "preflight");
    const r = await curl(["-H", `Origin: ${ORIGIN}`, "-H", "content-type: application/json", "-d", chat, `${t.url}/v1/chat/completions`]);
    assert.equal(r.status, 200);
    assertNoCors(r.headers, "chat");
    assert.equal(r.headers.vary, undefined);
  });

  test("triage demo has CORS off too", async () => {
    const d = await startDemo();
    try {
      const r = await curl(["-H", `Origin: ${ORIGIN}`, `${d.url}/v1/models`]);
      assert.equal(r.status, 200);
      assertNoCors(r.headers, "demo models");
    } finally {
      await d.cleanup();
    }
  });
});

describe("CORS on", () => {
  let t;
  before(async () => {
    t = await startTriage(config({ tiers, extra: base + corsOn }));
  });
  after(async () => t.cleanup());

  test("preflight from an allowed origin, without any key: 204 with the CORS fields, on every route; no ledger row", async () => {
    const rows = t.rows().length;
    const routes = [
      ["/v1/chat/completions", "POST"],
      ["/v1/messages", "POST"],
      ["/v1/messages/count_tokens", "POST"],
      ["/v1/models", "GET, HEAD"],
      ["/v1/models?limit=5", "GET, HEAD"],
      ["/healthz", "GET, HEAD"],
      ["/readyz", "GET, HEAD"],
      ["/metrics", "GET, HEAD"],
    ];
    for (const [route, methods] of routes) {
      const r = await curl([
        "-X", "OPTIONS",
        "-H", `Origin: ${ORIGIN}`,
        "-H", `Access-Control-Request-Method: ${methods === "POST" ? "POST" : "GET"}`,
        "-H", "Access-Control-Request-Headers: authorization,content-type,x-stainless-os",
        `${t.url}${route}`,
      ]);
      assert.equal(r.status, 204, route);
      assert.equal(r.body, "", route);
      assert.equal(r.headers["content-length"], undefined, route);
      assert.equal(r.headers["access-control-allow-origin"], ORIGIN, route);
      assert.equal(r.headers["access-control-allow-methods"], methods, route);
      assert.equal(r.headers["access-control-allow-headers"], "authorization, content-type, x-stainless-os", route);
      assert.equal(r.headers["access-control-max-age"], "600", route);
      assert.match(r.headers.vary, /^Origin\b/, route);
      assert.equal(r.headers["access-control-allow-credentials"], undefined, route);
    }
    assert.equal(t.rows().length, rows, "a preflight writes no ledger row");
  });

  test("preflight then request from a second allowed origin (curl --next)", async () => {
    const r = await curl([
      "-X", "OPTIONS", "-H", "Origin: http://localhost:5173", "-H", "Access-Control-Request-Method: POST", `${t.url}/v1/chat/completions`,
      "--next", "-sS", "-i", "-H", "Origin: http://localhost:5173", "-H", "content-type: application/json", "-d", chat, `${t.url}/v1/chat/completions`,
    ]);
    assert.match(r.raw, /^HTTP\/1\.1 204 No Content\r\n/);
    const second = r.raw.slice(r.raw.indexOf("\r\n\r\n") + 4);
    assert.match(second, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(second, /\r\naccess-control-allow-origin: http:\/\/localhost:5173\r\n/i);
    // Nothing requested: no Allow-Headers.
    assert.doesNotMatch(r.raw.slice(0, r.raw.indexOf("\r\n\r\n")), /access-control-allow-headers/i);
  });

  test("preflight from another origin: 403 in the route's dialect, no CORS fields", async () => {
    for (const [route, shape] of [["/v1/chat/completions", "openai"], ["/v1/messages", "anthropic"]]) {
      const r = await curl(["-X", "OPTIONS", "-H", "Origin: https://evil.example.com", "-H", "Access-Control-Request-Method: POST", `${t.url}${route}`]);
      assert.equal(r.status, 403, route);
      assertNoCors(r.headers, route);
      assert.equal(r.headers.vary, "Origin");
      const body = JSON.parse(r.body);
      if (shape === "openai") assert.equal(body.error.code, "cors_origin_not_allowed");
      else assert.equal(body.type, "error");
      assert.match(r.body, /origin 'https:\/\/evil\.example\.com' is not in server\.cors\.allow_origins/);
    }
    // The same origin with another scheme or port, or a trailing slash, is another origin.
    for (const origin of ["http://app.example.com", "https://app.example.com:8443", "https://app.example.com/"]) {
      const r = await curl(["-X", "OPTIONS", "-H", `Origin: ${origin}`, "-H", "Access-Control-Request-Method: POST", `${t.url}/v1/messages`]);
      assert.equal(r.status, 403, origin);
    }
  });

  test("OPTIONS that is not a preflight (no Access-Control-Request-Method): 204 with Allow and the CORS fields", async () => {
    const r = await curl(["-X", "OPTIONS", "-H", `Origin: ${ORIGIN}`, `${t.url}/v1/chat/completions`]);
    assert.equal(r.status, 204);
    assert.equal(r.headers.allow, "POST, OPTIONS");
    assert.equal(r.headers["access-control-allow-origin"], ORIGIN);
  });

  test("request headers a preflight asks for are echoed only when allowed", async () => {
    const r = await curl([
      "-X", "OPTIONS", "-H", `Origin: ${ORIGIN}`, "-H", "Access-Control-Request-Method: POST",
      "-H", "Access-Control-Request-Headers: X-API-Key, anthropic-version, x-not-allowed, anthropic-dangerous-direct-browser-access",
      `${t.url}/v1/messages`,
    ]);
    assert.equal(r.status, 204);
    assert.equal(r.headers["access-control-allow-headers"], "x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access");
  });

  test("JSON answer: Allow-Origin, Vary and Expose-Headers; nothing for another origin or none", async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, { method: "POST", headers: { origin: ORIGIN, "content-type": "application/json" }, body: chat });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN);
    assert.equal(res.headers.get("vary"), "Origin");
    const exposed = list(res.headers.get("access-control-expose-headers"));
    for (const h of ["x-request-id", "retry-after", "x-triage-tier", "x-triage-deployment", "x-triage-route", "x-triage-cost-usd", "x-triage-reference-cost-usd", "x-triage-usage-estimated", "x-triage-hedge"])
      assert.ok(exposed.includes(h), h);
    for (const h of res.headers.keys()) if (h.startsWith("x-")) assert.ok(exposed.includes(h), `${h} is sent but not exposed`);
    await res.json();
    const other = await curl(["-H", "Origin: https://evil.example.com", "-H", "content-type: application/json", "-d", chat, `${t.url}/v1/chat/completions`]);
    assert.equal(other.status, 200);
    assertNoCors(other.headers, "other origin");
    assert.equal(other.headers.vary, "Origin");
    const none = await curl(["-H", "content-type: application/json", "-d", chat, `${t.url}/v1/chat/completions`]);
    assertNoCors(none.headers, "no origin");
    assert.equal(none.headers.vary, "Origin");
  });

  test("errors of the server itself carry the CORS fields: 404, 405, 413, 415, 431", async () => {
    const o = ["-H", `Origin: ${ORIGIN}`];
    const cases = [
      [404, ["-X", "POST", ...o, `${t.url}/v1/nope`]],
      [405, [...o, `${t.url}/v1/messages`]],
      [413, [...o, "-H", "content-type: application/json", "--data-binary", "x".repeat(70000), `${t.url}/v1/chat/completions`]],
      [415, [...o, "-H", "content-type: application/json", "-H", "content-encoding: gzip", "-d", chat, `${t.url}/v1/chat/completions`]],
      [431, [...o, "-H", `x-big: ${"b".repeat(5000)}`, `${t.url}/v1/models`]],
    ];
    for (const [status, args] of cases) {
      const r = await curl(args);
      assert.equal(r.status, status, String(status));
      assert.equal(r.headers["access-control-allow-origin"], ORIGIN, String(status));
      assert.equal(r.headers.vary, "Origin", String(status));
    }
  });

  test("errors of the pipeline carry the CORS fields: unknown model (both dialects), upstream failure", async () => {
    const bad = await curl(["-H", `Origin: ${ORIGIN}`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "nope", max_tokens: 5, messages: [{ role: "user", content: "x" }] }), `${t.url}/v1/messages`]);
    assert.equal(bad.status, 404);
    assert.equal(JSON.parse(bad.body).type, "error");
    assert.equal(bad.headers["access-control-allow-origin"], ORIGIN);
    assert.ok(bad.headers["request-id"]);
    const bad2 = await curl(["-H", `Origin: ${ORIGIN}`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "nope", messages: [] }), `${t.url}/v1/chat/completions`]);
    assert.ok(bad2.status >= 400 && bad2.status < 500);
    assert.equal(bad2.headers["access-control-allow-origin"], ORIGIN);
    const failed = await curl(["-H", `Origin: ${ORIGIN}`, "-H", "content-type: application/json", "-d", JSON.stringify({ model: "broken", messages: [{ role: "user", content: "x" }] }), `${t.url}/v1/chat/completions`]);
    assert.ok(failed.status >= 500, String(failed.status));
    assert.equal(failed.headers["access-control-allow-origin"], ORIGIN);
    assert.ok(list(failed.headers["access-control-expose-headers"]).includes("x-request-id"));
  });

  test("SSE stream: the stream's head carries the CORS fields", async () => {
    for (const [route, body] of [["/v1/chat/completions", { ...JSON.parse(chat), stream: true }], ["/v1/messages", { ...JSON.parse(message), stream: true }]]) {
      const res = await fetch(`${t.url}${route}`, { method: "POST", headers: { origin: ORIGIN, "content-type": "application/json" }, body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /text\/event-stream/);
      assert.equal(res.headers.get("access-control-allow-origin"), ORIGIN, route);
      assert.equal(res.headers.get("vary"), "Origin");
      assert.ok(list(res.headers.get("access-control-expose-headers")).includes("x-triage-tier"));
      const text = await res.text();
      assert.match(text, route === "/v1/messages" ? /event: message_stop/ : /data: \[DONE\]/);
    }
  });

  test("HEAD and GET /v1/models from a browser", async () => {
    const r = await curl(["-I", "-H", `Origin: ${ORIGIN}`, `${t.url}/v1/models`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers["access-control-allow-origin"], ORIGIN);
  });

  test("the OpenAI SDK in a browser (emulated CORS checks): chat, stream, and an error with its request id", async () => {
    const seen = [];
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "sk-browser", maxRetries: 0, dangerouslyAllowBrowser: true, fetch: browserFetch(ORIGIN, seen) });
    const { data, response } = await client.chat.completions.create({ model: "open", messages: [{ role: "user", content: "Hi" }] }).withResponse();
    assert.match(data.choices[0].message.content, /simulated/);
    assert.equal(response.headers.get("x-triage-tier"), "open");
    assert.ok(data._request_id, "x-request-id readable by the script");
    const pre = seen.find((s) => s.preflight);
    assert.equal(pre.preflight, 204);
    assert.ok(pre.requested.includes("authorization") && pre.requested.includes("x-stainless-retry-count"), pre.requested.join());
    let text = "";
    for await (const c of await client.chat.completions.create({ model: "open", stream: true, messages: [{ role: "user", content: "Hi" }] })) text += c.choices[0]?.delta?.content ?? "";
    assert.match(text, /simulated/);
    await assert.rejects(client.chat.completions.create({ model: "broken", messages: [{ role: "user", content: "Hi" }] }), (e) => {
      assert.ok(e instanceof OpenAI.APIError && !(e instanceof OpenAI.APIConnectionError), `${e.constructor.name}: ${e.message}`);
      assert.ok(e.status >= 500);
      assert.ok(e.requestID, "x-request-id readable on an error");
      return true;
    });
    const models = await client.models.list();
    assert.ok(models.data.length > 0);
  });

  test("the Anthropic SDK in a browser (dangerouslyAllowBrowser, emulated CORS checks): message, stream, count_tokens, error", async () => {
    const seen = [];
    const client = new Anthropic({ baseURL: t.url, apiKey: "sk-ant-browser", maxRetries: 0, dangerouslyAllowBrowser: true, fetch: browserFetch(ORIGIN, seen) });
    const msg = await client.messages.create({ model: "open", max_tokens: 64, messages: [{ role: "user", content: "Hi" }] });
    assert.equal(msg.type, "message");
    assert.ok(msg._request_id, "request-id readable by the script");
    const pre = seen.find((s) => s.preflight);
    for (const h of ["anthropic-version", "anthropic-dangerous-direct-browser-access", "content-type", "x-stainless-timeout"]) assert.ok(pre.requested.includes(h), h);
    // The key goes as x-api-key or (this SDK version) authorization: either is allowed.
    assert.ok(pre.requested.includes("x-api-key") || pre.requested.includes("authorization"), pre.requested.join());
    const stream = client.messages.stream({ model: "open", max_tokens: 64, messages: [{ role: "user", content: "Hi" }] });
    const final = await stream.finalMessage();
    assert.equal(final.type, "message");
    const count = await client.messages.countTokens({ model: "open", messages: [{ role: "user", content: "Hi" }] });
    assert.ok(count.input_tokens > 0);
    await assert.rejects(client.messages.create({ model: "nope", max_tokens: 5, messages: [{ role: "user", content: "Hi" }] }), (e) => {
      assert.ok(e instanceof Anthropic.NotFoundError, `${e.constructor.name}: ${e.message}`);
      assert.ok(e.requestID, "request-id readable on an error");
      return true;
    });
  });

  test("a browser on an origin not listed cannot call the gateway", async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "sk-browser", maxRetries: 0, dangerouslyAllowBrowser: true, fetch: browserFetch("https://evil.example.com") });
    await assert.rejects(client.chat.completions.create({ model: "open", messages: [{ role: "user", content: "Hi" }] }), OpenAI.APIConnectionError);
  });

  test("a pipelined preflight and request on one raw connection are both answered", async () => {
    const u = new URL(t.url);
    const raw = await new Promise((resolve, reject) => {
      const s = net.connect(Number(u.port), u.hostname, () => {
        s.write(
          `OPTIONS /v1/messages HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-api-key\r\n\r\n` +
            `POST /v1/messages/count_tokens HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
        );
      });
      let out = "";
      s.setEncoding("utf8");
      s.on("data", (d) => (out += d));
      s.on("end", () => resolve(out));
      s.on("error", reject);
    });
    assert.match(raw, /^HTTP\/1\.1 204 No Content\r\n/);
    assert.match(raw, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.equal((raw.match(/access-control-allow-origin: https:\/\/app\.example\.com/gi) || []).length, 2);
  });
});

describe("CORS with allow_origins: ['*']", () => {
  test("every origin gets Allow-Origin: *, extra allow_headers are echoed, max_age applies", async () => {
    const t = await startTriage(config({ tiers, extra: base + `server:\n  cors: {allow_origins: ["*"], allow_headers: [x-tenant], max_age_seconds: 7200}\n` }));
    try {
      const pre = await curl(["-X", "OPTIONS", "-H", "Origin: https://anyone.example", "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: x-tenant,authorization", `${t.url}/v1/chat/completions`]);
      assert.equal(pre.status, 204);
      assert.equal(pre.headers["access-control-allow-origin"], "*");
      assert.equal(pre.headers["access-control-allow-headers"], "x-tenant, authorization");
      assert.equal(pre.headers["access-control-max-age"], "7200");
      const r = await curl(["-H", "Origin: https://other.example", "-H", "content-type: application/json", "-d", chat, `${t.url}/v1/chat/completions`]);
      assert.equal(r.status, 200);
      assert.equal(r.headers["access-control-allow-origin"], "*");
      assert.equal(r.headers["access-control-allow-credentials"], undefined);
    } finally {
      await t.cleanup();
    }
  });
});

describe("CORS and SIGHUP", () => {
  test("a reload does not change the running CORS settings and says that server.cors waits for a restart", async () => {
    const t = await startTriage(config({ tiers, extra: base + corsOn }));
    try {
      const file = path.join(t.dir, "config.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace(`"${ORIGIN}", `, ""));
      t.proc.kill("SIGHUP");
      let line;
      for (let i = 0; i < 100 && !line; ++i) {
        line = t.stderr().split("\n").find((l) => l.includes('"msg":"routing reloaded"'));
        if (!line) await sleep(50);
      }
      assert.ok(line, t.stderr());
      const log = JSON.parse(line);
      assert.equal(log.level, "warn");
      assert.deepEqual(log.not_applied_until_restart, ["server.cors"]);
      const pre = await curl(["-X", "OPTIONS", "-H", `Origin: ${ORIGIN}`, "-H", "Access-Control-Request-Method: POST", `${t.url}/v1/chat/completions`]);
      assert.equal(pre.status, 204);
      assert.equal(pre.headers["access-control-allow-origin"], ORIGIN);
    } finally {
      await t.cleanup();
    }
  });
});
