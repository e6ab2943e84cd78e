#!/bin/bash
# Compile-and-run checks of the conv2d/dense lowering: each case writes a
# model `m` from a layer spec, compiles it with $OCTOC (SGD lr 1, momentum 0),
# builds linear_check.c with it and compares forward values and gradients
# with the driver's double-precision reference. Usage: run.sh [GROUP]
# LINEAR_QUADS=1 (with LINEAR_INT8=1): the int8 products' quad form (int8
# quads summed by dot4_i8, Arm's sdot): each model is built by the LLVM
# backend for -target aarch64 -mattr=+dotprod, linked by the aarch64 cross
# gcc and run under qemu-aarch64 (exit 77, skip, without them).
# LINEAR_QUADS=vnni: the quad form of x86's vpdpbusd path on this host (A's
# quads moved into unsigned range, dot4_u8i8, the sums corrected by B's
# column sums), vpdpbusd written as plain IR (OCTO_EMULATE_VNNI=1,
# docs/llvm-backend.md).
# LINEAR_QUADS=vnni-hw: the same with vpdpbusd itself, run by this CPU
# (-mcpu=native; exit 77 unless it has AVX512-VNNI with AVX512VL or
# AVX-VNNI).
set -u
: "${OCTOC:?}" "${SRCDIR:?}"
CC=${CC:-cc}
CFLAGS=${LINEAR_CFLAGS:--O2}
quads=${LINEAR_QUADS:-0} run=
if [ "$quads" = 1 ]; then
  for p in aarch64-linux-gnu-gcc qemu-aarch64; do
    command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
  done
  CC=aarch64-linux-gnu-gcc CFLAGS="-O2 -static" run=qemu-aarch64
elif [ "$quads" = vnni ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "SKIP: not an x86-64 host"; exit 77; }
  export OCTO_EMULATE_VNNI=1
elif [ "$quads" = vnni-hw ]; then
  [ "$(uname -m)" = x86_64 ] || { echo "SKIP: not an x86-64 host"; exit 77; }
  flags=$(grep -m1 '^flags' /proc/cpuinfo)
  grep -qw avx_vnni <<< "$flags" || { grep -qw avx512_vnni <<< "$flags" && grep -qw avx512vl <<< "$flags"; } ||
    { echo "SKIP: this CPU has neither AVX-VNNI nor AVX512-VNNI with AVX512VL"; exit 77; }
fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
filter=${1:-}
failed=0 ran=0 quad_cases=0
# the quads' step: Arm's signed dot4_i8; on x86 A moved into unsigned
# range, dot4_u8i8 (vpdpbusd), the sums corrected once
quad_fn=dot4_i8
[ "$quads" = vnni ] || [ "$quads" = vnni-hw ] && quad_fn=dot4_u8i8

# net IN LAYER...: the .net text of a chain of layers l0, l1, ... into the loss.
net() {
  local in=$1; shift
  local prev=x i=0 flat=0 units=0
  echo "network m {"
  echo "  input x: f32[$in];"
  local last=${!#}
  units=$(echo "$last" | sed 's/dense:\([0-9]*\),.*/\1/')
  echo "  label y: class[$units];"
  for l in "$@"; do
    local b
    case $l in
    conv:*)
      IFS=, read -r f kh kw sh sw ph pw g bias <<< "${l#conv:}"
      b=$([ "$bias" = 1 ] && echo true || echo false)
      echo "  l$i = conv2d($prev, filters=$f, kernel=[$kh,$kw], stride=[$sh,$sw], pad=[$ph,$pw], groups=$g, bias=$b);"
      ;;
    dense:*)
      IFS=, read -r u bias <<< "${l#dense:}"
      b=$([ "$bias" = 1 ] && echo true || echo false)
      if [ $flat = 0 ]; then prev="flatten($prev)"; flat=1; fi
      echo "  l$i = dense($prev, units=$u, bias=$b);"
      ;;
    esac
    prev=l$i; i=$((i + 1))
  done
  echo "  loss = softmax_cross_entropy($prev, y);"
  echo "}"
}

