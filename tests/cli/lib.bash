# lib.bash — helpers for the shell tests in tests/cli/ (sourced, not run).
# Each test script runs with $PIKA set to the binary under test (by ctest).
set -u
: "${PIKA:?PIKA must name the pika binary}"
fails=0
checks=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# expect STATUS CMD... : runs CMD, captures stdout/stderr in $OUT/$ERR.
expect() {
  local want=$1
  shift
  checks=$((checks + 1))
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
  if [ "$got" != "$want" ]; then
    echo "FAIL: '$*' exited $got, expected $want" >&2
    echo "  stdout: $OUT" >&2
    echo "  stderr: $ERR" >&2
    fails=$((fails + 1))
    return 1
  fi
}

# contains HAYSTACK NEEDLE DESCRIPTION
contains() {
  checks=$((checks + 1))
  case "$1" in
  *"$2"*) ;;
  *)
    echo "FAIL: $3: '$2' not found in:" >&2
    printf '%s\n' "$1" | head -20 >&2
    fails=$((fails + 1))
    ;;
  esac
}

# line_count TEXT -> number of non-empty lines
line_count() { printf '%s\n' "$1" | grep -c .; }

finish() {
  echo "$((checks - fails)) passed, $fails failed"
  [ "$fails" -eq 0 ]
}
