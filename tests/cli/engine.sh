# `pika import`, `tables`, `schema` and `query` as a user drives them: real
# files of every kind, every output format, and every way they fail.
. "$(dirname "$0")/lib.bash"
export PIKA_HOME="$TMP/home"
cd "$TMP"
DB="$TMP/t.duckdb"

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# ---- test data ----
printf 'id,name,amount\n1,"Smith, J",3.5\n2,"say ""hi""",4\n3,ann,5,extra\n4,zed,6\n' >people.csv
{
  echo 'zip,city'
  echo '02134,Boston'
  echo '10001,New York'
  echo '00501,Holtsville'
} >zips.csv
# Leading zeros only after the sniffer's sample: the code-name rule keeps it.
{
  echo 'zip_code,v'
  seq 10000 40000 | sed 's/$/,1/'
  echo '02134,2'
} >late_zips.csv
printf 'a\tb\tc\n1\tx\t2.5\n2\ty\t3.5\n' >tabs.tsv
printf '{"k": 1, "s": "one"}\n{"k": 2, "s": "two"}\n{"k": 3, "s": null}\n' >lines.ndjson
{
  echo 'n,sq'
  seq 1 1000 | awk '{print $1 "," $1*$1}'
} >big.csv
gzip -c big.csv >big.csv.gz
printf 'x,y\n1,a\n2,b\n' >part1.csv
printf 'y,x,z\nc,3,true\n' >part2.csv

# ---- import ----
expect 0 "$PIKA" import people.csv --db "$DB"
contains "$OUT" "imported 3 rows, 3 columns into table 'people'" "import counts rows"
contains "$ERR" "1 line rejected" "rejected rows are counted"
contains "$ERR" "people.csv:4:" "rejected row has its line number"
contains "$ERR" "Expected Number of Columns: 3 Found: 4" "rejected row has the reason"

expect 73 "$PIKA" import people.csv --db "$DB"
contains "$ERR" "--replace" "existing table names --replace"
expect 65 "$PIKA" import people.csv --db "$DB" --replace --strict
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT count(*) AS n FROM people"
[ "$OUT" = "$(printf 'n\n3')" ] || fail "a failed --strict --replace changed the table: $OUT"
expect 65 "$PIKA" import people.csv --db "$DB" --table strict_people --strict
contains "$ERR" "people.csv:4: Expected Number of Columns" "--strict names the bad line"
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'strict_people'"
[ "$OUT" = "$(printf 'n\n0')" ] || fail "--strict left a table behind"

expect 66 "$PIKA" import no-such-file.csv --db "$DB"
expect 66 "$PIKA" import 'nomatch-*.csv' --db "$DB"

expect 0 "$PIKA" import zips.csv --db "$DB"
expect 0 "$PIKA" import late_zips.csv --db "$DB"
contains "$OUT" "kept as text (codes): zip_code" "code-name rule reported"
expect 0 "$PIKA" import tabs.tsv --db "$DB"
contains "$OUT" "2 rows, 3 columns" "TSV delimiter sniffed"
expect 0 "$PIKA" import lines.ndjson --db "$DB"
contains "$OUT" "3 rows, 2 columns into table 'lines'" "NDJSON imported"
expect 0 "$PIKA" import big.csv.gz --db "$DB" --table gz
contains "$OUT" "1000 rows" "gzip'd CSV imported"
expect 0 "$PIKA" import 'part*.csv' --db "$DB" --table parts
contains "$OUT" "3 rows, 3 columns into table 'parts' from 2 files" "glob into one table"
expect 0 "$PIKA" import part1.csv part2.csv --db "$DB" --table parts2 --type x=VARCHAR
expect 0 "$PIKA" import tabs.tsv --db "$DB" --table opts --delimiter tab --header --skip 0 --null y --type c=VARCHAR
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT a, b, c FROM opts ORDER BY a"
[ "$OUT" = "$(printf 'a,b,c\n1,x,2.5\n2,,3.5')" ] || fail "CSV options not applied: $OUT"
expect 65 "$PIKA" import lines.ndjson --db "$DB" --table bad --delimiter ';'
expect 64 "$PIKA" import people.csv --db "$DB" --type nocolon
expect 64 "$PIKA" import --db "$DB"

# The workspace database under PIKA_HOME without --db.
expect 0 "$PIKA" import zips.csv
[ -f "$PIKA_HOME/workspace.duckdb" ] || fail "no workspace database under PIKA_HOME"

# ---- tables, schema ----
expect 0 "$PIKA" tables --db "$DB"
contains "$OUT" "people" "tables lists people"
expect 0 "$PIKA" tables --db "$DB" -f csv
contains "$OUT" "table,rows,columns" "tables csv header"
contains "$OUT" "people,3,3" "tables row and column counts"
contains "$OUT" "parts,3,3" "tables counts the glob table"
contains "$OUT" "late_zips,30002,2" "tables counts late_zips"

