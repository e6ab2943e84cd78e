#!/usr/bin/env bash
# Resuming is exact: with the real lenet5 trainer on a 2000-sample subset,
# `--epochs 2 --save c.ckpt` then `--resume c.ckpt --epochs 3` prints the same
# epoch lines (loss and accuracies; times differ), appends the same log rows and
# writes the same final checkpoint bytes as a straight `--epochs 3 --save`.
# A resume at the last epoch only evaluates, with the same accuracy.
# RESUME_OPTS adds octoc options (--precision int8: the int8 trainer, whose
# stochastic rounding draws from the seeded stream, resumes exactly too;
# --set prc.stats=true: the clip counters, in the checkpoint and zeroed at
# each epoch's start, leave it exact and log the same rates).
#   resume.sh        (env: OCTOC, MODELS; OCTO_DATA overrides the dataset)
set -u
: "${OCTOC:?}" "${MODELS:?}"
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
# shellcheck source=tests/trainer/fixtures.sh
. "$(dirname "$0")/fixtures.sh"
need_data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sanitized_cc
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# shellcheck disable=SC2086
"$OCTOC" "$MODELS/lenet5.net" ${RESUME_OPTS:-} --main -O2 -o "$tmp/lenet5" || { echo "FAIL: octoc"; exit 1; }
dataset "$tmp/data" 2000 500
train() { "$tmp/lenet5" --data "$tmp/data" "$@"; }

train --epochs 3 --save "$tmp/straight.ckpt" --log "$tmp/straight.csv" > "$tmp/straight.out" ||
  { echo "FAIL: straight run"; exit 1; }
train --epochs 2 --save "$tmp/c.ckpt" --log "$tmp/resumed.csv" > "$tmp/first.out" ||
  { echo "FAIL: first two epochs"; exit 1; }
cp "$tmp/c.ckpt" "$tmp/two.ckpt"
train --resume "$tmp/c.ckpt" --epochs 3 --save "$tmp/c.ckpt" --log "$tmp/resumed.csv" \
  > "$tmp/resumed.out" || { echo "FAIL: resumed run"; exit 1; }

# The epoch lines without their time and samples/s fields.
epochs() { sed -n 's/^\(epoch [0-9]*\/[0-9]*  loss .* test_acc [0-9.]*%\)  time .*/\1/p' "$@"; }
cat "$tmp/straight.out"
echo "-- resumed:"
cat "$tmp/resumed.out"

[ "$(epochs "$tmp/straight.out" | wc -l)" -eq 3 ] || fail "straight run: expected 3 epoch lines"
epochs "$tmp/first.out" "$tmp/resumed.out" | sed 's/^epoch \([0-9]*\)\/[0-9]*/epoch \1/' > "$tmp/a"
epochs "$tmp/straight.out" | sed 's/^epoch \([0-9]*\)\/[0-9]*/epoch \1/' > "$tmp/b"
diff "$tmp/b" "$tmp/a" || fail "the resumed epoch lines differ from the straight run's"
grep -qx "resuming from $tmp/c.ckpt after epoch 2" "$tmp/resumed.out" || fail "no 'resuming from' line"
[ "$(sed -n '$p' "$tmp/resumed.out")" = "$(sed -n '$p' "$tmp/straight.out")" ] ||
  fail "final accuracy lines differ"

# The log: same rows (epoch, loss, accuracies, and any clip rates after the
# times), the resumed ones appended.
cut -d, -f1-4,7- "$tmp/straight.csv" > "$tmp/a"
cut -d, -f1-4,7- "$tmp/resumed.csv" > "$tmp/b"
[ "$(wc -l < "$tmp/a")" -eq 4 ] || fail "straight log: expected a header and 3 rows"
diff "$tmp/a" "$tmp/b" || fail "the resumed log differs from the straight run's"

# The checkpoints: byte for byte; and the third epoch did change the state,
# so the equality is not that of two untouched files.
cmp "$tmp/straight.ckpt" "$tmp/c.ckpt" || fail "final checkpoints differ"
cmp -s "$tmp/two.ckpt" "$tmp/c.ckpt" && fail "the resumed epoch did not change the checkpoint"

# Nothing left to train: only evaluation, the same accuracy, no rewrite.
train --resume "$tmp/c.ckpt" --epochs 3 > "$tmp/done.out" || fail "resume at the last epoch"
grep -qx "nothing to train: 3 of 3 epochs done" "$tmp/done.out" || fail "no 'nothing to train' line"
[ "$(sed -n '$p' "$tmp/done.out")" = "$(sed -n '$p' "$tmp/straight.out")" ] ||
  fail "evaluation after a full resume differs: $(sed -n '$p' "$tmp/done.out")"
cmp -s "$tmp/straight.ckpt" "$tmp/c.ckpt" || fail "the checkpoint changed without training"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
