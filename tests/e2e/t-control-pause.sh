#!/bin/sh
# pause / resume against a live runtime: the workers' process groups are
# really stopped (T in /proc/PID/stat), nothing new starts, progress freezes;
# resume continues them and the run completes. A paused attempt's timeout
# does not tick: a 2 s timeout survives a 3 s pause.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$D"
rt=$SPAWNED
wait_for "two attempts running with progress" 20 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 1 AND state = 'running' AND progress > 0"

out=$(ns pause 1)
is "pause exits 0" "$?" 0
like "pause says what it did" "$out" "^run 1: pause applied: paused; 2 workers stopped \(SIGSTOP\)$"
is "status --json says paused as soon as pause returns" "$(status_field 1 '$.state')" paused
is "both partitions are paused" "$(sql "SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'paused'")" 2
check "every process of both worker groups is stopped (T)" wait_for "workers stopped" 10 workers_all 1 '^T+$'
for p in $(live_pids 1); do
    is "worker $p: field 3 of /proc/$p/stat is T (or D in vfork with its child T)" "$(stopped_state "$p")" T
done

# While paused nothing moves, even with free slots: watch for one second.
ns set 1 concurrency=4 >/dev/null
attempts=$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")
progress=$(sql "SELECT sum(progress) FROM partitions WHERE run_id = 1")
stays_false 1 "no new attempt starts in 1 s while paused (concurrency raised to 4)" \
    sql_true "SELECT count(*) > $attempts FROM attempts WHERE run_id = 1"
is "progress did not move while paused" "$(sql "SELECT sum(progress) FROM partitions WHERE run_id = 1")" "$progress"
like "pausing again is harmless" "$(ns pause 1)" "already paused"

out=$(ns resume 1)
is "resume exits 0" "$?" 0
like "resume says resumed" "$out" "^run 1: resume applied: resumed$"
is "status --json says running" "$(status_field 1 '$.state')" running
check "the resumed workers run again (R or S)" wait_for "workers running" 10 workers_all 1 '^[RSD]+$'
wait_for "progress moves again" 10 sql_true "SELECT sum(progress) > $progress FROM partitions WHERE run_id = 1"
ok "progress moves again after resume"
wait_for "the raised concurrency dispatches 4 at once" 10 sql_true \
    "SELECT count(*) = 4 FROM attempts WHERE run_id = 1 AND outcome IS NULL"
touch "$D/release-all"
wait_final 1 20
wait "$rt"
is "the runtime exits 0" "$?" 0
is "the run succeeded" "$(run_state 1)" succeeded
is "every partition succeeded once" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome = 'succeeded'")" 6
is "no attempt failed" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome <> 'succeeded'")" 0
is "events record the pause and the resume" "$(sql "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'run_state' AND (message LIKE '%-> paused: paused by the operator' OR message LIKE '%paused -> running: resumed by the operator')")" 2
is "pause after the end is refused (no runtime), exit 1" "$(ns pause 1 >/dev/null 2>&1; echo $?)" 1

# Timeouts are frozen while paused: 15 steps of 0.1 s under a 2 s timeout,
# paused for 3 s in the middle, still succeed.
mkdir -p "$T/d2"
spawn runtime2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop-timeout.yaml" -p dir="$T/d2"
rt2=$SPAWNED
wait_for "run 2 started" 10 sql_true "SELECT count(*) = 1 FROM runs WHERE id = 2"
wait_for "both partitions past step 3" 10 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 2 AND progress >= 3"
like "pause run 2" "$(ns pause loop-timeout)" "pause applied: paused; 2 workers"
check "run 2's workers are stopped" wait_for "run 2 stopped" 10 workers_all 2 '^T+$'
paused_at=$(now_ms)
sleep 3 # the point of the test: longer than the 2 s timeout
like "resume run 2 after 3 s" "$(ns resume 2)" "resume applied"
check "the pause lasted over 2 s" test $(($(now_ms) - paused_at)) -ge 2900
wait_final 2 20
wait "$rt2"
is "run 2 exits 0" "$?" 0
is "run 2 succeeded" "$(run_state 2)" succeeded
is "no attempt timed out" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 2 AND outcome = 'timed_out'")" 0
check "the attempts lasted longer than the timeout in wall time" test "$(sql "SELECT min(duration) > 2.5 FROM attempts WHERE run_id = 2")" = 1
done_testing
