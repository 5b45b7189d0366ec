#!/bin/sh
# A random kill -9 loop (issue 10): the runtime is killed with SIGKILL
# KILL9_KILLS times (default 100; make soak: 2000) at random moments, each
# time rerun at once. When a run finishes, its invariants are checked (one
# recorded completion per partition, checkpoints only forward, never two
# live attempts, counters equal to the rows, error records exactly once,
# integrity_check ok, no worker left) and a new run in a new database
# begins. Never two live attempts is also checked after every kill.
# Two neighbour runs of other jobs share the database of the round the
# whole time, their runtimes never killed (issue 18): as one finishes, its
# invariants are checked (the same, for its own run) and another starts, in
# the database of the round then current.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/crash-lib.sh"
KILLS=${KILL9_KILLS:-100}
NPARTS=${KILL9_PARTS:-8} STEPS=${KILL9_STEPS:-6}
seed=${KILL9_SEED:-$$}
diag "seed $seed (KILL9_SEED=$seed reproduces the moments)"
kills=0 round=0 finished=0 overlaps=0 neighbours=0
start=$(now_ms)
new_round() {
    round=$((round + 1))
    dir=$T/r$round
    mkdir -p "$dir"
    crash_spec "$dir" "$NPARTS" "$STEPS"
    db=$dir/ns.db
}
# neighbour_poll [start]: checks each neighbour slot whose runtime is gone
# and, with "start", begins the slot's next run in this round's database.
neighbour_poll() {
    for _s in 1 2; do
        _p= _job= _ndb=
        eval "_p=\${nb_pid$_s:-} _job=\${nb_job$_s:-} _ndb=\${nb_db$_s:-}"
        if [ -n "$_p" ]; then
            pid_gone "$_p" || continue
            wait "$_p" 2>/dev/null
            crash_invariants "$_ndb" "$(dirname "$_ndb")/$_job" "$NPARTS" "$STEPS" "neighbour $_job (never killed)" "$_job"
            eval "nb_pid$_s="
        fi
        [ "${1:-}" = start ] || continue
        neighbours=$((neighbours + 1))
        neighbour_start "n$neighbours" "$db" "$dir/n$neighbours" "$NPARTS" "$STEPS"
        eval "nb_pid$_s=\$SPAWNED nb_job$_s=n$neighbours nb_db$_s=\$db"
    done
}
new_round
while [ "$kills" -lt "$KILLS" ]; do
    neighbour_poll start
    "$NIGHTSHIFT" run --db "$db" "$dir/crash.yaml" >>"$dir/out" 2>&1 </dev/null &
    rt=$!
    # 20..420 ms: awk's rand, seeded per kill.
    sleep "$(awk -v s="$seed" -v k="$kills" 'BEGIN { srand(s * 7919 + k); printf "%.3f", 0.02 + rand() * 0.4 }')"
    kill -9 "$rt" 2>/dev/null && kills=$((kills + 1))
    wait "$rt" 2>/dev/null
    n=$(cat "$dir/w/markers" 2>/dev/null | grep -c OVERLAP)
    [ "$n" -gt 0 ] && overlaps=$((overlaps + n)) && diag "round $round: $n overlapping attempts after kill $kills"
    if [ "$(sqlite3 -cmd '.timeout 5000' "$db" "SELECT state FROM runs WHERE job = 'crash'" 2>/dev/null)" = succeeded ]; then
        crash_invariants "$db" "$dir" "$NPARTS" "$STEPS" "run $round (finished between kills)"
        finished=$((finished + 1))
        new_round
    fi
done
# Finish the last run.
tries=0
while [ "$(sqlite3 -cmd '.timeout 5000' "$db" "SELECT state FROM runs WHERE job = 'crash'" 2>/dev/null)" != succeeded ] && [ "$tries" -lt 5 ]; do
    "$NIGHTSHIFT" run --db "$db" "$dir/crash.yaml" >>"$dir/out" 2>&1 </dev/null
    tries=$((tries + 1))
done
crash_invariants "$db" "$dir" "$NPARTS" "$STEPS" "run $round (finished after the last kill)"
# The last neighbours finish on their own.
for s in 1 2; do
    eval "p=\${nb_pid$s:-}"
    [ -n "$p" ] && wait_for "neighbour runtime $p finishes" 60 pid_gone "$p"
done
neighbour_poll
secs=$((($(now_ms) - start) / 1000))
diag "$kills kills in ${secs}s over $round runs ($finished finished between kills), $neighbours neighbour runs beside them"
check "neighbours ran beside the kills" test "$neighbours" -ge 4
is "never two live attempts of one partition after any kill" "$overlaps" 0
check "all $KILLS kills landed" test "$kills" -eq "$KILLS"
done_testing
