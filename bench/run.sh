#!/usr/bin/env bash
# run.sh BUILD_DIR — runs every benchmark built in BUILD_DIR (the Release
# preset) and prints its figures, with the machine they were taken on.
# Output also goes to bench/out/latest.txt for docs/BENCHMARKS.md.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
mkdir -p bench/out
out=bench/out/latest.txt
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores available"
  echo "# commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
  for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "## $(basename "$b")"
    "$b"
  done
  bash bench/pipe.sh "$build/pika"
  bash bench/engine.sh "$build/pika"
} 2>&1 | tee "$out"
