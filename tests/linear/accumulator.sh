#!/bin/bash
# An int8 x int8 reduction longer than int32 holds (DESIGN.md section 5):
# the conv weight gradient of acc_check.c over BATCH x SIZE x SIZE terms,
# all 127 x 127. Cases: many samples (each sample's int32 sum widened into
# int64) and one sample longer than 133 144 terms (int32 chunks of one
# row widened into int64). Usage: accumulator.sh
set -u
: "${OCTOC:?}" "${SRCDIR:?}"
CC=${CC:-cc}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
failed=0
for c in "16 128" "1 384"; do
  read -r batch size <<< "$c"
  d="$tmp/$batch.$size"; mkdir -p "$d"
  cat > "$d/acc.net" <<NET
network acc {
  input x: f32[1, $size, $size];
  c = conv2d(x, filters=1, kernel=[1,1], bias=false);
  loss = mse(flatten(c), flatten(x));
}
NET
  if ! "$OCTOC" "$d/acc.net" --batch "$batch" --precision int8 --set rounding.forward=nearest \
       --set optimizer.momentum=0 --set optimizer.lr=1 -o "$d/acc.c" ||
     ! $CC -O2 -std=c11 -Wall -Wextra -Werror -I"$d" -o "$d/check" "$SRCDIR/acc_check.c" "$d/acc.c" -lm; then
    echo "FAIL batch $batch size $size: build"; failed=1; continue
  fi
  "$d/check" || failed=1
done
exit $failed
