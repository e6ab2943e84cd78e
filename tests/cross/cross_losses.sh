#!/usr/bin/env bash
# Cross-target trainers: the C that octoc emits for lenet5, built for another
# architecture and run under qemu user mode, must train like the host build.
# Both run cross_driver.c (init seed 1, STEPS batches of the first Fashion-MNIST
# samples in file order) and print each loss with %.9g and %a; every loss must
# be bit-identical to the host's (the %a text equal), with both sides built
# with gcc's defaults
# (GNU C, where gcc would fuse a*b+c on ARM and RISC-V): the emitted C keeps
# floating point unfused itself (docs/loops.md), and has no target-dependent
# arithmetic (char signedness, long width, UB). Prints the largest
# difference seen.
#   cross_losses.sh TARGET [STEPS [VARIANT [BACKEND [MATTR]]]]   TARGET: armv7 | aarch64 | riscv64 | x86_64
# BACKEND c (default): both sides from the emitted C. llvm: the target's
# trainer object comes from octoc's LLVM backend (-target TARGET, and
# -mattr=MATTR when given), linked with the driver by the cross gcc, and
# must match the host's C build. With MATTR +dotprod (aarch64) the int8
# products are int8 quads summed by dot4_i8, Arm's sdot (the object must
# have sdot in it), against the host's int16 pairs. TARGET x86_64 with
# MATTR emulated-vnni: the host itself, built by the LLVM backend with
# OCTO_EMULATE_VNNI=1, i.e. the quads of x86's vpdpbusd path (the bias and
# correction around it) with vpdpbusd written as plain IR, for a CPU
# without VNNI; the object must have no vpdpbusd and the loops dot4_i8.
# TARGET x86_64 with MATTR vnni-evex or vnni-vex: vpdpbusd itself, run by
# this CPU (skip unless /proc/cpuinfo has AVX512-VNNI with AVX512VL, or
# AVX-VNNI): built for -mcpu=native, or for -mcpu=znver3 -mattr=+avxvnni
# (the VEX encoding, {vex} vpdpbusd); the object must have vpdpbusd in
# that encoding.
# VARIANT: sgd (lenet5 as shipped: softmax cross-entropy, exp and log) or
# adam-cosine (Adam, whose bias correction is pow, and a cosine schedule
# over 5 epochs of 2 steps each: cos), or octo (--precision octo: the int8
# products' dot2_i16, whose LLVM vector variants are plain vector IR on
# these targets, stochastic rounding, LAC, PRC). The loop IR writes exp, log, cos and
# pow out as arithmetic (passes/expand_math.c), so no C library decides
# their bits.
# Exit 77 (skip) when the dataset, the cross compiler or qemu is missing.
set -u
: "${OCTOC:?}" "${MODELS:?}"
target=$1 steps=${2:-20} variant=${3:-sgd} backend=${4:-c} mattr=${5:-}
tol=0 flags= options=
case $variant in
  sgd) ;;
  adam-cosine)
    options="--set optimizer.type=adam --set optimizer.lr=0.001 --set optimizer.weight_decay=0.0001
             --set lr_schedule.type=cosine --set lr_schedule.min_lr=0.0001 --epochs 5"
    flags=-DEPOCH_STEPS=2 ;;
  octo) options="--precision octo" ;;
  *) echo "unknown variant '$variant'"; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
case $target in
  armv7) gcc=arm-linux-gnueabihf-gcc qemu=qemu-arm ;;
  aarch64) gcc=aarch64-linux-gnu-gcc qemu=qemu-aarch64 ;;
  riscv64) gcc=riscv64-linux-gnu-gcc qemu=qemu-riscv64 ;;
  x86_64) gcc=cc qemu=env ;; # the host runs it itself
  *) echo "unknown target '$target'"; exit 2 ;;
esac
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz; do
  [ -f "$data/$f" ] || { echo "SKIP: $data/$f missing"; exit 77; }
done
for p in "$gcc" "$qemu" cc gzip; do
  command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The first STEPS*32 samples, uncompressed. The IDX header still says 60000;
