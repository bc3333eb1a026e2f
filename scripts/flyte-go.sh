#!/usr/bin/env bash
# The real flyteadmin and flytectl, built from their Go modules for the tests that run against
# them (test/flyteadmin/real/, docs/flyte-oss.md "Tested against"). Called by .ci/run before
# the tests; the tests find the binaries in the cache and skip, saying why, without them.
#
#   scripts/flyte-go.sh                  build every pinned target (cached: seconds when built)
#   scripts/flyte-go.sh TARGET...        flyteadmin-v1.13.0 | flyteadmin-v1.12.0 | flytectl-v0.9.8
#   scripts/flyte-go.sh --dir            print the cache folder
#
# Every module comes from the Go module proxy (GOPROXY, default proxy.golang.org) at a pinned
# version with a pinned SHA-256 of its zip. flyteadmin's go.mod replaces its sibling modules
# (flyteidl, flytestdlib, flyteplugins, flytepropeller) with `../NAME` folders of the
# monorepo, so it cannot be built with `go install MODULE@VERSION`: each target is built from a
# small wrapper module generated in the cache folder, which requires the released siblings
# (their zips, unpacked there) and keeps flyteadmin's other replace lines (k8s pins, the cron
# fork). Nothing is written inside the repository.
#
# Cache: $POOLSYNC_FLYTE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/poolsync/flyte; one folder per
# target holding bin/ and a stamp of what it was built from (a changed pin or probe rebuilds).
# Needs Go >= 1.26 (flytestdlib v1.16.8 says so), a C compiler (flyteadmin's SQLite driver is
# cgo), curl, and unzip or python3, and PostgreSQL to run it (installed with apt-get when
# missing, as root). Without Go, it says so and exits 0: the tests then skip.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
probe_src="$here/../test/flyteadmin/real/probe/main.go"
cache="${POOLSYNC_FLYTE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/poolsync/flyte}"

# TARGET -> "MAIN_MODULE MAIN_PACKAGE BINARY" and its modules: "MODULE VERSION SHA256" lines.
# Why these versions (docs/flyte-oss.md, "Tested against"): the proxy serves the zips of
# flyteadmin v1.12.0 and v1.13.0 only (later releases answer 403 "not available" here);
# flytestdlib v1.12.x/v1.13.x are not served either, and v1.11.0 lacks
# otelutils.RegisterTracerProviderWithContext, which flyteadmin v1.13.0 calls, so v1.13.0 is
# built with flytestdlib v1.16.8 (v1.12.0 builds with its own-era v1.11.0). flytectl v0.9.8 is
# the newest flytectl the proxy serves, with the v1.16.8 siblings of its release.
declare -A MAIN MODULES IMPORTS PINS
MAIN[flyteadmin-v1.13.0]="flyteadmin github.com/flyteorg/flyte/flyteadmin/cmd flyteadmin"
# flytestdlib v1.16.8 raises google/gnostic-models to v0.7.0, which the kube-openapi that
# flyteadmin pins (replace) cannot use: keep flyteadmin's own v0.6.8.
PINS[flyteadmin-v1.13.0]="github.com/google/gnostic-models=github.com/google/gnostic-models@v0.6.8"
MODULES[flyteadmin-v1.13.0]="
flyteadmin v1.13.0 8186194fd1440352129db572f5782f90f2c828d99e2f378ba84197b7cf479e3b
flyteidl v1.13.0 f5afeffbde0ea16a4aa1d9a87c91fd8d93f2b453282f39122bb81305a3fbc72e
flyteplugins v1.13.0 3a54c9f7848eae04c2365592280a48d23f46f724ed65b9218b57276764770f11
flytepropeller v1.13.0 81c6bc2b9814428ebd63fe8ee7b809260d814fdd18b18e8708cad02cab9e26f5
flytestdlib v1.16.8 18f98b3ecd121f9985295ff31fd5c59eec6c9b4dd6a500641dfc5458d973def2
"
MAIN[flyteadmin-v1.12.0]="flyteadmin github.com/flyteorg/flyte/flyteadmin/cmd flyteadmin"
MODULES[flyteadmin-v1.12.0]="
flyteadmin v1.12.0 fffb55048e2c3f68780d32e5cda89e01dd8c938a258d615c4620b36c01997018
flyteidl v1.12.0 e1f8bb4263850d796920b6fb06a8e993a804de158a80b279a955108aff9ce107
flyteplugins v1.12.0 c2b159cabb6a134c9c88a4e6682b651195bd397ba90a1c798aa09a92052a1793
flytepropeller v1.12.0 849cd6f7104158cda175ebc5618a00a886864c2e7c1d5f3565998dc31d541e13
flytestdlib v1.11.0 9d4818cb6ab4f5e106f49aaeaf584a4761f2c936706b1f89a5ab73c19cccd358
"
MAIN[flytectl-v0.9.8]="flytectl github.com/flyteorg/flyte/flytectl flytectl"
IMPORTS[flytectl-v0.9.8]="github.com/flyteorg/flyte/flytectl/cmd"
MODULES[flytectl-v0.9.8]="
flytectl v0.9.8 b3a635798d0b687f7e7cda861712ac2d0db8bd0fb8e0a113baf08e105aff64d5
flyteidl v1.16.8 8490ccd52cc2e183e795452322b569f1779d9828b4450032d7e0f1d237893370
flyteplugins v1.16.8 b6557b5181be5dcfe2a5f33bf58985e44254e299ad6719471d58e8b6438e245d
flytepropeller v1.16.8 e3867d323e1af9923062d48d0d259bd9f8988017101e854a44a7174bdcfd4727
flytestdlib v1.16.8 18f98b3ecd121f9985295ff31fd5c59eec6c9b4dd6a500641dfc5458d973def2
"
ALL=(flyteadmin-v1.13.0 flyteadmin-v1.12.0 flytectl-v0.9.8)
FLYTEADMIN_IMPORTS="github.com/flyteorg/flyte/flyteadmin/cmd/entrypoints github.com/flyteorg/flyte/flyteadmin/plugins"
FLYTE=github.com/flyteorg/flyte

