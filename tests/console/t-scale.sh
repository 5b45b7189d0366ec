#!/bin/sh
# t-scale.sh - 100 000 partitions and 1 000 000 error records: opening the
# run, the partition map, jumping to the end of the errors and grouping them
# stay fast because every list is a keyset page over an index and every
# count is a counter the runtime keeps. Prints the measured times and the
# console's RSS as TAP comments.
#
# Each time runs from the key (tmux send-keys) until the screen shows the
# result, polled without sleeping (a capture-pane costs a few ms, so that is
# the resolution; tmux's own overhead is included). They are reported, never
# asserted: speed belongs to the benchmarks. The deadlines below only bound
# a hang (sanitizer builds are many times slower). SCALE_PARTITIONS and
# SCALE_ERRORS change the sizes (make bench runs it at 1 000 000 of each).
. "$(dirname "$0")/lib.sh"

NP=${SCALE_PARTITIONS:-100000}
NE=${SCALE_ERRORS:-1000000}
LAST=$(printf '%06d' $((NP - 1)))

# timed DESC TIMEOUT_S ERE KEY...: sends the keys, then polls the screen
# back to back until it matches ERE; ok DESC, and the milliseconds it took
# in $TOOK.
timed() {
    _desc=$1 _limit=$(($(now_ms) + $2 * 1000)) _ere=$3
    shift 3
    _t0=$(now_ms)
    keys "$@"
    until _screen_has "$_ere"; do
        if [ "$(now_ms)" -ge "$_limit" ]; then
            fail "timed out waiting for: $_desc"
            screen | sed 's/^/#   | /'
            return 1
        fi
    done
    TOOK=$(ms_since "$_t0")
    ok "$_desc"
}

t0=$(now_ms)
"$FIXTURE" "$NIGHTSHIFT_DB" "$NP" "$NE" || bail_out "fixture"
diag "fixture: $NP partitions, $NE error records in $(ms_since "$t0") ms"

t0=$(now_ms)
console_start 120 40
wait_screen "the runs list" 60 '^ *1 +fixture'
diag "console start on the runs list: $(ms_since "$t0") ms (tmux start included)"

timed "run with $NP partitions opens" 60 '^ +0 part-000000 +succeeded' Enter
diag "open a run with $NP partitions (Enter on the runs list): $TOOK ms"

timed "End in the partition table" 60 "^ +$((NP - 1)) part-$LAST" G
diag "End of $NP partitions: $TOOK ms"

timed "map of $NP partitions" 60 "of $NP" m
diag "partition map: $TOOK ms, $(screen | grep -oE '^[0-9]+/cell +[0-9]+-[0-9]+')"

timed "back to the table" 60 "^ +# KEY +STATE" m
diag "back to the table: $TOOK ms"

timed "error browser over $NE records" 60 "\\[records\\] $NE error records" e
diag "open the error browser: $TOOK ms"

timed "jump to the end of $NE records" 60 "^ +$NE " G
diag "jump to the end of $NE error records: $TOOK ms"
keys k k
wait_screen "scrolling up from the end" 60 "^ +$((NE - 3)) "
keys g
wait_screen "back to the first record" 60 '^ +1 +1 '

timed "group $NE records by signature" 60 "^ +$((NE * 2 / 5)) .*missing field user_id" Tab
diag "group $NE records by signature: $TOOK ms"
keys Tab Tab

rss=$(awk '/^VmRSS/ {print $2, $3}' "/proc/$CONSOLE_PID/status")
diag "console RSS: $rss"

keys Q
wait_for "quits" 5 console_exited && ok "quits"
done_testing
