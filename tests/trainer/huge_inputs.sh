#!/usr/bin/env bash
# Inputs far larger than they should be. gzip bombs: a few MB of gzip whose
# IDX header promises gigabytes. The trainer checks every header (the
# model's sample shape, the image and label counts) before it reads a
# payload, so each bomb fails at once with the message its first bytes
# already justify. An endless checkpoint (--resume /dev/zero) is read only
# to the size this trainer's checkpoint has. All inside a 1 GiB address
# space (ulimit -v; not in a sanitized build, whose shadow memory alone is
# larger). The times are printed for the log; the test asserts on the
# messages, the exit status and the memory limit, not on time.
#   huge_inputs.sh      (env: OCTOC, MODELS; OCTO_DATA overrides the dataset)
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

# 64 MiB of zeros as one gzip member (64 kB); a bomb is a header member and
# then that member N times (gzip readers read concatenated members as one).
head -c $((64 << 20)) /dev/zero | gzip -n > "$tmp/zeros.gz"
# bomb OUT N D1 D2 D3: an images file of D1xD2xD3 bytes, N x 64 MiB of zeros.
bomb() {
  local out=$1 n=$2 i
  { printf '\x00\x00\x08\x03'; be32 "$3"; be32 "$4"; be32 "$5"; } | gzip -n > "$out"
  for i in $(seq "$n"); do cat "$tmp/zeros.gz"; done >> "$out"
}

limit=
[ "${OCTO_SANITIZE:-none}" = none ] && limit="ulimit -v $((1 << 20));"

# expect_refused NAME TEXT DIR [ARGS...]: the trainer on DIR exits 1 with
# one error line containing TEXT.
expect_refused() {
  local name=$1 text=$2 d=$3 start
  shift 3
  start=$(date +%s%N)
  bash -c "$limit exec \"\$@\"" trainer "$tmp/mlp" --data "$d" --epochs 1 "$@" > "$tmp/out" 2> "$tmp/err"
  local status=$? before=$fails
  local ms=$((($(date +%s%N) - start) / 1000000))
  [ "$status" -eq 1 ] || fail "$name: exit status $status, expected 1"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "$name: expected one line on stderr"
  grep -qF -- "$text" "$tmp/err" || fail "$name: stderr lacks '$text'"
  if [ "$fails" -eq "$before" ]; then
    echo "ok: $name: refused in ${ms} ms: $(cat "$tmp/err")"
  else
    sed 's/^/  stderr: /' "$tmp/err"
  fi
}

# 1x65536x65536 (4 GiB of zeros): the sample shape is not the model's.
d=$tmp/shape
dataset "$d" 256 64
rm "$d/train-images-idx3-ubyte"
bomb "$d/train-images-idx3-ubyte.gz" 64 1 65536 65536
expect_refused "4 GiB bomb of 65536x65536 images" \
  "model expects 1x28x28 samples but $d/train-images-idx3-ubyte.gz has 65536x65536" "$d"

# 5,000,000 images of 28x28 (3.7 GiB of zeros): the model's shape, but the
# labels' header says 256.
d=$tmp/count
dataset "$d" 256 64
rm "$d/train-images-idx3-ubyte"
bomb "$d/train-images-idx3-ubyte.gz" 60 5000000 28 28
expect_refused "3.7 GiB bomb of 28x28 images, 256 labels" \
  "$d/train-images-idx3-ubyte.gz has 5000000 images but $d/train-labels-idx1-ubyte has 256 labels" "$d"

du -k "$tmp"/*/train-images-idx3-ubyte.gz

# A checkpoint that never ends.
dataset "$tmp/good" 256 64
expect_refused "--resume /dev/zero" "/dev/zero: not an Octo checkpoint" "$tmp/good" \
  --resume /dev/zero

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
