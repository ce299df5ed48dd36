#!/usr/bin/env bash
# Load under faults: >= 50,000 requests on loopback while ~20% of upstream answers fail
# (500, 503, 429 with Retry-After, reset before headers, hang past the first-byte timeout)
# across the two deployments of a tier. Reports the client-side success rate, the latency
# added over the same fake without faults, the retries spent, and unaccounted requests
# (answered requests without a ledger row, which must be 0). Bounded in time; loopback only.
#   bench/load/run.sh                      # DURATION=25 CONNECTIONS=32 FAULT_RATE=0.2
#   TRIAGE_BIN=/path/to/other/triage bench/load/run.sh   # measure another build
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-25}
CONNECTIONS=${CONNECTIONS:-32}
FAULT_RATE=${FAULT_RATE:-0.2}
scripts/deps.sh --bench
. bench/lib.sh
bench_triage_bin

bench_workdir load

base=$((20000 + RANDOM % 20000))
A=$base; B=$((base + 1)); CLEAN=$((base + 2)); TRIAGE=$((base + 3))
node bench/load/fake.mjs $A "$FAULT_RATE" > "$work/a.counts" & pids+=($!)
node bench/load/fake.mjs $B "$FAULT_RATE" > "$work/b.counts" & pids+=($!)
node bench/load/fake.mjs $CLEAN 0 > /dev/null & pids+=($!)

cat > "$work/triage.yaml" <<CONF
log_level: error
storage: {ledger: "sqlite://$work/ledger.db"}
tiers:
  - name: open
    deployments:
      - {name: a, provider: openai, base_url: "http://127.0.0.1:$A/v1", catalog: gemma-4-31b,
         timeouts: {connect_ms: 200, first_byte_ms: 200, idle_ms: 200, total_ms: 1000}}
      - {name: b, provider: openai, base_url: "http://127.0.0.1:$B/v1", catalog: gemma-4-31b,
         timeouts: {connect_ms: 200, first_byte_ms: 200, idle_ms: 200, total_ms: 1000}}
retry: {max_attempts: 3, backoff_base_ms: 5, backoff_max_ms: 50, budget_ratio: 0.5, budget_min: 50}
breaker: {consecutive_failures: 50, error_rate: 0.9, min_requests: 200}
routing: {fallback: none}
CONF
"$TRIAGE_BIN" serve --config "$work/triage.yaml" --listen "127.0.0.1:$TRIAGE" > "$work/triage.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/triage.out" && break; sleep 0.1; done
sleep 0.3

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"auto","messages":[{"role":"user","content":"Summarise the plot of Hamlet in two sentences."}]}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d sockerr=%d p50=%d p99=%d rps=%.0f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    summary.requests / (summary.duration / 1e6)))
end
LUA
run() { wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$work/post.lua" "$1/v1/chat/completions" | grep '^RESULT'; }
clean=$(run http://127.0.0.1:$CLEAN)
loaded=$(run http://127.0.0.1:$TRIAGE)
sleep 1.5  # let requests in flight at wrk's stop finish and be accounted
get() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }
req=$(get "$loaded" requests); non2xx=$(get "$loaded" non2xx); sockerr=$(get "$loaded" sockerr)
rows=$(sqlite3 "$work/ledger.db" 'select count(*) from requests')
ok_rows=$(sqlite3 "$work/ledger.db" 'select count(*) from requests where status = 200')
attempts=$(sqlite3 "$work/ledger.db" 'select sum(attempts) from requests')
for p in "${pids[@]:0:2}"; do kill -TERM "$p"; done; sleep 0.3
echo
echo "## Load under faults ($(date -u +%Y-%m-%d), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| requests answered (wrk, ${DURATION} s, $CONNECTIONS connections) | $req |"
echo "| success rate at the client (2xx) | $(awk -v r="$req" -v n="$non2xx" -v s="$sockerr" 'BEGIN{printf "%.3f%%", 100*(r-n)/r}') ($non2xx non-2xx, $sockerr socket errors) |"
echo "| injected faults per upstream | a: $(cat "$work/a.counts"), b: $(cat "$work/b.counts") |"
echo "| p50 / p99, fake without faults, direct | $(get "$clean" p50) / $(get "$clean" p99) µs |"
echo "| p50 / p99, through triage with ${FAULT_RATE} faults | $(get "$loaded" p50) / $(get "$loaded" p99) µs |"
echo "| added p50 | $(( $(get "$loaded" p50) - $(get "$clean" p50) )) µs |"
echo "| ledger rows / answered requests | $rows / $req (rows may exceed answers by the $CONNECTIONS requests in flight when wrk stopped) |"
echo "| unaccounted requests (answered, no row) | $(( req > rows ? req - rows : 0 )) |"
echo "| rows with status 200 | $ok_rows |"
retries=$(( attempts - rows )); budget=$(awk -v r="$rows" 'BEGIN{printf "%d", 0.5 * r + 50}')
echo "| retries / retry budget | $retries / $budget ($([[ $retries -le $budget ]] && echo within || echo OVER) budget: 0.5 x requests + budget_min 50) |"
echo "| max attempts on one request | $(sqlite3 "$work/ledger.db" 'select max(attempts) from requests') (max_attempts 3) |"
echo "| upstream attempts per request | $(awk -v a="$attempts" -v r="$rows" 'BEGIN{printf "%.3f", a/r}') (max_attempts 3, retry budget 0.5 per request) |"
echo
echo "command: DURATION=$DURATION CONNECTIONS=$CONNECTIONS FAULT_RATE=$FAULT_RATE${BIN_GIVEN:+ TRIAGE_BIN=$BIN_GIVEN} bench/load/run.sh"
