#!/usr/bin/env bash
# How close triage's token estimate (POST /v1/messages/count_tokens: ceil(chars / 4) + 3 per
# message + 3, the same chars/4 that estimates usage an upstream did not report) comes to real
# tokenizers: OpenAI's o200k_base and cl100k_base (the `gpt-tokenizer` npm package, pinned in
# bench/tokens/package-lock.json and installed there with npm ci: needs the npm registry; CI
# never runs this). Anthropic's tokenizer is not public and is not compared.
#   bench/tokens/run.sh [TRIAGE_BIN]     (default: build-lead/triage, then build/triage)
# Reads the outcome files in ../shared/data/outcomes (prompts and recorded answers), starts
# `triage demo` on a free loopback port with an in-memory ledger, and prints one line per corpus
# and tokenizer: total estimated / total real tokens, the per-message ratio's p5 / median / p95
# and the share of messages whose estimate is within 20% of the real count.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-}
if [[ -z $bin ]]; then
  for b in "$root/build-lead/triage" "$root/build/triage"; do [[ -x $b ]] && bin=$b && break; done
fi
[[ -x ${bin:-} ]] || { echo "no triage binary: pass its path" >&2; exit 2; }
data=${DATA:-$(cd "$root/.." && pwd)/shared/data/outcomes}
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
"$bin" demo --listen "127.0.0.1:$port" --ledger 'sqlite::memory:' --summary-every 3600 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
echo "# bench/tokens/run.sh $bin ($(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$root" rev-parse --short HEAD), gpt-tokenizer $(node -p "require('$here/node_modules/gpt-tokenizer/package.json').version"))"
node "$here/compare.mjs" "http://127.0.0.1:$port" "$data/mmlu-dev.jsonl" "$data/gsm8k-dev.jsonl"
