#!/bin/sh
# Builds the recipe fuzzer (tests/fuzz/fuzz_recipe.c) with clang-19
# (libFuzzer + ASan + UBSan) directly from the sources, in its own directory,
# and runs it for SECONDS (default 60) over a copy of the seed corpus: the
# shipped recipes and the bad cases of tests/recipe/bad.
# Usage: tests/fuzz/run_recipe.sh [SECONDS] [BUILD_DIR]
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$root/build-fuzz-recipe}
mkdir -p "$out/corpus"
CC=${CC:-clang-19}
$CC -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/ir" -I"$root/passes" -I"$root/compiler" \
  "$root/tests/fuzz/fuzz_recipe.c" "$root"/compiler/recipe/*.c "$root/passes/recipe.c" \
  "$root/ir/arena.c" "$root/ir/diag.c" "$root/ir/suggest.c" \
  -lyaml -lm -o "$out/fuzz_recipe"
cp "$root"/models/*.yaml "$root"/tests/recipe/bad/*.yaml "$out/corpus/"
printf 'optimizer.lr=0.05\n' > "$out/corpus/set-lr"
printf 'layers.c1.prc.tensors=[error,weight]\n' > "$out/corpus/set-layer"
cd "$out"
./fuzz_recipe -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 corpus
