# `pika pipe` as a user drives it: round trips, passwords, named pipelines,
# and every way a run can go wrong leaving nothing behind.
. "$(dirname "$0")/lib.bash"
export PIKA_HOME="$TMP/home"
unset PIKA_PASSWORD
cd "$TMP"

# Test data: text, and more than the small-file threshold of mixed bytes.
seq 1 40000 | sed 's/$/ lorem ipsum dolor sit amet/' >text.txt
# (a fixed first byte: compare must find text.txt differing at byte 0)
{ printf M; head -c 400000 /dev/urandom; seq 1 100000; } >mixed.bin
: >empty

for f in text.txt mixed.bin empty; do
  for stages in zstd:3 lz4,sha256 "brotli:3,xchacha20poly1305" none; do
    expect 0 env PIKA_PASSWORD=s3cret "$PIKA" pipe process "$f" -o "$f.$stages" --stages "$stages" --workers 2
    expect 0 env PIKA_PASSWORD=s3cret "$PIKA" pipe restore "$f.$stages.adapipe" -o "$f.out" --overwrite
    cmp -s "$f" "$f.out" || { echo "FAIL: $f with $stages is not byte-identical" >&2; fails=$((fails + 1)); }
  done
done

# Chunk size +-1 around the input size, and a fixed small chunk size.
head -c 65537 mixed.bin >c.bin
for cs in 65536 65537 65538 4096; do
  expect 0 "$PIKA" pipe process c.bin -o "c$cs" --chunk-size "$cs"
  expect 0 "$PIKA" pipe restore "c$cs.adapipe" -o "c$cs.out"
  cmp -s c.bin "c$cs.out" || { echo "FAIL: chunk size $cs" >&2; fails=$((fails + 1)); }
done

# Streaming: standard input to standard output and back.
cat mixed.bin | "$PIKA" pipe process - -o - --stages lz4 | "$PIKA" pipe restore - -o - >stream.out
cmp -s mixed.bin stream.out || { echo "FAIL: stdin/stdout round trip" >&2; fails=$((fails + 1)); }

# info, validate, compare.
expect 0 "$PIKA" pipe info mixed.bin.zstd:3.adapipe
contains "$OUT" "zstd:3" "info names the stages"
contains "$OUT" "mixed.bin" "info names the original"
expect 0 "$PIKA" pipe validate mixed.bin.zstd:3.adapipe
expect 0 "$PIKA" pipe validate --full mixed.bin.zstd:3.adapipe
contains "$OUT" "digest verified" "validate --full checks the digest"
expect 0 "$PIKA" pipe compare mixed.bin mixed.bin.zstd:3.adapipe
contains "$OUT" "identical" "compare says identical"
expect 1 "$PIKA" pipe compare text.txt mixed.bin.zstd:3.adapipe
contains "$OUT" "first at byte 0" "compare names the first difference"

# Restore into a directory: the stored name, inside -o only.
mkdir outdir
expect 0 "$PIKA" pipe restore text.txt.zstd:3.adapipe -o outdir
[ -f outdir/text.txt ] || { echo "FAIL: not restored under the stored name" >&2; fails=$((fails + 1)); }

# Durability: process fsyncs the archive before naming it; restore waits for
# the disk only with --fsync (the archive stays the durable copy).
# (LeakSanitizer cannot run under ptrace: no leak check for these three)
if command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  traced() { strace -f -qq -e trace=fsync -o "$1" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "${@:2}" || fails=$((fails + 1)); }
  traced fs.process "$PIKA" pipe process mixed.bin -o durable --stages zstd:1
  traced fs.plain "$PIKA" pipe restore durable.adapipe -o d.plain
  traced fs.sync "$PIKA" pipe restore durable.adapipe -o d.sync --fsync
  cmp -s mixed.bin d.plain && cmp -s mixed.bin d.sync || { echo "FAIL: restore with or without --fsync differs" >&2; fails=$((fails + 1)); }
  grep -q 'fsync(' fs.process || { echo "FAIL: process did not fsync the archive" >&2; fails=$((fails + 1)); }
  grep -q 'fsync(' fs.sync || { echo "FAIL: restore --fsync did not fsync" >&2; fails=$((fails + 1)); }
  ! grep -q 'fsync(' fs.plain || { echo "FAIL: restore without --fsync waited for the disk" >&2; fails=$((fails + 1)); }
else
  echo "skip: no strace here (the fsync checks)"
fi

