#!/usr/bin/env bash
# `octoc --emit=c --main` for a bare-metal target writes the image's five C
# files (docs/baremetal.md): NAME_board.c sizes the blocks with the header's
# macros; NAME_data.c holds the first --samples samples of --data's IDX
# files, byte for byte. Tried on a small IDX pair made here (4 images of
# 2x3 pixels), and on IDX files that disagree or are malformed, which are
# errors naming the file, with nothing written. Needs no cross tools.
set -u
: "${OCTOC:?}" "${MODELS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir "$tmp/data" "$tmp/out"

# IDX: 00 00 08 NDIMS, big-endian u32 dims, bytes.
printf '\0\0\10\3\0\0\0\4\0\0\0\2\0\0\0\3' > "$tmp/data/train-images-idx3-ubyte"
for i in 0 1 2 3; do printf "\\$((i * 10 + 1))\\$((i * 10 + 2))\\$((i * 10 + 3))\\$((i * 10 + 4))\\$((i * 10 + 5))\\$((i * 10 + 6))" ; done \
  >> "$tmp/data/train-images-idx3-ubyte"
printf '\0\0\10\1\0\0\0\4\7\2\0\5' > "$tmp/data/train-labels-idx1-ubyte"

"$OCTOC" "$MODELS/lenet5.net" -target riscv32 --main --emit=c -o "$tmp/out/lenet5.c" \
  --data "$tmp/data" --samples 3 2> "$tmp/err" || { fail "octoc"; cat "$tmp/err"; }
for f in lenet5.c lenet5.h lenet5_main.c lenet5_board.c lenet5_data.c; do
  [ -f "$tmp/out/$f" ] || fail "$f was not written"
done
# The samples' pixels (octal in the printf above: 1..6, 11..16, 21..26) and labels.
tr -d ' \n' < "$tmp/out/lenet5_data.c" > "$tmp/flat"
grep -qF 'staticconstuint8_tpixels[18]={1,2,3,4,5,6,9,10,11,12,13,14,17,18,19,20,21,22,};' "$tmp/flat" ||
  fail "the pixels of 3 samples: $(grep -o 'pixels\[.*' "$tmp/flat" | head -c 120)"
grep -qF 'staticconstint32_tlabels[3]={7,2,0,};' "$tmp/flat" || fail "the labels of 3 samples"
grep -qF 'constOctoSubsetocto_subset={pixels,labels,3,6,"train-images-idx3-ubyte"};' "$tmp/flat" ||
  fail "the subset descriptor"
grep -qF 'static uint8_t state[LENET5_STATE_BYTES > 0 ? LENET5_STATE_BYTES : 1]' "$tmp/out/lenet5_board.c" ||
  fail "the state block's array"
grep -qF 'const OctoBlocks octo_blocks = {state, work, LENET5_STATE_BYTES, LENET5_WORK_BYTES};' \
  "$tmp/out/lenet5_board.c" || fail "the blocks' descriptor"
# Both files compile with the host's gcc against the model's header.
for f in lenet5_board.c lenet5_data.c; do
  cc -std=c99 -Wall -Wextra -Werror -I"$tmp/out" -I"$(dirname "$0")/../../runtime/baremetal" \
    -c "$tmp/out/$f" -o "$tmp/$f.o" || fail "$f does not compile"
done

# refused WHAT TEXT OCTOC-ARGS...: exit 1, TEXT on stderr, no output.
refused() {
  local what=$1 text=$2
  shift 2
  rm -rf "$tmp/out" && mkdir "$tmp/out"
  "$OCTOC" "$MODELS/lenet5.net" -target riscv32 --main --emit=c -o "$tmp/out/lenet5.c" "$@" \
    2> "$tmp/err"
  local got=$?
  [ "$got" -eq 1 ] && grep -qF -- "$text" "$tmp/err" || { fail "$what: exit $got"; cat "$tmp/err"; }
  [ -z "$(ls "$tmp/out")" ] || fail "$what: wrote $(ls "$tmp/out")"
  echo "ok: $what"
}
refused "4 samples, 4 labels, --samples 5" "--samples 5: $tmp/data/train-images-idx3-ubyte has 4 samples (1 to 4)" \
  --data "$tmp/data" --samples 5
printf '\0\0\10\1\0\0\0\3\7\2\0' > "$tmp/data/train-labels-idx1-ubyte"
refused "4 images, 3 labels" "$tmp/data/train-images-idx3-ubyte has 4 images, $tmp/data/train-labels-idx1-ubyte 3 labels" \
  --data "$tmp/data" --samples 2
printf '\0\0\10\1\0\0\0\4\7\2' > "$tmp/data/train-labels-idx1-ubyte"
refused "a truncated label file" "$tmp/data/train-labels-idx1-ubyte" --data "$tmp/data" --samples 2

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
