#!/usr/bin/env bash
# The routed maxpool of INT8 models (maxpool_route / maxpool_route_grad,
# passes/quantize.c) is exact: in MODEL's fp32 training graph, replacing
# each maxpool, its maxpool_grad and the relu_grad after it by the routed
# pair trains to the same parameters, bit for bit, as the original graph.
# Both train one epoch on LIMIT samples and save a checkpoint; the
# checkpoints must be equal except for the program hash (bytes 24..31) and
# the CRC that covers it (the last 4 bytes).
#   route_exact.sh MODEL LIMIT
set -u
: "${OCTOC:?}" "${MODELS:?}"
model=$1 limit=$2
. "$(dirname "$0")/dataset.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$OCTOC" "$MODELS/$model.net" --emit=ir -o "$tmp/plain.ir" || exit 1
# %P = maxpool (%X) -> %P, %P.route = maxpool_route (%X) {.., mask = "relu"};
# %E = maxpool_grad (%DY, %X) + %D = relu_grad (%E, %X) -> %D = maxpool_route_grad (%DY, %P.route)
perl -0pe '
  my %route;
  while (/%(\S+) = maxpool "[^"]*" \(%(\S+)\)/g) { $route{$2} = "$1.route" }
  s/%(\S+) = maxpool "([^"]*)" \((%\S+)\) \{([^}]*)\} : f32\[([^\]]*)\]/%$1, %$1.route = maxpool_route "$2" ($3) {$4, mask = "relu"} : f32[$5], i8[$5]/g;
  s/%(\S+) = maxpool_grad "([^"]*)" \((%\S+), %(\S+)\) \{([^}]*)\} : f32\[(\d+),(\d+),(\d+),(\d+)\]([^\n]*)\n\s*%(\S+) = relu_grad "[^"]*" \(%\1, %\4\) : [^\n]*/  %$11 = maxpool_route_grad "$2" ($3, %$route{$4}) {$5, input_size = [$8, $9]} : f32[$6,$7,$8,$9]$10/g;
' "$tmp/plain.ir" >"$tmp/routed.ir" || exit 1
routed=$(grep -c 'maxpool_route_grad' "$tmp/routed.ir")
echo "$routed pool gradients routed"
[ "$routed" -gt 0 ] || { echo "FAIL: no maxpool_grad + relu_grad pair to rewrite"; exit 1; }
if grep -q ' maxpool_grad \| maxpool "' "$tmp/routed.ir"; then
  echo "FAIL: a maxpool was left unrouted"; exit 1
fi
for kind in plain routed; do
  "$OCTOC" "$tmp/$kind.ir" --main -o "$tmp/$kind" || exit 1
  "$tmp/$kind" --data "$data" --limit "$limit" --test-limit 200 --epochs 1 --quiet \
    --save "$tmp/$kind.ckpt" || exit 1
done
body() { tail -c +33 "$1" | head -c -4; }
if ! cmp <(body "$tmp/plain.ckpt") <(body "$tmp/routed.ckpt"); then
  echo "FAIL: the routed trainer's parameters differ from the plain one's"
  exit 1
fi
echo "PASS: $(($(stat -c %s "$tmp/plain.ckpt") - 36)) checkpoint bytes identical"