# the driver reads only the samples it needs.
n=$((steps * 32))
gzip -dc "$data/train-images-idx3-ubyte.gz" | head -c $((16 + n * 784)) > "$tmp/images"
gzip -dc "$data/train-labels-idx1-ubyte.gz" | head -c $((8 + n)) > "$tmp/labels"
[ "$(wc -c < "$tmp/images")" -eq $((16 + n * 784)) ] || { echo "FAIL: could not extract $n images"; exit 1; }

# shellcheck disable=SC2086 # options is a list of words
"$OCTOC" "$MODELS/lenet5.net" $options --emit=c -o "$tmp/lenet5.c" || { echo "FAIL: octoc"; exit 1; }

# Each compiler's default C dialect, as a user would build it: GNU C, in which
# gcc would contract a*b+c into fused multiply-adds on aarch64 and riscv64
# (losses drifted past 1e-4 after about 35 steps before the emitted C turned
# contraction off itself).
build() { # build COMPILER OUTPUT EXTRA-FLAGS...
  local compiler=$1 out=$2
  shift 2
  "$compiler" -O2 -Wall -Wextra "$@" -I"$tmp" "$here/cross_driver.c" "$tmp/lenet5.c" \
    -lm -o "$out" 2> "$tmp/cc.err" || { echo "FAIL: $compiler"; cat "$tmp/cc.err"; exit 1; }
  if [ -s "$tmp/cc.err" ]; then echo "FAIL: $compiler warns:"; cat "$tmp/cc.err"; exit 1; fi
}
build cc "$tmp/host" $flags
if [ "$backend" = llvm ]; then
  # shellcheck disable=SC2086
  mkdir "$tmp/llvm" # its own lenet5.h beside the object
  cpu_flags=
  case $mattr in
    vnni-evex | vnni-vex)
      [ "$target" = x86_64 ] && [ "$(uname -m)" = x86_64 ] ||
        { echo "FAIL: $mattr is for TARGET x86_64 on an x86-64 host"; exit 2; }
      host_flags=$(grep -m1 '^flags' /proc/cpuinfo)
      has() { case " ${host_flags#*:} " in *" $1 "*) return 0 ;; esac; return 1; }
      if [ "$mattr" = vnni-evex ]; then
        { has avx512_vnni && has avx512vl; } || { echo "SKIP: this CPU has no AVX512-VNNI with AVX512VL"; exit 77; }
        cpu_flags="-mcpu=native"
      else
        has avx_vnni || { echo "SKIP: this CPU has no AVX-VNNI"; exit 77; }
        cpu_flags="-mcpu=znver3 -mattr=+avxvnni"
      fi
      vnni=$mattr mattr= ;;
  esac
  if [ "$mattr" = emulated-vnni ]; then
    export OCTO_EMULATE_VNNI=1
    mattr=
    # shellcheck disable=SC2086
    "$OCTOC" "$MODELS/lenet5.net" $options --backend=llvm -target "$target" --emit=loops \
      -o "$tmp/llvm/lenet5.loops" || { echo "FAIL: octoc --emit=loops"; exit 1; }
    grep -q 'dot4_u8i8' "$tmp/llvm/lenet5.loops" || { echo "FAIL: no dot4_u8i8 in the loops"; exit 1; }
  fi
  # shellcheck disable=SC2086
  "$OCTOC" "$MODELS/lenet5.net" $options --backend=llvm -target "$target" ${mattr:+-mattr="$mattr"} \
    $cpu_flags -o "$tmp/llvm/lenet5.o" ||
    { echo "FAIL: octoc --backend=llvm -target $target $mattr $cpu_flags"; exit 1; }
  unset OCTO_EMULATE_VNNI
  if [ -n "$cpu_flags" ]; then # vpdpbusd, in the encoding asked for, runs here
    command -v llvm-objdump-19 >/dev/null || { echo "SKIP: llvm-objdump-19 not installed"; exit 77; }
    llvm-objdump-19 -d "$tmp/llvm/lenet5.o" > "$tmp/llvm/dis"
    if [ "$vnni" = vnni-vex ]; then
      n_vnni=$(grep -c '{vex}[[:space:]]*vpdpbusd' "$tmp/llvm/dis")
    else
      n_vnni=$(grep 'vpdpbusd' "$tmp/llvm/dis" | grep -vc '{vex}')
    fi
    [ "$n_vnni" -gt 0 ] || { echo "FAIL: no $vnni vpdpbusd in the object ($cpu_flags)"; exit 1; }
    echo "$vnni vpdpbusd instructions in the object: $n_vnni"
  elif [ "$target" = x86_64 ]; then # nothing this CPU lacks
    command -v llvm-objdump-19 >/dev/null || { echo "SKIP: llvm-objdump-19 not installed"; exit 77; }
    if llvm-objdump-19 -d "$tmp/llvm/lenet5.o" | grep -q vpdpbusd; then
      echo "FAIL: vpdpbusd in the emulated object"; exit 1
    fi
  fi
  if [ "$mattr" = +dotprod ]; then # the quads' sdot (vsdot on armv7) is in the object
    command -v llvm-objdump-19 >/dev/null || { echo "SKIP: llvm-objdump-19 not installed"; exit 77; }
    n_sdot=$(llvm-objdump-19 -d --mattr=+dotprod "$tmp/llvm/lenet5.o" | grep -c '\bv\?sdot\b')
    [ "$n_sdot" -gt 0 ] || { echo "FAIL: no sdot in the object built with -mattr=+dotprod"; exit 1; }
    echo "sdot instructions in the object: $n_sdot"
  fi
  "$gcc" -O2 -Wall -Wextra -static $flags -I"$tmp/llvm" "$here/cross_driver.c" \
    "$tmp/llvm/lenet5.o" -lm -o "$tmp/cross" 2> "$tmp/cc.err" || { echo "FAIL: $gcc"; cat "$tmp/cc.err"; exit 1; }
