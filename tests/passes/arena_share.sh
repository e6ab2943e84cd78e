#!/usr/bin/env bash
# Issue 11's memory target: MODEL's octo trainer at batch 32 plans a work
# arena of at most PERCENT % of its fp32 trainer's (from --emit=report; the
# plan is a compile-time fact, so this is a test, not a benchmark).
#   arena_share.sh MODEL PERCENT
set -u
: "${OCTOC:?}" "${MODELS:?}"
model=$1 percent=$2
arena() {
  "$OCTOC" "$MODELS/$model.net" --batch 32 "$@" --emit=report |
    sed -n 's/^work arena: \([0-9]*\) bytes.*/\1/p'
}
fp32=$(arena --precision fp32) || exit 1
octo=$(arena --config "$MODELS/octo.yaml" --precision octo) || exit 1
[ -n "$fp32" ] && [ -n "$octo" ] || { echo "FAIL: no 'work arena' line in the report"; exit 1; }
share=$(awk -v a="$octo" -v b="$fp32" 'BEGIN { printf "%.1f", 100 * a / b }')
echo "$model: octo arena $octo bytes, fp32 $fp32 bytes: $share %"
awk -v s="$share" -v l="$percent" 'BEGIN { exit !(s <= l) }' ||
  { echo "FAIL: above $percent %"; exit 1; }
echo "PASS"
