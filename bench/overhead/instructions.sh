#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: the one figure of this
# folder that does not move with the machine's load (the wrk harnesses' req/s and CPU per
# request move by 20-40% between runs on a shared 2-core VM). The gateway runs under callgrind
# (one thread at a time, ~50x slower) in front of the nginx fake of setup.sh; for each target of
# run.sh that goes through triage, wrk sends WARMUP seconds of requests, the counters are zeroed,
# wrk sends DURATION seconds at CONNECTIONS connections, and the counters are dumped. It prints
# the instructions per request over all threads, and the share of them spent on the ledger's
# writer and checkpointer threads. What it does not see: the kernel (system calls, the network
# stack: ~40% of triage's CPU in perf), cache misses, lock waits and context switches; use it to
# compare builds, and the wrk harnesses for time. It needs a core to itself: under callgrind the
# gateway serves a few hundred requests a second, and when another job slows it further the
# per-second background work (timers, the checkpointer) is spread over fewer requests and the
# figure rises (162 thousand instead of 146 for the plain request, 328 requests measured, with
# a CI run on both cores); the script warns below 1,000 requests.
#   bench/overhead/instructions.sh
#   TRIAGE_BIN=/path/to/other/triage bench/overhead/instructions.sh   # another build (A/B)
#   TARGETS="triage triage-stream" bench/overhead/instructions.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-4}
TARGETS=${TARGETS:-triage triage-messages triage-stream triage-messages-stream triage-anthropic-stream}
scripts/deps.sh --bench
command -v valgrind >/dev/null || {
  echo "instructions.sh needs valgrind (apt-get install valgrind)" >&2
  exit 1
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
. bench/lib.sh
bench_triage_bin
bench_workdir instructions
real_bin=$(realpath "$TRIAGE_BIN")
cat > "$work/under-callgrind" <<SH
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/callgrind.%p "$real_bin" "\$@"
SH
chmod +x "$work/under-callgrind"
TRIAGE_BIN=$work/under-callgrind
. bench/overhead/setup.sh
url=http://127.0.0.1:$TRIAGE
for _ in $(seq 150); do curl -sf -o /dev/null "$url/healthz" && break; sleep 0.2; done
curl -sf -o /dev/null "$url/healthz" || {
  echo "triage did not start under callgrind:" >&2
  cat "$work/triage.out" >&2
  exit 1
}
pid=$(pgrep -f "callgrind.*$real_bin serve --config $work/triage.yaml" | head -1)
dumps() { find "$work" -maxdepth 1 -name "callgrind.$pid.*" -printf '%T@ %p\n' | sort -n; }

echo "target | requests | instructions per request | of them on the ledger's threads"
for target in $TARGETS; do
  path=/v1/chat/completions
  case $target in
    triage) script=post ;;
    triage-messages) script=amessages path=/v1/messages ;;
    triage-stream) script=stream ;;
    triage-messages-stream) script=messages path=/v1/messages ;;
    triage-anthropic-stream) script=astream ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
  wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 30s -s "$work/$script.lua" "$url$path" > /dev/null
  callgrind_control -z "$pid" > /dev/null
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s -s "$work/$script.lua" "$url$path")
  before=$(dumps | wc -l)
  callgrind_control -d "$pid" > /dev/null
  for _ in $(seq 100); do
    (($(dumps | wc -l) > before)) && break
    sleep 0.1
  done
  sleep 0.5  # the dump is written before callgrind_control returns; let the file close
  dump=$(dumps | tail -1 | cut -d' ' -f2)
  n=$(awk '/requests in/ {print $1}' <<< "$out")
  errors=$(grep -c 'Non-2xx\|Socket errors' <<< "$out" || true)
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
  # The ledger's threads start in SqliteLedger's constructor (writer, checkpointer).
  ledger=$(callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2> /dev/null |
    awk '/sqlite_ledger.cc:std::thread::_State_impl/ {gsub(",", "", $1); s += $1} END {print s + 0}')
  # The threads are found by their source file, which a build without debug information (the
  # default Release build-bench/) does not name: the share is then unknown, not 0.
  awk -v t="$target" -v n="$n" -v i="$total" -v l="$ledger" -v e="$errors" 'BEGIN {
    share = l > 0 ? sprintf("%d (%.0f%%)", l / n, 100 * l / i) \
                  : "n/a (no debug information: pass a RelWithDebInfo build as TRIAGE_BIN)"
    printf "%s | %d | %d | %s%s\n", t, n, i / n, share,
      (e > 0 ? " | ERRORS: see wrk" : "") (n < 1000 ? " | under 1,000 requests: machine busy?" : "") }'
done
echo "load average before: $load_before (does not matter here); after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: ${BIN_GIVEN:+TRIAGE_BIN=$BIN_GIVEN }DURATION=$DURATION CONNECTIONS=$CONNECTIONS bench/overhead/instructions.sh ($(date -u '+%Y-%m-%d %H:%M UTC'))"
