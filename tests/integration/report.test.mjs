// `triage report`: what the ledger says was spent and saved, checked against the cost headers
// the clients got, with a priced deployment (gemma-4-31b, $0.20 / $0.20 per Mtok) and an unpriced
// one (qwen-3.6-35b-a3b: the catalog has no price) whose requests must stay out of the saving.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync, openSync, closeSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startTriage, config, triageBin, sleep, curl } from "./lib/harness.mjs";
import { startFakeOpenAI, openaiError } from "./lib/fake_openai.mjs";

const run = (args) => spawnSync(triageBin, args, { encoding: "utf8" });
const micros = (usd) => Math.round(Number(usd) * 1e6);
const header = (h, name) => (typeof h?.get === "function" ? h.get(name) : h?.[name]);

describe("triage report against the cost headers", () => {
  let fake, t;
  // What the clients were told, per request: deployment, cost and reference cost in micros.
  const seen = [];
  const note = (headers) =>
    seen.push({
      deployment: header(headers, "x-triage-deployment"),
      cost: micros(header(headers, "x-triage-cost-usd")),
      reference: micros(header(headers, "x-triage-reference-cost-usd")),
    });

  before(async () => {
    fake = await startFakeOpenAI();
    fake.behave(async (req, res, body) => {
      const last = body.messages?.at(-1)?.content;
      if (last === "fail") {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify(openaiError(500, "boom")));
        return;
      }
      // Distinct usage per request, so that a report summing the wrong rows cannot match.
      const n = fake.requests.length;
      await fake.reply(req, res, body, { usage: { prompt_tokens: 100 + n, completion_tokens: 40 + 3 * n } });
    });
    t = await startTriage(
      config({
        tiers: [
          { name: "open", deployments: [{ name: "gemma", url: fake.url, catalog: "gemma-4-31b", model: "gemma4:31b" }] },
          { name: "local", deployments: [{ name: "open-local", url: fake.url, catalog: "qwen-3.6-35b-a3b", model: "qwen3.6" }] },
        ],
        extra: "routing: {fallback: none}\nretry: {max_attempts: 1}\n",
      }),
    );
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: t.url, apiKey: "unused", maxRetries: 0 });
    const ask = (model, content) => openai.chat.completions.create({ model, messages: [{ role: "user", content }] }).withResponse();
    for (const model of ["open", "open", "local", "open", "local", "auto"]) note((await ask(model, `hello ${seen.length}`)).response.headers);
    note((await anthropic.messages.create({ model: "open", max_tokens: 100, messages: [{ role: "user", content: "hi" }] }).withResponse()).response.headers);
    // Refused (unknown model) and failed upstream (500 -> 502): counted, not answered.
    for (const [model, content] of [["no-such-model", "x"], ["open", "fail"]]) {
      const e = await ask(model, content).then(() => null, (err) => err);
      assert.ok(e instanceof OpenAI.APIError, String(e));
      note(e.headers);
    }
  });
  after(async () => {
    await t?.cleanup();
    await fake?.close();
  });

  const report = (...extra) => {
    const r = run(["report", "--ledger", `sqlite://${t.ledger}`, ...extra]);
    assert.equal(r.status, 0, r.stderr);
    return r;
  };
  const sum = (rows, key) => rows.reduce((a, x) => a + x[key], 0);

  function check(j) {
    const unpriced = seen.filter((s) => s.deployment === "open-local");
    const priced = seen.filter((s) => s.deployment !== "open-local");
    assert.equal(unpriced.length, 2);
    assert.ok(unpriced.every((s) => s.cost === 0 && s.reference > 0), JSON.stringify(unpriced));
    assert.equal(j.requests.total, seen.length);
    assert.equal(j.requests.answered, 7);
    assert.equal(j.requests.refused, 1);
    assert.equal(j.requests.failed, 1);
    assert.deepEqual(j.requests.by_error_kind, { not_found: 1, upstream_error: 1 });
    // Both sides of the saving: the priced requests' headers, to the micro-dollar.
    assert.equal(micros(j.overall.spend_usd), sum(priced, "cost"));
    assert.equal(micros(j.overall.reference_usd), sum(priced, "reference"));
    assert.equal(micros(j.overall.saved_usd), sum(priced, "reference") - sum(priced, "cost"));
    assert.ok(Math.abs(j.overall.saved_fraction - (1 - sum(priced, "cost") / sum(priced, "reference"))) < 1e-12);
    assert.equal(j.overall.priced_requests, priced.length);
    assert.equal(j.overall.unpriced_requests, 2);
    // The unpriced requests' reference cost is shown apart, never in the saving.
    assert.equal(j.unpriced.requests, 2);
    assert.equal(micros(j.unpriced.reference_usd), sum(unpriced, "reference"));
    assert.deepEqual(j.unpriced.deployments, { "open-local": 2 });
    const local = j.tiers.find((x) => x.tier === "local");
    assert.equal(local.requests, 2);
    assert.equal(local.reference_usd, 0);
    assert.equal(local.saved_fraction, null);
    // The tokens the fake reported (the two that failed or were refused had none).
    const gemma = j.tiers.find((x) => x.tier === "open");
    assert.equal(gemma.answered, 5);
    assert.equal(j.overall.input_tokens, t.rows().reduce((a, r) => a + r.input_tokens, 0));
    assert.ok(j.overall.input_tokens >= 7 * 100);
    // Routing: seven pinned to a tier (the failed one too), "auto" to the default tier (open),
    // the refused one never routed.
    assert.equal(j.routes.pinned, 7);
    assert.equal(j.routes.default, 1);
    assert.equal(j.routes.none, 1);
  }

  test("--json while the gateway runs matches the headers; unpriced requests are not in the saving", () => {
    check(JSON.parse(report("--json").stdout));
    const text = report().stdout;
    assert.match(text, /^requests {2}9: 7 answered, 1 refused for the client's request \(not_found 1\), 1 failed upstream or in the gateway \(upstream_error 1\)$/m);
    assert.match(text, /^2 requests on unpriced deployments \(open-local\) are not in the saving: their cost is unknown/m);
    assert.match(text, /^overall +9 +7 /m);
  });

  test("/metrics: reference minus triage_unpriced_reference_cost_usd_total is the report's all-frontier figure", async () => {
    const m = (await curl([`${t.url}/metrics`])).body;
    const total = (name) =>
      [...m.matchAll(new RegExp(`^${name}\\{tier="[^"]*"\\} (\\S+)$`, "gm"))].reduce((a, x) => a + micros(x[1]), 0);
    const j = JSON.parse(report("--json").stdout);
    assert.match(m, /^triage_unpriced_reference_cost_usd_total\{tier="local"\} /m);
    assert.equal(total("triage_unpriced_reference_cost_usd_total"), micros(j.unpriced.reference_usd));
    assert.equal(total("triage_reference_cost_usd_total") - total("triage_unpriced_reference_cost_usd_total"), micros(j.overall.reference_usd));
    assert.equal(total("triage_cost_usd_total"), micros(j.overall.spend_usd) + micros(j.unpriced.known_cost_usd));
  });

  test("the same after the gateway stopped; --since-hours keeps recent rows only", async () => {
    await t.stop();
    check(JSON.parse(report("--json").stdout));
    assert.equal(JSON.parse(report("--json", "--since-hours", "1").stdout).requests.total, 9);
    await sleep(400);
    const none = report("--since-hours", "0.0001");  // 0.36 s
    assert.equal(none.stdout, `no rows in sqlite://${t.ledger} in the last 0.0001 hours\n`);
    assert.equal(JSON.parse(report("--json", "--since-hours", "0.0001").stdout).requests.total, 0);
  });

  test("errors: a missing file, not a ledger, a bad URL exit 1; bad --since-hours exits 2", () => {
    const missing = path.join(t.dir, "none.db");
    let r = run(["report", "--ledger", `sqlite://${missing}`]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `triage: report: no ledger file ${missing}\n`);
    assert.equal(existsSync(missing), false);
    const text = path.join(t.dir, "notes.txt");
    writeFileSync(text, "not a database\n");
    r = run(["report", "--ledger", `sqlite://${text}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not a triage ledger/);
    // A directory: it said "cannot open ledger database 'DIR': disk I/O error".
    for (const args of [["report"], ["calibrate", "--router", "length", "--split", "70/30"]]) {
      r = run([...args, "--ledger", `sqlite://${t.dir}`]);
      assert.equal(r.status, 1, args.join(" "));
      assert.match(r.stderr, new RegExp(`${t.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is a directory, not a ledger file\n$`), args.join(" "));
    }
    r = run(["report", "--ledger", "postgres://db/x"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ledger url 'postgres:\/\/db\/x'/);
    for (const bad of ["nan", "inf", "0", "-1", "x"]) {
      r = run(["report", "--ledger", `sqlite://${t.ledger}`, "--since-hours", bad]);
      assert.equal(r.status, 2, bad);
      assert.match(r.stderr, /--since-hours/, bad);
    }
    r = run(["report"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--ledger/);
    // A stdout that cannot take the report (a full disk): exit 1 with the reason (it exited 1
    // without a word).
    for (const args of [[], ["--json"]]) {
      const full = openSync("/dev/full", "w");
      try {
        r = spawnSync(triageBin, ["report", "--ledger", `sqlite://${t.ledger}`, ...args], { encoding: "utf8", stdio: ["ignore", full, "pipe"] });
      } finally {
        closeSync(full);
      }
      assert.equal(r.status, 1, args.join(" "));
      assert.equal(r.stderr, "triage: report: cannot write to stdout: No space left on device\n", args.join(" "));
    }
  });
});
