#!/usr/bin/env bash
# A C compiler octoc runs that is not installed, or that stops because the
# C library's headers are missing, is an error naming the Debian packages
# to install (issue 10 item 1): tried with a PATH without the compiler and
# with fake compilers (scripts in a scratch bin folder) that print gcc's and
# clang's missing-header messages and fail.
set -u
: "${OCTOC:?}" "${MODELS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
mkdir "$tmp/empty" "$tmp/fake"

# run WANT_STATUS WANT_TEXT DESCRIPTION -- ENV...: octoc with env, stderr kept
run() {
  local want=$1 text=$2 what=$3
  shift 4
  (cd "$tmp" && env "$@" "$OCTOC" "$MODELS/mlp.net" --backend=c -o out.o ${TARGET:+-target "$TARGET"}) \
    >/dev/null 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF "$text" "$tmp/err"; then
    echo "FAIL: $what: exit $got (want $want), stderr:"; sed 's/^/  /' "$tmp/err" | head -5
    fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
  [ ! -e "$tmp/out.o" ] || { echo "FAIL: $what: out.o was written"; fails=$((fails + 1)); rm -f "$tmp/out.o"; }
}

TARGET=armv7 run 1 "octoc: error: cannot run arm-linux-gnueabihf-gcc: No such file or directory (Debian: apt install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)" \
  "armv7 without its cross gcc" -- PATH="$tmp/empty"
TARGET='' run 1 "octoc: error: cannot run cc: No such file or directory (Debian: apt install gcc libc6-dev)" \
  "host without cc" -- PATH="$tmp/empty" CC=

# gcc's message for a missing header, from a cross gcc without its libc.
cat > "$tmp/fake/arm-linux-gnueabihf-gcc" <<'SH'
#!/bin/sh
echo "lenet5.c:1:10: fatal error: bits/libc-header-start.h: No such file or directory" >&2
echo "compilation terminated." >&2
exit 1
SH
# clang's, for the host compiler.
cat > "$tmp/fake/clang-19" <<'SH'
#!/bin/sh
echo "lenet5.c:3:10: fatal error: 'stdio.h' file not found" >&2
exit 1
SH
# A compiler failing for another reason keeps the plain message.
cat > "$tmp/fake/cc" <<'SH'
#!/bin/sh
echo "lenet5.c:1:1: error: something else" >&2
exit 1
SH
chmod +x "$tmp/fake/"*
TARGET=armv7 run 1 "octoc: error: arm-linux-gnueabihf-gcc failed: the C library header 'bits/libc-header-start.h' is missing (Debian: apt install libc6-dev-armhf-cross)" \
  "armv7 cross gcc without its libc headers" -- PATH="$tmp/fake"
TARGET='' run 1 "octoc: error: clang-19 failed: the C library header 'stdio.h' is missing (Debian: apt install libc6-dev)" \
  "host clang-19 without stdio.h" -- PATH="$tmp/fake" CC=clang-19
TARGET='' run 1 "octoc: error: cc failed (exit status 1)" "another compiler error" -- PATH="$tmp/fake" CC=
# The compiler's own messages still reach stderr.
grep -q "error: something else" "$tmp/err" || { echo "FAIL: cc's message was lost"; fails=$((fails + 1)); }

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
