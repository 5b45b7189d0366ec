#!/bin/sh
# t-scale.sh - 100 000 partitions and 1 000 000 error records: opening the
# run, the partition map, jumping to the end of the errors and grouping them
# stay fast because every list is a keyset page over an index. Prints the
# measured times and the console's RSS as TAP comments.
#
# Times are measured through tmux (send-keys to visible text, polled every
# 50 ms), so they include that overhead. They are reported, never asserted:
# speed belongs to the benchmarks. The deadlines below only bound a hang
# (sanitizer builds are many times slower).
. "$(dirname "$0")/lib.sh"

t0=$(now_ms)
"$FIXTURE" "$NIGHTSHIFT_DB" 100000 1000000 || bail_out "fixture"
diag "fixture: 100000 partitions, 1000000 error records in $(ms_since "$t0") ms"

t0=$(now_ms)
console_start 120 40 1
wait_screen "run with 100000 partitions opens" 60 '^ +0 part-000000 +succeeded'
open_ms=$(ms_since "$t0")
diag "open a run with 100000 partitions: ${open_ms} ms (tmux start included)"

t0=$(now_ms)
keys G
wait_screen "End in the partition table" 60 '^ +99999 part-099999'
diag "End of 100000 partitions: $(ms_since "$t0") ms"

t0=$(now_ms)
keys m
wait_screen "map of 100000 partitions" 60 'of 100000'
map_ms=$(ms_since "$t0")
diag "partition map: ${map_ms} ms, $(screen | grep -oE '^[0-9]+/cell +[0-9]+-[0-9]+' )"
keys m

t0=$(now_ms)
keys e
wait_screen "error browser over 1000000 records" 60 '\[records\] 1000000 error records'
diag "open the error browser: $(ms_since "$t0") ms"

t0=$(now_ms)
keys G
wait_screen "jump to the end of 1000000 records" 60 '^ +1000000 '
end_ms=$(ms_since "$t0")
diag "jump to the end of 1000000 error records: ${end_ms} ms"
keys k k
wait_screen "scrolling up from the end" 60 '^ +999997 '
keys g
wait_screen "back to the first record" 60 '^ +1 +1 '

t0=$(now_ms)
keys Tab
wait_screen "group 1000000 records by signature" 60 '^ +400000 .*missing field user_id'
diag "group 1000000 records by signature: $(ms_since "$t0") ms"
keys Tab Tab

rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$CONSOLE_PID/status")
diag "console RSS: $rss"

keys Q
wait_for "quits" 5 console_exited && ok "quits"
done_testing
