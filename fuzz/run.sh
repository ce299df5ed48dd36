#!/usr/bin/env bash
# Builds the libFuzzer targets of the wire-format parsers and translators, and of the router
# model file parser and routing features, and of the cascade's tool-schema check, with clang
# (address and undefined-behaviour sanitizers, leak detection on) and runs each for SECONDS.
# Exits non-zero on any crash, leak or sanitizer report.   fuzz/run.sh 20
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
out=build-fuzz
mkdir -p "$out"
srcs=(src/dialect/*.cc src/common/*.cc src/routing/linear_model.cc src/routing/features.cc
      src/routing/arith_check.cc src/server/cors.cc src/server/request_head.cc
      src/pipeline/tool_schema.cc)
# Assertions stay on (no NDEBUG); Boost's go through src/common/boost_assert.cc, which aborts on all
# but one assert that Boost.Beast 1.81 gets wrong (see there).
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -DBOOST_ENABLE_ASSERT_DEBUG_HANDLER -I src)
# Objects built with other flags (an older run.sh) are built again.
if [[ "$(cat "$out/flags" 2>/dev/null)" != "${flags[*]}" ]]; then
  rm -f "$out"/*.o
  echo "${flags[*]}" > "$out/flags"
fi
# The dialect sources once, as a library object set, then one link per target.
objs=()
for s in "${srcs[@]}"; do
  o="$out/$(basename "${s%.cc}").o"
  # Rebuilt when the source or any header of the two rooms changed since.
  if [[ ! -f $o || $s -nt $o || -n $(find src/dialect src/common src/routing src/server/cors.h src/server/request_head.h src/pipeline/tool_schema.h -name '*.h' -newer "$o" | head -1) ]]; then
    clang++ "${flags[@]/-fsanitize=fuzzer,address,undefined/-fsanitize=fuzzer-no-link,address,undefined}" -c "$s" -o "$o"
  fi
  objs+=("$o")
done
status=0
for target in fuzz/fuzz_*.cc; do
  name=$(basename "${target%.cc}")
  clang++ "${flags[@]}" -I fuzz "$target" "${objs[@]}" -lsimdjson -o "$out/$name"
  corpus="$out/corpus-$name"
  mkdir -p "$corpus"
  # Seeds: the hand-written ones plus the translation fixtures (request/response bodies are
  # extracted from their case files; SSE transcripts are used as they are).
  cp fuzz/seeds/* tests/fixtures/dialect/streams/*.sse "$corpus/" 2>/dev/null || true
  for f in tests/fixtures/dialect/requests/*.json tests/fixtures/dialect/responses/*.json; do
    [[ -f $f ]] || continue
    # node, not python3: node is installed for the integration tests, python3 only with --bench.
    node -e 'const fs = require("fs");
      console.log(JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1], "utf8")).input))' "$f" \
      > "$corpus/seed-$(basename "$f")" 2>/dev/null || true
  done
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
