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
    is "issue 22: nightshift-protocol(7): mandoc -T lint is clean" \
        "$(mandoc -T lint "$ROOT/docs/nightshift-protocol.7" 2>&1)" ""
fi
# Issue 22: an installed user has no docs/ - the manuals say it all.
like "issue 22: nightshift(1) lists the console's keys, view by view" \
    "$(sed -n '/^The console.s keys/,/^\.SS/p' "$T/nightshift.1")" "^In a run \(its partitions, table or map\):"
like "  with the keys of its table (F10 Q: quit)" "$(cat "$T/nightshift.1")" "^  F10 Q +quit the console$"
like "  and sends to nightshift-protocol(7)" "$(cat "$T/nightshift.1")" "^\.BR nightshift\\\\-protocol \(7\),$"
like "issue 22: --help points at the manuals" "$("$NIGHTSHIFT" --help)" "nightshift-protocol\(7\) \(what a worker gets and reports\): man nightshift"
like "  and so does every command's" "$("$NIGHTSHIFT" status --help | tail -n 1)" "^More: man nightshift \(its status entry\)$"
for v in $(sed -n 's/^| `\(NIGHTSHIFT_[A-Z_]*\).*/\1/p' "$ROOT/docs/protocol.md"); do
    check "nightshift-protocol(7) names $v, as docs/protocol.md does" grep -q "$v" "$ROOT/docs/nightshift-protocol.7"
done
for p in total progress checkpoint error log; do
    check "nightshift-protocol(7) has the message $p" grep -q "^\.BI $p " "$ROOT/docs/nightshift-protocol.7"
done
done_testing
