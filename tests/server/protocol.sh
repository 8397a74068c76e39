# protocol.sh — drives a real `pika open --no-browser --port 0` over HTTP
# (curl) and WebSocket (pika_client.py, python3's standard library) through
# docs/PROTOCOL.md: health, tables, schema, query + paging + cancel, plot
# (the PKPL binary decoded and checked against SQL counts), exports,
# workspace across a restart, upload + import with a job event, and every
# bad input — after each of which the server must still answer /health.
. "$PIKA_SOURCE_DIR/tests/cli/lib.bash"
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT="python3 $HERE/pika_client.py"
command -v curl >/dev/null || { echo "SKIP: curl missing (scripts/bootstrap.sh)"; exit 77; }

export PIKA_HOME="$TMP/home"
# A small static UI so that the asset rules can be checked.
export PIKA_WEB_ROOT="$TMP/web"
mkdir -p "$PIKA_WEB_ROOT/assets" "$PIKA_HOME"
echo '<!doctype html><title>pika test</title>' >"$PIKA_WEB_ROOT/index.html"
echo 'console.log(1)' >"$PIKA_WEB_ROOT/assets/app-abc123.js"
echo 'top secret' >"$TMP/secret.txt"
ln -s "$TMP/secret.txt" "$PIKA_WEB_ROOT/leak.txt"

# 1000 rows: x = i % 100, y = i / 2, g in a, b, c.
python3 -c '
print("x,y,g")
for i in range(1000):
    print("%d,%s,%s" % (i % 100, i / 2, "abc"[i % 3]))' >"$TMP/pts.csv"

