// The command line: check, version, help, demo.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { triageBin, repoRoot, startDemo } from "./lib/harness.mjs";

test("--version and --help", () => {
  const v = spawnSync(triageBin, ["--version"], { encoding: "utf8" });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^triage \d+\.\d+\.\d+/);
  const h = spawnSync(triageBin, ["--help"], { encoding: "utf8" });
  assert.equal(h.status, 0);
  for (const sub of ["serve", "demo", "check"]) assert.match(h.stdout, new RegExp(sub));
});

test("the gateway runs on the allocator it was built with (the listening line's malloc)", async () => {
  // The default build links mimalloc (CMake's TRIAGE_MALLOC); the line names the library whose
  // malloc the process really calls, so a link that lets glibc's malloc win shows here.
  // scripts/sanitize.sh sets TRIAGE_IT_MALLOC: a sanitizer defines malloc in the executable.
  const want = process.env.TRIAGE_IT_MALLOC || "libmimalloc.so.2";
  const t = await startDemo();
  try {
    const listening = await t.listening();
    assert.ok(listening, `no listening line in:\n${t.stderr()}`);
    assert.equal(listening.malloc, want, JSON.stringify(listening));
  } finally {
    await t.cleanup();
  }
});

test("check explains a valid config and names the key at fault in a bad one", () => {
  const ok = spawnSync(triageBin, ["check", "--config", path.join(repoRoot, "config/example.yaml")], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /config OK/);
  assert.match(ok.stdout, /gemma-4-31b/);
  const dir = mkdtempSync(path.join(tmpdir(), "triage-check-"));
  try {
    const bad = path.join(dir, "bad.yaml");
    writeFileSync(bad, "tiers:\n  - name: open\n    deployments:\n      - {name: a, provider: foo, catalog: gemma-4-31b}\n");
    const r = spawnSync(triageBin, ["check", "--config", bad], { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /tiers\[0\]\.deployments\[0\]\.provider: unknown provider 'foo'/);
    const missing = spawnSync(triageBin, ["check", "--config", path.join(dir, "nope.yaml")], { encoding: "utf8" });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("check loads routing.router: a wrong-kind, missing or corrupt model fails before serve would", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "triage-check-"));
  try {
    const cfg = (router) =>
      "tiers:\n" +
      "  - {name: open, deployments: [{name: o, provider: sim, catalog: gemma-4-31b}]}\n" +
      "  - {name: frontier, deployments: [{name: f, provider: sim, catalog: claude-opus-4.7}]}\n" +
      `routing: {router: "${router}", thresholds: [0.6]}\n`;
    const check = (router) => {
      const file = path.join(dir, "c.yaml");
      writeFileSync(file, cfg(router));
      return spawnSync(triageBin, ["check", "--config", file], { encoding: "utf8" });
    };
    const models = path.join(repoRoot, "models");
    for (const good of [`learned:${models}/learned-v2.model`, "learned:builtin", `cascade:${models}/cascade-v2.model`, `rules:${models}/rules-v1.txt`, "length"]) {
      const r = check(good);
      assert.equal(r.status, 0, `${good}: ${r.stderr}`);
      assert.match(r.stdout, /config OK/);
    }
    const wrong = check(`learned:${models}/cascade-v2.model`);
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /routing\.router: model file .*cascade-v2\.model is a cascade model; use cascade:/);
    const missing = check(`learned:${dir}/none.model`);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /none\.model/);
    writeFileSync(path.join(dir, "junk.model"), "not a model");
    const junk = check(`cascade:${dir}/junk.model`);
    assert.equal(junk.status, 2);
    assert.match(junk.stderr, /junk\.model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Regression: a malformed --ledger exited 1 (the ledger failed to open) although a malformed
// value is a usage error (exit 2), as the same URL in a config file is for `serve` and `check`.
test("demo: a malformed --ledger is a usage error (exit 2), before anything listens", () => {
  for (const bad of ["postgres://x", "sqlite://", "sqlite::memory:?synchronous=bogus", "sqlite://dir/"]) {
    const r = spawnSync(triageBin, ["demo", "--listen", "127.0.0.1:0", "--ledger", bad], { encoding: "utf8", timeout: 10000 });
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--ledger: ledger url/);
    assert.doesNotMatch(r.stdout, /listening/);
  }
});

// Regression: CLI11's Range lets "nan" through (every comparison with it is false), so
// `demo --summary-every nan` started the gateway with a NaN interval (converted to an integer
// count of milliseconds: undefined behaviour) and never printed a summary.
test("demo: --summary-every outside 0.1-3600 s, nan or inf is a usage error (exit 2), before anything listens", () => {
  for (const bad of ["nan", "NaN", "inf", "-inf", "0", "0.05", "3601", "-1", "ten"]) {
    const r = spawnSync(triageBin, ["demo", "--listen", "127.0.0.1:0", "--ledger", "sqlite::memory:", "--summary-every", bad], { encoding: "utf8", timeout: 5000 });
    assert.equal(r.status, 2, `--summary-every ${bad}: status ${r.status}, signal ${r.signal}: ${r.stderr}`);
    assert.match(r.stderr, /--summary-every/);
    assert.doesNotMatch(r.stdout, /listening/);
  }
});

test("demo: prints the URL and examples, answers on three tiers, prints a summary line", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "triage-demo-"));
  const proc = spawn(triageBin, ["demo", "--listen", "127.0.0.1:0", "--ledger", `sqlite://${dir}/demo.db`, "--summary-every", "0.2"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("demo did not start")), 10000);
      proc.stdout.on("data", () => {
        const m = out.match(/triage listening on (http:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "demo", maxRetries: 0 });
    for (const tier of ["open", "mid", "frontier"]) {
      const { data, response } = await client.chat.completions.create({ model: tier, messages: [{ role: "user", content: "hi" }], max_tokens: 5 }).withResponse();
      assert.equal(response.headers.get("x-triage-tier"), tier);
      assert.equal(response.headers.get("x-triage-simulated"), "true");
      assert.match(data.choices[0].message.content, /^\[simulated /);
      assert.match(response.headers.get("x-triage-cost-usd"), /^\d+\.\d{6}$/);
    }
    // model "auto": the built-in learned router picks the tier, with thresholds 0.58 / 0.68.
    const { response } = await client.chat.completions.create({ model: "auto", messages: [{ role: "user", content: "hi" }], max_tokens: 5 }).withResponse();
    const route = Buffer.from(response.headers.get("x-triage-route"), "latin1").toString("utf8");
    const m = route.match(/^learned score=(\d\.\d\d) → (open|mid|frontier)$/);
    assert.ok(m, route);
    assert.equal(m[2], Number(m[1]) < 0.58 ? "open" : Number(m[1]) < 0.68 ? "mid" : "frontier");
    assert.equal(response.headers.get("x-triage-tier"), m[2]);
    await new Promise((r) => setTimeout(r, 500));
    assert.match(out, /curl -s http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions/);
    assert.match(out, /routed by the built-in learned router/);
    assert.match(out, /from openai import OpenAI/);
    // The banner's header claim held for plain answers only: a stream's headers leave before its
    // cost is known (README, "Cost on streams"). And it names the interval it was given.
    assert.doesNotMatch(out, /Every response carries/);
    assert.match(out, /a stream's cost\s+comes in HTTP trailers/);
    assert.match(out, /A summary line follows every 0\.2 s;/);
    const n = (t) => (t === m[2] ? 2 : 1);  // one pinned request per tier, plus the routed one
    assert.match(out, new RegExp(`\\[summary\\] requests 4 \\(open ${n("open")}, mid ${n("mid")}, frontier ${n("frontier")}\\)`));
    assert.match(out, /\[summary\] requests 4 \(open \d, mid \d, frontier \d\) \| spend \$\d+\.\d+ \| all-frontier \$\d+\.\d+ \| saved \d+\.\d%/);
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.on("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("check refuses what serve could not use: a listen host name, a bad ledger option", () => {
  // Regression: both passed `triage check` ("config OK"), then `serve` failed with exit 1.
  const dir = mkdtempSync(path.join(tmpdir(), "triage-check-"));
  try {
    const base = "tiers:\n  - {name: open, deployments: [{name: o, provider: sim, catalog: gemma-4-31b}]}\n";
    const check = (extra) => {
      const file = path.join(dir, "c.yaml");
      writeFileSync(file, base + extra);
      return spawnSync(triageBin, ["check", "--config", file], { encoding: "utf8" });
    };
    const host = check("listen: myhost:8080\n");
    assert.equal(host.status, 2, host.stdout);
    assert.match(host.stderr, /listen: host 'myhost' is not an IP address or localhost/);
    const octet = check("listen: 999.1.1.1:80\n");
    assert.equal(octet.status, 2, octet.stdout);
    assert.match(octet.stderr, /listen: host '999\.1\.1\.1'/);
    for (const ok of ["listen: localhost:0\n", 'listen: "[::1]:0"\n', "listen: :0\n"]) {
      const r = check(ok);
      assert.equal(r.status, 0, `${ok}: ${r.stderr}`);
    }
    const serve = spawnSync(triageBin, ["serve", "--config", path.join(dir, "c.yaml"), "--listen", "myhost:1"], { encoding: "utf8", timeout: 10000 });
    assert.equal(serve.status, 2, serve.stderr);
    assert.match(serve.stderr, /--listen: host 'myhost'/);

    const sync = check(`storage: {ledger: "sqlite://${dir}/l.db?synchronous=fast"}\n`);
    assert.equal(sync.status, 2, sync.stdout);
    assert.match(sync.stderr, /storage\.ledger: .*synchronous must be 'normal' or 'full'/);
    const opt = check(`storage: {ledger: "sqlite://${dir}/l.db?journal=wal"}\n`);
    assert.equal(opt.status, 2, opt.stdout);
    assert.match(opt.stderr, /storage\.ledger: .*unknown option 'journal'/);
    assert.equal(check(`storage: {ledger: "sqlite://${dir}/l.db?synchronous=full"}\n`).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Regression: `serve` checked neither the router model nor the ledger URL's options before
// starting; a file that `check` refused (exit 2, naming the file) made `serve` exit 1 with
// "triage: routing.router: ..." and no file name. And `check` stopped at the first of the two.
test("serve refuses what check refuses, with the same exit 2 and message; check reports both at once", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "triage-check-"));
  try {
    const file = path.join(dir, "c.yaml");
    const write = (extra) =>
      writeFileSync(
        file,
        "tiers:\n" +
          "  - {name: open, deployments: [{name: o, provider: sim, catalog: gemma-4-31b}]}\n" +
          "  - {name: frontier, deployments: [{name: f, provider: sim, catalog: claude-opus-4.7}]}\n" +
          extra,
      );
    const run = (cmd) =>
      spawnSync(triageBin, cmd === "serve" ? ["serve", "--config", file, "--listen", "127.0.0.1:0"] : ["check", "--config", file], {
        encoding: "utf8",
        timeout: 10000,
      });
    const router = `routing: {router: "learned:${dir}/none.model", thresholds: [0.6]}\n`;
    const ledger = 'storage: {ledger: "sqlite::memory:?synchronous=fast"}\n';
    for (const [extra, want] of [
      [router, /c\.yaml: routing\.router: .*none\.model/],
      [ledger, /c\.yaml: storage\.ledger: .*synchronous must be 'normal' or 'full'/],
    ]) {
      write(extra);
      for (const cmd of ["check", "serve"]) {
        const r = run(cmd);
        assert.equal(r.status, 2, `${cmd} ${extra}: ${r.stderr}`);
        assert.match(r.stderr, want, cmd);
        assert.doesNotMatch(r.stdout, /listening|config OK/, cmd);
      }
    }
    // A CA file that cannot be loaded passed `check` ("config OK"); `serve` then exited 1 with
    // "triage: cannot load CA file ..." naming neither the file nor the key.
    writeFileSync(
      file,
      "tiers:\n  - name: open\n    deployments:\n" +
        `      - {name: o, provider: openai, base_url: "https://127.0.0.1:9/v1", catalog: gemma-4-31b, ca_file: ${dir}/none.pem}\n` +
        'storage: {ledger: "sqlite::memory:"}\n',
    );
    for (const cmd of ["check", "serve"]) {
      const r = run(cmd);
      assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /c\.yaml: tiers\[0\]\.deployments\[0\]\.ca_file: cannot load CA file '.*none\.pem'/, cmd);
    }
    write(router + ledger);
    const both = run("check");
    assert.equal(both.status, 2, both.stderr);
    assert.match(both.stderr, /routing\.router: .*none\.model/);
    assert.match(both.stderr, /storage\.ledger: .*synchronous/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a closed stderr does not kill the gateway: requests go on being answered and accounted, SIGTERM exits 0", async () => {
  // Regression: with stderr a pipe whose reader went away (a log collector that died), the next
  // log line raised SIGPIPE and killed the process, in-flight requests and their rows included.
  const dir = mkdtempSync(path.join(tmpdir(), "triage-pipe-"));
  const ledger = path.join(dir, "l.db");
  const file = path.join(dir, "c.yaml");
  writeFileSync(
    file,
    `tiers:\n  - {name: open, deployments: [{name: o, provider: sim, catalog: gemma-4-31b, sim: {latency_ms: 1, output_tokens: 3}}]}\n` +
      `storage: {ledger: "sqlite://${ledger}"}\nlog_level: debug\n`,
  );
  const proc = spawn(triageBin, ["serve", "--config", file, "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  try {
    let out = "";
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("serve did not start")), 10000);
      proc.stdout.on("data", (d) => {
        out += d;
        const m = out.match(/triage listening on (http:\/\/\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    proc.stderr.destroy(); // the read end closes: the next write to stderr gets EPIPE
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "x", maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      // each request writes a debug log line to the closed stderr
      const r = await client.chat.completions.create({ model: "open", messages: [{ role: "user", content: `hi ${i}` }] });
      assert.match(r.choices[0].message.content, /^\[simulated /);
    }
    assert.equal(proc.exitCode, null, "still running");
    assert.equal(proc.signalCode, null, "not killed by a signal");
    proc.kill("SIGTERM");
    assert.deepEqual(await exited, { code: 0, signal: null });
    const rows = spawnSync("sqlite3", [ledger, "select count(*) from requests where status = 200"], { encoding: "utf8" });
    assert.equal(rows.stdout.trim(), "3");
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
