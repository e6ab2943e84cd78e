#!/usr/bin/env bash
# A minimal lit: runs the `RUN:` lines of one test file, LLVM style.
#   %s  the test file      %S  its folder       %t  a scratch path
#   %octoc  the compiler   %FileCheck  FileCheck  %models  models/
# `not CMD` inverts the exit status (a failing command is expected).
# Environment: OCTOC, FILECHECK, MODELS (set by tests/meson.build).
set -u
test_file=$1
[ -f "$test_file" ] || { echo "lit.sh: no such test: $test_file" >&2; exit 2; }
: "${OCTOC:?}" "${FILECHECK:?}" "${MODELS:?}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

not() { if "$@"; then return 1; else return 0; fi; }
export -f not

dir=$(cd "$(dirname "$test_file")" && pwd)
file="$dir/$(basename "$test_file")"
n=0
while IFS= read -r line; do
  case "$line" in
    *RUN:*) ;;
    *) continue ;;
  esac
  cmd=${line#*RUN:}
  cmd=${cmd//%octoc/$OCTOC}
  cmd=${cmd//%FileCheck/$FILECHECK}
  cmd=${cmd//%models/$MODELS}
  cmd=${cmd//%s/$file}
  cmd=${cmd//%S/$dir}
  cmd=${cmd//%t/$scratch/t}
  n=$((n + 1))
  echo "RUN $n: $cmd"
  if ! (cd "$scratch" && bash -o pipefail -c "$cmd"); then
    echo "FAILED: RUN line $n of $test_file" >&2
    exit 1
  fi
done < "$test_file"
if [ "$n" -eq 0 ]; then
  echo "lit.sh: $test_file has no RUN: lines" >&2
  exit 2
fi
echo "PASS: $test_file ($n RUN lines)"
