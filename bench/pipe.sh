#!/usr/bin/env bash
# pipe.sh [PIKA] — benchmarks `pika pipe` against the command-line tools a
# user would otherwise reach for (zstd, lz4, age), as whole processes, A and
# B in turn (A B A B ...) so that every ratio is taken pair by pair in the
# same run. Run by bench/run.sh (`make bench`) after the C benchmarks.
#
# Input: a real file of mixed content (tar of /usr/include, /usr/share and
# /usr/lib), PIKA_BENCH_MB MiB (default 512, at least 256), cached under
# bench/out/ (git-ignored) and read once so that the page cache is warm.
# All outputs go to bench/out/ (same filesystem) and are removed before
# every run, outside the timed span.
#
# Environment: PIKA_BENCH_MB (input size, MiB), PIKA_BENCH_RUNS (pairs per
# case, default 5), PIKA_BENCH_STREAM_MB (the streamed memory case, default
# 4096 MiB; 0 skips it).
set -euo pipefail

pika=${1:-build/release/pika}
pika=$(realpath "$pika")
cd "$(dirname "$0")/.."

mb=${PIKA_BENCH_MB:-512}
runs=${PIKA_BENCH_RUNS:-5}
stream_mb=${PIKA_BENCH_STREAM_MB:-4096}
dir=bench/out
log=$dir/pipe.log
mkdir -p "$dir"
: >"$log"

die() {
  echo "pipe.sh: $*" >&2
  exit 1
}
[ -x "$pika" ] || die "no pika binary at $pika"
[ "$mb" -ge 256 ] || die "PIKA_BENCH_MB must be at least 256"
[ "$runs" -ge 1 ] || die "PIKA_BENCH_RUNS must be at least 1"
for t in zstd lz4 age age-keygen tar; do
  command -v "$t" >/dev/null || die "$t is missing (make bootstrap installs it)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing (make bootstrap installs it)"

# ---- the input --------------------------------------------------------------

size=$((mb << 20))
in=$dir/pipe-input-${mb}MiB.tar
parts=$dir/pipe-input-${mb}MiB.parts
# tar_part DIR BYTES: appends the first BYTES of a tar of DIR to $in.tmp.
tar_part() {
  local before after
  before=$(stat -c %s "$in.tmp")
  { tar --sort=name -cf - "$1" 2>/dev/null || true; } | head -c "$2" >>"$in.tmp"
  after=$(stat -c %s "$in.tmp")
  echo "$1 $((after - before))" >>"$parts.tmp"
}
if [ ! -f "$in" ] || [ "$(stat -c %s "$in")" -ne "$size" ] || [ ! -f "$parts" ]; then
  : >"$in.tmp"
  : >"$parts.tmp"
  tar_part /usr/include $((size / 4))
  tar_part /usr/share $((size / 2 - $(stat -c %s "$in.tmp")))
  tar_part /usr/lib $((size - $(stat -c %s "$in.tmp")))
  [ "$(stat -c %s "$in.tmp")" -eq "$size" ] ||
    die "/usr holds less than $mb MiB to tar; lower PIKA_BENCH_MB"
  mv "$in.tmp" "$in"
  mv "$parts.tmp" "$parts"
fi
cat "$in" >/dev/null # page cache warm

key=$dir/pipe-bench.key
ident=$dir/pipe-bench.agekey
if [ ! -f "$key" ]; then
  head -c 32 /dev/urandom >"$key.tmp"
  chmod 600 "$key.tmp"
  mv "$key.tmp" "$key"
fi
if [ ! -f "$ident" ]; then
  age-keygen -o "$ident.tmp" 2>/dev/null
  mv "$ident.tmp" "$ident"
fi
recip=$(age-keygen -y "$ident")

# ---- helpers ----------------------------------------------------------------

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%.2f-%.2f", lo, hi}'; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN {printf "%.*f", d, v}'; }
# goal LINE_VALUE OP LIMIT: prints "met" or "NOT met".
goal() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
  ok = (op == ">=") ? v >= g : (op == "<") ? v < g : (op == "<=") ? v <= g : 0
  print ok ? "met" : "NOT met" }'; }

# cpu_ms FILE: user + system ms of the shell's finished children, from the
# output of the times builtin saved in FILE (times must run in the shell
# that waits for the command: a subshell starts with no children).
cpu_ms() {
  awk 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/)
    printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 }' "$1"
}

