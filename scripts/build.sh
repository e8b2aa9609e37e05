#!/usr/bin/env bash
# Builds Lambda functions exactly as they ship: a static linux binary named
# bootstrap for the provided.al2023 runtime, without the RPC shim
# (lambda.norpc), trimmed paths and no symbol tables.
#
#   scripts/build.sh [FUNCTION...]   build/FUNCTION/bootstrap for each (default: all)
#   scripts/build.sh scripts/hello   any main package by path: build/hello/bootstrap
#   scripts/build.sh -n              print the build flags, one per line, and build nothing
#
# GOARCH defaults to arm64 (what the CDK app deploys); tests that run a binary
# under the local Runtime Interface Emulator set it to the host's architecture.
# OUT overrides the output folder (default build/). For measuring (make
# bench): TAGS overrides the build tags and KEEP_SYMBOLS=1 keeps the symbol
# table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-$root/build}
tags=${TAGS-lambda.norpc}
ldflags="-s -w"
[ -z "${KEEP_SYMBOLS:-}" ] || ldflags=""
flags=(-tags "$tags" -trimpath -ldflags "$ldflags")
if [ "${1:-}" = -n ]; then
	printf '%s\n' "${flags[@]}"
	exit 0
fi
if [ $# -eq 0 ]; then
	for dir in functions/*/; do
		set -- "$@" "$(basename "$dir")"
	done
fi
for arg in "$@"; do
	case "$arg" in
	*/*) src=$arg fn=$(basename "$arg") ;;
	*) src=functions/$arg fn=$arg ;;
	esac
	[ -f "$src/main.go" ] || { echo "build: no main package in $src" >&2; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-arm64} \
		go build "${flags[@]}" -o "$out/$fn/bootstrap" "./$src"
	echo "build: $out/$fn/bootstrap ($(stat -c %s "$out/$fn/bootstrap") bytes, ${GOARCH:-arm64})"
done