PID=
start_server() { # DB [args...]
  local db=$1
  shift
  : >"$TMP/url"
  "$PIKA" open --no-browser --port 0 --db "$db" "$@" >"$TMP/url" 2>"$TMP/server.err" &
  PID=$!
  for _ in $(seq 100); do
    [ -s "$TMP/url" ] && break
    sleep 0.1
  done
  URL=$(cat "$TMP/url")
  PORT=$(printf '%s' "$URL" | sed -n 's|^http://127.0.0.1:\([0-9]*\)/?token=[0-9a-f]\{64\}$|\1|p')
  TOK=${URL##*token=}
  # the token with its last digit changed (replacing it with a fixed digit
  # gave back the token itself one launch in 16)
  if [ "${TOK: -1}" = 0 ]; then BADTOK=${TOK%?}1; else BADTOK=${TOK%?}0; fi
  B="http://127.0.0.1:$PORT"
  AUTH="Authorization: Bearer $TOK"
  [ -n "$PORT" ] || { echo "FAIL: no URL printed: '$URL'" >&2; cat "$TMP/server.err" >&2; exit 1; }
}
stop_server() {
  kill -INT "$PID"
  wait "$PID"
  local rc=$?
  checks=$((checks + 1))
  [ "$rc" = 0 ] || { echo "FAIL: pika open exited $rc after SIGINT" >&2; fails=$((fails + 1)); }
}
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT

# req METHOD PATH [curl args...]: status in $CODE, body in $BODY
req() {
  local m=$1 p=$2
  shift 2
  CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" -H "$AUTH" "$@" "$B$p")
  BODY=$(cat "$TMP/body")
}
# status WANT DESCRIPTION: checks $CODE, then that /health still answers
status() {
  checks=$((checks + 1))
  if [ "$CODE" != "$1" ]; then
    echo "FAIL: $2: status $CODE, expected $1; body: $(head -c 300 "$TMP/body")" >&2
    fails=$((fails + 1))
  fi
  local h
  h=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$B/health")
  [ "$h" = 200 ] || { echo "FAIL: /health answers $h after: $2" >&2; fails=$((fails + 1)); }
}
# jq-less JSON field access: jget EXPR (python over $BODY, 'j' is the doc)
jget() { printf '%s' "$BODY" | python3 -c "import json,sys; j=json.load(sys.stdin); v=($1); print(v)"; }
# error_code: the error code of $BODY
error_is() { # CODE DESCRIPTION
  checks=$((checks + 1))
  local got
  got=$(jget 'j["error"]["code"]' 2>/dev/null)
  [ "$got" = "$1" ] || { echo "FAIL: $2: error code '$got', expected '$1'" >&2; fails=$((fails + 1)); }
}
eq() { # GOT WANT DESCRIPTION
  checks=$((checks + 1))
  [ "$1" = "$2" ] || { echo "FAIL: $3: got '$1', expected '$2'" >&2; fails=$((fails + 1)); }
}

start_server "$TMP/w.duckdb" "$TMP/pts.csv"

# ---- health, login, static ---------------------------------------------------
req GET /health
status 200 "health"
eq "$(jget 'j["status"]')" ok "health status"
code=$(curl -s -o /dev/null -D "$TMP/hdr" -w '%{http_code}' "$B/?token=$TOK")
eq "$code" 303 "login redirect"
contains "$(cat "$TMP/hdr")" "pika_$PORT=$TOK; Path=/; HttpOnly; SameSite=Strict" "login cookie"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Cookie: pika_$PORT=$TOK" "$B/")
eq "$code" 200 "index with the cookie"
contains "$(cat "$TMP/body")" "pika test" "index.html served"
curl -s -D "$TMP/hdr" -o /dev/null -H "$AUTH" "$B/assets/app-abc123.js"
contains "$(cat "$TMP/hdr")" "immutable" "hashed assets are immutable"
curl -s -D "$TMP/hdr" -o "$TMP/body" -H "$AUTH" "$B/some/client/route"
contains "$(cat "$TMP/body")" "pika test" "SPA fallback to index.html"
contains "$(cat "$TMP/hdr")" "no-cache" "index.html is no-cache"

# ---- the gate ------------------------------------------------------------------
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' "$B/api/tables")
BODY=$(cat "$TMP/body")
status 401 "no token"
error_is unauthorized "no token"
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $BADTOK" "$B/api/tables")
status 401 "wrong token"
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' "$B/?token=deadbeef")
status 401 "wrong login token"
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Cookie: pika_1=$TOK" "$B/api/tables")
status 401 "another port's cookie"
req GET /api/tables -H "Host: evil.example:$PORT"
BODY=$(cat "$TMP/body")
status 403 "foreign Host"
error_is forbidden "foreign Host"
req GET /metrics -H "Host: evil.example"
status 403 "foreign Host on /metrics"
eq "$($CLIENT ws "$PORT" "$TOK" "http://evil.example" 2 | head -1 | cut -d' ' -f2)" 403 "foreign Origin on the WebSocket"
eq "$($CLIENT ws "$PORT" "$TOK" - 2 | head -1 | cut -d' ' -f2)" 403 "no Origin on the WebSocket"
eq "$($CLIENT ws "$PORT" "$BADTOK" "http://127.0.0.1:$PORT" 2 | head -1 | cut -d' ' -f2)" 401 "wrong token on the WebSocket"
req GET /health
status 200 "health after the WebSocket refusals"

# ---- static paths out of the root ------------------------------------------------
for p in '/../secret.txt' '/assets/../../secret.txt' '/%2e%2e/secret.txt' '/leak.txt' '/..%2fsecret.txt'; do
  CODE=$(curl -s --path-as-is -o "$TMP/body" -w '%{http_code}' -H "$AUTH" "$B$p")
  checks=$((checks + 1))
  case "$CODE" in
  403 | 404) ;;
  *) echo "FAIL: traversal $p answered $CODE" >&2; fails=$((fails + 1)) ;;
  esac
  if grep -q "top secret" "$TMP/body"; then
    echo "FAIL: traversal $p leaked the file" >&2
    fails=$((fails + 1))
  fi
done
CODE=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "$AUTH" "$B/leak.txt")
status 403 "a symlink out of the root"

# ---- tables and schema -----------------------------------------------------------
req GET /api/tables
status 200 "tables"
eq "$(jget '[(t["name"], t["rows"], t["columns"]) for t in j["tables"]]')" "[('pts', 1000, 3)]" "tables list"
req GET /api/tables/pts
status 200 "schema"
eq "$(jget '[c["name"] + ":" + c["type"] for c in j["columns"]]')" "['x:BIGINT', 'y:DOUBLE', 'g:VARCHAR']" "schema columns"
eq "$(jget 'j["columns"][0]["max"], len(j["preview"]["rows"]), j["rows"]')" "('99', 20, 1000)" "schema stats and preview"
req GET /api/tables/nope
status 404 "unknown table"
error_is not_found "unknown table"
req GET '/api/tables/no%20such%22table'
status 404 "unknown quoted table"

