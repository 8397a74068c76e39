# `pika plot` end to end: a CSV imported into a temporary workspace, every
# kind drawn to PNG, SVG and PDF, and the ways it fails.
. "$(dirname "$0")/lib.bash"
export PIKA_HOME="$TMP/home"
cd "$TMP"
DB="$TMP/p.duckdb"

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# is_png FILE MIN_BYTES
is_png() {
  checks=$((checks + 1))
  local sig size
  sig=$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')
  size=$(wc -c <"$1" 2>/dev/null || echo 0)
  [ "$sig" = "89504e470d0a1a0a" ] || {
    fail "$1 is not a PNG (signature '$sig')"
    return
  }
  [ "$size" -ge "$2" ] && [ "$size" -le 5000000 ] ||
    fail "$1 has an implausible size: $size bytes"
}

awk 'BEGIN {
  srand(42); print "id,grp,x,y,val,day"
  for (i = 0; i < 3000; i++) {
    g = substr("abcd", i % 4 + 1, 1); x = rand() * 10
    printf "%d,%s,%.4f,%.4f,%.3f,2024-01-%02d\n", i, g, x,
      sin(x) + (i % 4) + rand() * 0.5, rand() * 100, i % 28 + 1
  }
}' >data.csv
expect 0 "$PIKA" import data.csv --db "$DB"

for kind in scatter line area heatmap; do
  expect 0 "$PIKA" plot data --db "$DB" --kind $kind --x x --y y \
    --color grp -o "$kind.png"
  contains "$ERR" "3000 rows" "$kind summary line"
  is_png "$kind.png" 5000
done
expect 0 "$PIKA" plot data --db "$DB" --kind histogram --x y -o hist.png
is_png hist.png 5000
expect 0 "$PIKA" plot data --db "$DB" --kind histogram --x y --bins 12 \
  --log-y --title "twelve bins" -o hist12.png
is_png hist12.png 5000
expect 0 "$PIKA" plot data --db "$DB" --kind bar --x grp -o bar.png
contains "$ERR" "4 rows" "bar aggregates in SQL"
is_png bar.png 3000
expect 0 "$PIKA" plot data --db "$DB" --kind bar --x grp --y val --agg mean \
  --color day -o bar2.png
is_png bar2.png 3000
# Log axes: bins equal in log space; values <= 0 left out and counted.
expect 0 "$PIKA" plot data --db "$DB" --kind histogram --x y --log-x \
  -o hlog.png
is_png hlog.png 3000
nonpos=$("$PIKA" query --db "$DB" -f csv "SELECT count(*) FROM data WHERE y <= 0" | tail -1)
contains "$ERR" "plot: $nonpos rows left out: a value <= 0" "log-x counts y <= 0"
expect 0 "$PIKA" plot data --db "$DB" --kind heatmap --x val --y x --log-x \
  --log-y --bins 30 -o heatlog.png
is_png heatlog.png 3000
expect 64 "$PIKA" plot data --db "$DB" --kind histogram --x y --log-x \
  --x-range -1:5 -o bad.png
contains "$ERR" "positive range" "a log range must be positive"

# Stacked bars: one bar per day, the groups stacked; not with --log-y, and
# only for bars.
expect 0 "$PIKA" plot data --db "$DB" --kind bar --x day --y val --agg sum \
  --color grp --stacked -o stacked.png
contains "$ERR" "28 rows" "stacked bars: (day, grp) groups from SQL"
is_png stacked.png 3000
expect 64 "$PIKA" plot data --db "$DB" --kind bar --x day --color grp \
  --stacked --log-y -o bad.png
contains "$ERR" "log y axis" "stacked + --log-y is refused"
expect 64 "$PIKA" plot data --db "$DB" --kind line --x x --y y --stacked \
  -o bad.png
contains "$ERR" "--stacked is for bar plots" "stacked is for bars"
for kind in box violin; do
  expect 0 "$PIKA" plot data --db "$DB" --kind $kind --x grp --y y -o "$kind.png"
  is_png "$kind.png" 3000
done
expect 0 "$PIKA" plot data --db "$DB" --kind heatmap --x x --y y --z val \
  --agg max --bins 20 -o heat_max.png
is_png heat_max.png 3000
# A time axis from a DATE column, a file source, --sql, ranges.
expect 0 "$PIKA" plot data.csv --kind line --x day --y val -o time.png
is_png time.png 3000
# A file is read as pika import reads it: by its name, anything that is not
# Parquet or JSON as CSV (DuckDB alone has no reader for a .txt file).
cp data.csv data.txt
expect 0 "$PIKA" plot data.txt --kind scatter --x x --y y -o txt.png
contains "$ERR" "3000 rows" "plot of a .txt CSV"
is_png txt.png 3000
# A plain CSV's numeric columns are read without DuckDB's reader
# (engine/csvnum.h); --sql always goes through DuckDB. The pictures must be
# the same bytes: a density raster (above 200000 points), a histogram, a
# box plot. A file with a quoted field is left to DuckDB and still plots.
"$PIKA" query "COPY (SELECT i AS id, random() * 10 AS x,
  CASE WHEN i % 97 = 0 THEN NULL ELSE sin(i) * 1e3 END AS y, i % 7 AS k
  FROM range(250000) t(i)) TO 'big.csv' (HEADER)" >/dev/null
