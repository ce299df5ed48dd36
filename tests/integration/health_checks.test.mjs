// Active health checks (health_checks): a deployment whose health endpoint fails is taken out of
// service before any chat request fails on it, shows as failing in /readyz and /metrics, and
// comes back when its endpoint recovers. Checks carry the provider's auth headers, use the
// configured path, and never happen with interval_ms 0. No timed assertions: every wait polls
// the observable state with a generous deadline.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startTriage, config, curl, sleep } from "./lib/harness.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";
import { startFakeAnthropic } from "./lib/fake_anthropic.mjs";

const KEY = "sk-hc-integration-secret-4242";
const msgs = [{ role: "user", content: "Hello" }];

// Polls `fn` until it returns a truthy value; fails after `ms`.
async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(25);
  }
}

async function readyz(t) {
  const r = await curl([`${t.url}/readyz`]);
  assert.equal(r.status, 200);
  return JSON.parse(r.body).deployments;
}
const deployment = async (t, name) => (await readyz(t)).find((d) => d.deployment === name);
const gets = (fake) => fake.requests.filter((r) => r.method === "GET");
const posts = (fake) => fake.requests.filter((r) => r.method === "POST");
// A chat request that `up` answers after 1.5 s (its health checks pass at once), sent through
// triage and awaited until it reached `up`: keeps a drain going. Returns {inflight}, the
// request's promise (wrapped: an async function returning it would wait for the answer).
async function slowAnswerInFlight(up, t) {
  up.behave((req, res, body) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end("{}");
    }
    setTimeout(() => up.reply(req, res, body, {}), 1500);
  });
  const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
  const inflight = client.chat.completions.create({ model: "open", messages: msgs });
  await until("the chat request reached the upstream", () => posts(up).length >= 1);
  return { inflight };
}

// An OpenAI-compatible fake whose health endpoint (any GET) answers `state.health`: a status,
// or "hang" (never answers).
async function startUpstream() {
  const fake = await startFakeOpenAI();
  fake.health = 200;
  fake.behave((req, res, body) => {
    if (req.method !== "GET") return fake.reply(req, res, body, {});
    if (fake.health === "hang") return;
    res.writeHead(fake.health, { "content-type": "application/json" });
    res.end(fake.health === 200 ? JSON.stringify({ object: "list", data: [{ id: "m", object: "model" }] }) : JSON.stringify({ error: { message: "down" } }));
  });
  return fake;
}

// triage with one deployment, "u" in tier "open", served by `up`, and `extra` config.
const startWithOne = (up, extra) =>
  startTriage(config({ tiers: [{ name: "open", deployments: [{ name: "u", url: up.url, catalog: "gemma-4-31b" }] }], extra }));

