#!/usr/bin/env bash
# setup.sh's package list is what a clean Debian 12 machine needs (issue 10
# item 1): every external tool, header and library the suite and octoc use
# must come from a package in that list or one it depends on (Depends and
# Pre-Depends only: setup.sh installs with --no-install-recommends), or from
# the base system (Essential or Priority: required). The tools are found
# where this machine has them and mapped back to their package with dpkg -S;
# the headers each C compiler reads (stdio.h & co., through `cc -E -H`) and
# the libraries octoc links are too.
#
#   packages.sh [SETUP_SH]     (default: setup.sh beside tests/)
#
# Without dpkg (not Debian) it skips (77).
set -u
here=$(cd "$(dirname "$0")" && pwd)
setup=${1:-$here/../../setup.sh}
command -v dpkg-query >/dev/null && command -v dpkg >/dev/null ||
  { echo "SKIP: no dpkg (not a Debian system)"; exit 77; }
[ -r "$setup" ] || { echo "FAIL: cannot read $setup"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The list: the words between `packages=(` and `)` in setup.sh.
sed -n '/^packages=(/,/^)/p' "$setup" | sed '1d;$d' | tr -s ' \t' '\n\n' | sed '/^$/d' > "$tmp/list"
[ -s "$tmp/list" ] || { echo "FAIL: no packages=( ... ) list in $setup"; exit 1; }

# Everything those packages pull in, plus the base system: a breadth-first
# walk of the installed packages' Depends and Pre-Depends (every
# alternative; a virtual package stands for its providers).
dpkg-query -W -f='${Package}\t${Essential}\t${Priority}\t${Depends}, ${Pre-Depends}\t${Provides}\n' \
  > "$tmp/db"
awk -F '\t' -v listfile="$tmp/list" '
  function names(field, out,   parts, n, i, w) {
    gsub(/\([^)]*\)/, "", field); gsub(/\|/, ",", field); gsub(/:[a-z0-9]+/, "", field)
    n = split(field, parts, ",")
    for (i = 1; i <= n; i++) { w = parts[i]; gsub(/[ \t]/, "", w); if (w != "") out[w] = 1 }
  }
  {
    pkg = $1; deps[pkg] = $4; installed[pkg] = 1
    if ($2 == "yes" || $3 == "required") { queue[++tail] = pkg }
    delete prov; names($5, prov); for (p in prov) providers[p] = providers[p] " " pkg
  }
  END {
    while ((getline line < listfile) > 0) queue[++tail] = line
    for (head = 1; head <= tail; head++) {
      p = queue[head]
      if (p in seen) continue
      seen[p] = 1
      if (p in providers) { n = split(providers[p], pv, " "); for (i = 1; i <= n; i++) queue[++tail] = pv[i] }
      if (!(p in installed)) continue
      delete d; names(deps[p], d); for (q in d) queue[++tail] = q
    }
    for (p in seen) if (p in installed) print p
  }' "$tmp/db" | sort > "$tmp/closure"

fails=0
# Everything to check, one "WHAT<TAB>PATH" line each; checked at the end in
# one pass over dpkg's file lists (dpkg -S per file takes minutes).
: > "$tmp/items"
item() { printf '%s\t%s\n' "$1" "$2" >> "$tmp/items"; }
missing() { echo "FAIL: $1"; fails=$((fails + 1)); }
# A clean machine's PATH: nothing from /usr/local, pyenv or the like.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

# The tools: the build (meson.build's find_program), octoc's compilers, the
# tests' commands (cross runs under qemu, plots, the FileCheck tests).
tools="cc gcc clang-19 llvm-config-19 flex bison meson ninja pkg-config python3
       arm-linux-gnueabihf-gcc aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc
       qemu-arm qemu-aarch64 qemu-riscv64 gnuplot dot gzip cmp diff awk sed timeout mkfifo od
       arm-none-eabi-gcc riscv64-unknown-elf-gcc qemu-system-arm qemu-system-riscv32"
for t in $tools; do
  path=$(command -v "$t") || { missing "$t is not installed"; continue; }
  item "$t" "$path"
done
if [ -x /usr/lib/llvm-19/bin/FileCheck ]; then
  item FileCheck /usr/lib/llvm-19/bin/FileCheck
else
  missing "FileCheck (llvm-19) is not installed"
fi

