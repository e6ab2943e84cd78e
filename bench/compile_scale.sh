#!/bin/bash
# compile_scale.sh: octoc's compile time and peak memory (--emit=c) against
# the model's size, issue 10 items 11 and 12. Two tables, wall time and CPU
# time (user + system: what a busy machine does not inflate) in seconds and
# peak RSS in MB, from GNU time:
#   layers: a chain dense -> N relu -> dense (N = LAYERS, default 1k .. 200k;
#           199,990 stands for 200k: the language allows 200,000 ops in all),
#           and a chain of N dense layers of 8 units (N = DENSE, default 5k);
#   kernel: one conv2d of 2 filters with a 1 x K kernel on a [2, 1, K+8]
#           input, and a maxpool of the same window (K = KERNELS, default
#           10 .. 100k), with the size of the C written.
#
#   bench/compile_scale.sh                  (env: OCTOC, LAYERS, DENSE, KERNELS)
#
# OCTOC defaults to build-bench/octoc, else build/octoc. Needs GNU time as
# /usr/bin/time (Debian package `time`).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
OCTOC=${OCTOC:-$([ -x "$here/build-bench/octoc" ] && echo "$here/build-bench/octoc" || echo "$here/build/octoc")}
LAYERS=${LAYERS:-"1000 2000 5000 10000 20000 50000 100000 199990"}
DENSE=${DENSE:-"5000"}
KERNELS=${KERNELS:-"10 100 1000 10000 100000"}
if [ ! -x /usr/bin/time ]; then
  echo "compile_scale.sh: needs GNU time as /usr/bin/time (Debian package: time)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# measure NET: prints "wall-seconds cpu-seconds MB bytes-of-C" for octoc NET
# --emit=c.
measure() {
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$OCTOC" "$1" --emit=c -o "$tmp/out.c" \
    2> "$tmp/err" || { echo "octoc failed on $1: $(head -c 300 "$tmp/err")" >&2; exit 1; }
  read -r secs user sys kb < "$tmp/time"
  local cpu
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  echo "$secs $cpu $((kb / 1024)) $(wc -c < "$tmp/out.c")"
}

chain() { # chain N relu|dense
  awk -v n="$1" -v kind="$2" 'BEGIN {
    print "network chain {\n  input x: f32[8];\n  label y: class[4];\n  h0 = dense(x, units=8);"
    for (i = 1; i <= n; i++)
      if (kind == "relu") printf "  h%d = relu(h%d);\n", i, i - 1
      else printf "  h%d = dense(h%d, units=8);\n", i, i - 1
    printf "  logits = dense(h%d, units=4);\n  loss = softmax_cross_entropy(logits, y);\n}\n", n
  }'
}

wide() { # wide K conv|maxpool
  local layer="conv2d(x, filters=2, kernel=[1, $1])"
  [ "$2" = maxpool ] && layer="maxpool(x, kernel=[1, $1], stride=[1, 1])"
  printf 'network wide {\n  input x: f32[2, 1, %d];\n  label y: class[4];\n  c = %s;\n' \
    $(($1 + 8)) "$layer"
  printf '  logits = dense(flatten(c), units=4);\n  loss = softmax_cross_entropy(logits, y);\n}\n'
}

echo "octoc: $OCTOC (--emit=c)"
printf '\n| layers | kind | wall s | CPU s | peak RSS (MB) | C (MB) |\n|---:|---|---:|---:|---:|---:|\n'
for kind in relu dense; do
  list=$LAYERS
  [ "$kind" = dense ] && list=$DENSE
  for n in $list; do
    chain "$n" "$kind" > "$tmp/m.net"
    read -r s u m c < <(measure "$tmp/m.net")
    printf '| %s | %s | %s | %s | %s | %.1f |\n' "$n" "$kind" "$s" "$u" "$m" \
      "$(echo "$c / 1048576" | bc -l)"
  done
done
printf '\n| kernel | op | wall s | CPU s | peak RSS (MB) | C (KB) |\n|---|---|---:|---:|---:|---:|\n'
for op in conv maxpool; do
  for k in $KERNELS; do
    wide "$k" "$op" > "$tmp/m.net"
    read -r s u m c < <(measure "$tmp/m.net")
    printf '| 1x%s | %s | %s | %s | %s | %d |\n' "$k" "$op" "$s" "$u" "$m" $((c / 1024))
  done
done
