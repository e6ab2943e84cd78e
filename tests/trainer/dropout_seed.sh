#!/usr/bin/env bash
# Dropout masks follow the run's seed and resume bit-exactly: compiles
# tests/trainer/dropout.net to C and runs dropout_seed.c against it (under
# the sanitizers of this build when it has them).
#   dropout_seed.sh        (env: OCTOC, TRAINER_DIR; CC, default cc)
set -u
: "${OCTOC:?}" "${TRAINER_DIR:?}"
cc=${CC:-cc}
command -v "$cc" > /dev/null || { echo "SKIP: no $cc"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
san=()
case "${OCTO_SANITIZE:-none}" in
  *address*|*undefined*) san=(-fsanitize=address,undefined -fno-sanitize-recover=all) ;;
esac
"$OCTOC" "$TRAINER_DIR/dropout.net" --emit=c -o "$tmp/dropnet.c" || { echo "FAIL: octoc"; exit 1; }
"$cc" -std=c11 -O2 -Wall -Wextra -Werror "${san[@]}" -I"$tmp" -o "$tmp/run" \
  "$TRAINER_DIR/dropout_seed.c" "$tmp/dropnet.c" -lm || { echo "FAIL: cc"; exit 1; }
"$tmp/run"
