#!/usr/bin/env bash
# octoc stops reading an input at 1 GiB (the front end's limit) and says so,
# naming the file: /dev/zero, which never ends, is refused after reading at
# most 1 GiB and one byte (in a 3 GiB address space where the build is not
# sanitized: AddressSanitizer reserves more than that up front); a sparse
# 2 GiB file, model or recipe, is refused from its size without reading it.
#   input_limit.sh      (env: OCTOC, MODELS; OCTO_SANITIZE as meson's b_sanitize)
set -u
: "${OCTOC:?}" "${MODELS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_refused NAME MESSAGE -- COMMAND...: exit 1 and exactly MESSAGE.
expect_refused() {
  local name=$1 want=$2
  shift 3
  local start=$SECONDS
  "$@" > "$tmp/out" 2> "$tmp/err"
  local status=$?
  [ "$status" -eq 1 ] || fail "$name: exit status $status, expected 1"
  [ "$(cat "$tmp/err")" = "$want" ] || fail "$name: stderr: $(head -c 300 "$tmp/err")"
  [ "$status" -eq 1 ] && [ "$(cat "$tmp/err")" = "$want" ] &&
    echo "ok: $name in $((SECONDS - start)) s: $want"
}

limit=
[ "${OCTO_SANITIZE:-none}" = none ] && limit="ulimit -v $((3 << 20));"
expect_refused "/dev/zero" "octoc: error: cannot read '/dev/zero': File too large" -- \
  timeout 300 bash -c "$limit exec \"\$0\" /dev/zero" "$OCTOC"

truncate -s 2G "$tmp/huge.net"
expect_refused "a 2 GiB model" "octoc: error: cannot read '$tmp/huge.net': File too large" -- \
  timeout 60 "$OCTOC" "$tmp/huge.net"
expect_refused "a 2 GiB recipe" \
  "octoc: error: cannot read recipe '$tmp/huge.net': File too large" -- \
  timeout 60 "$OCTOC" --config "$tmp/huge.net" "$MODELS/mlp.net"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
