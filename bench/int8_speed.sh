#!/bin/bash
# int8_speed.sh: fp32 against int8 and octo (int8 + LAC + PRC) trainers, one
# thread, at batch 32 and 1: octoc --precision P --main -O3 -mcpu=native,
# then `--benchmark STEPS` (fixed pseudo-random batch, no dataset), the
# three alternating, the best of REPEAT runs each; prints a markdown table
# with the ratios to fp32. The machine is shared: read the ratios, not the
# absolute rates.
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
PRECISIONS=(fp32 int8 octo)
echo "| model | batch | fp32 samples/s | int8 samples/s | octo samples/s | int8 / fp32 | octo / fp32 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  for b in 32 1; do
    steps=$STEPS1
    [[ $b == 32 ]] && steps=$STEPS32
    for p in "${PRECISIONS[@]}"; do
      "$OCTOC" "$ROOT/models/$m.net" --batch "$b" --precision "$p" --main -O3 -mcpu=native \
        -o "$WORK/$m.$b.$p"
    done
    declare -A best=([fp32]=0 [int8]=0 [octo]=0)
    for _ in $(seq "$REPEAT"); do
      for p in "${PRECISIONS[@]}"; do
        r=$(rate "$WORK/$m.$b.$p" "$steps")
        best[$p]=$(awk -v a="${best[$p]}" -v b="$r" 'BEGIN { print (b > a) ? b : a }')
      done
    done
    awk -v m="$m" -v b="$b" -v f="${best[fp32]}" -v i="${best[int8]}" -v o="${best[octo]}" \
      'BEGIN { printf "| %s | %d | %.0f | %.0f | %.0f | %.2f | %.2f |\n", m, b, f, i, o, i / f, o / f }'
  done
done
