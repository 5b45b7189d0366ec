#!/bin/sh
# stop: graceful (SIGTERM, the workers end, checkpoints kept, state stopped,
# nothing of the run left, a later run resumes from the checkpoints), stop
# --now (SIGKILL at once), and the runtime's own SIGINT: graceful the first
# time, immediate the second.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

# --- graceful stop ---------------------------------------------------------
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$D"
rt=$SPAWNED
wait_for "two attempts past a checkpoint" 20 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 1 AND state = 'running' AND checkpoint IS NOT NULL"
pids=$(live_pids 1)
out=$(ns stop 1)
is "stop exits 0" "$?" 0
like "stop says it stops gracefully" "$out" "^run 1: stop applied: stopping gracefully; 2 workers signalled$"
wait_final 1 10
wait "$rt"
is "the runtime exits 4 (stopped)" "$?" 4
is "the run is stopped" "$(run_state 1)" stopped
is "status --json agrees" "$(status_field 1 '$.state')" stopped
for p in $pids; do
    check "worker $p and its group are gone" sh -c "! kill -0 -- -$p 2>/dev/null"
done
is "the stopped attempts are interrupted (not counted)" "$(sql "SELECT group_concat(outcome) FROM attempts WHERE run_id = 1")" "interrupted,interrupted"
is "no attempt is left live" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome IS NULL")" 0
cps=$(sql "SELECT idx || ':' || CAST(checkpoint AS TEXT) FROM partitions WHERE run_id = 1 AND checkpoint IS NOT NULL ORDER BY idx")
is "both checkpoints are kept" "$(echo "$cps" | grep -c 'step=')" 2
is "their partitions are pending again" "$(sql "SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'pending'")" 6
is "their attempt budgets are intact" "$(sql "SELECT sum(attempts) FROM partitions WHERE run_id = 1")" 0

touch "$D/release-all"
ns run "$SPECS/loop.yaml" -p dir="$D" >"$T/rerun.out" 2>&1
is "a later run exits 0" "$?" 0
is "it resumed run 1" "$(sql "SELECT count(*) FROM runs")" 1
is "run 1 succeeded" "$(run_state 1)" succeeded
for c in $cps; do
    idx=${c%%:*} cp=${c#*:}
    is "partition $idx resumed from its checkpoint $cp" "$(sql "SELECT CAST(resumed_from AS TEXT) FROM attempts WHERE run_id = 1 AND idx = $idx AND n = 2")" "$cp"
done

# --- stop --now --------------------------------------------------------------
mkdir -p "$T/d2"
touch "$T/d2/ignore-term" # SIGTERM would not end them: --now must not need it
spawn runtime2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$T/d2"
rt=$SPAWNED
wait_for "run 2: two attempts running" 20 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 2 AND state = 'running' AND progress > 0"
pids=$(live_pids 2)
t0=$(now_ms)
like "stop --now" "$(ns stop --now 2)" "^run 2: stop applied: stopping now; 2 workers signalled$"
wait_final 2 10
wait "$rt"
is "the runtime exits 4" "$?" 4
check "stop --now took well under stop_grace (2 s): $(($(now_ms) - t0)) ms" test $(($(now_ms) - t0)) -lt 1500
is "run 2 is stopped" "$(run_state 2)" stopped
is "its workers died of SIGKILL" "$(sql "SELECT group_concat(signal) FROM attempts WHERE run_id = 2")" "9,9"
for p in $pids; do
    check "worker $p and its group are gone" sh -c "! kill -0 -- -$p 2>/dev/null"
done
# issue 22 (a small item): it says the run is already stopped, and how to
# resume it - not "start it", as if it had been left running.
like "stop on a stopped run: already stopped" "$(ns stop 2 2>&1)" "stop refused: run 2 is already stopped \(\`nightshift run --db .*\` resumes it\)$"

# --- SIGINT to the runtime: graceful, then immediate ----------------------------
mkdir -p "$T/d3"
touch "$T/d3/ignore-term"
spawn runtime3 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$T/d3"
rt=$SPAWNED
wait_for "run 3: two attempts running" 20 sql_true \
    "SELECT count(*) = 2 FROM partitions WHERE run_id = 3 AND state = 'running' AND progress > 0"
pids=$(live_pids 3)
kill -INT "$rt"
wait_for "run 3 stopping after one SIGINT" 5 sql_is "SELECT state FROM runs WHERE id = 3" stopping
ok "one SIGINT: the run is stopping"
for p in $pids; do
    check "worker $p ignores SIGTERM and still lives (graceful: it has stop_grace)" kill -0 "$p"
done
t0=$(now_ms)
kill -INT "$rt"
wait_final 3 10
wait "$rt"
is "the runtime exits 4" "$?" 4
check "a second SIGINT ends it at once: $(($(now_ms) - t0)) ms (stop_grace is 2 s)" test $(($(now_ms) - t0)) -lt 1500
is "run 3 is stopped" "$(run_state 3)" stopped
is "its workers died of SIGKILL" "$(sql "SELECT group_concat(signal) FROM attempts WHERE run_id = 3")" "9,9"
like "events say graceful, then now" "$(sql "SELECT group_concat(message, ' | ') FROM events WHERE run_id = 3 AND kind = 'signal'")" "stopping gracefully.*stopping now"
for p in $pids; do
    check "worker $p and its group are gone" sh -c "! kill -0 -- -$p 2>/dev/null"
done
done_testing
