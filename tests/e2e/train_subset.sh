#!/usr/bin/env bash
# End to end: octoc compiles a model into a standalone trainer (C compiled
# and linked with the runtime), which trains on a Fashion-MNIST subset; the
# final test accuracy must pass a threshold, and the loss must fall.
#   train_subset.sh MODEL TRAIN_SAMPLES EPOCHS MIN_ACCURACY [PRECISION]
set -u
: "${OCTOC:?}" "${MODELS:?}"
model=$1 limit=$2 epochs=$3 min_acc=$4 precision=${5:-fp32}
. "$(dirname "$0")/dataset.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$OCTOC" "$MODELS/$model.net" --precision "$precision" --main -O3 -o "$tmp/trainer" || exit 1
"$tmp/trainer" --data "$data" --limit "$limit" --test-limit 2000 --epochs "$epochs" \
  --log "$tmp/log.csv" | tee "$tmp/out" || exit 1

acc=$(sed -n 's/^final test accuracy: \([0-9.]*\)%$/\1/p' "$tmp/out")
[ -n "$acc" ] || { echo "FAIL: no final accuracy line"; exit 1; }
first_loss=$(awk -F, 'NR == 2 {print $2}' "$tmp/log.csv")
last_loss=$(awk -F, 'END {print $2}' "$tmp/log.csv")
echo "accuracy $acc% (minimum $min_acc%), loss $first_loss -> $last_loss"
awk -v a="$acc" -v m="$min_acc" 'BEGIN {exit !(a >= m)}' || { echo "FAIL: accuracy too low"; exit 1; }
if [ "$epochs" -gt 1 ]; then
  awk -v f="$first_loss" -v l="$last_loss" 'BEGIN {exit !(l < f)}' || { echo "FAIL: loss did not fall"; exit 1; }
fi
echo PASS
