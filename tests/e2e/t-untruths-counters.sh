#!/bin/sh
# Issue 22, smaller untruths: skip --signature and retry --failed change the
# run's counters (n_failed, n_skipped, n_pending...: what status, the
# console header and metrics show) in the same transaction as the verdict,
# as docs/control.md promises; they followed up to a tick later. A busy
# worker keeps the runtime's loop turning, so a late tick is seen.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/d"
: >"$T/d/fail"
cat >"$T/c.yaml" <<YAML
name: counters
params: {dir: "$T/d"}
command: [sh, $ROOT/tests/e2e/specs/busy.sh]
partitions: {list: [busy, a1, a2, a3, b1, b2, b3]}
concurrency: 7
env: {DIR: "{dir}"}
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/c.yaml"
rt=$SPAWNED
wait_for "the six a and b partitions failed" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT n_failed FROM runs WHERE id = 1\")\" = 6"
# counters_match: the run's counters equal its rows, read in one snapshot.
counters_match() {
    sql "SELECT n_pending || ',' || n_running || ',' || n_failed || ',' || n_skipped || ' rows ' ||
        (SELECT count(*) FILTER (WHERE state = 'pending') || ',' || count(*) FILTER (WHERE state = 'running') || ','
         || count(*) FILTER (WHERE state = 'failed') || ',' || count(*) FILTER (WHERE state = 'skipped')
         FROM partitions WHERE run_id = 1) FROM runs WHERE id = 1"
}
sig_a=$(sql "SELECT last_signature FROM partitions WHERE run_id = 1 AND key = 'a1'")
like "skip --signature applied" "$(ns skip 1 --signature "$sig_a" --reason test)" "skip applied: skipped 3 partitions"
c=$(counters_match)
is "issue 22: skip --signature: the run's counters changed with the verdict" "${c% rows *}" "${c#* rows }"
like "three skipped, three failed" "$c" "^0,1,3,3 rows"
rm "$T/d/fail"
like "retry --failed applied" "$(ns retry 1 --failed)" "retry applied: retrying 3 partitions"
c=$(counters_match)
is "issue 22: retry --failed: the run's counters changed with the verdict" "${c% rows *}" "${c#* rows }"
like "none failed now" "$c" "^[0-9]+,[0-9]+,0,3 rows"
: >"$T/d/stop"
wait_for "the run ends" 20 pid_gone "$rt"
is "it succeeded but for the skipped" "$(sql "SELECT state || ' ' || n_succeeded || ' ' || n_skipped FROM runs WHERE id = 1")" "succeeded 4 3"
done_testing
