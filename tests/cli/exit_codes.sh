#!/usr/bin/env bash
# octoc's exit status contract: 0 ok, 1 error in the input, 2 usage error;
# and no output file is left behind when compilation fails.
set -u
: "${OCTOC:?}" "${MODELS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

expect() { # expect STATUS DESCRIPTION -- COMMAND...
  local want=$1 what=$2
  shift 3
  (cd "$tmp" && "$@") >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5
    fails=$((fails + 1))
  else
    echo "ok: $what (exit $got)"
  fi
}

printf 'network bad {\n  input x: f32[4];\n  y = frobnicate(x);\n}\n' > "$tmp/bad.net"
printf 'batch: 0\n' > "$tmp/bad.yaml"
printf 'graph g (batch 1) {\n  %%x = nope\n' > "$tmp/bad.ir"

expect 0 "--help" -- "$OCTOC" --help
expect 0 "--version" -- "$OCTOC" --version
expect 0 "--list-targets" -- "$OCTOC" --list-targets
expect 0 "--list-passes" -- "$OCTOC" --list-passes
expect 0 "no -o: writes lenet5.o and lenet5.h" -- "$OCTOC" "$MODELS/lenet5.net"
for f in lenet5.o lenet5.h; do
  [ -s "$tmp/$f" ] || { echo "FAIL: default output $f missing"; fails=$((fails + 1)); }
done
expect 0 "--emit=none" -- "$OCTOC" "$MODELS/lenet5.net" --emit=none
expect 0 "--emit=report" -- "$OCTOC" "$MODELS/lenet5.net" --emit=report
expect 0 "--emit=recipe with --config" -- "$OCTOC" "$MODELS/lenet5.net" --config "$MODELS/fp32.yaml" --emit=recipe
expect 0 "-target armv7 accepted" -- "$OCTOC" "$MODELS/lenet5.net" -target armv7 --emit=none
expect 2 "no input" -- "$OCTOC"
expect 2 "unknown option" -- "$OCTOC" --frobnicate "$MODELS/lenet5.net"
expect 2 "unknown --emit kind" -- "$OCTOC" --emit=pdf "$MODELS/lenet5.net"
expect 2 "option without value" -- "$OCTOC" "$MODELS/lenet5.net" -o
expect 2 "two inputs" -- "$OCTOC" "$MODELS/lenet5.net" "$MODELS/mlp.net"
expect 2 "unknown target" -- "$OCTOC" -target z80 "$MODELS/lenet5.net"
expect 2 "unknown pass in --print-after" -- "$OCTOC" --print-after=nosuchpass "$MODELS/lenet5.net"
expect 2 "bad --batch" -- "$OCTOC" --batch 0 "$MODELS/lenet5.net"
expect 2 "bad --set" -- "$OCTOC" --set optimizer.lr=fast "$MODELS/lenet5.net"
expect 2 "--emit=asm is not the C backend's" -- "$OCTOC" --backend=c --emit=asm "$MODELS/lenet5.net"
expect 2 "output name without a kind" -- "$OCTOC" "$MODELS/lenet5.net" -o trainer
expect 1 "missing input file" -- "$OCTOC" "$tmp/missing.net"
expect 1 "directory as input" -- "$OCTOC" "$tmp"
expect 1 "bad .net" -- "$OCTOC" "$tmp/bad.net"
expect 1 "bad .ir" -- "$OCTOC" "$tmp/bad.ir"
expect 1 "bad recipe" -- "$OCTOC" --config "$tmp/bad.yaml" "$MODELS/lenet5.net"
expect 1 "missing recipe" -- "$OCTOC" --config "$tmp/none.yaml" "$MODELS/lenet5.net"

expect 1 "failed compile writes no output" -- "$OCTOC" "$tmp/bad.net" --emit=ir -o "$tmp/out.ir"
if ls "$tmp"/out.ir* >/dev/null 2>&1; then
  echo "FAIL: a failed compilation left $(ls "$tmp"/out.ir*)"; fails=$((fails + 1))
