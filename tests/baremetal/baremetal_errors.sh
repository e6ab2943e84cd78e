#!/usr/bin/env bash
# A bare-metal image that cannot be built is a clear error, exit 1, and no
# image is written (docs/baremetal.md): a cross gcc that is not installed or
# has no picolibc names the Debian packages; a model whose state block and
# work arena exceed the board's RAM, or samples that exceed its flash, are
# refused before compiling, in the model's terms; a bad --samples or --data
# is refused, and so are --samples for a hosted target. The cross gcc is
# not needed (fake ones in a scratch folder stand in), only the dataset.
set -u
: "${OCTOC:?}" "${MODELS:?}"
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
[ -f "$data/train-images-idx3-ubyte.gz" ] || [ -f "$data/train-images-idx3-ubyte" ] ||
  { echo "SKIP: no Fashion-MNIST in $data"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
mkdir "$tmp/empty" "$tmp/fake"

# run WANT_STATUS WANT_TEXT DESCRIPTION MODEL OCTOC-ARGS... [-- ENV...]
run() {
  local want=$1 text=$2 what=$3 model=$4 args=() envs=()
  shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && { shift; envs=("$@"); }
  (cd "$tmp" && env "${envs[@]}" "$OCTOC" "$MODELS/$model.net" --main -o out.elf "${args[@]}") \
    >/dev/null 2>"$tmp/err"
  local got=$?
  if [ "$got" -ne "$want" ] || ! grep -qF -- "$text" "$tmp/err"; then
    echo "FAIL: $what: exit $got (want $want), stderr:"; sed 's/^/  /' "$tmp/err" | head -5
    fails=$((fails + 1))
  else
    echo "ok: $what"
  fi
  [ ! -e "$tmp/out.elf" ] || { echo "FAIL: $what: out.elf was written"; fails=$((fails + 1)); rm -f "$tmp/out.elf"; }
  ls "$tmp" | grep -q tmp && { echo "FAIL: $what: a temporary file was left"; fails=$((fails + 1)); }
  return 0
}

run 1 "octoc: error: cannot run arm-none-eabi-gcc: No such file or directory (Debian: apt install gcc-arm-none-eabi picolibc-arm-none-eabi)" \
  "cortex-m4 without its cross gcc" lenet5 -target cortex-m4 -- PATH="$tmp/empty"
run 1 "octoc: error: cannot run riscv64-unknown-elf-gcc: No such file or directory (Debian: apt install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)" \
  "riscv32 without its cross gcc" lenet5 -target riscv32 -- PATH="$tmp/empty"
# gcc's message when picolibc is not installed.
cat > "$tmp/fake/arm-none-eabi-gcc" <<'SH'
#!/bin/sh
echo "arm-none-eabi-gcc: fatal error: cannot read spec file 'picolibc.specs': No such file or directory" >&2
echo "compilation terminated." >&2
exit 1
SH
chmod +x "$tmp/fake/"*
run 1 "octoc: error: arm-none-eabi-gcc failed: the C library's 'picolibc.specs' is missing (Debian: apt install picolibc-arm-none-eabi)" \
  "cortex-m4 without picolibc" lenet5 -target cortex-m4 -- PATH="$tmp/fake"

# Too big for the board: octo_simplecnn's blocks need 8.6 MB at batch 32.
run 1 "octoc: error: model octo_simplecnn does not fit the mps2-an386 board: its state block (3471464 bytes) and work arena (5158980 bytes) need 8630444 bytes of RAM, the board has 4128768 beside its 65536-byte stack" \
  "a model too big for mps2-an386's RAM" octo_simplecnn -target cortex-m4
run 1 "octoc: error: model alexnet_small does not fit the virt board: its state block (3156232 bytes) and work arena (13118148 bytes) need 16274380 bytes of RAM, the board has 12517376 beside its 65536-byte stack" \
  "a model too big for the riscv32 image's RAM" alexnet_small -target riscv32 --batch 48
run 1 "octoc: error: the samples (4334000 bytes) and the code (up to 524288 bytes) do not fit the mps2-an386 board's 4194304 bytes of flash; lower --samples" \
  "5500 samples do not fit mps2-an386's flash" lenet5 -target cortex-m4 --samples 5500 -- PATH="$tmp/empty"

run 1 "octoc: error: --samples 0: expected a count from 1 to 1000000" "--samples 0" lenet5 \
  -target cortex-m4 --samples 0 -- PATH="$tmp/empty"
run 1 "octoc: error: --samples 12x: expected a count from 1 to 1000000" "--samples 12x" lenet5 \
  -target cortex-m4 --samples 12x -- PATH="$tmp/empty"
run 1 "--samples 70000: " "more samples than the dataset has" lenet5 \
  -target cortex-m4 --samples 70000 -- PATH="$tmp/empty"
run 1 "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz (use --data DIR to point at the dataset) (Debian: apt install dataset-fashion-mnist)" \
  "--data without the dataset" lenet5 -target riscv32 --data "$tmp/empty" -- PATH="$tmp/empty"
run 1 "octoc: error: --data and --samples choose the samples of a bare-metal trainer (-target cortex-m4 or riscv32, --main)" \
  "--samples for the host" lenet5 --samples 64

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