describe("active health checks", () => {
  let a, b, claude, exempt, t, client;
  before(async () => {
    a = await startUpstream();
    b = await startUpstream();
    claude = await startFakeAnthropic();
    exempt = await startUpstream();
    t = await startTriage(
      config({
        tiers: [
          {
            name: "open",
            deployments: [
              { name: "a", url: a.url, catalog: "gemma-4-31b", api_key_env: "HC_IT_KEY" },
              { name: "b", url: b.url, catalog: "gemma-4-31b", api_key_env: "HC_IT_KEY", more: "        health_check_path: /health\n" },
            ],
          },
          {
            name: "mid",
            deployments: [
              { name: "claude", provider: "anthropic", url: claude.url, catalog: "claude-sonnet-4.6", api_key_env: "HC_IT_KEY" },
              { name: "exempt", url: exempt.url, catalog: "claude-sonnet-4.6", more: "        health_check: false\n" },
            ],
          },
          { name: "frontier", deployments: [{ name: "opus", sim: { latency_ms: 1, output_tokens: 5 }, catalog: "claude-opus-4.7" }] },
        ],
        extra: "routing: {fallback: none}\nhealth_checks: {interval_ms: 200, timeout_ms: 150, unhealthy_after: 2, healthy_after: 1}\n",
      }),
      { env: { HC_IT_KEY: KEY } },
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    for (const f of [a, b, claude, exempt]) await f.close();
  });

  test("checks GET the configured paths with the provider's auth headers; exempt and sim are not checked", async () => {
    await until("a check at every checked deployment", () => gets(a).length >= 2 && gets(b).length >= 2 && gets(claude).length >= 2);
    for (const r of gets(a)) {
      assert.equal(r.url, "/v1/models"); // default: the base URL's path + /models
      assert.equal(r.headers.authorization, `Bearer ${KEY}`);
      assert.equal(r.headers["content-length"], undefined);
      assert.match(r.headers["user-agent"], /^triage\//);
    }
    for (const r of gets(b)) {
      assert.equal(r.url, "/health");
      assert.equal(r.headers.authorization, `Bearer ${KEY}`);
    }
    for (const r of gets(claude)) {
      assert.equal(r.url, "/v1/models");
      assert.equal(r.headers["x-api-key"], KEY);
      assert.equal(r.headers["anthropic-version"], "2023-06-01");
      assert.equal(r.headers.authorization, undefined);
    }
    assert.equal(gets(exempt).length, 0);
    assert.equal(exempt.requests.length, 0);
    const ready = await readyz(t);
    const byName = Object.fromEntries(ready.map((d) => [d.deployment, d]));
    assert.equal(byName.a.health_check.state, "passing");
    assert.equal(byName.a.health_check.path, "/v1/models");
    assert.equal(byName.a.health_check.last_status, 200);
    assert.equal(typeof byName.a.health_check.last_checked_ms_ago, "number");
    assert.equal(byName.b.health_check.path, "/health");
    assert.deepEqual(byName.exempt.health_check, { state: "off" });
    assert.deepEqual(byName.opus.health_check, { state: "off" });
    assert.ok(!t.stderr().includes(KEY), "the key is never logged");
  });

  test("a failing health endpoint takes the deployment out of service; recovery brings it back", async () => {
    a.health = 503;
    await until("a failing in /readyz", async () => (await deployment(t, "a")).health_check.state === "failing");
    const postsBefore = posts(a).length;
    for (let i = 0; i < 20; i++) {
      const { response } = await client.chat.completions.create({ model: "open", messages: msgs }).withResponse();
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("x-triage-deployment"), "b");
    }
    assert.equal(posts(a).length, postsBefore, "the failing upstream received no chat call");
    const rows = t.rows().slice(-20);
    for (const r of rows) assert.equal(r.attempts, 1, "skipped without a failed attempt");

    const hc = (await deployment(t, "a")).health_check;
    assert.equal(hc.last_status, 503);
    assert.equal(hc.last_error, "HTTP 503");
    assert.ok(hc.consecutive_failures >= 2, JSON.stringify(hc));
    assert.equal((await deployment(t, "a")).circuit, "closed");
    const metrics = (await curl([`${t.url}/metrics`])).body;
    assert.match(metrics, /triage_deployment_health_check_failing\{tier="open",deployment="a"\} 1\n/);
    assert.match(metrics, /triage_deployment_health_check_failing\{tier="open",deployment="b"\} 0\n/);
    assert.match(metrics, /triage_deployment_health_checks_total\{tier="open",deployment="a",result="fail"\} [1-9]\d*\n/);
    assert.match(metrics, /# TYPE triage_deployment_health_check_failing gauge/);

    // Pinned to it: refused at once with a clear 503, in the OpenAI SDK's terms too.
    const pinned = await curl(["-H", "content-type: application/json", "-d", JSON.stringify({ model: "a", messages: msgs }), `${t.url}/v1/chat/completions`]);
    assert.equal(pinned.status, 503);
    assert.equal(JSON.parse(pinned.body).error.code, "health_check_failing");
    assert.match(JSON.parse(pinned.body).error.message, /failing its health checks/);
    await assert.rejects(client.chat.completions.create({ model: "a", messages: msgs }), (e) => e.status === 503 && e.code === "health_check_failing");
    assert.equal(posts(a).length, postsBefore);

    const down = t.stderr().split("\n").filter((l) => l.includes('"msg":"health check"')).map((l) => JSON.parse(l));
    assert.ok(down.some((l) => l.deployment === "a" && l.from === "passing" && l.to === "failing" && l.level === "warn" && l.last_status === 503), t.stderr());

    a.health = 200;
    await until("a passing again in /readyz", async () => (await deployment(t, "a")).health_check.state === "passing");
    await until("a chat request lands on a again", async () => {
      const { response } = await client.chat.completions.create({ model: "open", messages: msgs }).withResponse();
      return response.headers.get("x-triage-deployment") === "a";
    });
    assert.ok(posts(a).length > postsBefore);
    const metricsAfter = (await curl([`${t.url}/metrics`])).body;
    assert.match(metricsAfter, /triage_deployment_health_check_failing\{tier="open",deployment="a"\} 0\n/);
    const up = t.stderr().split("\n").filter((l) => l.includes('"msg":"health check"')).map((l) => JSON.parse(l));
    assert.ok(up.some((l) => l.deployment === "a" && l.from === "failing" && l.to === "passing"), t.stderr());
  });

  test("a hanging health endpoint fails by timeout_ms", async () => {
    b.health = "hang";
    await until("b failing in /readyz", async () => (await deployment(t, "b")).health_check.state === "failing");
    const hc = (await deployment(t, "b")).health_check;
    assert.equal(hc.last_status, null);
    assert.match(hc.last_error, /timed out/);
    // Its sibling answers.
    const { response } = await client.chat.completions.create({ model: "open", messages: msgs }).withResponse();
    assert.equal(response.headers.get("x-triage-deployment"), "a");
    b.health = 200;
    await until("b passing again", async () => (await deployment(t, "b")).health_check.state === "passing");
  });

  test("every deployment of the tier failing: 503 health_check_failing, nothing sent upstream", async () => {
    a.health = 500;
    b.health = 404; // a wrong path shows as failing too
    await until("a and b failing", async () => {
      const d = await readyz(t);
      return d.filter((x) => x.tier === "open").every((x) => x.health_check.state === "failing");
    });
    const before = posts(a).length + posts(b).length;
    await assert.rejects(client.chat.completions.create({ model: "open", messages: msgs }), (e) => e.status === 503 && e.code === "health_check_failing");
    assert.equal(posts(a).length + posts(b).length, before);
    a.health = 200;
    b.health = 200;
    await until("both passing", async () => {
      const d = await readyz(t);
      return d.filter((x) => x.tier === "open").every((x) => x.health_check.state === "passing");
    });
    await client.chat.completions.create({ model: "open", messages: msgs });
  });
});

describe("active health checks: a closed upstream server", () => {
  let c, d, t, client, port;
  before(async () => {
    c = await startUpstream();
    d = await startUpstream();
    port = c.server.address().port;
    t = await startTriage(
      config({
        tiers: [{ name: "open", deployments: [{ name: "c", url: c.url, catalog: "gemma-4-31b" }, { name: "d", url: d.url, catalog: "gemma-4-31b" }] }],
        extra: "health_checks: {interval_ms: 200, timeout_ms: 200}\n",
      }),
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await t.cleanup();
    await c.close();
    await d.close();
  });

  test("connection refused marks it failing; listening again brings it back", async () => {
    await until("c checked", () => gets(c).length >= 1);
    await c.close();
    await until("c failing", async () => (await deployment(t, "c")).health_check.state === "failing");
    const hc = (await deployment(t, "c")).health_check;
    assert.equal(hc.last_status, null);
    assert.match(hc.last_error, /connect/);
    for (let i = 0; i < 10; i++) {
      const { response } = await client.chat.completions.create({ model: "open", messages: msgs }).withResponse();
      assert.equal(response.headers.get("x-triage-deployment"), "d");
    }
    const attempts = t.rows().slice(-10).map((r) => r.attempts);
    assert.deepEqual(attempts, Array(10).fill(1));
    await new Promise((r) => c.server.listen(port, "127.0.0.1", r));
    await until("c passing", async () => (await deployment(t, "c")).health_check.state === "passing");
    await until("a chat request lands on c again", async () => {
      const { response } = await client.chat.completions.create({ model: "open", messages: msgs }).withResponse();
      return response.headers.get("x-triage-deployment") === "c";
    });
  });
});

describe("active health checks: off and shutdown", () => {
  test("interval_ms 0 (and no section at all): no GET ever reaches the upstream", async () => {
    for (const extra of ["", "health_checks: {interval_ms: 0}\n"]) {
      const up = await startUpstream();
      const t = await startWithOne(up, extra);
      try {
        const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
        for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: "open", messages: msgs });
        await sleep(500); // a window in which checks at any plausible interval would have begun
        assert.equal(gets(up).length, 0);
        assert.equal(posts(up).length, 3);
        assert.deepEqual((await deployment(t, "u")).health_check, { state: "off" });
        const metrics = (await curl([`${t.url}/metrics`])).body;
        assert.match(metrics, /triage_deployment_health_check_failing\{tier="open",deployment="u"\} 0\n/);
        assert.match(metrics, /triage_deployment_health_checks_total\{tier="open",deployment="u",result="pass"\} 0\n/);
      } finally {
        await t.cleanup();
        await up.close();
      }
    }
  });

  test("checks stop when the drain begins and a hanging check does not hold up the exit", async () => {
    const up = await startUpstream();
    const hang = await startUpstream();
    hang.health = "hang";
    const t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "u", url: up.url, catalog: "gemma-4-31b" }] },
          { name: "mid", deployments: [{ name: "h", url: hang.url, catalog: "claude-sonnet-4.6" }] },
        ],
        extra: "server: {shutdown_grace_ms: 20000}\nhealth_checks: {interval_ms: 60000, timeout_ms: 60000}\n",
      }),
    );
    try {
      await until("h's check is hanging", () => gets(hang).length >= 1);
      await until("u checked", () => gets(up).length >= 1);
      // A slow request in flight keeps the drain going for a while.
      const { inflight } = await slowAnswerInFlight(up, t);
      t.proc.kill("SIGTERM");
      const answer = await inflight;
      assert.ok(answer.choices[0].message.content);
      const exit = await Promise.race([t.exited, sleep(15000).then(() => null)]);
      assert.ok(exit, "triage exited although a health check was hanging (timeout_ms 60000)");
      assert.equal(exit.code, 0);
      assert.match(t.stderr(), /"msg":"health checks started"/);
    } finally {
      await t.cleanup();
      await up.close();
      await hang.close();
    }
  });

  test("no check begins during the drain", async () => {
    const up = await startUpstream();
    const t = await startWithOne(up, "server: {shutdown_grace_ms: 20000}\nhealth_checks: {interval_ms: 100, timeout_ms: 100}\n");
    try {
      await until("checks running", () => gets(up).length >= 2);
      const { inflight } = await slowAnswerInFlight(up, t);
      t.proc.kill("SIGTERM");
      const atTerm = gets(up).length;
      await inflight; // the drain lasts until this answer (about 1.5 s: ~15 intervals)
      await t.exited;
      // At most a few checks were already under way, or began while the signal was on its way
      // (a slow CI machine); without the stop about 15 would arrive during the drain.
      assert.ok(gets(up).length <= atTerm + 4, `checks during the drain: ${gets(up).length - atTerm}`);
    } finally {
      await t.cleanup();
      await up.close();
    }
  });
});

