# load.sh — wrk against POST /api/plot on loopback: a 4 s warm-up, then a
# 6 s measured run (2 threads, 8 connections; a 2-core CI machine). Every
# answer must be 2xx with no socket errors, and the server's resident
# memory (VmRSS) may grow by at most 64 MiB from after the warm-up to after
# the second run (the allocator's arenas settle during the warm-up; a leak
# per request of even a few KiB shows over tens of thousands of requests).
. "$PIKA_SOURCE_DIR/tests/cli/lib.bash"
command -v wrk >/dev/null || { echo "SKIP: wrk missing (scripts/bootstrap.sh installs it)"; exit 77; }
export PIKA_HOME="$TMP/home"
mkdir -p "$PIKA_HOME"
python3 -c '
print("x,y,g")
for i in range(20000):
    print("%d,%s,%s" % (i % 1000, (i * 7919) % 10007 / 10.0, "abcd"[i % 4]))' >"$TMP/pts.csv"
"$PIKA" open --no-browser --port 0 --db "$TMP/w.duckdb" "$TMP/pts.csv" >"$TMP/url" 2>"$TMP/err" &
PID=$!
trap 'kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do [ -s "$TMP/url" ] && break; sleep 0.1; done
URL=$(cat "$TMP/url")
PORT=$(printf '%s' "$URL" | sed -n 's|^http://127.0.0.1:\([0-9]*\)/.*|\1|p')
TOK=${URL##*token=}
# The Bearer token goes to wrk through a Lua file, not its command line.
cat >"$TMP/plot.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $TOK"
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local x0 = n % 500
  return wrk.format(nil, "/api/plot", nil,
    '{"plot": "t' .. tid .. '-' .. n .. '", "seq": ' .. n .. ', "sql": "SELECT * FROM pts", ' ..
    '"spec": {"kind": "scatter", "x": "x", "y": "y"}, ' ..
    '"viewport": {"x0": ' .. x0 .. ', "x1": ' .. (x0 + 400) .. ', "y0": 0, "y1": 1000}, ' ..
    '"width": 800, "height": 500}')
end
LUA
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }
run_wrk() { # SECONDS -> $WRK
  WRK=$(wrk -t2 -c8 -d"$1"s --latency -s "$TMP/plot.lua" "http://127.0.0.1:$PORT/" 2>&1)
  echo "$WRK"
}
run_wrk 4
warm=$(rss)
run_wrk 6
after=$(rss)
checks=$((checks + 1))
reqs=$(printf '%s\n' "$WRK" | awk '/requests in/ {print $1}')
if printf '%s\n' "$WRK" | grep -q -e 'Non-2xx' -e 'Socket errors'; then
  echo "FAIL: wrk saw errors" >&2
  fails=$((fails + 1))
fi
checks=$((checks + 1))
[ "${reqs:-0}" -gt 100 ] || { echo "FAIL: only ${reqs:-0} requests in 6 s" >&2; fails=$((fails + 1)); }
# Every request has its own plot id ("t<thread>-<n>"): a newer seq of the
# same id would supersede an older one (409), which wrk counts as an error.
echo "rss after warm-up ${warm} KiB, after the run ${after} KiB, ${reqs} requests"
checks=$((checks + 1))
[ $((after - warm)) -le 65536 ] || { echo "FAIL: RSS grew by $((after - warm)) KiB" >&2; fails=$((fails + 1)); }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "http://127.0.0.1:$PORT/health")
checks=$((checks + 1))
[ "$code" = 200 ] || { echo "FAIL: /health answers $code after the load" >&2; fails=$((fails + 1)); }
kill -INT "$PID"
wait "$PID"
checks=$((checks + 1))
[ $? = 0 ] || { echo "FAIL: pika open did not exit 0" >&2; fails=$((fails + 1)); }
finish
