#!/usr/bin/env bash
# The loop IR's exp, log, cos and pow (passes/expand_math.c) give the same
# bits on another architecture: unary.loops and pow.loops compiled by octoc
# to C, math_ulp.c built with the host's cc and with the Debian cross gcc
# (-static, run under qemu user mode), and both print the hash of every
# result (math_ulp --digest: every 65537th f32 input, 200000 pow pairs).
#   cross_bits.sh TARGET      TARGET: armv7 | aarch64 | riscv64
# Exit 77 (skip) when the cross compiler or qemu is missing.
set -u
: "${OCTOC:?}"
target=$1
here=$(cd "$(dirname "$0")" && pwd)
case $target in
  armv7) gcc=arm-linux-gnueabihf-gcc qemu=qemu-arm ;;
  aarch64) gcc=aarch64-linux-gnu-gcc qemu=qemu-aarch64 ;;
  riscv64) gcc=riscv64-linux-gnu-gcc qemu=qemu-riscv64 ;;
  *) echo "unknown target '$target'"; exit 2 ;;
esac
for p in "$gcc" "$qemu" cc; do
  command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$OCTOC" "$here/unary.loops" -o "$tmp/mathu.c" && "$OCTOC" "$here/pow.loops" -o "$tmp/mathp.c" ||
  { echo "FAIL: octoc"; exit 1; }
for c in cc "$gcc"; do
  "$c" -O2 -std=c11 -I"$tmp" "$here/math_ulp.c" "$tmp/mathu.c" "$tmp/mathp.c" -lm -static \
    -o "$tmp/$c" || { echo "FAIL: $c"; exit 1; }
done
"$tmp/cc" --digest 65537 200000 > "$tmp/host.txt" || { echo "FAIL: host run"; exit 1; }
"$qemu" "$tmp/$gcc" --digest 65537 200000 > "$tmp/cross.txt" || { echo "FAIL: $qemu run"; exit 1; }
paste "$tmp/host.txt" "$tmp/cross.txt" | sed "s/^/host | $target: /"
[ "$(wc -l < "$tmp/host.txt")" -eq 4 ] || { echo "FAIL: expected 4 digests"; exit 1; }
cmp -s "$tmp/host.txt" "$tmp/cross.txt" || { echo "FAIL: $target computes other bits"; exit 1; }
echo PASS
