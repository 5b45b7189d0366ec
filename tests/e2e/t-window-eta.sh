#!/bin/sh
# Run windows (issue 19): the ETA knows the window. A run of 8 partitions of
# 1 s in a window 22:00-23:00 (test clock: started at 22:59:56) cannot finish
# before the close: while it waits for the next opening its ETA (status,
# status --json, the console: the run's projected finish) counts the closed
# time, ~23 h, not the few seconds of work left.
. "$(dirname "$0")/lib.sh"
TZ=UTC
export TZ
day=$(date -u -d '2026-12-06 00:00:00' +%s)
close=$((day + 23 * 3600))
reopen=$((day + 46 * 3600)) # 22:00 the next day
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
# The test clock of a command run now: the runtime's, as far on as ours.
clock() { echo $((start + ($(now_ms) - t0) / 1000)); }
wait_for "the window closes and the run drains" 15 sh -c "sqlite3 '$NIGHTSHIFT_DB' \"SELECT state_reason FROM runs WHERE job = 'late'\" 2>/dev/null | grep -q 'window closed'"
wait_for "the run's figures are written after the close" 5 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT updated_at > $close + 1 FROM runs WHERE job = 'late'\")\" = 1 ]"
now=$(clock)
finish=$(sql "SELECT printf('%d', projected_finish) FROM runs WHERE job = 'late'")
diag "at $((now - close)) s after the close: projected finish $((finish - reopen)) s after the next opening"
check "the projected finish is after the next opening (22:00 tomorrow)" test "$finish" -ge "$reopen"
check "and within the work left of it (8 s at most)" test "$finish" -le $((reopen + 8))
eta=$(NIGHTSHIFT_TEST_NOW=$now ns status late --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d[0] if isinstance(d, list) else d; print(int(d["eta_seconds"]))')
check "status --json: the ETA counts the closed time (~23 h: $eta s)" test "$eta" -ge $((reopen - now - 2)) -a "$eta" -le $((reopen - now + 10))
like "status says the ETA in hours" "$(NIGHTSHIFT_TEST_NOW=$now ns status late)" "ETA 2[23]h"
kill "$(cat "$T/late.pid")"
done_testing
