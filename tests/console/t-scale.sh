#!/bin/sh
# t-scale.sh - 100 000 partitions and 1 000 000 error records: opening the
# run, the partition map, jumping to the end of the errors and grouping them
# stay fast because every list is a keyset page over an index. Prints the
# measured times and the console's RSS as TAP comments.
#
# Times are measured through tmux (send-keys to visible text, polled every
# 50 ms), so they include that overhead; the limits are generous for slow
# CI machines (CONSOLE_SCALE_LIMIT_MS, default 3000), the numbers are the point.
. "$(dirname "$0")/lib.sh"

limit=${CONSOLE_SCALE_LIMIT_MS:-3000}
t0=$(now_ms)
"$FIXTURE" "$NIGHTSHIFT_DB" 100000 1000000 || bail_out "fixture"
diag "fixture: 100000 partitions, 1000000 error records in $(ms_since "$t0") ms"

t0=$(now_ms)
console_start 120 40 1
wait_screen "run with 100000 partitions opens" 10 '^ +0 part-000000 +succeeded'
open_ms=$(ms_since "$t0")
diag "open a run with 100000 partitions: ${open_ms} ms (tmux start included)"
check "opening takes < ${limit} ms" test "$open_ms" -lt "$limit"

t0=$(now_ms)
keys G
wait_screen "End in the partition table" 5 '^ +99999 part-099999'
diag "End of 100000 partitions: $(ms_since "$t0") ms"

t0=$(now_ms)
keys m
wait_screen "map of 100000 partitions" 5 'of 100000'
map_ms=$(ms_since "$t0")
diag "partition map: ${map_ms} ms, $(screen | grep -oE '^[0-9]+/cell +[0-9]+-[0-9]+' )"
check "map takes < ${limit} ms" test "$map_ms" -lt "$limit"
keys m

t0=$(now_ms)
keys e
wait_screen "error browser over 1000000 records" 10 '\[records\] 1000000 error records'
diag "open the error browser: $(ms_since "$t0") ms"

t0=$(now_ms)
keys G
wait_screen "jump to the end of 1000000 records" 5 '^ +1000000 '
end_ms=$(ms_since "$t0")
diag "jump to the end of 1000000 error records: ${end_ms} ms"
check "End takes < ${limit} ms" test "$end_ms" -lt "$limit"
keys k k
wait_screen "scrolling up from the end" 5 '^ +999997 '
keys g
wait_screen "back to the first record" 5 '^ +1 +1 '

t0=$(now_ms)
keys Tab
wait_screen "group 1000000 records by signature" 10 '^ +400000 .*missing field user_id'
diag "group 1000000 records by signature: $(ms_since "$t0") ms"
keys Tab Tab

rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$CONSOLE_PID/status")
diag "console RSS: $rss"
check "RSS below 64 MiB" test "$(awk '/^VmRSS/ {print $2}' "/proc/$CONSOLE_PID/status")" -lt 65536

keys Q
wait_for "quits" 5 console_exited && ok "quits"
done_testing
