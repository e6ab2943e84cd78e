#!/usr/bin/env bash
# PRC clip rates in the --log CSV (recipe key prc.stats, docs/int8.md
# "Diagnostics"): lenet5 under octo (scale, p = 0.95, clips of the error,
# the saved activation and the weight) with stats on logs one column per
# clip, named after it: 5 activations, 5 errors, and the weights of the 4
# layers that have a dx. Each value is clipped / seen over its epoch: the
# scale clip cuts at least the largest and the smallest element of each
# error tensor and never all of them, so every error rate lies in (0, 1).
# Without the key the log has the plain 6 columns.
#   clip_rates.sh        (env: OCTOC, MODELS; OCTO_DATA overrides the dataset)
set -u
: "${OCTOC:?}" "${MODELS:?}"
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
# shellcheck source=tests/trainer/fixtures.sh
. "$(dirname "$0")/fixtures.sh"
need_data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sanitized_cc
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

dataset "$tmp/data" 1000 200
"$OCTOC" "$MODELS/lenet5.net" --precision octo --set prc.stats=true --main -O2 -o "$tmp/stats" ||
  { echo "FAIL: octoc (stats)"; exit 1; }
"$OCTOC" "$MODELS/lenet5.net" --precision octo --main -O2 -o "$tmp/plain" ||
  { echo "FAIL: octoc (plain)"; exit 1; }
"$tmp/stats" --data "$tmp/data" --epochs 2 --log "$tmp/stats.csv" -q > /dev/null ||
  { echo "FAIL: training with stats"; exit 1; }
"$tmp/plain" --data "$tmp/data" --epochs 1 --log "$tmp/plain.csv" -q > /dev/null ||
  { echo "FAIL: training without stats"; exit 1; }
cat "$tmp/stats.csv"

# the header: the fixed columns, then the clips (in any order)
fixed=epoch,loss,train_acc,test_acc,seconds,samples_per_s
[ "$(head -1 "$tmp/stats.csv" | cut -d, -f1-6)" = "$fixed" ] || fail "fixed columns"
head -1 "$tmp/stats.csv" | cut -d, -f7- | tr , '\n' | sort > "$tmp/clips"
for l in c1 c2 d1 d2 logits; do echo "$l.prc.activation"; echo "$l.prc.error"; done > "$tmp/want"
for l in c2 d1 d2 logits; do echo "$l.prc.weight"; done >> "$tmp/want"
sort -o "$tmp/want" "$tmp/want"
diff "$tmp/want" "$tmp/clips" || fail "the clip columns are not one per clip"
[ "$(wc -l < "$tmp/stats.csv")" -eq 3 ] || fail "expected a header and 2 rows"

# every rate a number in [0, 1], every error rate strictly inside
awk -F, 'NR == 1 { for (i = 7; i <= NF; i++) name[i] = $i; next }
  { for (i = 7; i <= NF; i++) {
      if ($i !~ /^[0-9.e+-]+$/ || $i < 0 || $i > 1) { print "bad rate " name[i] " = \"" $i "\""; bad = 1 }
      if (name[i] ~ /\.prc\.error$/ && !($i > 0 && $i < 1)) {
        print "error rate " name[i] " = " $i " not in (0, 1)"; bad = 1 } } }
  END { exit bad }' "$tmp/stats.csv" || fail "implausible clip rates"

[ "$(head -1 "$tmp/plain.csv")" = "$fixed" ] || fail "without prc.stats the log has extra columns"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