for args in "--kind scatter --x x --y y" "--kind histogram --x y" \
  "--kind box --x k --y x" "--kind heatmap --x id --y y --bins 30"; do
  n=$(echo "$args" | tr -cd 'a-z')
  # shellcheck disable=SC2086
  expect 0 "$PIKA" plot big.csv $args -o "n_$n.png"
  contains "$ERR" "250000 rows" "native CSV read: $args"
  # shellcheck disable=SC2086
  expect 0 "$PIKA" plot --sql "SELECT * FROM read_csv('big.csv')" $args \
    -o "d_$n.png"
  checks=$((checks + 1))
  cmp -s "n_$n.png" "d_$n.png" ||
    fail "native and DuckDB CSV reads drew different pictures: $args"
done
{ echo 'x,y,s'; echo '1,2,"a, b"'; echo '3,4,c'; } >quoted.csv
expect 0 "$PIKA" plot quoted.csv --kind scatter --x x --y y -o quoted.png
contains "$ERR" "2 rows" "a quoted CSV read by DuckDB"
is_png quoted.png 2000
expect 0 "$PIKA" plot --db "$DB" --sql "SELECT x, y FROM data WHERE grp = 'a'" \
  --kind scatter --x x --y y --x-range 2:8 --y-range -1:2 --width 400 \
  --height 300 --dpi 150 -o sql.png
is_png sql.png 2000

expect 0 "$PIKA" plot data --db "$DB" --kind scatter --x x --y y -o s.svg
checks=$((checks + 1))
grep -q "<svg" s.svg || fail "s.svg has no <svg"
expect 0 "$PIKA" plot data --db "$DB" --kind histogram --x val -o h.pdf
checks=$((checks + 1))
[ "$(head -c 4 h.pdf)" = "%PDF" ] || fail "h.pdf does not start with %PDF"

# A plot that only scans its source caps DuckDB's memory (64 MiB); a view
# that needs more (a list of 10M values, 80 MB) is loaded again without it.
expect 0 "$PIKA" query --db "$DB" "CREATE VIEW wide AS SELECT unnest(l) AS x,
  unnest(l) AS y FROM (SELECT list(i::DOUBLE) AS l FROM range(10000000) t(i))"
expect 0 "$PIKA" plot wide --db "$DB" --kind scatter --x x --y y -o wide.png
contains "$ERR" "10000000 rows" "a view that needs more than the cap"
is_png wide.png 2000

# Failures.
expect 65 "$PIKA" plot data --db "$DB" --kind scatter --x nope --y y -o bad.png
contains "$ERR" "unknown column 'nope'" "bad column is named"
contains "$ERR" "grp" "bad column lists the columns"
[ -e bad.png ] && fail "a failed plot left a file"
expect 64 "$PIKA" plot data --db "$DB" --kind pie --x x -o bad.png
contains "$ERR" "unknown kind 'pie'" "bad kind is named"
expect 64 "$PIKA" plot data --db "$DB" --kind scatter --x x -o bad.png
expect 64 "$PIKA" plot data --db "$DB" --kind scatter --x x --y y -o bad.gif
expect 64 "$PIKA" plot data --db "$DB" --kind heatmap --x x --y y --agg sum \
  -o bad.png
expect 64 "$PIKA" plot data --db "$DB" --kind scatter --x x --y y \
  --x-range 3:1 -o bad.png
expect 65 "$PIKA" plot no_such_table --db "$DB" --kind histogram --x x \
  -o bad.png

# A long load shows DuckDB's progress as a bar on a terminal (script(1)
# gives the plot a pty), and never on a pipe.
if command -v script >/dev/null 2>&1; then
  expect 0 "$PIKA" query --db "$DB" \
    "CREATE TABLE big AS SELECT i AS x FROM range(4000000) t(i)"
  cat >slow.sh <<EOS
exec "$PIKA" plot --db "$DB" --sql "SELECT x::DOUBLE AS x FROM big WHERE \
md5(md5(md5(x::VARCHAR))) LIKE '00%'" --kind histogram --x x -o "\$1"
EOS
  script -qfec "bash slow.sh tty.png" /dev/null >tty.out 2>&1
  checks=$((checks + 1))
  grep -aq '\[###*  *\] *[0-9][0-9]*%' tty.out ||
    fail "no progress bar on a terminal: $(tr '\r' '\n' <tty.out | tail -3)"
  is_png tty.png 2000
  bash slow.sh pipe.png 2>pipe.err
  checks=$((checks + 1))
  grep -q '%' pipe.err && fail "a progress bar went to a pipe: $(cat pipe.err)"
fi

# Ctrl-C during a long query: 130, no file. (Were the signal to land before
# the handler is installed, the default action also gives 130.)
"$PIKA" plot --db "$DB" --sql "SELECT count(*)::DOUBLE AS x FROM \
  range(20000000000) t(i) WHERE i % 7 = 3" --kind histogram --x x \
  -o int.png 2>/dev/null &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
checks=$((checks + 1))
[ "$rc" = 130 ] || fail "Ctrl-C exited $rc, expected 130"
[ -e int.png ] && fail "an interrupted plot left a file"

finish
