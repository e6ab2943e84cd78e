#!/usr/bin/env bash
# bench/lac_magnitudes.py reads the LAC parameters out of a real checkpoint:
# lenet5's octo graph (lac and prc passes) compiled as an fp32 trainer from
# its .ir, one short epoch with --save, then one row per LAC layer with
# finite magnitudes; a checkpoint with one byte changed is refused (CRC).
set -u
: "${OCTOC:?}" "${MODELS:?}" "${ROOT:?}"
. "$(dirname "$0")/dataset.sh"
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "SKIP: no $python"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$OCTOC" "$MODELS/lenet5.net" --config "$MODELS/octo.yaml" --emit=ir -o "$tmp/octo.ir" 2>/dev/null ||
  exit 1
"$OCTOC" "$tmp/octo.ir" --main -O1 -o "$tmp/trainer" || exit 1
"$tmp/trainer" --data "$data" --limit 500 --test-limit 200 --epochs 1 --save "$tmp/c.ckpt" \
  --quiet || exit 1
"$python" "$ROOT/bench/lac_magnitudes.py" "$tmp/c.ckpt" >"$tmp/out" || { cat "$tmp/out"; exit 1; }
cat "$tmp/out"
for layer in c1 c2 d1 d2 logits; do
  row=$(grep "| $layer |" "$tmp/out") || { echo "FAIL: no row for $layer"; exit 1; }
  # rms(mu) and rms(beta): started at N(0, 1e-3^2), finite and nonzero
  echo "$row" | awk -F'|' '{ for (i = 5; i <= 7; i++) if (!($i + 0 > 0 && $i + 0 < 1e3)) exit 1 }' ||
    { echo "FAIL: $layer: magnitudes out of range: $row"; exit 1; }
done
[ "$(grep -c "^| /" "$tmp/out")" -eq 5 ] || { echo "FAIL: expected 5 layer rows"; exit 1; }
# one byte of the state block changed: refused, exit 1
size=$(stat -c %s "$tmp/c.ckpt")
printf '\x55' | dd of="$tmp/c.ckpt" bs=1 seek=$((size - 100)) conv=notrunc status=none
if "$python" "$ROOT/bench/lac_magnitudes.py" "$tmp/c.ckpt" 2>"$tmp/err" >/dev/null; then
  echo "FAIL: a corrupt checkpoint was read"; exit 1
fi
grep -q "CRC mismatch" "$tmp/err" || { cat "$tmp/err"; echo "FAIL: no CRC message"; exit 1; }
echo PASS
