#!/usr/bin/env bash
# engine.sh [PIKA] — benchmarks the data engine's commands (issue 4) as
# whole processes against what a user would otherwise reach for: `pika plot`
# against gnuplot and matplotlib, `pika import` against a bare DuckDB
# CREATE TABLE ... AS FROM read_csv(...), and the first plot of 100M rows
# from a Parquet file and from a table in a DuckDB file. Run by bench/run.sh
# (`make bench`) after bench/pipe.sh.
#
# Inputs are generated once with `pika query "COPY (...) TO ..."` and cached
# under bench/out/ (git-ignored); they are read once before timing so that
# the page cache is warm. Outputs go to bench/out/ and are removed between
# runs, outside the timed span.
#
# Environment: PIKA_BENCH_RUNS (runs per command, default 3), PIKA_BENCH_SLOW
# (seconds: a comparison tool whose first run takes longer is timed once,
# default 120), PIKA_BENCH_BIG_ROWS (rows of the import CSV, default
# 13400000, about 1 GB), PIKA_BENCH_PLOT_ROWS (rows of the big Parquet
# file, default 100000000).
set -euo pipefail

pika=${1:-build/release/pika}
pika=$(realpath "$pika")
cd "$(dirname "$0")/.."

runs=${PIKA_BENCH_RUNS:-3}
slow=${PIKA_BENCH_SLOW:-120}
big_rows=${PIKA_BENCH_BIG_ROWS:-13400000}
plot_rows=${PIKA_BENCH_PLOT_ROWS:-100000000}
dir=bench/out
log=$dir/engine.log
mkdir -p "$dir"
: >"$log"

die() {
  echo "engine.sh: $*" >&2
  exit 1
}
[ -x "$pika" ] || die "no pika binary at $pika"
[ "$runs" -ge 1 ] || die "PIKA_BENCH_RUNS must be at least 1"
# Debian's python3 (python3-matplotlib is installed for it, not for another python3 on PATH)
py=/usr/bin/python3
for t in gnuplot $py; do
  command -v "$t" >/dev/null || die "$t is missing (make bootstrap installs it)"
done
"$py" -c 'import matplotlib, numpy' 2>/dev/null ||
  die "python3-matplotlib is missing (make bootstrap installs it)"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing (make bootstrap installs it)"

X=$dir/engine-x
trap 'rm -rf "$X".*; echo "# load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"' EXIT

# ---- helpers ----------------------------------------------------------------

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, v}'; }
goal() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
  ok = (op == ">=") ? v >= g : (op == "<") ? v < g : (op == "<=") ? v <= g : 0
  print ok ? "met" : "NOT met" }'; }
mib() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }

# timed FN: runs FN (a shell function) under GNU time; prints its wall
# seconds (EPOCHREALTIME) and the peak RSS in KiB of the largest process
# FN's command started (FN must run its one command through $TIME).
TIME=(/usr/bin/time -f %M -o "$X.rss")
timed() {
  local t0 t1
  ! declare -F "rm_$1" >/dev/null || "rm_$1"
  t0=${EPOCHREALTIME/[.,]/}
  if ! "$1" >>"$log" 2>&1; then
    echo "engine.sh: '$1' failed:" >&2
    tail -5 "$log" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/[.,]/}
  echo "$(awk -v us="$((t1 - t0))" 'BEGIN {printf "%.3f", us / 1e6}') $(tail -1 "$X.rss")"
}

# gen FILE SQL: writes FILE once with COPY (SQL) TO FILE (cached).
gen() {
  local f=$1 fmt=csv
  [ ! -f "$f" ] || return 0
  case $f in *.parquet) fmt=parquet ;; esac
  local opts="FORMAT $fmt"
  [ "$fmt" = csv ] && opts="$opts, HEADER"
  rm -f "$f.tmp"
  "$pika" query "COPY ($2) TO '$f.tmp' ($opts)" >>"$log" 2>&1 || die "generating $f failed (see $log)"
  mv "$f.tmp" "$f"
}

echo "## engine.sh"
echo "# pika: $pika ($(nproc) cores online); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# whole processes, wall clock (EPOCHREALTIME); peak RSS: GNU time's %M; figures are medians"
echo "#   of the runs (lowest-highest in the comment), inputs page-cache warm"

# ---- 1. pika plot vs gnuplot vs matplotlib, 10M points ------------------------

pts=$dir/engine-pts.csv
gen "$pts" "SELECT random() AS x, random() * 100 + 50 * sin(i / 1e6) AS y FROM range(10000000) t(i)"
cat "$pts" >/dev/null
pdb=$X.plot.duckdb
"$pika" import "$pts" --db "$pdb" --table pts >>"$log" 2>&1 || die "importing $pts failed"
cat >"$X.gp" <<GP
set terminal pngcairo size 1000,600
set output '$X.gnuplot.png'
set datafile separator ','
plot '$pts' every ::1 using 1:2 with dots notitle
GP
cat >"$X.py" <<PY
import numpy as np, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
try:
    import pandas as pd
    d = pd.read_csv("$pts").to_numpy()
except ImportError:
    d = np.loadtxt("$pts", delimiter=",", skiprows=1)
