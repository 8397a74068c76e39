#!/usr/bin/env bash
# fetch-duckdb.sh — DuckDB 1.4.4 (LTS) from the npm registry into .deps/duckdb.
#
# Debian does not package DuckDB. Its npm packages do ship what a C program
# needs: @duckdb/node-bindings-linux-x64 carries libduckdb.so, and duckdb
# carries the C API header. Both tarballs are checked against pinned SHA-512
# digests (the same digests npm records as their `integrity`) before use.
# Result:  .deps/duckdb/include/duckdb.h  .deps/duckdb/lib/libduckdb.so
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.4.4
DEST=.deps/duckdb
STAMP="$DEST/.version"
LIB_PKG=@duckdb/node-bindings-linux-x64@1.4.4-r.4
LIB_TGZ=duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz
LIB_SHA512=8c14cbfd6bdfc312d3a056bfa551df4fa7a532d96d2469dcdf04aec590fd39f325b62b7d614755152dfbbc1150cd7313d59f0e5a3b528cc87eccf2b13b01cb1c
HDR_PKG=duckdb@1.4.4
HDR_TGZ=duckdb-1.4.4.tgz
HDR_SHA512=844249e61c9517454b8f776638ba6c5ab411d1bddde1892ab72826ea25178c72430e74aa83f5122b171be6abcdace84560f824b5ac94e9d5c2b603ea7269a9a2

if [ "$(uname -m)" != x86_64 ]; then
  echo "fetch-duckdb: only linux-x64 is fetched here; pass -DDUCKDB_ROOT=<prefix> to CMake instead" >&2
  exit 69
fi
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$VERSION" ] &&
   [ -f "$DEST/lib/libduckdb.so" ] && [ -f "$DEST/include/duckdb.h" ]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-duckdb: downloading DuckDB $VERSION from the npm registry"
(cd "$tmp" && npm pack --silent --loglevel=error "$LIB_PKG" "$HDR_PKG" >/dev/null)

check() { # file expected-sha512
  local got
  got=$(sha512sum "$tmp/$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "fetch-duckdb: $1 does not match its pinned SHA-512 (got $got); refusing to use it" >&2
    exit 65
  fi
}
check "$LIB_TGZ" "$LIB_SHA512"
check "$HDR_TGZ" "$HDR_SHA512"

mkdir -p "$tmp/out/lib" "$tmp/out/include"
tar -xzf "$tmp/$LIB_TGZ" -C "$tmp" package/libduckdb.so
mv "$tmp/package/libduckdb.so" "$tmp/out/lib/"
tar -xzf "$tmp/$HDR_TGZ" -C "$tmp" package/src/duckdb/src/include/duckdb.h
mv "$tmp/package/src/duckdb/src/include/duckdb.h" "$tmp/out/include/"
echo "$VERSION" >"$tmp/out/.version"

# Replace atomically enough: never leave a half-unpacked tree at $DEST.
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST.old"
[ -d "$DEST" ] && mv "$DEST" "$DEST.old"
mv "$tmp/out" "$DEST"
rm -rf "$DEST.old"
echo "fetch-duckdb: DuckDB $VERSION in $DEST"
