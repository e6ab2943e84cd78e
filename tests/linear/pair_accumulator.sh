#!/bin/bash
# The pair form's chunked reduction (docs/int8.md, "Accumulators"): a dense
# layer of 32 units (the pair form: 32 or more columns) over 140 006
# features, more than the 133 144 int8 terms an int32 sum holds, all at
# +-127 (pair_acc_check.c). 140 006 is 70 003 pairs: two chunks of whole
# register blocks and a last pass of 3 pairs. The chunk loop must be in the
# forward kernel's loops. Usage: pair_accumulator.sh
set -u
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
"$OCTOC" "${args[@]}" --emit=loops > "$tmp/pacc.loops" || { echo "FAIL: --emit=loops"; exit 1; }
# the forward kernel widens int32 chunks into its int64 totals
if ! sed -n '/kernel y_fwd /,/^  }/p' "$tmp/pacc.loops" | grep -q 'store %y_fwd.acc64\[.*i64(load %y_fwd.acc32'; then
  echo "FAIL: y_fwd has no chunked int64 widening"; exit 1
fi
if ! "$OCTOC" "${args[@]}" -o "$tmp/pacc.c" ||
   ! $CC -O2 -std=c11 -Wall -Wextra -Werror -I"$tmp" -o "$tmp/check" "$SRCDIR/pair_acc_check.c" \
       "$tmp/pacc.c" -lm; then
  echo "FAIL: build"; exit 1
fi
"$tmp/check"