# ---- queries, paging, errors -------------------------------------------------------
req POST /api/query -d '{"sql": "SELECT x, count(*) AS n FROM pts GROUP BY x ORDER BY x", "request": "r-1", "limit": 5}'
status 200 "query"
eq "$(jget 'j["total_rows"], len(j["rows"]), j["rows"][0], j["cached"]')" "(100, 5, [0, 10], False)" "query first page"
RES=$(jget 'j["result"]')
req POST /api/query -d '{"sql": "SELECT x, count(*) AS n\n  FROM pts GROUP BY x ORDER BY x", "limit": 5}'
eq "$(jget 'j["cached"], j["result"]')" "(True, '$RES')" "same SQL again comes from the results"
req GET "/api/results/$RES?offset=98&limit=10"
status 200 "result page"
eq "$(jget 'j["offset"], j["rows"], j["total_rows"]')" "(98, [[98, 10], [99, 10]], 100)" "last page"
req GET "/api/results/0123456789abcdef0123456789abcdef?offset=0"
status 404 "unknown result"
req GET "/api/results/$RES?offset=-1"
status 400 "negative offset"
req POST /api/query -d '{"sql": "SELECT 1,\n  nosuchcolumn FROM pts"}'
status 422 "failing SQL"
error_is sql_error "failing SQL"
eq "$(jget 'j["error"]["line"]')" 2 "the SQL error names its line"
req POST /api/query -d '{"sql": "SELECT 1'
status 400 "malformed JSON"
error_is bad_request "malformed JSON"
req POST /api/query -d '{"sql": 42}'
status 400 "mistyped field"
req POST /api/query -d '[1, 2]'
status 400 "not an object"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$TMP/huge"
req POST /api/query -H "Content-Type: application/json" --data-binary "@$TMP/huge"
status 413 "huge body"
error_is too_large "huge body"
req DELETE /api/query
status 405 "wrong method"
req GET /api/nothing-here
status 404 "unknown endpoint"
req POST /api/query -d '{"sql": "SELECT '"'"'nan'"'"'::DOUBLE AS z, 9007199254740993::BIGINT AS big, DATE '"'"'2024-01-31'"'"' AS d, '"'"'inf'"'"'::DOUBLE AS i, NULL AS n"}'
eq "$(jget 'j["rows"][0]')" "['NaN', '9007199254740993', '2024-01-31', 'inf', None]" "value encoding"

# cancel a long query
(curl -s -o "$TMP/long" -w '%{http_code}' -H "$AUTH" -d '{"sql": "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7", "request": "r-long"}' "$B/api/query" >"$TMP/long.code") &
CURL=$!
sleep 1
req POST /api/cancel -d '{"request": "r-long"}'
status 200 "cancel"
eq "$(jget 'j["cancelled"]')" True "cancel found the query"
wait $CURL
eq "$(cat "$TMP/long.code")" 409 "the cancelled query answers 409"
contains "$(cat "$TMP/long")" '"cancelled"' "its error code is cancelled"
req POST /api/cancel -d '{"request": "r-none"}'
eq "$(jget 'j["cancelled"]')" False "cancel of nothing"

# a page that goes away (its WebSocket closes) stops its running query;
# another page's query is not touched
t0=$(date +%s)
(curl -s -o "$TMP/gone" -w '%{http_code}' -H "$AUTH" -H "X-Pika-Client: tab-1" -d '{"sql": "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7"}' "$B/api/query" >"$TMP/gone.code") &
GONE=$!
(curl -s -o "$TMP/other" -w '%{http_code}' -H "$AUTH" -H "X-Pika-Client: tab-2" -d '{"sql": "SELECT count(*) FROM range(3000) a, range(3000) b"}' "$B/api/query" >"$TMP/other.code") &
OTHER=$!
sleep 1
$CLIENT ws "$PORT" "$TOK" "http://127.0.0.1:$PORT" 0.5 "client=tab-1" >"$TMP/ws-tab"
wait $GONE $OTHER
eq "$(cat "$TMP/gone.code")" 409 "the query of a page that went away answers 409"
contains "$(cat "$TMP/gone")" '"cancelled"' "its error code is cancelled"
checks=$((checks + 1))
[ $(($(date +%s) - t0)) -lt 30 ] || { echo "FAIL: the gone page's query ran on" >&2; fails=$((fails + 1)); }
eq "$(cat "$TMP/other.code")" 200 "another page's query finishes"

