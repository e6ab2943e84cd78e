#!/usr/bin/env bash
# kernel_twins (targets/kernel_twins.h), the LLVM backend's identical-kernel
# finder, on mlp's loop IR with kernels added by hand: a copy of
# h1_relu_fwd on another buffer of the same type is its twin; copies that
# differ in a bound, a constant, a hint or their parameters are not; and
# resnet20 at -O2 has the 226 twins of its 323 kernels that LLVM's
# mergefunc used to find (97 functions).
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
{
  sed '/^  entry init/,$d' "$tmp/mlp.loops"
  relu copy h1.grad h1.grad 256 0.0 " vectorize"
  relu bound h1.grad h1.grad 255 0.0 " vectorize"
  relu constant h1.grad h1.grad 256 1.0 " vectorize"
  relu hint h1.grad h1.grad 256 0.0 ""
  relu two_buffers h1.grad h1.dense 256 0.0 " vectorize"
  sed -n '/^  entry init/,$p' "$tmp/mlp.loops" |
    sed 's/^  entry train_step { /  entry train_step { copy, bound, constant, hint, two_buffers, /'
} > "$tmp/t.loops"
"$dump" "$tmp/t.loops" > "$tmp/out" || { echo "FAIL: twins_dump"; exit 1; }
cat "$tmp/out"
grep -qx 'copy -> h1_relu_fwd' "$tmp/out" || { echo "FAIL: copy is not h1_relu_fwd's twin"; exit 1; }
for k in bound constant hint two_buffers; do
  if grep -q "^$k ->" "$tmp/out"; then echo "FAIL: $k was taken for a twin"; exit 1; fi
done
grep -qx '1 of .* kernels are twins' "$tmp/out" || { echo "FAIL: expected one twin"; exit 1; }

"$OCTOC" "$MODELS/resnet20.net" --emit=loops -o "$tmp/r.loops" || { echo "FAIL: octoc"; exit 1; }
"$dump" "$tmp/r.loops" | tail -1 | tee "$tmp/r.out"
grep -qx '226 of 323 kernels are twins' "$tmp/r.out" || { echo "FAIL: resnet20's twins"; exit 1; }
echo PASS
