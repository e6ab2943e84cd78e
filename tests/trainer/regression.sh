#!/usr/bin/env bash
# A regression model (float label, mse) end to end through `octoc --main`:
# on a synthetic dataset (gen_regdata: 4x4 images, float32 IDX targets
# t = A x + b) the trainer prints loss/test_loss lines and reaches a test
# loss far below the untrained one; --quiet, --log,
# --limit/--test-limit, --benchmark, gzip and u8 targets, and --save/--resume
# (bit-identical to a straight run) work; bad target files (wrong dims, wrong
# count, wrong IDX type, truncated, a NaN) each fail with exit 1, one message
# naming the file, no epoch line and no output file.
#   regression.sh       (env: OCTOC, GEN_REGDATA, TRAINER_DIR)
set -u
: "${OCTOC:?}" "${GEN_REGDATA:?}" "${TRAINER_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/trainer/fixtures.sh
. "$(dirname "$0")/fixtures.sh"
sanitized_cc
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$OCTOC" "$TRAINER_DIR/regression.net" --main -O1 -o "$tmp/regtrain" ||
  { echo "FAIL: octoc regression.net"; exit 1; }
"$GEN_REGDATA" "$tmp/data" 512 128 || { echo "FAIL: gen_regdata"; exit 1; }

# Untrained (0 epochs: evaluation only) against 8 epochs.
"$tmp/regtrain" --data "$tmp/data" --epochs 0 --quiet > "$tmp/untrained.out" ||
  fail "evaluating the untrained model"
"$tmp/regtrain" --data "$tmp/data" --epochs 8 --log "$tmp/run.csv" > "$tmp/run.out" ||
  fail "training"
cat "$tmp/untrained.out" "$tmp/run.out"
untrained=$(sed -n 's/^final test loss: //p' "$tmp/untrained.out")
final=$(sed -n 's/^final test loss: //p' "$tmp/run.out")
[ -n "$untrained" ] && [ -n "$final" ] || fail "no 'final test loss:' line"
awk -v u="${untrained:-0}" -v f="${final:-1}" 'BEGIN { exit !(f < 0.1 && f < u / 10) }' ||
  fail "test loss $final is not below 0.1 and a tenth of the untrained $untrained"
[ "$(grep -c '^epoch [0-9]*/8  loss [0-9.]*  test_loss [0-9.]*  time [0-9.]*s  [0-9]* samples/s$' \
     "$tmp/run.out")" -eq 8 ] || fail "epoch lines are not 'epoch E/N  loss L  test_loss T  time Ss  R samples/s'"
grep -q 'acc' "$tmp/run.out" && fail "a regression run prints an accuracy"
[ "$(tail -n 1 "$tmp/run.out" | cut -d' ' -f4)" = "$final" ] || fail "the final line is not the last test_loss"
# The log: its header, 8 rows, the last test_loss the printed one.
[ "$(head -n 1 "$tmp/run.csv")" = "epoch,loss,test_loss,seconds,samples_per_s" ] ||
  fail "log header: $(head -n 1 "$tmp/run.csv")"
[ "$(wc -l < "$tmp/run.csv")" -eq 9 ] || fail "log rows"
awk -F, -v f="${final:-0}" 'END { d = $3 - f; exit !(d < 1e-6 && d > -1e-6) }' "$tmp/run.csv" ||
  fail "the log's last test_loss is not the final test loss"
# (plot-log.sh draws such a log: runtime_plot_log_writes_png_for_regression.)

# --quiet prints only the final line.
"$tmp/regtrain" --data "$tmp/data" --epochs 2 --quiet > "$tmp/quiet.out" || fail "--quiet"
grep -qx 'final test loss: [0-9.]*' "$tmp/quiet.out" && [ "$(wc -l < "$tmp/quiet.out")" -eq 1 ] ||
  fail "--quiet printed: $(cat "$tmp/quiet.out")"

# --save after every epoch and --resume: the same lines and state as a straight run.
"$tmp/regtrain" --data "$tmp/data" --epochs 2 --save "$tmp/c.ckpt" > "$tmp/first.out" || fail "--save"
"$tmp/regtrain" --data "$tmp/data" --epochs 4 --resume "$tmp/c.ckpt" --save "$tmp/c.ckpt" \
  > "$tmp/second.out" || fail "--resume"
"$tmp/regtrain" --data "$tmp/data" --epochs 4 --save "$tmp/straight.ckpt" > "$tmp/straight.out" ||
  fail "straight run"
strip() { sed -e 's/  time .*//' -e 's/^epoch \([0-9]*\)\/[0-9]*/epoch \1/'; }
{ grep '^epoch' "$tmp/first.out"; grep -v '^resuming' "$tmp/second.out"; } | strip > "$tmp/resumed.txt"
strip < "$tmp/straight.out" > "$tmp/straight.txt"
cmp -s "$tmp/resumed.txt" "$tmp/straight.txt" || fail "resumed run prints differently from the straight one"
cmp -s "$tmp/c.ckpt" "$tmp/straight.ckpt" || fail "resumed checkpoint differs from the straight one"

