#!/usr/bin/env bash
# A bare-metal image trains on its emulated board and gives the host's
# losses (docs/baremetal.md).
#   baremetal_train.sh TARGET SAMPLES RECIPE-OPTIONS...
#   (TARGET: cortex-m4 | riscv32; RECIPE-OPTIONS such as --batch 8 --epochs 2)
# 1. `octoc models/lenet5.net -target TARGET --main -o IMAGE --samples SAMPLES
#    RECIPE-OPTIONS` builds
#    the image; QEMU runs it (mps2-an386 / virt, semihosting) under a
#    timeout. Its exit status must be 0, it must print one loss per step
#    (batches of the compiled-in samples in file order) and an eval line,
#    and the mean of the last 4 losses must be below the mean of the first
#    4 by at least 10%.
# 2. The same trainer built for the host (octoc's host C, the image's
#    NAME_board.c and NAME_data.c, runtime/baremetal/ with board_host.c),
#    same seed, same samples: every step's loss, compared as float bits,
#    must be identical (TOL=0): the loop IR computes exp, log, cos and pow
#    itself (pass math), so picolibc and glibc give the same bits. Before
#    that pass, picolibc's expf/logf made 11 of 16 losses differ by up to
#    2.7e-7 relative.
# 3. A bad option reaches the image through semihosting and it exits 2.
# Exit 77 (skip) when the cross gcc, picolibc, QEMU or the dataset is missing.
set -u
: "${OCTOC:?}" "${MODELS:?}"
target=$1 samples=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
runtime=$here/../../runtime
TOL=0 # bit for bit: no libm in the trainer (pass math)
case $target in
  cortex-m4)
    gcc=arm-none-eabi-gcc picolibc=picolibc-arm-none-eabi
    qemu=(qemu-system-arm -M mps2-an386) ;;
  riscv32)
    gcc=riscv64-unknown-elf-gcc picolibc=picolibc-riscv64-unknown-elf
    qemu=(qemu-system-riscv32 -M virt -bios none -m 16M) ;;
  *) echo "unknown target '$target'"; exit 2 ;;
esac
for p in "$gcc" "${qemu[0]}" cc timeout; do
  command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
