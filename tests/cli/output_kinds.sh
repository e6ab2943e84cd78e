#!/usr/bin/env bash
# `-o` never replaces what it names unless it is a regular file: a FIFO and a
# character device are written directly and stay what they were, a symlink
# (or a chain of them, or a dangling one) is written through to its target
# and stays a link, a folder (or a link to one) is an error naming it. Each
# case leaves no FILE.tmp.<pid> behind. The real /dev/null is written last,
# and only when a scratch FIFO and (as root) a scratch character device came
# through unreplaced, so a broken octoc cannot replace the machine's.
#   output_kinds.sh      (env: OCTOC, MODELS)
set -u
: "${OCTOC:?}" "${MODELS:?}"
tmp=$(mktemp -d)
reader=
trap '[ -n "$reader" ] && kill "$reader" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
model=$MODELS/mlp.net

# The expected bytes: the same output on standard output.
"$OCTOC" "$model" --emit=loops > "$tmp/want" || { echo "FAIL: octoc to stdout"; exit 1; }

# no_temp: no FILE.tmp.* anywhere in the scratch folder.
no_temp() {
  local left
  left=$(find "$tmp" -name '*.tmp.*')
  [ -z "$left" ] || fail "$1: left $left"
}

# A FIFO: written directly (a reader gets every byte), still a FIFO after.
mkfifo "$tmp/fifo"
timeout 60 cat "$tmp/fifo" > "$tmp/from-fifo" &
reader=$!
timeout 60 "$OCTOC" "$model" --emit=loops -o "$tmp/fifo" 2> "$tmp/err" || fail "FIFO: exit $?: $(cat "$tmp/err")"
[ -p "$tmp/fifo" ] || kill "$reader" 2> /dev/null  # replaced: no writer will come
wait "$reader"
reader=
fifo_ok=1
[ -p "$tmp/fifo" ] || { fifo_ok=0; fail "FIFO: replaced by $(stat -c %F "$tmp/fifo")"; }
cmp -s "$tmp/want" "$tmp/from-fifo" || fail "FIFO: the reader got other bytes"
no_temp FIFO
[ "$fifo_ok" -eq 1 ] && echo "ok: a FIFO is written directly and stays a FIFO"

# A symlink to a regular file in another folder: the target gets the output,
# the link stays a link to it; the temporary file went beside the target.
mkdir "$tmp/a" "$tmp/b"
echo old > "$tmp/b/real.loops"
ln -s ../b/real.loops "$tmp/a/link.loops"
"$OCTOC" "$model" --emit=loops -o "$tmp/a/link.loops" 2> "$tmp/err" || fail "symlink: exit $?"
[ -L "$tmp/a/link.loops" ] || fail "symlink: replaced by $(stat -c %F "$tmp/a/link.loops")"
[ "$(readlink "$tmp/a/link.loops")" = ../b/real.loops ] || fail "symlink: now points elsewhere"
cmp -s "$tmp/want" "$tmp/b/real.loops" && echo "ok: a symlink is written through to its target" ||
  fail "symlink: the target was not written"
no_temp symlink

# A chain of two links, and a dangling link (its target is created).
ln -s link.loops "$tmp/a/chain.loops"
echo old > "$tmp/b/real.loops"
"$OCTOC" "$model" --emit=loops -o "$tmp/a/chain.loops" 2> "$tmp/err" || fail "chain: exit $?"
[ -L "$tmp/a/chain.loops" ] && [ -L "$tmp/a/link.loops" ] || fail "chain: a link was replaced"
cmp -s "$tmp/want" "$tmp/b/real.loops" && echo "ok: a chain of symlinks is written through" ||
  fail "chain: the target was not written"
ln -s ../b/new.loops "$tmp/a/dangling.loops"
"$OCTOC" "$model" --emit=loops -o "$tmp/a/dangling.loops" 2> "$tmp/err" || fail "dangling: exit $?"
[ -L "$tmp/a/dangling.loops" ] || fail "dangling: the link was replaced"
cmp -s "$tmp/want" "$tmp/b/new.loops" && echo "ok: a dangling symlink creates its target" ||
  fail "dangling: the target was not created"
no_temp "chain and dangling"

