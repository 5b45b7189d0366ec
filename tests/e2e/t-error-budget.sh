#!/bin/sh
# halt_when: crossing the failed-partitions limit halts the run (no new
# dispatch, running attempts finish, an event names the limit, on_halt runs)
# until an operator resumes it; the error-record limit does the same.
. "$(dirname "$0")/lib.sh"

cat >"$T/budget.yaml" <<YAML
name: budget
params: {hooks: "$T/hooks"}
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "2", "0.05", k1, k2, k3, k4, k5]
partitions: {list: [k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11]}
concurrency: 2
on_exit: {2: fail}
halt_when: {failed_partitions: 3}
hooks:
  on_halt: [sh, -c, 'mkdir -p "\$0" && env | grep ^NIGHTSHIFT_ | sort > "\$0/halt.env"', "{hooks}"]
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/budget.yaml"
wait_for "the run halts" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM runs\" 2>/dev/null)\" = halted"
like "the halt event names the limit" "$(sql "SELECT message FROM events WHERE kind = 'halt'")" "failed partitions: 3, limit 3"
wait_for "running attempts finish" 10 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE outcome IS NULL\")\" = 0"
halt_at=$(sql "SELECT min(at) FROM events WHERE kind = 'halt'")
is "nothing was dispatched after the halt" "$(sql "SELECT count(*) FROM attempts WHERE started_at > $halt_at")" 0
check "work is left pending" test "$(sql "SELECT n_pending FROM runs")" -gt 0
wait_for "on_halt ran with the run's figures" 10 test -s "$T/hooks/halt.env"
like "on_halt saw the state" "$(cat "$T/hooks/halt.env")" "NIGHTSHIFT_RUN_STATE=halted"
like "on_halt saw the counts" "$(cat "$T/hooks/halt.env")" "NIGHTSHIFT_FAILED=3"
check "the runtime waits for the operator" kill -0 "$SPAWNED"

ns resume 1 >"$T/resume.out" 2>&1
is "resume is applied" "$?" 0
wait_for "the resumed run halts again at the next failure, then is stopped" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM events WHERE kind = 'halt'\")\" = 2"
ns stop 1 >/dev/null 2>&1
wait_for "the runtime exits after stop" 20 sh -c "! kill -0 $SPAWNED 2>/dev/null"
is "the run is stopped" "$(sql "SELECT state FROM runs")" stopped

# Error records: a count limit.
cat >"$T/errs.yaml" <<YAML
name: errs
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "10", "0.02"]
env: {ERRORS_PER_STEP: "1"}
partitions: {list: [a, b, c, d, e, f]}
concurrency: 1
halt_when: {error_records: 25}
YAML
spawn runtime2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/errs.yaml"
wait_for "the error budget halts run 2" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM runs WHERE id = 2\")\" = halted"
like "the event names the error-record limit" "$(sql "SELECT message FROM events WHERE run_id = 2 AND kind = 'halt'")" "error records: [0-9]+, limit 25"
ns stop --now 2 >/dev/null 2>&1
wait_for "runtime 2 exits" 20 sh -c "! kill -0 $SPAWNED 2>/dev/null"
done_testing
