#!/bin/bash
# backend_speed.sh: the LLVM backend at its default flags against the C
# backend at gcc's best, and PyTorch, for every models/*.net at batch 1 and
# 32, one thread each; plus octoc's own time to compile each model.
#
#   bench/backend_speed.sh [MODEL...]          (default: every models/*.net)
#
# Environment: OCTOC (default build/octoc), MIN_TIME (seconds each
# measurement lasts at least, default 1), REPEAT (rounds, default 3: the
# three trainers run in turn each round and each column keeps its best, as
# a busy neighbour can halve any one run; PyTorch's varied 230-400 samples/s
# on resnet20 in consecutive runs), PYTHON (default /usr/bin/python3,
# Debian's python3-torch; its columns are skipped when torch is missing).
#
# Per model and batch: `octoc --main` (LLVM, the host CPU, -O2: the default)
# and `octoc --backend=c -O3 -mcpu=native --main` (the emitted C through
# gcc -O3 -march=native) build two trainers; each runs `--benchmark STEPS`
# (fixed pseudo-random batches, no dataset) sized to last MIN_TIME, once per
# round; PyTorch times the same network (bench/pytorch_baseline.py speed)
# in the same round. The compile column is octoc's CPU time (user + sys)
# for `-o NAME.o` at batch 32 (parse to object, LLVM, default flags), best
# of 3. On a shared machine: read the ratios, not the absolute rates.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OCTOC=${OCTOC:-$ROOT/build/octoc}
MIN_TIME=${MIN_TIME:-1}
REPEAT=${REPEAT:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

die() { echo "backend_speed.sh: $*" >&2; exit 1; }
[[ -x $OCTOC ]] || die "no octoc at $OCTOC (set OCTOC)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
HAVE_TORCH=1
"$PYTHON" -c 'import torch' 2>/dev/null ||
  { HAVE_TORCH=0; echo "note: torch is not importable with $PYTHON: no PyTorch column" >&2; }

if [[ $# -gt 0 ]]; then MODELS=("$@"); else
  MODELS=()
  for f in "$ROOT"/models/*.net; do MODELS+=("$(basename "$f" .net)"); done
fi

rate_of() { sed -n 's/^benchmark: .* \([0-9.]*\) samples\/s$/\1/p' "$1"; }

# run EXE BATCH -> samples/s of one run lasting about MIN_TIME
run() {
  local exe=$1 b=$2 rate steps
  "$exe" --benchmark $(( (64 + b - 1) / b )) > "$WORK/out" || die "$exe failed"
  rate=$(rate_of "$WORK/out")
  steps=$(awk -v r="$rate" -v b="$b" -v t="$MIN_TIME" \
    'BEGIN { s = int(r * t / b) + 1; print (s < 10 ? 10 : s) }')
  "$exe" --benchmark "$steps" > "$WORK/out" || die "$exe failed"
  rate_of "$WORK/out"
}

# compile_time MODEL -> CPU seconds (user + sys, best of 3) of octoc MODEL
# --batch 32 -o NAME.o: CPU time, as the machine is shared
compile_time() {
  local best="" t
  for _ in 1 2 3; do
    /usr/bin/time -f "%U %S" -o "$WORK/time" "$OCTOC" "$ROOT/models/$1.net" --batch 32 -o "$WORK/c.o" ||
      die "octoc failed on $1"
    t=$(awk '{ print $1 + $2 }' "$WORK/time")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
best_of() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }'; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'); octoc: $OCTOC; best of $REPEAT rounds, each run >= ${MIN_TIME}s"
echo
echo "| model | batch | LLVM default samples/s | C gcc -O3 native samples/s | LLVM/C | torch samples/s | LLVM/torch | octoc compile CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  [[ -f $ROOT/models/$m.net ]] || die "no model $ROOT/models/$m.net"
  ct=$(compile_time "$m")
  for b in 1 32; do
    "$OCTOC" "$ROOT/models/$m.net" --batch "$b" --main -o "$WORK/llvm" || die "octoc (LLVM) failed on $m"
    "$OCTOC" "$ROOT/models/$m.net" --batch "$b" --backend=c -O3 -mcpu=native --main -o "$WORK/c" ||
      die "octoc (C) failed on $m"
    l="" c="" t=– lt=–
    ((HAVE_TORCH)) && t=""
    for _ in $(seq "$REPEAT"); do
      l=$(best_of "$l" "$(run "$WORK/llvm" "$b")")
      c=$(best_of "$c" "$(run "$WORK/c" "$b")")
      if ((HAVE_TORCH)); then
        "$PYTHON" "$ROOT/bench/pytorch_baseline.py" speed "$m" --batch "$b" --steps 10 \
          --min-time "$MIN_TIME" > "$WORK/torch" || die "pytorch_baseline.py failed on $m"
        t=$(best_of "$t" "$(sed -n 's/.* \([0-9.]*\) samples\/s$/\1/p' "$WORK/torch")")
      fi
    done
    ((HAVE_TORCH)) && lt=$(ratio "$l" "$t")
    printf '| %s | %d | %.0f | %.0f | %s | %s | %s | %s |\n' "$m" "$b" "$l" "$c" \
      "$(ratio "$l" "$c")" "$t" "$lt" "$([[ $b == 32 ]] && printf '%.2f' "$ct" || echo)"
  done
done