# ---- plots ---------------------------------------------------------------------------
plot() { # JSON -> $TMP/plot.bin, decoded into $BODY
  CODE=$(curl -s -o "$TMP/plot.bin" -w '%{http_code}' -H "$AUTH" -d "$1" "$B/api/plot")
  if [ "$CODE" = 200 ]; then BODY=$($CLIENT pkpl "$TMP/plot.bin"); else BODY=$(cat "$TMP/plot.bin"); fi
  cp "$TMP/plot.bin" "$TMP/body"
}
plot '{"plot": "h", "seq": 1, "sql": "SELECT * FROM pts", "spec": {"kind": "histogram", "x": "x", "bins": 10}, "width": 800, "height": 500}'
status 200 "histogram"
eq "$(jget 'j["kind"], j["rows"], sum(j["hist"]["counts"]), len(j["hist"]["edges"])')" "('histogram', 1000, 1000.0, 11)" "histogram totals"
first_bin=$(jget 'int(j["hist"]["counts"][0])')
edge=$(jget 'j["hist"]["edges"][1]')
req POST /api/query -d "{\"sql\": \"SELECT count(*) FROM pts WHERE x < $edge\"}"
eq "$first_bin" "$(jget 'j["rows"][0][0]')" "the first bin's count equals SQL's COUNT"
plot '{"plot": "s", "seq": 1, "sql": "SELECT * FROM pts", "spec": {"kind": "scatter", "x": "x", "y": "y", "color": "g"}, "viewport": {"x0": 0, "x1": 49.5, "y0": -10, "y1": 1000}}'
status 200 "scatter"
eq "$(jget 'j["kind"], [s["name"] for s in j["series"]], j["x"]["max"], j["extent"]["x1"], j["extent"]["y1"]')" "('scatter', ['a', 'b', 'c'], 49.5, 99.0, 499.5)" "scatter series, viewport and extent"
eq "$(jget 'sum(len(s["x"]) for s in j["series"]), 0 < j["points"] <= 1000')" "(1000, True)" "scatter: the raw points"
eq "$(jget 'j["cached"]')" "False" "first scatter loads its columns"
plot '{"plot": "s", "seq": 2, "sql": "SELECT * FROM pts", "spec": {"kind": "scatter", "x": "x", "y": "y", "color": "g"}, "viewport": {"x0": 10, "x1": 20, "y0": 0, "y1": 100}}'
eq "$(jget 'j["cached"], j["x"]["min"], j["extent"]["x1"]')" "(True, 10.0, 99.0)" "a new viewport comes from the plot-column cache"
plot '{"plot": "b", "seq": 1, "sql": "SELECT * FROM pts", "spec": {"kind": "bar", "x": "g", "agg": "count"}}'
eq "$(jget 'j["bars"]["categories"], j["bars"]["values"]')" "(['a', 'b', 'c'], [334.0, 333.0, 333.0])" "bar counts"
plot '{"plot": "b", "seq": 2, "sql": "SELECT * FROM pts", "spec": {"kind": "box", "x": "g", "y": "x"}}'
eq "$(jget '[b["name"] for b in j["boxes"]], j["x"]["categories"]')" "(['a', 'b', 'c'], ['a', 'b', 'c'])" "box groups"
plot '{"plot": "h", "seq": 3, "sql": "SELECT * FROM pts", "spec": {"kind": "histogram", "x": "nosuch"}}'
status 422 "plot of an unknown column"
plot '{"plot": "h", "seq": 4, "sql": "SELECT * FROM pts", "spec": {"kind": "pie", "x": "x"}}'
status 400 "unknown plot kind"
plot '{"plot": "h", "seq": 5, "sql": "SELECT * FROM pts", "spec": {"kind": "scatter", "x": "x"}}'
status 400 "scatter without y"
plot '{"plot": "h", "seq": 6, "sql": "SELECT * FROM pts", "spec": {"kind": "histogram", "x": "x"}, "width": 10}'
status 400 "width out of range"
plot '{"plot": "h", "seq": 1, "sql": "SELECT * FROM pts", "spec": {"kind": "histogram", "x": "x"}}'
status 200 "an older seq after newer ones that finished still answers"
# supersede: a slow plot, then a newer seq of the same plot
SLOW='SELECT a.range % 1000 AS x FROM range(1000000) a, range(3000) b WHERE a.range + b.range > 0'
(curl -s -o "$TMP/old" -w '%{http_code}' -H "$AUTH" -d "{\"plot\": \"p9\", \"seq\": 1, \"sql\": \"$SLOW\", \"spec\": {\"kind\": \"histogram\", \"x\": \"x\"}}" "$B/api/plot" >"$TMP/old.code") &
CURL=$!
sleep 1
plot '{"plot": "p9", "seq": 2, "sql": "SELECT * FROM pts", "spec": {"kind": "histogram", "x": "x"}}'
status 200 "the newer plot"
wait $CURL
eq "$(cat "$TMP/old.code")" 409 "the older plot is superseded"
contains "$(cat "$TMP/old")" '"superseded"' "its error code is superseded"

