# `make run`'s tour (scripts/demo.sh) works from start to end, on real data.
. "$(dirname "$0")/lib.bash"
export PIKA_DEMO_OUT="$TMP/demo"
# The tour runs to its end and then serves the canvas (pika open, here
# without a browser): wait for the URL, ask the server for its tables with
# the URL's token, then Ctrl-C, which stops it cleanly (exit 0).
PIKA_DEMO_BROWSER=0 bash "${PIKA_SOURCE_DIR:?}/scripts/demo.sh" \
  >"$TMP/out" 2>"$TMP/err" &
pid=$!
url=
for _ in $(seq 600); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*/?token=[0-9a-f]*' "$TMP/out" || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.5
done
checks=$((checks + 1))
if [ -z "$url" ]; then
  echo "FAIL: make run's tour never printed the canvas URL" >&2
  fails=$((fails + 1))
else
  base=${url%%/?token=*}
  tables=$(curl -s -H "Authorization: Bearer ${url##*token=}" "$base/api/tables")
  contains "$tables" '"flights_3m"' "the canvas serves the demo table"
fi
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
OUT=$(cat "$TMP/out")
ERR=$(cat "$TMP/err")
checks=$((checks + 1))
[ "$rc" = 0 ] || { echo "FAIL: the demo exited $rc after Ctrl-C" >&2; fails=$((fails + 1)); }
contains "$OUT" "all checks passed" "doctor passes"
contains "$OUT" "imported 3000000 rows" "flights imported"
contains "$OUT" "ORD" "query answered"
contains "$OUT$ERR" "scatter" "plot drawn"
contains "$OUT" "are identical" "pipe round trip verified"
checks=$((checks + 1))
[ "$(head -c 8 "$TMP/demo/flights.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  { echo "FAIL: flights.png is not a PNG" >&2; fails=$((fails + 1)); }
finish
