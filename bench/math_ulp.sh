#!/bin/bash
# math_ulp.sh: the loop IR's exp, log and cos (passes/expand_math.c) over
# every one of the 2^32 f32 inputs, and pow over 100 million pairs, against
# the C library's double-precision functions; prints the largest error of
# each in ulp (docs/loops.md, "exp, log, cos and pow").
#
#   bench/math_ulp.sh [BUILD]      (default build/: the tests' math_ulp)
#
# About 5 minutes of one core. The test suite runs the same program on every
# 257th input (tests/math/meson.build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
exe=$BUILD/tests/math/math_ulp
[[ -x $exe ]] || { echo "math_ulp.sh: no $exe (ninja -C $BUILD)" >&2; exit 1; }
"$exe" 1 2 100000000 2
