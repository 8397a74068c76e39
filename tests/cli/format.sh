# The code follows .clang-format (the style is part of the build, not advice).
. "$(dirname "$0")/lib.bash"
cd "${PIKA_SOURCE_DIR:?}"
files=$(git ls-files '*.c' '*.h' '*.cpp' 2>/dev/null || find src tests bench -name '*.[ch]')
checks=1
if ! clang-format --dry-run --Werror $files 2>"$TMP/fmt"; then
  head -40 "$TMP/fmt" >&2
  echo "FAIL: run 'make format'" >&2
  fails=1
fi
finish
