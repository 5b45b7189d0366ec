#!/bin/sh
# SLA: with the clock placed 12 s before the deadline (NIGHTSHIFT_TEST_NOW),
# a run that needs ~20 s is flagged at_risk BEFORE the deadline, on_sla_risk
# runs once, then the miss is recorded. Hooks: on_success/on_failure get the
# run's figures; a failing hook and a hanging hook (killed at hooks.timeout)
# neither block nor fail the run.
. "$(dirname "$0")/lib.sh"

export TZ=UTC
start=$(date -u -d "$(date -u +%Y-%m-%d) 05:59:48" +%s)
cat >"$T/sla.yaml" <<YAML
name: sla
params: {hooks: "$T/hooks"}
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "5", "0.2"]
partitions: {range: {start: 1, end: 20}}
concurrency: 1
sla: {deadline: "06:00"}
hooks:
  on_sla_risk: [sh, -c, 'mkdir -p "\$0" && env | grep ^NIGHTSHIFT_ | sort >> "\$0/risk.env"', "{hooks}"]
YAML
NIGHTSHIFT_TEST_NOW=$start spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/sla.yaml"
deadline=$((start + 12))
wait_for "the run is flagged at risk" 15 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT sla_state FROM runs\")\" = at_risk"
is "the deadline is the next 06:00 after the start" "$(sql "SELECT cast(sla_deadline AS int) FROM runs")" "$deadline"
risk_at=$(sql "SELECT cast(min(at) AS int) FROM events WHERE kind = 'sla' AND message LIKE 'SLA at risk%'")
check "at risk was flagged before the deadline ($risk_at < $deadline)" test "$risk_at" -lt "$deadline"
wait_for "on_sla_risk ran" 10 test -s "$T/hooks/risk.env"
like "the hook saw the SLA state" "$(cat "$T/hooks/risk.env")" "NIGHTSHIFT_SLA_STATE=at_risk"
wait_for "then the miss is recorded" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT sla_state FROM runs\")\" = missed"
like "status shows the SLA state" "$(ns status 1)" "SLA +missed"
kill -TERM "$SPAWNED"
wait_for "the runtime stops on SIGTERM" 20 sh -c "! kill -0 $SPAWNED 2>/dev/null"
is "on_sla_risk ran once" "$(grep -c NIGHTSHIFT_HOOK=on_sla_risk "$T/hooks/risk.env")" 1

# Hooks at the end of a run: one fails, one hangs past its timeout.
cat >"$T/hooks.yaml" <<YAML
name: hooks
params: {hooks: "$T/hooks", broken: "none"}
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "1", "0", "{broken}"]
partitions: {list: [a, b, c]}
on_exit: {2: fail}
hooks:
  on_success: [sh, -c, 'env | grep ^NIGHTSHIFT_ | sort > "\$0/success.env"; echo done; exit 3', "{hooks}"]
  on_failure: [sh, -c, 'env | grep ^NIGHTSHIFT_ | sort > "\$0/failure.env"; exec sleep 100', "{hooks}"]
  timeout: 1s
YAML
ns run "$T/hooks.yaml" >"$T/ok.out" 2>&1
is "the run succeeds although its hook exits 3" "$?" 0
like "on_success saw the figures" "$(cat "$T/hooks/success.env")" "NIGHTSHIFT_SUCCEEDED=3"
like "the hook's exit and output are recorded" "$(sql "SELECT message FROM events WHERE kind = 'hook' AND message LIKE '%on_success exited%'")" "on_success exited 3 .*output: done"
t0=$(now_ms)
ns run "$T/hooks.yaml" -p broken=b >"$T/fail.out" 2>&1
rc=$? t1=$(now_ms)
is "the failed run exits 1" "$rc" 1
check "a hanging on_failure hook holds the runtime at most its timeout (took $((t1 - t0)) ms)" test $((t1 - t0)) -lt 5000
like "on_failure saw the failure" "$(cat "$T/hooks/failure.env")" "NIGHTSHIFT_FAILED=1"
like "the hang is recorded as a timeout" "$(sql "SELECT message FROM events WHERE kind = 'hook' AND message LIKE '%on_failure%timed out%'")" "timed out after"
done_testing
