#!/bin/bash
# The pair form's chunked reduction (docs/int8.md, "Accumulators"): a dense
# layer of 32 units (the pair form: 32 or more columns) over 140 006
# features, more than the 133 144 int8 terms an int32 sum holds, all at
# +-127 (pair_acc_check.c). 140 006 is 70 003 pairs: two chunks of whole
# register blocks and a last pass of 3 pairs. The chunk loop must be in the
# forward kernel's loops. Usage: pair_accumulator.sh [quads]
# quads: the quad form instead (int8 quads summed by dot4_i8: the LLVM
# backend for -target aarch64 -mattr=+dotprod, run under qemu-aarch64):
# 140 006 features are 35 002 quads, two chunks of at most 33 284 quads
# (133 136 terms) and a last pass of 2 quads. Exit 77 (skip) without the
# aarch64 cross gcc or qemu-aarch64.
set -u
form=${1:-pairs}
: "${OCTOC:?}" "${SRCDIR:?}"
CC=${CC:-cc}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/pacc.net" <<NET
network pacc {
  input x: f32[140006];
  label t: f32[32];
  y = dense(x, units=32);
  loss = mse(y, t);
}
NET
args=("$tmp/pacc.net" --batch 32 --precision int8 --set rounding.forward=nearest)
step=dot2_i16
if [ "$form" = quads ]; then
  for p in aarch64-linux-gnu-gcc qemu-aarch64; do
    command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
  done
  args+=(--backend=llvm -target aarch64 -mattr=+dotprod)
  step=dot4_i8
fi
"$OCTOC" "${args[@]}" --emit=loops > "$tmp/pacc.loops" || { echo "FAIL: --emit=loops"; exit 1; }
# the forward kernel widens int32 chunks into its int64 totals, of $step steps
if ! sed -n '/kernel y_fwd /,/^  }/p' "$tmp/pacc.loops" | grep -q 'store %y_fwd.acc64\[.*i64(load %y_fwd.acc32'; then
  echo "FAIL: y_fwd has no chunked int64 widening"; exit 1
fi
if ! sed -n '/kernel y_fwd /,/^  }/p' "$tmp/pacc.loops" | grep -q "= $step("; then
  echo "FAIL: y_fwd's steps are not $step"; exit 1
fi
if [ "$form" = quads ]; then
  if ! "$OCTOC" "${args[@]}" -o "$tmp/pacc.o" ||
     ! aarch64-linux-gnu-gcc -O2 -std=c11 -Wall -Wextra -Werror -static -I"$tmp" -o "$tmp/check" \
         "$SRCDIR/pair_acc_check.c" "$tmp/pacc.o" -lm; then
    echo "FAIL: build"; exit 1
  fi
  qemu-aarch64 "$tmp/check"
  exit
fi
if ! "$OCTOC" "${args[@]}" -o "$tmp/pacc.c" ||
   ! $CC -O2 -std=c11 -Wall -Wextra -Werror -I"$tmp" -o "$tmp/check" "$SRCDIR/pair_acc_check.c" \
       "$tmp/pacc.c" -lm; then
  echo "FAIL: build"; exit 1
fi
"$tmp/check"