else
  build "$gcc" "$tmp/cross" -static $flags
fi

"$tmp/host" "$tmp/images" "$tmp/labels" "$steps" > "$tmp/host.out" || { echo "FAIL: host run"; exit 1; }
"$qemu" "$tmp/cross" "$tmp/images" "$tmp/labels" "$steps" > "$tmp/cross.out" ||
  { echo "FAIL: $qemu run"; exit 1; }

# compare A B: every "step K loss L" line of A and B, same count, same K,
# finite, |a-b| <= tol * max(|a|,|b|). Prints the largest difference.
compare() {
  awk -v steps="$steps" -v tol="$tol" '
    function abs(v) { return v < 0 ? -v : v }
    FNR == NR && $1 == "step" { a[$2] = $4; bits[$2] = $5; na++; next }
    $1 == "step" {
      nb++
      if (!($2 in a)) { printf "step %s missing in the host run\n", $2; bad = 1; next }
      x = a[$2] + 0; y = $4 + 0
      if (x != x || y != y || abs(x) > 1e30 || abs(y) > 1e30) {
        printf "step %s: non-finite loss %s vs %s\n", $2, a[$2], $4; bad = 1; next
      }
      d = abs(x - y); m = abs(x) > abs(y) ? abs(x) : abs(y)
      r = m > 0 ? d / m : d
      if (r > maxr) { maxr = r; maxd = d; at = $2 }
      if (r > tol) { printf "step %s: loss %s vs %s (relative %.3g)\n", $2, a[$2], $4, r; bad = 1 }
      if (tol == 0 && bits[$2] != $5) { printf "step %s: loss %s vs %s\n", $2, bits[$2], $5; bad = 1 }
    }
    END {
      if (na != steps || nb != steps) { printf "expected %d losses, got %d and %d\n", steps, na, nb; bad = 1 }
      printf "largest difference: %.9g absolute, %.3g relative (step %s)\n", maxd, maxr, at ? at : "-"
      exit bad
    }' "$1" "$2"
}

# The comparison must be able to fail: a loss moved by 1e-6 relative is
# caught.
bend=1.000001
awk -v b="$bend" '$1 == "step" && $2 == 5 { $4 = sprintf("%.9g", $4 * b) } { print }' \
  "$tmp/host.out" > "$tmp/bent.out"
if compare "$tmp/host.out" "$tmp/bent.out" > /dev/null; then
  echo "FAIL: the comparison accepted a loss times $bend"; exit 1
fi

paste "$tmp/host.out" "$tmp/cross.out" | grep "^step" | sed -n '1p;$p' | sed "s/^/host | $target: /"
compare "$tmp/host.out" "$tmp/cross.out" ||
  { echo "FAIL: $target losses differ from the host's ($variant, $backend)"; exit 1; }
echo PASS