# ---- exports -----------------------------------------------------------------------
CODE=$(curl -s -D "$TMP/hdr" -o "$TMP/e.png" -w '%{http_code}' -H "$AUTH" -d '{"sql": "SELECT * FROM pts", "spec": {"kind": "scatter", "x": "x", "y": "y"}, "format": "png", "width": 400, "height": 300}' "$B/api/export")
eq "$CODE" 200 "png export"
eq "$(head -c 8 "$TMP/e.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "PNG magic"
eq "$(python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read(); print(struct.unpack(">II", d[16:24]))' "$TMP/e.png")" "(400, 300)" "PNG size"
contains "$(cat "$TMP/hdr")" 'filename="pika-plot.png"' "png attachment"
CODE=$(curl -s -o "$TMP/e.csv" -w '%{http_code}' -H "$AUTH" -d '{"sql": "SELECT x, g FROM pts WHERE x < 2 ORDER BY x, g", "format": "csv"}' "$B/api/export")
eq "$CODE" 200 "csv export"
eq "$(head -3 "$TMP/e.csv" | tr '\n' ' ')" "x,g 0,a 0,a " "csv content"
eq "$(wc -l <"$TMP/e.csv")" 21 "csv rows"
CODE=$(curl -s -o "$TMP/e.parquet" -w '%{http_code}' -H "$AUTH" -d '{"sql": "SELECT * FROM pts", "format": "parquet"}' "$B/api/export")
eq "$CODE" 200 "parquet export"
eq "$(head -c 4 "$TMP/e.parquet")" PAR1 "parquet magic"
req POST /api/export -d '{"sql": "SELECT * FROM pts", "format": "gif"}'
status 400 "unknown export format"

# ---- upload + import, with the job on the WebSocket -------------------------------------
$CLIENT ws "$PORT" "$TOK" "http://127.0.0.1:$PORT" 60 >"$TMP/ws.log" &
WS=$!
sleep 1
printf 'id,zip,v\n1,02134,3.5\n2,10001,4.5\n' >"$TMP/up.csv"
req POST '/api/upload?name=../../evil/up.csv' --data-binary "@$TMP/up.csv" -H 'Content-Type: text/csv'
status 200 "upload"
UP=$(jget 'j["path"]')
eq "$UP" "$PIKA_HOME/uploads/up.csv" "upload lands in the uploads directory, name reduced"
req POST '/api/upload?name=up.csv' --data-binary "@$TMP/up.csv"
eq "$(jget 'j["path"]')" "$PIKA_HOME/uploads/up-1.csv" "a second upload of the same name"
req POST /api/import/preview -d "{\"path\": \"$UP\"}"
status 200 "import preview"
eq "$(jget 'j["table"], j["format"], [c["name"] for c in j["columns"]], len(j["rows"])')" "('up', 'csv', ['id', 'zip', 'v'], 2)" "preview"
req POST /api/import/preview -d '{"path": "/no/such/file.csv"}'
status 404 "preview of a missing file"
req POST /api/import -d "{\"path\": \"$UP\", \"table\": \"uploaded\"}"
status 202 "import accepted"
JOB=$(jget 'j["job"]')
for _ in $(seq 50); do
  req GET "/api/jobs/$JOB"
  [ "$(jget 'j["state"]')" != running ] && break
  sleep 0.1
