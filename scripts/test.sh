#!/usr/bin/env bash
# Builds triage and runs every test: the C++ unit tests (ctest), the integration tests that drive
# the real binary with the official OpenAI and Anthropic SDKs and curl (node's test runner), and
# a short run of every fuzz target when clang's libFuzzer is available.
# Works on a bare Debian 12 machine (installs what is missing; needs root or sudo for that).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"

echo "== unit tests (ctest)"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== integration tests (node --test, official SDKs against build/triage)"
(cd tests/integration && npm ci --no-audit --no-fund --loglevel=error &&
  TRIAGE_BIN="$PWD/../../build/triage" node --test ./*.test.mjs)

if [[ -x fuzz/run.sh ]]; then
  echo "== fuzz targets (${FUZZ_SECONDS:-20} s each)"
  fuzz/run.sh "${FUZZ_SECONDS:-20}"
fi
