#!/bin/bash
# int8_memory.sh: state block and work arena bytes of every model in models/
# in every precision mode, from `octoc MODEL.net --batch B --precision P
# --emit=report` (no trainer is built or run: the numbers are the compiler's
# memory plan). Prints a markdown table: per model and mode the state and
# arena bytes, the arena as a percentage of the same model's fp32 arena, and
# the call where the peak of live bytes is.
#
#   bench/int8_memory.sh [MODEL...]        (default: every models/*.net)
#
# Environment: OCTOC (default build/octoc), BATCH (default 32),
# MODES (default "fp32 int8 int8-lac int8-prc octo").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OCTOC=${OCTOC:-$ROOT/build/octoc}
BATCH=${BATCH:-32}
read -r -a MODES <<< "${MODES:-fp32 int8 int8-lac int8-prc octo}"
MODELS=("$@")
if [[ ${#MODELS[@]} -eq 0 ]]; then
  for f in "$ROOT"/models/*.net; do MODELS+=("$(basename "$f" .net)"); done
fi
[[ -x $OCTOC ]] || { echo "int8_memory.sh: no octoc at $OCTOC (build first, or set OCTOC)" >&2; exit 1; }
echo "| model | mode | state bytes | arena bytes | arena / fp32 arena | peak at |"
echo "|---|---|---:|---:|---:|---|"
for m in "${MODELS[@]}"; do
  fp32=
  for p in "${MODES[@]}"; do
    if ! report=$("$OCTOC" "$ROOT/models/$m.net" --batch "$BATCH" --precision "$p" \
                  --emit=report 2>&1); then
      echo "| $m | $p | refused: $(echo "$report" | head -1 | sed 's/|/\\|/g') | | | |"
      continue
    fi
    state=$(echo "$report" | sed -n 's/^state block: \([0-9]*\) bytes.*/\1/p')
    arena=$(echo "$report" | sed -n 's/^work arena: \([0-9]*\) bytes.*/\1/p')
    peak=$(echo "$report" | sed -n 's/^  peak live: .* (\([a-z0-9_]*\))$/\1/p')
    [[ -n $state && -n $arena ]] || { echo "int8_memory.sh: no memory plan in the report of $m $p" >&2; exit 1; }
    [[ $p == fp32 ]] && fp32=$arena
    ratio=-
    [[ -n $fp32 ]] && ratio=$(awk -v a="$arena" -v f="$fp32" 'BEGIN {printf "%.1f %%", 100 * a / f}')
    echo "| $m | $p | $state | $arena | $ratio | \`${peak:-?}\` |"
  done
done