fi
expect 0 "-o writes the file" -- "$OCTOC" "$MODELS/lenet5.net" --emit=ir -o "$tmp/ok.ir"
[ -s "$tmp/ok.ir" ] || { echo "FAIL: -o produced no file"; fails=$((fails + 1)); }
ls "$tmp"/ok.ir.tmp* >/dev/null 2>&1 && { echo "FAIL: temp file left"; fails=$((fails + 1)); }

# Diagnostics carry file:line:col.
"$OCTOC" "$tmp/bad.net" 2>"$tmp/err"
grep -q "bad.net:3:7: error:" "$tmp/err" || { echo "FAIL: no file:line:col in: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }

# A file without a network is an error naming the file (issue 10 item 2).
: > "$tmp/empty.net"
expect 1 "empty .net" -- "$OCTOC" "$tmp/empty.net" --emit=none
grep -q "^$tmp/empty.net: error: no network in this file" "$tmp/err" ||
  { echo "FAIL: empty.net: file not named in: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }

# A file without a network is an error naming the file (issue 10 item 2).
: > "$tmp/empty.net"
expect 1 "empty .net" -- "$OCTOC" "$tmp/empty.net" --emit=none
grep -q "^$tmp/empty.net: error: no network in this file" "$tmp/err" ||
  { echo "FAIL: empty.net: file not named in: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }

# An -o in a missing folder is refused before any work, naming -o, for every
# output kind (issue 10 item 17): one line, no C compiler run (-v would print
# its command), nothing left behind.
for args in "-o missing-dir/t.c" "-o missing-dir/t.o" "--main -o missing-dir/t" "-o missing-dir/t.s" \
            "-o missing-dir/t.ir" "-o missing-dir/t.loops"; do
  out=${args##* }
  # shellcheck disable=SC2086 # args is a word list
  expect 1 "missing output folder: $args" -- "$OCTOC" "$MODELS/mlp.net" -v $args
  if [ "$(cat "$tmp/err")" != "octoc: error: cannot write '$out': No such file or directory" ]; then
    echo "FAIL: $args: stderr was:"; sed 's/^/  /' "$tmp/err" | head -5; fails=$((fails + 1))
  fi
done
: > "$tmp/plain"
expect 1 "output folder is a file" -- "$OCTOC" "$MODELS/mlp.net" -o "$tmp/plain/t.c"
grep -q "cannot write '$tmp/plain/t.c': Not a directory" "$tmp/err" ||
  { echo "FAIL: plain/t.c: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }
[ ! -e "$tmp/missing-dir" ] || { echo "FAIL: missing-dir was created"; fails=$((fails + 1)); }

# Recipe numbers on the command line are checked as the f32 the trainer
# uses (issue 10 item 8), naming the flag.
expect 2 "--lr that is 0 in f32" -- "$OCTOC" "$MODELS/mlp.net" --emit=none --lr 1e-50
grep -q "^octoc: error: --lr 1e-50: 'optimizer.lr' is 1e-50, which is 0 in f32" "$tmp/err" ||
  { echo "FAIL: --lr 1e-50: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }
expect 2 "--set betas that are 1 in f32" -- "$OCTOC" "$MODELS/mlp.net" --emit=none \
  --set optimizer.type=adam --set "optimizer.betas=[0.9, 0.99999999999]"
grep -q "'optimizer.betas\[1\]' is 0.99999999999, which is 1 in f32" "$tmp/err" ||
  { echo "FAIL: --set betas: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }

# More than 256 classes: refused for the standalone trainer, whose IDX labels
# are bytes (issue 10 item 16), at the label's declaration; the library API
# (no --main) takes them.
sed 's/class\[10\]/class[300]/; s/units=10)/units=300)/' "$MODELS/mlp.net" > "$tmp/c300.net"
expect 1 "class[300] with --main" -- "$OCTOC" "$tmp/c300.net" --main --emit=c -o "$tmp/c300.c"
grep -q "c300.net:5:9: error: label 'digit' has 300 classes; the standalone trainer (--main) reads IDX labels, which are bytes, so it takes at most 256" "$tmp/err" ||
  { echo "FAIL: class[300] --main: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }
[ ! -e "$tmp/c300_main.c" ] || { echo "FAIL: class[300] wrote a main"; fails=$((fails + 1)); }
expect 0 "class[300] without --main" -- "$OCTOC" "$tmp/c300.net" --emit=c -o "$tmp/c300.c"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