# time_us FN: runs FN (a shell function), prints its wall time in µs and
# the CPU time (user + system, all its processes) in ms. A failing command
# ends the benchmark with its stderr (in $log).
time_us() {
  local t0 t1
  times >"$dir/pipe-times0"
  t0=${EPOCHREALTIME/[.,]/}
  if ! "$@" 2>>"$log"; then
    echo "pipe.sh: '$*' failed:" >&2
    tail -5 "$log" >&2
    exit 1
  fi
  t1=${EPOCHREALTIME/[.,]/}
  times >"$dir/pipe-times1"
  echo "$((t1 - t0)) $(($(cpu_ms "$dir/pipe-times1") - $(cpu_ms "$dir/pipe-times0")))"
}

# pair A B: one warm-up of each, then $runs pairs A B; sets A_US and B_US
# (median wall µs), RATIO (median over the pairs of tB/tA, i.e. A's
# throughput / B's), SPREAD (the pairs' lowest-highest ratio), A_CPU and
# B_CPU (median CPU ms) and CPU_RATIO (median of the pairs' cpuB/cpuA).
# Before every run of a command FN, rm_FN (if defined) removes its output,
# untimed; after every timed run of A, $A_HOOK (if set) runs.
pair() {
  local a=$1 b=$2 i ta tb ca cb
  local -a as=() bs=() rs=() cas=() cbs=() crs=()
  clean "$a"
  time_us "$a" >/dev/null
  clean "$b"
  time_us "$b" >/dev/null
  for ((i = 0; i < runs; i++)); do
    clean "$a"
    read -r ta ca < <(time_us "$a")
    [ -n "$ta" ] || exit 1
    [ -z "${A_HOOK:-}" ] || $A_HOOK
    clean "$b"
    read -r tb cb < <(time_us "$b")
    [ -n "$tb" ] || exit 1
    as+=("$ta")
    bs+=("$tb")
    rs+=("$(awk -v a="$ta" -v b="$tb" 'BEGIN {print b / a}')")
    cas+=("$ca")
    cbs+=("$cb")
    crs+=("$(awk -v a="$ca" -v b="$cb" 'BEGIN {print (a > 0) ? b / a : 0}')")
  done
  A_US=$(printf '%s\n' "${as[@]}" | median)
  B_US=$(printf '%s\n' "${bs[@]}" | median)
  RATIO=$(printf '%s\n' "${rs[@]}" | median)
  SPREAD=$(printf '%s\n' "${rs[@]}" | minmax)
  A_CPU=$(printf '%s\n' "${cas[@]}" | median)
  B_CPU=$(printf '%s\n' "${cbs[@]}" | median)
  CPU_RATIO=$(printf '%s\n' "${crs[@]}" | median)
}
clean() { ! declare -F "rm_$1" >/dev/null || "rm_$1"; }
# cpu_lines NAME WHAT: the CPU time lines after a pair (A = pika, B = WHAT).
cpu_lines() {
  echo "# CPU time (user + system, every process of the command; medians): pika $(awk -v c="$A_CPU" 'BEGIN {printf "%.2f", c / 1000}') s, $2 $(awk -v c="$B_CPU" 'BEGIN {printf "%.2f", c / 1000}') s"
  echo "# ratio: CPU seconds of $2 / of pika (above 1: pika needs less CPU), no goal"
  echo "$1.cpu.ratio $(fmt "$CPU_RATIO") x"
}
gbps() { awk -v n="$1" -v us="$2" 'BEGIN {printf "%.3f", n / us / 1000}'; } # bytes/µs/1000 = GB/s

X=$dir/pipe-x
pk_z() { "$pika" pipe process "$in" -o "$X.adapipe" --stages zstd:3,aes256gcm --key-file "$key" --overwrite; }
zstd_only() { zstd -3 -T2 -q -f "$in" -o "$X.zst"; }
zstd_age() { zstd -3 -T2 -q -c "$in" | age -r "$recip" >"$X.age"; }
pk_restore() { "$pika" pipe restore "$X.adapipe" -o "$X.out" --key-file "$key" --overwrite; }
pk_restore_fsync() { "$pika" pipe restore "$X.adapipe" -o "$X.out" --key-file "$key" --overwrite --fsync; }
age_restore() { age -d -i "$ident" "$X.age" | zstd -d -q -c >"$X.out"; }
pk_lz4() { "$pika" pipe process "$in" -o "$X.lz4.adapipe" --stages lz4,aes256gcm --key-file "$key" --overwrite; }
lz4_only() { lz4 -1 -q -f "$in" "$X.lz4"; }
rm_pk_z() { rm -f "$X.adapipe"; }
rm_zstd_only() { rm -f "$X.zst"; }
rm_zstd_age() { rm -f "$X.age"; }
rm_pk_restore() { rm -f "$X.out"; }
rm_pk_restore_fsync() { rm -f "$X.out"; }
rm_age_restore() { rm -f "$X.out"; }
rm_pk_lz4() { rm -f "$X.lz4.adapipe"; }
rm_lz4_only() { rm -f "$X.lz4"; }
trap 'rm -f "$X".* "$dir"/pipe-stream.* "$dir"/pipe-times[01]; echo "# load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"' EXIT