# check GROUP NAME BATCH N IN LAYER...: compile the model at BATCH, run N
# samples (only the cases of GROUP when run.sh is given one).
check() {
  local group=$1 name=$2 batch=$3 n=$4 in=$5; shift 5
  [ -z "$filter" ] || [ "$filter" = "$group" ] || return
  ran=$((ran + 1))
  local d="$tmp/$name" cin hw
  mkdir -p "$d"
  net "$in" "$@" > "$d/m.net"
  # the driver takes in=C,H,W: a flat input is C=F, H=W=1
  IFS=, read -r cin h w <<< "$in"
  hw="in=$cin,${h:-1},${w:-1}"
  local opts=(--batch "$batch" --set optimizer.momentum=0 --set optimizer.lr=1)
  # LINEAR_INT8=1: the int8 kernels, nearest rounding (the driver's reference quantizes too)
  [ "${LINEAR_INT8:-0}" = 1 ] && opts+=(--precision int8 --set rounding.forward=nearest)
  [ "$quads" = 1 ] && opts+=(--backend=llvm -target aarch64 -mattr=+dotprod)
  [ "$quads" = vnni ] && opts+=(--backend=llvm)
  [ "$quads" = vnni-hw ] && opts+=(--backend=llvm -mcpu=native)
  if ! "$OCTOC" "$d/m.net" "${opts[@]}" -o "$d/m.$([ "$quads" = 0 ] && echo c || echo o)" 2> "$d/err" ||
     ! "$OCTOC" "$d/m.net" "${opts[@]}" --emit=loops -o "$d/m.loops" 2>> "$d/err"; then
    echo "FAIL $name: octoc"; cat "$d/err"; cat "$d/m.net"; failed=$((failed + 1)); return
  fi
  grep -q "$quad_fn(" "$d/m.loops" && quad_cases=$((quad_cases + 1))
  local last=$(( $# - 1 ))
  local off
  off=$(sed -n "s/^ *buffer %l$last : .* work @\([0-9]*\).*/\1/p" "$d/m.loops")
  if [ -z "$off" ] ||
     { [ "$quads" = 0 ] && ! $CC $CFLAGS -std=c99 -c -o "$d/m.o" "$d/m.c" 2> "$d/err"; } ||
     ! $CC $CFLAGS -std=c11 -Wall -Wextra -Werror -I"$d" -o "$d/check" "$SRCDIR/linear_check.c" "$d/m.o" -lm 2>> "$d/err"; then
    echo "FAIL $name: build"; cat "$d/err"; failed=$((failed + 1)); return
  fi
  if out=$($run "$d/check" "$n" "$off" "$hw" "$@" 2>&1); then
    echo "PASS $name ($out)"
  else
    echo "FAIL $name"; echo "$out"; cat "$d/m.net"; failed=$((failed + 1))
  fi
}

#                                          conv: F,kh,kw,sh,sw,ph,pw,groups,bias   dense: U,bias
check conv    conv_k3_s1_p0_bias            4 4  3,8,8    conv:5,3,3,1,1,0,0,1,1 dense:4,1
check conv    conv_k3_s1_p1_nobias          4 4  2,6,7    conv:6,3,3,1,1,1,1,1,0 dense:3,1
check conv    conv_k5_s1_p2_lenet_c1        8 8  1,12,12  conv:6,5,5,1,1,2,2,1,1 dense:10,1
check conv    conv_k3_s2_p1_rect            4 3  3,9,6    conv:4,3,3,2,2,1,1,1,1 dense:5,0
check conv    conv_k5_s2_p2_rect_kernel     3 3  2,11,8   conv:3,5,3,2,1,2,0,1,1 dense:4,1
check conv    conv_k1_s1_p0_direct          4 4  8,5,3    conv:9,1,1,1,1,0,0,1,1 dense:3,1
check conv    conv_k1_s2_p0                 4 4  3,7,7    conv:4,1,1,2,2,0,0,1,0 dense:3,1
check conv    conv_k1_s1_p1                 2 2  3,4,5    conv:4,1,1,1,1,1,1,1,1 dense:3,1
check groups  conv_groups2_k3_p1            4 4  4,6,6    conv:6,3,3,1,1,1,1,2,1 dense:4,1
check groups  conv_depthwise_k3_s1_p1       4 4  6,7,5    conv:6,3,3,1,1,1,1,6,1 dense:4,1
check groups  conv_depthwise_k3_s2_p1       4 4  4,8,8    conv:4,3,3,2,2,1,1,4,0 dense:4,1
check groups  conv_depthwise_mult2_k5_p2    3 3  3,6,6    conv:6,5,5,1,1,2,2,3,1 dense:4,1
check edge    conv_pad_larger_than_kernel   2 2  2,3,4    conv:3,2,2,1,1,2,2,1,1 dense:4,1
check edge    conv_stride_skips_input       4 4  2,8,8    conv:3,3,3,3,3,0,0,1,1 dense:4,1
check edge    conv_partial_batch            8 3  3,8,8    conv:5,3,3,1,1,1,1,1,1 dense:4,1
# int8's wide im2col rows (rows rounded up to 8 columns, lower_int8.c
# each_tap_wide / pair_rows) with a stride of 2: 10 output columns, read
# two apart, unpadded (the im2col by rows, also the weight gradient's with
# Kc = 36) and padded (the pair im2col from the zero-bordered copy)
check edge    conv_wide_rows_s2_unpadded    4 4  4,21,21  conv:8,3,3,2,2,0,0,1,1 dense:4,1
check edge    conv_wide_rows_s2_padded      4 4  2,19,19  conv:6,3,3,2,2,1,1,1,1 dense:4,1
check edge    conv_batch1                   1 1  3,8,8    conv:5,3,3,1,1,1,1,1,1 dense:4,1
check chain   conv_chain_dx_k3_p1           4 4  3,8,8    conv:8,3,3,1,1,1,1,1,1 conv:6,3,3,1,1,1,1,1,1 dense:4,1
check chain   conv_chain_dx_k5_s2           4 3  2,13,11  conv:4,5,5,2,2,2,2,1,0 conv:7,3,3,2,1,0,1,1,1 dense:5,1
check chain   conv_chain_dx_1x1             4 4  5,6,6    conv:8,3,3,1,1,1,1,1,1 conv:6,1,1,1,1,0,0,1,1 dense:4,1
check chain   conv_chain_dx_groups2         4 4  4,7,7    conv:8,3,3,1,1,1,1,1,1 conv:6,3,3,1,1,1,1,2,0 dense:4,1
check chain   conv_chain_dx_depthwise       4 2  3,7,9    conv:8,3,3,1,1,0,0,1,1 conv:8,3,3,2,2,1,1,8,1 dense:4,1
check chain   conv_chain_dx_batch1          1 1  3,9,9    conv:6,5,5,1,1,2,2,1,1 conv:16,5,5,1,1,0,0,1,1 dense:10,1
check chain   conv_chain_dx_partial         8 5  1,10,10  conv:6,5,5,1,1,2,2,1,1 conv:16,5,5,1,1,0,0,1,1 dense:10,1
check dense   dense_bias                    8 8  37       dense:13,1
check dense   dense_nobias                  8 8  37       dense:13,0
check dense   dense_chain_dx                8 8  21       dense:17,1 dense:9,0 dense:5,1
check dense   dense_chain_partial           8 5  21       dense:17,1 dense:9,1 dense:5,1
check dense   dense_chain_batch1            1 1  40       dense:24,0 dense:7,1
check lenet   lenet5_shapes_partial        32 19 1,28,28  conv:6,5,5,1,1,2,2,1,1 conv:16,5,5,1,1,0,0,1,1 dense:120,1 dense:84,1 dense:10,1

echo "$ran cases, $failed failed"
if [ "$quads" != 0 ]; then # the cases must reach the quad form
  echo "$quad_cases cases with $quad_fn steps"
  [ "$quad_cases" -gt 0 ] || { echo "FAIL: no case has a quad-form product"; exit 1; }
fi
[ "$ran" -gt 0 ] && [ "$failed" = 0 ]
