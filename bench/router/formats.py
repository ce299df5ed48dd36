#!/usr/bin/env python3
"""Other prompt formats: a stand-in for unseen benchmarks that ask the same questions another way.

The dev files ask every question bare. Evaluation harnesses and applications often do not:
they put worked examples before the question (few-shot), a system prompt before the user
message, an instruction before or after it, or they ask in a conversation. This harness rewrites the dev queries into those formats and measures how a learned
router trained on the bare format ranks them:

  bare     the dev query as recorded
  fewshot  MMLU: "The following are multiple choice questions (with answers) about SUBJECT."
           and 5 questions of the same subject with an answer letter, then the query (the
           original MMLU 5-shot layout). GSM8K: 4 fixed worked examples ("Question: ...
           Answer: ..." with the strong model's recorded solution), then "Question: Q
           Answer:" (the usual 8-shot chain-of-thought layout, shortened).
  system   a 1,100-char system message before the unchanged user message
  suffix   an instruction after the question: "Answer with the letter of the correct option
           only." (MMLU), "Let's think step by step." (GSM8K)
  prefix   "Please answer the following question carefully." before the question
  smalltalk  a first exchange before the question ("Hi! Can you help me with a question?" /
           "Of course! What is your question?")
  followup the question, an assistant answer ("Here is my answer; let me know if you need more
           detail."), then a short follow-up: "Are you sure? Please double-check it and give me
           the final answer."
  history  an earlier, unrelated exchange before the question: another dev query picked at
           random (seeded by the query id) and the same assistant answer
  split    the question sent as two user messages in a row: MMLU's stem, then its options;
           GSM8K's text before its last sentence, then that sentence (the question)

The example questions (the first 5 of each MMLU subject, the first 4 GSM8K queries) are left
out of every split. 5 folds by an MD5 of the query id: each fold is scored, in each format, by a
model trained with `triage train` (default settings) on the other 4 folds in the bare format,
and the out-of-fold scores of the 5 folds are pooled, as `train --cv` does. APGR and CPT(50%)
are computed as `triage eval` computes them (10 quantile thresholds, trapezoid area). `length`
is shown for reference. Nothing is written to the repo.

Usage: bench/router/formats.py [TRIAGE_BIN] [--feature-set N ...]
  FORMATS=bare,followup bench/router/formats.py ...   # only these formats
  TRAIN_ARGS="--exclude-category high_school_mathematics" bench/router/formats.py ...  # train flags
  ALSO_WITHOUT=high_school_mathematics bench/router/formats.py ...  # + MMLU without a category
  (python3 and the triage binary only; data from $TRIAGE_SHARED_DIR or ../shared)
"""
import collections
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("TRIAGE_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
DATA = os.path.join(SHARED, "data", "outcomes")
ALL_FORMATS = ("bare", "fewshot", "system", "suffix", "prefix", "smalltalk", "followup", "history",
               "split")
FORMATS = tuple(os.environ.get("FORMATS", ",".join(ALL_FORMATS)).split(","))
TRAIN_ARGS = os.environ.get("TRAIN_ARGS", "").split()
# A third column: MMLU scored without this category (its queries are still trained on unless
# TRAIN_ARGS excludes them), e.g. high_school_mathematics, whose strong-model labels are a
# grading artifact (docs/routing.md).
ALSO_WITHOUT = os.environ.get("ALSO_WITHOUT", "")
ANSWER = {"role": "assistant", "content": "Here is my answer; let me know if you need more detail."}
FOLLOW_UP = "Are you sure? Please double-check it and give me the final answer."
SYSTEM = "You are a careful, knowledgeable assistant. " * 25
STRONG = "gpt-4-1106-preview"


def user(q):
    return q["messages"][-1]["content"]


def load():
    rows = []
    for name in ("mmlu-dev.jsonl", "gsm8k-dev.jsonl"):
        with open(os.path.join(DATA, name)) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    examples = collections.defaultdict(list)
    for q in rows:
        key = q.get("category") if q["benchmark"] == "mmlu" else "gsm8k"
        if len(examples[key]) < (5 if q["benchmark"] == "mmlu" else 4):
            examples[key].append(q)
            q["_example"] = True
    return [q for q in rows if not q.get("_example")], examples


def rewrite(q, fmt, examples, queries):
    out = dict(q)
    if fmt == "suffix":
        tail = ("\n\nAnswer with the letter of the correct option only." if q["benchmark"] == "mmlu"
                else "\n\nLet's think step by step.")
        out["messages"] = [{"role": "user", "content": user(q) + tail}]
    elif fmt == "split":
        t = user(q)
        if q["benchmark"] == "mmlu":
            k = t.find("\nA. ")
        else:
            k = max(t.rfind(". ", 0, len(t) - 2), t.rfind("? ", 0, len(t) - 2)) + 1
        if k <= 0:
            k = len(t) // 2
        out["messages"] = [{"role": "user", "content": t[:k]}, {"role": "user", "content": t[k:].lstrip()}]
    elif fmt == "prefix":
        out["messages"] = [{"role": "user", "content": "Please answer the following question carefully.\n\n" + user(q)}]
    elif fmt == "smalltalk":
        out["messages"] = [{"role": "user", "content": "Hi! Can you help me with a question?"},
                           {"role": "assistant", "content": "Of course! What is your question?"}] + q["messages"]
    elif fmt == "followup":
        out["messages"] = q["messages"] + [ANSWER, {"role": "user", "content": FOLLOW_UP}]
    elif fmt == "history":
        other = random.Random(q["id"]).choice(queries)
        out["messages"] = [{"role": "user", "content": user(other)}, ANSWER] + q["messages"]
    elif fmt == "system":
        out["messages"] = [{"role": "system", "content": SYSTEM}] + q["messages"]
    elif fmt == "fewshot":
        if q["benchmark"] == "mmlu":
            p = "The following are multiple choice questions (with answers) about %s.\n\n" % (
                q["category"].replace("_", " "))
            for i, e in enumerate(examples[q["category"]]):
                p += user(e) + " " + "ABCD"[i % 4] + "\n\n"
            p += user(q)
        else:
            p = ""
            for e in examples["gsm8k"]:
                p += "Question: %s\nAnswer: %s\n\n" % (user(e), e["outcomes"][STRONG]["response"].strip())
            p += "Question: %s\nAnswer:" % user(q)
        out["messages"] = [{"role": "user", "content": p}]
    return out


def fold(q):
    return int(hashlib.md5(q["id"].encode()).hexdigest(), 16) % 5


def metrics(rows):
    """APGR and CPT(50%) as triage eval computes them (eval/metrics.cc)."""
    s = [r["score"] for r in rows]
    c = [r["cheap"] for r in rows]
    t = [r["strong"] for r in rows]
    n = len(s)
    qw, qs = sum(c) / n, sum(t) / n
    srt = sorted(s)
    pts = [(0.0, qw)]
    for k in range(1, 10):
        pos = (1 - k / 10) * (n - 1)
        lo = int(pos)
        th = srt[-1] if lo + 1 >= n else srt[lo] + (srt[lo + 1] - srt[lo]) * (pos - lo)
        m = sum(1 for x in s if x >= th)
        pts.append((m / n, sum(t[i] if s[i] >= th else c[i] for i in range(n)) / n))
    pts.append((1.0, qs))
    pts.sort(key=lambda p: p[0])
    pgr = lambda q: (q - qw) / (qs - qw)
    apgr = sum((pts[i][0] - pts[i - 1][0]) * (pgr(pts[i][1]) + pgr(pts[i - 1][1])) / 2
               for i in range(1, len(pts)))
    cpt = 1.0
    for i, (f, q) in enumerate(pts):
        p = pgr(q)
        if p < 0.5:
            continue
        if i == 0:
            cpt = f
        else:
            p0, f0 = pgr(pts[i - 1][1]), pts[i - 1][0]
            cpt = f if p == p0 else f0 + (0.5 - p0) / (p - p0) * (f - f0)
        break
    return apgr, cpt


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(args), r.stderr))