# ---- the cases --------------------------------------------------------------

echo "## pipe.sh"
echo "# input: $in, $size bytes ($mb MiB), page-cache warm; the first bytes of"
echo "#   tar archives (sorted by name) of $(awk '{printf "%s%s (%d MiB)", (NR > 1 ? ", " : ""), $1, $2 / 1048576}' "$parts")"
echo "#   /usr/include: C/C++ headers (text); /usr/share: man pages and docs (mostly gzip),"
echo "#   locale catalogs, icons, scripts, data; /usr/lib: ELF shared objects and modules"
echo "# whole processes, wall clock; A B A B ..., $runs pairs after one warm-up each; figures are"
echo "#   medians; a ratio is the median of the pairs' ratios (lowest-highest pair in the comment)"
echo "# throughput = original bytes / wall seconds, GB = 1e9 bytes; outputs in $dir, removed between runs"
echo "# pika: $pika ($(nproc) cores online, so --workers defaults to $(nproc)); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

# a. zstd:3,aes256gcm vs zstd -3 -T2
sizes=()
size_hook() { sizes+=("$(stat -c %s "$X.adapipe")"); }
A_HOOK=size_hook pair pk_z zstd_only
zst_size=$(stat -c %s "$X.zst")
pk_size=$(printf '%s\n' "${sizes[@]}" | median)
pk_lo=$(printf '%s\n' "${sizes[@]}" | sort -n | head -1)
pk_hi=$(printf '%s\n' "${sizes[@]}" | sort -n | tail -1)
echo "pipe.process.zstd3_aes256gcm $(gbps "$size" "$A_US") GB/s"
echo "pipe.process.zstd3_aes256gcm.zstd $(gbps "$size" "$B_US") GB/s"
echo "# ratio: throughput of pika pipe process --stages zstd:3,aes256gcm / zstd -3 -T2 -q -f FILE -o X.zst (pairs $SPREAD)"
echo "pipe.process.zstd3_aes256gcm.zstd.ratio $(fmt "$RATIO") x"
echo "# goal >= 0.9x: $(goal "$RATIO" ">=" 0.9)"
cpu_lines pipe.process.zstd3_aes256gcm.zstd "zstd"
echo "pipe.size.zstd3_aes256gcm $pk_size bytes"
echo "pipe.size.zstd3_aes256gcm.zstd $zst_size bytes"
sratio=$(awk -v a="$pk_size" -v b="$zst_size" 'BEGIN {print a / b}')
echo "# ratio: pika archive size / zstd -3 -T2 output size, lower is better (pika's runs: $pk_lo-$pk_hi bytes;"
echo "#   zstd -3 keeps $(awk -v a="$zst_size" -v b="$size" 'BEGIN {printf "%.1f", 100 * a / b}') % of the input)"
echo "pipe.size.zstd3_aes256gcm.zstd.ratio $(fmt "$sratio" 4) x"
echo "# goal <= 1.01x (within 1 % of zstd): $(goal "$sratio" "<=" 1.01)"

# b. the same job vs zstd | age
pair pk_z zstd_age
echo "pipe.process.zstd3_aes256gcm.zstd_age $(gbps "$size" "$B_US") GB/s"
echo "# ratio: throughput of the same pika job / zstd -3 -T2 -c FILE | age -r RECIPIENT > X.age (pairs $SPREAD;"
echo "#   pika ran at $(gbps "$size" "$A_US") GB/s in these pairs)"
echo "pipe.process.zstd3_aes256gcm.zstd_age.ratio $(fmt "$RATIO") x"
echo "# goal >= 1.2x: $(goal "$RATIO" ">=" 1.2)"
cpu_lines pipe.process.zstd3_aes256gcm.zstd_age "zstd | age"

# c. restore vs age -d | zstd -d (the archives from a and b)
pk_restore 2>>"$log"
cmp -s "$in" "$X.out" || die "pika pipe restore did not give back the input"
age_restore 2>>"$log"
cmp -s "$in" "$X.out" || die "age -d | zstd -d did not give back the input"
pair pk_restore age_restore
echo "pipe.restore.zstd3_aes256gcm $(gbps "$size" "$A_US") GB/s"
echo "pipe.restore.zstd3_aes256gcm.age_zstd $(gbps "$size" "$B_US") GB/s"
echo "# ratio: throughput of pika pipe restore / age -d -i IDENTITY X.age | zstd -d -q -c > OUT (pairs $SPREAD)"
echo "pipe.restore.zstd3_aes256gcm.age_zstd.ratio $(fmt "$RATIO") x"
echo "# goal >= 1.5x: $(goal "$RATIO" ">=" 1.5)"
cpu_lines pipe.restore.zstd3_aes256gcm.age_zstd "age -d | zstd -d"
# The same restore with --fsync, which waits until the file is on disk
# before naming it (neither age nor zstd does). No goal: it shows the price
# of durability.
pair pk_restore_fsync age_restore
echo "pipe.restore.zstd3_aes256gcm.fsync $(gbps "$size" "$A_US") GB/s"
echo "# ratio: throughput of pika pipe restore --fsync / age -d | zstd -d > OUT (pairs $SPREAD), no goal"
echo "pipe.restore.zstd3_aes256gcm.fsync.age_zstd.ratio $(fmt "$RATIO") x"
rm -f "$X".*

