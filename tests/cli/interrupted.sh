#!/usr/bin/env bash
# octoc stopped by SIGINT, SIGTERM or SIGHUP while writing an output removes
# its temporary file and dies of the signal. To stop it mid-write every
# time, its temporary name (OUT.tmp.<pid>: the pid is known before octoc
# starts, since `exec` keeps the shell's) is made a FIFO whose reader never
# reads: octoc blocks once the pipe is full, with its output half written.
#   interrupted.sh      (env: OCTOC, MODELS)
set -u
: "${OCTOC:?}" "${MODELS:?}"
# Job control: without it, bash starts background commands with SIGINT ignored.
set -m
tmp=$(mktemp -d)
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# lenet5's loop IR (125 kB) is larger than a pipe holds (64 kB).
for sig in INT TERM HUP; do
  d=$tmp/$sig
  mkdir "$d"
  sh -c 'mkfifo "$1/out.loops.tmp.$$" && exec "$2" "$3" --emit=loops -o "$1/out.loops"' \
    sh "$d" "$OCTOC" "$MODELS/lenet5.net" 2> "$d/err" &
  pid=$!
  for _ in $(seq 200); do [ -p "$d/out.loops.tmp.$pid" ] && break; sleep 0.05; done
  sleep 60 < "$d/out.loops.tmp.$pid" &  # opens the FIFO for reading, never reads
  holder=$!
  # Wait until octoc has the file open (and then a little, for it to fill the pipe).
  for _ in $(seq 600); do
    ls -l "/proc/$pid/fd" 2> /dev/null | grep -q "out.loops.tmp.$pid" && break
    sleep 0.05
  done
  sleep 0.5
  kill -s "$sig" "$pid"
  wait "$pid"
  status=$?
  kill "$holder" 2> /dev/null
  wait "$holder" 2> /dev/null
  holder=
  want=$((128 + $(kill -l "$sig")))
  [ "$status" -eq "$want" ] || fail "SIG$sig: exit status $status, expected $want: $(cat "$d/err")"
  left=$(ls "$d" | grep -v '^err$')
  if [ -n "$left" ]; then
    fail "SIG$sig: left $left"
  else
    echo "ok: SIG$sig mid-write: exit $status, nothing left"
  fi
done

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
