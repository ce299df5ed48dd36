// Test harness: starts the real triage binary against fake upstreams and reads its ledger.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../../..");
export const triageBin = process.env.TRIAGE_BIN || path.join(repoRoot, "build/triage");

// Runs `triage ARGS...` with its ledger at `ledger` (under `dir`, removed by cleanup) and
// resolves once the listening line is printed.
async function spawnTriage(args, { dir, ledger, env = {}, prefix = [] }) {
  // `prefix`: a command that execs the gateway in its own process (e.g. util-linux prlimit).
  const argv = [...prefix, triageBin, ...args];
  const proc = spawn(argv[0], argv.slice(1), {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`triage ${args[0]} did not start:\n${stderr}`)), 10000);
    proc.stdout.on("data", (d) => {
      stdout += d;
      const m = stdout.match(/triage listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`triage exited with ${code} before listening:\n${stderr}`));
    });
  });
  const t = {
    url,
    port: Number(new URL(url).port),
    proc,
    ledger,
    dir,
    exited,
    stderr: () => stderr,
    // The parsed "listening" log line (url, ledger, tiers, threads, malloc). It follows the
    // stdout line that resolved the start, so it is waited for (up to 2 s); null if it never came.
    async listening() {
      for (let i = 0; i < 100; i++) {
        for (const line of stderr.split("\n")) {
          try {
            const j = JSON.parse(line);
            if (j?.msg === "listening") return j;
          } catch {}
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return null;
    },
    // Ledger rows (committed), via the sqlite3 CLI like an operator would.
    rows() {
      const out = execFileSync("sqlite3", ["-json", ledger, "select * from requests order by rowid"], {
        encoding: "utf8",
      });
      return out.trim() ? JSON.parse(out) : [];
    },
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      return r;
    },
    async cleanup() {
      // Under scripts/sanitize.sh (TRIAGE_IT_GRACEFUL_EXIT=1) the gateway gets SIGTERM first, so
      // that it returns from main and LeakSanitizer checks it (SIGKILL skips that); SIGKILL when
      // it is still there after 20 s.
      if (process.env.TRIAGE_IT_GRACEFUL_EXIT === "1" && proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        let timer;
        await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 20000)))]);
        clearTimeout(timer);
      }
      await t.stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

// TRIAGE_IT_THREADS=N: every gateway startTriage starts runs N io threads (server.threads)
// unless its config names a thread count itself, for ThreadSanitizer runs (scripts/sanitize.sh
// --thread) on a machine with few cores. faults.test.mjs reads the count back from the
// gateway's "listening" log line (its fd bound allows a few pooled connections per thread).
function withThreads(yaml) {
  const n = process.env.TRIAGE_IT_THREADS;
  if (!n || /\bthreads:/.test(yaml)) return yaml;
  if (/^server:\s*\{/m.test(yaml)) return yaml.replace(/^server:\s*\{/m, `server: {threads: ${n}, `);
  if (/^server:\s*$/m.test(yaml)) return yaml.replace(/^server:\s*$/m, `server:\n  threads: ${n}`);
  return `${yaml}\nserver: {threads: ${n}}\n`;
}

// Starts `triage serve` with the given YAML (a string; `${LEDGER}` is replaced by a fresh
// sqlite path). Resolves once the listening line is printed.
export async function startTriage(yaml, { env = {}, args = [], prefix = [] } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "triage-it-"));
  const ledger = path.join(dir, "ledger.db");
  const configPath = path.join(dir, "config.yaml");
  writeFileSync(configPath, withThreads(yaml).replaceAll("${LEDGER}", ledger));
  return spawnTriage(["serve", "--config", configPath, "--listen", "127.0.0.1:0", ...args], { dir, ledger, env, prefix });
}