# d. lz4,aes256gcm vs lz4 -1
pair pk_lz4 lz4_only
abs=$(gbps "$size" "$A_US")
echo "pipe.process.lz4_aes256gcm $abs GB/s"
echo "# goal >= 1 GB/s: $(goal "$abs" ">=" 1)"
echo "pipe.process.lz4_aes256gcm.lz4 $(gbps "$size" "$B_US") GB/s"
echo "# ratio: throughput of pika pipe process --stages lz4,aes256gcm / lz4 -1 -q -f FILE X.lz4 (pairs $SPREAD)"
echo "pipe.process.lz4_aes256gcm.lz4.ratio $(fmt "$RATIO") x"
cpu_lines pipe.process.lz4_aes256gcm.lz4 "lz4"
echo "# archive sizes: pika $(stat -c %s "$X.lz4.adapipe") bytes, lz4 $(stat -c %s "$X.lz4") bytes"
rm -f "$X".*

# e. peak memory, defaults, a stream of $stream_mb MiB from a generator
if [ "$stream_mb" -eq 0 ]; then
  echo "# pipe.rss: skipped (PIKA_BENCH_STREAM_MB=0)"
  exit 0
fi
need_kb=$(((stream_mb + 512) << 10))
have_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
if [ "$have_kb" -lt "$need_kb" ]; then
  echo "# pipe.rss: skipped: $dir has $((have_kb >> 10)) MiB free, the streamed case needs $((need_kb >> 10)) MiB"
  exit 0
fi
S=$dir/pipe-stream
# The input repeated, cut at $stream_mb MiB: never a file on disk.
gen() {
  while :; do cat "$in" || return 0; done | head -c $((stream_mb << 20))
}
# stream_process: pika reads the stream on stdin; GNU time measures pika alone.
stream_process() {
  (
    set +o pipefail
    gen | /usr/bin/time -f '%M %e' -o "$S.time" \
      "$pika" pipe process - -o "$S.adapipe" --stages zstd:3,aes256gcm --key-file "$key" --overwrite
    exit "${PIPESTATUS[1]}"
  ) 2>>"$log" || die "streamed pika pipe process failed (see $log)"
}
stream_restore() {
  /usr/bin/time -f '%M %e' -o "$S.time" \
    "$pika" pipe restore "$S.adapipe" -o - --key-file "$key" >/dev/null 2>>"$log" ||
    die "streamed pika pipe restore failed (see $log)"
}
stream_zstd() {
  (
    set +o pipefail
    gen | /usr/bin/time -f '%M %e' -o "$S.time" zstd -3 -T2 -q -c >/dev/null
    exit "${PIPESTATUS[1]}"
  ) 2>>"$log" || die "streamed zstd failed (see $log)"
}
mib() { awk -v kb="$1" 'BEGIN {printf "%.1f", kb / 1024}'; }
echo "# peak RSS (GNU time's maximum resident set size) of the one process, default options,"
echo "#   on $stream_mb MiB streamed from a generator (the input repeated | head -c) into stdin"
stream_process
read -r kb secs <"$S.time"
echo "pipe.rss.process.zstd3_aes256gcm.stdin $(mib "$kb") MiB"
echo "# goal < 128 MiB: $(goal "$(mib "$kb")" "<" 128)  ($(awk -v s="$secs" -v n="$((stream_mb << 20))" 'BEGIN {printf "%.3f", n / s / 1e9}') GB/s, archive $(stat -c %s "$S.adapipe") bytes)"
stream_restore
read -r kb secs <"$S.time"
echo "pipe.rss.restore.zstd3_aes256gcm.stdout $(mib "$kb") MiB"
echo "# goal < 128 MiB: $(goal "$(mib "$kb")" "<" 128)  (restore of that archive to -o - > /dev/null, digest verified)"
rm -f "$S".*
stream_zstd
read -r kb secs <"$S.time"
echo "pipe.rss.zstd.stdin $(mib "$kb") MiB"
echo "# for scale: zstd -3 -T2 -q -c on the same stream, no goal"
rm -f "$S".*
