# Shared by the shell harnesses (source it from the repository root): the triage binary to
# measure and a work directory whose processes are stopped, and which is removed, on exit.
#   bench_triage_bin       TRIAGE_BIN as given (BIN_GIVEN, for the printed command), else a
#                          Release build in build-bench/ (TRIAGE_BIN=build-bench/triage)
#   bench_workdir NAME     work=/tmp/triage-NAME.XXXXXX; pids+=(PID) are killed on exit
#   bench_metric URL NAME  an unlabelled metric of URL/metrics (empty when absent)
bench_triage_bin() {
  TRIAGE_BIN=${TRIAGE_BIN:-}
  BIN_GIVEN=$TRIAGE_BIN
  if [[ -z $TRIAGE_BIN ]]; then
    cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIAGE_BENCH=OFF >/dev/null
    cmake --build build-bench --target triage >/dev/null
    TRIAGE_BIN=build-bench/triage
  fi
}

bench_workdir() {
  work=$(mktemp -d "/tmp/triage-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT INT TERM
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# bench_metric URL NAME: the value of an unlabelled metric on URL/metrics (empty when absent).
bench_metric() { curl -s "$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }
