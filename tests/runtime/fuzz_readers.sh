#!/bin/sh
# Builds the trainer readers' fuzzer (fuzz_readers.c) with clang-19
# (libFuzzer + ASan + UBSan) directly from the sources, in its own folder,
# and runs it for SECONDS (default 60) over a copy of the seed corpus.
# Usage: tests/runtime/fuzz_readers.sh [SECONDS] [BUILD_DIR]
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$root/build-fuzz-readers}
mkdir -p "$out/corpus"
CC=${CC:-clang-19}
$CC -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/runtime" -I"$root/tests/runtime" \
  "$root/tests/runtime/fuzz_readers.c" "$root/tests/runtime/toy_model.c" \
  "$root/runtime/error.c" "$root/runtime/idx.c" "$root/runtime/checkpoint.c" \
  "$root/runtime/batch.c" \
  -lz -lm -o "$out/fuzz_readers"
cp "$root"/tests/runtime/fuzz_corpus/* "$out/corpus/"
cd "$out"
./fuzz_readers -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 corpus
