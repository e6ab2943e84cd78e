#!/usr/bin/env bash
# Bad input through real generated trainers (octoc --main): a dataset whose
# image and label counts differ, images of the wrong shape, a truncated .gz
# (cut in half, or only its trailer missing), a .gz with a bad CRC (its path
# named once), a corrupt or truncated checkpoint, one with trailing bytes, a
# checkpoint of another network, an unwritable --save folder. Each must fail with exit status 1 and one
# "PROG: error: ..." message naming the file, print no epoch line, and leave
# the output folder exactly as it was: no --log file, no FILE.tmp.<pid>, and
# the previous checkpoint byte for byte.
#   bad_input.sh        (env: OCTOC, MODELS; OCTO_DATA overrides the dataset)
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

"$OCTOC" "$MODELS/mlp.net" --main -O1 -o "$tmp/mlp" || { echo "FAIL: octoc mlp"; exit 1; }
"$OCTOC" "$MODELS/lenet5.net" --main -O1 -o "$tmp/lenet5" || { echo "FAIL: octoc lenet5"; exit 1; }

# A good dataset, and a checkpoint of one mlp epoch on it: the fixture every
# failing run must leave untouched.
good=$tmp/good
dataset "$good" 256 64
out=$tmp/out
mkdir "$out"
"$tmp/mlp" --data "$good" --epochs 1 --save "$out/c.ckpt" --quiet > "$tmp/good.out" ||
  { echo "FAIL: training on the good dataset"; exit 1; }
[ "$(ls "$out")" = c.ckpt ] || { echo "FAIL: a good run left: $(ls "$out" | tr '\n' ' ')"; exit 1; }
cp "$out/c.ckpt" "$tmp/mlp.ckpt"

# expect_error NAME TEXT -- TRAINER ARGS...: exit 1, stderr has exactly one
# line, "TRAINER: error: ..." containing TEXT; no epoch line on stdout; $out
# unchanged (same files, same bytes).
expect_error() {
  local name=$1 text=$2 prog
  shift 3
  prog=$(basename "$1")
  rm -rf "$tmp/before"
  cp -a "$out" "$tmp/before"
  "$@" --log "$out/run.csv" > "$tmp/stdout" 2> "$tmp/stderr"
  local status=$?
  local before=$fails
  [ "$status" -eq 1 ] || fail "$name: exit status $status, expected 1"
  [ "$(wc -l < "$tmp/stderr")" -eq 1 ] || fail "$name: expected one line on stderr"
  grep -q "^$prog: error: " "$tmp/stderr" || fail "$name: no '$prog: error:' line"
  grep -qF -- "$text" "$tmp/stderr" || fail "$name: stderr lacks '$text'"
  ! grep -q '^epoch ' "$tmp/stdout" || fail "$name: trained before failing"
  diff -r "$tmp/before" "$out" > "$tmp/diff" || fail "$name: output folder changed: $(cat "$tmp/diff")"
  if [ "$fails" -eq "$before" ]; then
    echo "ok: $name: $(cat "$tmp/stderr")"
  else
    sed 's/^/  stderr: /' "$tmp/stderr"
  fi
}

# Image and label counts differ (256 images, 200 labels).
d=$tmp/count
dataset "$d" 256 64
idx_labels "$d/train-labels-idx1-ubyte" "$data/train-labels-idx1-ubyte.gz" 200
expect_error "image count differs from label count" \
  "$d/train-images-idx3-ubyte has 256 images but $d/train-labels-idx1-ubyte has 200 labels" -- \
  "$tmp/mlp" --data "$d" --epochs 1 --save "$out/c.ckpt"

# 32x32 images for a 1x28x28 network, in the test split: the whole dataset is
# checked before any training.
d=$tmp/shape
dataset "$d" 256 64
idx_images "$d/t10k-images-idx3-ubyte" "$data/t10k-images-idx3-ubyte.gz" 64 32 32
expect_error "32x32 images for a 28x28 network" \
  "model expects 1x28x28 samples but $d/t10k-images-idx3-ubyte has 32x32" -- \
  "$tmp/mlp" --data "$d" --epochs 1 --save "$out/c.ckpt"

