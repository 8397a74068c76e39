#!/usr/bin/env bash
# fetch-datasets.sh — real data sets for tests, demos and benchmarks, from
# the npm package vega-datasets (pinned, checked against its SHA-512), into
# .deps/vega-datasets/: flights-3m.parquet (3M rows), birdstrikes.csv,
# zipcodes.csv (zip codes with leading zeros), sp500-2000.csv, weather.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=vega-datasets@3.2.1
TGZ=vega-datasets-3.2.1.tgz
SHA512=9534b0640eb2abaa925366199bee9ba882e222f4cf3f19f88ad8abee33c61661c874fbd47d0f690b3cdcae4958cb030980b51b68879291941d88977ac01c4fba
DEST=.deps/vega-datasets
FILES=(flights-3m.parquet birdstrikes.csv zipcodes.csv sp500-2000.csv weather.csv)

have=1
for f in "${FILES[@]}"; do [ -f "$DEST/$f" ] || have=0; done
[ "$have" = 1 ] && [ "$(cat "$DEST/.version" 2>/dev/null)" = "$PKG" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-datasets: downloading $PKG from the npm registry"
(cd "$tmp" && npm pack --silent --loglevel=error "$PKG" >/dev/null)
got=$(sha512sum "$tmp/$TGZ" | cut -d' ' -f1)
if [ "$got" != "$SHA512" ]; then
  echo "fetch-datasets: $TGZ does not match its pinned SHA-512; refusing it" >&2
  exit 65
fi
mkdir -p "$tmp/out"
for f in "${FILES[@]}"; do
  tar -xzf "$tmp/$TGZ" -C "$tmp" "package/data/$f"
  mv "$tmp/package/data/$f" "$tmp/out/"
done
echo "$PKG" >"$tmp/out/.version"
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/out" "$DEST"
echo "fetch-datasets: ${FILES[*]} in $DEST"
