#!/bin/sh
# A random kill -9 loop (issue 10): the runtime is killed with SIGKILL
# KILL9_KILLS times (default 100; make soak: 2000) at random moments, each
# time rerun at once. When a run finishes, its invariants are checked (one
# recorded completion per partition, checkpoints only forward, never two
# live attempts, counters equal to the rows, error records exactly once,
# integrity_check ok, no worker left) and a new run in a new database
# begins. Never two live attempts is also checked after every kill.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/e2e/crash-lib.sh"
KILLS=${KILL9_KILLS:-100}
NPARTS=${KILL9_PARTS:-8} STEPS=${KILL9_STEPS:-6}
seed=${KILL9_SEED:-$$}
diag "seed $seed (KILL9_SEED=$seed reproduces the moments)"
kills=0 round=0 finished=0 overlaps=0
start=$(now_ms)
new_round() {
    round=$((round + 1))
    dir=$T/r$round
    mkdir -p "$dir"
    crash_spec "$dir" "$NPARTS" "$STEPS"
    db=$dir/ns.db
}
new_round
while [ "$kills" -lt "$KILLS" ]; do
    "$NIGHTSHIFT" run --db "$db" "$dir/crash.yaml" >>"$dir/out" 2>&1 </dev/null &
    rt=$!
    # 20..420 ms: awk's rand, seeded per kill.
    sleep "$(awk -v s="$seed" -v k="$kills" 'BEGIN { srand(s * 7919 + k); printf "%.3f", 0.02 + rand() * 0.4 }')"
    kill -9 "$rt" 2>/dev/null && kills=$((kills + 1))
    wait "$rt" 2>/dev/null
    n=$(cat "$dir/w/markers" 2>/dev/null | grep -c OVERLAP)
    [ "$n" -gt 0 ] && overlaps=$((overlaps + n)) && diag "round $round: $n overlapping attempts after kill $kills"
    if [ "$(sqlite3 "$db" "SELECT state FROM runs WHERE id = 1" 2>/dev/null)" = succeeded ]; then
        crash_invariants "$db" "$dir" "$NPARTS" "$STEPS" "run $round (finished between kills)"
        finished=$((finished + 1))
        new_round
    fi
done
# Finish the last run.
tries=0
while [ "$(sqlite3 "$db" "SELECT state FROM runs WHERE id = 1" 2>/dev/null)" != succeeded ] && [ "$tries" -lt 5 ]; do
    "$NIGHTSHIFT" run --db "$db" "$dir/crash.yaml" >>"$dir/out" 2>&1 </dev/null
    tries=$((tries + 1))
done
crash_invariants "$db" "$dir" "$NPARTS" "$STEPS" "run $round (finished after the last kill)"
secs=$((($(now_ms) - start) / 1000))
diag "$kills kills in ${secs}s over $round runs ($finished finished between kills)"
is "never two live attempts of one partition after any kill" "$overlaps" 0
check "all $KILLS kills landed" test "$kills" -eq "$KILLS"
done_testing
