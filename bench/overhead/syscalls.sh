#!/usr/bin/env bash
# What one request costs triage in system calls and CPU time, as counts that do not depend on
# the load of the machine: the non-streaming OpenAI request of run.sh (one tier, the nginx fake of
# setup.sh), wrk at CONNS connections (default "1 64") for DURATION seconds (default 5) each:
#   - system calls per request: `strace -f -c -p` on triage over one wrk run, each call's count
#     divided by the ledger rows the run added (every request, the ones in flight as wrk stopped
#     included: the rows are counted once they are answered)
#   - CPU per request: utime + stime of every triage thread from /proc/PID/task/*/stat over a
#     second wrk run without strace (which slows the process), divided the same way; threads in
#     the order they were created (task 1 = main), those above 0.5 µs per request
#   bench/overhead/syscalls.sh
#   TRIAGE_BIN=/path/to/other/triage bench/overhead/syscalls.sh   # another build (A/B pairs)
#   SCRIPT=stream bench/overhead/syscalls.sh   # another wrk script of setup.sh (stream, messages,
#                                              # amessages, astream)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5}
CONNS=${CONNS:-1 64}
SCRIPT=${SCRIPT:-post}
scripts/deps.sh --bench
command -v strace >/dev/null || { echo "syscalls.sh needs strace" >&2; exit 1; }
. bench/lib.sh
bench_triage_bin
bench_workdir syscalls
. bench/overhead/setup.sh

path=/v1/chat/completions
[[ $SCRIPT == messages || $SCRIPT == amessages ]] && path=/v1/messages
url=http://127.0.0.1:$TRIAGE$path
rows() { sqlite3 "$work/ledger.db" "select count(*) from requests"; }
run_wrk() { wrk -t"$(($1 > 1 ? 2 : 1))" -c"$1" -d"${2}s" -s "$work/$SCRIPT.lua" "$url" >/dev/null; }
ticks() {  # "tid utime+stime" per thread, in clock ticks
  for t in /proc/$TPID/task/*; do
    awk -v tid="${t##*/}" '{sub(/^.*\) /, ""); print tid, $12 + $13}' "$t/stat" 2>/dev/null || true
  done | sort -n
}
hz=$(getconf CLK_TCK)
echo "## triage system calls and CPU per request ($SCRIPT, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"
for c in $CONNS; do
  run_wrk "$c" 1  # warm-up: pooled upstream connections, allocator, page cache
  sleep 0.3
  # CPU, without a tracer.
  before=$(rows); t0=$(ticks)
  run_wrk "$c" "$DURATION"
  sleep 0.3
  n=$(($(rows) - before)); t1=$(ticks)
  echo
  echo "### $c connection(s): CPU per request over $n requests"
  join <(echo "$t0") <(echo "$t1") | awk -v n="$n" -v hz="$hz" '
    { us = ($3 - $2) * 1e6 / hz / n; total += us; i++
      if (us >= 0.5) printf "task %d (tid %s): %.1f µs\n", i, $1, us }
    END { printf "all threads: %.1f µs\n", total }'
  # System calls, traced.
  before=$(rows)
  strace -f -c -p "$TPID" -o "$work/strace.out" 2>/dev/null &
  spid=$!
  sleep 0.5  # attached to every thread
  run_wrk "$c" "$DURATION"
  sleep 0.3
  kill -INT "$spid"; wait "$spid" || true
  n=$(($(rows) - before))
  echo
  echo "### $c connection(s): system calls per request over $n requests (strace -f -c)"
  awk -v n="$n" '
    $1 ~ /^[0-9.]+$/ && $NF != "total" { calls = $4; name = $NF; sum += calls
      printf "%s %.2f\n", name, calls / n }
    END { printf "all %.2f\n", sum / n }' "$work/strace.out" | sort -k2 -nr | awk '{printf "%s %s\n", $1, $2}'
done
echo
echo "command: DURATION=$DURATION CONNS='$CONNS' SCRIPT=$SCRIPT${BIN_GIVEN:+ TRIAGE_BIN=$BIN_GIVEN} bench/overhead/syscalls.sh"
