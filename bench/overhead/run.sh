#!/usr/bin/env bash
# Overhead benchmark: direct to a fixed-response fake upstream (nginx `return 200`), through a
# plain nginx reverse proxy with keep-alive (the floor any proxy reaches here), and through
# triage (full request parsing, routing, accounting with a SQLite ledger). Loopback only,
# bounded in time; every process it starts is stopped on exit.
#   bench/overhead/run.sh            # DURATION=10 (seconds per measurement)
#   LEDGER_QUERY='?synchronous=full' bench/overhead/run.sh   # options appended to the ledger URL
#   TRIAGE_BIN=/path/to/other/triage bench/overhead/run.sh  # measure another build (A/B pairs)
#   THREADS=1 bench/overhead/run.sh  # triage's server.threads (default: absent, one per core)
#   COMPARE=portkey bench/overhead/run.sh  # also Portkey's open-source gateway (Node), the
#     version pinned in bench/compare/package-lock.json, installed there with `npm ci` (needs
#     the npm registry; CI never runs this), rows portkey and portkey-stream
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
LEDGER_QUERY=${LEDGER_QUERY:-}
THREADS=${THREADS:-}
COMPARE=${COMPARE:-}
[[ -z $COMPARE || $COMPARE == portkey ]] || { echo "COMPARE: only 'portkey' can run here (see bench/README.md)" >&2; exit 2; }
scripts/deps.sh --bench
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
. bench/lib.sh
bench_triage_bin

bench_workdir bench

. bench/overhead/setup.sh
rss_idle=$(awk '/VmRSS/{print $2}' /proc/$TPID/status)