fig = plt.figure(figsize=(10, 6), dpi=100)
plt.plot(d[:, 0], d[:, 1], ",")
fig.savefig("$X.mpl.png", dpi=100)
PY
mpl_reader=$("$py" -c 'import pandas' 2>/dev/null && echo "pandas.read_csv" || echo "numpy.loadtxt")

plot_csv() { "${TIME[@]}" "$pika" plot "$pts" --kind scatter --x x --y y -o "$X.pika.png" --width 1000 --height 600; }
plot_db() { "${TIME[@]}" "$pika" plot pts --db "$pdb" --kind scatter --x x --y y -o "$X.pikadb.png" --width 1000 --height 600; }
gp() { "${TIME[@]}" gnuplot "$X.gp"; }
mpl() { "${TIME[@]}" "$py" "$X.py"; }
rm_plot_csv() { rm -f "$X.pika.png"; }
rm_plot_db() { rm -f "$X.pikadb.png"; }
rm_gp() { rm -f "$X.gnuplot.png"; }
rm_mpl() { rm -f "$X.mpl.png"; }

# Round-robin: pika (CSV), pika (--db), gnuplot, matplotlib, $runs times; a
# tool whose first run took more than $slow s is not run again.
declare -A T R
timed plot_csv >/dev/null # warm-up
timed plot_db >/dev/null
for ((i = 0; i < runs; i++)); do
  for f in plot_csv plot_db gp mpl; do
    if [ "$i" -gt 0 ] && awk -v t="${T[$f]%% *}" -v s="$slow" 'BEGIN {exit !(t > s)}'; then continue; fi
    read -r t kb < <(timed "$f")
    T[$f]="${T[$f]:-} $t"
    T[$f]=${T[$f]# }
    R[$f]="${R[$f]:-} $kb"
  done
done
med() { printf '%s\n' ${T[$1]} | median; }
rng() { printf '%s\n' ${T[$1]} | minmax; }
rss() { printf '%s\n' ${R[$1]} | median; }
n() { printf '%s\n' ${T[$1]} | wc -l; }
for f in plot_csv plot_db gp mpl; do
  case $f in
  plot_csv) name=engine.plot.scatter10m.csv what="pika plot CSV --kind scatter (whole process: reads the 10M-row CSV, aggregates, renders)" ;;
  plot_db) name=engine.plot.scatter10m.db what="pika plot TABLE --db FILE (the table imported beforehand, untimed: the interactive case)" ;;
  gp) name=engine.plot.scatter10m.gnuplot what="gnuplot 'plot FILE every ::1 using 1:2 with dots', pngcairo 1000x600" ;;
  mpl) name=engine.plot.scatter10m.matplotlib what="matplotlib ($mpl_reader, plt.plot(x, y, ','), Agg, savefig 1000x600 at dpi 100)" ;;
  esac
  echo "# $what: $(n $f) run(s) $(rng $f) s, peak RSS $(mib "$(rss $f)") MiB"
  echo "$name $(med $f) s"
done
pk=$(med plot_csv)
for f in gp mpl; do
  r=$(awk -v a="$pk" -v b="$(med $f)" 'BEGIN {print b / a}')
  tool=gnuplot
  [ "$f" = mpl ] && tool=matplotlib
  echo "# ratio: wall time of $tool / pika plot CSV (median / median; above 1: pika is faster)"
  echo "engine.plot.scatter10m.$tool.ratio $(fmt "$r") x"
  echo "# goal >= 10x: $(goal "$r" ">=" 10)"
  r=$(awk -v a="$(med plot_db)" -v b="$(med $f)" 'BEGIN {print b / a}')
  echo "# ratio: wall time of $tool / pika plot --db TABLE, no goal"
  echo "engine.plot.scatter10m.db.$tool.ratio $(fmt "$r") x"
done
rm -f "$X".*

# ---- 2. pika import vs bare CREATE TABLE AS FROM read_csv, ~1 GB ---------------

big=$dir/engine-big.csv
gen "$big" "SELECT i AS id, (i * 7919) % 100000 AS qty, round(random() * 10000, 2) AS price,
  random() * 1e6 - 5e5 AS score, 'user_' || ((i * 31) % 1000003) AS name,
  ['red', 'green', 'blue', 'amber', 'violet'][1 + i % 5] AS category,
  DATE '2000-01-01' + CAST(i % 9000 AS INTEGER) AS day, (i % 3 = 0) AS flag
  FROM range($big_rows) t(i)"
