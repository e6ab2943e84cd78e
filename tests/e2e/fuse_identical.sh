#!/usr/bin/env bash
# The fuse pass changes no value: a trainer built with it and one built with
# --no-fuse train from the same seed to the same parameters, bit for bit.
# Both train one epoch on a Fashion-MNIST subset and save a checkpoint; the
# checkpoints must be equal except for the program hash (bytes 24..31: the
# programs differ) and the CRC that covers it (the last 4 bytes).
#   fuse_identical.sh MODEL LIMIT PRECISION [octoc options...]
set -u
: "${OCTOC:?}" "${MODELS:?}"
model=$1 limit=$2 precision=$3
shift 3
. "$(dirname "$0")/dataset.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$OCTOC" "$MODELS/$model.net" --precision "$precision" "$@" --emit=ir -o "$tmp/fused.ir" || exit 1
fused=$(grep -c 'fused = ' "$tmp/fused.ir")
echo "$fused nodes absorbed others"
[ "$fused" -gt 0 ] || { echo "FAIL: the fuse pass fused nothing"; exit 1; }
for kind in fused unfused; do
  flag=()
  [ $kind = unfused ] && flag=(--no-fuse)
  "$OCTOC" "$MODELS/$model.net" --precision "$precision" "$@" "${flag[@]}" --main \
    -o "$tmp/$kind" || exit 1
  "$tmp/$kind" --data "$data" --limit "$limit" --test-limit 200 --epochs 1 --quiet \
    --save "$tmp/$kind.ckpt" || exit 1
done
body() { tail -c +33 "$1" | head -c -4; }
if ! cmp <(body "$tmp/fused.ckpt") <(body "$tmp/unfused.ckpt"); then
  echo "FAIL: the fused trainer's parameters differ from the unfused one's"
  exit 1
fi
cmp -s <(head -c 32 "$tmp/fused.ckpt") <(head -c 32 "$tmp/unfused.ckpt") &&
  { echo "FAIL: same program hash: --no-fuse changed nothing"; exit 1; }
echo "PASS: $(($(stat -c %s "$tmp/fused.ckpt") - 36)) checkpoint bytes identical"
