#!/bin/sh
# retry (from the checkpoint, --from-scratch, --failed, against a finished
# run then `nightshift run`, --start), skip by error signature with a reason,
# and kill of a running attempt (outcome killed, counts as an attempt).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

sig() { sql "SELECT last_signature FROM partitions WHERE run_id = $1 AND key = '$2'"; }
pstate() { sql "SELECT state FROM partitions WHERE run_id = $1 AND key = '$2'"; }

# --- against a live runtime ----------------------------------------------------
echo kill >"$D/fail-e"
echo kill >"$D/fail-f"
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$D"
rt=$SPAWNED
wait_for "run 1 running" 20 sql_true "SELECT count(*) >= 1 FROM partitions WHERE run_id = 1 AND state = 'running'"
like "set concurrency=6" "$(ns set 1 concurrency=6)" "set applied: concurrency 2 -> 6"
wait_for "a, b, c past step 3 and e, f failed" 20 sql_true \
    "SELECT (SELECT count(*) FROM partitions WHERE run_id = 1 AND key IN ('a','b','c') AND progress >= 3 AND state = 'running') = 3 AND (SELECT count(*) FROM partitions WHERE run_id = 1 AND key IN ('e','f') AND state = 'failed') = 2"
echo 3 >"$D/fail-a"
echo 3 >"$D/fail-b"
echo kill >"$D/fail-c"
wait_for "a, b, c failed" 20 sql_true "SELECT count(*) = 3 FROM partitions WHERE run_id = 1 AND key IN ('a','b','c') AND state = 'failed'"
s_exit=$(sig 1 a) s_kill=$(sig 1 c)
diag "signatures: '$s_exit' and '$s_kill'"
check "two different signatures" test "$s_exit" != "$s_kill"
is "b has a's signature" "$(sig 1 b)" "$s_exit"
is "e and f have c's signature" "$(sig 1 e),$(sig 1 f)" "$s_kill,$s_kill"
cp_a=$(sql "SELECT CAST(checkpoint AS TEXT) FROM partitions WHERE run_id = 1 AND key = 'a'")
like "a failed past a checkpoint" "$cp_a" "^step=[0-9]+$"

rm "$D/fail-a" "$D/fail-b"
out=$(ns retry 1 a)
is "retry a exits 0" "$?" 0
like "retry a: from its checkpoint" "$out" "^run 1: retry applied: retrying 1 partition from its checkpoint$"
wait_for "a's attempt 2" 10 sql_true "SELECT count(*) = 1 FROM attempts WHERE run_id = 1 AND idx = 0 AND n = 2"
is "a's attempt 2 resumed from its checkpoint" "$(sql "SELECT CAST(resumed_from AS TEXT) FROM attempts WHERE run_id = 1 AND idx = 0 AND n = 2")" "$cp_a"
is "a's attempt budget was reset (1 of 2 used)" "$(sql "SELECT attempts || '/' || max_attempts FROM partitions WHERE run_id = 1 AND key = 'a'")" "1/2"

# Paused, so that b's new attempt cannot checkpoint before we look.
like "pause" "$(ns pause 1)" "pause applied"
like "retry b --from-scratch" "$(ns retry 1 b --from-scratch)" "retry applied: retrying 1 partition from scratch; the run is paused: resume it to dispatch them"
is "b is pending and its checkpoint is gone as soon as retry returns" "$(sql "SELECT state || ':' || (checkpoint IS NULL) FROM partitions WHERE run_id = 1 AND key = 'b'")" "pending:1"
like "resume" "$(ns resume 1)" "resume applied"
wait_for "b's attempt 2" 10 sql_true "SELECT count(*) = 1 FROM attempts WHERE run_id = 1 AND idx = 1 AND n = 2"
is "b's attempt 2 started afresh (resumed_from NULL)" "$(sql "SELECT resumed_from IS NULL FROM attempts WHERE run_id = 1 AND idx = 1 AND n = 2")" 1
wait_for "b's attempt 2 starts at step 0" 5 grep -q "^b 2 0$" "$D/starts"
ok "b's worker saw no checkpoint"

out=$(ns skip 1 --signature "$s_kill" --reason "poisoned shard")
is "skip --signature exits 0" "$?" 0
like "skip acts on the whole group" "$out" "skip applied: skipped 3 partitions"
is "c, e, f skipped" "$(pstate 1 c),$(pstate 1 e),$(pstate 1 f)" "skipped,skipped,skipped"
is "with the reason" "$(sql "SELECT group_concat(skip_reason, ',') FROM partitions WHERE run_id = 1 AND state = 'skipped'")" "poisoned shard,poisoned shard,poisoned shard"
like "retry of the same group now has nothing to do: refused, exit 1" "$(out_rc ns retry 1 --signature "$s_kill")" "refused.*rc=1"

