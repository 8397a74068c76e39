# Outputs that name a device or a FIFO are written in place: pika never
# renames a temporary file over them (which would turn /dev/null into a
# regular file for everyone).
. "$(dirname "$0")/lib.bash"
cd "$TMP"
still_fifo() {
  checks=$((checks + 1))
  [ -p "$1" ] || { echo "FAIL: $2: $1 is no longer a FIFO" >&2; fails=$((fails + 1)); }
}
printf 'a,b\n1,2\n' >in.csv
"$PIKA" pipe process in.csv -o in --stages zstd >/dev/null 2>&1

mkfifo q.fifo
cat q.fifo >q.out &
expect 0 "$PIKA" query -f csv -o q.fifo "SELECT 42 AS answer"
wait
contains "$(cat q.out)" "42" "query output read from the FIFO"
still_fifo q.fifo "pika query -o FIFO"

mkfifo r.fifo
cat r.fifo >r.out &
expect 0 "$PIKA" pipe restore in.adapipe -o r.fifo
wait
checks=$((checks + 1))
cmp -s in.csv r.out || { echo "FAIL: restore through a FIFO differs" >&2; fails=$((fails + 1)); }
still_fifo r.fifo "pika pipe restore -o FIFO"

mkfifo p.png
cat p.png >p.out &
expect 0 "$PIKA" plot --sql "SELECT range AS x FROM range(100)" --kind histogram --x x -o p.png
wait
checks=$((checks + 1))
[ "$(head -c 8 p.out | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  { echo "FAIL: the PNG through a FIFO is not a PNG" >&2; fails=$((fails + 1)); }
still_fifo p.png "pika plot -o FIFO"

# /dev/null itself: still a character device afterwards.
expect 0 "$PIKA" query -f csv -o /dev/null "SELECT 1"
expect 0 "$PIKA" pipe restore in.adapipe -o /dev/null
checks=$((checks + 1))
[ -c /dev/null ] || { echo "FAIL: /dev/null is no longer a device" >&2; fails=$((fails + 1)); }
finish
