#!/bin/bash
# train_speed.sh: training throughput of every models/*.net, Octo beside
# PyTorch, one thread each, measured interleaved in the same run.
#
#   bench/train_speed.sh [MODEL...]          (default: every models/*.net)
#
# Environment: OCTOC (default build-bench/octoc, else build/octoc), MIN_TIME
# (seconds each measurement lasts at least, default 2), REPEAT (measurements
# per row, Octo and PyTorch alternating; the best of each is kept, default 3),
# PYTHON (default /usr/bin/python3, Debian's python3-torch).
#
# For each model and batch 1 and 32: octoc -O3 -mcpu=native --main builds a
# trainer; `--benchmark STEPS` (fixed pseudo-random batch, no dataset) times
# it under /usr/bin/time for the peak RSS; the state block and work arena
# sizes come from `octoc --emit=report`; then bench/pytorch_baseline.py speed
# times the same network at the same batch. One extra row is lenet5 at the
# default flags (-O2 for the host CPU since issue 12; before, baseline SSE2).
# The machine is shared: the ratio of neighbouring runs is the
# number to read, not the absolute rates.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z "${OCTOC:-}" ]]; then
  OCTOC=$ROOT/build-bench/octoc
  [[ -x $OCTOC ]] || OCTOC=$ROOT/build/octoc
fi
MIN_TIME=${MIN_TIME:-2}
REPEAT=${REPEAT:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
# One BLAS thread: must be in the environment before torch is imported.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

die() { echo "train_speed.sh: $*" >&2; exit 1; }
[[ -x $OCTOC ]] || die "no octoc at $OCTOC (set OCTOC)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

HAVE_TORCH=1
if ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  HAVE_TORCH=0
  echo "note: torch is not importable with $PYTHON: PyTorch columns are skipped" >&2
fi

if [[ $# -gt 0 ]]; then
  MODELS=("$@")
else
  MODELS=()
  for f in "$ROOT"/models/*.net; do MODELS+=("$(basename "$f" .net)"); done
fi

# "benchmark: N steps, batch B, X samples/s" -> X
bench_rate() { sed -n 's/^benchmark: .* \([0-9.]*\) samples\/s$/\1/p' "$1"; }

# Runs CMD... under /usr/bin/time; stdout to $WORK/out, peak RSS (KiB) to $WORK/rss.
timed() {
  /usr/bin/time -f %M -o "$WORK/rss" "$@" >"$WORK/out" 2>"$WORK/err" ||
    { cat "$WORK/err" >&2; die "failed: $*"; }
}

# best A B -> the larger of two decimal numbers (empty A counts as none)
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }'; }

# octo_run EXE BATCH -> sets O_RATE, O_RSS. A short calibration run sizes
# the step count so the timed run lasts MIN_TIME.
octo_run() {
  local exe=$1 b=$2 calib rate steps
  calib=$(( (64 + b - 1) / b ))
  timed "$exe" --benchmark "$calib"
  rate=$(bench_rate "$WORK/out")
  steps=$(awk -v r="$rate" -v b="$b" -v t="$MIN_TIME" \
    'BEGIN { s = int(r * t * 1.15 / b) + 1; print (s < 10 ? 10 : s) }')
  timed "$exe" --benchmark "$steps"
  O_RATE=$(bench_rate "$WORK/out")
  O_RSS=$(cat "$WORK/rss")
  [[ -n $O_RATE ]] || die "$exe printed no benchmark line"
}

# torch_run MODEL BATCH -> sets T_RATE, T_RSS.
torch_run() {
  timed "$PYTHON" "$ROOT/bench/pytorch_baseline.py" speed "$1" --batch "$2" \
    --steps 10 --min-time "$MIN_TIME"
  T_RATE=$(sed -n 's/.* \([0-9.]*\) samples\/s$/\1/p' "$WORK/out")
  T_RSS=$(cat "$WORK/rss")
  [[ -n $T_RATE ]] || die "pytorch_baseline.py printed no rate"
}

# report_bytes MODEL BATCH -> "STATE ARENA" from octoc --emit=report
report_bytes() {
  "$OCTOC" "$ROOT/models/$1.net" --batch "$2" --emit=report 2>&1 |
    awk '/^state block: / { s = $3 } /^work arena: / { w = $3 } END { print s, w }'
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# row MODEL BATCH OPT: build, measure REPEAT times alternating, print a row.
row() {
  local model=$1 b=$2 opt=$3 exe="$WORK/$1-b$2$3" flags=()
  # -O3 rows are tuned for this CPU; the -O2 row is octoc's plain default
  # (also the host CPU since issue 12).
  [[ $opt == -O3 ]] && flags=(-O3 -mcpu=native)
  "$OCTOC" "$ROOT/models/$model.net" --main "${flags[@]}" --batch "$b" -o "$exe" ||
    die "octoc failed on $model"
  local bytes orate="" orss="" trate="" trss=""
  bytes=$(report_bytes "$model" "$b")
  for ((i = 0; i < REPEAT; i++)); do
    octo_run "$exe" "$b"
    orate=$(best "$orate" "$O_RATE")
    orss=$O_RSS
    if ((HAVE_TORCH)); then
      torch_run "$model" "$b"
      trate=$(best "$trate" "$T_RATE")
      trss=$T_RSS
    fi
  done
  local label=$model
  [[ $opt == -O2 ]] && label="$model (-O2)"
  if ((HAVE_TORCH)); then
    printf '| %s | %d | %.0f | %.0f | %.2f | %s | %s | %s | %s |\n' "$label" "$b" "$orate" \
      "$trate" "$(awk -v a="$orate" -v b="$trate" 'BEGIN { print a / b }')" \
      ${bytes% *} ${bytes#* } "$(mib "$orss")" "$(mib "$trss")"
  else
    printf '| %s | %d | %.0f | – | – | %s | %s | %s | – |\n' "$label" "$b" "$orate" \
      ${bytes% *} ${bytes#* } "$(mib "$orss")"
  fi
}

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(getconf _NPROCESSORS_ONLN) CPUs; octoc: $OCTOC"
echo "each rate: best of $REPEAT runs of >= ${MIN_TIME}s, one thread, Octo and PyTorch alternating"
echo
echo "| model | batch | octo samples/s | torch samples/s | octo/torch | state bytes | arena bytes | octo peak RSS | torch peak RSS |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  [[ -f $ROOT/models/$m.net ]] || die "no model $ROOT/models/$m.net"
  for b in 1 32; do row "$m" "$b" -O3; done
done
for m in "${MODELS[@]}"; do
  [[ $m == lenet5 ]] && row lenet5 32 -O2
done
exit 0
