// Lifecycle under stress: shutdown with clients that misbehave, reloads, the ledger's storage.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startTriage, config, curl, sleep } from "./lib/harness.mjs";
import { startFakeOpenAI, chunk } from "./lib/fake_openai.mjs";

describe("shutdown", () => {
  // Regression: at the end of the grace period a stream whose client had stopped reading stayed
  // blocked in its write to that client (60 s write timeout), so the cancel window ran out, the
  // process exited with "requests still in flight at exit" and the request had no ledger row.
  test("a stream to a client that stopped reading still writes its row before the exit", async () => {
    const up = await startFakeOpenAI();
    up.behave(async (req, res, body) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const big = "x".repeat(4000);
      for (let i = 0; i < 5000 && !res.destroyed; i++) {
        if (!res.write(`data: ${JSON.stringify(chunk(body.model, { content: big }))}\n\n`))
          await new Promise((r) => {
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              r();
            };
            res.on("drain", done);
            res.on("close", done);
          });
      }
      res.end("data: [DONE]\n\n");
    });
    const t = await startTriage(
      config({
        tiers: [{ name: "open", deployments: [{ name: "u", url: up.url, catalog: "gemma-4-31b" }] }],
        extra: "server: {shutdown_grace_ms: 300}\n",
      }),
    );
    const sock = net.connect(t.port, "127.0.0.1");
    sock.on("error", () => {});
    try {
      await new Promise((r) => sock.on("connect", r));
      const body = JSON.stringify({ model: "open", stream: true, messages: [{ role: "user", content: "hi" }] });
      sock.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      let got = 0;
      sock.on("data", (d) => {
        got += d.length;
        sock.pause(); // reads no more: the gateway's writes to it block once the buffers are full
      });
      await sleep(1500);
      assert.ok(got > 0, "the stream began");
      const t0 = Date.now();
      t.proc.kill("SIGTERM");
      const r = await Promise.race([t.exited, sleep(15000).then(() => null)]);
      assert.deepEqual(r, { code: 0, signal: null });
      assert.ok(Date.now() - t0 < 5000, `exit after ${Date.now() - t0} ms`);
      const rows = t.rows();
      assert.equal(rows.length, 1, `one row\n${t.stderr()}`);
      assert.equal(rows[0].status, 200);
      assert.equal(rows[0].error_kind, "client_closed");
      assert.ok(rows[0].output_tokens > 0, JSON.stringify(rows[0]));
      assert.doesNotMatch(t.stderr(), /requests still in flight at exit/);
    } finally {
      sock.destroy();
      await t.cleanup();
      await up.close();
    }
  });
});

