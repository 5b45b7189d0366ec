#!/bin/sh
# Valid figures never overflow (issue 18, item 4). A partition may report
# counts up to 10^15 (docs/protocol.md); a larger one is a malformed line,
# recorded, never added. Ten partitions at the bound sum to 10^16 exactly in
# status --json; summary and metrics count every attempt (SQLite's sum()
# overflow used to be swallowed, dropping outcomes).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/specs"
cat >"$T/specs/big.yaml" <<'EOS'
name: big
command: [sh, -c, 'echo "total 1000000000000000" >&3; echo "progress 1000000000000000" >&3; [ "$NIGHTSHIFT_PARTITION" = 0 ] && echo "progress 9223372036854775807" >&3; exit 0']
partitions: {range: {start: 0, end: 9}}
concurrency: 4
EOS
ns run "$T/specs/big.yaml" >"$T/run.out" 2>&1
is "the run exits 0" "$?" 0
json=$(ns status 1 --json)
like "records done sum to 10^16 exactly" "$json" '"records_done": ?10000000000000000[,}]'
like "records announced too" "$json" '"records_total": ?10000000000000000[,}]'
is "no figure is negative" "$(printf '%s' "$json" | grep -c -- ': *-[0-9]')" 0
is "partition 0's progress stayed at the bound" "$(sql "SELECT progress FROM partitions WHERE idx = 0")" 1000000000000000
like "the count over the bound is a recorded malformed line" \
    "$(sql "SELECT message FROM events WHERE kind = 'protocol' LIMIT 1")" \
    "9223372036854775807 is over 1000000000000000"
like "summary counts all 10 attempts" "$(ns summary 1)" "^attempts +10, of which 0 retries"
like "metrics count all 10 succeeded attempts" "$(ns metrics 1)" 'nightshift_attempts_total\{[^}]*outcome="succeeded"[^}]*\} 10'
done_testing