# --limit / --test-limit: evaluating 10 test samples differs from 128.
"$tmp/regtrain" --data "$tmp/data" --epochs 1 --limit 64 --test-limit 10 --quiet > "$tmp/lim.out" ||
  fail "--limit/--test-limit"
"$tmp/regtrain" --data "$tmp/data" --epochs 1 --limit 64 --quiet > "$tmp/lim2.out" || fail "--limit"
cmp -s "$tmp/lim.out" "$tmp/lim2.out" && fail "--test-limit 10 gives the whole test set's loss"

# --benchmark needs no dataset.
"$tmp/regtrain" --benchmark 5 > "$tmp/bench.out" || fail "--benchmark"
grep -q '^benchmark: 5 steps, batch 32, [0-9.]* samples/s$' "$tmp/bench.out" || fail "benchmark line"

# gzip targets, and u8 targets (IDX 0x08, read as their value).
mkdir "$tmp/gz" && cp "$tmp/data/"* "$tmp/gz/" && gzip -n "$tmp/gz/train-targets.idx"
"$tmp/regtrain" --data "$tmp/gz" --epochs 1 --quiet > "$tmp/gz.out" || fail "gzip targets"
"$tmp/regtrain" --data "$tmp/data" --epochs 1 --quiet > "$tmp/plain.out"
cmp -s "$tmp/gz.out" "$tmp/plain.out" || fail "gzip targets train differently"
mkdir "$tmp/u8" && cp "$tmp/data/"*images* "$tmp/u8/"
for s in train:512 t10k:128; do
  { printf '\x00\x00\x08\x02'; be32 "${s#*:}"; be32 2; head -c $((${s#*:} * 2)) /dev/zero | tr '\0' '\3'; } \
    > "$tmp/u8/${s%:*}-targets.idx"
done
"$tmp/regtrain" --data "$tmp/u8" --epochs 8 --quiet > "$tmp/u8.out" || fail "u8 targets"
awk '{ exit !($4 < 1) }' "$tmp/u8.out" || fail "u8 targets (all 3) not learnt: $(cat "$tmp/u8.out")"

# Bad target files: exit 1, one "regtrain: error:" line with TEXT, no epoch
# line, no log written.
bad() {
  local name=$1 text=$2 dir=$3
  "$tmp/regtrain" --data "$dir" --epochs 1 --log "$dir/run.csv" > "$tmp/stdout" 2> "$tmp/stderr"
  local status=$? before=$fails
  [ "$status" -eq 1 ] || fail "$name: exit status $status, expected 1"
  [ "$(wc -l < "$tmp/stderr")" -eq 1 ] || fail "$name: expected one line on stderr"
  grep -q '^regtrain: error: ' "$tmp/stderr" || fail "$name: no 'regtrain: error:' line"
  grep -qF -- "$text" "$tmp/stderr" || fail "$name: stderr lacks '$text'"
  [ -s "$tmp/stdout" ] && fail "$name: printed to stdout"
  [ -e "$dir/run.csv" ] && fail "$name: wrote the log"
  [ "$fails" -eq "$before" ] && echo "ok: $name: $(cat "$tmp/stderr")"
}
copy() { rm -rf "$tmp/$1"; mkdir "$tmp/$1"; cp "$tmp/data/"* "$tmp/$1/"; echo "$tmp/$1"; }

d=$(copy dims)
"$GEN_REGDATA" "$tmp/dims3" 512 128 3 && cp "$tmp/dims3/train-targets.idx" "$d/"
bad "targets of 3 values for a model of 2" \
  "model expects targets of 2 values per sample but $d/train-targets.idx has 3" "$d"
d=$(copy count)
"$GEN_REGDATA" "$tmp/count100" 100 128 && cp "$tmp/count100/train-targets.idx" "$d/"
bad "100 targets for 512 images" \
  "$d/train-images-idx3-ubyte has 512 images but $d/train-targets.idx has 100 targets" "$d"
d=$(copy type)
{ printf '\x00\x00\x0c'; tail -c +4 "$tmp/data/t10k-targets.idx"; } > "$d/t10k-targets.idx"
bad "IDX type 0x0c" "$d/t10k-targets.idx: unsupported IDX element type 0x0c" "$d"
d=$(copy trunc)
head -c 1000 "$tmp/data/train-targets.idx" > "$d/train-targets.idx"
bad "truncated targets" "$d/train-targets.idx: truncated: expected 4096 bytes of targets, got 988" "$d"
d=$(copy nan)
{ head -c 20 "$tmp/data/train-targets.idx"; printf '\x7f\xc0\x00\x00'; tail -c +25 "$tmp/data/train-targets.idx"; } \
  > "$d/train-targets.idx"
bad "a NaN target" "$d/train-targets.idx: target 0 of sample 1 is nan" "$d"
d=$(copy missing)
rm "$d/t10k-targets.idx"
bad "no test targets" "no t10k-targets.idx or t10k-targets.idx.gz" "$d"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
