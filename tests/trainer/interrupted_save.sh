#!/usr/bin/env bash
# A trainer stopped by SIGINT, SIGTERM or SIGHUP in the middle of a --save
# removes its FILE.tmp.<pid> and dies of the signal; the previous checkpoint
# stays byte for byte and loads. It is stopped mid-save every time (the mlp
# checkpoint, 1 MB, is larger than the pipe of tests/cli/stop_mid_write.sh).
# kill -9 cannot be caught: the FILE.tmp.<pid> it leaves is removed by the
# next save beside FILE, while a live process's and other names stay.
#   interrupted_save.sh    (env: OCTOC, MODELS; OCTO_DATA overrides the dataset)
set -u
: "${OCTOC:?}" "${MODELS:?}"
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
# shellcheck source=tests/trainer/fixtures.sh
. "$(dirname "$0")/fixtures.sh"
# shellcheck source=tests/cli/stop_mid_write.sh
. "$(dirname "$0")/../cli/stop_mid_write.sh"
need_data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sanitized_cc
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$OCTOC" "$MODELS/mlp.net" --main -O1 -o "$tmp/mlp" || { echo "FAIL: octoc mlp"; exit 1; }
dataset "$tmp/data" 256 64
"$tmp/mlp" --data "$tmp/data" --epochs 1 --save "$tmp/ref.ckpt" --quiet > /dev/null ||
  { echo "FAIL: training the reference checkpoint"; exit 1; }

# stop_mid_save DIR SIGNAL: one epoch with --save DIR/c.ckpt, stopped by
# SIGNAL mid-save; sets $pid and $status.
stop_mid_save() {
  stop_mid_write "$2" "$1/c.ckpt" -- "$tmp/mlp" --data "$tmp/data" --epochs 1 \
    --save "$1/c.ckpt" --quiet > "$tmp/$2.out" 2> "$tmp/$2.err"
}

for sig in INT TERM HUP; do
  d=$tmp/$sig
  mkdir "$d"
  cp "$tmp/ref.ckpt" "$d/c.ckpt"
  stop_mid_save "$d" "$sig"
  want=$((128 + $(kill -l "$sig")))
  before=$fails
  [ "$status" -eq "$want" ] || fail "SIG$sig: exit status $status, expected $want: $(cat "$tmp/$sig.err")"
  [ "$(ls "$d")" = c.ckpt ] || fail "SIG$sig: left $(ls "$d" | tr '\n' ' ')"
  cmp -s "$tmp/ref.ckpt" "$d/c.ckpt" || fail "SIG$sig: the previous checkpoint changed"
  "$tmp/mlp" --data "$tmp/data" --resume "$d/c.ckpt" --epochs 1 --quiet > /dev/null 2> "$tmp/err" ||
    fail "SIG$sig: the checkpoint does not load: $(cat "$tmp/err")"
  [ "$fails" -eq "$before" ] && echo "ok: SIG$sig mid-save: exit $status, only c.ckpt left, unchanged and loadable"
done

# kill -9: the temporary name stays (here the FIFO; a real one is a partial
# regular file, which is what is planted for the next save to find).
d=$tmp/KILL
mkdir "$d"
cp "$tmp/ref.ckpt" "$d/c.ckpt"
stop_mid_save "$d" KILL
dead=$pid
[ -e "$d/c.ckpt.tmp.$dead" ] || fail "kill -9 left nothing (expected the temporary name)"
rm -f "$d/c.ckpt.tmp.$dead"
head -c 100000 "$tmp/ref.ckpt" > "$d/c.ckpt.tmp.$dead"
sleep 300 &
live=$!
for name in "c.ckpt.tmp.$live" "c.ckpt.tmp.0$dead" "c.ckpt.tmp.${dead}x" "other.ckpt.tmp.$dead"; do
  echo stale > "$d/$name"
done
"$tmp/mlp" --data "$tmp/data" --epochs 1 --save "$d/c.ckpt" --quiet > /dev/null 2> "$tmp/err" ||
  fail "the save after kill -9 failed: $(cat "$tmp/err")"
kill "$live"
wait "$live" 2> /dev/null
left=$(cd "$d" && ls | LC_ALL=C sort | tr '\n' ' ')
want=$(printf '%s\n' c.ckpt "c.ckpt.tmp.0$dead" "c.ckpt.tmp.$live" "c.ckpt.tmp.${dead}x" \
  "other.ckpt.tmp.$dead" | LC_ALL=C sort | tr '\n' ' ')
[ "$left" = "$want" ] && echo "ok: the next save removed c.ckpt.tmp.$dead (pid gone), kept the rest" ||
  fail "after the next save: $left (expected $want)"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