# Existing output: refused without --overwrite, nothing changed.
echo keep >exists.adapipe
expect 73 "$PIKA" pipe process text.txt -o exists
contains "$ERR" "--overwrite" "refusal says how to overwrite"
[ "$(cat exists.adapipe)" = keep ] || { echo "FAIL: existing file clobbered" >&2; fails=$((fails + 1)); }
expect 0 "$PIKA" pipe process text.txt -o exists --overwrite

# Passwords: from a file, wrong, missing (no terminal to ask on).
printf 'file-pass\n' >pw
expect 0 "$PIKA" pipe process text.txt -o enc --stages zstd:3,aes256gcm --password-file pw
expect 0 "$PIKA" pipe restore enc.adapipe -o enc.out --password-file pw
cmp -s text.txt enc.out || { echo "FAIL: password round trip" >&2; fails=$((fails + 1)); }
expect 77 env PIKA_PASSWORD=nope "$PIKA" pipe restore enc.adapipe -o enc.bad
contains "$ERR" "wrong password" "wrong password is named"
[ ! -e enc.bad ] || { echo "FAIL: output left after a wrong password" >&2; fails=$((fails + 1)); }
expect 77 setsid -w "$PIKA" pipe restore enc.adapipe -o enc.bad
expect 64 "$PIKA" pipe process text.txt -o x --stages zstd --password-file pw
head -c 32 /dev/urandom >key32
expect 0 "$PIKA" pipe process text.txt -o kf --stages chacha20poly1305 --key-file key32
expect 0 "$PIKA" pipe restore kf.adapipe -o kf.out --key-file key32
head -c 31 /dev/urandom >key31
expect 64 "$PIKA" pipe process text.txt -o kf2 --stages chacha20poly1305 --key-file key31
contains "$ERR" "31 bytes" "short key file is named"

# Bad stage lists are refused with the reason.
expect 64 "$PIKA" pipe process text.txt -o y --stages aes256gcm,zstd
contains "$ERR" "encryption must be the last" "order error explained"
expect 64 "$PIKA" pipe process text.txt -o y --stages zstd:99
expect 64 "$PIKA" pipe process text.txt -o y --stages nosuch
expect 66 "$PIKA" pipe process no-such-file -o y

# PII masking is irreversible and says so.
printf 'mail bob@example.com or call +1 415-555-0123\n' >pii.txt
expect 0 "$PIKA" pipe process pii.txt -o pii --stages pii,zstd
expect 0 "$PIKA" pipe info pii.adapipe
contains "$OUT" "irreversible" "info says masking is irreversible"
expect 0 "$PIKA" pipe restore pii.adapipe -o pii.out
grep -q 'bob@example.com' pii.out && { echo "FAIL: email not masked" >&2; fails=$((fails + 1)); }

# Tampering and truncation: exit 65, and no output left behind.
cp mixed.bin.zstd:3.adapipe t.adapipe
size=$(stat -c %s t.adapipe)
printf '\x55' | dd of=t.adapipe bs=1 seek=$((size / 2)) conv=notrunc status=none
expect 65 "$PIKA" pipe restore t.adapipe -o t.out
[ ! -e t.out ] || { echo "FAIL: output left after tampering" >&2; fails=$((fails + 1)); }
expect 65 "$PIKA" pipe validate --full t.adapipe
head -c $((size / 3)) mixed.bin.zstd:3.adapipe >trunc.adapipe
expect 65 "$PIKA" pipe restore trunc.adapipe -o trunc.out
contains "$ERR" "truncated" "truncation is named"
[ ! -e trunc.out ] || { echo "FAIL: output left after truncation" >&2; fails=$((fails + 1)); }
expect 65 "$PIKA" pipe restore text.txt -o junk.out
contains "$ERR" "not an .adapipe archive" "non-archive is named"

# A full disk (RLIMIT_FSIZE): exit 74, nothing left.
expect 74 bash -c "trap '' XFSZ; ulimit -f 100; exec \"$PIKA\" pipe process mixed.bin -o full --stages none"
[ ! -e full.adapipe ] || { echo "FAIL: partial output after a full disk" >&2; fails=$((fails + 1)); }

# Ctrl-C and SIGKILL in the middle: nothing left in the directory.
mkdir sig
cat /dev/zero | "$PIKA" pipe process - -o sig/int --stages zstd:3 2>sig.err &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
checks=$((checks + 1))
[ $rc -eq 130 ] || { echo "FAIL: Ctrl-C exit status $rc, expected 130" >&2; fails=$((fails + 1)); }
contains "$(cat sig.err)" "interrupted" "Ctrl-C is reported"
cat /dev/zero | "$PIKA" pipe process - -o sig/kill --stages zstd:3 2>/dev/null &
pid=$!
sleep 0.5
kill -KILL $pid
wait $pid 2>/dev/null
checks=$((checks + 1))
[ -z "$(ls -A sig)" ] || { echo "FAIL: left behind after signals: $(ls -A sig)" >&2; fails=$((fails + 1)); }

