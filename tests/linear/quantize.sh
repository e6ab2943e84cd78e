#!/bin/bash
# The quantize kernel through generated code (quant_check.c): ties to even,
# saturation at +-127, the scale of an all-zero tensor, stochastic rounding
# unbiased (and nearest rounding visibly biased on the same statistic).
set -u
: "${OCTOC:?}" "${SRCDIR:?}"
CC=${CC:-cc}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/q.net" <<NET
network q {
  input x: f32[1000];
  label y: class[2];
  l = dense(x, units=2);
  loss = softmax_cross_entropy(l, y);
}
NET
failed=0
for rounding in nearest stochastic; do
  d="$tmp/$rounding"; mkdir -p "$d"
  opts=(--batch 1 --precision int8 --set rounding.forward=$rounding --set optimizer.lr=1e-9)
  if ! "$OCTOC" "$tmp/q.net" "${opts[@]}" -o "$d/q.c" ||
     ! "$OCTOC" "$tmp/q.net" "${opts[@]}" --emit=loops -o "$d/q.loops" ||
     ! $CC -O2 -std=c11 -Wall -Wextra -Werror -I"$d" -o "$d/check" "$SRCDIR/quant_check.c" "$d/q.c" -lm; then
    echo "FAIL: build ($rounding)"; exit 1
  fi
  qo=$(sed -n 's/^ *buffer %x\.q : .* work @\([0-9]*\).*/\1/p' "$d/q.loops")
  so=$(sed -n 's/^ *buffer %x\.scale : .* work @\([0-9]*\).*/\1/p' "$d/q.loops")
  [ -n "$qo" ] && [ -n "$so" ] || { echo "FAIL: no x.q / x.scale in the loop IR"; exit 1; }
  if [ $rounding = nearest ]; then modes="nearest saturate zero biased"; else modes="saturate zero stochastic"; fi
  for mode in $modes; do
    "$d/check" $mode "$qo" "$so" || { echo "FAIL: $mode ($rounding)"; failed=1; }
  done
done
exit $failed