# A folder, a link to a folder, a symlink loop: exit 1 naming the -o name.
mkdir "$tmp/dir"
ln -s dir "$tmp/dirlink"
ln -s loop2 "$tmp/loop1"
ln -s loop1 "$tmp/loop2"
for name in dir dirlink loop1; do
  (cd "$tmp" && "$OCTOC" "$model" --emit=loops -o "$name") > /dev/null 2> "$tmp/err"
  status=$?
  [ "$status" -eq 1 ] || fail "-o $name: exit $status, expected 1"
  grep -q "^octoc: error: cannot write '$name': " "$tmp/err" &&
    echo "ok: -o $name: $(cat "$tmp/err")" || fail "-o $name: message: $(cat "$tmp/err")"
done
[ -d "$tmp/dir" ] && [ -L "$tmp/dirlink" ] && [ -L "$tmp/loop1" ] || fail "an -o error changed its file"
no_temp "folder"

# A scratch character device (root only: mknod), then the real /dev/null,
# directly and through a symlink: written (exit 0), the same node after.
node() { stat -c '%F %d %i %t:%T' "$1"; }
device_ok=$fifo_ok
if mknod "$tmp/null" c 1 3 2> /dev/null; then
  before=$(node "$tmp/null")
  "$OCTOC" "$model" --emit=loops -o "$tmp/null" 2> "$tmp/err" || fail "scratch device: exit $?: $(cat "$tmp/err")"
  [ "$(node "$tmp/null")" = "$before" ] || { device_ok=0; fail "scratch device: now $(node "$tmp/null")"; }
  [ "$device_ok" -eq 1 ] && echo "ok: a character device is written directly and stays one"
else
  echo "note: mknod not permitted; the scratch device case is skipped"
fi
if [ "$device_ok" -eq 1 ]; then
  ln -s /dev/null "$tmp/null-link"
  before=$(node /dev/null)
  for out in /dev/null "$tmp/null-link"; do
    "$OCTOC" "$model" --emit=loops -o "$out" 2> "$tmp/err" || fail "-o $out: exit $?: $(cat "$tmp/err")"
  done
  [ "$(node /dev/null)" = "$before" ] && echo "ok: /dev/null written, still $before" ||
    fail "/dev/null was $before, now $(node /dev/null)"
  [ -L "$tmp/null-link" ] || fail "the link to /dev/null was replaced"
  no_temp "/dev/null"
  [ -z "$(find /dev -maxdepth 1 -name 'null.tmp.*')" ] || fail "a temporary file was left in /dev"
else
  fail "not writing /dev/null: a scratch FIFO or device was replaced"
fi

# The C compiler's outputs (a trainer, an object) go the same way: through a
# symlink to its target (executable for a trainer), into a FIFO directly.
mkdir "$tmp/c"
ln -s ../b/trainer "$tmp/c/trainer-link"
"$OCTOC" "$model" --main -o "$tmp/c/trainer-link" 2> "$tmp/err" || fail "--main through a symlink: exit $?: $(cat "$tmp/err")"
[ -L "$tmp/c/trainer-link" ] || fail "--main: the symlink was replaced"
[ -x "$tmp/b/trainer" ] && "$tmp/c/trainer-link" --help > /dev/null &&
  echo "ok: a trainer is written through a symlink, executable" ||
  fail "--main: the link's target is not a working trainer"
mkfifo "$tmp/c/obj-fifo"
timeout 60 cat "$tmp/c/obj-fifo" > "$tmp/c/from-fifo" &
reader=$!
timeout 60 "$OCTOC" "$model" --emit=obj -o "$tmp/c/obj-fifo" 2> "$tmp/err" || fail "--emit=obj to a FIFO: exit $?: $(cat "$tmp/err")"
[ -p "$tmp/c/obj-fifo" ] || kill "$reader" 2> /dev/null
wait "$reader"
reader=
[ -p "$tmp/c/obj-fifo" ] && [ -s "$tmp/c/from-fifo" ] && echo "ok: an object is written into a FIFO" ||
  fail "--emit=obj: the FIFO was replaced or got nothing"
[ -e "$tmp/c/obj-fifo.h" ] && fail "--emit=obj to a FIFO wrote a header beside it"
no_temp "compiler outputs"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
