#!/usr/bin/env bash
# Runs every test file that needs a peer (Union's client, the real flyteadmin and flytectl, the
# real kube-apiserver, Chromium, OPA) with those peers hidden, as on a machine with only Node and Git:
# each must skip, saying why, and the rest of each file must pass (issue 62). .ci/run calls it
# after the suite has run with the peers installed. The files are found by import, not listed.
set -euo pipefail
cd "$(dirname "$0")/.."
none="$(mktemp -d)"
trap 'rm -rf "$none"' EXIT
POOLSYNC_UNION_VENV="$none/union-venv" \
  POOLSYNC_FLYTE_CACHE="$none/flyte" \
  POOLSYNC_KUBE_CACHE="$none/kube" \
  POOLSYNC_CHROMIUM="$none/chromium" \
  POOLSYNC_OPA="$none/opa" \
  npx vitest related --run \
  test/support/union-venv.ts test/flyteadmin/real/binaries.ts test/lease/real/kube.ts test/daemon/browser.ts \
  test/policy/opa.ts
