#!/usr/bin/env bash
# Compile time and C size stay linear in the kernel width (issue 10 item
# 11): past 64 taps per row, conv2d (im2col, col2im), maxpool and avgpool
# (and avgpool's gradient) loop over the taps instead of unrolling them. A
# 1x100000 kernel of each, and a 300x300 convolution, compile to less than
# 200 KB of C (unrolled, 1x100000 wrote about 80 MB); a 1x80 one of each
# builds with cc -Wall -Werror. Bounds are on size, never on time.
#   wide_kernels.sh      (env: OCTOC)
set -u
: "${OCTOC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# model NAME H W LAYER: a network whose input is [2, H, W] and whose first
# layer is LAYER (of x), then a dense classifier.
model() {
  cat > "$tmp/$1.net" <<NET
network $1 {
  input x: f32[2, $2, $3];
  label y: class[4];
  c = $4;
  logits = dense(flatten(c), units=4);
  loss = softmax_cross_entropy(logits, y);
}
NET
}

# bounded NAME MAXBYTES: compiles to C of at most MAXBYTES.
bounded() {
  if ! "$OCTOC" "$tmp/$1.net" --emit=c -o "$tmp/$1.c" 2> "$tmp/err"; then
    fail "$1: $(head -c 300 "$tmp/err")"
    return
  fi
  local size
  size=$(wc -c < "$tmp/$1.c")
  if [ "$size" -gt "$2" ]; then fail "$1: $size bytes of C, more than $2"
  else echo "ok: $1: $size bytes of C"; fi
}

w=100008
model conv_1x100000 1 $w "conv2d(x, filters=2, kernel=[1, 100000], pad=[0, 3])"
model maxpool_1x100000 1 $w "maxpool(x, kernel=[1, 100000], stride=[1, 2], pad=[0, 3])"
model avgpool_1x100000 1 $w "avgpool(x, kernel=[1, 100000], stride=[1, 2], pad=[0, 3])"
model conv_300x300 302 302 "conv2d(x, filters=2, kernel=[300, 300], pad=1)"
for m in conv_1x100000 maxpool_1x100000 avgpool_1x100000 conv_300x300; do
  bounded "$m" 200000
done

# The tap loops are C that compiles cleanly (-Werror): unused locals and
# the like would stop a -Werror build of a user's project.
cc=${CC:-cc}
if command -v "$cc" > /dev/null; then
  model wide80 3 300 "avgpool(maxpool(conv2d(x, filters=2, kernel=[2, 80], pad=[1, 2]), kernel=[1, 70], stride=[1, 1], pad=[0, 1]), kernel=[1, 66], pad=[0, 2], stride=[1, 1])"
  if "$OCTOC" "$tmp/wide80.net" --emit=c -o "$tmp/wide80.c" 2> "$tmp/err" &&
    "$cc" -std=c99 -Wall -Wextra -Werror -c "$tmp/wide80.c" -o "$tmp/wide80.o" 2>> "$tmp/err"; then
    echo "ok: wide80 builds with $cc -Wall -Wextra -Werror"
  else
    fail "wide80: $(head -c 600 "$tmp/err")"
  fi
fi
[ "$fails" -eq 0 ]
