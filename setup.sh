#!/usr/bin/env bash
# One script for a fresh Debian 12 machine: installs the Debian packages Octo
# needs (only the missing ones), configures and builds, then runs a job:
#   ./setup.sh demo     compile models/lenet5.net into a trainer and train it on
#                       Fashion-MNIST (5 epochs, full data), printing accuracy
#   ./setup.sh test     run the whole test suite
#   ./setup.sh build    just set up and build
# Environment: OCTO_BUILD (build dir, default build), OCTO_MESON_ARGS (extra
# `meson setup` options, e.g. -Db_sanitize=address,undefined).
set -euo pipefail
cd "$(dirname "$0")"

job=${1:-build}
build=${OCTO_BUILD:-build}

# Every tool, header and library the suite and octoc use must come from this
# list or what it depends on (with --no-install-recommends below):
# tests/setup/packages.sh checks that, and octoc names the package of a
# missing compiler or C library (compiler/toolchain.c).
packages=(
  build-essential pkg-config meson ninja-build flex bison
  libyaml-dev zlib1g-dev check
  llvm-19-dev llvm-19-tools clang-19 libclang-rt-19-dev
  gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu qemu-user
  libc6-dev-armhf-cross libc6-dev-arm64-cross libc6-dev-riscv64-cross
  gcc-arm-none-eabi picolibc-arm-none-eabi gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
  qemu-system-arm qemu-system-misc
  dataset-fashion-mnist graphviz gnuplot-nox
)

install_missing() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  if [ ! -f "$build/build.ninja" ]; then
    # shellcheck disable=SC2086
    meson setup "$build" --native-file targets/llvm-19.ini -Dwerror=true ${OCTO_MESON_ARGS:-}
  fi
  ninja -C "$build"
}

case "$job" in
  demo|test|build) ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "setup.sh: unknown job '$job' (demo, test or build)" >&2; exit 2 ;;
esac

install_missing
configure_and_build

case "$job" in
  demo)
    echo "== octoc models/lenet5.net --emit=report"
    "$build/octoc" models/lenet5.net --emit=report
    echo
    echo "== octoc models/lenet5.net --main -O3 -mcpu=native -o $build/lenet5-train"
    "$build/octoc" models/lenet5.net --main -O3 -mcpu=native -o "$build/lenet5-train"
    echo "== $build/lenet5-train --log $build/lenet5-log.csv   (Fashion-MNIST, 60k/10k, 5 epochs)"
    "$build/lenet5-train" --log "$build/lenet5-log.csv"
    ;;
  test)
    meson test -C "$build" --print-errorlogs --num-processes "$(nproc)"
    ;;
  build) ;;
esac
