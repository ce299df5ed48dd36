#!/usr/bin/env bash
# Runs a command with Debian 12's own node (18.x) and npm (9.x) first on PATH, without installing
# them: for checking that the integration tests work where scripts/deps.sh installs Debian's
# nodejs and npm, on a machine whose node is newer. Usage, from the repository root:
#   scripts/with-debian-node.sh sh -c 'cd tests/integration && TRIAGE_BIN=$PWD/../../build/triage node --test ./*.test.mjs'
# Downloads (apt-get download, so a Debian 12 apt source is needed) and extracts nodejs, libnode
# and npm with the node-* packages they depend on into $DEBIAN_NODE_DIR (default
# /tmp/triage-debian-node), once. Debian's node loads parts of itself (undici, acorn,
# cjs-module-lexer) from /usr/share/nodejs, so the command runs in a private mount namespace
# where /usr/share also shows the extracted packages (an overlay); needs root for that.
set -euo pipefail
dir=${DEBIAN_NODE_DIR:-/tmp/triage-debian-node}
root=$dir/root
if [[ ! -x $root/usr/bin/node || ! -f $root/usr/share/nodejs/npm/bin/npm-cli.js ]]; then
  mkdir -p "$dir/debs" "$root"
  # The closure of npm (which depends on nodejs), minus what is not a node package (the C
  # libraries come from the host; `ldd` on libnode tells if one is missing).
  mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
      --no-breaks --no-replaces --no-enhances --no-pre-depends npm |
    grep -E '^(node-|libjs-|nodejs$|libnode[0-9]+$|npm$|gyp$|handlebars$|terser$|eslint$|webpack$)' | sort -u)
  # The Debian version by name: a nodejs from another repository (nodesource) may be the candidate.
  debver() { apt-cache madison "$1" | awk -F' [|] ' '$3 ~ /debian/ {print $2; exit}'; }
  nodever=$(debver nodejs)
  for i in "${!pkgs[@]}"; do
    [[ ${pkgs[$i]} == nodejs || ${pkgs[$i]} == libnode* ]] && pkgs[i]="${pkgs[$i]}=$nodever"
  done
  (cd "$dir/debs" && apt-get download "${pkgs[@]}" >/dev/null 2>&1)
  for f in "$dir"/debs/*.deb; do dpkg -x "$f" "$root"; done
fi
mkdir -p "$dir/bin"
libs=$root/usr/lib/x86_64-linux-gnu
printf '#!/bin/sh\nexport LD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\nexec %s "$@"\n' \
  "$libs" "$root/usr/bin/node" > "$dir/bin/node"
printf '#!/bin/sh\nexport LD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\nexec %s %s "$@"\n' \
  "$libs" "$root/usr/bin/node" /usr/share/nodejs/npm/bin/npm-cli.js > "$dir/bin/npm"
chmod +x "$dir/bin/node" "$dir/bin/npm"
exec unshare -m sh -c 'mount -t overlay overlay -o "lowerdir=$1/usr/share:/usr/share" /usr/share &&
  PATH="$2:$PATH" && shift 2 && exec "$@"' sh "$root" "$dir/bin" "$@"
