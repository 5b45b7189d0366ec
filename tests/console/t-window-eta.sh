#!/bin/sh
# t-window-eta.sh - the console's ETA knows the window (issue 19): a run of
# 8 partitions of 1 s in a window 22:00-23:00 (test clock: started at
# 22:59:56) is cut by the close; the run view's header then shows an ETA of
# ~23 h (the next opening, 22:00 tomorrow, plus the work left) and a finish
# at 22:00-something, not the few seconds of work left.
. "$(dirname "$0")/lib.sh"
TZ=UTC
export TZ
close=$(($(date -u -d '2026-12-06 00:00:00' +%s) + 23 * 3600))
cat >"$T/late.yaml" <<EOS
name: late
command: [sleep, "1"]
partitions: {range: {start: 1, end: 8}}
concurrency: 1
window: {start: "22:00", end: "23:00", on_close: drain, tz: UTC}
EOS
t0=$(now_ms)
start=$((close - 4))
NIGHTSHIFT_TEST_NOW=$start spawn late "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/late.yaml"
wait_for "the window closes and the run drains" 15 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT state_reason FROM runs WHERE job = 'late'\" 2>/dev/null | grep -q 'window closed'" ||
    bail_out "the window did not close"
wait_for "the run's figures are written after the close" 5 sql_is \
    "SELECT updated_at > $close + 1 FROM runs WHERE job = 'late'" 1
run=$(sql "SELECT id FROM runs WHERE job = 'late'")
# The console's clock: the runtime's test clock, as far on as ours.
CONSOLE_ENV="TZ=UTC NIGHTSHIFT_TEST_NOW=$((start + ($(now_ms) - t0) / 1000))"
console_start 160 30 "$run"
wait_screen "the run view" 5 "^Runs > run $run late"
wait_screen "its header: the ETA counts the closed time (~23 h), the finish is at the next opening" 5 \
    'ETA 2[23]h.* finish .*22:00'
keys Q
wait_for "the console exits" 5 console_exited
kill "$(cat "$T/late.pid")"
done_testing
