#!/usr/bin/env bash
# Builds the libFuzzer targets of the wire-format parsers and translators with clang
# (address and undefined-behaviour sanitizers, leak detection on) and runs each for SECONDS.
# Exits non-zero on any crash, leak or sanitizer report.   fuzz/run.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build-fuzz
mkdir -p "$out"
srcs=(src/dialect/*.cc src/common/*.cc)
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -I src)
# The dialect sources once, as a library object set, then one link per target.
objs=()
for s in "${srcs[@]}"; do
  o="$out/$(basename "${s%.cc}").o"
  if [[ ! -f $o || $s -nt $o ]]; then
    clang++ "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" -c "$s" -o "$o"
  fi
  objs+=("$o")
done
status=0
for target in fuzz/fuzz_*.cc; do
  name=$(basename "${target%.cc}")
  clang++ "${flags[@]}" "$target" "${objs[@]}" -o "$out/$name"
  corpus="$out/corpus-$name"
  mkdir -p "$corpus"
  cp fuzz/seeds/* "$corpus/" 2>/dev/null || true
  echo "== $name (${seconds}s)"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$out/$name" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
      -artifact_prefix="$out/$name-" -print_final_stats=1 "$corpus" > "$out/$name.log" 2>&1; then
    echo "FAILED: $name (see $out/$name.log)"
    tail -40 "$out/$name.log"
    status=1
  else
    grep -E '^stat::number_of_executed_units' "$out/$name.log" | sed "s/^/  /"
  fi
done
exit $status
