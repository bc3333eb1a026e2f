#!/usr/bin/env bash
# The real Open Policy Agent, built from its Go module, for `--policies` (docs/policies.md) and
# the tests that evaluate the example policies with it (test/policy/). Called by .ci/run before
# the tests; poolsync finds the binary in the cache, and the tests skip, saying why in one line,
# without it.
#
#   scripts/install-opa.sh          install the pinned OPA (cached: a second run takes a second)
#                                   and print the binary's path on stdout
#   scripts/install-opa.sh --dir    print the cache folder
#   POOLSYNC_OPA="$(scripts/install-opa.sh)" poolsync plan . --policies policies/
#
# `go install github.com/open-policy-agent/opa@VERSION` from the Go module proxy (GOPROXY,
# default proxy.golang.org): OPA's go.mod has no replace lines, so it builds as released. The
# module's hash is pinned below (as sum.golang.org has it) and checked before the build; its
# dependencies are verified by the go command against OPA's own go.sum. OPA's WebAssembly route
# (`opa build -t wasm`) needs this same binary, so a native build is the one route. Nothing is
# written inside the repository.
#
# Cache: ${XDG_CACHE_HOME:-~/.cache}/poolsync/opa-VERSION/bin/opa and a stamp of what it was built
# from (a changed pin or Go rebuilds). The first build compiles OPA (~10 minutes on two busy
# cores). Needs Go >= 1.26 (OPA v1.22 says so). Without Go, it says so and exits 0.
set -euo pipefail

OPA=v1.22.3
OPA_SUM="h1:d46phjoHHFSl8F2bC8nT8wFxuGEvZRvs8FhYWFqsJ2w="
MODULE=github.com/open-policy-agent/opa

dir="${XDG_CACHE_HOME:-$HOME/.cache}/poolsync/opa-$OPA"
say() { echo "install-opa: $*" >&2; }

if [ "${1:-}" = "--dir" ]; then
  echo "$dir"
  exit 0
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  say "no Go on this machine: --policies and the policy tests need OPA (install Go >= 1.26 from https://go.dev/dl and run scripts/install-opa.sh, or put OPA $OPA on PATH)"
  exit 0
fi

stamp="$(printf '%s\n%s\n%s\n' "$OPA" "$OPA_SUM" "$(go env GOVERSION)" | cksum | cut -d' ' -f1)"
if [ -x "$dir/bin/opa" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
  say "cached at $dir/bin/opa"
  echo "$dir/bin/opa"
  exit 0
fi

started=$SECONDS
say "building OPA $OPA in $dir (the first build downloads and compiles a few hundred packages: minutes)"
rm -rf "$dir"
mkdir -p "$dir/bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$dir/bin"
# The module the proxy serves must be the one pinned here, whatever the checksum database says.
got="$(cd "$dir" && go mod download -json "$MODULE@$OPA" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')"
if [ "$got" != "$OPA_SUM" ]; then
  say "$MODULE@$OPA has hash ${got:-(none: the download failed, output above)}, not the pinned $OPA_SUM: refusing to build it"
  exit 1
fi
(cd "$dir" && go install -trimpath -ldflags="-s -w" "$MODULE@$OPA") || {
  say "the build failed (output above)"
  exit 1
}
echo "$stamp" >"$dir/stamp"
say "built $dir/bin/opa in $((SECONDS - started)) s ($("$dir/bin/opa" version | head -1))"
echo "$dir/bin/opa"
