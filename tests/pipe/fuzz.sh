#!/usr/bin/env bash
# fuzz.sh — builds the archive reader's libFuzzer target with clang and runs
# it for a bounded time (PIKA_FUZZ_SECONDS, default 60) from the committed
# seeds. New inputs go to a scratch corpus; a crash fails the test and its
# input is printed so it can be added to tests/pipe/corpus/archive/.
set -euo pipefail
src=${PIKA_SOURCE_DIR:?}
secs=${PIKA_FUZZ_SECONDS:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src"
clang -std=c17 -D_GNU_SOURCE -g -O1 \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -Isrc -Itests $(find src/base src/runtime -name '*.c') \
  src/pipe/{aead,archive,chain,codec,digest,engine,format,outfile}.c \
  src/pipe/{kdf,spec,transform}.c tests/pipe/fuzz_archive.c \
  -o "$work/fuzz_archive" -lzstd -llz4 -lbrotlienc -lbrotlidec \
  -ldeflate -lxxhash -lcrypto -lsodium -lpthread -lm
mkdir "$work/corpus"
cp tests/pipe/corpus/archive/* "$work/corpus/"
cd "$work"
if ! ./fuzz_archive -max_len=65536 -max_total_time="$secs" -rss_limit_mb=2048 \
  -print_final_stats=1 corpus >fuzz.log 2>&1; then
  tail -60 fuzz.log
  for f in crash-* leak-* timeout-* oom-*; do
    [ -e "$f" ] && echo "reproducer $f: $(base64 -w0 "$f")"
  done
  echo "0 passed, 1 failed"
  exit 1
fi
grep -E '^stat::(number_of_executed_units|peak_rss_mb)|cov:' fuzz.log | tail -3
echo "1 passed, 0 failed"
