#!/usr/bin/env python3
"""Which kinds of chat request the shipped learned router scores higher: a sanity check, not a metric.

The dev files hold only MMLU and GSM8K questions; applications also send writing, role-play,
coding, reasoning and extraction requests, for which no outcomes are recorded here. This harness
sends the 36 requests of bench/router/chat_prompts.json (six per kind, written for this check, not
taken from any benchmark) to `triage demo` (`learned:builtin`, thresholds 0.58 / 0.68) and prints,
per kind, the mean score read from `x-triage-route`, each request's score and the tiers chosen.
Without outcomes it cannot say whether the router is right, only whether its order matches what is
commonly reported for open against frontier models (the gap is widest on maths, coding and
reasoning, narrowest on writing and role-play).

  bench/router/chat_kinds.py [TRIAGE_BIN]     (default: build-lead/triage, then build/triage)
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
binary = sys.argv[1] if len(sys.argv) > 1 else next(
    (b for b in (f"{root}/build-lead/triage", f"{root}/build/triage") if os.access(b, os.X_OK)), None)
if not binary:
    sys.exit("no triage binary: pass its path")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
proc = subprocess.Popen([binary, "demo", "--listen", f"127.0.0.1:{port}", "--ledger", "sqlite::memory:",
                         "--summary-every", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz").read()
            break
        except OSError:
            time.sleep(0.1)
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    print(f"# bench/router/chat_kinds.py {binary} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {commit})")
    kinds = json.load(open(os.path.join(here, "chat_prompts.json")))
    for kind, prompts in kinds.items():
        scores, tiers = [], Counter()
        for p in prompts:
            body = json.dumps({"model": "auto", "messages": [{"role": "user", "content": p}]}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body,
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req) as r:
                route = r.headers["x-triage-route"]
                tiers[r.headers["x-triage-tier"]] += 1
                r.read()
            scores.append(float(re.search(r"score=([0-9.]+)", route).group(1)))
        print(f"{kind:11s} mean {statistics.mean(scores):.3f}  scores {' '.join(f'{x:.2f}' for x in scores)}"
              f"  tiers {dict(sorted(tiers.items()))}")
finally:
    proc.terminate()
    proc.wait()