cat "$big" >/dev/null
imp() { "${TIME[@]}" "$pika" import "$big" --db "$X.imp.duckdb" --table t; }
bare() { "${TIME[@]}" "$pika" query --db "$X.bare.duckdb" "CREATE TABLE t AS FROM read_csv('$big')"; }
rm_imp() { rm -f "$X.imp.duckdb" "$X.imp.duckdb.wal"; }
rm_bare() { rm -f "$X.bare.duckdb" "$X.bare.duckdb.wal"; }
T=() R=()
rs=()
for ((i = 0; i < runs; i++)); do
  for f in imp bare; do
    read -r t kb < <(timed "$f")
    T[$f]="${T[$f]:-} $t"
    R[$f]="${R[$f]:-} $kb"
  done
  ti=${T[imp]##* } tb=${T[bare]##* }
  rs+=("$(awk -v a="$ti" -v b="$tb" 'BEGIN {print a / b}')")
done
ni=$("$pika" query --db "$X.imp.duckdb" -f csv "SELECT count(*) FROM t" | tail -1)
nb=$("$pika" query --db "$X.bare.duckdb" -f csv "SELECT count(*) FROM t" | tail -1)
[ "$ni" = "$nb" ] || die "pika import gave $ni rows, bare DuckDB $nb"
echo "# input: $big, $(stat -c %s "$big") bytes, $ni rows; columns BIGINT, BIGINT, DOUBLE, DOUBLE,"
echo "#   VARCHAR, VARCHAR, DATE, BOOLEAN; a fresh --db file for every run; import then bare, $runs times"
echo "# pika import FILE --db X --table t: $(rng imp) s, peak RSS $(mib "$(rss imp)") MiB (median)"
echo "engine.import.csv1g $(med imp) s"
echo "# pika query --db Y \"CREATE TABLE t AS FROM read_csv('FILE')\" (the same DuckDB, no Pika logic):"
echo "#   $(rng bare) s, peak RSS $(mib "$(rss bare)") MiB (median)"
echo "engine.import.csv1g.bare $(med bare) s"
echo "engine.import.csv1g.rss $(mib "$(rss imp)") MiB"
echo "engine.import.csv1g.bare.rss $(mib "$(rss bare)") MiB"
r=$(awk -v a="$(med imp)" -v b="$(med bare)" 'BEGIN {print a / b}')
echo "# ratio: wall time of pika import / bare CREATE TABLE AS (median / median; pairs $(printf '%s\n' "${rs[@]}" | minmax))"
echo "engine.import.csv1g.bare.ratio $(fmt "$r") x"
echo "# goal <= 1.10x (within 10 %): $(goal "$r" "<=" 1.10)"
rm -f "$X".*

# ---- 3. first plot of a 100M-row Parquet file ---------------------------------

pq=$dir/engine-p$((plot_rows / 1000000))m.parquet
have_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
if [ ! -f "$pq" ] && [ "$have_kb" -lt $((10 << 20)) ]; then
  echo "# engine.plot.parquet: skipped: $dir has $((have_kb >> 10)) MiB free, needs 10 GiB"
  exit 0
fi
gen "$pq" "SELECT random() AS x, random() * 100 + 50 * sin(i / 1e7) AS y FROM range($plot_rows) t(i)"
cat "$pq" >/dev/null
pq_plot() { "${TIME[@]}" "$pika" plot "$pq" --kind scatter --x x --y y -o "$X.pq.png"; }
rm_pq_plot() { rm -f "$X.pq.png"; }
mrows=$((plot_rows / 1000000))

# first_plot FN NAME WHAT: times FN $runs times; prints NAME's median
# against the 3 s goal and its peak RSS, WHAT (the input) in the comment.
first_plot() {
  T=() R=()
  for ((i = 0; i < runs; i++)); do
    read -r t kb < <(timed "$1")
    T[$1]="${T[$1]:-} $t"
    R[$1]="${R[$1]:-} $kb"
  done
  echo "# $3; $runs runs $(rng "$1") s"
  echo "$2 $(med "$1") s"
  echo "# goal <= 3 s: $(goal "$(med "$1")" "<=" 3)"
  echo "$2.rss $(mib "$(rss "$1")") MiB"
}
first_plot pq_plot "engine.plot.parquet${mrows}m" "pika plot FILE.parquet --kind scatter --x x --y y -o OUT.png: $plot_rows rows
#   of two DOUBLEs, $(stat -c %s "$pq") bytes, page-cache warm, no database: scan, aggregate, render"

# ---- 4. first plot of the same 100M rows from a table in a DuckDB file ------

tdb=$dir/engine-t${mrows}m.duckdb
have_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
if [ ! -f "$tdb" ] && [ "$have_kb" -lt $((4 << 20)) ]; then
  echo "# engine.plot.table: skipped: $dir has $((have_kb >> 10)) MiB free, needs 4 GiB"
  exit 0
fi
if [ ! -f "$tdb" ]; then
  rm -f "$tdb.tmp" "$tdb.tmp.wal"
  "$pika" import "$pq" --db "$tdb.tmp" --table pts >>"$log" 2>&1 || die "importing $pq failed (see $log)"
  mv "$tdb.tmp" "$tdb"
fi
cat "$tdb" >/dev/null
tbl_plot() { "${TIME[@]}" "$pika" plot pts --db "$tdb" --kind scatter --x x --y y -o "$X.tbl.png"; }
rm_tbl_plot() { rm -f "$X.tbl.png"; }
first_plot tbl_plot "engine.plot.table${mrows}m" "pika plot TABLE --db FILE --kind scatter --x x --y y -o OUT.png: the
#   Parquet file's rows imported (untimed) into a DuckDB file of $(stat -c %s "$tdb") bytes, page-cache warm"