# Several inputs and directories: one archive per file, the tree mirrored,
# and every file restores byte-identical.
mkdir -p tree/a/b tree/c
cp text.txt tree/a/b/one.txt
cp mixed.bin tree/c/two.bin
printf 'tiny\n' >tree/three
expect 0 "$PIKA" pipe process tree text.txt -o batch --stages zstd:1
for f in a/b/one.txt c/two.bin three; do
  [ -f "batch/$f.adapipe" ] || { echo "FAIL: batch/$f.adapipe missing" >&2; fails=$((fails + 1)); }
done
[ -f batch/text.txt.adapipe ] || { echo "FAIL: batch/text.txt.adapipe missing" >&2; fails=$((fails + 1)); }
expect 0 "$PIKA" pipe restore batch/a/b/one.txt.adapipe batch/c/two.bin.adapipe batch/three.adapipe -o restored
cmp -s tree/a/b/one.txt restored/one.txt && cmp -s tree/c/two.bin restored/two.bin && cmp -s tree/three restored/three ||
  { echo "FAIL: batch restore differs" >&2; fails=$((fails + 1)); }
expect 64 "$PIKA" pipe process tree -o -

# Encrypted batch: the password is asked for once and used for all.
expect 0 env PIKA_PASSWORD=batchpw "$PIKA" pipe process tree -o ebatch --stages lz4,aes256gcm
expect 0 env PIKA_PASSWORD=batchpw "$PIKA" pipe restore ebatch/three.adapipe ebatch/c/two.bin.adapipe -o erestored
cmp -s tree/c/two.bin erestored/two.bin || { echo "FAIL: encrypted batch" >&2; fails=$((fails + 1)); }

# Prometheus metrics while a job runs, on loopback only.
cat /dev/zero | "$PIKA" pipe process - -o metrics --stages zstd:1 --metrics-addr 127.0.0.1:0 2>metrics.err &
pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q '/metrics' metrics.err 2>/dev/null && break; sleep 0.2; done
port=$(sed -n 's|.*127.0.0.1:\([0-9]*\)/metrics.*|\1|p' metrics.err)
body=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && cat <&3)
kill -INT $pid
wait $pid
contains "$body" "200 OK" "metrics endpoint answers"
contains "$body" "pika_pipe_stage_seconds_bucket" "metrics are Prometheus histograms"
contains "$body" 'pika_pipe_bytes_total{dir="in",op="process"}' "metrics count bytes"
expect 64 "$PIKA" pipe process text.txt -o m2 --metrics-addr 0.0.0.0:9464
contains "$ERR" "loopback only" "non-loopback metrics address refused"

# The benchmark runs the real stages and recommends settings.
expect 0 "$PIKA" pipe benchmark --size 2MiB --stages lz4
contains "$OUT" "recommended: --chunk-size" "benchmark recommends settings"
expect 0 "$PIKA" pipe benchmark --input text.txt --stages zstd:1,aes256gcm
expect 66 "$PIKA" pipe benchmark --input no-such-file
expect 64 "$PIKA" pipe benchmark --size 10

# Named pipelines and definition files.
expect 0 "$PIKA" pipe list
contains "$OUT" "balanced" "built-in pipelines listed"
expect 0 "$PIKA" pipe create nightly --stages zstd:9,sha256
expect 73 "$PIKA" pipe create nightly --stages lz4
expect 0 "$PIKA" pipe show nightly
contains "$OUT" "zstd:9" "show prints the stages"
expect 0 "$PIKA" pipe process text.txt -o named --pipeline nightly
expect 0 "$PIKA" pipe info named.adapipe
contains "$OUT" "sha256" "named pipeline used"
expect 0 "$PIKA" pipe delete nightly
expect 64 "$PIKA" pipe show nightly
printf 'name = "n"\nstages = ["zstd:3", "aes256gcm"]\nchunk_size = "1MiB"\n' >p.toml
expect 0 "$PIKA" pipe check p.toml
printf 'name = "n"\nstages = ["aes256gcm", "zstd"]\n' >bad.toml
expect 65 "$PIKA" pipe check bad.toml
printf '{"name": "n", "stagez": ["lz4"]}' >bad.json
expect 65 "$PIKA" pipe check bad.json
contains "$ERR" "stagez" "unknown key named"

finish
