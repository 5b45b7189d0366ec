#!/bin/sh
# t-blocked.sh - why nothing runs (issue 18 item 9): when the run's executor
# says every waiting task is kept from running (a Slurm node drained), the
# console's run header says so beside the counts, as `status` does, while a
# runtime drives the run; once the reason is cleared, it says nothing. A
# live local run stands in for the Slurm one: the reason is written into its
# row as its runtime would (runs.blocked_reason; tests/e2e/t-slurm-env.sh
# drains a real Slurm node), so this needs no Slurm.
. "$(dirname "$0")/lib.sh"

cat >"$T/waits.yaml" <<EOS
name: waits
command: [sleep, "120"]
partitions: {list: [a]}
EOS
spawn run "$NIGHTSHIFT" run "$T/waits.yaml" --db "$NIGHTSHIFT_DB"
# After its start (a runtime forgets what blocked the run before it).
wait_for "the run's attempt starts" 15 sql_is "select count(*) from attempts" 1 || bail_out "no attempt"
sql "UPDATE runs SET executor = 'slurm', blocked_reason = 'node vm drained: test-drain'"

like "status says it under the counts" "$(ns status 1 | grep -A1 '^partitions')" \
    '^ +nothing runs: node vm drained: test-drain \(slurm\)$'
like "status --json has it" "$(ns status 1 --json)" '"blocked_reason":"node vm drained: test-drain"'

console_start 120 30 1
wait_screen "the run view" 5 '^Runs > run 1 waits'
wait_screen "the header says why nothing runs, beside the runtime" 5 \
    '^runtime pid [0-9]+  nothing runs: node vm drained: test-drain  elapsed '
sql "UPDATE runs SET blocked_reason = NULL"
wait_screen_not "once cleared, the header says nothing of it" 5 'nothing runs'
like "and status neither" "$(ns status 1 --json)" '"blocked_reason":null'
keys Q
wait_for "the console exits" 5 console_exited
done_testing
