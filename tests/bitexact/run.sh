#!/usr/bin/env bash
# tests/bitexact/run.sh: every model of models/ and every float-target test
# model, compiled by this octoc, runs 100 train steps through harness.c; the
# losses (as bits), a predict checksum and the final state's checksum must
# equal expected/NAME.txt, recorded from the compiler before the "make room"
# refactor of issue 9 (wide_taps: recorded from ba436f3, whose lowering still
# unrolled every tap, issue 10 item 11). `run.sh --record` rewrites the table (only when a
# change is meant to change the numbers; say so in the commit).
# BACKEND=llvm: octoc's LLVM backend writes the object (model.o, model.h)
# and the same table must come out bit for bit; BACKEND=c (default): the
# C source compiled by CC.
# Environment: OCTOC, CC (default cc), SRC (project root), BACKEND.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SRC:-$(cd "$here/../.." && pwd)}
octoc=${OCTOC:?OCTOC must name the octoc binary}
cc=${CC:-cc}
backend=${BACKEND:-c}
record=0
[ "${1:-}" = --record ] && record=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail=0
while read -r name model opts; do
  case "$name" in ''|'#'*) continue ;; esac
  d="$tmp/$name"
  mkdir -p "$d"
  # shellcheck disable=SC2086
  if [ "$backend" = llvm ]; then
    "$octoc" "$src/$model" $opts --backend=llvm -o "$d/model.o"
    code="$d/model.o"
  else
    "$octoc" "$src/$model" $opts --emit=c -o "$d/model.c"
    code="$d/model.c"
  fi
  pfxu=$(sed -n 's/^#define \([A-Za-z0-9_]*\)_BATCH .*/\1/p' "$d/model.h" | head -1)
  pfx=$(sed -n 's/^int \([A-Za-z0-9_]*\)_init(.*/\1/p' "$d/model.h" | head -1)
  u8=()
  grep -q 'const uint8_t \*x' "$d/model.h" && u8=(-DOCTO_INPUT_U8)
  "$cc" -std=c11 -O2 -I"$d" -include "$d/model.h" -DPFX="$pfx" -DPFXU="$pfxu" "${u8[@]}" \
    -o "$d/run" "$here/harness.c" "$code" -lm
  "$d/run" > "$d/out.txt"
  if [ "$record" = 1 ] && [ "$backend" = c ]; then
    mkdir -p "$here/expected"
    cp "$d/out.txt" "$here/expected/$name.txt"
    echo "recorded $name"
  elif cmp -s "$d/out.txt" "$here/expected/$name.txt"; then
    echo "ok $name ($backend)"
  else
    echo "FAIL $name ($backend): the trainer's numbers changed"
    diff "$here/expected/$name.txt" "$d/out.txt" | head -8
    fail=1
  fi
done < "$here/cases.txt"
exit $fail
