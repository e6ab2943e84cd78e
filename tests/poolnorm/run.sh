#!/bin/bash
# Compiles small pooling / batch-norm models with octoc --emit=c, builds each
# with the driver check.c and runs it against its double-precision
# reference (see check.c). Usage: run.sh [pool|bn|infer] (default: all).
# Environment: OCTOC (from lit_env), SRCDIR (this folder), CC (default cc).
set -u
: "${OCTOC:?OCTOC must name the octoc binary}" "${SRCDIR:?SRCDIR must name tests/poolnorm}"
CC=${CC:-cc}
CFLAGS_EXTRA=${CHECK_CFLAGS:-}  # e.g. -fsanitize=address,undefined
which=${1:-all}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fails=0
cases=0

# The planned work buffers as "name offset bytes" lines, from --emit=loops.
offsets() {
  awk '$1 == "buffer" && $5 == "work" {
    name = substr($2, 2); t = $4; el = (t ~ /^i64/ ? 8 : 4)
    sub(/^[a-z0-9]+\[/, "", t); sub(/\]$/, "", t)
    cnt = 1; nd = split(t, d, ","); for (i = 1; i <= nd; i++) if (d[i] != "") cnt *= d[i]
    off = $6; sub(/^@/, "", off); print name, off, cnt * el }'
}

# build_and_run NAME BATCH KIND ARGS...: model text on stdin.
build_and_run() {
  local name=$1 batch=$2 kind=$3
  shift 3
  local d="$tmp/$name"
  mkdir -p "$d" && cat > "$d/m.net" || return 1
  cases=$((cases + 1))
  local opts=(--batch "$batch" --set optimizer.momentum=0 --set optimizer.lr=1)
  if ! "$OCTOC" "$d/m.net" "${opts[@]}" --emit=loops -o "$d/m.loops" ||
     ! "$OCTOC" "$d/m.net" "${opts[@]}" --emit=c -o "$d/m.c"; then
    echo "FAIL $name: octoc failed"; fails=$((fails + 1)); return
  fi
  offsets < "$d/m.loops" > "$d/offsets"
  if ! "$CC" -std=c11 -O2 $CFLAGS_EXTRA -c "$d/m.c" -o "$d/m.o" ||
     ! "$CC" -std=c11 -O2 $CFLAGS_EXTRA -Wall -Wextra -Werror -I"$d" "$SRCDIR/check.c" "$d/m.o" -lm \
         -o "$d/check"; then
    echo "FAIL $name: compile failed"; fails=$((fails + 1)); return
  fi
  echo "== $name"
  if ! "$d/check" "$kind" "$d/offsets" "$@"; then
    echo "FAIL $name"; fails=$((fails + 1))
  fi
}

# pool NAME KIND C H W KH KW SH SW PH PW BATCH N TIES
pool() {
  local name=$1 kind=$2 c=$3 h=$4 w=$5 kh=$6 kw=$7 sh=$8 sw=$9 ph=${10} pw=${11}
  local batch=${12} n=${13} ties=${14}
  local oh=$(( (h + 2 * ph - kh) / sh + 1 )) ow=$(( (w + 2 * pw - kw) / sw + 1 ))
  local k=$((c * oh * ow)) op="$kind(s, kernel=[$kh, $kw], stride=[$sh, $sw], pad=[$ph, $pw])"
  local logits="f = flatten(p);
  loss = softmax_cross_entropy(f, y);"
  if [ "$kind" = gap ]; then
    k=$c op="global_avgpool(s)" logits="loss = softmax_cross_entropy(p, y);"
  fi
  build_and_run "$name" "$batch" "$kind" c=$c h=$h w=$w kh=$kh kw=$kw sh=$sh sw=$sw ph=$ph \
    pw=$pw n=$n ties=$ties <<NET
network m {
  input x: f32[$c, $h, $w];
  label y: class[$k];
  s = scale(x);
  p = $op;
  $logits
}
NET
}

