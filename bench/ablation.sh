#!/bin/bash
# ablation.sh: the Octo paper's ablation (issue 11). Full Fashion-MNIST,
# 5 epochs, seeds 1-3, one recipe for every run except its precision:
# fp32, int8, int8-lac, int8-prc and octo for lenet5 and octo_simplecnn,
# octo (and the fp32 reference) for every other model in models/. Prints a
# table of mean ± sd test accuracy per model and mode, the difference to
# fp32, and the state block and work arena bytes from `octoc --emit=report`.
#
#   bench/ablation.sh [MODEL...]   (default: every model in models/)
#
# A mode octoc refuses (today every precision but fp32: the int8 lowering
# is not merged yet) is a row saying so, with octoc's message; the script
# goes on with the others.
#
# A mode MODE-float (int8-lac-float, int8-prc-float, octo-float) runs MODE's
# graph passes (lac, prc) without quantization: octoc writes MODE's training
# graph as .ir and compiles that as an fp32 trainer, which separates what LAC
# and PRC do from what quantization does (docs/int8.md, "Diagnostics"). The whole run takes hours; for a quick check:
#   SEEDS=1 MODES=fp32 bench/ablation.sh lenet5
#
# Environment: OCTOC (default build-bench/octoc, else build/octoc), RECIPE
# (default models/octo.yaml: its schedule, rounding, LAC and PRC settings
# for every mode; only `precision` changes), SEEDS (default "1 2 3"), EPOCHS
# (default 5), MODES (default: all five for lenet5 and octo_simplecnn,
# "fp32 octo" for the others), LIMIT (train on the first LIMIT samples: a
# check of the script, not the benchmark), DATA (default
# /usr/share/datasets/fashion-mnist), KEEP (a directory: keep each run's
# CSV log and final checkpoint there as MODEL-MODE-sSEED.{csv,ckpt}, the
# raw material of the diagnostics in docs/int8.md, "Diagnostics"), SET
# (extra recipe overrides for every row, e.g. SET="layers.logits.prc.method=scale").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${OCTOC:-}" ]]; then
  OCTOC=$ROOT/build-bench/octoc
  [[ -x $OCTOC ]] || OCTOC=$ROOT/build/octoc
fi
RECIPE=${RECIPE:-$ROOT/models/octo.yaml}
SEEDS=${SEEDS:-1 2 3}
EPOCHS=${EPOCHS:-5}
LIMIT=${LIMIT:-}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
KEEP=${KEEP:-}
set_args=()
for kv in ${SET:-}; do set_args+=(--set "$kv"); done
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

die() { echo "ablation.sh: $*" >&2; exit 1; }
[[ -x $OCTOC ]] || die "no octoc at $OCTOC (set OCTOC)"
[[ -f $RECIPE ]] || die "no recipe $RECIPE (set RECIPE)"
[[ -z $KEEP ]] || mkdir -p "$KEEP" || die "cannot create $KEEP"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

MODELS=("$@")
if [[ ${#MODELS[@]} -eq 0 ]]; then
  for f in "$ROOT"/models/*.net; do MODELS+=("$(basename "$f" .net)"); done
fi
modes_of() {
  if [[ -n ${MODES:-} ]]; then echo "$MODES"; return; fi
  case $1 in
    lenet5 | octo_simplecnn) echo "fp32 int8 int8-lac int8-prc octo" ;;
    *) echo "fp32 octo" ;;
  esac
}
limit_args=()
[[ -n $LIMIT ]] && limit_args=(--limit "$LIMIT")

# "state block: N bytes" / "work arena: N bytes" of a report.
bytes_of() { sed -n "s/^$1: \([0-9]*\) bytes.*/\1/p" "$2"; }
final_of() { sed -n 's/^final test accuracy: \([0-9.]*\)%$/\1/p'; }

echo "Fashion-MNIST ${LIMIT:-60000} train / 10000 test, $EPOCHS epochs, seeds $SEEDS"
echo "recipe: $RECIPE${SET:+ with $SET} (precision set per row); octoc: $OCTOC"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(getconf _NPROCESSORS_ONLN) CPUs"
echo
echo "| model | mode | test acc mean ± sd (seeds) | vs fp32 | state bytes | arena bytes |"
echo "|---|---|---:|---:|---:|---:|"
refused=()
for m in "${MODELS[@]}"; do
  net=$ROOT/models/$m.net
  [[ -f $net ]] || die "no model $net"
  fp32_mean=""
  for mode in $(modes_of "$m"); do
    exe=$WORK/$m-$mode
    base=${mode%-float}
    args=("$net" --config "$RECIPE" "${set_args[@]}" --precision "$base")
    if [[ $base != "$mode" ]]; then
      # MODE-float: MODE's training graph, compiled as fp32 from its .ir
      "$OCTOC" "${args[@]}" --emit=ir -o "$WORK/$m-$mode.ir" 2>"$WORK/err.txt" ||
        die "octoc --emit=ir failed on $m $base: $(head -1 "$WORK/err.txt")"
      args=("$WORK/$m-$mode.ir")
    fi
    if ! "$OCTOC" "${args[@]}" --main -O3 -mcpu=native -o "$exe" 2>"$WORK/err.txt"; then
      why=$(grep -m1 'error' "$WORK/err.txt" || head -1 "$WORK/err.txt")
      echo "| $m | $mode | refused by octoc | – | – | – |"
      refused+=("$m $mode: $why")
      continue
    fi
    "$OCTOC" "${args[@]}" --emit=report -o "$WORK/report.txt" 2>/dev/null ||
      die "octoc --emit=report failed on $m $mode"
    state=$(bytes_of "state block" "$WORK/report.txt")
    arena=$(bytes_of "work arena" "$WORK/report.txt")
    : >"$WORK/acc.txt"
    for s in $SEEDS; do
      keep_args=()
      [[ -n $KEEP ]] && keep_args=(--log "$KEEP/$m-$mode-s$s.csv" --save "$KEEP/$m-$mode-s$s.ckpt")
      a=$("$exe" --data "$DATA" --epochs "$EPOCHS" --seed "$s" "${limit_args[@]}" \
            "${keep_args[@]}" --quiet | final_of) || die "the $m $mode trainer failed (seed $s)"
      [[ -n $a ]] || die "no final accuracy from the $m $mode trainer (seed $s)"
      echo "$a" >>"$WORK/acc.txt"
    done
    read -r mean sd n < <(awk '{ s += $1; ss += $1 * $1; n++ }
      END { m = s / n; v = ss / n - m * m; printf "%.2f %.2f %d\n", m, sqrt(v > 0 ? v : 0), n }' \
      "$WORK/acc.txt")
    [[ $mode == fp32 ]] && fp32_mean=$mean
    delta="–"
    [[ -n $fp32_mean && $mode != fp32 ]] &&
      delta=$(awk -v a="$mean" -v b="$fp32_mean" 'BEGIN { printf "%+.2f", a - b }')
    echo "| $m | $mode | $mean% ± $sd ($n) | $delta | $state | $arena |"
  done
done
if [[ ${#refused[@]} -gt 0 ]]; then
  echo
  echo "Modes octoc refused:"
  printf '  %s\n' "${refused[@]}"
fi