done
eq "$(jget 'j["state"], j["rows"], j["table"]')" "('done', 2, 'uploaded')" "import job finished"
req GET /api/tables/uploaded
eq "$(jget 'j["columns"][1]["type"], j["preview"]["rows"][0][1]')" "('VARCHAR', '02134')" "imported table keeps the zip code"
req GET /api/jobs/j999
status 404 "unknown job"
req POST /api/import -d '{"path": "/no/such/file.csv", "table": "t"}'
BADJOB=$(jget 'j["job"]')
sleep 1
req GET "/api/jobs/$BADJOB"
eq "$(jget 'j["state"]')" error "an import of a missing file fails as a job"
# Listen until the events this test expects have arrived (a loaded machine
# may take a while), then stop the listener.
for _ in $(seq 300); do
  grep -q '"type":"catalog"' "$TMP/ws.log" && grep -q '"state":"done"' "$TMP/ws.log" &&
    grep -q '"type":"status"' "$TMP/ws.log" && break
  sleep 0.1
done
kill $WS 2>/dev/null
wait $WS
WSLOG=$(cat "$TMP/ws.log")
contains "$WSLOG" "HTTP/1.1 101" "WebSocket accepted with the right Origin"
contains "$WSLOG" '"type":"hello"' "hello event"
contains "$WSLOG" '"type":"pong"' "pong"
contains "$WSLOG" '"type":"status"' "status event"
contains "$WSLOG" "\"job\":\"$JOB\"" "job event"
contains "$WSLOG" '"state":"done"' "job done event"
contains "$WSLOG" '"type":"catalog"' "catalog event"

# ---- status, metrics, workspace -------------------------------------------------------
req GET /api/status
status 200 "status"
eq "$(jget 'j["memory"]["rss"] > 0, "hit_rate" in j["cache"], j["catalog_version"] > 0, j["memory"]["duckdb_bytes"] > 0, j["memory"]["cache_bytes"] > 0')" "(True, True, True, True, True)" "status fields"
req GET /metrics
status 200 "metrics"
contains "$BODY" 'pika_http_requests_total{endpoint="plot",status="200"}' "request metrics"
checks=$((checks + 1))
hits=$(printf '%s\n' "$BODY" | awk '$1 == "pika_cache_hits" {print $2}')
[ "${hits:-0}" -ge 2 ] || { echo "FAIL: pika_cache_hits is '${hits}', expected >= 2" >&2; fails=$((fails + 1)); }
contains "$BODY" 'pika_cache_budget_bytes' "cache metrics"
checks=$((checks + 1))
if printf '%s' "$BODY" | grep -q "$TOK"; then echo "FAIL: the token is in the metrics" >&2; fails=$((fails + 1)); fi
req GET /api/workspace
eq "$(jget 'j["version"], j["doc"]')" "(1, None)" "empty workspace"
req PUT /api/workspace -d '{"doc": {"nodes": [{"id": "n1", "sql": "SELECT 1"}], "camera": {"zoom": 1.5}}}'
status 200 "workspace save"
req PUT /api/workspace -d '{"nodoc": 1}'
status 400 "workspace save without doc"
req GET /api/tables
eq "$(jget '[t["name"] for t in j["tables"]]')" "['pts', 'uploaded']" "the workspace table is not listed"
checks=$((checks + 1))
grep -q "$TOK" "$TMP/server.err" && { echo "FAIL: the token is on stderr" >&2; fails=$((fails + 1)); }
stop_server