describe("ledger on a full disk", () => {
  // Regression: rows the database still refused at the exit (a full disk, a lock held) were
  // dropped without a word: the log ended with "stopped". Each now goes to the log whole.
  test("rows still unwritten at the exit are logged whole, with a count", async (ctx) => {
    const dir = mkdtempSync(path.join(tmpdir(), "triage-full-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir], { stdio: "ignore" });
    } catch {
      rmSync(dir, { recursive: true, force: true });
      ctx.skip("cannot mount a tiny tmpfs here (needs root)");
      return;
    }
    let t;
    try {
      const y = config({ tiers: [{ name: "open", deployments: [{ name: "s", sim: { latency_ms: 0, output_tokens: 3 }, catalog: "gemma-4-31b" }] }] });
      t = await startTriage(y.replace("sqlite://${LEDGER}", `sqlite://${dir}/l.db`));
      const ids = [];
      for (let i = 0; i < 3; i++) {
        const r = await curl([`${t.url}/v1/chat/completions`, "-H", "authorization: Bearer sk-clientkeyclientkey99999", "-d", `{"model":"auto","messages":[{"role":"user","content":"${"hello ".repeat(40)}"}]}`]);
        assert.equal(r.status, 200);
        ids.push(r.headers["x-request-id"]);
      }
      const m = (await curl([`${t.url}/metrics`])).body;
      assert.match(m, /triage_ledger_write_failures_total 3/);
      assert.deepEqual(await t.stop(), { code: 0, signal: null });
      const lines = t.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      const lost = lines.filter((l) => l.msg === "ledger row not written");
      assert.deepEqual(lost.map((l) => l.row.id), ids);
      assert.equal(lost[0].row.status, 200);
      assert.equal(lost[0].row.tier, "open");
      const summary = lines.find((l) => l.msg === "ledger rows not written at exit");
      assert.equal(summary?.rows, 3);
      assert.doesNotMatch(t.stderr(), /clientkey/);
    } finally {
      if (t) await t.cleanup();
      try {
        execFileSync("umount", [dir]);
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("ledger locked by another process", () => {
  // Regression: with a real sqlite3 process holding the write lock (BEGIN EXCLUSIVE) across a
  // SIGTERM, the exit took ~47 s (each queued batch waited 4 x busy_timeout, the kept rows 5 s
  // more) and the clients got no answer. Now the exit is bounded by shutdown_grace_ms + the 2 s
  // cancel window (+1 s margin), the clients are answered, and every row is logged whole.
  test("SIGTERM while a sqlite3 process holds the write lock exits within the grace bound; no row is lost silently", async () => {
    const y = config({ tiers: [{ name: "open", deployments: [{ name: "s", sim: { latency_ms: 0, output_tokens: 3 }, catalog: "gemma-4-31b" }] }], extra: "server: {shutdown_grace_ms: 1000}\n" });
    const t = await startTriage(y);
    const body = '{"model":"auto","messages":[{"role":"user","content":"hi"}]}';
    let lock;
    try {
      const first = await curl([`${t.url}/v1/chat/completions`, "-d", body]);
      assert.equal(first.status, 200);
      lock = spawn("sqlite3", [t.ledger], { stdio: ["pipe", "pipe", "inherit"] });
      let out = "";
      lock.stdout.on("data", (d) => (out += d));
      lock.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n");
      for (let i = 0; i < 200 && !out.includes("locked"); i++) await sleep(20);
      assert.match(out, /locked/);
      const answers = [1, 2, 3].map(() => curl([`${t.url}/v1/chat/completions`, "-d", body]));
      await sleep(500);
      const t0 = Date.now();
      t.proc.kill("SIGTERM");
      const exit = await t.exited;
      const took = Date.now() - t0;
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(took < 1000 + 2000 + 1000, `exit after ${took} ms`);
      const ids = [first.headers["x-request-id"]];
      for (const r of await Promise.all(answers)) {
        assert.equal(r.status, 200, "answered before the exit");
        ids.push(r.headers["x-request-id"]);
      }
      for (let i = 0; i < 100 && !t.stderr().includes('"msg":"stopped"'); i++) await sleep(20);
      lock.stdin.end("ROLLBACK;\n");
      await new Promise((r) => lock.on("close", r));
      const logged = t.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
        .filter((l) => l.msg === "ledger row not written").map((l) => l.row.id);
      const stored = t.rows().map((r) => r.id);
      for (const id of ids) assert.ok(stored.includes(id) !== logged.includes(id), `${id}: stored ${stored.includes(id)}, logged ${logged.includes(id)}\n${t.stderr()}`);
      assert.equal(logged.length, 3, t.stderr());
    } finally {
      if (lock && lock.exitCode === null) lock.kill("SIGKILL");
      await t.cleanup();
    }
  });
});

describe("SIGHUP reload", () => {
  // Regression: a reload whose file moved storage.ledger or changed server.shutdown_grace_ms was
  // logged at info as "routing reloaded" with nothing saying that those wait for a restart.
  test("a changed storage.ledger or shutdown grace is named as waiting for a restart; --listen still wins", async () => {
    const y = config({ tiers: [{ name: "open", deployments: [{ name: "s", sim: { latency_ms: 0, output_tokens: 3 }, catalog: "gemma-4-31b" }] }] });
    const t = await startTriage(y);
    try {
      const cfg = path.join(t.dir, "config.yaml");
      const reloaded = async () => {
        const before = t.stderr().length;
        t.proc.kill("SIGHUP");
        for (let i = 0; i < 100 && !t.stderr().slice(before).includes("routing reload"); i++) await sleep(20);
        const line = t.stderr().slice(before).split("\n").find((l) => l.includes("routing reload"));
        return JSON.parse(line);
      };
      // Unchanged file (its own listen differs from --listen): nothing waits.
      writeFileSync(cfg, readFileSync(cfg, "utf8") + "listen: 127.0.0.1:1\n");
      let l = await reloaded();
      assert.equal(l.level, "info", JSON.stringify(l));
      assert.equal(l.not_applied_until_restart, undefined);
      const other = path.join(t.dir, "other.db");
      writeFileSync(cfg, y.replaceAll("${LEDGER}", other) + "server: {shutdown_grace_ms: 1234}\n");
      l = await reloaded();
      assert.equal(l.level, "warn");
      assert.deepEqual(l.not_applied_until_restart, ["storage.ledger", "server.shutdown_grace_ms"]);
      const r = await curl([`${t.url}/v1/chat/completions`, "-d", '{"model":"auto","messages":[{"role":"user","content":"hi"}]}']);
      assert.equal(r.status, 200);
      await t.stop();
      assert.equal(t.rows().length, 1, "the running ledger stays");
    } finally {
      await t.cleanup();
    }
  });

  // A failed reload used to show only in the log: /metrics now counts reloads by result and says
  // whether the last one failed, so an alert can catch a config that was edited but not applied.
  test("/metrics counts reloads by result and flags a failed last reload", async () => {
    const y = config({ tiers: [{ name: "open", deployments: [{ name: "s", sim: { latency_ms: 0, output_tokens: 3 }, catalog: "gemma-4-31b" }] }] });
    const t = await startTriage(y);
    try {
      const cfg = path.join(t.dir, "config.yaml");
      const good = readFileSync(cfg, "utf8");
      const metric = async (name) => {
        const m = (await curl([`${t.url}/metrics`])).body.match(new RegExp(`^${name} (\\d+)$`, "m"));
        assert.ok(m, `${name} missing`);
        return Number(m[1]);
      };
      const reload = async () => {
        const before = t.stderr().length;
        t.proc.kill("SIGHUP");
        for (let i = 0; i < 100 && !t.stderr().slice(before).includes("routing reload"); i++) await sleep(20);
      };
      const ok = 'triage_config_reloads_total\\{result="ok"\\}';
      const failed = 'triage_config_reloads_total\\{result="failed"\\}';
      assert.equal(await metric(ok), 0);
      assert.equal(await metric(failed), 0);
      assert.equal(await metric("triage_config_last_reload_successful"), 1, "no reload is not a failure");
      writeFileSync(cfg, good + "routing:\n  router: learned:/no/such.model\n");
      await reload();
      assert.equal(await metric(failed), 1);
      assert.equal(await metric("triage_config_last_reload_successful"), 0);
      writeFileSync(cfg, "tiers: [\n");  // half-written
      await reload();
      assert.equal(await metric(failed), 2);
      writeFileSync(cfg, good);
      await reload();
      assert.equal(await metric(ok), 1);
      assert.equal(await metric(failed), 2);
      assert.equal(await metric("triage_config_last_reload_successful"), 1);
    } finally {
      await t.cleanup();
    }
  });
});
