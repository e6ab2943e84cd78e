#!/usr/bin/env bash
# kernel_twins (targets/kernel_twins.h), the LLVM backend's identical-kernel
# finder, on mlp's loop IR with kernels added by hand: a copy of
# h1_relu_fwd on another buffer of the same type is its twin; copies that
# differ in a bound, a constant, a hint or their parameters are not; two
# kernels that differ only in their outer constants (an outer loop's bound,
# an offset computed outside the vectorised loop) are twins, with those
# constants as arguments, but not when a vectorised loop's constant differs
# too; mobilenet_tiny's batch-norm kernels over 16, 32 and 64 channels of one
# plane are one function each; and resnet20 at -O2 has the 226 twins of its
# 323 kernels that LLVM's mergefunc used to find (97 functions).
#   kernel_twins.sh TWINS_DUMP
set -u
: "${OCTOC:?}" "${MODELS:?}"
dump=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$OCTOC" "$MODELS/mlp.net" --emit=loops -o "$tmp/mlp.loops" || { echo "FAIL: octoc"; exit 1; }
relu() { # relu NAME OUT IN BOUND ZERO HINT
  cat <<K
  kernel $1 from "test" {
    for %s0 in 0 .. %n {
      for %i1 in 0 .. $4$6 {
        store %$2[%s0 * 256 + %i1] = max(load %$3[%s0 * 256 + %i1], $5)
      }
    }
  }
K
}
outer() { # outer NAME ROWS ROW_LENGTH INNER: rows of h1.grad, an inner loop over INNER
  cat <<K
  kernel $1 from "test" {
    for %r0 in 0 .. $2 {
      let %base1 : i32 = %r0 * $3
      for %i2 in 0 .. $4 vectorize {
        store %h1.grad[%base1 + %i2] = max(load %h1.grad[%base1 + %i2], 0.0)
      }
    }
  }
K
}
{
  sed '/^  entry init/,$d' "$tmp/mlp.loops"
  relu copy h1.grad h1.grad 256 0.0 " vectorize"
  relu bound h1.grad h1.grad 255 0.0 " vectorize"
  relu constant h1.grad h1.grad 256 1.0 " vectorize"
  relu hint h1.grad h1.grad 256 0.0 ""
  relu two_buffers h1.grad h1.dense 256 0.0 " vectorize"
  outer outer16 16 16 16
  outer outer8 8 32 16
  outer outer_inner 8 32 32
  sed -n '/^  entry init/,$p' "$tmp/mlp.loops" |
    sed 's/^  entry train_step { /  entry train_step { copy, bound, constant, hint, two_buffers, outer16, outer8, outer_inner, /'
} > "$tmp/t.loops"
"$dump" "$tmp/t.loops" > "$tmp/out" || { echo "FAIL: twins_dump"; exit 1; }
cat "$tmp/out"
grep -qx 'copy -> h1_relu_fwd' "$tmp/out" || { echo "FAIL: copy is not h1_relu_fwd's twin"; exit 1; }
for k in bound constant hint two_buffers; do
  if grep -q "^$k ->" "$tmp/out"; then echo "FAIL: $k was taken for a twin"; exit 1; fi
done
grep -qx 'outer16 (16, 16)' "$tmp/out" || { echo "FAIL: outer16 does not take its outer constants"; exit 1; }
grep -qx 'outer8 -> outer16 (8, 32)' "$tmp/out" || { echo "FAIL: outer8 is not outer16's twin"; exit 1; }
if grep -q "^outer_inner ->" "$tmp/out"; then echo "FAIL: outer_inner was taken for a twin"; exit 1; fi
grep -qx '2 of .* kernels are twins' "$tmp/out" || { echo "FAIL: expected two twins"; exit 1; }

"$OCTOC" "$MODELS/mobilenet_tiny.net" --emit=loops -o "$tmp/m.loops" || { echo "FAIL: octoc"; exit 1; }
"$dump" "$tmp/m.loops" > "$tmp/m.out" || { echo "FAIL: twins_dump"; exit 1; }
grep -qx 'b1_batchnorm_fwd -> stem_batchnorm_fwd (32, 32, 32, 32)' "$tmp/m.out" ||
  { echo "FAIL: mobilenet_tiny's 14x14 batch-norms are not one function"; exit 1; }
grep -qx 'b3_batchnorm_fwd -> b2_dw_batchnorm_fwd (64, 64, 64, 64)' "$tmp/m.out" ||
  { echo "FAIL: mobilenet_tiny's 7x7 batch-norms are not one function"; exit 1; }

"$OCTOC" "$MODELS/resnet20.net" --emit=loops -o "$tmp/r.loops" || { echo "FAIL: octoc"; exit 1; }
"$dump" "$tmp/r.loops" | tail -1 | tee "$tmp/r.out"
grep -qx '226 of 323 kernels are twins' "$tmp/r.out" || { echo "FAIL: resnet20's twins"; exit 1; }
echo PASS
