# shellcheck shell=bash
# fixtures.sh: sourced by the trainer tests. Builds small IDX datasets from the
# first Fashion-MNIST samples, in plain bash (no python): a header, then bytes.
# Needs $data (the Fashion-MNIST folder) and $tmp.
# shellcheck disable=SC2154 # data and tmp are the caller's

# be32 N: N as 4 big-endian bytes.
be32() {
  printf '%b' "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))"
  printf '%b' "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"
}

# idx_images OUT SOURCE.gz COUNT ROWS COLS: COUNT images of ROWSxCOLS bytes
# taken from the pixel stream of SOURCE (28x28 pixels re-cut to another shape).
idx_images() {
  { printf '\x00\x00\x08\x03'; be32 "$3"; be32 "$4"; be32 "$5"
    gzip -dc "$2" | tail -c +17 | head -c $(($3 * $4 * $5)); } > "$1"
}

# idx_labels OUT SOURCE.gz COUNT: the first COUNT labels of SOURCE.
idx_labels() {
  { printf '\x00\x00\x08\x01'; be32 "$3"
    gzip -dc "$2" | tail -c +9 | head -c "$3"; } > "$1"
}

# dataset DIR NTRAIN NTEST: a plain 28x28 dataset folder.
dataset() {
  mkdir -p "$1"
  idx_images "$1/train-images-idx3-ubyte" "$data/train-images-idx3-ubyte.gz" "$2" 28 28
  idx_labels "$1/train-labels-idx1-ubyte" "$data/train-labels-idx1-ubyte.gz" "$2"
  idx_images "$1/t10k-images-idx3-ubyte" "$data/t10k-images-idx3-ubyte.gz" "$3" 28 28
  idx_labels "$1/t10k-labels-idx1-ubyte" "$data/t10k-labels-idx1-ubyte.gz" "$3"
}

# need_data: skip (exit 77) without the dataset.
need_data() {
  local f
  for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
           t10k-labels-idx1-ubyte.gz; do
    [ -f "$data/$f" ] || { echo "SKIP: $data/$f missing"; exit 77; }
  done
}

# sanitized_cc: in a build tree configured with -Db_sanitize (meson passes it
# as OCTO_SANITIZE), the runtime library is instrumented, so octoc must link
# trainers with the same -fsanitize: CC becomes a wrapper that adds it.
sanitized_cc() {
  [ "${OCTO_SANITIZE:-none}" = none ] && return 0
  printf '#!/bin/sh\nexec %s -fsanitize=%s "$@"\n' "${CC:-cc}" "$OCTO_SANITIZE" > "$tmp/cc"
  chmod +x "$tmp/cc"
  export CC=$tmp/cc
}
