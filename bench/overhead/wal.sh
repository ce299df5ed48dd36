#!/usr/bin/env bash
# What the ledger writes per request under load: triage with a file ledger and the nginx fake of
# setup.sh, ROUNDS (default 3) of DURATION (default 10) seconds of wrk at 64 connections on the
# plain request, on one ledger that grows. After each round: req/s, the ledger's rows, its WAL
# checkpoints and restarts so far (/metrics), WAL pages written per row (each checkpoint follows
# 1,000 pages added to the WAL, so checkpoints x 1,000 / rows, to within one checkpoint), the
# database file's size and triage's CPU time per request so far (utime + stime, all threads).
#   bench/overhead/wal.sh
#   TRIAGE_BIN=/path/to/other/triage bench/overhead/wal.sh   # another build (A/B pairs; builds
#                                                            # before 2026-12-07 lack the counters)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
scripts/deps.sh --bench
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
. bench/lib.sh
bench_triage_bin
bench_workdir wal
. bench/overhead/setup.sh
url=http://127.0.0.1:$TRIAGE
ticks=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  rps=$(wrk -t2 -c64 -d"${DURATION}s" -s "$work/post.lua" "$url/v1/chat/completions" |
    sed -n 's/^RESULT .* rps=\([0-9.]*\) .*/\1/p')
  rows=$(sqlite3 "$work/ledger.db" 'select count(*) from requests')
  ck=$(bench_metric "$url" triage_ledger_checkpoints_total); rs=$(bench_metric "$url" triage_ledger_wal_restarts_total)
  cpu=$(awk -v t="$ticks" -v n="$rows" '{printf "%.0f", ($14 + $15) / t * 1e6 / n}' "/proc/$TPID/stat")
  awk -v r="$r" -v rps="$rps" -v rows="$rows" -v ck="$ck" -v rs="$rs" -v db="$(stat -c %s "$work/ledger.db")" -v cpu="$cpu" \
    'BEGIN {printf "round %d: %s req/s, %d rows, checkpoints %s, restarts %s, WAL pages per row %s, database %.1f MB, CPU %d µs per request\n",
      r, rps, rows, ck, rs, (ck == "" ? "n/a" : sprintf("%.2f", ck * 1000 / rows)), db / 1e6, cpu}'
done
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: ${BIN_GIVEN:+TRIAGE_BIN=$BIN_GIVEN }DURATION=$DURATION ROUNDS=$ROUNDS bench/overhead/wal.sh ($(date -u '+%Y-%m-%d %H:%M UTC'))"