# ---- restart: the workspace survives; the time limit ------------------------------------
start_server "$TMP/w.duckdb" --query-timeout 1
req GET /api/workspace
status 200 "workspace after restart"
eq "$(jget 'j["doc"]["camera"]["zoom"], j["doc"]["nodes"][0]["id"]')" "(1.5, 'n1')" "workspace survives a restart"
req POST /api/query -d '{"sql": "SELECT count(*) FROM range(1000000) a, range(1000000) b WHERE a.range + b.range = 7"}'
status 504 "query over the time limit"
error_is timeout "query over the time limit"
stop_server

# ---- the density index: zooms through it equal zooms without it -----------------------
# The first server never indexes; the second indexes any density plot of
# 500+ rows in the background. The same plots must come back the same.
DENS='{"plot": "d", "seq": SEQ, "sql": "SELECT * FROM pts", "spec": {"kind": "density", "x": "x", "y": "y"}, "viewport": VP, "width": 300, "height": 200}'
dens() { plot "$(printf '%s' "$DENS" | sed "s/SEQ/$1/; s/VP/$2/")"; }
ZOOM='{"x0": 10.5, "x1": 61.25, "y0": 30, "y1": 410.5}'
start_server "$TMP/w.duckdb" --index-min-rows 0
dens 1 null
g_whole=$(jget 'j["grid"]["v"], j["points"]')
dens 2 "$ZOOM"
g_zoom=$(jget 'j["grid"]["v"], j["points"]')
req GET /api/status
eq "$(jget 'j["cache"]["indexes"]')" 0 "--index-min-rows 0: no index"
stop_server
start_server "$TMP/w.duckdb" --index-min-rows 500
dens 1 null
eq "$(jget 'j["grid"]["v"], j["points"]')" "$g_whole" "whole extent, before the index"
for _ in $(seq 100); do
  req GET /api/status
  [ "$(jget 'j["cache"]["indexes"]')" = 1 ] && break
  sleep 0.1
done
eq "$(jget 'j["cache"]["indexes"], j["cache"]["indexing"]')" "(1, 0)" "a density plot of 1000 rows is indexed"
dens 2 "$ZOOM"
eq "$(jget 'j["grid"]["v"], j["points"]')" "$g_zoom" "a zoom through the index equals the scan"
dens 3 null
eq "$(jget 'j["grid"]["v"], j["points"]')" "$g_whole" "the whole extent through the index equals the scan"
stop_server

# ---- streamed plots: the same picture, then the columns cached behind it ---------------
start_server "$TMP/w.duckdb" --stream-min-rows 500 --index-min-rows 500
dens 1 null
eq "$(jget 'j["grid"]["v"], j["points"]')" "$g_whole" "a streamed density plot equals the cached one"
eq "$(jget 'j["cached"], j["rows"], j["extent"]["x1"], j["extent"]["y1"]')" "(False, 1000, 99.0, 499.5)" "streamed: not cached, rows and extent"
req GET /api/status
eq "$(jget 'j["plots_streamed"]')" 1 "the plot was streamed"
for _ in $(seq 100); do
  req GET /api/status
  [ "$(jget 'j["cache"]["indexes"]')" = 1 ] && break
  sleep 0.1
done
eq "$(jget 'j["cache"]["indexes"]')" 1 "the columns are cached and indexed in the background"
dens 2 "$ZOOM"
eq "$(jget 'j["grid"]["v"], j["points"]')" "$g_zoom" "a zoom after a streamed plot equals the scan"
eq "$(jget 'j["cached"]')" "True" "the zoom comes from the cache"
HEAT='{"plot": "hm", "seq": 1, "sql": "SELECT * FROM pts WHERE x > 3", "spec": {"kind": "heatmap", "x": "x", "y": "y", "bins": 9}}'
plot "$HEAT"
h_stream=$(jget 'j["grid"]["v"], j["points"], j["cached"]')
stop_server
start_server "$TMP/w.duckdb" --stream-min-rows 0
plot "$HEAT"
eq "$(jget 'j["grid"]["v"], j["points"], j["cached"]')" "$h_stream" "a streamed heatmap equals the cached one"
stop_server
PID=

finish
