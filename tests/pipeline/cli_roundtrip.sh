#!/usr/bin/env bash
# Round trips through the octoc command line, for every model in MODELS:
#   dumps   the graph IR octoc prints with --print-after=P (P = every graph
#           pass, up to verify) reprints byte-identically (reprint graph),
#           and the finished graph (after verify) read by octoc itself
#           prints back unchanged (the pipeline is idempotent on it);
#           the loop IR printed after lower and memplan reprints
#           byte-identically and verifies (reprint loops), and the last
#           dump is exactly the --emit=loops output
#   loops   octoc --emit=loops output reprints byte-identically and verifies
#   ir-c    octoc M.ir --emit=c, from --emit=ir output, writes the same .c and
#           .h as octoc M.net --emit=c
# usage: cli_roundtrip.sh dumps|loops|ir-c OCTOC REPRINT MODELS_DIR
set -u
[ $# -eq 4 ] || { echo "usage: $0 dumps|loops|ir-c OCTOC REPRINT MODELS_DIR" >&2; exit 2; }
mode=$1 octoc=$2 reprint=$3 models=$4
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0

# The graph passes: the registry up to and including verify.
graph_passes=$("$octoc" --list-passes | awk '{print $1} $1 == "verify" {exit}')
[ -n "$graph_passes" ] || { echo "no passes listed" >&2; exit 1; }

bad() { echo "FAIL: $*" >&2; fail=1; }

# Splits a stderr capture into NAME.P.dump files, one per header, checking
# that each expected pass printed exactly one dump and nothing else came out.
split_dumps() { # FILE PREFIX PASS...
  local file=$1 prefix=$2
  shift 2
  awk -v prefix="$prefix" '
    /^\*\*\* IR Dump After .* \*\*\*$/ { out = prefix "." $5 ".dump"; n++; next }
    out == "" { print "unexpected text before the first dump: " $0 > "/dev/stderr"; exit 1 }
    { print > out }
    END { if (n == 0) exit 1 }' "$file" || return 1
  for p in "$@"; do
    [ "$(grep -c "^\*\*\* IR Dump After $p \*\*\*\$" "$file")" = 1 ] || return 1
  done
}

check_dumps() { # MODEL.net
  local m=$1 b all
  b=$tmp/$(basename "$m" .net)
  # One run prints after every pass (comma-separated --print-after list).
  all=$(echo $graph_passes lower memplan | tr ' ' ',')
  "$octoc" "$m" --print-after="$all" --emit=loops -o "$b.loops" 2> "$b.raw" ||
    { bad "$m: octoc --print-after=$all"; return; }
  split_dumps "$b.raw" "$b" $graph_passes lower memplan ||
    { bad "$m: --print-after=$all: not one dump per pass"; return; }
  for p in $graph_passes; do
    grep -q '^graph ' "$b.$p.dump" || bad "$m: dump after $p is not graph IR"
    "$reprint" graph "$b.$p.dump" || bad "$m: graph after $p does not reprint"
  done
  # The finished training graph through octoc's own .ir path.
  cp "$b.verify.dump" "$b.final.ir"
  "$octoc" "$b.final.ir" --emit=ir -o "$b.again.ir" && cmp -s "$b.final.ir" "$b.again.ir" ||
    bad "$m: octoc on the finished graph's .ir does not print it back unchanged"
  for p in lower memplan; do
    grep -q '^program ' "$b.$p.dump" || bad "$m: dump after $p is not loop IR"
    "$reprint" loops "$b.$p.dump" || bad "$m: loop IR after $p does not reprint"
  done
  # The dump after the last pass is what --emit=loops writes.
  cmp -s "$b.memplan.dump" "$b.loops" || bad "$m: dump after memplan differs from --emit=loops"
}

check_loops() {
  local m=$1 b
  b=$tmp/$(basename "$m" .net)
  "$octoc" "$m" --emit=loops -o "$b.loops" || { bad "$m: --emit=loops"; return; }
  "$reprint" loops "$b.loops" || bad "$m: --emit=loops does not reprint"
}

check_ir_c() {
  local m=$1 n
  n=$(basename "$m" .net)
  mkdir -p "$tmp/net" "$tmp/ir"
  "$octoc" "$m" --emit=ir -o "$tmp/$n.ir" || { bad "$m: --emit=ir"; return; }
  "$octoc" "$m" --emit=c -o "$tmp/net/$n.c" || { bad "$m: --emit=c from .net"; return; }
  "$octoc" "$tmp/$n.ir" --emit=c -o "$tmp/ir/$n.c" || { bad "$m: --emit=c from .ir"; return; }
  for ext in c h; do
    if ! cmp -s "$tmp/net/$n.$ext" "$tmp/ir/$n.$ext"; then
      bad "$m: $n.$ext from the .ir differs from the .net's:"
      diff "$tmp/net/$n.$ext" "$tmp/ir/$n.$ext" | head -8 >&2
    fi
  done
}

count=0
for m in "$models"/*.net; do
  [ -f "$m" ] || continue
  count=$((count + 1))
  case $mode in
    dumps) check_dumps "$m" ;;
    loops) check_loops "$m" ;;
    ir-c) check_ir_c "$m" ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
done
[ "$count" -gt 0 ] || { echo "no models in $models" >&2; exit 1; }
[ "$fail" = 0 ] && echo "PASS: $mode, $count models"
exit "$fail"
