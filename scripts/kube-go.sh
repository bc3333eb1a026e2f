#!/usr/bin/env bash
# The real kube-apiserver and etcd, built from their Go modules for the tests of poolsync's
# Lease, leader election and inventory ConfigMap (test/lease/real/, docs/security.md "The
# Kubernetes API"). Called by .ci/run before the tests; the tests find the binaries in the cache
# and skip, saying why in one line, without them.
#
#   scripts/kube-go.sh            build both (cached: a second run takes a second)
#   scripts/kube-go.sh --dir      print the cache folder
#
# k8s.io/kubernetes replaces its staging modules (k8s.io/api, client-go, apiserver …) with
# `./staging/src/…` folders, so `go install k8s.io/kubernetes/cmd/kube-apiserver@VERSION` cannot
# build it: a small wrapper module generated in the cache requires the released staging modules
# at the matching v0 version, and builds Kubernetes' own main package. etcd's binary is its
# etcdmain package behind the one-line main of etcd's own main.go. The main modules' hashes are
# pinned below (go.sum lines, as sum.golang.org has them); everything else is verified by the go
# command against the checksum database. Nothing is written inside the repository.
#
# Cache: $POOLSYNC_KUBE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/poolsync/kube; one folder per
# target holding bin/ and a stamp of what it was built from (a changed pin rebuilds). The first
# build compiles kube-apiserver (~20 minutes on two busy cores); Go's build cache keeps the rest.
# Needs Go >= 1.26 (Kubernetes 1.37 says so). Without Go, it says so and exits 0.
set -euo pipefail

cache="${POOLSYNC_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/poolsync/kube}"
KUBE=v1.37.2
KUBE_SUM="k8s.io/kubernetes $KUBE h1:A2VDEiObzkYqFTKhSsn0ZEb0RlLEXpHWj93gi2HqEwE=
k8s.io/kubernetes $KUBE/go.mod h1:zAK7e3i5feyBL/bhucQnA5VRKuyrS8F+ijHJkZzQaWw="
# The etcd of Kubernetes 1.37 (its go.mod requires the etcd v3.7 client).
ETCD=v3.7.3
ETCD_SUM="go.etcd.io/etcd/server/v3 $ETCD h1:KcTZ/aEZrOiQe0/kdr7iYYcvyfbEoOwDOacHkz8xwZc=
go.etcd.io/etcd/server/v3 $ETCD/go.mod h1:NElta3Kom1fQux/MhT9Vw5YRQMSaXk6d0MHkvLMpzO8="

say() { echo "kube-go: $*"; }

if [ "${1:-}" = "--dir" ]; then
  echo "$cache"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  say "no Go on this machine: the Lease and inventory tests against the real kube-apiserver will be skipped (install Go >= 1.26 from https://go.dev/dl and run scripts/kube-go.sh)"
  exit 0
fi

# A wrapper module in $cache/TARGET, written by PREPARE, whose PACKAGE is built into bin/BINARY.
build() { # TARGET BINARY PACKAGE PINS PREPARE [LDFLAGS]
  local target="$1" binary="$2" package="$3" pins="$4" prepare="$5" ldflags="-s -w ${6:-}"
  local dir="$cache/$target"
  local stamp
  stamp="$(printf '%s\n%s\n%s\n%s\n' "$pins" "$ldflags" "$(go env GOVERSION)" "$(declare -f "$prepare")" | cksum | cut -d' ' -f1)"
  if [ -x "$dir/bin/$binary" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
    say "$target: cached at $dir/bin/$binary"
    return 0
  fi
  local started=$SECONDS
  say "$target: building in $dir (the first build downloads and compiles hundreds of modules: many minutes)"
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  (
    cd "$dir"
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
    printf '%s\n' "$pins" >go.sum
    "$prepare"
    go mod tidy
    go build -trimpath -ldflags="$ldflags" -o "bin/$binary" "$package"
  ) || {
    say "$target: the build failed (output above)"
    return 1
  }
  echo "$stamp" >"$dir/stamp"
  say "$target: built $dir/bin/$binary in $((SECONDS - started)) s"
}

prepare_kube_apiserver() {
  printf 'module poolsync.local/kube-apiserver\n\ngo 1.26\n' >go.mod
  go mod edit -require="k8s.io/kubernetes@$KUBE"
  # Each staging module k8s.io/kubernetes replaces with a folder: its release of the same minor.
  local staging
  staging="$(go mod download -json "k8s.io/kubernetes@$KUBE" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$staging" | while read -r m; do
    go mod edit -replace="$m=$m@v0.${KUBE#v1.}"
  done
  # Kubernetes' own main package, imported for `go mod tidy` only.
  mkdir tools
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools/tools.go
}

prepare_etcd() {
  printf 'module poolsync.local/etcd\n\ngo 1.26\n' >go.mod
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD"
  mkdir cmd
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >cmd/main.go
}

status=0
build "etcd-$ETCD" etcd ./cmd "$ETCD_SUM" prepare_etcd || status=1
# The version it reports (/version), as Kubernetes' own build stamps it.
version="-X k8s.io/component-base/version.gitVersion=$KUBE -X k8s.io/component-base/version.gitMajor=1"
version+=" -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
build "kube-apiserver-$KUBE" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_SUM" prepare_kube_apiserver "$version" || status=1
exit $status
