#!/bin/sh
# Issue 22, smaller untruths about following a run:
# - `logs RUN IDX --follow` before the first attempt waits for it (it exited
#   3 "no attempt yet"); on a partition that printed nothing it says so and
#   keeps following;
# - `events --follow` ends with the run's exit status, as `run`: 1 for a
#   failed run (it exited 0), 3 with a word when the runtime died;
# - `logs --follow` on a run whose runtime died (kill -9) ends with a word
#   and exit 3 (it waited forever on a log that can no longer grow).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/hold"
# hold_spec FILE NAME KEYS: a job of hold.sh workers, one per key.
hold_spec() {
    printf '%s\n' "name: $2" "params: {dir: \"$T/hold\"}" \
        "command: [sh, $ROOT/tests/e2e/specs/hold.sh]" "partitions: {list: [$3]}" \
        'env: {HOLD_DIR: "{dir}", KEY: "{key}"}' >"$1"
}
# live COND: an attempt matching COND is live.
live() { test "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL AND $1")" = 1; }
hold_spec "$T/f.yaml" holdfollow "a, b"
ns run "$T/f.yaml" --detach >"$T/detach.out" 2>&1
is "the run starts in the background" "$?" 0
wait_for "partition a is live" 20 live "idx = 0"
spawn before "$NIGHTSHIFT" logs --db "$NIGHTSHIFT_DB" --follow 1 b
before=$SPAWNED
spawn events "$NIGHTSHIFT" events --db "$NIGHTSHIFT_DB" 1 --follow
ev=$SPAWNED
wait_for "logs --follow before the first attempt says it waits" 20 grep -q "no attempt yet: waiting for its first" "$T/before.out"
check "issue 22: logs --follow before the first attempt waits (it exited 3)" kill -0 "$before"
: >"$T/hold/a"
wait_for "partition b is live" 20 live "idx = 1"
wait_for "issue 22: a partition that printed nothing is said so" 20 grep -q "attempt 1 of partition 1 has printed nothing yet: following" "$T/before.out"
check "and logs --follow keeps following" kill -0 "$before"
echo 1 >"$T/hold/b"
wait_for "logs --follow ends when b's attempt ends" 20 pid_gone "$before"
wait "$before" 2>/dev/null
like "it printed b's output" "$(cat "$T/before.out")" "^b wrote after the hold$"
wait_for "events --follow ends with the run" 20 pid_gone "$ev"
wait "$ev"
is "issue 22: events --follow on a failed run exits 1 (it exited 0)" "$?" 1
is "the run did fail" "$(sql "SELECT state FROM runs WHERE id = 1")" failed
"$NIGHTSHIFT" logs --db "$NIGHTSHIFT_DB" --follow 1 b >/dev/null 2>&1
is "logs --follow of an ended attempt exits 0" "$?" 0

# The runtime dies (kill -9) under the followers.
rm -f "$T/hold/a" "$T/hold/b"
hold_spec "$T/g.yaml" holddie a
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/g.yaml"
rt=$SPAWNED
wait_for "the attempt of run 2 is live" 20 live "run_id = 2"
spawn dying "$NIGHTSHIFT" logs --db "$NIGHTSHIFT_DB" --follow 2 a
dying=$SPAWNED
spawn events2 "$NIGHTSHIFT" events --db "$NIGHTSHIFT_DB" 2 --follow
ev2=$SPAWNED
wait_for "the follower waits for output" 20 grep -q "printed nothing yet" "$T/dying.out"
kill -9 "$rt"
wait_for "issue 22: logs --follow ends when the runtime dies (it waited forever)" 20 pid_gone "$dying"
wait "$dying"
is "with exit status 3" "$?" 3
like "and a word" "$(cat "$T/dying.out")" "run 2: no runtime drives it any more \\(killed or crashed\\?\\)"
wait_for "events --follow ends when the runtime dies" 20 pid_gone "$ev2"
wait "$ev2"
is "issue 22: events --follow of a run whose runtime died exits 3" "$?" 3
like "with a word" "$(cat "$T/events2.out")" "run 2 is running but no runtime drives it any more"
done_testing
