#!/bin/sh
# The small ones of issue 10 (item 8): on a read-only filesystem readers
# work and writers say "read-only"; reconcile events name an attempt by its
# number, not its row id; `errors RUN --partition 99999` is rejected like
# retry rejects it (exit 2). (`set concurrency=0` exiting 2: t-control-set.)
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
mkdir -p "$T/steer"

ns run "$SPECS/slow.yaml" -p pace=0 >"$T/run1.out" 2>&1
is "run 1 succeeds (attempt rows 1..4)" "$?" 0

ns errors 1 --partition 99999 >"$T/e.out" 2>&1
is "errors --partition 99999 exits 2" "$?" 2
like "it says there is no such partition" "$(cat "$T/e.out")" "^nightshift: errors: run 1 has no partition 99999"
ns retry 1 99999 >/dev/null 2>&1
is "as retry does (exit 2)" "$?" 2
ns errors 1 --partition 3 >/dev/null 2>&1
is "errors --partition 3 (an existing one) exits 0" "$?" 0

# Reconcile: attempt 1 of run 2's partitions have row ids 5 and 6.
spawn rt "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$T/steer"
rt=$SPAWNED
wait_for "two attempts of run 2 live" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE run_id = 2 AND outcome IS NULL AND pid > 0\" 2>/dev/null)\" = 2" ||
    bail_out "run 2 did not start"
kill -9 "$rt"
wait_for "the runtime is gone" 10 pid_gone "$rt"
touch "$T/steer/release-all"
ns run "$SPECS/loop.yaml" -p dir="$T/steer" >"$T/resume.out" 2>&1
is "the resumed run 2 succeeds" "$?" 0
ev=$(sql "SELECT group_concat(message, '|') FROM events WHERE run_id = 2 AND kind = 'reconcile' AND idx = 0")
like "the reconcile event names attempt 1 (its number)" "$ev" "^partition 0 \\[a\\]: attempt 1 runtime died"
check "not its row id ($(sql "SELECT id FROM attempts WHERE run_id = 2 AND idx = 0 AND n = 1"))" \
    sh -c "! printf '%s' '$ev' | grep -q 'attempt $(sql "SELECT id FROM attempts WHERE run_id = 2 AND idx = 0 AND n = 1") '"

# A read-only filesystem: a private mount namespace with the db dir bound
# read-only (unshare -r maps us to root in a user namespace).
dbdir=$(dirname "$NIGHTSHIFT_DB")
if unshare -rm sh -c "mount --bind '$dbdir' '$dbdir' && mount -o remount,ro,bind '$dbdir'" 2>/dev/null; then
    ro() { unshare -rm sh -c "mount --bind '$dbdir' '$dbdir' && mount -o remount,ro,bind '$dbdir' && exec \"\$@\"" sh "$@"; }
    ro "$NIGHTSHIFT" status --db "$NIGHTSHIFT_DB" 1 >"$T/ro-status.out" 2>&1
    is "status on a read-only filesystem exits 0" "$?" 0
    like "it shows the run" "$(cat "$T/ro-status.out")" "state +succeeded"
    ro "$NIGHTSHIFT" errors --db "$NIGHTSHIFT_DB" 1 >/dev/null 2>&1
    is "errors there exits 0" "$?" 0
    ro "$NIGHTSHIFT" retry --db "$NIGHTSHIFT_DB" 1 --failed >"$T/ro-retry.out" 2>&1
    is "retry there exits 3" "$?" 3
    like "it says read-only (not a schema version)" "$(cat "$T/ro-retry.out")" "on a read-only filesystem"
    ro "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/slow.yaml" -p pace=0 --rerun >"$T/ro-run.out" 2>&1
    is "run there exits 3" "$?" 3
    like "it says read-only" "$(cat "$T/ro-run.out")" "[Rr]ead-only file ?system"
    check "no message speaks of a schema version" sh -c "! grep -q 'schema version' '$T'/ro-*.out"
else
    diag "no user namespaces here: the read-only checks are skipped"
fi
done_testing
