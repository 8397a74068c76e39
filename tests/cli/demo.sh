# `make run`'s tour (scripts/demo.sh) works from start to end, on real data.
. "$(dirname "$0")/lib.bash"
export PIKA_DEMO_OUT="$TMP/demo"
expect 0 bash "${PIKA_SOURCE_DIR:?}/scripts/demo.sh"
contains "$OUT" "all checks passed" "doctor passes"
contains "$OUT" "imported 3000000 rows" "flights imported"
contains "$OUT" "ORD" "query answered"
contains "$OUT$ERR" "scatter" "plot drawn"
contains "$OUT" "are identical" "pipe round trip verified"
checks=$((checks + 1))
[ "$(head -c 8 "$TMP/demo/flights.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  { echo "FAIL: flights.png is not a PNG" >&2; fails=$((fails + 1)); }
finish
