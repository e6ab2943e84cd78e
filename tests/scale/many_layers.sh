#!/usr/bin/env bash
# Compile time and memory stay near-linear in the number of layers (issue 10
# item 12): a chain of 20,000 relu layers compiles to C in a 600 MiB address
# space. The quadratic planner of before (buffers x buffers and calls x
# buffers tables) needed tens of GB for it. The C must name every layer's
# kernel. In a sanitized build (AddressSanitizer reserves terabytes of
# address space, so no ulimit -v) a 5,000-layer chain, still past the
# planner's sweep threshold, is compiled without the limit.
#   many_layers.sh      (env: OCTOC; OCTO_SANITIZE as meson's b_sanitize)
set -u
: "${OCTOC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

layers=20000
limit="ulimit -v $((600 << 10));"
if [ "${OCTO_SANITIZE:-none}" != none ]; then
  layers=5000
  limit=
fi
awk -v n="$layers" 'BEGIN {
  print "network chain {"
  print "  input x: f32[8];"
  print "  label y: class[4];"
  print "  h0 = dense(x, units=8);"
  for (i = 1; i <= n; i++) printf "  h%d = relu(h%d);\n", i, i - 1
  printf "  logits = dense(h%d, units=4);\n", n
  print "  loss = softmax_cross_entropy(logits, y);"
  print "}"
}' > "$tmp/chain.net"

# limited WHAT COMMAND...: runs octoc's COMMAND under the limit, or fails
# the test saying WHAT failed.
limited() {
  local what=$1
  shift
  bash -c "$limit exec \"\$@\"" octoc "$OCTOC" "$@" 2> "$tmp/err" && return 0
  echo "FAIL: $what${limit:+ ($limit)}: exit status $?: $(head -c 300 "$tmp/err")"
  exit 1
}

start=$SECONDS
limited "$layers layers" "$tmp/chain.net" --emit=c -o "$tmp/chain.c"
if ! grep -q "chain_k_h${layers}_fwd" "$tmp/chain.c"; then
  echo "FAIL: $layers layers: no kernel for the last layer in the C"
  exit 1
fi
echo "ok: $layers relu layers compiled to $(wc -c < "$tmp/chain.c") bytes of C" \
  "in $((SECONDS - start)) s${limit:+ under $limit}"

# Its loop IR reads back (octoc FILE.loops) to the same C, under the same
# limit: the reader's lookups are by name maps too (20k layers: 25 s of CPU
# when program arguments were found by a scan of every variable, 1.3 s now;
# reported, not asserted).
mkdir "$tmp/back"
start=$SECONDS
limited "$layers layers to loop IR" "$tmp/chain.net" --emit=loops -o "$tmp/chain.loops"
limited "$layers layers read back from loop IR" "$tmp/chain.loops" --emit=c -o "$tmp/back/chain.c"
if ! cmp -s "$tmp/chain.c" "$tmp/back/chain.c"; then
  echo "FAIL: $layers layers: the C from the loop IR differs from the C from the .net"
  exit 1
fi
echo "ok: its loop IR read back to the same C in $((SECONDS - start)) s"
