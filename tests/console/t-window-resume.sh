#!/bin/sh
# t-window-resume.sh - the console's resume of a run waiting for its window
# (issue 19): `c` asks first, saying what the run waits for; `n` cancels
# (no command is sent); `y` sends resume --force (audited: source console,
# args {"force":true}) and the run starts its partitions outside the window.
. "$(dirname "$0")/lib.sh"
TZ=UTC
export TZ
noon=$(date -u -d '2026-12-06 12:00:00' +%s)
cat >"$T/late.yaml" <<EOS
name: late
command: [sleep, "0.2"]
partitions: {range: {start: 1, end: 3}}
concurrency: 1
window: {start: "22:00", end: "23:00", on_close: drain, tz: UTC}
EOS
NIGHTSHIFT_TEST_NOW=$noon spawn late "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/late.yaml"
wait_for "the run waits for its window" 15 sql_is \
    "SELECT state_reason FROM runs WHERE job = 'late'" "waiting for window (opens 22:00)" ||
    bail_out "the run does not wait for its window"
run=$(sql "SELECT id FROM runs WHERE job = 'late'")

console_start 160 30 "$run"
wait_screen "the run view" 5 "^Runs > run $run late"
keys c
wait_screen "c asks first, saying what the run waits for" 5 \
    "Run $run: waiting for window \(opens 22:00\)\. Start it now, outside its window \(forced, audited\)\? \[y/N\]"
keys n
wait_screen "n cancels" 5 'cancelled'
sleep 0.5
is "no command was sent" "$(sql "SELECT count(*) FROM commands WHERE run_id = $run")" 0
is "nothing started" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run")" 0
keys c
wait_screen "c asks again" 5 'outside its window \(forced, audited\)\? \[y/N\]'
keys y
wait_for "the run is resumed outside its window and finishes" 20 sql_is \
    "SELECT state FROM runs WHERE id = $run" succeeded
is "resume --force was sent from the console, and applied (audited)" \
    "$(sql "SELECT source || ' ' || verb || ' ' || args || ' ' || state FROM commands WHERE run_id = $run")" \
    'console resume {"force":true} applied'
like "its result says it was forced" "$(sql "SELECT result FROM commands WHERE run_id = $run")" \
    "resumed outside its window \(--force\)"
keys Q
wait_for "the console exits" 5 console_exited
done_testing
