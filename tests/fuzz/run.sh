#!/bin/sh
# Builds the .net front-end fuzzer with clang-19 (libFuzzer + ASan + UBSan)
# directly from the sources, in its own directory, and runs it for SECONDS
# (default 60) over a copy of the seed corpus (the models and bad cases).
# Usage: tests/fuzz/run.sh [SECONDS] [BUILD_DIR]
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$root/build-fuzz}
mkdir -p "$out/gen" "$out/corpus"
CC=${CC:-clang-19}
bison -Wall -Werror --defines="$out/gen/parser.h" --output="$out/gen/parser.c" "$root/compiler/parser.y"
flex --outfile="$out/gen/lexer.c" --header-file="$out/gen/lexer.h" "$root/compiler/lexer.l"
$CC -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$out/gen" -I"$root/ir" -I"$root/compiler" \
  "$root/tests/fuzz/fuzz_net.c" "$out/gen/lexer.c" "$out/gen/parser.c" \
  "$root/compiler/ast.c" "$root/compiler/builtins.c" "$root/compiler/build_graph.c" \
  "$root/compiler/frontend.c" \
  "$root/ir/arena.c" "$root/ir/diag.c" "$root/ir/types.c" "$root/ir/ops.c" "$root/ir/graph.c" \
  "$root/ir/strmap.c" "$root/ir/suggest.c" \
  -lm -o "$out/fuzz_net"
cp "$root"/tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
cd "$out"
./fuzz_net -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict="$root/tests/fuzz/net.dict" \
  -print_final_stats=1 corpus
