# The engine on real data: the vega-datasets files bootstrap fetches.
. "$(dirname "$0")/lib.bash"
D="${PIKA_SOURCE_DIR:?}/.deps/vega-datasets"
export PIKA_HOME="$TMP/home"
db="$TMP/real.duckdb"

for pair in flights-3m.parquet:3000000 birdstrikes.csv:10000 \
  zipcodes.csv:42049 sp500-2000.csv:5105 weather.csv:2922; do
  f=${pair%%:*} rows=${pair##*:}
  expect 0 "$PIKA" import --db "$db" "$D/$f"
  contains "$ERR$OUT" "imported $rows rows" "$f: all rows imported"
done

# Zip codes keep their leading zeros (text, not numbers).
expect 0 "$PIKA" schema --db "$db" zipcodes
contains "$OUT" "zip_code  │ VARCHAR" "zip codes stay text"
expect 0 "$PIKA" query --db "$db" -f csv "SELECT min(zip_code) AS z FROM zipcodes"
contains "$OUT" "00501" "leading zeros kept"

# SQL over the 3M-row flights table, and straight over the file.
expect 0 "$PIKA" query --db "$db" -f csv "SELECT count(*) AS n, count(DISTINCT origin) > 100 AS many FROM flights_3m"
contains "$OUT" "3000000,true" "flights counted"
expect 0 "$PIKA" query -f csv "SELECT count(*) AS n FROM '$D/flights-3m.parquet' WHERE delay > 60"
contains "$OUT" "n" "query names a file directly"
expect 0 "$PIKA" query --db "$db" -f json "SELECT date, close FROM sp500_2000 ORDER BY date LIMIT 2"
contains "$OUT" '"close":' "json objects"

finish
