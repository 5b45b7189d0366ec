#!/bin/sh
# Issue 22, smaller untruths: docs drift. store.md's version history must
# reach the schema the binary writes (it stopped at 2, then at 6); control.md
# named the status --json field `last_signature` (it is `signature`) and
# called `audit --json` an array (it is a nightshift.audit/1 object).
. "$(dirname "$0")/lib.sh"

cat >"$T/f.yaml" <<'YAML'
name: fails
shell: true
command: "echo 'disk full' >&2; exit 3"
partitions: {list: [a]}
YAML
ns run "$T/f.yaml" --quiet >/dev/null 2>&1
v=$(sql "PRAGMA user_version")
like "issue 22: store.md says the current schema version" "$(cat "$ROOT/docs/store.md")" "\\(currently $v\\)"
i=1
while [ "$i" -le "$v" ]; do
    check "issue 22: store.md's history has version $i" grep -q "^| $i | " "$ROOT/docs/store.md"
    i=$((i + 1))
done
check "issue 22: control.md no longer names last_signature as a status --json field" \
    sh -c "! grep -q 'json. (.last_signature' '$ROOT/docs/control.md'"
like "status --json gives each partition's signature" "$(ns status 1 --json)" '"signature":"exit 3: disk full"'
like "issue 22: audit --json is a nightshift.audit/1 object" "$(ns audit 1 --json)" '^\{"schema":"nightshift.audit/1","run_id":1,"commands":\['
check "  and control.md says so" grep -q 'nightshift.audit/1' "$ROOT/docs/control.md"
check "  and no longer calls it an array" sh -c "! grep -q 'json. prints one array' '$ROOT/docs/control.md'"
done_testing