say() { echo "flyte-go: $*"; }

if [ "${1:-}" = "--dir" ]; then
  echo "$cache"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  say "no Go on this machine: the tests against the real flyteadmin and flytectl will be skipped (install Go >= 1.26 from https://go.dev/dl and run scripts/flyte-go.sh)"
  exit 0
fi

proxy="$(go env GOPROXY | tr ',|' '\n\n' | grep -E '^https?://' | head -1)"
proxy="${proxy:-https://proxy.golang.org}"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

unpack() { # ZIP DEST
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$1" -d "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$1" "$2"
  else
    say "neither unzip nor python3 to unpack $1: install one of them"
    return 1
  fi
}

# The replace lines of a go.mod that do not point at a sibling folder (`../NAME`), as
# `go mod edit -replace` arguments.
kept_replaces() {
  awk '
    /^replace[ \t]*\($/ { block = 1; next }
    block && /^\)/ { block = 0; next }
    block { print; next }
    /^replace[ \t]/ { sub(/^replace[ \t]+/, ""); print }
  ' "$1" | sed -E 's#//.*$##' | awk 'NF >= 3 && $3 !~ /^\.\.?\// {
      old = $1; i = 2; if ($2 != "=>") { old = old "@" $2; i = 3 }
      new = $(i + 1); if (NF > i + 1) new = new "@" $(i + 2)
      print old "=" new
    }'
}

