#!/usr/bin/env bash
# An autoencoder (mse(p, flatten(image)), no label) end to end through
# `octoc --main` on a Fashion-MNIST subset: the trainer needs no label or
# target files, its target is the normalised input, and two epochs bring the
# test loss well under the untrained model's and under the first epoch's.
# The header says y is unused; a NULL y trains (checked in tests/regression).
#   autoencoder.sh      (env: OCTOC, TRAINER_DIR; OCTO_DATA overrides the dataset)
set -u
: "${OCTOC:?}" "${TRAINER_DIR:?}"
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
# shellcheck source=tests/trainer/fixtures.sh
. "$(dirname "$0")/fixtures.sh"
need_data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sanitized_cc
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# mse averages over the 784 pixels, so the gradients are small: a large rate.
"$OCTOC" "$TRAINER_DIR/autoencoder.net" --lr 2 --main -O1 -o "$tmp/autoenc" ||
  { echo "FAIL: octoc autoencoder.net"; exit 1; }
"$OCTOC" "$TRAINER_DIR/autoencoder.net" --emit=c -o "$tmp/autoenc.c" ||
  { echo "FAIL: octoc --emit=c"; exit 1; }
grep -q 'y is unused' "$tmp/autoenc.h" || fail "the header does not say y is unused"
grep -qx '#define AUTOENC_LABEL_SIZE 0' "$tmp/autoenc.h" || fail "AUTOENC_LABEL_SIZE is not 0"
grep -qx '#define AUTOENC_OUTPUT_SIZE 784' "$tmp/autoenc.h" || fail "AUTOENC_OUTPUT_SIZE is not 784"

# Images only: no label files in the folder.
mkdir "$tmp/data"
idx_images "$tmp/data/train-images-idx3-ubyte" "$data/train-images-idx3-ubyte.gz" 1024 28 28
idx_images "$tmp/data/t10k-images-idx3-ubyte" "$data/t10k-images-idx3-ubyte.gz" 256 28 28

"$tmp/autoenc" --data "$tmp/data" --epochs 0 --quiet > "$tmp/untrained.out" ||
  fail "evaluating the untrained model"
"$tmp/autoenc" --data "$tmp/data" --epochs 2 > "$tmp/run.out" || fail "training"
cat "$tmp/untrained.out" "$tmp/run.out"
untrained=$(sed -n 's/^final test loss: //p' "$tmp/untrained.out")
first=$(sed -n 's/^epoch 1\/2  loss [0-9.]*  test_loss \([0-9.]*\) .*/\1/p' "$tmp/run.out")
final=$(sed -n 's/^final test loss: //p' "$tmp/run.out")
[ -n "$untrained" ] && [ -n "$first" ] && [ -n "$final" ] || fail "missing loss lines"
awk -v u="${untrained:-0}" -v a="${first:-0}" -v f="${final:-1}" \
  'BEGIN { exit !(f < u / 3 && f < a) }' ||
  fail "test loss $final is not under a third of the untrained $untrained and under epoch 1's $first"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
