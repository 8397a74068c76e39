# The command line's contract: help for every command, one-line errors with
# status 64, versions read from the loaded libraries (git's t0012-help.sh).
. "$(dirname "$0")/lib.bash"

expect 0 "$PIKA" --help
main_help=$OUT
contains "$main_help" "exit status" "--help lists exit codes"
contains "$main_help" " 64 " "--help lists EX_USAGE"

# Every command listed by --help answers `pika CMD --help`, `pika help CMD`
# and -h with the same usage text.
cmds=$(printf '%s\n' "$main_help" | sed -n '/^commands:/,/^$/p' | awk 'NF>1 {print $1}')
[ -n "$cmds" ] || { echo "FAIL: no commands parsed from --help" >&2; fails=$((fails + 1)); }
for c in $cmds; do
  expect 0 "$PIKA" "$c" --help && usage=$OUT
  contains "$usage" "usage: pika $c" "pika $c --help"
  expect 0 "$PIKA" help "$c" && [ "$OUT" = "$usage" ] ||
    { echo "FAIL: 'pika help $c' differs from 'pika $c --help'" >&2; fails=$((fails + 1)); }
  expect 0 "$PIKA" "$c" -h
  # A bad option: exactly one line on stderr naming it and the way to help.
  expect 64 "$PIKA" "$c" --no-such-option
  [ "$(line_count "$ERR")" -eq 1 ] || { echo "FAIL: '$c --no-such-option' printed more than one line" >&2; fails=$((fails + 1)); }
  contains "$ERR" "--no-such-option" "error names the option"
  contains "$ERR" "pika $c --help" "error names the way to help"
done

expect 64 "$PIKA" no-such-command
[ "$(line_count "$ERR")" -eq 1 ] || { echo "FAIL: unknown command error is not one line" >&2; fails=$((fails + 1)); }
contains "$ERR" "no-such-command" "unknown command is named"
contains "$ERR" "pika --help" "unknown command points to help"

expect 64 "$PIKA" --no-such-global
expect 64 "$PIKA"
expect 64 "$PIKA" help no-such-command

# --version names DuckDB 1.4.4, which proves libduckdb.so links and loads.
expect 0 "$PIKA" --version
contains "$OUT" "pika 0." "--version names pika"
contains "$OUT" "duckdb v1.4.4" "--version names DuckDB 1.4.4"
expect 0 "$PIKA" version
expect 64 "$PIKA" version extra-arg

finish
