#!/bin/sh
# Run windows (issue 19): `window: {start, end, on_close}` with the test
# clock (NIGHTSHIFT_TEST_NOW) placed seconds before the window changes.
#   1. a window that opens 3 s from now: nothing starts before it opens,
#      status says it waits for the window, then everything runs;
#   2. on_close: drain: nothing starts after the close, the runtime waits;
#      kill -9 it and restart it outside the window: nothing starts;
#      resume is refused without --force, and --force (audited) starts the
#      rest;
#   3. on_close: pause: the running worker is paused at the close.
. "$(dirname "$0")/lib.sh"
TZ=UTC
export TZ
day=$(date -u -d '2026-12-06 00:00:00' +%s)
at() { echo $((day + $1 * 3600 + $2 * 60 + $3)); } # at HH MM SS: epoch seconds that day

# spec NAME PARTITIONS SECONDS ON_CLOSE
spec() {
    cat >"$T/$1.yaml" <<EOS
name: $1
command: [sleep, "$3"]
partitions: {range: {start: 1, end: $2}}
concurrency: 2
window: {start: "22:00", end: "23:00", on_close: $4, tz: UTC}
EOS
}
reason() { sql "SELECT coalesce(state_reason, '') FROM runs WHERE job = '$1'"; }

# --- 1. a window that opens shortly --------------------------------------------
spec opens 4 0.3 drain
open=$(at 22 0 0)
NIGHTSHIFT_TEST_NOW=$((open - 3)) spawn opens "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/opens.yaml"
wait_for "the run is recorded" 10 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM runs WHERE job = 'opens'\" 2>/dev/null)\" = 1 ]"
wait_for "it says it waits" 10 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT state_reason FROM runs WHERE job = 'opens'\" | grep -q 'waiting for window'"
like "status says it waits for its window" "$(ns status opens)" "running \(waiting for window \(opens 22:00\)\)"
is "nothing started yet" "$(sql "SELECT count(*) FROM attempts")" 0
wait_for "the run ends" 20 sh -c "! kill -0 $SPAWNED 2>/dev/null"
is "the run succeeded" "$(sql "SELECT state FROM runs WHERE job = 'opens'")" succeeded
is "nothing started before the window opened" "$(sql "SELECT count(*) FROM attempts WHERE started_at < $open")" 0
is "4 attempts, all after it opened" "$(sql "SELECT count(*) FROM attempts WHERE started_at >= $open")" 4
check "the summary counts the ~3 s outside the window apart" \
    awk -v s="$(NIGHTSHIFT_TEST_NOW=$open ns summary opens --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["waited"]["window_seconds"])')" 'BEGIN { exit !(s >= 2.5 && s < 4) }'

# The two slots were free and held by the window from the start: the two
# attempts that took them at the open carry the ~3 s (the report's timeline
# shades it); the next two started as slots freed, held by nothing.
is "the first two attempts were held ~3 s by the window, the others not" \
    "$(sql "SELECT count(*) FROM attempts WHERE waited_for = 'window' AND waited_s >= 2.5 AND waited_s < 4"),$(sql "SELECT count(*) FROM attempts WHERE waited_for IS NULL")" 2,2

# --- 2. drain at the close, kill -9, restart outside --------------------------
spec drains 8 1 drain
close=$(at 23 0 0)
NIGHTSHIFT_TEST_NOW=$((close - 2)) spawn drains "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/drains.yaml"
rt=$SPAWNED
run=$(wait_for "the run is recorded" 10 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT id FROM runs WHERE job = 'drains'\" | grep -q ." && sql "SELECT id FROM runs WHERE job = 'drains'")
wait_for "the window closes and the run drains" 10 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT state_reason FROM runs WHERE id = $run\" | grep -q 'waiting for window'"
wait_for "the running attempts finish" 10 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE run_id = $run AND outcome IS NULL\")\" = 0 ]"
sleep 1
before=$(sql "SELECT count(*) FROM attempts WHERE run_id = $run")
diag "$before attempts started before the close"
check "some ran before the close" test "$before" -ge 2
is "nothing started after the close" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run AND started_at >= $close")" 0
is "the attempts that ran succeeded" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run AND outcome = 'succeeded'")" "$before"
check "the runtime waits for the window (alive)" kill -0 "$rt"
# Left at the close: the partitions not finished then (those still running drained after).
like "the run is running, waiting for the window, with what was left" "$(sql "SELECT state || ': ' || state_reason FROM runs WHERE id = $run")" \
    "^running: waiting for window \(opens 22:00\): window closed at 23:00 with [0-9]+ partitions left$"
