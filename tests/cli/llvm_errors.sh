#!/usr/bin/env bash
# The LLVM backend's command line (docs/cli.md): an unknown -mcpu or -mattr
# is a usage error listing what LLVM knows, for the host and a cross
# target; --backend and --emit must agree; -o's extension picks the kind
# (.o .s .ll .bc), an unknown one is refused; an -o that cannot be written
# leaves no file and no temporary file.
set -u
: "${OCTOC:?}" "${MODELS:?}"
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() { # expect STATUS TEXT DESCRIPTION -- COMMAND...: exit status and a stderr line
  local want=$1 text=$2 what=$3
  shift 4
  (cd "$tmp" && "$@") >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    fail "$what: exit $got, expected $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5
  elif [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/err"; then
    fail "$what: stderr lacks '$text'"; sed 's/^/  stderr: /' "$tmp/err" | head -5
  else
    echo "ok: $what (exit $got)"
  fi
}

m=$MODELS/mlp.net
expect 2 "unknown -mcpu=z80 for target x86_64" "unknown host CPU" -- "$OCTOC" "$m" -mcpu=z80 -o t.o
grep -q "skylake" "$tmp/err" || fail "the host CPU list lacks skylake"
expect 2 "unknown -mcpu=pentium for target armv7" "unknown armv7 CPU" -- \
  "$OCTOC" "$m" -target armv7 -mcpu=pentium -o t.o
grep -q "cortex-a7" "$tmp/err" || fail "the armv7 CPU list lacks cortex-a7"
expect 2 "unknown -mattr feature 'avx9'" "unknown feature" -- "$OCTOC" "$m" -mattr=+avx9 -o t.o
grep -q " avx2 " "$tmp/err" || fail "the x86 feature list lacks avx2"
expect 2 "unknown -mattr feature 'avx2' for target riscv64" "x86 feature on riscv64" -- \
  "$OCTOC" "$m" -target riscv64 -mattr=+avx2 -o t.o
expect 2 "not +FEATURE or -FEATURE" "malformed -mattr" -- "$OCTOC" "$m" -mattr=avx2 -o t.o
expect 2 "unknown target 'z80'" "unknown target" -- "$OCTOC" "$m" -target z80 -o t.o
expect 2 "unknown --backend 'gcc'" "unknown backend" -- "$OCTOC" "$m" --backend=gcc -o t.o
expect 2 "--emit=c is the C backend's" "--emit=c with --backend=llvm" -- \
  "$OCTOC" "$m" --backend=llvm --emit=c -o t.c
expect 2 "--emit=llvm is the LLVM backend's" "--emit=llvm with --backend=c" -- \
  "$OCTOC" "$m" --backend=c -o t.ll
expect 2 "cannot tell what to write" "unknown extension" -- "$OCTOC" "$m" -o t.obj
ls "$tmp" | grep -q "^t\." && fail "a refused command left $(ls "$tmp" | grep "^t\.")"

# What each extension gives.
expect 0 "" "-o t.o" -- "$OCTOC" "$m" -o t.o
file "$tmp/t.o" | grep -q "ELF 64-bit LSB relocatable" || fail "t.o is not an object: $(file "$tmp/t.o")"
[ -s "$tmp/t.h" ] || fail "t.o came without t.h"
expect 0 "" "-o t.s" -- "$OCTOC" "$m" -o t.s
grep -q "mlp_train_step_pred:" "$tmp/t.s" || fail "t.s has no mlp_train_step_pred"
expect 0 "" "-o t.ll" -- "$OCTOC" "$m" -o t.ll
grep -q "^define .*@mlp_init(" "$tmp/t.ll" || fail "t.ll has no mlp_init"
expect 0 "" "-o t.bc" -- "$OCTOC" "$m" -o t.bc
[ "$(head -c 2 "$tmp/t.bc")" = BC ] || fail "t.bc is not bitcode"
expect 0 "" "-target cortex-m4 -o m4.o" -- "$OCTOC" "$m" -target cortex-m4 -o m4.o
file "$tmp/m4.o" | grep -q "ELF 32-bit LSB relocatable, ARM" || fail "m4.o: $(file "$tmp/m4.o")"

# An unwritable -o: an error, and nothing at all is left in the folder.
mkdir "$tmp/ro"
chmod a-w "$tmp/ro"
if [ -w "$tmp/ro" ]; then
  echo "skip: running as root, a read-only folder is writable"
else
  for out in t.o t.s t.ll t.bc; do
    expect 1 "cannot write" "unwritable -o ro/$out" -- "$OCTOC" "$m" -o "ro/$out"
    [ -z "$(ls -A "$tmp/ro")" ] || fail "ro/$out left $(ls -A "$tmp/ro")"
  done
fi
# A folder named like an object, and a full device: errors, nothing left.
mkdir "$tmp/dir.o" "$tmp/w"
expect 1 "dir.o" "-o names a folder" -- "$OCTOC" "$m" -o dir.o
[ -z "$(ls -A "$tmp/dir.o")" ] || fail "dir.o got $(ls -A "$tmp/dir.o")"
if [ -w /dev/full ]; then
  expect 1 "" "-o /dev/full" -- "$OCTOC" "$m" --emit=asm -o /dev/full
fi
ls "$tmp" | grep -q "tmp" && fail "a temporary file was left: $(ls "$tmp" | grep tmp)"
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
