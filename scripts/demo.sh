#!/usr/bin/env bash
# Builds triage (Release) and runs `triage demo`: the gateway with three simulated tiers.
# Extra arguments go to `triage demo` (e.g. --listen 127.0.0.1:9090).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target triage -j"$(nproc)"
exec build/triage demo "$@"
