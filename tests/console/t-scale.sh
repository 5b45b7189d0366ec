#!/bin/sh
# t-scale.sh - 100 000 partitions and 1 000 000 error records: opening the
# run, the partition map, jumping to the end of the errors and grouping them
# stay fast because every list is a keyset page over an index. Prints the
# measured times and the console's RSS as TAP comments.
#
# Times are measured through tmux (send-keys to visible text, polled every
# 50 ms), so they include that overhead. They are reported, never asserted:
# speed belongs to the benchmarks. The deadlines below only bound a hang
# (sanitizer builds are many times slower). SCALE_PARTITIONS and SCALE_ERRORS
# change the sizes (make bench runs it at 1 000 000 of each).
. "$(dirname "$0")/lib.sh"

NP=${SCALE_PARTITIONS:-100000}
NE=${SCALE_ERRORS:-1000000}
LAST=$(printf '%06d' $((NP - 1)))

t0=$(now_ms)
"$FIXTURE" "$NIGHTSHIFT_DB" "$NP" "$NE" || bail_out "fixture"
diag "fixture: $NP partitions, $NE error records in $(ms_since "$t0") ms"

t0=$(now_ms)
console_start 120 40 1
wait_screen "run with $NP partitions opens" 60 '^ +0 part-000000 +succeeded'
open_ms=$(ms_since "$t0")
diag "open a run with $NP partitions: ${open_ms} ms (tmux start included)"

t0=$(now_ms)
keys G
wait_screen "End in the partition table" 60 "^ +$((NP - 1)) part-$LAST"
diag "End of $NP partitions: $(ms_since "$t0") ms"

t0=$(now_ms)
keys m
wait_screen "map of $NP partitions" 60 "of $NP"
map_ms=$(ms_since "$t0")
diag "partition map: ${map_ms} ms, $(screen | grep -oE '^[0-9]+/cell +[0-9]+-[0-9]+' )"
keys m

t0=$(now_ms)
keys e
wait_screen "error browser over $NE records" 60 "\\[records\\] $NE error records"
diag "open the error browser: $(ms_since "$t0") ms"

t0=$(now_ms)
keys G
wait_screen "jump to the end of $NE records" 60 "^ +$NE "
end_ms=$(ms_since "$t0")
diag "jump to the end of $NE error records: ${end_ms} ms"
keys k k
wait_screen "scrolling up from the end" 60 "^ +$((NE - 3)) "
keys g
wait_screen "back to the first record" 60 '^ +1 +1 '

t0=$(now_ms)
keys Tab
wait_screen "group $NE records by signature" 60 "^ +$((NE * 2 / 5)) .*missing field user_id"
diag "group $NE records by signature: $(ms_since "$t0") ms"
keys Tab Tab

rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$CONSOLE_PID/status")
diag "console RSS: $rss"

keys Q
wait_for "quits" 5 console_exited && ok "quits"
done_testing
