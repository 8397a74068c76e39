#!/usr/bin/env bash
# demo.sh — what `make run` shows: Pika on real data, end to end, with
# everything it writes kept under build/demo/ (the user's workspace is not
# touched), then `pika open` serves the canvas on that database and opens
# the browser: drag flights_3m from the data panel onto the canvas, add a
# query and a plot, zoom. Ctrl-C stops the server.
#
# Environment: PIKA_DEMO_OUT (default build/demo), PIKA_DEMO_OPEN=0 to stop
# after the tour, PIKA_DEMO_BROWSER=0 to serve without opening a browser.
set -euo pipefail
cd "$(dirname "$0")/.."
pika=${PIKA:-./build/pika}
data=.deps/vega-datasets/flights-3m.parquet
csv=.deps/vega-datasets/zipcodes.csv
out=${PIKA_DEMO_OUT:-build/demo}
mkdir -p "$out"
db="$out/demo.duckdb"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "pika doctor: this machine, the runtime and DuckDB, checked"
"$pika" doctor

step "pika import: 3M real flights (vega-datasets) into $db"
"$pika" import --db "$db" --replace "$data"

step "pika query: the busiest origins"
"$pika" query --db "$db" --timing "SELECT origin, count(*) AS flights,
  round(avg(delay), 1) AS avg_delay_min FROM flights_3m
  GROUP BY origin ORDER BY flights DESC LIMIT 8"

step "pika plot: every flight, binned exactly, drawn to PNG"
"$pika" plot flights_3m --db "$db" --kind scatter --x distance --y delay \
  --y-range -60:300 --title "3M US flights: delay by distance" \
  -o "$out/flights.png"

step "pika pipe: compress + encrypt a CSV, then check it decodes byte-identical"
head -c 32 /dev/urandom >"$out/demo.key"
"$pika" pipe process "$csv" -o "$out/zipcodes" --stages zstd:3,aes256gcm \
  --key-file "$out/demo.key" --overwrite
"$pika" pipe info "$out/zipcodes.adapipe" --key-file "$out/demo.key"
"$pika" pipe compare "$csv" "$out/zipcodes.adapipe" --key-file "$out/demo.key"

step "done: the plot is $out/flights.png"
[ "${PIKA_DEMO_OPEN:-1}" = 1 ] || exit 0
step "pika open: the canvas on $db (Ctrl-C stops it)"
args=(--db "$db")
[ "${PIKA_DEMO_BROWSER:-1}" = 1 ] || args+=(--no-browser)
exec "$pika" open "${args[@]}"
