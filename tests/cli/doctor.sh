# `pika doctor` runs the real runtime and DuckDB and says so; bad input is
# refused with the documented statuses.
. "$(dirname "$0")/lib.bash"

expect 0 "$PIKA" doctor --items 20000
contains "$OUT" "DuckDB v1.4.4" "doctor names DuckDB"
contains "$OUT" "20000 items verified" "runtime self-test ran every item"
contains "$OUT" "CPU tokens" "governor sizing shown"
contains "$OUT" "I/O tokens" "device detection shown"
contains "$OUT" "pressure" "memory pressure shown"
contains "$OUT" "result verified" "DuckDB query verified"
contains "$OUT" "all checks passed" "verdict"

expect 64 "$PIKA" doctor --items 0
expect 64 "$PIKA" doctor --items abc
expect 64 "$PIKA" doctor --items
contains "$ERR" "needs a value" "missing value named"
expect 66 "$PIKA" doctor --path /no/such/dir
contains "$ERR" "/no/such/dir" "missing path named"
finish
