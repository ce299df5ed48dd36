// The offline router tools end to end, the way a user runs them: `triage eval`, `train` and
// `calibrate` on the real dev outcomes in ../shared/data/outcomes and on small fixtures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, rmSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inflateSync } from "node:zlib";
import { triageBin, repoRoot, startDemo } from "./lib/harness.mjs";

const data = path.resolve(repoRoot, "../shared/data/outcomes");
const gsm8k = path.join(data, "gsm8k-dev.jsonl");
const run = (args) => spawnSync(triageBin, args, { encoding: "utf8", maxBuffer: 64 << 20 });
// Runs fn(dir) with a fresh scratch directory, removed afterwards.
function withTempDir(prefix, fn) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("eval --json: apgr, cpt50, cpt80 in [0,1] and a curve from 0% to 100% strong", () => {
  const r = run(["eval", "--data", gsm8k, "--router", "length", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ["apgr", "cpt50", "cpt80"]) {
    assert.equal(typeof j[k], "number", k);
    assert.ok(j[k] >= 0 && j[k] <= 1, `${k}=${j[k]}`);
  }
  assert.equal(j.model, null);  // no model file behind `length`
  // The length rule beats random (0.5) on GSM8K but is far from the oracle.
  assert.ok(j.apgr > 0.52 && j.apgr < 0.7, `apgr ${j.apgr}`);
  assert.ok(j.cpt50 <= j.cpt80);
  assert.equal(j.curve[0].strong_fraction, 0);
  assert.equal(j.curve.at(-1).strong_fraction, 1);
  for (let i = 1; i < j.curve.length; i++) assert.ok(j.curve[i].strong_fraction >= j.curve[i - 1].strong_fraction);
  // The ends of the curve are the cheap-only and strong-only qualities.
  assert.ok(Math.abs(j.curve[0].quality - j.cheap_quality) < 1e-9);
  assert.ok(j.curve.at(-1).quality > j.curve[0].quality);
});

test("eval: a 95% bootstrap interval around APGR and CPT(50%); --bootstrap 0 turns it off", () => {
  const j = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json"]).stdout);
  assert.equal(j.bootstrap_resamples, 200);
  const [lo, hi] = j.apgr_interval;
  assert.ok(lo < j.apgr && j.apgr < hi, `${lo} < ${j.apgr} < ${hi}`);
  // 907 queries pin APGR down to a few hundredths either way, not to the third decimal.
  assert.ok(hi - lo > 0.02 && hi - lo < 0.2, `width ${hi - lo}`);
  assert.ok(j.cpt50_interval[0] <= j.cpt50 && j.cpt50 <= j.cpt50_interval[1]);
  // Seeded: the same command prints the same interval.
  const again = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json"]).stdout);
  assert.deepEqual(again.apgr_interval, j.apgr_interval);
  const text = run(["eval", "--data", gsm8k, "--router", "length"]);
  assert.match(text.stdout, /95% bootstrap interval \(200 resamples of these queries\): APGR 0\.\d{4}-0\.\d{4}/);
  const off = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json", "--bootstrap", "0"]).stdout);
  assert.equal(off.apgr_interval, null);
  assert.equal(off.cpt50_interval, null);
  assert.equal(off.bootstrap_resamples, 0);
  assert.equal(off.apgr, j.apgr);
  const bad = run(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "-1"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--bootstrap: must be a whole number in \[0, 100000\], got -1/);
  // Other usage errors exit 2 as well: a missing required option, an unknown flag.
  assert.equal(run(["eval", "--router", "length"]).status, 2);
  assert.equal(run(["eval", "--data", gsm8k, "--router", "length", "--no-such-flag"]).status, 2);
  assert.equal(run(["eval", "--help"]).status, 0);
});

test("eval costs with the catalog's list prices; --strong-catalog and --*-price change them", () => {
  const base = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json"]).stdout);
  assert.equal(base.cheap_catalog, "gemma-4-31b");
  assert.equal(base.strong_catalog, "claude-opus-4.7");
  assert.deepEqual(base.prices_usd_per_mtok, { cheap_in: 0.2, cheap_out: 0.2, strong_in: 5, strong_out: 25 });
  const sonnet = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json", "--strong-catalog", "claude-sonnet-4.6"]).stdout);
  assert.equal(sonnet.strong_catalog, "claude-sonnet-4.6");
  assert.ok(sonnet.cost_all_strong_usd < base.cost_all_strong_usd);
  assert.equal(sonnet.apgr, base.apgr);  // prices move cost, not quality
  const manual = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json", "--strong-price", "10"]).stdout);
  assert.equal(manual.strong_catalog, undefined);
  assert.deepEqual([manual.prices_usd_per_mtok.strong_in, manual.prices_usd_per_mtok.strong_out], [10, 50]);
  const bad = run(["eval", "--data", gsm8k, "--router", "length", "--strong-catalog", "gpt-9"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown catalog model 'gpt-9' \(known: .*claude-opus-4\.7/);
});

test("eval on a judge-scored file: recorded cost_usd, tool turns, missing outcomes skipped", () => {
  const costs = path.join(repoRoot, "tests/fixtures/eval/costs.jsonl");
  const r = run(["eval", "--data", costs, "--router", "length", "--cheap", "cheap", "--strong", "strong", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.skipped, 2);
  assert.match(r.stderr, /skipped 2 queries/);
  assert.equal(j.queries, 3);
  assert.equal(j.recorded_cost_queries, 2);
  // c1 and c2 at their recorded costs (0.03 + 0.05 all-strong), c3 estimated at catalog prices.
  assert.ok(j.cost_all_strong_usd > 0.08 && j.cost_all_strong_usd < 0.081, `${j.cost_all_strong_usd}`);
  // Which part of each cost is recorded and which estimated (c3), in JSON and in the text.
  assert.equal(j.estimated_cost_queries, 1);
  assert.ok(Math.abs(j.cost_all_strong_recorded_usd - 0.08) < 1e-12, `${j.cost_all_strong_recorded_usd}`);
  assert.ok(Math.abs(j.cost_all_cheap_recorded_usd - 0.003) < 1e-12, `${j.cost_all_cheap_recorded_usd}`);
  assert.ok(j.cost_all_strong_estimated_usd > 0 && j.cost_all_strong_estimated_usd < 0.001);
  assert.ok(Math.abs(j.cost_all_strong_recorded_usd + j.cost_all_strong_estimated_usd - j.cost_all_strong_usd) < 1e-12);
  assert.ok(Math.abs(j.cost_all_cheap_recorded_usd + j.cost_all_cheap_estimated_usd - j.cost_all_cheap_usd) < 1e-12);
  const op = j.operating_point;
  assert.ok(Math.abs(op.cost_recorded_usd + op.cost_estimated_usd - op.cost_usd) < 1e-12, JSON.stringify(op));
  assert.ok(op.cost_recorded_usd > 0);
  const text = run(["eval", "--data", costs, "--router", "length", "--cheap", "cheap", "--strong", "strong"]);
  assert.match(text.stdout, /\(2 of 3 queries costed at their recorded cost_usd, 1 estimated; the costs above add both\)\n  recorded:  operating point \$0\.\d{6}, all-strong \$0\.080000, all-cheap \$0\.003000\n  estimated: operating point \$0\.\d{6}, all-strong \$0\.000\d{3}, all-cheap \$0\.0000\d{2}\n/);
});

test("eval where the strong model is not better: APGR and CPT are n/a in text and null in JSON", () => {
  const file = path.join(repoRoot, "tests/fixtures/eval/no_gap.jsonl");
  const args = ["eval", "--data", file, "--router", "length", "--cheap", "small", "--strong", "big"];
  const j = run([...args, "--json"]);
  assert.equal(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  for (const b of ["tie", "inverted"]) {
    const r = out.benchmarks[b];
    assert.equal(r.pgr_defined, false, b);
    assert.equal(r.apgr, null, b);
    assert.equal(r.cpt50, null, b);
    assert.equal(r.cpt80, null, b);
    assert.equal(r.operating_point.pgr, null, b);
    assert.equal(r.curve.length, 11, b);
  }
  assert.ok(out.benchmarks.inverted.strong_quality < out.benchmarks.inverted.cheap_quality);
  assert.equal(out.benchmarks.tie.strong_quality, out.benchmarks.tie.cheap_quality);
  const text = run(args);
  assert.equal(text.status, 0, text.stderr);
  assert.equal((text.stdout.match(/APGR n\/a   CPT\(50%\) n\/a   CPT\(80%\) n\/a   \(undefined: the strong model is not better/g) || []).length, 3);  // tie, inverted, overall
  const cmp = run([...args, "--router", "random:1"]);
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.match(cmp.stdout, /^length\s+n\/a\s+n\/a\s+n\/a\s+0\.\d{4}\s+baseline$/m);
  assert.match(cmp.stdout, /^random:1\s+n\/a\s+n\/a\s+n\/a\s+0\.\d{4}\s+n\/a$/m);
});

test("eval on a file with other model names: the error lists them; --cheap/--strong pick them", () => {
  const other = path.join(repoRoot, "tests/fixtures/eval/other_models.jsonl");
  const bad = run(["eval", "--data", other, "--router", "length"]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /none has outcomes for both mixtral-8x7b-instruct \(--cheap\) and gpt-4-1106-preview \(--strong\)/);
  assert.match(bad.stderr, /the files have outcomes for big-model \(4 queries\), small-model \(3 queries\)/);
  const r = run(["eval", "--data", other, "--router", "length", "--cheap", "small-model", "--strong", "big-model", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.queries, 3);
  assert.equal(j.skipped, 1);
  assert.match(r.stderr, /skipped 1 queries without outcomes for both small-model and big-model \(models in the files: big-model \(4 queries\), small-model \(3 queries\)\)/);
  // No `benchmark` field: the queries are reported under the file's name.
  assert.deepEqual(Object.keys(j.benchmarks), ["other_models"]);
  assert.ok(Math.abs(j.strong_quality - 2.5 / 3) < 1e-9 && Math.abs(j.cheap_quality - 2 / 3) < 1e-9);
});

test("eval cascade on a file without recorded answers says so", () => {
  const mmlu = path.join(data, "mmlu-dev.jsonl");
  const model = path.join(repoRoot, "models/cascade-v2.model");
  const r = run(["eval", "--data", mmlu, "--data", gsm8k, "--router", `cascade:${model}`, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.queries_without_cheap_response, j.benchmarks.mmlu.queries);
  assert.match(r.stderr, new RegExp(`note: ${j.benchmarks.mmlu.queries} of \\d+ queries have no recorded response`));
  const g = JSON.parse(run(["eval", "--data", gsm8k, "--router", `cascade:${model}`, "--json"]).stdout);
  assert.equal(g.queries_without_cheap_response, 0);
});

// Regression: calibrate said nothing of the queries a cascade scored as an empty answer.
test("calibrate cascade on queries without a recorded cheap answer says so, as eval does", () => {
  const costs = path.join(repoRoot, "tests/fixtures/eval/costs.jsonl");
  const spec = `cascade:${path.join(repoRoot, "models/cascade-v3.model")}`;
  const data = ["--data", costs, "--cheap", "cheap", "--strong", "strong", "--router", spec];
  const note = `note: 3 of 3 queries have no recorded response from cheap; ${spec} scored them as an empty answer\n`;
  for (const mode of [["--strong-fraction", "0.3"], ["--split", "70/25/5"], ["--min-pgr", "0.5"]]) {
    const r = run(["calibrate", ...data, ...mode]);
    assert.equal(r.status, 0, `${mode.join(" ")}\n${r.stderr}`);
    assert.ok(r.stderr.includes(note), `${mode.join(" ")}\n${r.stderr}`);
    assert.ok(!r.stdout.includes("no recorded response"), r.stdout);  // stdout is the YAML alone
  }
  const e = run(["eval", ...data]);
  assert.equal(e.status, 0, e.stderr);
  assert.ok(e.stderr.includes(note), e.stderr);
  // Every GSM8K query has its cheap answer: no note.
  const g = run(["calibrate", "--data", gsm8k, "--router", spec, "--strong-fraction", "0.3"]);
  assert.equal(g.status, 0, g.stderr);
  assert.doesNotMatch(g.stderr, /no recorded response/);
});

// Regression: a benchmark named "overall" was overwritten in --json's `benchmarks` by the
// aggregate of the same name, and printed as a second "== overall" table.
test("a benchmark named overall is reported as overall-benchmark, apart from the aggregate", () => {
  const fixtures = path.join(repoRoot, "tests/fixtures/eval");
  const named = ["--data", path.join(fixtures, "overall_named.jsonl"), "--cheap", "cheap", "--strong", "strong", "--router", "length"];
  const r = run(["eval", ...named, "--json", "--by-category"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(j.benchmarks).sort(), ["other", "overall", "overall-benchmark"]);
  assert.equal(j.benchmarks["overall-benchmark"].queries, 6);
  assert.equal(j.benchmarks["overall-benchmark"].benchmark, "overall-benchmark");
  assert.equal(j.benchmarks.other.queries, 4);
  assert.equal(j.benchmarks.overall.queries, 10);  // the aggregate
  assert.equal(j.queries, 10);
  assert.deepEqual(j.renamed_benchmarks, { overall: "overall-benchmark" });
  assert.deepEqual(j.benchmarks["overall-benchmark"].categories.map((c) => c.category), ["c0", "c1"]);
  const note = 'note: 6 of 10 queries have the benchmark name "overall", which the reports give the aggregate of all benchmarks: they are reported as "overall-benchmark"';
  assert.ok(r.stderr.includes(note), r.stderr);
  const text = run(["eval", ...named, "--by-category"]);
  assert.equal(text.status, 0, text.stderr);
  assert.equal((text.stdout.match(/^== overall \(/gm) || []).length, 1, text.stdout);
  assert.match(text.stdout, /^== overall-benchmark \(6 queries\)$/m);
  assert.match(text.stdout, /^== overall \(10 queries\)$/m);
  assert.match(text.stdout, /^== overall-benchmark by category/m);
  const scores = withTempDir("triage-overall-", (dir) => {
    const out = path.join(dir, "s.jsonl");
    assert.equal(run(["eval", ...named, "--scores", out]).status, 0);
    return readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  });
  assert.equal(scores.filter((s) => s.benchmark === "overall-benchmark").length, 6);
  // Nothing renamed: an empty object.
  const plain = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--json", "--bootstrap", "0"]).stdout);
  assert.deepEqual(plain.renamed_benchmarks, {});
  // A file overall.jsonl without `benchmark` fields: its name would be "overall" too.
  const stem = run(["eval", "--data", path.join(fixtures, "overall/overall.jsonl"), "--cheap", "cheap", "--strong", "strong", "--router", "length", "--json"]);
  assert.equal(stem.status, 0, stem.stderr);
  assert.deepEqual(Object.keys(JSON.parse(stem.stdout).benchmarks), ["overall-benchmark"]);
  // Several routers: the same keys, and the rename at the top.
  const cmp = run(["eval", ...named, "--router", "random:1", "--json"]);
  assert.equal(cmp.status, 0, cmp.stderr);
  const c = JSON.parse(cmp.stdout);
  assert.deepEqual(c.renamed_benchmarks, { overall: "overall-benchmark" });
  for (const k of c.routers) assert.equal(k.benchmarks.overall.queries, 10);
  // train --cv and calibrate read the same names and say so.
  withTempDir("triage-overall-", (dir) => {
    const t = run(["train", "--data", path.join(fixtures, "overall_named.jsonl"), "--cheap", "cheap", "--strong", "strong", "--cv", "2", "--bootstrap", "0", "--out", path.join(dir, "m.model")]);
    assert.equal(t.status, 0, t.stderr);
    assert.ok(t.stderr.includes(note), t.stderr);
    assert.match(t.stdout, /^overall-benchmark n=6 /m);
    assert.equal((t.stdout.match(/^overall +n=10 /gm) || []).length, 2, t.stdout);  // once per --cv table
  });
});

// Regression: a number, boolean or object as a message's content read as empty text, and a
// non-string benchmark as the file's name, without a word.
test("content that is not text or parts, or a benchmark that is not a string: FILE:LINE, exit 1", () => {
  withTempDir("triage-types-", (dir) => {
    const fixtures = path.join(repoRoot, "tests/fixtures/eval");
    const content = "a message's 'content' must be a string, null or a list of parts, got";
    const cases = [
      ["bad_content.jsonl", `bad_content.jsonl:2: ${content} number`],
      ["bool_content.jsonl", `bool_content.jsonl:1: ${content} boolean`],
      ["object_content.jsonl", `object_content.jsonl:3: ${content} object`],
      ["bad_benchmark.jsonl", "bad_benchmark.jsonl:2: 'benchmark' must be a string, got number"],
    ];
    for (const [file, why] of cases) {
      const data = ["--data", path.join(fixtures, file), "--cheap", "cheap", "--strong", "strong"];
      for (const args of [
        ["eval", ...data, "--router", "length"],
        ["train", ...data, "--out", path.join(dir, "x.model")],
        ["calibrate", ...data, "--router", "length", "--strong-fraction", "0.3"],
      ]) {
        const r = run(args);
        assert.equal(r.status, 1, `${args.join(" ")}\n${r.stderr}`);
        assert.equal(r.stderr, `triage: ${path.join(fixtures, why)}\n`, args.join(" "));
        assert.equal(r.stdout, "", args.join(" "));
      }
    }
    // What the README allows reads: null content, an empty list, parts of unknown types.
    const ok = run(["eval", "--data", path.join(fixtures, "content_kinds.jsonl"), "--cheap", "cheap", "--strong", "strong", "--router", "length", "--json"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(Object.keys(JSON.parse(ok.stdout).benchmarks), ["kinds"]);
    // A null benchmark is an absent one: reported under the file's name.
    const nul = run(["eval", "--data", path.join(fixtures, "null_benchmark.jsonl"), "--cheap", "cheap", "--strong", "strong", "--router", "length", "--json", "--bootstrap", "0"]);
    assert.equal(nul.status, 0, nul.stderr);
    assert.ok(Object.keys(JSON.parse(nul.stdout).benchmarks).includes("null_benchmark"), nul.stdout);
  });
});

test("eval --scores writes one line per query with the score the metrics used", () => {
  withTempDir("triage-scores-", (dir) => {
    const out = path.join(dir, "s.jsonl");
    const r = run(["eval", "--data", gsm8k, "--router", "length", "--json", "--scores", out]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, j.queries);
    assert.equal(lines[0].id, "gsm8k-0003");
    assert.equal(lines[0].benchmark, "gsm8k");
    for (const l of lines) assert.ok(l.score >= 0 && l.score <= 1 && [0, 1].includes(l.cheap));
    const cheapMean = lines.reduce((s, l) => s + l.cheap, 0) / lines.length;
    assert.ok(Math.abs(cheapMean - j.cheap_quality) < 1e-9);
    const bad = run(["eval", "--data", gsm8k, "--router", "length", "--scores", path.join(dir, "no/such/dir/s.jsonl")]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /cannot write .*s\.jsonl/);
  });
});

test("eval --plot writes an SVG with the router, random and oracle curves", () => {
  withTempDir("triage-eval-", (dir) => {
  const svg = path.join(dir, "curve.svg");
  const r = run(["eval", "--data", gsm8k, "--router", "random:3", "--plot", svg]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /APGR 0\.\d{4}/);
  const s = readFileSync(svg, "utf8");
  assert.match(s, /^<svg /);
  assert.match(s, /random/);
  assert.match(s, /oracle/);
  assert.match(s, /<\/svg>\s*$/);
  });
});

test("eval --plot FILE.png writes a PNG picture of the curves; other names are refused before any work", () => {
  withTempDir("triage-png-", (dir) => {
    const png = path.join(dir, "curve.png");
    const r = run(["eval", "--data", gsm8k, "--router", "length", "--router", "random:1", "--plot", png]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /wrote .*curve\.png/);
    const b = readFileSync(png);
    assert.deepEqual([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(b.subarray(12, 16).toString("latin1"), "IHDR");
    // Rendered at twice the SVG's size (640 x 440).
    assert.equal(b.readUInt32BE(16), 1280);
    assert.equal(b.readUInt32BE(20), 880);
    // Not a blank page: the decoded rows hold many different byte values (curves, text, grid).
    const chunks = [];
    for (let at = 8; at < b.length; ) {
      const len = b.readUInt32BE(at);
      if (b.subarray(at + 4, at + 8).toString("latin1") === "IDAT") chunks.push(b.subarray(at + 8, at + 8 + len));
      at += 12 + len;
    }
    const pixels = inflateSync(Buffer.concat(chunks));
    assert.ok(new Set(pixels).size > 50, `distinct byte values ${new Set(pixels).size}`);
    const bad = run(["eval", "--data", gsm8k, "--router", "length", "--plot", path.join(dir, "curve.jpg")]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--plot .*curve\.jpg: the name must end in \.svg or \.png/);
    assert.equal(bad.stdout, "");
    // Without librsvg: a clear error that says what to install, and no file.
    const missing = path.join(dir, "none.png");
    const nolib = spawnSync(triageBin, ["eval", "--data", gsm8k, "--router", "length", "--plot", missing], {
      encoding: "utf8",
      env: { ...process.env, TRIAGE_LIBRSVG: path.join(dir, "no-such-librsvg.so") },
    });
    assert.equal(nolib.status, 1);
    assert.match(nolib.stderr, /PNG output needs librsvg \(Debian package librsvg2-2\)/);
    assert.match(nolib.stderr, /write the plot as \.svg/);
    assert.equal(nolib.stdout, "");
    assert.throws(() => readFileSync(missing), /ENOENT/);
  });
});

test("eval with several --router: each router's APGR against the first, with a paired bootstrap interval", () => {
  const rules = `rules:${path.join(repoRoot, "models/rules-v1.txt")}`;
  const args = ["eval", "--data", gsm8k, "--router", "random:1", "--router", "length", "--router", rules, "--json"];
  const all = JSON.parse(run(args).stdout).routers;
  assert.equal(all[0].apgr_vs_first, null);
  for (const x of all.slice(1)) {
    const d = x.apgr_vs_first;
    assert.equal(d.baseline, "random:1");
    assert.ok(Math.abs(d.difference - (x.apgr - all[0].apgr)) < 1e-9, `${d.difference}`);
    assert.equal(d.resamples, 200);
    assert.ok(d.interval[0] < d.difference && d.difference < d.interval[1], JSON.stringify(d));
    assert.deepEqual(x.benchmarks.gsm8k.apgr_vs_first, d);
  }
  // Both rules beat random on GSM8K with the interval clear of zero.
  for (const x of all.slice(1)) assert.ok(x.apgr_vs_first.interval[0] > 0, x.router);
  // A router against itself: difference 0, interval [0, 0].
  const same = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--router", "length", "--json"]).stdout).routers;
  assert.deepEqual(same[1].apgr_vs_first.interval, [0, 0]);
  // --bootstrap 0: the difference without an interval.
  const off = JSON.parse(run([...args, "--bootstrap", "0"]).stdout).routers;
  assert.equal(off[1].apgr_vs_first.interval, null);
  assert.equal(off[1].apgr_vs_first.resamples, 0);
  assert.equal(off[1].apgr_vs_first.difference, all[1].apgr_vs_first.difference);
});

test("eval with several --router: one table per benchmark, one JSON object, one picture, the same figures as one at a time", () => {
  withTempDir("triage-compare-", (dir) => {
    const routers = ["random:1", "length", "learned:builtin"];
    const single = Object.fromEntries(routers.map((r) => [r, JSON.parse(run(["eval", "--data", gsm8k, "--router", r, "--json"]).stdout)]));
    const args = ["eval", "--data", gsm8k, ...routers.flatMap((r) => ["--router", r])];
    const j = run([...args, "--json"]);
    assert.equal(j.status, 0, j.stderr);
    const all = JSON.parse(j.stdout);
    assert.deepEqual(all.routers.map((x) => x.router), routers);
    for (const x of all.routers) {
      assert.equal(x.apgr, single[x.router].apgr, x.router);
      assert.equal(x.cpt50, single[x.router].cpt50, x.router);
      assert.deepEqual(x.curve, single[x.router].curve, x.router);
      assert.equal(x.training_overlap, single[x.router].training_overlap);
    }
    const svg = path.join(dir, "cmp.svg");
    const t = run([...args, "--plot", svg]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^3 routers on the same queries/);
    for (const r of routers) {
      const row = t.stdout.match(new RegExp(`^${r.replace(/[.:]/g, "\\$&")}\\s+(\\d\\.\\d{3})\\s+([\\d.]+)%\\s+([\\d.]+)%\\s+[\\d.]+\\s+(baseline|[+-]\\d\\.\\d{3} \\([+-]\\d\\.\\d{3} to [+-]\\d\\.\\d{3}\\))(  in-sample)?$`, "m"));
      assert.ok(row, `${r}\n${t.stdout}`);
      assert.equal(Number(row[1]), Number(single[r].apgr.toFixed(3)));
      assert.equal(row[4] === "baseline", r === routers[0], r);
      // Only the shipped model was trained on these queries.
      assert.equal(Boolean(row[5]), r === "learned:builtin", r);
    }
    const s = readFileSync(svg, "utf8");
    assert.match(s, /^<svg /);
    assert.match(s, /<\/svg>\s*$/);
    for (const r of routers) assert.ok(s.includes(`>${r}`), r);
    assert.match(s, /learned:builtin \[in-sample\] \(APGR/);
    assert.equal((s.match(/<path /g) || []).length, 2 + routers.length);  // random, oracle, one per router
    const scores = run([...args, "--scores", path.join(dir, "s.jsonl")]);
    assert.equal(scores.status, 2);
    assert.match(scores.stderr, /--scores takes a single --router/);
  });
});

test("train --cv prints cross-validated figures and writes a model that eval and the gateway load", () => {
  withTempDir("triage-train-", (dir) => {
  const model = path.join(dir, "c.model");
  const r = run(["train", "--data", gsm8k, "--kind", "cascade", "--cv", "3", "--out", model]);
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/3-fold cross-validation[\s\S]*?gsm8k\s+n=907\s+APGR (0\.\d+)/);
  assert.ok(m, r.stdout);
  // The cascade reads the cheap answer: clearly better than random on held-out folds.
  assert.ok(Number(m[1]) > 0.65, r.stdout);
  assert.match(r.stderr, /cv fold 3\/3 done/);
  const e = run(["eval", "--data", gsm8k, "--router", `cascade:${model}`, "--json"]);
  assert.equal(e.status, 0, e.stderr);
  assert.ok(JSON.parse(e.stdout).apgr > 0.65);
  // A cascade model is not a learned model: the spec names the mismatch.
  const wrong = run(["eval", "--data", gsm8k, "--router", `learned:${model}`]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /cascade model; use cascade:/);
  });
});

test("train --exclude-category: a subject with artifact labels is warned about, kept out of every fit, still scored by --cv", () => {
  withTempDir("triage-excl-", (dir) => {
    // Four MMLU subjects, one of them high_school_mathematics, where the strong model's recorded
    // score (2.6%) sits far below the cheap model's (33%).
    const subjects = new Set(["high_school_mathematics", "professional_law", "moral_scenarios", "sociology"]);
    const lines = readFileSync(path.join(data, "mmlu-dev.jsonl"), "utf8").trim().split("\n").filter((l) => subjects.has(JSON.parse(l).category));
    const file = path.join(dir, "mmlu4.jsonl");
    writeFileSync(file, lines.join("\n") + "\n");
    const plain = run(["train", "--data", file, "--out", path.join(dir, "plain.model")]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.match(plain.stderr, /warning: category high_school_mathematics: the strong model scores 0\.026 against the cheap model's 0\.332 over 190 queries; if that is a grading artifact, --exclude-category high_school_mathematics keeps it out of training/);
    assert.doesNotMatch(plain.stderr, /category (professional_law|moral_scenarios|sociology):/);

    const model = path.join(dir, "excl.model");
    const r = run(["train", "--data", file, "--out", model, "--cv", "3", "--bootstrap", "0", "--exclude-category", "high_school_mathematics"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /excluded from training: 190 queries of 1 categories \(still scored by --cv\)/);
    assert.doesNotMatch(r.stderr, /warning: category/);
    // The cross-validated figures cover every query, the excluded ones included.
    assert.match(r.stdout, new RegExp(`3-fold cross-validation[\\s\\S]*?mmlu\\s+n=${lines.length}\\s+APGR 0\\.\\d+`));
    const j = JSON.parse(run(["eval", "--data", file, "--router", `learned:${model}`, "--bootstrap", "0", "--json"]).stdout);
    assert.equal(j.model.note, `triage learned model; trained on ${lines.length - 190} queries from mmlu; categories excluded: high_school_mathematics`);
    // The two models differ: one learned from the artifact, the other did not.
    const scores = (m) => {
      const f = path.join(dir, "s.jsonl");
      assert.equal(run(["eval", "--data", file, "--router", `learned:${m}`, "--bootstrap", "0", "--scores", f]).status, 0);
      return readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    };
    const a = scores(path.join(dir, "plain.model")), b = scores(model);
    const mean = (rows) => rows.filter((x) => x.id.includes("high_school_mathematics")).reduce((s, x) => s + x.score, 0) / 190;
    assert.ok(mean(b) > mean(a), `high_school_mathematics scores: ${mean(a)} learning from it, ${mean(b)} not`);

    const typo = run(["train", "--data", file, "--out", path.join(dir, "x.model"), "--exclude-category", "high_school_math"]);
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /--exclude-category high_school_math: no query of the data has that category \(4 categories: high_school_mathematics, moral_scenarios, professional_law, sociology\)/);
    const none = run(["train", "--data", gsm8k, "--out", path.join(dir, "x.model"), "--exclude-category", "math"]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /--exclude-category leaves no query to train on/);
  });
});

test("learned:builtin, trained without the artifact subject, does not rank maths questions below writing tasks", () => {
  // 48 prompts of eight task types written for this check, placeholder outcomes: only the
  // mean score per category means anything.
  const tasks = path.join(repoRoot, "tests/fixtures/router/tasks.jsonl");
  const means = (spec) => {
    const r = run(["eval", "--data", tasks, "--router", spec, "--by-category", "--bootstrap", "0", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const cats = JSON.parse(r.stdout).categories;
    assert.equal(cats.length, 8);
    return Object.fromEntries(cats.map((c) => [c.category, c.mean_score]));
  };
  const v4 = means("learned:builtin");
  for (const other of ["writing", "roleplay", "humanities", "stem"]) assert.ok(v4.math > v4[other], `maths ${v4.math} vs ${other} ${v4[other]}`);
  // The model that learned from high_school_mathematics (the strong model recorded at 0.026)
  // put maths below writing.
  const v3 = means(`learned:${path.join(repoRoot, "models/learned-v3.model")}`);
  assert.ok(v3.math < v3.writing, `v3: maths ${v3.math} vs writing ${v3.writing}`);
});

test("train --feature-set: sets 2 and 3 (the default) read the question at the end of a few-shot prompt, set 1 does not; set 3 reads a short follow-up with its question", () => {
  withTempDir("triage-fs-", (dir) => {
    const lines = readFileSync(gsm8k, "utf8").trim().split("\n");
    const trainFile = path.join(dir, "train.jsonl");
    writeFileSync(trainFile, lines.slice(0, 600).join("\n") + "\n");
    // Held-out GSM8K questions behind the same 4 worked examples, padded to one length so that
    // only the words of the question tell the prompts apart.
    const shots = lines.slice(0, 4).map((l) => {
      const q = JSON.parse(l);
      return `Question: ${q.messages[0].content}\nAnswer: ${q.outcomes["gpt-4-1106-preview"].response.trim()}\n\n`;
    }).join("");
    assert.ok(shots.length > 1536, `${shots.length} chars of examples`);
    // ASCII only, so that the same length in JavaScript is the same length in bytes.
    const held = lines.slice(600).filter((l) => /^[\x00-\x7f]*$/.test(JSON.parse(l).messages[0].content)).slice(0, 40).map((l) => {
      const q = JSON.parse(l);
      q.messages = [{ role: "user", content: shots + `Question: ${q.messages[0].content}`.padEnd(400).slice(0, 400) + "\nAnswer:" }];
      return JSON.stringify(q);
    });
    const fewshot = path.join(dir, "fewshot.jsonl");
    writeFileSync(fewshot, held.join("\n") + "\n");
    // The same questions, padded to one length, each followed by an answer and one short
    // follow-up.
    const followUp = path.join(dir, "followup.jsonl");
    writeFileSync(followUp, held.map((l) => {
      const q = JSON.parse(l);
      const question = q.messages[0].content.slice(shots.length);
      q.messages = [{ role: "user", content: question }, { role: "assistant", content: "12." }, { role: "user", content: "Are you sure?" }];
      return JSON.stringify(q);
    }).join("\n") + "\n");
    const distinct = {}, followUpDistinct = {};
    for (const set of ["1", "2", "3", "default"]) {
      const model = path.join(dir, `set${set}.model`);
      const r = run(["train", "--data", trainFile, "--out", model, ...(set === "default" ? [] : ["--feature-set", set])]);
      assert.equal(r.status, 0, r.stderr);
      const f = path.join(dir, `set${set}.followup`);
      assert.equal(run(["eval", "--data", followUp, "--router", `learned:${model}`, "--scores", f, "--bootstrap", "0"]).status, 0);
      followUpDistinct[set] = new Set(readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l).score)).size;
      if (set === "default") {
        const j = JSON.parse(run(["eval", "--data", fewshot, "--router", `learned:${model}`, "--bootstrap", "0", "--json"]).stdout);
        assert.equal(j.model.feature_set, 3);
        continue;
      }
      const scores = path.join(dir, `set${set}.scores`);
      const e = run(["eval", "--data", fewshot, "--router", `learned:${model}`, "--scores", scores, "--bootstrap", "0"]);
      assert.equal(e.status, 0, e.stderr);
      const s = readFileSync(scores, "utf8").trim().split("\n").map((l) => JSON.parse(l).score);
      assert.equal(s.length, 40);
      distinct[set] = new Set(s).size;
      // eval says which model it ran and how that model reads a prompt.
      assert.match(e.stdout, new RegExp(`^model: triage learned model; trained on 600 queries from gsm8k \\(feature set ${set}, 2 heads\\)$`, "m"));
      const j = JSON.parse(run(["eval", "--data", fewshot, "--router", `learned:${model}`, "--bootstrap", "0", "--json"]).stdout);
      assert.deepEqual(j.model, { kind: "learned", heads: 2, feature_set: Number(set), note: "triage learned model; trained on 600 queries from gsm8k" });
    }
    assert.equal(distinct["1"], 1, "set 1 sees only the examples: one score for all 40 prompts");
    assert.ok(distinct["2"] >= 30, `set 2 tells the questions apart: ${distinct["2"]} distinct scores`);
    assert.equal(distinct["3"], distinct["2"]);
    assert.equal(followUpDistinct["1"], 1, "set 1 reads the follow-up alone");
    assert.equal(followUpDistinct["2"], 1, "so does set 2");
    assert.ok(followUpDistinct["3"] >= 30, `set 3 reads the question too: ${followUpDistinct["3"]} distinct scores`);
    assert.equal(followUpDistinct["default"], followUpDistinct["3"]);
    const bad = run(["train", "--data", trainFile, "--out", path.join(dir, "x.model"), "--feature-set", "4"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--feature-set/);
  });
});

// A small file of held-out prompts under another benchmark name, with the dev models' keys.
function other_models_as_heldout(dir) {
  const file = path.join(dir, "fresh.jsonl");
  const prompts = ["Name a prime number.", "What is 3 + 4?", "Spell 'cat' backwards."];
  writeFileSync(file, prompts.map((content, i) => JSON.stringify({ id: `f${i}`, messages: [{ role: "user", content }], outcomes: { "mixtral-8x7b-instruct": { score: i % 2 }, "gpt-4-1106-preview": { score: 1 } } })).join("\n") + "\n");
  return file;
}

test("a trained model records its training prompts: eval and calibrate flag in-sample data, not held-out data", () => {
  withTempDir("triage-insample-", (dir) => {
    const lines = readFileSync(gsm8k, "utf8").trim().split("\n");
    const trainFile = path.join(dir, "train.jsonl"), heldFile = path.join(dir, "held.jsonl");
    writeFileSync(trainFile, lines.slice(0, 600).join("\n") + "\n");
    writeFileSync(heldFile, lines.slice(600).join("\n") + "\n");
    const model = path.join(dir, "l.model");
    assert.equal(run(["train", "--data", trainFile, "--out", model]).status, 0);
    const inSample = run(["eval", "--data", trainFile, "--router", `learned:${model}`, "--json"]);
    assert.equal(inSample.status, 0, inSample.stderr);
    const a = JSON.parse(inSample.stdout);
    assert.equal(a.training_overlap, 600);
    assert.equal(a.benchmarks.gsm8k.training_overlap, 600);
    assert.match(inSample.stderr, /warning: gsm8k: 600 of 600 queries match prompts learned:.* was trained on: the figures are in-sample/);
    const held = run(["eval", "--data", heldFile, "--router", `learned:${model}`, "--json"]);
    const b = JSON.parse(held.stdout);
    assert.ok(b.training_overlap <= 10, `${b.training_overlap} false matches of 307`);  // ~1% expected
    assert.doesNotMatch(held.stderr, /warning/);
    const text = run(["eval", "--data", trainFile, "--data", heldFile, "--router", `learned:${model}`]);
    assert.match(text.stdout, /queries matching prompts the model was trained on \(~1% false matches\): gsm8k (\d+)\/907/);
    // Untrained routers have no training data to match.
    assert.equal(JSON.parse(run(["eval", "--data", heldFile, "--router", "length", "--json"]).stdout).training_overlap, null);
    // The shipped model was trained on the dev files.
    assert.equal(JSON.parse(run(["eval", "--data", gsm8k, "--router", "learned:builtin", "--json"]).stdout).training_overlap, 907);
    // Two files: per benchmark, and "overall" sums them.
    const both = JSON.parse(run(["eval", "--data", trainFile, "--data", other_models_as_heldout(dir), "--router", `learned:${model}`, "--json"]).stdout);
    assert.equal(both.benchmarks.gsm8k.training_overlap, 600);
    assert.equal(both.benchmarks.overall.training_overlap, both.training_overlap);
    assert.ok(both.training_overlap >= 600 && both.training_overlap <= 602);
    const floor = run(["calibrate", "--router", `learned:${model}`, "--data", trainFile, "--min-pgr", "0.8"]);
    assert.equal(floor.status, 0, floor.stderr);
    assert.match(floor.stderr, /the PGR reached is in-sample/);
    const split = run(["calibrate", "--router", `learned:${model}`, "--data", heldFile, "--strong-fraction", "0.3"]);
    assert.equal(split.status, 0, split.stderr);
    assert.doesNotMatch(split.stderr, /warning/);
  });
});

test("calibrate --split 70/25/5 hits the split on the dev data and writes two ascending thresholds", () => {
  withTempDir("triage-cal-", (dir) => {
  const out = path.join(dir, "routing.yaml");
  const spec = `learned:${path.join(repoRoot, "models/learned-v2.model")}`;
  const r = run(["calibrate", "--router", spec, "--data", gsm8k, "--split", "70/25/5", "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  const split = r.stdout.match(/achieved split ([\d.]+)\/([\d.]+)\/([\d.]+)/);
  assert.ok(split, r.stdout);
  [70, 25, 5].forEach((want, i) => assert.ok(Math.abs(Number(split[i + 1]) - want) <= 2, r.stdout));
  const th = readFileSync(out, "utf8").match(/thresholds: \[([\d.]+), ([\d.]+)\]/);
  assert.ok(th, readFileSync(out, "utf8"));
  assert.ok(Number(th[1]) < Number(th[2]));
  const one = run(["calibrate", "--router", spec, "--data", gsm8k, "--strong-fraction", "0.3"]);
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /thresholds: \[[\d.]+\]/);
  });
});

test("calibrate --min-pgr: the threshold it prints recovers that share of the gap on the data", () => {
  withTempDir("triage-floor-", (dir) => {
    const r = run(["calibrate", "--router", "length", "--data", gsm8k, "--min-pgr", "0.8"]);
    assert.equal(r.status, 0, r.stderr);
    const m = r.stdout.match(/reached PGR ([\d.]+) with ([\d.]+)% strong/);
    assert.ok(m, r.stdout);
    const t = Number(r.stdout.match(/thresholds: \[([\d.]+)\]/)[1]);
    // Replay the same scores: queries at or above the threshold go strong.
    const scores = path.join(dir, "s.jsonl");
    assert.equal(run(["eval", "--data", gsm8k, "--router", "length", "--scores", scores]).status, 0);
    const rows = readFileSync(scores, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const mean = (f) => rows.reduce((s, q) => s + f(q), 0) / rows.length;
    const qw = mean((q) => q.cheap), qs = mean((q) => q.strong);
    const q = mean((x) => (x.score >= t ? x.strong : x.cheap));
    const pgr = (q - qw) / (qs - qw);
    assert.ok(pgr >= 0.8 - 1e-9, `pgr ${pgr}`);
    assert.ok(Math.abs(pgr - Number(m[1])) < 0.001, `${pgr} vs ${m[1]}`);
    assert.ok(Math.abs(100 * mean((x) => (x.score >= t ? 1 : 0)) - Number(m[2])) < 0.1);
    // Fewer strong calls than the floor needs would not do: 0.5 needs fewer than 0.8.
    const half = run(["calibrate", "--router", "length", "--data", gsm8k, "--min-pgr", "0.5"]);
    assert.ok(Number(half.stdout.match(/with ([\d.]+)% strong/)[1]) < Number(m[2]));
    for (const bad of [["--min-pgr", "0"], ["--min-pgr", "1.5"], ["--min-pgr", "0.5", "--strong-fraction", "0.3"]]) {
      const e = run(["calibrate", "--router", "length", "--data", gsm8k, ...bad]);
      assert.equal(e.status, 2, bad.join(" "));
      assert.match(e.stderr, /--min-pgr/);
    }
    // --ledger (live traffic's scores) replaces --data, and has no outcomes for a quality floor.
    const cases = [
      [["--data", gsm8k, "--ledger", "sqlite:///nonexistent.db", "--split", "70/30"], /give --data or --ledger, not both/],
      [["--split", "70/30"], /give --data \(recorded outcomes\) or --ledger/],
      [["--ledger", "sqlite:///nonexistent.db", "--min-pgr", "0.5"], /--min-pgr needs recorded outcomes/],
    ];
    for (const [args, why] of cases) {
      const e = run(["calibrate", "--router", "length", ...args]);
      assert.equal(e.status, 2, args.join(" "));
      assert.match(e.stderr, why);
    }
    const missing = run(["calibrate", "--router", "length", "--ledger", `sqlite://${path.join(dir, "none.db")}`, "--split", "70/30"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no ledger file/);
  });
});

test("bad input: malformed line, corrupt model, unknown router, missing file", () => {
  withTempDir("triage-bad-", (dir) => {
  const malformed = path.join(repoRoot, "tests/fixtures/eval/malformed.jsonl");
  let r = run(["eval", "--data", malformed, "--router", "length"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /malformed\.jsonl:3: malformed JSON/);
  // Flip one byte in the middle of a real model file.
  const bytes = readFileSync(path.join(repoRoot, "models/learned-v2.model"));
  bytes[bytes.length >> 1] ^= 0x40;
  const corrupt = path.join(dir, "corrupt.model");
  writeFileSync(corrupt, bytes);
  r = run(["eval", "--data", gsm8k, "--router", `learned:${corrupt}`]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /corrupt\.model: checksum mismatch/);
  r = run(["eval", "--data", gsm8k, "--router", "magic"]);
  assert.equal(r.status, 2);  // a bad spec is a usage error
  assert.match(r.stderr, /unknown router 'magic'/);
  r = run(["train", "--data", path.join(dir, "nope.jsonl"), "--out", path.join(dir, "x.model")]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /nope\.jsonl/);
  });
});

// Regression: "cannot open outcomes file F" (and model file, rules file) said neither whether the
// file was missing, a path through a non-directory or refused, where docs promise `FILE: why`.
test("a file that cannot be opened says why (the system's reason): outcomes, model and rules files, exit 1", () => {
  withTempDir("triage-open-", (dir) => {
    const plain = path.join(dir, "plain");
    writeFileSync(plain, "not a directory\n");
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const cases = [
      [path.join(dir, "none.jsonl"), "No such file or directory"],
      [path.join(plain, "x.jsonl"), "Not a directory"],
    ];
    for (const [file, why] of cases) {
      for (const args of [
        ["eval", "--data", file, "--router", "length"],
        ["train", "--data", file, "--out", path.join(dir, "m.model")],
        ["calibrate", "--data", file, "--router", "length", "--split", "70/30"],
      ]) {
        const r = run(args);
        assert.equal(r.status, 1, `${args.join(" ")}\n${r.stderr}`);
        assert.match(r.stderr, new RegExp(`cannot open outcomes file ${esc(file)}: ${why}`), args.join(" "));
        assert.equal(r.stdout, "");
      }
      const model = file.replace(/\.jsonl$/, ".model");
      for (const [spec, what] of [[`learned:${model}`, "model"], [`cascade:${model}`, "model"], [`rules:${model}`, "rules"]]) {
        const r = run(["eval", "--data", gsm8k, "--router", spec, "--bootstrap", "0"]);
        assert.equal(r.status, 1, `${spec}\n${r.stderr}`);
        assert.match(r.stderr, new RegExp(`cannot open ${what} file ${esc(model)}: ${why}`), spec);
      }
    }
  });
});

// Regression: these two usage errors (exit 2) came only after every --data file was read, so a
// malformed file (exit 1) or minutes of loading came first.
test("--scores or --by-category with several --router is a usage error before any data is read", () => {
  withTempDir("triage-multi-", (dir) => {
    const malformed = path.join(repoRoot, "tests/fixtures/eval/malformed.jsonl");
    for (const [flag, extra] of [["--scores", [path.join(dir, "s.jsonl")]], ["--by-category", []]]) {
      const r = run(["eval", "--data", malformed, "--router", "length", "--router", "random:1", flag, ...extra]);
      assert.equal(r.status, 2, `${flag}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} takes a single --router`));
      assert.doesNotMatch(r.stderr, /malformed/);
      assert.equal(r.stdout, "");
    }
  });
});

// Regression: eval, train and calibrate exited 0 when their stdout could not take the report
// (`triage eval --json > out.json` on a full disk left an empty or cut file behind a success);
// `triage report` already exited 1 there.
test("a stdout that cannot be written (a full disk) exits 1 with the reason, in eval, train and calibrate (report: report.test.mjs)", () => {
  withTempDir("triage-full-", (dir) => {
    const mtbench = path.join(repoRoot, "tests/fixtures/eval/mtbench_like.jsonl");
    const model = path.join(dir, "m.model");
    for (const args of [
      ["eval", "--data", mtbench, "--router", "length", "--bootstrap", "0"],
      ["eval", "--data", mtbench, "--router", "length", "--bootstrap", "0", "--json"],
      ["eval", "--data", mtbench, "--router", "length", "--router", "random:1", "--bootstrap", "0"],
      ["calibrate", "--data", mtbench, "--router", "length", "--split", "70/30"],
      ["train", "--data", mtbench, "--out", model, "--cv", "2", "--bootstrap", "0", "--epochs", "1"],
    ]) {
      const full = openSync("/dev/full", "w");
      try {
        const r = spawnSync(triageBin, args, { encoding: "utf8", stdio: ["ignore", full, "pipe"] });
        assert.equal(r.status, 1, `${args.join(" ")}\n${r.stderr}`);
        // The reason when the last flush failed; a write that failed earlier (a full buffer of
        // --json, train's flush between blocks) leaves only the error flag.
        assert.match(r.stderr, /triage: cannot write to stdout: (No space left on device|a write failed before the end)\n$/, args.join(" "));
      } finally {
        closeSync(full);
      }
    }
    const full = openSync("/dev/full", "w");
    try {
      const r = spawnSync(triageBin, ["eval", "--data", mtbench, "--router", "length", "--bootstrap", "0"], { encoding: "utf8", stdio: ["ignore", full, "pipe"] });
      assert.match(r.stderr, /triage: cannot write to stdout: No space left on device\n$/);
    } finally {
      closeSync(full);
    }
    // The model file is whole all the same: only the printed figures were lost.
    const ok = run(["eval", "--data", mtbench, "--router", `learned:${model}`, "--bootstrap", "0"]);
    assert.equal(ok.status, 0, ok.stderr);
  });
});

test("a number or null as id or role: FILE:LINE and exit 1 in eval, train and calibrate, not an abort", () => {
  withTempDir("triage-types-", (dir) => {
    const fixtures = path.join(repoRoot, "tests/fixtures/eval");
    const cases = [
      ["bad_id.jsonl", /bad_id\.jsonl:2: 'id' must be a string, got number/],
      ["null_id.jsonl", /null_id\.jsonl:1: 'id' must be a string, got null/],
      ["bad_role.jsonl", /bad_role\.jsonl:3: a message's 'role' must be a string, got number/],
      ["null_role.jsonl", /null_role\.jsonl:1: a message's 'role' must be a string, got null/],
    ];
    for (const [file, why] of cases) {
      const data = ["--data", path.join(fixtures, file), "--cheap", "cheap", "--strong", "strong"];
      for (const args of [
        ["eval", ...data, "--router", "length"],
        ["train", ...data, "--out", path.join(dir, "x.model")],
        ["calibrate", ...data, "--router", "length", "--strong-fraction", "0.3"],
      ]) {
        const r = run(args);
        assert.equal(r.status, 1, `${args.join(" ")}\n${r.stderr}`);
        assert.match(r.stderr, why, args.join(" "));
        assert.doesNotMatch(r.stderr, /terminate|type_error/);
      }
    }
  });
});

test("nothing to read: an empty file, /dev/null, a directory, null scores each say what is wrong", () => {
  const fixtures = path.join(repoRoot, "tests/fixtures/eval");
  const cases = [
    [path.join(fixtures, "empty.jsonl"), /empty\.jsonl: the file is empty; expected one JSON object per line/],
    [path.join(fixtures, "blank.jsonl"), /blank\.jsonl: has only blank lines \(3\)/],
    ["/dev/null", /\/dev\/null: the file is empty/],
    [fixtures, /eval: is a directory, not an outcomes file/],
    [path.join(fixtures, "null_scores.jsonl"), /no usable queries in the --data files: no line has a numeric score for any model/],
  ];
  for (const [file, why] of cases) {
    for (const cmd of [["eval", "--router", "length"], ["calibrate", "--router", "length", "--split", "70/30"]]) {
      const r = run([...cmd, "--data", file]);
      assert.equal(r.status, 1, `${cmd[0]} ${file}\n${r.stderr}`);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /outcomes for no model/);
    }
  }
});

test("long runs show progress on stderr only; short runs stay quiet", () => {
  withTempDir("triage-progress-", (dir) => {
    // TRIAGE_PROGRESS_MS=0 prints every step instead of at most one line a second.
    const every = (args) => spawnSync(triageBin, args, { encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, TRIAGE_PROGRESS_MS: "0" } });
    const e = every(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "40", "--json"]);
    assert.equal(e.status, 0, e.stderr);
    const quiet = run(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "40", "--json"]);
    assert.equal(e.stdout, quiet.stdout);  // stdout (the JSON) is untouched
    const lines = e.stderr.split("\n").filter((l) => l.startsWith("length: bootstrap gsm8k: "));
    assert.equal(lines.length, 40, e.stderr);
    assert.match(lines[0], /^length: bootstrap gsm8k: 1\/40 resamples \(\d+\.\d s\)$/);
    assert.match(lines.at(-1), /^length: bootstrap gsm8k: 40\/40 resamples \(\d+\.\d s, done\)$/);
    assert.equal(quiet.stderr, "");  // well under a second: no progress lines
    // A value that is not a whole number of milliseconds is said so and ignored (at most a line a
    // second); "abc" used to read as 0 (a line per resample) and "1s" as 1 ms.
    for (const bad of ["abc", "1s", "-5", " "]) {
      const b = spawnSync(triageBin, ["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "40", "--json"], { encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, TRIAGE_PROGRESS_MS: bad } });
      assert.equal(b.status, 0, b.stderr);
      assert.equal(b.stderr, `warning: TRIAGE_PROGRESS_MS=${bad} is not a number of milliseconds >= 0; progress lines come at most once a second\n`, JSON.stringify(bad));
    }
    // Several routers: the paired bootstrap against the first reports too.
    const cmp = every(["eval", "--data", gsm8k, "--router", "random:1", "--router", "length", "--bootstrap", "5"]);
    assert.equal(cmp.status, 0, cmp.stderr);
    assert.match(cmp.stderr, /^length: paired bootstrap against random:1 on gsm8k: 5\/5 resamples \(\d+\.\d s, done\)$/m);
    assert.doesNotMatch(cmp.stdout, /resamples \(/);
    // train without --cv: one line per epoch of each head.
    const t = every(["train", "--data", gsm8k, "--out", path.join(dir, "l.model"), "--epochs", "3"]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stderr, /^fit on 907 queries: 1\/6 epochs \(\d+\.\d s\)$/m);
    assert.match(t.stderr, /^fit on 907 queries: 6\/6 epochs \(\d+\.\d s, done\)$/m);
    assert.equal(t.stdout, "");
  });
});

test("a bad router SPEC is a usage error (exit 2); a model or rules file that cannot be used is not (exit 1)", () => {
  withTempDir("triage-spec-", (dir) => {
    const usage = [
      ["bogus", /unknown router 'bogus'/],
      ["random:abc", /random seed must be an integer from 0 to 18446744073709551615, got 'abc'/],
      ["random:-1", /got '-1'/],
      ["random:99999999999999999999", /got '99999999999999999999'/],
      ["length:5", /length takes no argument/],
      ["learned:", /router 'learned:' needs a file: learned:MODEL_FILE or learned:builtin/],
      ["cascade:", /router 'cascade:' needs a file: cascade:MODEL_FILE/],
      ["rules:", /router 'rules:' needs a file: rules:FILE/],
    ];
    for (const [spec, why] of usage) {
      for (const args of [
        ["eval", "--data", gsm8k, "--router", spec],
        ["eval", "--data", gsm8k, "--router", "length", "--router", spec],
        ["calibrate", "--data", gsm8k, "--router", spec, "--split", "70/30"],
        ["calibrate", "--ledger", `sqlite://${path.join(dir, "none.db")}`, "--router", spec, "--split", "70/30"],
      ]) {
        const r = run(args);
        assert.equal(r.status, 2, `${args.join(" ")}\n${r.stderr}`);
        assert.match(r.stderr, why, args.join(" "));
        assert.equal(r.stdout, "");
      }
    }
    const bad = path.join(dir, "bad.txt");
    writeFileSync(bad, "half = 0.5x\n");
    const files = [
      [`learned:${path.join(dir, "none.model")}`, /cannot open model file .*none\.model/],
      [`cascade:${path.join(dir, "none.model")}`, /cannot open model file .*none\.model/],
      [`rules:${path.join(dir, "none.txt")}`, /cannot open rules file .*none\.txt/],
      [`rules:${bad}`, /bad\.txt:1: score must be a number in \[0,1\]/],
      [`cascade:${path.join(repoRoot, "models/learned-v2.model")}`, /is a learned model, not a cascade model/],
    ];
    for (const [spec, why] of files) {
      for (const cmd of ["eval", "calibrate"]) {
        const r = run([cmd, "--data", gsm8k, "--router", spec, ...(cmd === "calibrate" ? ["--split", "70/30"] : [])]);
        assert.equal(r.status, 1, `${cmd} ${spec}\n${r.stderr}`);
        assert.match(r.stderr, why);
      }
    }
    // The largest seed is fine, and another seed gives other scores.
    const max = run(["eval", "--data", gsm8k, "--router", "random:18446744073709551615", "--json", "--bootstrap", "0"]);
    assert.equal(max.status, 0, max.stderr);
    const one = run(["eval", "--data", gsm8k, "--router", "random:1", "--json", "--bootstrap", "0"]);
    assert.notEqual(JSON.parse(max.stdout).apgr, JSON.parse(one.stdout).apgr);
  });
});

test("calibrate with tied scores: the achievable split closest to the request, and a warning naming the ties", () => {
  withTempDir("triage-ties-", (dir) => {
    const half = path.join(dir, "half.txt");
    writeFileSync(half, "half = 0.9\ndefault = 0.3\n");
    const split = run(["calibrate", "--router", `rules:${half}`, "--data", gsm8k, "--split", "70/25/5"]);
    assert.equal(split.status, 0, split.stderr);
    // 88.8% of the GSM8K prompts score 0.3 and 11.2% 0.9: 0.0/88.8/11.2 was printed before.
    assert.match(split.stdout, /achieved split 88\.8\/11\.2\/0\.0\n/);
    assert.match(split.stdout, /thresholds: \[0\.600000, 0\.950000\]/);
    assert.match(split.stderr, /^warning: the achieved split 88\.8\/11\.2\/0\.0 is 18\.8 points from the requested 70\.0\/25\.0\/5\.0: tied scores always go to the same tier \(88\.8% of the 907 scores are 0\.300000, 11\.2% are 0\.900000\)/m);
    const frac = run(["calibrate", "--router", `rules:${half}`, "--data", gsm8k, "--strong-fraction", "0.3"]);
    assert.equal(frac.status, 0, frac.stderr);
    assert.match(frac.stdout, /achieved split 88\.8\/11\.2\n/);  // was 0.0/100.0
    assert.match(frac.stderr, /warning: the achieved split 88\.8\/11\.2 is 18\.8 points from the requested 70\.0\/30\.0: tied scores/);
    // eval's operating point is the same threshold, and says so.
    const e = run(["eval", "--router", `rules:${half}`, "--data", gsm8k, "--json", "--bootstrap", "0"]);
    assert.equal(e.status, 0, e.stderr);
    const op = JSON.parse(e.stdout).operating_point;
    assert.equal(op.threshold, 0.6);
    assert.ok(Math.abs(op.strong_fraction - 102 / 907) < 1e-12, `${op.strong_fraction}`);
    assert.match(e.stderr, /warning: rules:.*half\.txt: gsm8k: operating point: the achieved split 88\.8\/11\.2 is 18\.8 points/);
    // Untied scores hit the request and say nothing.
    const ok = run(["calibrate", "--router", "length", "--data", gsm8k, "--split", "70/25/5"]);
    assert.equal(ok.stderr, "");
  });
});

test("rules files: spaces around a keyword are part of it; a bad score or an empty keyword names the line", () => {
  withTempDir("triage-rules-", (dir) => {
    const file = path.join(dir, "r.txt");
    writeFileSync(file, "default = 0.2\n not  = 0.9\n");
    const data = path.join(dir, "d.jsonl");
    const prompts = ["Which is not prime?", "Nothing is prime.", "I cannot tell."];
    writeFileSync(data, prompts.map((content, i) => JSON.stringify({ id: `p${i}`, messages: [{ role: "user", content }], outcomes: { cheap: { score: 0 }, strong: { score: 1 } } })).join("\n") + "\n");
    const scores = path.join(dir, "s.jsonl");
    const r = run(["eval", "--data", data, "--cheap", "cheap", "--strong", "strong", "--router", `rules:${file}`, "--scores", scores, "--bootstrap", "0"]);
    assert.equal(r.status, 0, r.stderr);
    const got = readFileSync(scores, "utf8").trim().split("\n").map((l) => JSON.parse(l).score);
    assert.deepEqual(got, [0.9, 0.2, 0.2]);  // " not " is not inside "Nothing" or "cannot"
    for (const [line, why] of [
      ["half = 0.5x", /r\.txt:2: score must be a number in \[0,1\]/],
      ["half = nan", /r\.txt:2: score must be a number in \[0,1\]/],
      [" = 0.5", /r\.txt:2: empty keyword: expected 'keyword = score'/],
    ]) {
      writeFileSync(file, `default = 0.2\n${line}\n`);
      const e = run(["eval", "--data", gsm8k, "--router", `rules:${file}`]);
      assert.equal(e.status, 1, line);
      assert.match(e.stderr, why, line);
    }
  });
});

test("the same --data file twice is refused; --since-hours applies to --ledger only", () => {
  const same = [
    ["eval", "--router", "length", "--data", gsm8k, "--data", gsm8k],
    ["train", "--out", path.join(tmpdir(), "never-written.model"), "--data", gsm8k, "--data", gsm8k],
    ["calibrate", "--router", "length", "--split", "70/30", "--data", gsm8k, "--data", gsm8k],
  ];
  for (const args of same) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(" ")}\n${r.stderr}`);
    assert.match(r.stderr, /--data .*gsm8k-dev\.jsonl is given twice: its queries would count twice/);
    assert.equal(r.stdout, "");
  }
  // The same file under another name is still the same file.
  const other = `${path.dirname(gsm8k)}/./${path.basename(gsm8k)}`;  // path.join would drop the ./
  const alias = run(["eval", "--router", "length", "--data", gsm8k, "--data", other]);
  assert.equal(alias.status, 2);
  assert.match(alias.stderr, /is given twice \(also as .*\/\.\/gsm8k-dev\.jsonl\)/);
  const since = run(["calibrate", "--router", "length", "--data", gsm8k, "--split", "70/30", "--since-hours", "24"]);
  assert.equal(since.status, 2);
  assert.match(since.stderr, /--since-hours applies to --ledger only/);
  assert.equal(since.stdout, "");
});

test("eval --by-category: a row per category at the benchmark's operating point, in text and JSON", () => {
  const mmlu = path.join(data, "mmlu-dev.jsonl");
  const args = ["eval", "--data", gsm8k, "--data", mmlu, "--router", "length", "--bootstrap", "0", "--by-category"];
  const j = JSON.parse(run([...args, "--json"]).stdout);
  for (const name of ["gsm8k", "mmlu"]) {
    const b = j.benchmarks[name];
    const cats = b.categories;
    assert.ok(Array.isArray(cats) && cats.length > 0, name);
    // The categories partition the benchmark, and together they send what it sends strong.
    assert.equal(cats.reduce((n, c) => n + c.queries, 0), b.queries);
    const strong = cats.reduce((n, c) => n + c.queries * c.operating_point.strong_fraction, 0);
    assert.ok(Math.abs(strong / b.queries - b.operating_point.strong_fraction) < 1e-9, name);
    const quality = cats.reduce((n, c) => n + c.queries * c.operating_point.quality, 0);
    assert.ok(Math.abs(quality / b.queries - b.operating_point.quality) < 1e-9, name);
    for (const c of cats) {
      assert.equal(c.pgr_defined, c.strong_quality > c.cheap_quality, c.category);
      if (!c.pgr_defined) assert.equal(c.apgr, null, c.category);
    }
  }
  assert.equal(j.benchmarks.mmlu.categories.length, 57);
  assert.equal(j.benchmarks.overall.categories, undefined);
  // One benchmark: its categories are also at the top, next to its figures.
  const one = JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "0", "--by-category", "--json"]).stdout);
  assert.deepEqual(one.categories, one.benchmarks.gsm8k.categories);
  assert.equal(one.categories[0].category, "math");
  // Without --by-category the JSON has no categories.
  assert.equal(JSON.parse(run(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "0", "--json"]).stdout).benchmarks.gsm8k.categories, undefined);
  const text = run(args);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^== mmlu by category \(operating point: threshold 0\.\d{4}, \d+\.\d% strong\)$/m);
  assert.match(text.stdout, /^abstract_algebra +70 /m);
  assert.match(text.stdout, /^math +907 /m);
  const two = run([...args, "--router", "random:1"]);
  assert.equal(two.status, 2);
  assert.match(two.stderr, /--by-category takes a single --router/);
});

// Every number a report prints or writes is finite: no NaN, no inf, no PGR of 1e15.
function assertFiniteJson(value, where) {
  if (typeof value === "number") {
    assert.ok(Number.isFinite(value) && Math.abs(value) < 1e6, `${where} = ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertFiniteJson(v, `${where}[${i}]`));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) assertFiniteJson(v, `${where}.${k}`);
  }
}

test("an MT-Bench-like file (second turns, judge scores in tenths, 7 models, cost_usd): every router, flag and command", () => {
  const mt = path.join(repoRoot, "tests/fixtures/eval/mtbench_like.jsonl");
  const routers = ["random:3", "length", `rules:${path.join(repoRoot, "models/rules-v1.txt")}`, "learned:builtin",
    `cascade:${path.join(repoRoot, "models/cascade-v3.model")}`];
  for (const router of routers) {
    const r = run(["eval", "--data", mt, "--router", router, "--json", "--by-category", "--bootstrap", "50"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /skipped 8 queries without outcomes for both mixtral-8x7b-instruct and gpt-4-1106-preview/);
    const j = JSON.parse(r.stdout);
    assertFiniteJson(j, router);
    assert.equal(j.benchmark, "mtbench_like");  // no `benchmark` key: the file's name
    assert.equal(j.queries, 52);
    assert.equal(j.pgr_defined, true);
    assert.ok(j.recorded_cost_queries > 0 && j.recorded_cost_queries < 52, `${j.recorded_cost_queries}`);
    assert.deepEqual(j.categories.map((c) => c.category),
      ["coding", "extraction", "humanities", "math", "reasoning", "roleplay", "stem", "writing"]);
    for (const c of j.categories) assert.equal(c.pgr_defined, c.strong_quality - c.cheap_quality > 1e-9, c.category);
  }
  // Another pair of the seven models, and the comparison table with a plot.
  const other = run(["eval", "--data", mt, "--router", "length", "--cheap", "vicuna-13b-v1.3", "--strong", "claude-v1", "--json", "--bootstrap", "0"]);
  assert.equal(other.status, 0, other.stderr);
  assert.equal(JSON.parse(other.stdout).skipped, 0);
  withTempDir("triage-mt-", (dir) => {
    const svg = path.join(dir, "cmp.svg");
    const cmp = run(["eval", "--data", mt, "--router", "random:1", "--router", "length", "--router", "learned:builtin", "--plot", svg, "--bootstrap", "20"]);
    assert.equal(cmp.status, 0, cmp.stderr);
    assert.doesNotMatch(cmp.stdout + readFileSync(svg, "utf8"), /nan|inf/i);
    const cal = run(["calibrate", "--data", mt, "--router", "learned:builtin", "--split", "70/25/5"]);
    assert.equal(cal.status, 0, cal.stderr);
    assert.match(cal.stdout, /thresholds: \[0\.\d+, 0\.\d+\]/);
    const floor = run(["calibrate", "--data", mt, "--router", "length", "--min-pgr", "0.8"]);
    assert.equal(floor.status, 0, floor.stderr);
    for (const kind of ["learned", "cascade"]) {
      const model = path.join(dir, `${kind}.model`);
      const tr = run(["train", "--data", mt, "--data", gsm8k, "--kind", kind, "--cv", "5", "--bootstrap", "0", "--out", model]);
      assert.equal(tr.status, 0, tr.stderr);
      // 33 of the fixture's 52 kept lines carry no cheap-model response; GSM8K's all do.
      if (kind === "cascade") assert.match(tr.stderr, /note: 33 of 959 queries have no recorded response from mixtral-8x7b-instruct; --kind cascade learns from them as empty answers/);
      assert.match(tr.stdout, /^mtbench_like\s+n=52\s+APGR\s+0\.\d{4}/m);
      assert.match(tr.stdout, /leave-one-benchmark-out/);
      const ev = run(["eval", "--data", mt, "--router", `${kind}:${model}`, "--json", "--bootstrap", "0"]);
      assert.equal(ev.status, 0, ev.stderr);
      assertFiniteJson(JSON.parse(ev.stdout), kind);
    }
  });
});

test("judge scores that tie on average (0.3+0.2+0.1 against 0.1+0.2+0.3) are a tie, not a PGR of 1e15", () => {
  const tie = path.join(repoRoot, "tests/fixtures/eval/tie_tenths.jsonl");
  const r = run(["eval", "--data", tie, "--router", "length", "--cheap", "cheap", "--strong", "strong", "--by-category", "--json", "--bootstrap", "50"]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertFiniteJson(j, "tie");
  const writing = j.categories.find((c) => c.category === "writing");
  assert.equal(writing.pgr_defined, false);
  assert.equal(writing.apgr, null);
  assert.equal(j.categories.find((c) => c.category === "math").pgr_defined, true);
  const text = run(["eval", "--data", tie, "--router", "length", "--cheap", "cheap", "--strong", "strong", "--by-category"]);
  assert.match(text.stdout, /^writing\s+3\s.*n\/a\s+n\/a$/m);
});

test("input mistakes: the same model twice, a file with none of the compared models, raw 1-10 scores, repeated ids", () => {
  const mt = path.join(repoRoot, "tests/fixtures/eval/mtbench_like.jsonl");
  const same = run(["eval", "--data", mt, "--router", "length", "--cheap", "claude-v1", "--strong", "claude-v1"]);
  assert.equal(same.status, 2);
  assert.match(same.stderr, /--cheap and --strong are both claude-v1/);
  const mixed = run(["eval", "--data", gsm8k, "--data", mt, "--router", "length", "--cheap", "vicuna-13b-v1.3", "--bootstrap", "0"]);
  assert.equal(mixed.status, 0, mixed.stderr);
  assert.match(mixed.stderr, /warning: .*gsm8k-dev\.jsonl: none of its 907 queries has outcomes for both vicuna-13b-v1\.3 and gpt-4-1106-preview: the figures leave this file out/);
  const raw = run(["eval", "--data", path.join(repoRoot, "tests/fixtures/eval/judge_raw.jsonl"), "--router", "length", "--cheap", "cheap", "--strong", "strong"]);
  assert.equal(raw.status, 1);
  assert.match(raw.stderr, /judge_raw\.jsonl:2: score 7 for cheap is outside \[0,1\] \(a judge's 1-10 score must be divided by 10\)/);
  const dup = run(["eval", "--data", path.join(repoRoot, "tests/fixtures/eval/crlf_dup.jsonl"), "--router", "length", "--cheap", "cheap", "--strong", "strong", "--bootstrap", "0", "--json"]);
  assert.equal(dup.status, 0, dup.stderr);
  assert.equal(JSON.parse(dup.stdout).queries, 2);
  assert.match(dup.stderr, /note: 1 lines repeat an id seen earlier in their file \(.*crlf_dup\.jsonl: id "r1" on lines 1 and 2\); each line counts as its own query/);
});

test("output files: a failed write exits 1 and never leaves a cut model; a missing directory fails before training", () => {
  withTempDir("triage-write-", (dir) => {
    // /dev/full: the snippet's write fails at the close; it used to print "wrote /dev/full", exit 0.
    const full = run(["calibrate", "--router", "length", "--data", gsm8k, "--split", "70/30", "--out", "/dev/full"]);
    assert.equal(full.status, 1, full.stderr);
    assert.match(full.stderr, /cannot write \/dev\/full: No space left on device/);
    assert.doesNotMatch(full.stderr, /wrote \/dev\/full/);
    // A model written over a good one under a file size limit (~100 KB, the model is ~290 KB):
    // the write fails; the old file used to be left cut to the limit.
    const model = path.join(dir, "keep.model");
    const good = readFileSync(path.join(repoRoot, "models/learned-v4.model"));
    writeFileSync(model, good);
    const limited = spawnSync("sh", ["-c", 'ulimit -f 100; exec "$0" "$@"', triageBin, "train", "--data", gsm8k, "--out", model, "--epochs", "1"], { encoding: "utf8" });
    assert.notEqual(limited.status, 0, limited.stderr);
    assert.ok(readFileSync(model).equals(good), "the old model is left whole");
    assert.equal(run(["eval", "--data", gsm8k, "--router", `learned:${model}`, "--bootstrap", "0"]).status, 0);
    // --out, --plot and --scores in a directory that does not exist: exit 1 before any fit
    // (it used to train first, then fail on the write).
    const every = (args) => spawnSync(triageBin, args, { encoding: "utf8", env: { ...process.env, TRIAGE_PROGRESS_MS: "0" } });
    const nodir = path.join(dir, "no", "such");
    const t = every(["train", "--data", gsm8k, "--out", path.join(nodir, "x.model"), "--epochs", "1"]);
    assert.equal(t.status, 1, t.stderr);
    assert.match(t.stderr, new RegExp(`cannot write .*x\\.model: no directory .*such`));
    assert.doesNotMatch(t.stderr, /fit on/);
    for (const flag of ["--plot", "--scores"]) {
      const e = every(["eval", "--data", gsm8k, "--router", "length", flag, path.join(nodir, flag === "--plot" ? "c.svg" : "s.jsonl")]);
      assert.equal(e.status, 1, e.stderr);
      assert.match(e.stderr, /no directory/);
      assert.equal(e.stdout, "");  // refused before the report
    }
    // A --plot name that is neither .svg nor .png is still the usage error (exit 2) it was.
    const jpg = run(["eval", "--data", gsm8k, "--router", "length", "--plot", path.join(nodir, "c.jpg")]);
    assert.equal(jpg.status, 2, jpg.stderr);
    assert.match(jpg.stderr, /the name must end in \.svg or \.png/);
    const isdir = run(["train", "--data", gsm8k, "--out", dir]);
    assert.equal(isdir.status, 1);
    assert.match(isdir.stderr, /it is a directory; name a file/);
  });
});

// Regression: the PNG went straight to its name through cairo_surface_write_to_png, which
// truncated the old picture first, so a write that failed half-way (a file size limit, a full
// disk) left a cut PNG, where every other output is written whole or not at all.
test("eval --plot FILE.png is written whole or not at all: a failed write leaves the picture that was there", () => {
  withTempDir("triage-png-atomic-", (dir) => {
    const png = path.join(dir, "c.png");
    const first = run(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "0", "--plot", png]);
    assert.equal(first.status, 0, first.stderr);
    const good = readFileSync(png);
    assert.ok(good.length > 16384, `a PNG of ${good.length} bytes`);
    // 8 blocks of 512 or 1024 bytes: less than the picture, more than nothing.
    const limited = spawnSync("sh", ["-c", 'ulimit -f 8; exec "$0" "$@"', triageBin, "eval", "--data", gsm8k, "--router", "random:1", "--bootstrap", "0", "--plot", png], { encoding: "utf8" });
    assert.notEqual(limited.status, 0, limited.stderr);
    assert.ok(readFileSync(png).equals(good), "the old picture is left whole");
    // And a PNG that can be written still is, over the old one.
    const again = run(["eval", "--data", gsm8k, "--router", "random:1", "--bootstrap", "0", "--plot", png]);
    assert.equal(again.status, 0, again.stderr);
    const png2 = readFileSync(png);
    assert.ok(png2.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
    assert.ok(!png2.equals(good), "the random:1 curve is another picture");
  });
});

test("train whose weights diverge writes no model; a model file of NaN or infinite numbers is refused", () => {
  withTempDir("triage-nan-", (dir) => {
    const out = path.join(dir, "nan.model");
    for (const extra of [[], ["--cv", "2"]]) {
      const t = run(["train", "--data", gsm8k, "--out", out, "--epochs", "2", "--learning-rate", "1e300", ...extra]);
      assert.equal(t.status, 1, t.stderr);
      assert.match(t.stderr, /training diverged: the weights are not finite numbers \(--learning-rate 1e\+300, --l2 1e-05; .*\): lower them; no model written/);
      assert.throws(() => readFileSync(out));  // it used to write the model and exit 0
    }
    // A file with a NaN bias and a correct checksum (what that training wrote): eval printed
    // "threshold -nan" and APGR 0.5; now the file is refused, naming it.
    const bytes = Buffer.from(readFileSync(path.join(repoRoot, "models/learned-v4.model")));
    const bias = 8 + 4 * 5;  // magic, version, kind, dim, heads, feature set
    bytes.writeFloatLE(NaN, bias);
    const body = bytes.subarray(0, bytes.length - 8);
    let h = 1469598103934665603n;  // routing::Fnv1a64 (docs/routing.md, model file format)
    for (const b of body) h = ((h ^ BigInt(b)) * 1099511628211n) & 0xffffffffffffffffn;
    bytes.writeBigUInt64LE(h, bytes.length - 8);
    writeFileSync(out, bytes);
    for (const args of [["eval", "--data", gsm8k, "--router", `learned:${out}`], ["calibrate", "--data", gsm8k, "--router", `learned:${out}`, "--split", "70/30"]]) {
      const r = run(args);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /model file .*nan\.model: bias is not a finite number/);
      assert.doesNotMatch(r.stdout, /nan/);
    }
  });
});

test("calibrate --split takes decimal percentages only; rules:DIR and a rules file without rules are refused", () => {
  withTempDir("triage-split-", (dir) => {
    // nan/50/50 used to calibrate (exit 0) to thresholds for a share of NaN.
    for (const split of ["nan/50/50", "0x46/0x1e", "70/30/", "-5/100/5", "70/25/6", "70/25"]) {
      const r = run(["calibrate", "--router", "length", "--data", gsm8k, "--split", split]);
      assert.equal(r.status, 2, `${split}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`--split .*got '${split.replace(/[/.+]/g, "\\$&")}'`));
      assert.equal(r.stdout, "");
    }
    assert.equal(run(["calibrate", "--router", "length", "--data", gsm8k, "--split", "70.5/24.5/5"]).status, 0);
    // A directory and a file of comments only used to load as rules scoring every prompt 0.5.
    const comments = path.join(dir, "comments.txt");
    writeFileSync(comments, "# to do\n\n");
    const cases = [
      [dir, /rules file .* is a directory/],
      [comments, /rules file .*comments\.txt has no rules: expected 'keyword = score' lines/],
      ["/dev/null", /rules file \/dev\/null has no rules/],
    ];
    for (const [file, why] of cases) {
      for (const cmd of [["eval", "--bootstrap", "0"], ["calibrate", "--split", "70/30"]]) {
        const r = run([...cmd, "--data", gsm8k, "--router", `rules:${file}`]);
        assert.equal(r.status, 1, `${cmd[0]} ${file}\n${r.stderr}`);
        assert.match(r.stderr, why);
      }
    }
    // A model file that is a directory or empty says so (it said "bad magic").
    const empty = path.join(dir, "empty.model");
    writeFileSync(empty, "");
    assert.match(run(["eval", "--data", gsm8k, "--router", `learned:${dir}`]).stderr, /model file .*: is a directory, not a model file/);
    assert.match(run(["eval", "--data", gsm8k, "--router", `cascade:${empty}`]).stderr, /model file .*empty\.model: the file is empty/);
  });
});

test("number flags: nan, infinities and values out of range are refused (exit 2), not read as left out", () => {
  withTempDir("triage-numbers-", (dir) => {
    // Each used to exit 0: nan failed every `>= 0` test, so the flag counted as not given (the
    // split was used, the default learning rate, the catalog's price).
    const cases = [
      [["calibrate", "--data", gsm8k, "--router", "length", "--split", "70/30", "--strong-fraction", "nan"], /--strong-fraction: must be a number in \(0, 1\), got nan/],
      [["calibrate", "--data", gsm8k, "--router", "length", "--split", "70/30", "--strong-fraction", "-0.1"], /--strong-fraction: must be a number in \(0, 1\), got -0\.1/],
      [["calibrate", "--data", gsm8k, "--router", "length", "--split", "70/30", "--min-pgr", "nan"], /--min-pgr: must be a number in \(0, 1\], got nan/],
      [["calibrate", "--data", gsm8k, "--router", "length", "--strong-fraction", "1.5"], /--strong-fraction: must be a number in \(0, 1\), got 1\.5/],
      [["eval", "--data", gsm8k, "--router", "length", "--cheap-price", "nan"], /--cheap-price: must be a number >= 0, got nan/],
      [["eval", "--data", gsm8k, "--router", "length", "--strong-price", "inf"], /--strong-price: must be a number >= 0, got inf/],
      [["train", "--data", gsm8k, "--out", path.join(dir, "x.model"), "--learning-rate", "nan"], /--learning-rate: must be a number > 0, got nan/],
      [["train", "--data", gsm8k, "--out", path.join(dir, "x.model"), "--l2", "nan"], /--l2: must be a number >= 0, got nan/],
      [["train", "--data", gsm8k, "--out", path.join(dir, "x.model"), "--length-prior", "nan"], /--length-prior: must be a number in \[0, 1\], got nan/],
      // Decimal only, as --split: strtod read hex, so 0x0.4 was a strong fraction of 0.25.
      [["calibrate", "--data", gsm8k, "--router", "length", "--strong-fraction", "0x0.4"], /--strong-fraction: must be a number in \(0, 1\), got 0x0\.4/],
      [["eval", "--data", gsm8k, "--router", "length", "--cheap-price", "0x10"], /--cheap-price: must be a number >= 0, got 0x10/],
    ];
    for (const [args, why] of cases) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(" ")}\n${r.stderr}`);
      assert.match(r.stderr, why, args.join(" "));
      assert.equal(r.stdout, "");
    }
    assert.throws(() => readFileSync(path.join(dir, "x.model")));
    // Whole-number flags are decimal: CLI11 read 0x10 as 16 and 010 as octal 8.
    for (const [flag, bad] of [["--bootstrap", "0x10"], ["--bootstrap", "1e2"], ["--bootstrap", "-1"]]) {
      const r = run(["eval", "--data", gsm8k, "--router", "length", flag, bad]);
      assert.equal(r.status, 2, `${flag} ${bad}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag}: must be a whole number in \\[0, 100000\\], got ${bad}`));
    }
    for (const [args, why] of [
      [["--cv", "0x5"], /--cv: must be a whole number in \[2, 20\], got 0x5/],
      [["--epochs", "1.5"], /--epochs: must be a whole number in \[1, 1000\], got 1\.5/],
      [["--heads", "3"], /--heads: must be a whole number in \[1, 2\], got 3/],
      [["--feature-set", "0"], /--feature-set: must be a whole number in \[1, 3\], got 0/],
    ]) {
      const r = run(["train", "--data", gsm8k, "--out", path.join(dir, "x.model"), ...args]);
      assert.equal(r.status, 2, `${args.join(" ")}\n${r.stderr}`);
      assert.match(r.stderr, why);
    }
    const octal = run(["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "010", "--json"]);
    assert.equal(octal.status, 0, octal.stderr);
    assert.equal(JSON.parse(octal.stdout).bootstrap_resamples, 10);
    // In range still works.
    assert.equal(run(["calibrate", "--data", gsm8k, "--router", "length", "--min-pgr", "1"]).status, 0);
    assert.equal(run(["eval", "--data", gsm8k, "--router", "length", "--cheap-price", "0", "--bootstrap", "0"]).status, 0);
  });
});

test("train --cv: a block with no query to score says why instead of vanishing", () => {
  withTempDir("triage-cvnone-", (dir) => {
    const one = path.join(dir, "one.jsonl");
    writeFileSync(one, readFileSync(gsm8k, "utf8").split("\n")[0] + "\n");
    const r = run(["train", "--data", one, "--out", path.join(dir, "one.model"), "--cv", "2", "--bootstrap", "0"]);
    assert.equal(r.status, 0, r.stderr);
    // Both blocks used to be left out of stdout without a word.
    assert.match(r.stdout, /^---- 2-fold cross-validation \(out-of-fold scores\)\nno query scored: each fold is scored by a model trained on the other folds, and no other fold had a query to train on \(1 queries\)$/m);
    assert.match(r.stdout, /^---- leave-one-benchmark-out \(trained on the other benchmarks\)\nno query scored: it needs queries of two or more benchmarks; the data has one \(gsm8k\)$/m);
  });
});

test("an output that names an input (--scores over --data, calibrate --out over its model) is refused, the input left whole", () => {
  withTempDir("triage-clobber-", (dir) => {
    const data = path.join(dir, "in.jsonl");
    writeFileSync(data, readFileSync(gsm8k, "utf8").split("\n").slice(0, 20).join("\n") + "\n");
    const model = path.join(dir, "m.model");
    writeFileSync(model, readFileSync(path.join(repoRoot, "models/learned-v4.model")));
    const before = [readFileSync(data), readFileSync(model)];
    // Each used to exit 0 after replacing the input: the outcomes with scores, the model with YAML.
    const cases = [
      [["eval", "--data", data, "--router", "length", "--bootstrap", "0", "--scores", path.join(dir, ".", "in.jsonl")], /--scores .*in\.jsonl names an input \(--data .*in\.jsonl\): writing it would overwrite it/],
      [["calibrate", "--data", data, "--router", `learned:${model}`, "--split", "70/30", "--out", model], /--out .*m\.model names an input \(--router learned:.*m\.model\): writing it would overwrite it/],
      [["train", "--data", data, "--out", data], /--out .*in\.jsonl names an input \(--data/],
      [["eval", "--data", data, "--router", "length", "--scores", path.join(dir, "o.svg"), "--plot", path.join(dir, ".", "o.svg")], /--plot and --scores both name/],
    ];
    for (const [args, why] of cases) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(" ")}\n${r.stderr}`);
      assert.match(r.stderr, why);
      assert.equal(r.stdout, "");
    }
    assert.ok(readFileSync(data).equals(before[0]));
    assert.ok(readFileSync(model).equals(before[1]));
    // A device is not a file to clobber, even when an input names it too.
    const out = run(["eval", "--data", data, "--router", "length", "--bootstrap", "0", "--json", "--scores", "/dev/null"]);
    assert.equal(out.status, 0, out.stderr);
  });
});

// Regression: the ledger of `calibrate --ledger` was not counted as an input, so `--out` naming
// it replaced the gateway's accounting database with the YAML snippet (exit 0, "wrote ...").
test("calibrate --out naming the --ledger it reads (or its -wal / -shm file) is refused, the ledger left whole", async () => {
  const t = await startDemo();
  try {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${t.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: `Prove theorem ${i}` }] }),
      });
      assert.equal(r.status, 200);
      await r.text();
    }
    await t.stop();
    const before = readFileSync(t.ledger);
    const url = `sqlite://${t.ledger}`;
    for (const out of [t.ledger, path.join(path.dirname(t.ledger), ".", path.basename(t.ledger)), `${t.ledger}-wal`, `${t.ledger}-shm`]) {
      const r = run(["calibrate", "--router", "learned:builtin", "--ledger", url, "--split", "70/30", "--out", out]);
      assert.equal(r.status, 2, `--out ${out}\n${r.stderr}`);
      assert.match(r.stderr, /--out .* names an input \(--ledger\): writing it would overwrite it/);
      assert.equal(r.stdout, "");
    }
    assert.ok(readFileSync(t.ledger).equals(before), "the ledger is left whole");
    const report = run(["report", "--ledger", url, "--json"]);
    assert.equal(report.status, 0, report.stderr);
    assert.equal(JSON.parse(report.stdout).requests.total, 3);
    // Another name is fine.
    const ok = run(["calibrate", "--router", "learned:builtin", "--ledger", url, "--split", "70/30", "--out", path.join(path.dirname(t.ledger), "t.yaml")]);
    assert.equal(ok.status, 0, ok.stderr);
  } finally {
    await t.cleanup();
  }
});

test("--scores /dev/stdout with stdout redirected to a file: the report and the scores both land in it", () => {
  withTempDir("triage-devstdout-", (dir) => {
    // Like `triage eval ... --scores /dev/stdout >> out.txt`: the scores file replaced out.txt
    // by a rename, so the report printed to stdout went to the unlinked file, and out.txt's
    // earlier content was gone too.
    const file = path.join(dir, "out.txt");
    writeFileSync(file, "earlier line\n");
    const fd = openSync(file, "a");
    const r = spawnSync(triageBin, ["eval", "--data", gsm8k, "--router", "length", "--bootstrap", "0", "--scores", "/dev/stdout"], {
      stdio: ["ignore", fd, "pipe"],
      encoding: "utf8",
    });
    closeSync(fd);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    assert.equal(lines[0], "earlier line");
    const scores = lines.filter((l) => l.startsWith("{"));
    assert.equal(scores.length, 907);
    assert.equal(JSON.parse(scores[0]).id, "gsm8k-0003");
    // The report (APGR, the curve's table) is there besides the scores.
    assert.ok(lines.some((l) => /APGR/.test(l)), lines.filter((l) => !l.startsWith("{")).join("\n"));
  });
});
