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
# Two neighbour runs of other jobs share each database, their runtimes never
# armed nor killed (issue 18): started before the armed runtime (for
# migrate.before, which needs a database not yet made, once it is gone),
# they succeed exactly once too, checked the same way for their own runs.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/crash-lib.sh"
NPARTS=3 STEPS=4
POINTS=${CRASHPOINTS:-"create.before create.after migrate.before migrate.after
    state.before state.after checkpoint.before checkpoint.after error.before error.after
    attempt_start.before attempt_start.after attempt_end.before attempt_end.after
    commit.before commit.after verdict.before verdict.after"}
HITS=${CRASHPOINT_HITS:-"1 3"} # make soak: 1 2 3 7
killed=0 reached=0 runs=0 neighbours=0
# neighbours_start DB: the two neighbours of this point/hit, on DB, in
# $dir/n1 and $dir/n2; their pids in n1_pid, n2_pid.
neighbours_start() {
    for _k in 1 2; do
        neighbour_start "n$_k" "$1" "$dir/n$_k" "$NPARTS" "$STEPS"
        eval "n${_k}_pid=\$SPAWNED"
        neighbours=$((neighbours + 1))
    done
}
neighbours_recorded() {
    [ "$(sqlite3 -cmd '.timeout 5000' "$1" "SELECT count(*) FROM runs WHERE job IN ('n1', 'n2')")" = 2 ]
}
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
        migrate.before) ;;
        *)
            neighbours_start "$db"
            # Their runs recorded: the database is made and they dispatch
            # while the armed runtime runs.
            wait_for "the neighbours' runs are recorded" 10 neighbours_recorded "$db"
            ;;
        esac
        case $point in
        verdict.*)
            # A run to queue a command for: killed after its first commit.
            rt "$db" "$dir/crash.yaml" commit.after:1
            "$NIGHTSHIFT" retry --db "$db" job:crash 0 >>"$dir/out" 2>&1
            "$NIGHTSHIFT" retry --db "$db" job:crash --failed >>"$dir/out" 2>&1
            rt "$db" "$dir/crash.yaml" "$point:$n"
            ;;
        *)
            rt "$db" "$dir/crash.yaml" "$point:$n"
            ;;
        esac
        first=$rc
        [ "$point" = migrate.before ] && neighbours_start "$db"
        if [ "$rc" -eq 137 ]; then
            killed=$((killed + 1))
            # Recovery, killed while it ends what the dead runtime left.
            "$NIGHTSHIFT" retry --db "$db" job:crash --failed >>"$dir/out" 2>&1
            rt "$db" "$dir/crash.yaml" attempt_end.before:1
        fi
        tries=0
        while [ "$(sqlite3 -cmd '.timeout 5000' "$db" "SELECT state FROM runs WHERE job = 'crash'" 2>/dev/null)" != succeeded ] && [ "$tries" -lt 4 ]; do
            rt "$db" "$dir/crash.yaml" ""
            tries=$((tries + 1))
        done
        crash_invariants "$db" "$dir" "$NPARTS" "$STEPS" "$point:$n (exit $first)"
        for k in 1 2; do
            eval "p=\$n${k}_pid"
            wait_for "neighbour $k of $point:$n finishes" 60 pid_gone "$p"
            wait "$p" 2>/dev/null
            crash_invariants "$db" "$dir/n$k" "$NPARTS" "$STEPS" "$point:$n, neighbour $k (never armed)" "n$k"
        done
    done
done
diag "$killed kills at a crash point out of $(echo $POINTS | wc -w) points x $(echo $HITS | wc -w) hits; $runs runtimes started, $neighbours neighbours beside them"
check "most point/hit pairs were reached" test "$killed" -ge $(($(echo $POINTS | wc -w) * $(echo $HITS | wc -w) * 2 / 3))
done_testing