build() { # TARGET
  local target="$1"
  if [ -z "${MAIN[$target]:-}" ]; then
    say "unknown target '$target' (known: ${ALL[*]})"
    return 1
  fi
  read -r main_name main_pkg binary <<<"${MAIN[$target]}"
  local dir="$cache/$target"
  local stamp
  stamp="$(printf '%s\n%s\n' "${MODULES[$target]}" "$(go env GOVERSION)" | cat - "$probe_src" 2>/dev/null | cksum | cut -d' ' -f1)"
  if [ -x "$dir/bin/$binary" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
    say "$target: cached at $dir/bin/$binary"
    return 0
  fi
  local started=$SECONDS
  say "$target: building in $dir (the first build downloads and compiles a few hundred modules: minutes)"
  rm -rf "$dir/src" "$dir/bin" "$dir/stamp"
  mkdir -p "$dir/zips" "$dir/src" "$dir/bin"
  local main_version="" replaces=() requires=() sums=()
  while read -r name version sum; do
    [ -n "$name" ] || continue
    local zip="$dir/zips/$name-$version.zip"
    if [ ! -f "$zip" ] || [ "$(sha256 "$zip")" != "$sum" ]; then
      curl -fsSL --retry 3 -o "$zip.part" "$proxy/$FLYTE/$name/@v/$version.zip" || {
        say "$target: cannot download $FLYTE/$name@$version from $proxy"
        return 1
      }
      mv "$zip.part" "$zip"
    fi
    if [ "$(sha256 "$zip")" != "$sum" ]; then
      say "$target: $FLYTE/$name@$version from $proxy has SHA-256 $(sha256 "$zip"), not the pinned $sum: refusing to build it"
      rm -f "$zip"
      return 1
    fi
    unpack "$zip" "$dir/src"
    local folder="./src/$FLYTE/$name@$version"
    replaces+=("-replace=$FLYTE/$name=$folder")
    requires+=("-require=$FLYTE/$name@$version")
    [ -f "$dir/$folder/go.sum" ] && sums+=("$dir/$folder/go.sum")
    [ "$name" = "$main_name" ] && main_version="$version"
  done <<<"${MODULES[$target]}"
  local main_dir="$dir/src/$FLYTE/$main_name@$main_version"
  while read -r r; do [ -n "$r" ] && replaces+=("-replace=$r"); done < <(kept_replaces "$main_dir/go.mod")
  for pin in ${PINS[$target]:-}; do replaces+=("-replace=$pin"); done
  (
    cd "$dir"
    rm -rf go.mod go.sum tools probe
    printf 'module poolsync.local/%s\n\ngo 1.21\n' "$target" >go.mod
    # Every sibling is required by the wrapper itself, and `go mod tidy` works out the whole
    # graph from the packages a tools file imports: a build of a dependency's main package alone
    # would prune the siblings' own requirements (flytestdlib's newer OpenTelemetry, pgx ...).
    go mod edit "${requires[@]}" "${replaces[@]}"
    mkdir tools
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      local imports="${IMPORTS[$target]:-}"
      [ "$main_name" = flyteadmin ] && imports="$FLYTEADMIN_IMPORTS"
      for i in $imports; do printf '\t_ "%s"\n' "$i"; done
      printf ')\n'
    } >tools/tools.go
    if [ "$main_name" = flyteadmin ]; then
      mkdir probe
      cp "$probe_src" probe/main.go
    fi
    # The modules' own checksums: the third-party versions they pinned are verified offline.
    cat "${sums[@]}" | sort -u >go.sum
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=1
    go mod tidy
    go build -trimpath -o "bin/$binary" "$main_pkg"
    [ "$main_name" != flyteadmin ] || go build -trimpath -o bin/flyteadmin-probe ./probe
  ) || {
    say "$target: the build failed (output above)"
    return 1
  }
  echo "$stamp" >"$dir/stamp"
  say "$target: built $dir/bin/$binary in $((SECONDS - started)) s"
}

# flyteadmin's migrations do not run on SQLite (test/flyteadmin/real/postgres.ts says why): the
# tests run it on PostgreSQL, Debian's package, installed here when missing and this machine can.
ensure_postgres() {
  for d in "${POOLSYNC_PG_BIN:-}" /usr/lib/postgresql/*/bin /usr/local/bin /usr/bin; do
    if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ]; then
      say "PostgreSQL: using $d"
      return 0
    fi
  done
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    say "PostgreSQL: installing Debian's postgresql with apt-get"
    apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq)
    "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends postgresql >/dev/null && return 0
  fi
  say "PostgreSQL: none on this machine (initdb, postgres): the tests against the real flyteadmin will be skipped (apt-get install postgresql, or set POOLSYNC_PG_BIN)"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
status=0
for t in "${targets[@]}"; do build "$t" || status=1; done
ensure_postgres
exit $status