left=$(sql "SELECT state_reason FROM runs WHERE id = $run" | sed 's/.* with \([0-9]*\) partitions left/\1/')
check "as many as were not finished at the close ($left, $before started)" test "$left" -ge $((8 - before)) -a "$left" -le 8
like "the morning summary says it too" "$(ns summary drains)" "window closed at 23:00 with $left partitions left"

kill -9 "$rt"
wait_for "the runtime is gone" 5 pid_gone "$rt"
NIGHTSHIFT_TEST_NOW=$((close + 5)) spawn again "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/drains.yaml"
again=$SPAWNED
wait_for "the restarted runtime waits for the window" 10 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT runtime_pid || ' ' || state_reason FROM runs WHERE id = $run\" | grep -q '^$again waiting for window'"
sleep 1.5
is "restarted outside the window, it starts nothing" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run")" "$before"
ns resume drains >"$T/resume.out" 2>&1
is "resume outside the window is refused" "$?" 1
like "and says how to force it" "$(cat "$T/resume.out")" "waits for its window \(opens 22:00\): resume --force starts it now"
ns resume drains --force >"$T/force.out" 2>&1
is "resume --force is applied" "$?" 0
wait_for "the run finishes after --force" 20 sh -c "! kill -0 $again 2>/dev/null"
is "the run succeeded, every partition once" "$(sql "SELECT state || ' ' || n_succeeded FROM runs WHERE id = $run")" "succeeded 8"
is "the override is audited" "$(sql "SELECT verb || ' ' || args || ' ' || state FROM commands WHERE run_id = $run ORDER BY id")" \
    "resume {} refused
resume {\"force\":true} applied"

# --- 3. pause at the close -----------------------------------------------------
spec pauses 1 4 pause
NIGHTSHIFT_TEST_NOW=$((close - 1)) spawn pauses "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/pauses.yaml"
wait_for "the window closes and pauses the run" 10 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state || ' ' || n_paused FROM runs WHERE job = 'pauses'\")\" = 'paused 1' ]"
like "the reason names the window" "$(reason pauses)" "window closed at 23:00 \(on_close: pause\) with 1 partitions left; resumes 22:00"
ns resume pauses --force >/dev/null 2>&1
is "resume --force continues it" "$?" 0
wait_for "the paused run finishes" 20 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM runs WHERE job = 'pauses'\")\" = succeeded ]"

# --- 4. at risk: it cannot finish before the close ------------------------------
cat >"$T/risky.yaml" <<EOS
name: risky
command: [sleep, "1"]
partitions: {range: {start: 1, end: 12}}
concurrency: 1
window: {start: "22:00", end: "23:00", tz: UTC}
EOS
NIGHTSHIFT_TEST_NOW=$((close - 6)) spawn risky "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/risky.yaml"
wait_for "the run is flagged at risk before the close" 10 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT state_reason FROM runs WHERE job = 'risky'\" | grep -q 'at risk'"
like "with about how many partitions will be left" "$(reason risky)" "^at risk: about [0-9]+ of [0-9]+ partitions will be left when the window closes at 23:00$"
check "while it was still before the close" test "$(sql "SELECT count(*) FROM events e JOIN runs r ON r.id = e.run_id WHERE r.job = 'risky' AND e.kind = 'window' AND e.message LIKE '%at risk%' AND e.at < $close")" -eq 1
ns stop risky >/dev/null 2>&1
wait_for "the risky run stops" 20 sh -c "! kill -0 $SPAWNED 2>/dev/null"
done_testing