# The headers each C compiler reads for the generated code and the runtime
# (-H lists every file it opens), and the host's library headers.
printf '#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n' > "$tmp/libc.c"
printf '#include <check.h>\n#include <yaml.h>\n#include <zlib.h>\n' > "$tmp/libs.c"
headers() { # headers CC FILE: the header paths CC opens for FILE
  "$1" -E -H "$2" -o /dev/null 2>&1 >/dev/null | sed -n 's/^\.\+ //p' | sort -u
}
for cc in cc clang-19 arm-linux-gnueabihf-gcc aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc; do
  command -v "$cc" >/dev/null || continue # reported above
  if ! "$cc" -E "$tmp/libc.c" -o /dev/null 2>"$tmp/err"; then
    missing "$cc cannot read the C library's headers: $(grep -m1 error "$tmp/err")"
    continue
  fi
  while read -r h; do item "$cc's $(basename "$h")" "$h"; done < <(headers "$cc" "$tmp/libc.c")
done
if cc -E "$tmp/libs.c" -o /dev/null 2>"$tmp/err"; then
  while read -r h; do item "cc's $(basename "$h")" "$h"; done < <(headers cc "$tmp/libs.c")
else
  missing "cc cannot read check.h, yaml.h or zlib.h: $(grep -m1 error "$tmp/err")"
fi
# The bare-metal boards' C library, picolibc (compiler/baremetal.c): each
# cross gcc finds a copy of its specs file in its own folder (made by the
# package's postinst, so owned by no package); the package's own file is
# the one to trace.
for cc in arm-none-eabi-gcc riscv64-unknown-elf-gcc; do
  command -v "$cc" >/dev/null || continue # reported above
  [ "$("$cc" -print-file-name=picolibc.specs)" != picolibc.specs ] ||
    { missing "$cc has no picolibc.specs (picolibc)"; continue; }
  item "$cc's picolibc" "/usr/lib/picolibc/${cc%-gcc}/picolibc.specs"
done
# The libraries octoc links a trainer with (-lz -lm) and the suite links.
for lib in libz.so libm.so libyaml.so libcheck.a; do
  path=$(cc -print-file-name="$lib")
  [ "$path" != "$lib" ] || { missing "cc cannot find $lib"; continue; }
  item "$lib" "$path"
done
# The dataset the trainer tests and the demo read.
item "Fashion-MNIST" /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

# Each path as given, its real path, and each with and without /usr (merged
# /usr: dpkg may know /bin/gzip as installed, the path found is /usr/bin/gzip).
while IFS=$'\t' read -r what path; do
  real=$(readlink -f "$path")
  for p in "$path" "$real" "${real#/usr}" "/usr$real"; do printf '%s\t%s\n' "$what" "$p"; done
done < "$tmp/items" > "$tmp/candidates"
# The package of each candidate path (dpkg's info/PACKAGE[:ARCH].list files
# list what each package installed), then the verdict per item.
admin=$(dpkg-query --admindir 2>/dev/null || echo /var/lib/dpkg)
[ -d "$admin/info" ] || admin=/var/lib/dpkg
awk -F '\t' -v closure="$tmp/closure" '
  FILENAME == closure { ok[$1] = 1; next }
  FILENAME ~ /candidates$/ { want[$2] = 1; whats[$1] = whats[$1] "\t" $2; order[++n] = $1; next }
  FNR == 1 { pkg = FILENAME; sub(/.*\//, "", pkg); sub(/\.list$/, "", pkg); sub(/:.*/, "", pkg) }
  ($0 in want) && !($0 in owner) { owner[$0] = pkg }
  END {
    bad = 0
    for (i = 1; i <= n; i++) {
      w = order[i]; if (w in done) continue; done[w] = 1
      m = split(whats[w], paths, "\t"); pkg = ""
      for (j = 2; j <= m && pkg == ""; j++) if (paths[j] in owner) pkg = owner[paths[j]]
      if (pkg == "") { print "FAIL: " w " (" paths[2] ") belongs to no Debian package"; bad++ }
      else if (pkg in ok) print "ok: " w " <- " pkg
      else { print "FAIL: " w " (" paths[2] ") comes from " pkg ", which setup.sh'"'"'s list does not install"; bad++ }
    }
    exit bad > 0
  }' "$tmp/closure" "$tmp/candidates" "$admin"/info/*.list || fails=$((fails + 1))

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
