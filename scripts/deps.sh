#!/usr/bin/env bash
# Installs the Debian packages triage needs to build, test and benchmark, if any is missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config libboost1.81-dev nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev
      libsqlite3-dev sqlite3 libssl-dev libmimalloc-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
      clang libclang-rt-14-dev nodejs npm curl ca-certificates openssl librsvg2-2)
if [[ "${1:-}" == "--bench" ]]; then pkgs+=(wrk nginx-light jq python3 valgrind); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian (e.g. a preinstalled node); accept them if on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
