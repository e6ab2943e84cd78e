#!/usr/bin/env bash
# `octoc -target T --main`: a ready-to-run trainer for another architecture in
# one step (the runtime's sources compiled by the target's gcc, linked
# statically). Under qemu user mode it must read gzip datasets (the runtime's
# own decoder, on a 32-bit or RISC-V CPU), train, evaluate, save and resume a
# checkpoint, and write the same CSV log as the host's trainer, number for
# number (the time columns aside).
#   cross_main.sh TARGET    TARGET: armv7 | aarch64 | riscv64
# Exit 77 (skip) when the dataset, the cross compiler or qemu is missing.
set -u
: "${OCTOC:?}" "${MODELS:?}"
target=$1
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
case $target in
  armv7) gcc=arm-linux-gnueabihf-gcc qemu=qemu-arm ;;
  aarch64) gcc=aarch64-linux-gnu-gcc qemu=qemu-aarch64 ;;
  riscv64) gcc=riscv64-linux-gnu-gcc qemu=qemu-riscv64 ;;
  *) echo "unknown target '$target'"; exit 2 ;;
esac
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
         t10k-labels-idx1-ubyte.gz; do
  [ -f "$data/$f" ] || { echo "SKIP: $data/$f missing"; exit 77; }
done
for p in "$gcc" "$qemu" gzip; do
  command -v "$p" >/dev/null || { echo "SKIP: $p not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A small dataset in the real format, gzip-compressed: the first N samples
# of each split, with headers saying N (big-endian u32).
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))"
         printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
subset() { # subset SPLIT N
  local n=$2
  { printf '\x00\x00\x08\x03'; be32 "$n"; be32 28; be32 28
    gzip -dc "$data/$1-images-idx3-ubyte.gz" | tail -c +17 | head -c $((n * 784)); } |
    gzip -n > "$tmp/data/$1-images-idx3-ubyte.gz"
  { printf '\x00\x00\x08\x01'; be32 "$n"
    gzip -dc "$data/$1-labels-idx1-ubyte.gz" | tail -c +9 | head -c "$n"; } |
    gzip -n > "$tmp/data/$1-labels-idx1-ubyte.gz"
}
mkdir "$tmp/data"
subset train 192
subset t10k 64

"$OCTOC" "$MODELS/lenet5.net" --main -o "$tmp/host" || { echo "FAIL: octoc (host)"; exit 1; }
"$OCTOC" "$MODELS/lenet5.net" -target "$target" --main -o "$tmp/cross" ||
  { echo "FAIL: octoc -target $target --main"; exit 1; }
file "$tmp/cross" 2>/dev/null | sed "s|$tmp/||"

run() { # run NAME RUNNER...: 2 epochs, then a third resumed from the checkpoint
  local name=$1
  shift
  "$@" --data "$tmp/data" --epochs 2 --save "$tmp/$name.ckpt" --log "$tmp/$name.csv" --quiet \
    > "$tmp/$name.out" || { echo "FAIL: $name run"; cat "$tmp/$name.out"; exit 1; }
  "$@" --data "$tmp/data" --epochs 3 --resume "$tmp/$name.ckpt" --log "$tmp/$name.csv" --quiet \
    >> "$tmp/$name.out" || { echo "FAIL: $name resumed run"; cat "$tmp/$name.out"; exit 1; }
  cut -d, -f1-4 "$tmp/$name.csv" > "$tmp/$name.cols"
}
run host "$tmp/host"
run cross "$qemu" "$tmp/cross"

paste -d'|' "$tmp/host.cols" "$tmp/cross.cols" | sed "s/^/host | $target: /"
[ "$(wc -l < "$tmp/host.cols")" -eq 4 ] || { echo "FAIL: expected 3 epochs in the log"; exit 1; }
cmp -s "$tmp/host.cols" "$tmp/cross.cols" ||
  { echo "FAIL: the $target trainer's log differs from the host's"; exit 1; }
cmp -s "$tmp/host.out" "$tmp/cross.out" ||
  { echo "FAIL: the $target trainer prints another final accuracy"; exit 1; }
echo PASS
