#!/usr/bin/env bash
# Writes the files an earlier poolsync build really writes, for test/compat/ (docs/versioning.md):
# the embedded state and its inventory, apply's last-applied record, a saved plan, the inventory
# and REST answers of `control-plane serve`, and a daemon's history, suspension, admin token and
# /status. Usage: scripts/compat-corpus.sh COMMIT  →  test/fixtures/compat/<COMMIT's short hash>/
# The commit is built in a temporary worktree (its own `npm ci` when its lock file differs from
# this clone's); nothing outside that worktree, a temporary folder and the output folder is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
commit=$(git rev-parse --verify "${1:?usage: scripts/compat-corpus.sh COMMIT}^{commit}")
short=$(git rev-parse --short=8 "$commit")
out="$here/test/fixtures/compat/$short"
work=$(mktemp -d "${TMPDIR:-/tmp}/poolsync-compat.XXXXXX")
tree="$work/tree"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  git -C "$here" worktree remove --force "$tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git worktree add --detach "$tree" "$commit" >/dev/null
if git diff --quiet "$commit" HEAD -- package-lock.json && [ -d node_modules ]; then
  ln -s "$here/node_modules" "$tree/node_modules"
else
  (cd "$tree" && npm ci --no-audit --no-fund >/dev/null)
fi
(cd "$tree" && npm run build >/dev/null)
cli() { node "$tree/dist/cli/main.js" "$@"; }
# A server in the background whose pid is its own (not a subshell's), so cleanup stops it.
serve_in() {
  local dir=$1 log=$2
  shift 2
  (cd "$dir" && exec node "$tree/dist/cli/main.js" "$@" >"$log" 2>&1) &
  pids+=($!)
}
# A free port on 127.0.0.1, chosen by the kernel.
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# Waits (bounded) until a URL answers 200.
answers() {
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "compat-corpus: $1 did not answer" >&2
  return 1
}

rm -rf "$out"
mkdir -p "$out"
cd "$work"
export XDG_STATE_HOME="$work/xdg-state" HOME="$work/home"
mkdir -p "$HOME"
git init -q repo
cp -r "$tree/examples/config-repo/." repo/
printf '.poolsync/\n' >repo/.gitignore
git -C repo add -A
git -C repo -c user.name=compat -c user.email=compat@example.com commit -qm "config repo"
# The manifests every file below was written from.
mkdir -p "$out/repo"
git -C repo archive HEAD | tar -x -C "$out/repo"

# 1. The embedded control plane: apply the example, then a saved plan of one more change.
(cd repo && cli apply . --auto-approve >/dev/null)
sed -i "s/^\(  run_concurrency: \)100$/\1150/" repo/queues/prod/critical.yaml
(cd repo && cli plan . --out "$out/plan.json" >/dev/null) || [ $? -eq 2 ]
git -C repo checkout -q -- queues
mkdir -p "$out/embedded"
cp repo/.poolsync/control-plane.json "$out/embedded/"
for f in repo/.poolsync/*; do
  case "$f" in *.lock | *.pid) ;; *) cp -r "$f" "$out/embedded/" ;; esac
done

# 2. The REST backend (`control-plane serve`): its inventory file and its answers.
rest_port=$(port)
serve_in "$work" "$work/serve.log" control-plane serve --state "$work/rest-state.json" \
  --listen "127.0.0.1:$rest_port"
answers "http://127.0.0.1:$rest_port/healthz"
(cd repo && cli apply . --auto-approve --control-plane "http://127.0.0.1:$rest_port" >/dev/null)
mkdir -p "$out/rest"
# A path an earlier build did not serve (404) is left out.
for path in capabilities pools clusters queues assignments inventory deleted/queues; do
  curl -fsS "http://127.0.0.1:$rest_port/v1/$path" >"$out/rest/${path//\//-}.json" ||
    rm "$out/rest/${path//\//-}.json"
done
for f in "$work"/rest-state.json*; do case "$f" in *.lock) ;; *) cp "$f" "$out/rest/" ;; esac; done
if [ -d "$XDG_STATE_HOME/poolsync" ]; then cp -r "$XDG_STATE_HOME/poolsync" "$out/rest/state-folder"; fi
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# 3. The quickstart daemon: a run, its /status, a suspension and the admin token it made.
daemon_port=$(port)
mkdir -p qs/examples
cp -r repo qs/examples/config-repo
serve_in qs "$work/daemon.log" daemon --quickstart --listen "127.0.0.1:$daemon_port"
answers "http://127.0.0.1:$daemon_port/status"
for _ in $(seq 1 600); do
  curl -fsS "http://127.0.0.1:$daemon_port/status" | grep -q '"outcome":"applied"' && break
  sleep 0.1
done
(cd qs && cli suspend --daemon "http://127.0.0.1:$daemon_port" --reason "compat corpus" --as compat >/dev/null) ||
  echo "compat-corpus: no suspension written (a build before \`suspend\`)" >&2
curl -fsS "http://127.0.0.1:$daemon_port/status" >"$out/daemon-status.json"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
mkdir -p "$out/quickstart"
for f in qs/.poolsync/*; do
  case "$f" in *.lock | *.pid) ;; *) cp -r "$f" "$out/quickstart/" ;; esac
done

# What wrote them, for the test's messages and for people.
{
  echo "commit: $commit"
  echo "written: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "poolsync: $(cli --version)"
  echo "node: $(node --version)"
} >"$out/WRITTEN-BY"
echo "$out"