if [[ $COMPARE == portkey ]]; then
  # Portkey's gateway as its README starts it (`npx @portkey-ai/gateway`), without the web
  # console (--headless); one Node process. It listens on every interface (it has no host
  # option) for the length of the run.
  (cd bench/compare && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  node bench/compare/node_modules/@portkey-ai/gateway/build/start-server.js --port=$PORTKEY \
    --headless > "$work/portkey.out" 2>&1 &
  PPID_PK=$!
  pids+=($PPID_PK)
  for _ in $(seq 100); do grep -q 'Ready for connections' "$work/portkey.out" && break; sleep 0.1; done
  sleep 0.5
  pk_rss_idle=$(awk '/VmRSS/{print $2}' /proc/$PPID_PK/status)
fi

# The same two requests to Portkey: its headers name the provider and the upstream (the fake's
# plain or streaming path); the model name goes through as the client sent it.
pk_headers() {  # upstream base URL
  echo 'wrk.headers["Authorization"] = "Bearer sk-bench"'
  echo 'wrk.headers["x-portkey-provider"] = "openai"'
  echo "wrk.headers[\"x-portkey-custom-host\"] = \"$1\""
}
{ pk_headers "http://127.0.0.1:$FAKE/v1"; cat "$work/post.lua"; } > "$work/portkey.lua"
{ pk_headers "http://127.0.0.1:$FAKE/stream/v1"; cat "$work/stream.lua"; } > "$work/portkey-stream.lua"

measure() {  # name url connections threads [script] [path] -> "requests errors rps p50 p99"
  wrk -t"$4" -c"$3" -d"${DURATION}s" -s "$work/${5:-post}.lua" "$2${6:-/v1/chat/completions}" |
    sed -n 's/^RESULT requests=\([0-9]*\) errors=\([0-9]*\) rps=\([0-9.]*\) p50=\([0-9]*\) p99=\([0-9]*\)$/\1 \2 \3 \4 \5/p'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, all threads
count_rows() { sqlite3 "$work/ledger.db" "select count(*) from requests where stream = $1"; }
declare -A R
# Each triage target must answer with the real answer, not an error that happens to be fast.
body_of() { sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/$1.lua"; }
check() {  # script path pattern
  local out
  out=$(curl -sS -H 'Content-Type: application/json' -H 'anthropic-version: 2023-06-01' \
    -d "$(body_of "$1")" "http://127.0.0.1:$TRIAGE$2")
  grep -q "$3" <<< "$out" || { echo "triage answered $2 ($1) without '$3':" >&2; head -c 600 <<< "$out" >&2; exit 1; }
}
check post /v1/chat/completions '"content":"Hamlet, prince of Denmark'
check stream /v1/chat/completions 'data: {.*"content":" Hamlet included."'
check messages /v1/messages '"type":"text_delta","text":" Hamlet included."\|"text":" Hamlet included.","type":"text_delta"'
check amessages /v1/messages '"type":"message".*"text":"Hamlet, prince of Denmark\|"text":"Hamlet, prince of Denmark.*"type":"message"'
check astream /v1/chat/completions 'data: {.*"content":" Hamlet included."'
targets=(direct proxy triage triage-messages direct-stream proxy-stream triage-stream
         triage-messages-stream triage-anthropic-stream)
if [[ $COMPARE == portkey ]]; then
  pk_check() {  # script pattern: the same standard as triage's check
    local out
    out=$(curl -sS -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-bench' \
      -H 'x-portkey-provider: openai' \
      -H "x-portkey-custom-host: $(sed -n 's/^wrk.headers\["x-portkey-custom-host"\] = "\(.*\)"$/\1/p' "$work/$1.lua")" \
      -d "$(body_of "$1")" "http://127.0.0.1:$PORTKEY/v1/chat/completions")
    grep -q "$2" <<< "$out" || { echo "portkey answered ($1) without '$2':" >&2; head -c 600 <<< "$out" >&2; exit 1; }
  }
  pk_check portkey '"content":"Hamlet, prince of Denmark'
  pk_check portkey-stream 'data: {.*"content":" Hamlet included."'
  targets=(direct proxy triage portkey triage-messages direct-stream proxy-stream triage-stream
           portkey-stream triage-messages-stream triage-anthropic-stream)
fi
declare -A CPU
rows=0
for target in "${targets[@]}"; do
  path=/v1/chat/completions
  case $target in
    direct) url=http://127.0.0.1:$FAKE;; proxy) url=http://127.0.0.1:$PROXY;; triage) url=http://127.0.0.1:$TRIAGE;;
    direct-stream) url=http://127.0.0.1:$FAKE/stream;; proxy-stream) url=http://127.0.0.1:$PROXY/stream;;
    triage-stream) url=http://127.0.0.1:$TRIAGE;;
    triage-messages) url=http://127.0.0.1:$TRIAGE; path=/v1/messages;;
    triage-messages-stream) url=http://127.0.0.1:$TRIAGE; path=/v1/messages;;
    triage-anthropic-stream) url=http://127.0.0.1:$TRIAGE;;
    portkey|portkey-stream) url=http://127.0.0.1:$PORTKEY;;
  esac
  script=post; [[ $target == *-stream ]] && script=stream
  [[ $target == triage-messages-stream ]] && script=messages
  [[ $target == triage-messages ]] && script=amessages
  [[ $target == triage-anthropic-stream ]] && script=astream
  [[ $target == portkey* ]] && script=$target
  wrk -t1 -c1 -d2s -s "$work/$script.lua" "$url$path" >/dev/null  # warm-up
  # The ledger rows each triage target adds: counted from after its warm-up to after its
  # measurement, when the requests in flight as wrk stopped have been answered.
  kind=0; [[ $target == *-stream ]] && kind=1
  [[ $target == triage* ]] && { sleep 0.2; before=$(count_rows $kind); }
  R[$target,1]=$(measure $target "$url" 1 1 $script "$path")
  gw=; [[ $target == triage* ]] && gw=$TPID; [[ $target == portkey* ]] && gw=$PPID_PK
  [[ -n $gw ]] && t0=$(cpu_ticks $gw)
  R[$target,64]=$(measure $target "$url" 64 2 $script "$path")
  [[ -n $gw ]] && CPU[$target]=$(( $(cpu_ticks $gw) - t0 ))
  [[ $target == triage* ]] && { sleep 0.5; rows=$(( rows + $(count_rows $kind) - before )); }
done
rss_peak=$(awk '/VmHWM/{print $2}' /proc/$TPID/status)
[[ $COMPARE == portkey ]] && pk_rss_peak=$(awk '/VmHWM/{print $2}' /proc/$PPID_PK/status)

f() { echo "${R[$1,$2]}" | awk -v i="$3" '{print $i}'; }
p50() { f "$1" 1 4; }
p99() { f "$1" 1 5; }
echo
echo "## Overhead (loopback, $(nproc) cores, $(date -u +%Y-%m-%d), load before run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| target | p50 @1 conn (µs) | p99 @1 conn (µs) | added p50 | added p99 | req/s @64 conn | p99 @64 conn (µs) | errors |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
  ref=direct; [[ $t == *-stream ]] && ref=direct-stream
  ap50=$(( $(p50 $t) - $(p50 $ref) )); ap99=$(( $(p99 $t) - $(p99 $ref) ))
  printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n" "$t" "$(p50 $t)" "$(p99 $t)" "$ap50" "$ap99" "$(f $t 64 3)" "$(f $t 64 5)" $(( $(f $t 1 2) + $(f $t 64 2) ))
