// Issue 4: the fault matrix. Every fault x streaming/non-streaming x fallback available or not:
// the client gets a correct answer via fallback or a clear error within the deadline, exactly
// one ledger row, retries within max_attempts, and no leaked file descriptors.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import net from "node:net";
import OpenAI from "openai";
import { startTriage, config } from "./lib/harness.mjs";
import { startFakeOpenAI } from "./lib/fake_openai.mjs";
import { startFaultyUpstream, FAULTS, AFTER_CONTENT } from "./lib/faults.mjs";

const EXPECTED_STATUS = {
  status_500: 502, status_502: 502, status_503: 502, status_529: 502, status_429_retry_after: 429,
  connection_refused: 502, reset_before_headers: 502, reset_mid_body: 502, hang_before_headers: 504,
  hang_mid_stream: 504, slow_drip: 504, malformed_json: 502, truncated_sse: 502,
  wrong_content_type: 502, oversized_response: 502,
};

async function freePortUrl() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}/v1`;
}

for (const dialect of ["openai", "anthropic"])
describe(`fault matrix, ${dialect} upstream`, () => {
  let faulty, healthy, t, client, refusedUrl, fdsAtStart;
  before(async () => {
    faulty = await startFaultyUpstream(dialect);
    healthy = await startFakeOpenAI();
    refusedUrl = await freePortUrl();
    const timeouts = { connect_ms: 500, first_byte_ms: 600, idle_ms: 300, total_ms: 2500 };
    t = await startTriage(
      config({
        tiers: [
          { name: "flaky", deployments: [{ name: "faulty", provider: dialect, url: faulty.url, catalog: "gemma-4-31b", timeouts }] },
          { name: "spare", deployments: [{ name: "refused", provider: dialect, url: refusedUrl, catalog: "gemma-4-31b", timeouts }] },
          { name: "good", deployments: [{ name: "healthy", url: healthy.url, catalog: "claude-sonnet-4.6", timeouts }] },
        ],
        extra:
          "routing: {fallback: up}\n" +
          "retry: {max_attempts: 3, backoff_base_ms: 10, backoff_max_ms: 50, max_server_wait_ms: 5000, budget_ratio: 5, budget_min: 1000}\n" +
          "breaker: {consecutive_failures: 100000, min_requests: 100000}\n" +
          "limits: {max_response_bytes: 1048576}\n",
      }),
    );
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "x", maxRetries: 0, timeout: 15000 });
    fdsAtStart = readdirSync(`/proc/${t.proc.pid}/fd`).length;
  });
  after(async () => {
    await t.cleanup();
    await faulty.close();
    await healthy.close();
  });

  for (const fault of FAULTS) {
    for (const stream of [false, true]) {
      for (const fallback of [true, false]) {
        const name = `${fault} ${stream ? "stream" : "unary"} ${fallback ? "with" : "without"} fallback`;
        test(name, async () => {
          faulty.fault = fault;
          // With fallback: tier "flaky" (faulty first, then the tiers above it). Without: the one
          // failing deployment pinned.
          const model = fault === "connection_refused" ? (fallback ? "spare" : "refused") : fallback ? "flaky" : "faulty";
          const rowsBefore = t.rows().length;
          const started = Date.now();
          const req = { model, messages: [{ role: "user", content: `cell ${name}` }] };
          let answer = "";
          let error;
          try {
            if (stream) {
              const s = await client.chat.completions.create({ ...req, stream: true });
              for await (const c of s) answer += c.choices[0]?.delta?.content || "";
            } else {
              const r = await client.chat.completions.create(req);
              answer = r.choices[0].message.content;
            }
          } catch (e) {
            error = e;
          }
          const elapsed = Date.now() - started;
          assert.ok(elapsed < 8000, `answered within the deadline (${elapsed} ms)`);

          if (stream && AFTER_CONTENT.has(fault)) {
            // Content went out before the failure: no silent partial answer, an error event.
            assert.ok(error, "a stream that failed after content must end in an error");
            assert.match(String(error.message), /deployment faulty/);
            assert.equal(answer, "partial");
          } else if (fallback) {
            assert.equal(error, undefined, `fallback should answer: ${error}`);
            assert.equal(answer, "Hello from the fake.");
          } else {
            assert.ok(error, "no fallback: a clear error");
            assert.equal(error.status, EXPECTED_STATUS[fault], `${error.status} ${error.message}`);
            assert.ok(error.message.length > 0);
          }

          const rows = t.rows();
          assert.equal(rows.length, rowsBefore + 1, "exactly one ledger row");
          const row = rows.at(-1);
          assert.ok(row.attempts >= 1 && row.attempts <= 3, `attempts ${row.attempts}`);
          if (fallback && !(stream && AFTER_CONTENT.has(fault))) assert.equal(row.deployment, "healthy");
          if (stream && AFTER_CONTENT.has(fault)) {
            assert.equal(row.status, 200);
            assert.notEqual(row.error_kind, "");
          }
        });
      }
    }
  }

  test("no leaked file descriptors after the matrix", async () => {
    // Pooled keep-alive connections to the healthy upstream may stay open, a handful at most.
    // Sockets of the last requests may still be closing (a lingering close takes up to 2 s on a
    // loaded machine): wait up to 6 s for the count to come down; a leak never does.
    const count = () => readdirSync(`/proc/${t.proc.pid}/fd`).length;
    let fds = count();
    for (const deadline = Date.now() + 6000; fds > fdsAtStart + 8 && Date.now() < deadline; fds = count())
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(fds <= fdsAtStart + 8, `fds ${fdsAtStart} -> ${fds}`);
  });
});
