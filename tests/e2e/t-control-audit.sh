#!/bin/sh
# audit: every command is a row with who (user, uid), when, what, state and
# the runtime's words; refusals are recorded too; against a run no runtime
# drives, pause is refused at once (and recorded) and retry is queued, then
# applied by the next `nightshift run`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

echo 3 >"$D/fail-a"
echo 3 >"$D/fail-b"
ns run "$SPECS/loop.yaml" -p dir="$D" -p steps=3 >"$T/run.out" 2>&1
is "run 1 exits 1 (a and b failed)" "$?" 1

t0=$(now_ms)
out=$(out_rc ns pause 1)
like "pause on the failed run: refused at once, it has ended, exit 1" "$out" "^nightshift: pause: run 1: pause refused: run 1 has ended \(failed\): nothing to pause \(\`nightshift run --retry-failed --db .* .*/loop.yaml -p dir=.* -p steps=3\` retries its failed partitions\) rc=1$"
check "without waiting for a verdict ($(($(now_ms) - t0)) ms)" test $(($(now_ms) - t0)) -lt 1000
like "resume too" "$(out_rc ns resume loop)" "run 1 has ended \(failed\): nothing to resume.* rc=1"
like "a job name works as RUN" "$(out_rc ns stop --now loop)" "run 1: stop refused.* rc=1"
rm "$D/fail-a" "$D/fail-b"
like "retry is queued" "$(out_rc ns retry loop a)" "^run 1: retry queued \(command 4\).* rc=0$"
like "--no-wait on a dead run still queues" "$(out_rc ns skip 1 b --reason 'not needed' --no-wait)" "skip queued.* rc=0"

is "5 command rows" "$(sql "SELECT count(*) FROM commands WHERE run_id = 1")" 5
is "the refusals are recorded, with the reason" "$(sql "SELECT group_concat(verb || ':' || state, ',') FROM commands WHERE run_id = 1 AND result LIKE 'run 1 has ended (failed): nothing to %'")" "pause:refused,resume:refused,stop:refused"
is "retry and skip are pending" "$(sql "SELECT group_concat(verb || ':' || state, ',') FROM commands WHERE run_id = 1 AND state = 'pending'")" "retry:pending,skip:pending"
me=$(id -un) uid=$(id -u)
is "every row names the user and uid" "$(sql "SELECT count(*) FROM commands WHERE user = '$me' AND uid = $uid AND source = 'cli' AND issued_at > 0")" 5

ns run "$SPECS/loop.yaml" -p dir="$D" -p steps=3 >"$T/rerun.out" 2>&1
is "the next run exits 0" "$?" 0
is "run 1 succeeded" "$(run_state 1)" succeeded
is "it applied both queued commands" "$(sql "SELECT group_concat(verb || ':' || state, ',') FROM commands WHERE run_id = 1 AND id >= 4")" "retry:applied,skip:applied"
is "b was skipped with the reason" "$(sql "SELECT state || ':' || skip_reason FROM partitions WHERE run_id = 1 AND key = 'b'")" "skipped:not needed"
is "every row has a state, a result and applied_at" "$(sql "SELECT count(*) FROM commands WHERE run_id = 1 AND state IN ('applied','refused') AND result <> '' AND applied_at >= issued_at")" 5

txt=$(ns audit 1)
is "audit exits 0" "$?" 0
like "audit has a header" "$txt" "^ID +ISSUED +USER\(UID\) +SOURCE +VERB +STATE +LATENCY"
like "audit shows the refused pause" "$txt" "^1 .* $me\($uid\) +cli +pause +refused .*run 1 has ended \\(failed\\): nothing to pause"
like "audit shows the applied retry with args" "$txt" "^4 .* retry +applied +[0-9.]+ms +\{\"partitions\":\[0\],\"from_scratch\":false\} -> retrying 1 partition"
json=$(ns audit loop --json | sed "s/'/''/g")
is "audit --json: schema 1, 5 commands" "$(sql "SELECT json_extract('$json', '\$.schema') || ' ' || json_array_length('$json', '\$.commands')")" "nightshift.audit/1 5"
is "with user, uid, verb, args as JSON, state, result" "$(sql "SELECT json_extract('$json', '\$.commands[4].user') || '|' || json_extract('$json', '\$.commands[4].uid') || '|' || json_extract('$json', '\$.commands[4].verb') || '|' || json_extract('$json', '\$.commands[4].args.reason') || '|' || json_extract('$json', '\$.commands[4].state')")" "$me|$uid|skip|not needed|applied"
check "latency_ms present for decided commands" test "$(sql "SELECT json_extract('$json', '\$.commands[3].latency_ms') >= 0")" = 1
is "--after pages" "$(ns audit 1 --json --after 3 --limit 1 | sed "s/'/''/g" | { read -r j; sql "SELECT json_extract('$j', '\$.commands[0].id')"; })" 4

# A live run: applied and refused commands, both audited.
mkdir -p "$T/d2"
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$T/d2"
rt=$SPAWNED
wait_for "run 2 running" 20 sql_true "SELECT count(*) = 2 FROM partitions WHERE run_id = 2 AND state = 'running'"
like "resume of a running run: applied, already running" "$(ns resume 2)" "resume applied: already running"
like "kill of a pending partition: refused by the runtime" "$(out_rc ns kill 2 f)" "kill refused: no running attempt .* rc=1"
like "retry of a running partition: refused" "$(out_rc ns retry 2 a)" "retry refused: nothing to retry: 0 is running rc=1"
ns stop --now 2 >/dev/null
wait_final 2 10
wait "$rt"
is "run 2's commands, all decided by its runtime" "$(sql "SELECT group_concat(verb || ':' || state, ',') FROM commands WHERE run_id = 2")" "resume:applied,kill:refused,retry:refused,stop:applied"
diag "run 2's command latencies (issued -> applied): max $(sql "SELECT round(max(applied_at - issued_at) * 1000) FROM commands WHERE run_id = 2") ms (measured, not asserted; see make bench)"
done_testing
