#!/usr/bin/env bash
# Queue benchmark: one deployment with max_concurrency 1 and a queue of N-1, a fake upstream
# that answers each request after DELAY_MS, N requests at once. Every request but the first
# waits in the queue, so the run takes N x DELAY_MS plus what each hand-over of the slot costs.
# Reports the wall time, that hand-over cost (the wall time beyond N x DELAY_MS, per request),
# and the CPU time triage spent meanwhile (from /proc: user + system). Loopback only; every
# process it starts is stopped on exit.
#   bench/queue/run.sh                           # N=1000 DELAY_MS=1
#   TRIAGE_BIN=/path/to/other/triage bench/queue/run.sh   # measure another build (A/B pairs)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000}
DELAY_MS=${DELAY_MS:-1}
. bench/lib.sh
bench_triage_bin

bench_workdir queue

base=$((20000 + RANDOM % 20000))
UP=$base; TRIAGE=$((base + 1))
token=$RANDOM$RANDOM
node bench/queue/slow.mjs $UP "$DELAY_MS" "$token" & pids+=($!)
for _ in $(seq 100); do [[ $(curl -s "http://127.0.0.1:$UP/") == "$token" ]] && break; sleep 0.1; done
if [[ $(curl -s "http://127.0.0.1:$UP/") != "$token" ]]; then
  echo "the fake upstream did not start on port $UP (in use?)" >&2; exit 1
fi
cat > "$work/triage.yaml" <<CONF
log_level: warn
storage: {ledger: "sqlite://$work/ledger.db"}
tiers:
  - name: open
    deployments:
      - {name: a, provider: openai, base_url: "http://127.0.0.1:$UP/v1", catalog: gemma-4-31b,
         max_concurrency: 1, max_queue: $N, queue_timeout_ms: 600000,
         timeouts: {total_ms: 600000}}
routing: {fallback: none}
CONF
"$TRIAGE_BIN" serve --config "$work/triage.yaml" --listen "127.0.0.1:$TRIAGE" > "$work/triage.out" 2>&1 &
tpid=$!
pids+=($tpid)
for _ in $(seq 50); do grep -q listening "$work/triage.out" && break; sleep 0.1; done
if ! grep -q listening "$work/triage.out"; then
  echo "triage did not start:" >&2; cat "$work/triage.out" >&2; exit 1
fi
sleep 0.3
ticks() { awk '{print $14 + $15}' "/proc/$tpid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
result=$(node bench/queue/client.mjs "http://127.0.0.1:$TRIAGE/v1/chat/completions" "$N" | grep '^RESULT')
after=$(ticks)
get() { echo "$result" | sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
wall=$(get wall_ms); ok=$(get ok); statuses=${result##*statuses=}
if [[ $ok != "$N" ]]; then
  echo "not every request was answered 200; triage's log:" >&2
  head -c 3000 "$work/triage.out" >&2
fi
echo
echo "## Queue hand-over ($(date -u +%Y-%m-%d), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| requests (all at once), answered 200 | $N, $ok (statuses: $statuses) |"
echo "| wall time / floor (N x ${DELAY_MS} ms) | $wall ms / $((N * DELAY_MS)) ms |"
echo "| hand-over cost per request | $(awk -v w="$wall" -v n="$N" -v d="$DELAY_MS" 'BEGIN{printf "%.2f ms", (w - n*d)/n}') |"
echo "| triage CPU time meanwhile (user + system) | $(awk -v t=$((after - before)) -v h="$hz" 'BEGIN{printf "%.2f s", t/h}') |"
echo
echo "command: N=$N DELAY_MS=$DELAY_MS${BIN_GIVEN:+ TRIAGE_BIN=$BIN_GIVEN} bench/queue/run.sh"