# A .gz cut in half (the plain file absent, so the .gz is read).
d=$tmp/truncgz
dataset "$d" 256 64
gzip -n "$d/train-images-idx3-ubyte"
size=$(wc -c < "$d/train-images-idx3-ubyte.gz")
head -c $((size / 2)) "$d/train-images-idx3-ubyte.gz" > "$d/half" && mv "$d/half" "$d/train-images-idx3-ubyte.gz"
expect_error "truncated .gz" "$d/train-images-idx3-ubyte.gz" -- \
  "$tmp/mlp" --data "$d" --epochs 1 --save "$out/c.ckpt"

# A .gz without its 8-byte trailer (CRC and size): the data is all there,
# but the stream is cut short.
d=$tmp/notrailer
dataset "$d" 256 64
gzip -n "$d/train-labels-idx1-ubyte"
head -c -8 "$d/train-labels-idx1-ubyte.gz" > "$d/cut" && mv "$d/cut" "$d/train-labels-idx1-ubyte.gz"
expect_error ".gz without its trailer" \
  "$d/train-labels-idx1-ubyte.gz: truncated: the gzip stream ends before its CRC trailer" -- \
  "$tmp/mlp" --data "$d" --epochs 1 --save "$out/c.ckpt"

# A .gz whose CRC does not match: zlib's message, the path named once.
d=$tmp/badcrc
dataset "$d" 256 64
gzip -n "$d/train-labels-idx1-ubyte"
size=$(wc -c < "$d/train-labels-idx1-ubyte.gz")
printf '\x00\x00\x00\x00' | dd of="$d/train-labels-idx1-ubyte.gz" bs=1 seek=$((size - 8)) conv=notrunc status=none
expect_error ".gz with a bad CRC" \
  "mlp: error: $d/train-labels-idx1-ubyte.gz: read error: incorrect data check" -- \
  "$tmp/mlp" --data "$d" --epochs 1 --save "$out/c.ckpt"
[ "$(grep -o "train-labels-idx1-ubyte.gz" "$tmp/stderr" | wc -l)" -eq 1 ] ||
  fail ".gz with a bad CRC: the path is named more than once"

# flip FILE OFFSET: inverts the bits of one byte in place.
flip() {
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf '%b' "\\x$(printf %02x $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# A corrupt checkpoint, resumed and saved over: a byte of the state block, then
# a byte of the header's model name. The corrupt file must stay as it was.
size=$(wc -c < "$tmp/mlp.ckpt")
for at in $((size / 2)) 50; do
  cp "$tmp/mlp.ckpt" "$out/c.ckpt"
  flip "$out/c.ckpt" "$at"
  cmp -s "$tmp/mlp.ckpt" "$out/c.ckpt" && fail "flip did not change byte $at"
  expect_error "checkpoint with byte $at flipped" "$out/c.ckpt: corrupt" -- \
    "$tmp/mlp" --data "$good" --epochs 2 --resume "$out/c.ckpt" --save "$out/c.ckpt"
done

# A truncated checkpoint.
head -c $((size - 100)) "$tmp/mlp.ckpt" > "$out/c.ckpt"
expect_error "truncated checkpoint" "$out/c.ckpt: truncated" -- \
  "$tmp/mlp" --data "$good" --epochs 2 --resume "$out/c.ckpt" --save "$out/c.ckpt"

# A checkpoint with 5 bytes appended: the message counts them.
cp "$tmp/mlp.ckpt" "$out/c.ckpt"
printf 'extra' >> "$out/c.ckpt"
expect_error "checkpoint with trailing bytes" \
  "$out/c.ckpt: corrupt (5 trailing bytes after the state block)" -- \
  "$tmp/mlp" --data "$good" --epochs 2 --resume "$out/c.ckpt" --save "$out/c.ckpt"

# The mlp checkpoint resumed (and saved over) by the lenet5 trainer.
cp "$tmp/mlp.ckpt" "$out/c.ckpt"
expect_error "checkpoint of another network" "$out/c.ckpt: checkpoint is for model 'mlp'" -- \
  "$tmp/lenet5" --data "$good" --epochs 2 --resume "$out/c.ckpt" --save "$out/c.ckpt"

# --save into a folder that does not exist: refused before the first epoch.
expect_error "unwritable --save" "$out/missing/c.ckpt" -- \
  "$tmp/mlp" --data "$good" --epochs 1 --save "$out/missing/c.ckpt"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
