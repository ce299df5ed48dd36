#!/usr/bin/env bash
# One-connection latency after sustained load, the way bench/overhead/run.sh meets it (its 1-connection
# rows come after 64-connection ones): triage with a file ledger and the nginx fake of setup.sh,
# LOAD_SECONDS (default 8) of wrk at 64 connections on each of the post, stream and messages
# scripts, then ROUNDS (default 2) of DURATION (default 8) seconds at one connection on the
# non-streaming request. For each one-connection round it prints:
#   - p50 / p99 as wrk reports them: wrk corrects for coordinated omission (after the run it adds,
#     for each response slower than twice the mean interval, samples at that response's latency
#     minus 1, 2, 3, ... mean intervals), so a few stalls of 10 ms at ~2,000 req/s become ~1% of
#     its samples: what requests arriving at that rate (an open-loop client) would have waited;
#   - the raw p50 / p99 / p99.9 / max of the responses themselves (a Lua clock per request);
#   - responses slower than 2 ms and 5 ms;
#   - the ledger's WAL checkpoints and restarts during the round (/metrics), and the WAL's size.
#   bench/overhead/tail.sh
#   TRIAGE_BIN=/path/to/other/triage bench/overhead/tail.sh   # another build (A/B pairs)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-8}
LOAD_SECONDS=${LOAD_SECONDS:-8}
ROUNDS=${ROUNDS:-2}
scripts/deps.sh --bench
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
. bench/lib.sh
bench_triage_bin
bench_workdir tail
. bench/overhead/setup.sh
url=http://127.0.0.1:$TRIAGE

# The post script's request, with a monotonic clock around each one; the single wrk thread
# writes each latency (µs) to a file (wrk's done() cannot read a thread's variables).
body=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/post.lua")
cat > "$work/tail.lua" <<LUA
local out = "$work/lat.txt"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
LUA
cat >> "$work/tail.lua" <<'LUA'
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } triage_ts;
int clock_gettime(int clk, triage_ts *tp);
]]
local ts = ffi.new("triage_ts")
local function now_us() ffi.C.clock_gettime(1, ts); return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3 end
local t0, f = 0, nil
request = function() t0 = now_us(); return wrk.format() end
response = function()
  local us = math.floor(now_us() - t0 + 0.5)
  f = f or io.open(out, "w")
  f:write(us, "\n")
end
done = function(summary, latency, requests)
  io.write(string.format("WRK p50=%d p99=%d requests=%d errors=%d\n", latency:percentile(50),
    latency:percentile(99), summary.requests, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

for s in post stream messages; do
  p=/v1/chat/completions; [[ $s == messages ]] && p=/v1/messages
  wrk -t2 -c64 -d"${LOAD_SECONDS}s" -s "$work/$s.lua" "$url$p" > /dev/null
done
echo "after ${LOAD_SECONDS}s at 64 connections on each of post, stream, messages:"
for r in $(seq "$ROUNDS"); do
  c0=$(bench_metric "$url" triage_ledger_checkpoints_total); w0=$(bench_metric "$url" triage_ledger_wal_restarts_total)
  rm -f "$work/lat.txt"
  res=$(wrk -t1 -c1 -d"${DURATION}s" -s "$work/tail.lua" "$url/v1/chat/completions" | grep '^WRK')
  c1=$(bench_metric "$url" triage_ledger_checkpoints_total); w1=$(bench_metric "$url" triage_ledger_wal_restarts_total)
  raw=$(sort -n "$work/lat.txt" | awk '{v[NR] = $1} $1 > 2000 {s2++} $1 > 5000 {s5++}
    function p(q) { i = int(q * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; return v[i] }
    END {printf "raw p50=%d p99=%d p99.9=%d max=%d us, %d responses, >2ms %d, >5ms %d", p(0.5), p(0.99), p(0.999), v[NR], NR, s2, s5}')
  # Builds before 2026-12-07 have neither counter.
  ledger="checkpoints n/a, WAL restarts n/a"
  [[ -n $c0 && -n $w0 ]] && ledger="checkpoints $((c1 - c0)), WAL restarts $((w1 - w0))"
  printf 'round %d: wrk (CO-corrected) %s us | %s | %s, WAL %d bytes\n' \
    "$r" "$(sed 's/^WRK //' <<< "$res")" "$raw" "$ledger" "$(stat -c %s "$work/ledger.db-wal")"
done
echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: ${BIN_GIVEN:+TRIAGE_BIN=$BIN_GIVEN }DURATION=$DURATION LOAD_SECONDS=$LOAD_SECONDS ROUNDS=$ROUNDS bench/overhead/tail.sh ($(date -u '+%Y-%m-%d %H:%M UTC'))"