done
echo
awk -v a="$(f triage 64 3)" -v b="$(f proxy 64 3)" 'BEGIN{printf "triage throughput = %.2f x the nginx proxy floor\n", a/b}'
awk -v a="$(f triage-messages 64 3)" -v b="$(f proxy 64 3)" 'BEGIN{printf "triage Anthropic-client answers (the OpenAI answer translated into an Anthropic message) = %.2f x the nginx proxy floor\n", a/b}'
awk -v a="$(f triage-stream 64 3)" -v b="$(f proxy-stream 64 3)" 'BEGIN{printf "triage streaming throughput = %.2f x the nginx proxy floor (the same answer as %d SSE events)\n", a/b, '"$(grep -c '^data: ' <<< "$sse")"'}'
awk -v a="$(f triage-messages-stream 64 3)" -v b="$(f proxy-stream 64 3)" 'BEGIN{printf "triage Anthropic-client streaming (each chunk translated to Anthropic events) = %.2f x the nginx proxy floor of the OpenAI stream\n", a/b}'
awk -v a="$(f triage-anthropic-stream 64 3)" -v b="$(f proxy-stream 64 3)" 'BEGIN{printf "triage streaming from an Anthropic upstream (each event translated to an OpenAI chunk) = %.2f x the nginx proxy floor of the OpenAI stream\n", a/b}'
awk -v t="$(p50 triage)" -v p="$(p50 proxy)" -v d="$(p50 direct)" \
  'BEGIN{printf "triage p50 @1 conn = %.1f x the nginx proxy p50; added p50 triage/proxy = %.1f\n", t/p, (t-d)/((p-d)>0?(p-d):1)}'
echo "triage RSS: idle ${rss_idle} KiB, peak under load ${rss_peak} KiB (server.threads: ${THREADS:-default, one per core})"
# The gateway's own CPU time (user + system, every thread, from /proc) over the 64-connection
# measurement, per request wrk counted: what one request costs whatever the number of cores.
hz=$(getconf CLK_TCK)
for t in "${targets[@]}"; do
  [[ -n ${CPU[$t]:-} ]] || continue
  awk -v c="${CPU[$t]}" -v hz="$hz" -v n="$(f $t 64 1)" -v d="$DURATION" -v t="$t" \
    'BEGIN{printf "%s CPU @64 conn: %.0f µs per request, %.2f cores busy\n", t, c / hz * 1e6 / n, c / hz / d}'
done
if [[ $COMPARE == portkey ]]; then
  echo "portkey RSS: idle ${pk_rss_idle} KiB, peak under load ${pk_rss_peak} KiB (one Node process)"
  awk -v a="$(f triage 64 3)" -v b="$(f portkey 64 3)" -v c="$(f proxy 64 3)" 'BEGIN{printf "triage / portkey throughput = %.2f (portkey = %.2f x the nginx proxy floor)\n", a/b, b/c}'
  awk -v a="$(f triage-stream 64 3)" -v b="$(f portkey-stream 64 3)" -v c="$(f proxy-stream 64 3)" 'BEGIN{printf "triage-stream / portkey-stream throughput = %.2f (portkey-stream = %.2f x the nginx proxy floor)\n", a/b, b/c}'
  echo "per request, triage parses and checks the request, picks the tier and deployment (here: no router configured, so \`auto\` takes the default tier), reads the usage, accounts the cost and commits a SQLite ledger row; portkey (default config: no cache, no retries, no guardrails, no database, no cost) parses the request, maps it to the provider named in its headers, calls the upstream, and builds a log entry for its web console (for a plain answer it clones and parses the answer body), sent to no one since no console is connected"
fi
sent=0
for t in triage triage-messages triage-stream triage-messages-stream triage-anthropic-stream; do sent=$(( sent + $(f $t 1 1) + $(f $t 64 1) )); done
echo "ledger rows written during the measurement: $rows; responses wrk counted: $sent (wrk does not count the up to 64 requests still in flight each time it stops)"
missing=$(( sent > rows ? sent - rows : 0 )); extra=$(( rows - sent ))
echo "ledger check: $([[ $missing -eq 0 && $extra -le 325 ]] && echo OK || echo MISMATCH) (answered without a row: $missing; rows beyond answers: $extra, at most 325 = in flight at the ten stops)"
echo
echo "command: DURATION=$DURATION${LEDGER_QUERY:+ LEDGER_QUERY='$LEDGER_QUERY'}${THREADS:+ THREADS=$THREADS}${COMPARE:+ COMPARE=$COMPARE}${BIN_GIVEN:+ TRIAGE_BIN=$BIN_GIVEN} bench/overhead/run.sh"
