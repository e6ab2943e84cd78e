#!/usr/bin/env bash
# octoc M.net --emit=loops, then octoc M.loops --emit=c --main, writes the
# same .c, .h and _main.c as octoc M.net --emit=c --main: loop IR text keeps
# everything the backend needs. Every model in MODELS and the float-target
# test models. Environment: OCTOC, MODELS (tests/meson.build); argument: the
# source root.
set -u
: "${OCTOC:?}" "${MODELS:?}"
root=$1
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0 count=0
for m in "$MODELS"/*.net "$root"/tests/regression/*.net "$root"/tests/trainer/*.net; do
  n=$(basename "$m" .net)
  mkdir -p "$tmp/net/$n" "$tmp/loops/$n"
  "$OCTOC" "$m" --emit=loops -o "$tmp/$n.loops" &&
    "$OCTOC" "$tmp/$n.loops" --emit=c --main -o "$tmp/loops/$n/t.c" &&
    "$OCTOC" "$m" --emit=c --main -o "$tmp/net/$n/t.c" || { echo "FAIL: $n: octoc failed"; fail=1; continue; }
  if diff -r "$tmp/net/$n" "$tmp/loops/$n" > "$tmp/diff"; then
    count=$((count + 1))
  else
    echo "FAIL: $n: the C from its loop IR differs:"; head -20 "$tmp/diff"; fail=1
  fi
done
[ "$count" -gt 0 ] || { echo "no models" >&2; exit 1; }
[ "$fail" = 0 ] && echo "PASS: $count models give the same C from .net and from .loops"
exit "$fail"
