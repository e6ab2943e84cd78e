#!/bin/bash
# Times train_step of a model at a batch size (not a test; see docs/lowering.md):
#   bench.sh MODEL.net BATCH [OCTOC OPTIONS...]   e.g. bench.sh models/lenet5.net 32 -O2
set -eu
: "${OCTOC:=$(dirname "$0")/../../build-lin/octoc}"
model=$1 batch=$2; shift 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed 's/^network [A-Za-z0-9_]*/network m/' "$model" > "$tmp/m.net"
"$OCTOC" "$tmp/m.net" --batch "$batch" --emit=c -o "$tmp/m.c" "$@"
opt=-O2
for a in "$@"; do
  case $a in -O0|-O1|-O2|-O3) opt=$a ;; -mcpu=native) opt="$opt -march=native" ;; esac
done
${CC:-cc} $opt -std=c11 -w -I"$tmp" -o "$tmp/bench" "$(dirname "$0")/bench_step.c" "$tmp/m.c" -lm
"$tmp/bench" "$batch" "${BENCH_SECONDS:-1}"
