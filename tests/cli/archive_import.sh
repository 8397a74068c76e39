# `pika import` of .adapipe archives: a CSV and a Parquet file round-tripped
# through `pika pipe process`, compared with a direct import through
# `pika query`; a wrong password and a tampered byte fail as `pika pipe
# restore` does, and leave no table.
. "$(dirname "$0")/lib.bash"
export PIKA_HOME="$TMP/home"
unset PIKA_PASSWORD
cd "$TMP"
DB="$TMP/a.duckdb"

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# More than one pipeline chunk of CSV, a zip column with leading zeros and
# one bad line (rejected, reported under the archive's name).
awk 'BEGIN {
  print "id,zip,name,v"
  for (i = 0; i < 40000; i++) printf "%d,%05d,n%d,%.3f\n", i, i % 1000, i % 7, i * 0.5
  print "bad,line"
}' >data.csv
printf 'pw-one\n' >pw
printf 'pw-two\n' >wrong

expect 0 "$PIKA" pipe process data.csv -o data.csv --stages zstd:3,aes256gcm \
  --password-file pw
expect 0 "$PIKA" import data.csv.adapipe --db "$DB" --password-file pw
contains "$OUT" "into table 'data'" "the table is named after data.csv"
contains "$OUT" "40000 rows" "every row imported"
contains "$ERR" "data.csv.adapipe:40002" "a rejected line names the archive"
expect 0 "$PIKA" import data.csv --db "$DB" --table direct
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT * FROM data ORDER BY id"
via_archive=$OUT
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT * FROM direct ORDER BY id"
[ "$via_archive" = "$OUT" ] || fail "the archive's import differs from the direct one"
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT typeof(zip) FROM data LIMIT 1"
contains "$OUT" "VARCHAR" "zip codes stay text through an archive"

# The password from PIKA_PASSWORD too.
expect 0 env PIKA_PASSWORD=pw-one "$PIKA" import data.csv.adapipe --db "$DB" \
  --table from_env
contains "$OUT" "40000 rows" "PIKA_PASSWORD works"

# Wrong password: the same message and status as pipe restore (77).
expect 77 "$PIKA" pipe restore data.csv.adapipe -o restored.csv \
  --password-file wrong
restore_err=$ERR
expect 77 "$PIKA" import data.csv.adapipe --db "$DB" --table w1 \
  --password-file wrong
contains "$ERR" "wrong password" "wrong password is named"
[ "${ERR#pika import: }" = "${restore_err#pika pipe restore: }" ] ||
  fail "import's wrong-password message differs from restore's: '$ERR' vs '$restore_err'"
# No password and no terminal.
expect 77 "$PIKA" import data.csv.adapipe --db "$DB" --table w2 </dev/null
contains "$ERR" "PIKA_PASSWORD" "a missing password says how to give one"

# One tampered byte in a chunk: 65, no table.
cp data.csv.adapipe bad.adapipe
size=$(wc -c <bad.adapipe)
printf '\125' | dd of=bad.adapipe bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect 65 "$PIKA" import bad.adapipe --db "$DB" --table tampered --password-file pw
contains "$ERR" "failed authentication" "the tampered chunk is named"
contains "$ERR" "nothing was imported" "nothing imported is said"
expect 0 "$PIKA" tables --db "$DB"
case "$OUT" in *tampered*) fail "a tampered archive left a table" ;; esac

# Parquet inside an archive (decoded to an unnamed temporary file).
expect 0 "$PIKA" query --db "$DB" -f parquet -o direct.parquet \
  "SELECT * FROM direct"
expect 0 "$PIKA" pipe process direct.parquet -o direct.parquet --stages lz4
expect 0 "$PIKA" import direct.parquet.adapipe --db "$DB" --table pq
contains "$OUT" "(parquet)" "the stored name tells Parquet"
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT * FROM pq ORDER BY id"
[ "$via_archive" = "$OUT" ] || fail "the Parquet archive's import differs"
ls -a "$TMP" | grep -q '\.tmp$' && fail "a temp directory was left behind"

# A compressed file inside an archive: the stored name (data.csv.gz,
# rows.ndjson.zst) tells DuckDB the compression that the decoded copy's
# name does not carry.
gzip -c data.csv >data.csv.gz
expect 0 "$PIKA" pipe process data.csv.gz -o gz --stages zstd:3
expect 0 "$PIKA" import gz.adapipe --db "$DB" --table gz
contains "$OUT" "40000 rows" "every row of a gzipped CSV in an archive"
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT * FROM gz ORDER BY id"
[ "$via_archive" = "$OUT" ] || fail "the .csv.gz archive's import differs"
expect 0 "$PIKA" query --db "$DB" -f ndjson -o rows.ndjson "SELECT * FROM direct"
zstd -q rows.ndjson
expect 0 "$PIKA" pipe process rows.ndjson.zst -o nd --stages lz4
expect 0 "$PIKA" import nd.adapipe --db "$DB" --table nd
contains "$OUT" "(json)" "the stored name tells JSON under .zst"
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT * FROM nd ORDER BY id"
[ "$via_archive" = "$OUT" ] || fail "the .ndjson.zst archive's import differs"
cp direct.parquet direct.parquet.gz
expect 65 "$PIKA" import direct.parquet.gz --db "$DB" --table pqgz
contains "$ERR" "compressed Parquet" "a compressed Parquet file is named"

# Usage: an archive is imported on its own; secrets are for archives.
expect 64 "$PIKA" import data.csv.adapipe data.csv --db "$DB" --table x
expect 64 "$PIKA" import data.csv --db "$DB" --table x --password-file pw

finish