def main():
    argv = sys.argv[1:]
    sets = []
    while "--feature-set" in argv:
        i = argv.index("--feature-set")
        sets.append(argv[i + 1])
        del argv[i:i + 2]
    triage = argv[0] if argv else os.path.join(ROOT, "build", "triage")
    queries, examples = load()
    category = {q["id"]: q.get("category") for q in queries}
    print("command: %s%sbench/router/formats.py %s %s" % (
        "ALSO_WITHOUT=%s " % ALSO_WITHOUT if ALSO_WITHOUT else "",
        'TRAIN_ARGS="%s" ' % " ".join(TRAIN_ARGS) if TRAIN_ARGS else "", triage,
        " ".join("--feature-set " + s for s in sets)))
    print("%d queries in 5 folds (%d example questions left out)" % (
        len(queries), sum(len(v) for v in examples.values())))
    with tempfile.TemporaryDirectory() as work:
        for k in range(5):
            with open(os.path.join(work, "train%d.jsonl" % k), "w") as f:
                for q in queries:
                    if fold(q) != k:
                        f.write(json.dumps(q) + "\n")
            for fmt in FORMATS:
                with open(os.path.join(work, "%s%d.jsonl" % (fmt, k)), "w") as f:
                    for q in queries:
                        if fold(q) == k:
                            f.write(json.dumps(rewrite(q, fmt, examples, queries)) + "\n")
        routers = [("learned, feature set %s" % s, s) for s in sets] or [("learned", None)]
        routers.append(("length", "length"))
        columns = ["gsm8k", "mmlu"] + (["mmlu w/o " + ALSO_WITHOUT] if ALSO_WITHOUT else [])
        print("%-26s %-9s %s" % ("router", "format", " ".join("%-18s" % (c + " APGR / CPT50") for c in columns)))
        for label, s in routers:
            pooled = collections.defaultdict(list)
            for k in range(5):
                spec = "length"
                if s != "length":
                    model = os.path.join(work, "m%d.model" % k)
                    cmd = [triage, "train", "--data", os.path.join(work, "train%d.jsonl" % k), "--out", model]
                    cmd += TRAIN_ARGS
                    run(cmd + (["--feature-set", s] if s else []))
                    spec = "learned:" + model
                for fmt in FORMATS:
                    scores = os.path.join(work, "scores.jsonl")
                    run([triage, "eval", "--data", os.path.join(work, "%s%d.jsonl" % (fmt, k)), "--router",
                         spec, "--bootstrap", "0", "--scores", scores])
                    with open(scores) as f:
                        pooled[fmt] += [json.loads(line) for line in f]
            sums = collections.defaultdict(float)
            for fmt in FORMATS:
                cells = []
                for col in columns:
                    b = col.split()[0]
                    a, c = metrics([r for r in pooled[fmt] if r["benchmark"] == b and
                                    not (col != b and category[r["id"]] == ALSO_WITHOUT)])
                    sums[col] += a
                    cells.append("%-18s" % ("%.3f / %4.1f%%" % (a, 100 * c)))
                print("%-26s %-9s %s" % (label, fmt, " ".join(cells)))
            if len(FORMATS) > 1:
                print("%-26s %-9s %s" % (label, "mean", " ".join(
                    "%-18s" % ("%.3f" % (sums[col] / len(FORMATS))) for col in columns)))


if __name__ == "__main__":
    main()
