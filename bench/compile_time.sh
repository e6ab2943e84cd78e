#!/bin/bash
# compile_time.sh: octoc's own time to compile each model to an object
# (`octoc models/M.net -o M.o`: parse to object, the host CPU, -O2), wall
# and CPU seconds (user + sys), best of REPEAT runs; with BASE (another
# octoc) the two are run alternately and shown side by side.
#
#   bench/compile_time.sh [MODEL...]       (env: OCTOC, BASE, REPEAT=5, FLAGS)
#
# FLAGS adds octoc options to every run (e.g. "--precision octo"). Needs
# GNU time as /usr/bin/time (Debian package `time`). Wall time is what a
# user waits for; with two threads it is below the CPU time when a second
# core is free, so run this on a quiet machine.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
OCTOC=${OCTOC:-$here/build/octoc}
BASE=${BASE:-}
REPEAT=${REPEAT:-5}
FLAGS=${FLAGS:-}
if [ ! -x /usr/bin/time ]; then
  echo "compile_time.sh: needs GNU time as /usr/bin/time (Debian package: time)" >&2
  exit 1
fi
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for f in "$here"/models/*.net; do models+=("$(basename "$f" .net)"); done
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one OCTOC MODEL -> "wall cpu"
one() {
  # shellcheck disable=SC2086 # FLAGS is a list of words
  /usr/bin/time -f '%e %U %S' -o "$tmp/t" "$1" "$here/models/$2.net" $FLAGS -o "$tmp/m.o" \
    > /dev/null 2> "$tmp/err" || { echo "compile_time.sh: $1 failed on $2:" >&2; cat "$tmp/err" >&2; exit 1; }
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$tmp/t"
}

# best OLD NEW -> the smaller of each column
best() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
  printf "%.2f %.2f\n", (x[1] < y[1] ? x[1] : y[1]), (x[2] < y[2] ? x[2] : y[2]) }'; }

echo "octoc: $OCTOC${BASE:+ (base: $BASE)}; best of $REPEAT; seconds; nproc $(nproc)"
if [ -n "$BASE" ]; then
  echo "| model | base wall | base CPU | wall | CPU |"
  echo "|---|---:|---:|---:|---:|"
else
  echo "| model | wall | CPU |"
  echo "|---|---:|---:|"
fi
for m in "${models[@]}"; do
  new="1e9 1e9" old="1e9 1e9"
  for _ in $(seq "$REPEAT"); do
    [ -n "$BASE" ] && old=$(best "$old" "$(one "$BASE" "$m")")
    new=$(best "$new" "$(one "$OCTOC" "$m")")
  done
  read -r nw nc <<< "$new"
  if [ -n "$BASE" ]; then
    read -r ow oc <<< "$old"
    echo "| $m | $ow | $oc | $nw | $nc |"
  else
    echo "| $m | $nw | $nc |"
  fi
done
