#!/bin/sh
# Crash points at every persistence step (issue 10): for each named point of
# the journal and the store (NIGHTSHIFT_CRASHPOINT=NAME:N, docs/cli.md) and
# its 1st and 3rd hit (CRASHPOINT_HITS; make soak adds more), the runtime
# is killed there (SIGKILL, as kill -9);
# then a rerun is itself killed during recovery (when it ends the orphaned
# attempts), with an operator command queued; then reruns finish the run.
# After each: one recorded completion per partition, checkpoints only
# forward, never two live attempts, counters equal to the rows, error
# records exactly once, no pending command, integrity_check ok, no worker left.
# The verdict points are reached by queueing a command before the rerun.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/crash-lib.sh"
NPARTS=3 STEPS=4
POINTS=${CRASHPOINTS:-"create.before create.after migrate.before migrate.after
    state.before state.after checkpoint.before checkpoint.after error.before error.after
    attempt_start.before attempt_start.after attempt_end.before attempt_end.after
    commit.before commit.after verdict.before verdict.after"}
HITS=${CRASHPOINT_HITS:-"1 3"} # make soak: 1 2 3 7
killed=0 reached=0 runs=0
# rt DB SPEC POINT: one runtime, maybe armed; sets rc.
rt() {
    runs=$((runs + 1))
    NIGHTSHIFT_CRASHPOINT=$3 "$NIGHTSHIFT" run --db "$1" "$2" >>"$dir/out" 2>&1 </dev/null
    rc=$?
}
for point in $POINTS; do
    for n in $HITS; do
        dir=$T/$point-$n
        mkdir -p "$dir"
        crash_spec "$dir" "$NPARTS" "$STEPS"
        db=$dir/ns.db
        case $point in
        verdict.*)
            # A run to queue a command for: killed after its first commit.
            rt "$db" "$dir/crash.yaml" commit.after:1
            "$NIGHTSHIFT" retry --db "$db" 1 0 >>"$dir/out" 2>&1
            "$NIGHTSHIFT" retry --db "$db" 1 --failed >>"$dir/out" 2>&1
            rt "$db" "$dir/crash.yaml" "$point:$n"
            ;;
        *)
            rt "$db" "$dir/crash.yaml" "$point:$n"
            ;;
        esac
        first=$rc
        if [ "$rc" -eq 137 ]; then
            killed=$((killed + 1))
            # Recovery, killed while it ends what the dead runtime left.
            "$NIGHTSHIFT" retry --db "$db" 1 --failed >>"$dir/out" 2>&1
            rt "$db" "$dir/crash.yaml" attempt_end.before:1
        fi
        tries=0
        while [ "$(sqlite3 "$db" "SELECT state FROM runs WHERE id = 1" 2>/dev/null)" != succeeded ] && [ "$tries" -lt 4 ]; do
            rt "$db" "$dir/crash.yaml" ""
            tries=$((tries + 1))
        done
        crash_invariants "$db" "$dir" "$NPARTS" "$STEPS" "$point:$n (exit $first)"
    done
done
diag "$killed kills at a crash point out of $(echo $POINTS | wc -w) points x $(echo $HITS | wc -w) hits; $runs runtimes started"
check "most point/hit pairs were reached" test "$killed" -ge $(($(echo $POINTS | wc -w) * $(echo $HITS | wc -w) * 2 / 3))
done_testing
