#!/usr/bin/env bash
# octoc stopped by SIGINT, SIGTERM or SIGHUP while writing an output removes
# its temporary file and dies of the signal (stopped mid-write every time:
# stop_mid_write.sh).
#   interrupted.sh      (env: OCTOC, MODELS)
set -u
: "${OCTOC:?}" "${MODELS:?}"
# shellcheck source=tests/cli/stop_mid_write.sh
. "$(dirname "$0")/stop_mid_write.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# lenet5's loop IR (125 kB) is larger than a pipe holds (64 kB).
for sig in INT TERM HUP; do
  d=$tmp/$sig
  mkdir "$d"
  stop_mid_write "$sig" "$d/out.loops" -- \
    "$OCTOC" "$MODELS/lenet5.net" --emit=loops -o "$d/out.loops" 2> "$d/err"
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