expect 0 "$PIKA" schema zips --db "$DB" -f csv
contains "$OUT" "column,type,nulls,min,max,distinct" "schema header"
contains "$OUT" "zip,VARCHAR,0,00501,10001,3" "zip codes keep leading zeros"
expect 0 "$PIKA" schema late_zips --db "$DB" -f csv
contains "$OUT" "zip_code,VARCHAR,0,02134,40000," "late leading zero kept"
expect 0 "$PIKA" schema parts --db "$DB" -f csv
contains "$OUT" "z,BOOLEAN,2," "union_by_name fills missing columns with NULL"
expect 0 "$PIKA" schema people --db "$DB"
contains "$OUT" "amount" "schema table format"
expect 66 "$PIKA" schema nosuch --db "$DB"

# ---- query, every format ----
Q="SELECT id, name, amount FROM people ORDER BY id"
expect 0 "$PIKA" query --db "$DB" -f csv "$Q"
[ "$OUT" = "$(printf 'id,name,amount\n1,"Smith, J",3.5\n2,"say ""hi""",4.0\n4,zed,6.0')" ] || fail "csv output: $OUT"
expect 0 "$PIKA" query --db "$DB" -f json "$Q"
[ "$OUT" = "$(printf '[\n{"id":1,"name":"Smith, J","amount":3.5},\n{"id":2,"name":"say \\"hi\\"","amount":4.0},\n{"id":4,"name":"zed","amount":6.0}\n]')" ] || fail "json output: $OUT"
expect 0 "$PIKA" query --db "$DB" -f ndjson "SELECT k, s FROM lines ORDER BY k"
[ "$OUT" = "$(printf '{"k":1,"s":"one"}\n{"k":2,"s":"two"}\n{"k":3,"s":null}')" ] || fail "ndjson output: $OUT"
expect 0 "$PIKA" query --db "$DB" -f markdown "$Q"
[ "$(printf '%s\n' "$OUT" | head -2)" = "$(printf '| id | name | amount |\n| ---: | --- | ---: |')" ] || fail "markdown header: $OUT"
[ "$(line_count "$OUT")" = 5 ] || fail "markdown rows: $OUT"
expect 0 "$PIKA" query --db "$DB" "$Q"
contains "$OUT" "Smith, J" "table format shows values"
contains "$OUT" "(3 rows)" "table format counts rows"
expect 0 "$PIKA" query --db "$DB" --max-rows 5 "SELECT * FROM gz"
contains "$OUT" "... 995 more rows not shown" "table format cuts rows"
[ "$(printf '%s\n' "$OUT" | awk '{ if (length($0) > m) m = length($0) } END { print (m <= 100) }')" = 1 ] || fail "table wider than 100 columns"
expect 0 "$PIKA" query --db "$DB" "SELECT repeat('x', 500) AS wide, 1 AS n"
contains "$OUT" "…" "long cells end in an ellipsis"

# -o writes atomically; parquet round trip through DuckDB itself.
expect 0 "$PIKA" query --db "$DB" -f csv -o out.csv "SELECT * FROM gz ORDER BY n"
[ "$(wc -l <out.csv)" = 1001 ] || fail "csv -o file"
cmp -s out.csv big.csv || fail "csv export differs from the imported file"
ls -a | grep -q 'pika' && fail "temporary files left: $(ls -a)"
expect 0 "$PIKA" query --db "$DB" -f parquet -o out.parquet "SELECT * FROM gz"
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT count(*) AS n, sum(sq) AS s FROM 'out.parquet'"
[ "$OUT" = "$(printf 'n,s\n1000,333833500')" ] || fail "parquet round trip: $OUT"
expect 0 "$PIKA" import out.parquet --db "$DB"
contains "$OUT" "1000 rows, 2 columns into table 'out'" "parquet import"
expect 64 "$PIKA" query --db "$DB" -f parquet "SELECT 1"
expect 64 "$PIKA" query --db "$DB" -f xml "SELECT 1"

# SQL naming files directly; several statements; timing.
expect 0 "$PIKA" query --db "$DB" -f csv "SELECT count(*) AS n FROM 'big.csv.gz'"
[ "$OUT" = "$(printf 'n\n1000')" ] || fail "query on a file: $OUT"
expect 0 "$PIKA" query --db "$DB" -f csv --timing "CREATE TEMP TABLE t AS SELECT 41 AS v; SELECT v + 1 AS v FROM t"
[ "$OUT" = "$(printf 'v\n42')" ] || fail "several statements: $OUT"
contains "$ERR" "time:" "--timing on stderr"

# Errors.
expect 65 "$PIKA" query --db "$DB" 'SELEC 1'
contains "$ERR" "syntax error" "parser error shown"
expect 65 "$PIKA" query --db "$DB" 'SELECT * FROM nosuch'
expect 66 "$PIKA" query --db "$DB" "SELECT * FROM 'missing.csv'"
expect 64 "$PIKA" query --db "$DB"

# Ctrl-C interrupts a long query: exit 130, promptly.
"$PIKA" query --db "$TMP/i.duckdb" "SELECT count(*) FROM range(3000000) a, range(3000000) b WHERE a.range + b.range = -1" >/dev/null 2>"$TMP/int.err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
st=$?
checks=$((checks + 1))
[ "$st" = 130 ] || fail "interrupted query exited $st, expected 130: $(cat "$TMP/int.err")"
contains "$(cat "$TMP/int.err")" "interrupted" "interrupt reported"

finish