[ "$("$gcc" -print-file-name=picolibc.specs)" != picolibc.specs ] ||
  { echo "SKIP: $picolibc not installed"; exit 77; }
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
[ -f "$data/train-images-idx3-ubyte.gz" ] || [ -f "$data/train-images-idx3-ubyte" ] ||
  { echo "SKIP: no Fashion-MNIST in $data"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_board() { # run_board IMAGE OUT [ARGS...]: QEMU's exit status
  local image=$1 out=$2 args=arg=lenet5
  shift 2
  for a in "$@"; do args="$args,arg=$a"; done
  timeout 300 "${qemu[@]}" -nographic -monitor none -serial none \
    -semihosting-config "enable=on,target=native,$args" -kernel "$image" > "$out" 2>&1
}

"$OCTOC" "$MODELS/lenet5.net" -target "$target" --main -o "$tmp/lenet5.elf" --samples "$samples" "$@" \
  2> "$tmp/octoc.err" || { echo "FAIL: octoc"; cat "$tmp/octoc.err"; exit 1; }
start=$(date +%s)
run_board "$tmp/lenet5.elf" "$tmp/board.out"
status=$?
echo "${qemu[0]}: exit status $status, $(( $(date +%s) - start )) s"
cat "$tmp/board.out"
[ "$status" -eq 0 ] || { echo "FAIL: the image exited with $status"; exit 1; }
grep -q '^eval loss' "$tmp/board.out" || { echo "FAIL: no eval line"; exit 1; }

# falls FILE: the last 4 losses' mean is at least 10% below the first 4's.
falls() {
  awk '$1 == "step" { l[++n] = $4 + 0 }
    END {
      if (n < 8) { printf "only %d steps\n", n; exit 1 }
      for (i = 1; i <= 4; i++) { a += l[i]; b += l[n - 4 + i] }
      printf "mean loss of steps 1-4: %.4f, of steps %d-%d: %.4f\n", a / 4, n - 3, n, b / 4
      exit !(b < 0.9 * a)
    }' "$1"
}
falls "$tmp/board.out" || { echo "FAIL: the losses do not fall"; exit 1; }
# The check can fail: the same losses in reverse order do not fall.
awk '$1 == "step" { s[++n] = $0 } END { for (i = n; i >= 1; i--) print s[i] }' \
  "$tmp/board.out" > "$tmp/reversed.out"
falls "$tmp/reversed.out" > /dev/null && { echo "FAIL: reversed losses counted as falling"; exit 1; }

# The host build of the same trainer.
mkdir "$tmp/host" "$tmp/board"
"$OCTOC" "$MODELS/lenet5.net" -target "$target" --main --emit=c -o "$tmp/board/lenet5.c" \
  --samples "$samples" "$@" \
  2> /dev/null || { echo "FAIL: octoc --emit=c for $target"; exit 1; }
"$OCTOC" "$MODELS/lenet5.net" --main --emit=c -o "$tmp/host/lenet5.c" "$@" ||
  { echo "FAIL: octoc --emit=c for the host"; exit 1; }
cp "$tmp/board/lenet5_board.c" "$tmp/board/lenet5_data.c" "$tmp/host/"
cc -O2 -std=c99 -Wall -Wextra -I"$tmp/host" -I"$runtime/baremetal" -I"$runtime" "$tmp"/host/*.c \
  "$runtime/baremetal/baremetal_main.c" "$runtime/baremetal/board_host.c" -lm \
  -o "$tmp/host/trainer" 2> "$tmp/cc.err" || { echo "FAIL: cc"; cat "$tmp/cc.err"; exit 1; }
[ -s "$tmp/cc.err" ] && { echo "FAIL: cc warns:"; cat "$tmp/cc.err"; exit 1; }
"$tmp/host/trainer" > "$tmp/host.out" || { echo "FAIL: the host trainer"; exit 1; }

# compare A B: the same steps; each loss's bits (as a float) within TOL
# relative; prints how many differ and the largest difference.
compare() {
  awk -v tol="$TOL" '
    function abs(v) { return v < 0 ? -v : v }
    FNR == NR && $1 == "step" { loss[$2] = $4; bits[$2] = $6; na++; next }
    $1 == "step" {
      nb++
      if (!($2 in loss)) { printf "step %s missing on the host\n", $2; bad = 1; next }
      if (bits[$2] == $6) next
      ndiff++
      x = loss[$2] + 0; y = $4 + 0; r = abs(x - y) / (abs(x) > abs(y) ? abs(x) : abs(y))
      if (r > maxr) maxr = r
      if (r > tol) { printf "step %s: host %s (%s), board %s (%s): relative %.3g\n", $2, loss[$2], bits[$2], $4, $6, r; bad = 1 }
    }
    END {
      if (na != nb || na == 0) { printf "%d host steps, %d board steps\n", na, nb; bad = 1 }
      printf "%d of %d losses differ in their bits, largest relative difference %.3g (tolerance %s)\n", ndiff, nb, maxr, tol
      exit bad
    }' "$1" "$2"
}
compare "$tmp/host.out" "$tmp/board.out" || { echo "FAIL: the board's losses are not the host's"; exit 1; }
# The comparison can fail: one loss moved by 1e-4 relative is caught.
awk '$1 == "step" && $2 == 3 { $4 = sprintf("%.9g", $4 * 1.0001); $6 = "0x0" } { print }' \
  "$tmp/board.out" > "$tmp/bent.out"
compare "$tmp/host.out" "$tmp/bent.out" > /dev/null && { echo "FAIL: a bent loss passed"; exit 1; }

# A bad option reaches the image, which exits 2 (a usage error).
run_board "$tmp/lenet5.elf" "$tmp/bad.out" --bogus
status=$?
[ "$status" -eq 2 ] && grep -q "unknown option '--bogus'" "$tmp/bad.out" ||
  { echo "FAIL: --bogus: exit status $status"; cat "$tmp/bad.out"; exit 1; }
echo PASS
