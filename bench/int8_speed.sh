#!/bin/bash
# int8_speed.sh: fp32 against int8 trainers, one thread, at batch 32 and 1:
# octoc --precision P --main -O3 -mcpu=native, then `--benchmark STEPS`
# (fixed pseudo-random batch, no dataset), fp32 and int8 alternating, the
# best of REPEAT runs each; prints a markdown table with the ratio. The
# machine is shared: read the ratios, not the absolute rates.
#
#   bench/int8_speed.sh [MODEL...]        (default: lenet5 mlp octo_simplecnn)
#
# Environment: OCTOC (default build/octoc), STEPS32 (default 40), STEPS1
# (default 300), REPEAT (default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OCTOC=${OCTOC:-$ROOT/build/octoc}
STEPS32=${STEPS32:-40} STEPS1=${STEPS1:-300} REPEAT=${REPEAT:-2}
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=(lenet5 mlp octo_simplecnn)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rate() { "$1" --benchmark "$2" | sed -n 's/^benchmark: .* \([0-9.]*\) samples\/s$/\1/p'; }
echo "| model | batch | fp32 samples/s | int8 samples/s | int8 / fp32 |"
echo "|---|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  for b in 32 1; do
    steps=$STEPS1
    [[ $b == 32 ]] && steps=$STEPS32
    for p in fp32 int8; do
      "$OCTOC" "$ROOT/models/$m.net" --batch "$b" --precision "$p" --main -O3 -mcpu=native \
        -o "$WORK/$m.$b.$p"
    done
    best_f=0 best_i=0
    for _ in $(seq "$REPEAT"); do
      f=$(rate "$WORK/$m.$b.fp32" "$steps")
      i=$(rate "$WORK/$m.$b.int8" "$steps")
      best_f=$(awk -v a="$best_f" -v b="$f" 'BEGIN { print (b > a) ? b : a }')
      best_i=$(awk -v a="$best_i" -v b="$i" 'BEGIN { print (b > a) ? b : a }')
    done
    awk -v m="$m" -v b="$b" -v f="$best_f" -v i="$best_i" \
      'BEGIN { printf "| %s | %d | %.0f | %.0f | %.2f |\n", m, b, f, i, i / f }'
  done
done
