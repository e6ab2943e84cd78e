#!/bin/sh
# Runs one libFuzzer harness of tests/fuzz for SECONDS (default 60):
#
#   tests/fuzz/run.sh net|recipe|ir|loops|readers|gunzip|pipeline [SECONDS]
#
# The first run configures the build folder (default build-fuzz/, or
# $OCTO_FUZZ_BUILD) with CC=clang-19, -Dfuzz=true and ASan+UBSan; ninja then
# builds the one fuzzer (target fuzz-NAME). Its seeds are those the test
# suite replays: the arguments of the test fuzz-NAME-replays-its-seeds, read
# with meson introspect. libFuzzer reads the seed folders and keeps what it
# finds in BUILD/corpus-NAME/ (generated seed files are copied there); a
# crash is written to BUILD/ as crash-*, with the reproducer's path printed.
set -eu
usage() { echo "usage: $0 net|recipe|ir|loops|readers|gunzip|pipeline [SECONDS]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
target=$1
seconds=${2:-60}
case $seconds in '' | *[!0-9]*) usage ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OCTO_FUZZ_BUILD:-$root/build-fuzz}
case $target in
  net) opts="-max_len=65536 -dict=$root/tests/fuzz/net.dict" ;;
  pipeline) opts="-max_len=16384 -dict=$root/tests/fuzz/net.dict" ;;
  recipe) opts="-max_len=16384" ;;
  ir | loops) opts="-max_len=65536" ;;
  readers | gunzip) opts="-max_len=65536" ;;
  *) usage ;;
esac

cc=${CC:-clang-19}
probe=$(mktemp)
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; return (int)n * 0; }\n' |
  "$cc" -fsanitize=fuzzer,address,undefined -x c - -o "$probe" 2>/dev/null || linked=no
rm -f "$probe"
if [ "${linked:-yes}" = no ]; then
  echo "$0: $cc cannot link a libFuzzer binary (Debian: apt install clang-19 libclang-rt-19-dev)" >&2
  exit 1
fi
if [ ! -f "$out/build.ninja" ]; then
  CC=$cc meson setup "$out" "$root" --native-file "$root/targets/llvm-19.ini" \
    -Dfuzz=true -Db_sanitize=address,undefined
fi
ninja -C "$out" "fuzz-$target"

corpus=$out/corpus-$target
mkdir -p "$corpus"
seed_dirs=
for seed in $(meson introspect "$out" --tests | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if t["name"] == sys.argv[1]:
        print("\n".join(t["cmd"][1:]))' "fuzz-$target-replays-its-seeds"); do
  case $seed in /*) ;; *) seed=$out/$seed ;; esac # generated seeds: relative to the build
  if [ -d "$seed" ]; then seed_dirs="$seed_dirs $seed"; else cp "$seed" "$corpus/"; fi
done
[ -n "$seed_dirs" ] || { echo "$0: no seeds for $target (is the test registered?)" >&2; exit 1; }

cd "$out"
# shellcheck disable=SC2086 # opts and seed_dirs are word lists
exec "./tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 $opts "$corpus" $seed_dirs
