#!/bin/sh
# issue 22 item 5: the SLA does not cry wolf. A demo-like run whose first
# seconds look slow (three long partitions, then many quick ones) finishes
# well inside its SLA: no projection before there is evidence, risk must
# hold a while, so the only SLA event is "met" and on_sla_risk never runs
# (the events are counted). A run that starts after its deadline's time of
# day is flagged at once, not given until tomorrow.
. "$(dirname "$0")/lib.sh"

export TZ=UTC
cat >"$T/flap.yaml" <<YAML
name: flap
command: [sh, -c, 'if [ "\$NIGHTSHIFT_PARTITION" -lt 3 ]; then exec sh "\$0" 10 0.4; else exec sh "\$0" 1 0.1; fi',
          $ROOT/tests/e2e/specs/steady.sh]
partitions: {range: {start: 1, end: 40}}
concurrency: 3
sla: {max_duration: 30s}
hooks:
  on_sla_risk: [sh, -c, 'echo risk >> "\$0"', "$T/risk.log"]
YAML
ns run "$T/flap.yaml" >"$T/flap.out" 2>&1
is "the run succeeds" "$?" 0
sla=$(sql "SELECT message FROM events WHERE kind = 'sla' ORDER BY id")
diag "SLA events: $(echo $sla)"
is "one SLA event: met (no at-risk, no back-on-track flips)" "$(sql "SELECT count(*) FROM events WHERE kind = 'sla'")" 1
like "and it is the met" "$sla" "^SLA met: finished"
check "on_sla_risk never ran" test ! -e "$T/risk.log"
is "the SLA state is met" "$(sql "SELECT sla_state FROM runs WHERE job = 'flap'")" met

# A start at 06:30 for a 06:00 deadline is late: missed at once.
cat >"$T/late.yaml" <<YAML
name: late
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "1", "0"]
partitions: {list: [a, b]}
sla: {deadline: "06:00"}
YAML
start=$(date -u -d "$(date -u +%Y-%m-%d) 06:30:00" +%s)
NIGHTSHIFT_TEST_NOW=$start ns run "$T/late.yaml" >"$T/late.out" 2>&1
is "the late run itself succeeds" "$?" 0
is "its deadline is today's 06:00, already passed" "$(sql "SELECT cast(sla_deadline AS int) FROM runs WHERE job = 'late'")" $((start - 1800))
is "the SLA is missed" "$(sql "SELECT sla_state FROM runs WHERE job = 'late'")" missed
like "an event says it started after its deadline" \
    "$(sql "SELECT message FROM events e JOIN runs r ON r.id = e.run_id WHERE r.job = 'late' AND e.kind = 'sla' ORDER BY e.id LIMIT 1")" \
    "^SLA missed: the run started .* 06:30:00, after its deadline .* 06:00:00$"
done_testing
