#!/bin/sh
# t-timeline.sh - the console's timeline (issue 21): a text Gantt of the
# run, one row per worker slot, in which running, succeeded, failed,
# killed attempts, the waits before retries and what held an attempt before
# its start (a pool, the window) each have their own glyph
# (read here without colour, NO_COLOR); a running-count sparkline in its
# header; scrolling and zooming in time; following "now". Attempts are
# planted in a fixture at known moments and the clock is frozen, so the
# rows are exact.
. "$(dirname "$0")/lib.sh"

now=1796000000
FIXTURE_NOW=$now "$FIXTURE" "$NIGHTSHIFT_DB" 20 10 || bail_out "fixture"
# Slots by greedy layout: 1 = #0 ok then #3 killed; 2 = #1 failed, wait,
# retry ok, then #4 failed and waiting now; 3 = #2 running since -550 s.
sql "DELETE FROM attempts;
UPDATE partitions SET state = 'pending' WHERE run_id = 1 AND state = 'retry_wait';
UPDATE partitions SET state = 'retry_wait' WHERE run_id = 1 AND idx = 4;
INSERT INTO attempts (run_id, idx, n, started_at, ended_at, outcome) VALUES
 (1, 0, 1, $now - 600, $now - 400, 'succeeded'),
 (1, 1, 1, $now - 600, $now - 500, 'failed'),
 (1, 1, 2, $now - 450, $now - 310, 'succeeded'),
 (1, 2, 1, $now - 550, NULL, NULL),
 (1, 3, 1, $now - 390, $now - 200, 'killed'),
 (1, 4, 1, $now - 300, $now - 250, 'failed');
-- The retry of #1 waited its last 30 s for a pool; #2 40 s for its window.
UPDATE attempts SET waited_s = 30, waited_for = 'pool' WHERE idx = 1 AND n = 2;
UPDATE attempts SET waited_s = 40, waited_for = 'window' WHERE idx = 2;"

CONSOLE_ENV="NIGHTSHIFT_TEST_NOW=$now NIGHTSHIFT_TEST_CLOCK=frozen TZ=UTC NO_COLOR=1"
console_start 80 24 1
wait_screen "the run" 5 '^Runs > run 1 fixture'
keys T
wait_screen "T opens the timeline" 5 '^Runs > run 1 fixture > timeline'
wait_screen "the whole run on one screen, following now" 5 '^following 00:42:32-00:53:20  9s/col  running'
wait_screen "the sparkline's peak: three ran at once" 5 ' max 3$'
wait_screen "a clock every ten columns" 5 '^slot +\|00:42:32 +\|00:44:02'
wait_screen "slot 1: #0 succeeded, then #3 killed" 5 '^ +1 +\|=+\|!+$'
wait_screen "slot 2: a failure, its wait, held for the pool, the retry, a failure waiting now" 5 \
    '^ +2 +\|X+\.+p{3,4}\|=+\|X+\.+$'
wait_screen "slot 3: held by its window, then running up to now" 5 '^ +3 +w{4,5}\|>+$'
wait_screen "the legend reads without colour, the holds in the window included" 5 \
    '^> running += succeeded +X failed +! killed/lost +\. retry wait +p pool +w window'
row3=$(screen | grep -E '^ +3 ')
# 550 s at 9 s a column: 61 or 62 columns of '>' up to the right edge.
n=$(printf '%s' "$row3" | tr -cd '|>' | wc -c)
check "the running bar's length is its time (61-62 columns)" [ "$n" -ge 61 ] && [ "$n" -le 62 ]

keys +
wait_screen "+ zooms in, now still at the right edge" 5 '^following 00:47:56-00:53:20  4s/col'
wait_screen "the slots stay put: slot 3 still the running one" 5 '^ +3 +>+$'
keys h
wait_screen "h scrolls back in time" 5 '^window 00:46:35-00:51:59  4s/col'
keys -
wait_screen "- zooms out around the middle" 5 '^window 00:43:53-00:54:41  9s/col'
keys End
wait_screen "End follows now again" 5 '^following 00:42:32-00:53:20  9s/col'
keys '?'
wait_screen "help lists the timeline's keys" 5 'zoom in \(half the seconds per column\)'
keys q q
wait_screen "back to the run table" 5 '^Runs > run 1 fixture +[0-9:]+$'
keys Q
wait_for "the console exits" 5 console_exited
done_testing