is "d is still on attempt 1" "$(sql "SELECT attempts FROM partitions WHERE run_id = 1 AND key = 'd'")" 1
like "kill d" "$(ns kill 1 d)" "kill applied: ending 1 attempt .*counts as a failed attempt"
wait_for "d's attempt 1 ended" 10 sql_true "SELECT outcome IS NOT NULL FROM attempts WHERE run_id = 1 AND idx = 3 AND n = 1"
is "d's attempt 1 outcome is killed" "$(sql "SELECT outcome FROM attempts WHERE run_id = 1 AND idx = 3 AND n = 1")" killed
wait_for "d's attempt 2" 10 sql_true "SELECT count(*) = 1 FROM attempts WHERE run_id = 1 AND idx = 3 AND n = 2"
is "the kill used up an attempt: d is on 2 of 2" "$(sql "SELECT attempts || '/' || max_attempts FROM partitions WHERE run_id = 1 AND key = 'd'")" "2/2"
like "kill of a partition with nothing running is refused" "$(out_rc ns kill 1 c)" "refused: no running attempt.*rc=1"
like "retry of an unknown key is a usage error" "$(out_rc ns retry 1 zz)" "no partition with key \"zz\".*rc=2"

touch "$D/release-all"
wait_final 1 20
wait "$rt"
is "run 1 exits 0 (skipped partitions do not fail it)" "$?" 0
is "run 1 succeeded: 3 succeeded, 3 skipped" "$(sql "SELECT state, n_succeeded, n_skipped FROM runs WHERE id = 1")" "succeeded|3|3"

# --- against a finished, failed run: queued, then `nightshift run` -------------------
mkdir -p "$T/d2"
echo 3 >"$T/d2/fail-a"
echo 3 >"$T/d2/fail-b"
ns run "$SPECS/loop.yaml" -p dir="$T/d2" -p steps=3 >"$T/run2.out" 2>&1
is "run 2 exits 1" "$?" 1
is "a and b failed" "$(sql "SELECT group_concat(key) FROM partitions WHERE run_id = 2 AND state = 'failed'")" "a,b"
rm "$T/d2/fail-a" "$T/d2/fail-b"
out=$(ns retry 2 --failed)
is "retry --failed on a finished run exits 0" "$?" 0
like "it is queued, and says how to apply it" "$out" "^run 2: retry queued \(command [0-9]+\): no runtime: run \`nightshift run .*/loop.yaml -p dir=.*/d2 -p steps=3\` to apply it$"
is "the command is pending" "$(sql "SELECT state FROM commands WHERE run_id = 2 AND verb = 'retry'")" pending
ns run "$SPECS/loop.yaml" -p dir="$T/d2" -p steps=3 >"$T/run2b.out" 2>&1
is "running it again exits 0" "$?" 0
is "run 2 resumed and succeeded" "$(sql "SELECT count(*) FROM runs")|$(run_state 2)" "2|succeeded"
is "the retry was applied by that runtime" "$(sql "SELECT state FROM commands WHERE run_id = 2 AND verb = 'retry'")" applied
is "only a and b ran again" "$(sql "SELECT group_concat(key) FROM (SELECT p.key FROM partitions p WHERE p.run_id = 2 AND p.attempts_total = 2 ORDER BY p.idx)")" "a,b"
is "the others ran once" "$(sql "SELECT count(*) FROM partitions WHERE run_id = 2 AND attempts_total = 1")" 4

# --- retry --start: queue, then start the runtime in the background -------------
mkdir -p "$T/d3"
echo 4 >"$T/d3/fail-c"
ns run "$SPECS/loop.yaml" -p dir="$T/d3" -p steps=3 >"$T/run3.out" 2>&1
is "run 3 exits 1" "$?" 1
rm "$T/d3/fail-c"
out=$(ns retry 3 c --start)
is "retry --start exits 0" "$?" 0
like "it started the runtime" "$out" "run 3 started in the background"
like "and waited for the verdict" "$out" "run 3: retry applied: retrying 1 partition"
wait_final 3 20
is "run 3 succeeded" "$(run_state 3)" succeeded
is "c ran twice, the others once" "$(sql "SELECT group_concat(key || attempts_total) FROM partitions WHERE run_id = 3")" "a1,b1,c2,d1,e1,f1"
like "retry on a succeeded run is refused at once" "$(out_rc ns retry 3 a)" "the run succeeded.*rc=1"
done_testing
