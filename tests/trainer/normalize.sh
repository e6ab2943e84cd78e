#!/usr/bin/env bash
# The model normalises its own pixels the way the recipe says (key `input`,
# default mean 0.5, std 0.5: pixels in [-1, 1]); the trainer hands it the
# dataset's bytes untouched. A default model and one compiled with `--set
# input.mean=0 --set input.std=1` train differently on the same data, the
# header says which normalisation the model has, and the trainer's old
# --normalize option is a usage error that says where the setting went.
# (tests/bitexact proves the in-program normalisation gives the very floats
# the runtime used to compute.)
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
"$OCTOC" "$MODELS/mlp.net" --set input.mean=0 --set input.std=1 --emit=c -o "$tmp/unit.c" ||
  { echo "FAIL: octoc --emit=c (unit)"; exit 1; }
dataset "$tmp/data" 1000 200

grep -qx '#define MLP_INPUT_MEAN 0.5f' "$tmp/mlp.h" || fail "header: no MLP_INPUT_MEAN 0.5f"
grep -qx '#define MLP_INPUT_STD 0.5f' "$tmp/mlp.h" || fail "header: no MLP_INPUT_STD 0.5f"
grep -qx '#define MLP_INPUT_STD 1.0f' "$tmp/unit.h" || fail "unit header: no MLP_INPUT_STD 1.0f"
grep -q 'const uint8_t \*x' "$tmp/mlp.h" || fail "header: x is not the raw bytes"
grep -q -- '--normalize' <("$tmp/half" --help) && fail "--help still offers --normalize"
"$tmp/half" --normalize 0,1 --data "$tmp/data" > /dev/null 2> "$tmp/norm.err"
[ $? -eq 2 ] || fail "--normalize is not a usage error"
grep -q "the model normalises its input itself" "$tmp/norm.err" ||
  fail "--normalize: the message does not say where the setting went: $(cat "$tmp/norm.err")"

# The epoch lines without their time and samples/s fields.
run() { "$@" --data "$tmp/data" --epochs 1 | sed -n 's/  time .*//p'; }
run "$tmp/half" > "$tmp/default.out" || fail "default run"
run "$tmp/half" > "$tmp/again.out" || fail "second default run"
run "$tmp/unit" > "$tmp/unit.out" || fail "unit model's run"
cat "$tmp/default.out" "$tmp/unit.out"
[ -s "$tmp/default.out" ] || fail "no epoch line"
cmp -s "$tmp/default.out" "$tmp/again.out" || fail "two default runs differ"
cmp -s "$tmp/default.out" "$tmp/unit.out" &&
  fail "a model compiled with input.mean=0, input.std=1 trains like the default"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
