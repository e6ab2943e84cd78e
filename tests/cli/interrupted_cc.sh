#!/usr/bin/env bash
# octoc stopped by SIGINT, SIGTERM or SIGHUP while its C compiler runs stops
# the compiler and everything the compiler's driver started, removes its
# private folder under $TMPDIR, and dies of the signal. The C compiler is a
# fake ($CC): a driver that starts a long "compiler" process and waits, as
# gcc's driver does with cc1 (which outlives a driver stopped on its own).
#   interrupted_cc.sh      (env: OCTOC, MODELS)
set -u
: "${OCTOC:?}" "${MODELS:?}"
set -m # job control: background commands get SIGINT like foreground ones
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat > "$tmp/fake-cc" <<'CC'
#!/bin/sh
# A shell starts background commands with SIGINT ignored; cc1 does not ignore it.
sh -c 'echo $$ > "$0/compiler.pid"; exec env --default-signal=INT sleep 300' "$MARK" &
wait
CC
chmod +x "$tmp/fake-cc"

for sig in INT TERM HUP; do
  d=$tmp/$sig
  mkdir -p "$d/tmpdir" "$d/mark" "$d/out"
  MARK=$d/mark TMPDIR=$d/tmpdir CC=$tmp/fake-cc \
    "$OCTOC" "$MODELS/lenet5.net" --backend=c --emit=obj -o "$d/out/t.o" 2> "$d/err" &
  pid=$!
  for _ in $(seq 300); do [ -s "$d/mark/compiler.pid" ] && break; sleep 0.1; done
  if [ ! -s "$d/mark/compiler.pid" ]; then
    fail "SIG$sig: the fake compiler never started: $(cat "$d/err")"
    kill -KILL "$pid"
    continue
  fi
  compiler=$(cat "$d/mark/compiler.pid")
  kill "-$sig" "$pid"
  wait "$pid"
  status=$?
  want=$((128 + $(kill -l "$sig")))
  [ "$status" -eq "$want" ] || fail "SIG$sig: exit status $status, expected $want: $(cat "$d/err")"
  for _ in $(seq 50); do kill -0 "$compiler" 2> /dev/null || break; sleep 0.1; done
  if kill -0 "$compiler" 2> /dev/null; then
    fail "SIG$sig: the compiler (pid $compiler) still runs"
    kill -KILL "$compiler"
  fi
  left=$(ls -A "$d/tmpdir" "$d/out")
  [ -z "$(ls -A "$d/tmpdir")$(ls -A "$d/out")" ] || fail "SIG$sig: left $left"
  [ "$fails" -eq 0 ] && echo "ok: SIG$sig while the C compiler runs: exit $status, compiler stopped, nothing left"
done

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
