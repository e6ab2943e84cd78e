#!/bin/bash
# baremetal.sh: the bare-metal images' memory and instructions per training
# step (docs/baremetal.md's table).
#
#   bench/baremetal.sh [STEPS]          (default 4 steps per row)
#
# Environment: OCTOC (default build/octoc).
#
# For each row (board, model, batch): octoc builds the image with 256
# samples; QEMU runs it with -icount shift=0, under which QEMU's clock
# advances 1 ns per guest instruction, so the image's own counter is exact:
# riscv32 reads the instret CSR (exact to the instruction), the Cortex-M4
# its SysTick on the 25 MHz processor clock (40 instructions per tick, so
# exact to 40). Both were checked against a loop of 20,000,000 known
# instructions: 20,000,010 and 20,000,040. `--steps STEPS` (a semihosting
# argument) stops the run; the row's figure is the mean over steps 2..STEPS
# (step 1 is the same work, but starts the counter). State and arena bytes
# are the model header's; text/data/bss are `size` of the image. The
# riscv32 board has no FPU: its floats are libgcc's soft-float calls.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OCTOC=${OCTOC:-$ROOT/build/octoc}
STEPS=${1:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rows=(
  "cortex-m4 lenet5 32"
  "cortex-m4 mlp 32"
  "riscv32 lenet5 32"
  "riscv32 lenet5 8"
)

echo "| board | model | batch | state bytes | arena bytes | image text / data / bss | instructions per step | loss at step $STEPS |"
echo "|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  read -r target model batch <<< "$row"
  case $target in
    cortex-m4) qemu=(qemu-system-arm -M mps2-an386) size=arm-none-eabi-size board=mps2-an386 ;;
    riscv32) qemu=(qemu-system-riscv32 -M virt -bios none -m 16M) size=riscv64-unknown-elf-size board="virt (rv32imac)" ;;
  esac
  img=$tmp/$model-$target-$batch.elf
  "$OCTOC" "$ROOT/models/$model.net" -target "$target" --main --batch "$batch" -o "$img" \
    --samples 256 2> /dev/null
  "$OCTOC" "$ROOT/models/$model.net" -target "$target" --batch "$batch" --emit=c \
    -o "$tmp/h.c" 2> /dev/null
  P=$(echo "$model" | tr a-z A-Z)
  state=$(awk -v m="${P}_STATE_BYTES" '$2 == m { print $3 }' "$tmp/h.h")
  work=$(awk -v m="${P}_WORK_BYTES" '$2 == m { print $3 }' "$tmp/h.h")
  sizes=$("$size" "$img" | awk 'NR == 2 { printf "%s / %s / %s", $1, $2, $3 }')
  "${qemu[@]}" -nographic -monitor none -serial none -icount shift=0 \
    -semihosting-config "enable=on,target=native,arg=$model,arg=--steps,arg=$STEPS" \
    -kernel "$img" > "$tmp/out" 2>&1
  read -r insns loss < <(awk '$1 == "step" { if ($2 > 1) { s += $8; n++ } l = $4 }
    END { printf "%.0f %s\n", n ? s / n : 0, l }' "$tmp/out")
  printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n" "$board" "$model" "$batch" "$state" "$work" \
    "$sizes" "$insns" "$loss"
done
