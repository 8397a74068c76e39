#!/usr/bin/env bash
# web.sh — the browser UI's latencies in the real page (not a test): wheel
# zoom -> refined frame p95 on 3M flights and on a generated 100M-row table
# (BENCH_BIG_ROWS), plot -> first frame, longest main-thread task while a
# long query runs (web/e2e/bench.mjs). Needs build/pika and web/dist
# (`make build`) and Debian's chromium (scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-web.sh
PIKA=${PIKA:-$PWD/build/pika} node web/e2e/bench.mjs
