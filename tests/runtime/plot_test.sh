#!/bin/sh
# plot_test.sh PLOT-LOG.SH LOG.CSV: the plot script turns a trainer log into
# a real PNG and SVG, and refuses a missing log with exit status 1. Without
# gnuplot it exits 77 (meson: SKIP).
set -eu
command -v gnuplot >/dev/null || { echo "SKIP: gnuplot not installed"; exit 77; }
script=$1 log=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sh "$script" "$log" "$out/curves.png"
# PNG signature: 89 50 4e 47 0d 0a 1a 0a
sig=$(od -An -tx1 -N8 "$out/curves.png" | tr -d ' \n')
[ "$sig" = "89504e470d0a1a0a" ] || { echo "not a PNG: $sig"; exit 1; }
[ "$(wc -c <"$out/curves.png")" -gt 2000 ] || { echo "PNG too small"; exit 1; }
sh "$script" "$log" "$out/curves.svg"
grep -q '<svg' "$out/curves.svg" || { echo "not an SVG"; exit 1; }
if sh "$script" "$out/missing.csv" "$out/x.png" 2>/dev/null; then
  echo "missing log accepted"; exit 1
fi
[ ! -e "$out/x.png" ] || { echo "output left behind"; exit 1; }
echo ok