describe("active health checks: SIGHUP", () => {
  test("a reload keeps the running checks and says which check settings wait for a restart", async () => {
    const up = await startUpstream();
    const t = await startWithOne(up, "health_checks: {interval_ms: 100, timeout_ms: 100}\n");
    try {
      await until("u checked twice", async () => (await deployment(t, "u")).health_check.consecutive_passes >= 2);
      const file = path.join(t.dir, "config.yaml");
      const yaml = readFileSync(file, "utf8")
        .replace("interval_ms: 100", "interval_ms: 60000")
        .replace("    deployments:\n", "    deployments:\n      - name: v\n        provider: openai\n        base_url: http://127.0.0.1:9/v1\n        catalog: gemma-4-31b\n");
      writeFileSync(file, yaml);
      const passes = (await deployment(t, "u")).health_check.consecutive_passes;
      t.proc.kill("SIGHUP");
      const line = await until("the reload logged", () =>
        t.stderr().split("\n").find((l) => l.includes('"msg":"routing reloaded"')),
      );
      const log = JSON.parse(line);
      assert.equal(log.level, "warn");
      assert.deepEqual(log.not_applied_until_restart, ["health_checks", "tiers[0].deployments"]);
      // The running checks go on at the old interval with their state; the new deployment is not
      // checked (nor served) until a restart.
      await until("u checked again at the old interval", async () => (await deployment(t, "u")).health_check.consecutive_passes >= passes + 3);
      assert.deepEqual((await readyz(t)).map((d) => d.deployment), ["u"]);
      assert.equal((t.stderr().match(/"msg":"health checks started"/g) || []).length, 1);
    } finally {
      await t.cleanup();
      await up.close();
    }
  });

  test("a reload that leaves the check settings alone is logged at info without the list", async () => {
    const up = await startUpstream();
    const t = await startWithOne(up, "health_checks: {interval_ms: 100, timeout_ms: 100}\n");
    try {
      await until("u checked", () => gets(up).length >= 1);
      t.proc.kill("SIGHUP");
      const line = await until("the reload logged", () =>
        t.stderr().split("\n").find((l) => l.includes('"msg":"routing reloaded"')),
      );
      const log = JSON.parse(line);
      assert.equal(log.level, "info");
      assert.equal(log.not_applied_until_restart, undefined);
    } finally {
      await t.cleanup();
      await up.close();
    }
  });
});
