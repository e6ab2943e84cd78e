#!/usr/bin/env bash
# `meson install` yields a usable SDK. Two installs, both into temp folders:
#  1. The build tree BUILD_DIR, staged with --destdir: the layout holds
#     bin/octoc, lib*/libocto-runtime.a, include/octo/octo_runtime.h and
#     octo-runtime.pc; the installed octoc emits the C of mlp (--emit=c --main)
#     and a trainer builds from it against the staged runtime. pkg-config reads
#     the staged .pc through PKG_CONFIG_SYSROOT_DIR, as for a cross sysroot.
#  2. A fresh runtime-only build configured with --prefix=TMP/prefix (no LLVM,
#     no tests: seconds), `meson install --tags devel`: the user's command
#     `cc mlp.c mlp_main.c $(pkg-config --cflags --libs octo-runtime) -lm`
#     with only PKG_CONFIG_PATH set builds a trainer that runs --help (and,
#     when Fashion-MNIST is installed, one short epoch).
#   install.sh BUILD_DIR [MESON]
# BUILD_DIR must be built (the install uses --no-rebuild). Run by meson test
# (suite 'install'); also usable on its own, e.g. from .ci/run.
set -u
build=$(cd "${1:?usage: install.sh BUILD_DIR [MESON]}" && pwd)
meson=${2:-meson}
src=$(cd "$(dirname "$0")/../.." && pwd)
models=${MODELS:-$src/models}
data=${OCTO_DATA:-/usr/share/datasets/fashion-mnist}
for p in "$meson" ninja pkg-config cc; do
  command -v "$p" >/dev/null || { echo "SKIP: $p not found"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# trainer NAME [LDFLAGS]: builds $tmp/NAME from $tmp/mlp.c with pkg-config's
# flags (and LDFLAGS) and checks its --help.
trainer() {
  local flags
  flags=$(pkg-config --cflags --libs octo-runtime) || { fail "$1: pkg-config"; return 1; }
  echo "$1: pkg-config --cflags --libs octo-runtime: $flags"
  # The runtime decodes gzip itself (runtime/gunzip.c): it needs only libc and libm.
  case " $flags " in *" -lz "*) fail "$1: pkg-config --libs brings -lz" ;; esac
  # shellcheck disable=SC2086 # the flags are words
  cc -O1 "$tmp/mlp.c" "$tmp/mlp_main.c" $flags -lm ${2:-} -o "$tmp/$1" 2> "$tmp/cc.err" ||
    { fail "$1: cc against the installed runtime:"; cat "$tmp/cc.err"; return 1; }
  "$tmp/$1" --help > "$tmp/help.out" || fail "$1: --help exits $?"
  grep -q "^usage: $1 " "$tmp/help.out" || fail "$1: --help prints no usage line"
}

# 1. The build tree, staged.
dest=$tmp/dest
"$meson" install -C "$build" --no-rebuild --destdir "$dest" > "$tmp/install.log" 2>&1 ||
  { echo "FAIL: meson install -C $build"; cat "$tmp/install.log"; exit 1; }
octoc=$(find "$dest" -path '*/bin/octoc' | head -1)
[ -n "$octoc" ] || { echo "FAIL: no bin/octoc installed"; exit 1; }
root=$(dirname "$(dirname "$octoc")")
pc=$(find "$root" -name octo-runtime.pc | head -1)
lib=$(find "$root" -name libocto-runtime.a | head -1)
[ -f "$root/include/octo/octo_runtime.h" ] || fail "no include/octo/octo_runtime.h"
[ -n "$pc" ] || fail "no octo-runtime.pc"
[ -n "$lib" ] || fail "no libocto-runtime.a"
[ "$fails" -eq 0 ] || exit 1
echo "staged: ${octoc#"$dest"} ${lib#"$dest"} ${pc#"$dest"}"
"$octoc" --version > /dev/null || fail "installed octoc --version"
"$octoc" "$models/mlp.net" --emit=c --main -o "$tmp/mlp.c" ||
  { echo "FAIL: installed octoc --emit=c --main"; exit 1; }
# A build tree configured with -Db_sanitize (OCTO_SANITIZE) installs an
# instrumented runtime: its trainers link with the same -fsanitize.
san=
[ "${OCTO_SANITIZE:-none}" = none ] || san=-fsanitize=$OCTO_SANITIZE
PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest trainer staged-train "$san"

# 2. A runtime-only build installed into a real prefix.
prefix=$tmp/prefix
if ! { "$meson" setup "$tmp/b" "$src" --prefix="$prefix" -Dtests=disabled -Dllvm=disabled &&
       ninja -C "$tmp/b" runtime/libocto-runtime.a &&
       "$meson" install -C "$tmp/b" --no-rebuild --tags devel; } > "$tmp/prefix.log" 2>&1; then
  echo "FAIL: runtime build installed into $prefix"; tail -20 "$tmp/prefix.log"; exit 1
fi
pc=$(find "$prefix" -name octo-runtime.pc | head -1)
[ -n "$pc" ] || { echo "FAIL: no octo-runtime.pc under $prefix"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc") trainer prefix-train
if [ -x "$tmp/prefix-train" ] && [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  "$tmp/prefix-train" --data "$data" --limit 256 --test-limit 256 --epochs 1 --quiet \
    > "$tmp/run.out" || fail "prefix-train: a short run exits $?"
  grep '^final test accuracy: ' "$tmp/run.out" || fail "prefix-train: no final accuracy line"
fi

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo PASS
