// Many requests at once on several io threads, with everything else that touches shared state
// meanwhile: /metrics, /readyz and /v1/models scrapes, active health checks, an upstream that
// fails now and then (retries, fallback, breaker bookkeeping), and SIGHUP reloads that swap the
// routing while requests read it. Most tests send one request at a time; this is the workload
// that gives ThreadSanitizer (scripts/sanitize.sh --thread) concurrent paths to check. In a
// normal build it checks that every request is answered and accounted exactly once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startTriage, config, sleep } from "./lib/harness.mjs";
import { startFakeOpenAI, openaiError } from "./lib/fake_openai.mjs";

const CHATS = 160;
const CONCURRENCY = 16;

test("concurrent requests on 4 io threads, with scrapes, health checks, upstream failures and SIGHUP reloads: each answered and accounted once", async () => {
  const fake = await startFakeOpenAI();
  let n = 0;
  fake.behave(async (req, res, body) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"object":"list","data":[]}');
      return;
    }
    if (++n % 7 === 0) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify(openaiError(500, "boom")));
      return;
    }
    await fake.reply(req, res, body, { delayMs: n % 3 });
  });
  const yaml = (thresholds) =>
    config({
      tiers: [
        {
          name: "open",
          deployments: [
            { name: "up", url: fake.url, catalog: "gemma-4-31b" },
            { name: "s1", sim: { latency_ms: 2, output_tokens: 4 }, catalog: "gemma-4-31b" },
          ],
        },
        { name: "mid", deployments: [{ name: "s2", sim: { latency_ms: 1, output_tokens: 3 }, catalog: "claude-sonnet-4.6" }] },
      ],
      extra:
        `routing: {router: "learned:builtin", thresholds: [${thresholds}]}\n` +
        "retry: {max_attempts: 2}\n" +
        "health_checks: {interval_ms: 100, timeout_ms: 100}\n" +
        "server: {threads: 4}\n",
    });
  const t = await startTriage(yaml("0.6")).catch(async (e) => {
    await fake.close();
    throw e;
  });
  const file = path.join(t.dir, "config.yaml");
  const ledgerLine = readFileSync(file, "utf8").match(/ledger: .*/)[0];
  let stop = false;
  const background = [];
  try {
    // Scrapes of the shared statistics and health state, all the while.
    for (const p of ["/metrics", "/readyz", "/v1/models"])
      background.push(
        (async () => {
          while (!stop) {
            const r = await fetch(`${t.url}${p}`);
            await r.text();
            await sleep(5);
          }
        })(),
      );
    // SIGHUP reloads that swap the routing (thresholds) while requests read it.
    let reloads = 0;
    background.push(
      (async () => {
        while (!stop) {
          const th = reloads % 2 ? "0.6" : "0.4";
          // Written aside and renamed, as an operator should: a reload still reading the file
          // (slow under TSan) must not see it half written.
          writeFileSync(`${file}.new`, yaml(th).replace(/ledger: .*/, ledgerLine));
          renameSync(`${file}.new`, file);
          t.proc.kill("SIGHUP");
          reloads++;
          await sleep(40);
        }
      })(),
    );

    const statuses = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < CHATS; i = next++) {
        const stream = i % 3 === 1;
        const anthropic = i % 4 === 3;
        const model = ["auto", "open", "mid", "up"][i % 4];
        const content = `question ${i}: ${"why ".repeat(i % 20)}`;
        const r = anthropic
          ? await fetch(`${t.url}/v1/messages`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ model, max_tokens: 16, stream, messages: [{ role: "user", content }] }),
            })
          : await fetch(`${t.url}/v1/chat/completions`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ model, stream, messages: [{ role: "user", content }] }),
            });
        await r.text();
        statuses.push(r.status);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    stop = true;
    await Promise.all(background);

    assert.equal(statuses.length, CHATS);
    // The fake's 500s are retried or fall back; a request whose both attempts failed is a 502,
    // one refused while the breaker of its only deployment ("up", pinned) is open a 503.
    for (const s of statuses) assert.ok(s === 200 || s === 502 || s === 503, `status ${s}`);
    assert.ok(statuses.filter((s) => s === 200).length >= CHATS / 2, "most answered");
    assert.ok(reloads >= 2);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const total = [...metrics.matchAll(/^triage_requests_total\{[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    assert.equal(total, CHATS, "every request counted once");
    assert.match(metrics, /triage_config_reloads_total\{result="ok"\} [1-9]/);
    assert.match(metrics, /triage_config_reloads_total\{result="failed"\} 0\n/);
    assert.equal(t.proc.exitCode, null, "still running");
    const { code } = await t.stop("SIGTERM");
    assert.equal(code, 0);
    assert.equal(t.rows().length, CHATS, "one ledger row per request");
  } finally {
    stop = true;
    await Promise.allSettled(background);
    await t.cleanup();
    await fake.close();
  }
});
