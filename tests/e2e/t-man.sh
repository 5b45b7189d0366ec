#!/bin/sh
# nightshift(1) is made from the command table (`nightshift _man`, as
# nightshift-spec(5) is from the spec's key table): the checked-in
# docs/nightshift.1 must be what the binary writes, so the manual cannot
# drift from the parser. Regenerate with: nightshift _man > docs/nightshift.1
. "$(dirname "$0")/lib.sh"

"$NIGHTSHIFT" _man >"$T/nightshift.1"
is "_man exits 0" "$?" 0
if cmp -s "$T/nightshift.1" "$ROOT/docs/nightshift.1"; then
    ok "docs/nightshift.1 is what \`nightshift _man\` writes"
else
    fail "docs/nightshift.1 is stale: run \`nightshift _man > docs/nightshift.1\`"
    diff "$ROOT/docs/nightshift.1" "$T/nightshift.1" | head -20 | sed 's/^/# /'
fi
for c in $("$NIGHTSHIFT" --help | awk '/^  [a-z]/ { print $1 }'); do
    for o in $("$NIGHTSHIFT" _complete 2 nightshift "$c" -- | sed -n 's/^--//p'); do
        case $o in help | version) continue ;; esac
        check "$c --$o is in the manual" grep -q "^\\.B \\(\\\\-.*, \\)\\{0,1\\}\\\\-\\\\-$(echo "$o" | sed 's/-/\\\\-/g')\\( \\|\$\\)" "$T/nightshift.1"
    done
done
if command -v mandoc >/dev/null 2>&1; then
    is "mandoc -T lint is clean" "$(mandoc -T lint "$T/nightshift.1" 2>&1)" ""
fi
done_testing