# bn NAME C H W BATCH N EPS MOM INFER [NOSCALE] (h = w = 0: x is [N,C];
# NOSCALE 1: batch-norm directly on the input, so its dx has no reader)
bn() {
  local name=$1 c=$2 h=$3 w=$4 batch=$5 n=$6 eps=$7 mom=$8 infer=$9 noscale=${10:-0}
  local src=s scale="s = scale(x);"
  if [ "$noscale" = 1 ]; then src=x scale=""; fi
  local shape="$c, $h, $w" k=$((c * h * w)) logits="f = flatten(h);
  loss = softmax_cross_entropy(f, y);"
  if [ "$h" = 0 ]; then
    shape="$c" k=$c logits="loss = softmax_cross_entropy(h, y);"
  fi
  build_and_run "$name" "$batch" bn c=$c h=$h w=$w n=$n eps=$eps mom=$mom infer=$infer \
    noscale=$noscale <<NET
network m {
  input x: f32[$shape];
  label y: class[$k];
  $scale
  h = batchnorm($src, eps=$eps, momentum=$mom);
  $logits
}
NET
}

if [ "$which" = all ] || [ "$which" = pool ]; then
  #    name                      kind    c h  w  kh kw sh sw ph pw batch n ties
  pool maxpool_2x2_s2            maxpool 3 6  8  2  2  2  2  0  0  4     4 0
  pool maxpool_3x3_s2_pad1       maxpool 2 7  9  3  3  2  2  1  1  5     3 0
  pool maxpool_overlap_ties      maxpool 2 5  6  3  3  1  1  0  0  3     3 1
  pool maxpool_rect_pad_ties     maxpool 3 6  7  2  3  1  2  1  1  4     2 1
  pool maxpool_2x2_ties          maxpool 2 4  6  2  2  2  2  0  0  2     2 1
  pool maxpool_batch1            maxpool 2 5  5  3  3  2  2  1  1  1     1 0
  pool avgpool_3x3_s2_pad1       avgpool 2 6  7  3  3  2  2  1  1  4     2 0
  pool avgpool_overlap_rect_pad  avgpool 3 5  8  3  2  1  2  2  1  3     3 0
  pool avgpool_2x2_batch1        avgpool 2 4  4  2  2  2  2  0  0  1     1 0
  pool maxpool_2x2_s2_odd_rest   maxpool 2 7  9  2  2  2  2  0  0  3     3 1
  pool maxpool_3x3_s3_rest       maxpool 2 8  7  3  3  3  3  0  0  2     2 0
  pool avgpool_3x2_s2x3_unpadded avgpool 2 7  8  3  2  2  3  0  0  3     3 0
  pool gap_lanes_and_tail        gap     3 5  7  1  1  1  1  0  0  4     3 0
  pool gap_tail_only_batch1      gap     4 2  3  1  1  1  1  0  0  1     1 0
  pool gap_exact_lanes           gap     2 4  8  1  1  1  1  0  0  2     2 0
fi
if [ "$which" = all ] || [ "$which" = bn ]; then
  #  name                        c  h w batch n eps   mom infer
  bn bn_nchw_lanes_tail_partial  3  5 7 4     3 1e-5  0.1 0
  bn bn_nchw_tail_only_batch1    2  2 3 1     1 1e-3  0.2 0
  bn bn_nchw_exact_lanes         2  4 4 2     2 1e-5  0.5 0
  bn bn_nc_partial               5  0 0 6     4 1e-5  0.1 0
  bn bn_nc_full                  17 0 0 3     3 1e-4  0.3 0
  bn bn_on_input_nchw_no_dx      3  3 6 4     4 1e-5  0.1 0   1
  bn bn_on_input_nc_no_dx        6  0 0 5     2 1e-5  0.1 0   1
fi
if [ "$which" = infer ]; then
  bn bn_infer_nchw               3  5 7 4     3 1e-5  0.1 1
  bn bn_infer_nc                 5  0 0 6     4 1e-5  0.1 1
fi
echo "$cases cases, $fails failed"
[ "$cases" -gt 0 ] && [ "$fails" -eq 0 ]