// Starts `triage demo` (simulated tiers, no config) on a free port with its ledger in a
// temporary directory.
export async function startDemo() {
  const dir = mkdtempSync(path.join(tmpdir(), "triage-demo-"));
  const ledger = path.join(dir, "demo.db");
  return spawnTriage(["demo", "--listen", "127.0.0.1:0", "--ledger", `sqlite://${ledger}`, "--summary-every", "3600"], {
    dir,
    ledger,
  });
}

// The gateway the cross-dialect tests share: tier "open" on the OpenAI-style upstream at
// `openaiUrl` (deployment "gemma", model gemma4:31b), tier "frontier" on the Anthropic upstream
// at `anthropicUrl` (deployment "claude", model claude-opus-4-7, key ANT_TEST_KEY in
// TRIAGE_IT_ANT_KEY), no fallback, one attempt unless `extra` (the config's routing and retry
// lines) says otherwise; `more` (e.g. {timeouts}) goes to both deployments. Resolves the started
// gateway.
export const ANT_TEST_KEY = "sk-ant-test-key-999";
export function startTwoDialects(openaiUrl, anthropicUrl, more = {}, extra = "routing: {fallback: none}\nretry: {max_attempts: 1}\n") {
  return startTriage(
    config({
      tiers: [
        { name: "open", deployments: [{ name: "gemma", url: openaiUrl, catalog: "gemma-4-31b", model: "gemma4:31b", ...more }] },
        { name: "frontier", deployments: [{ name: "claude", provider: "anthropic", url: anthropicUrl, catalog: "claude-opus-4.7", model: "claude-opus-4-7", api_key_env: "TRIAGE_IT_ANT_KEY", ...more }] },
      ],
      extra,
    }),
    { env: { TRIAGE_IT_ANT_KEY: ANT_TEST_KEY } },
  );
}

// A config with one tier per entry of `tiers` ({name, deployments: [{name, url|sim, catalog, extra}]}).
export function config({ tiers, extra = "" }) {
  let y = "reference_model: claude-opus-4.7\nstorage:\n  ledger: sqlite://${LEDGER}\ntiers:\n";
  for (const t of tiers) {
    y += `  - name: ${t.name}\n    deployments:\n`;
    for (const d of t.deployments) {
      y += `      - name: ${d.name}\n`;
      if (d.sim) y += `        provider: sim\n        sim: ${JSON.stringify(d.sim)}\n`;
      else y += `        provider: ${d.provider || "openai"}\n        base_url: ${d.url}\n`;
      y += `        catalog: ${d.catalog}\n`;
      if (d.model) y += `        model: ${d.model}\n`;
      if (d.api_key_env) y += `        api_key_env: ${d.api_key_env}\n`;
      if (d.timeouts) y += `        timeouts: ${JSON.stringify(d.timeouts)}\n`;
      if (d.more) y += d.more;
    }
  }
  return y + extra;
}

// Runs curl with the given arguments; resolves {status, headers (lower-case map), body, raw}.
// Asynchronous: the fake upstreams live in this process and must keep answering meanwhile.
// curl gives up after TRIAGE_IT_CURL_MAX_TIME seconds (20; scripts/sanitize.sh --thread sets 300).
const curlMaxTime = process.env.TRIAGE_IT_CURL_MAX_TIME || "20";
export async function curl(args, { input } = {}) {
  const raw = await new Promise((resolve, reject) => {
    const p = spawn("curl", ["-sS", "-i", "--max-time", curlMaxTime, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    // "close", not "exit": the process may exit before its stdout has been read to the end.
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited ${code}: ${err}`))));
    p.stdin.on("error", () => {});
    p.stdin.end(input ?? "");
  });
  // Skip interim responses (100 Continue).
  let text = raw;
  while (/^HTTP\/1\.1 100/.test(text)) text = text.slice(text.indexOf("\r\n\r\n") + 4);
  const split = text.indexOf("\r\n\r\n");
  const head = text.slice(0, split).split("\r\n");
  const status = Number(head[0].split(" ")[1]);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(split + 4), raw };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
