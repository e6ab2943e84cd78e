#!/usr/bin/env bash
# The trainer normalises pixels the way the recipe says (key `input`, default
# mean 0.5, std 0.5: pixels in [-1, 1]): a default run prints the same epoch
# lines as an explicit `--normalize 0.5,0.5` and different ones from
# `--normalize 0,1`; a model compiled with `--set input.mean=0 --set
# input.std=1` trains like `--normalize 0,1`; --help and the header say which.
#   normalize.sh        (env: OCTOC, MODELS; OCTO_DATA overrides the dataset)
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

"$OCTOC" "$MODELS/mlp.net" --main -O1 -o "$tmp/half" || { echo "FAIL: octoc"; exit 1; }
"$OCTOC" "$MODELS/mlp.net" --set input.mean=0 --set input.std=1 --main -O1 -o "$tmp/unit" ||
  { echo "FAIL: octoc --set input.*"; exit 1; }
"$OCTOC" "$MODELS/mlp.net" --emit=c -o "$tmp/mlp.c" || { echo "FAIL: octoc --emit=c"; exit 1; }
dataset "$tmp/data" 1000 200

grep -qx '#define MLP_INPUT_MEAN 0.5f' "$tmp/mlp.h" || fail "header: no MLP_INPUT_MEAN 0.5f"
grep -qx '#define MLP_INPUT_STD 0.5f' "$tmp/mlp.h" || fail "header: no MLP_INPUT_STD 0.5f"
"$tmp/half" --help | grep -q '(default 0.5,0.5' || fail "--help does not show the default 0.5,0.5"
"$tmp/unit" --help | grep -q '(default 0,1' || fail "--help of the unit model does not show 0,1"

# The epoch lines without their time and samples/s fields.
run() { "$@" --data "$tmp/data" --epochs 1 | sed -n 's/  time .*//p'; }
run "$tmp/half" > "$tmp/default.out" || fail "default run"
run "$tmp/half" --normalize 0.5,0.5 > "$tmp/half.out" || fail "--normalize 0.5,0.5 run"
run "$tmp/half" --normalize 0,1 > "$tmp/unit.out" || fail "--normalize 0,1 run"
run "$tmp/unit" > "$tmp/unit-default.out" || fail "unit model's default run"
cat "$tmp/default.out" "$tmp/unit.out"
[ -s "$tmp/default.out" ] || fail "no epoch line"
cmp -s "$tmp/default.out" "$tmp/half.out" || fail "the default run differs from --normalize 0.5,0.5"
cmp -s "$tmp/default.out" "$tmp/unit.out" && fail "--normalize 0,1 trains the same as 0.5,0.5"
cmp -s "$tmp/unit-default.out" "$tmp/unit.out" ||
  fail "input.mean=0, input.std=1 does not train like --normalize 0,1"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
