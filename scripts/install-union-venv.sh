#!/usr/bin/env bash
# Union's own client (the `flyte` CLI from PyPI `flyte`, and `flyteplugins-union`, which
# vendors the generated definitions of Union's services) in a virtual environment outside the
# repository, for the tests that check poolsync's .proto files and its Union stand-in against
# what Union ships (docs/union.md, "Where the definitions come from"). Called by .ci/run before
# the tests; the tests find the venv and skip, saying why, without it.
#
#   scripts/install-union-venv.sh          install (cached: about a second when up to date)
#   scripts/install-union-venv.sh --dir    print the venv folder
#
# Venv: $POOLSYNC_UNION_VENV, else ${XDG_CACHE_HOME:-~/.cache}/poolsync/union-venv. The pins are
# scripts/union-venv-constraints.txt; a stamp of that file decides whether to reinstall.
# Without python3 (>= 3.10, with its venv module) it says so and exits 0: the tests then skip.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pins="$here/union-venv-constraints.txt"
venv="${POOLSYNC_UNION_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/poolsync/union-venv}"

if [[ "${1:-}" == "--dir" ]]; then
  echo "$venv"
  exit 0
fi

py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "install-union-venv: no $py on PATH; the tests against Union's own client will skip" >&2
  exit 0
fi
if ! "$py" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "install-union-venv: $py is older than 3.10 or lacks venv; the tests against Union's own client will skip" >&2
  exit 0
fi

stamp="$venv/.poolsync-stamp"
want="$(sha256sum "$pins" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/flyte" ]]; then
  echo "install-union-venv: up to date in $venv"
  exit 0
fi

start=$SECONDS
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Only the pinned names are asked for; their dependencies resolve as pip does for a user.
"$venv/bin/python" -m pip install --quiet -c "$pins" flyte flyteplugins-union
"$venv/bin/python" -c 'import flyteplugins.union, flyte; print("flyte", flyte.__version__)'
echo "$want" >"$stamp"
echo "install-union-venv: installed in $venv ($((SECONDS - start)) s)"
