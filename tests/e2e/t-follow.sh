#!/bin/sh
# Following a live run: `logs --follow` prints an attempt's output as it
# grows (bytes unchanged into a pipe; escaped on a terminal, a UTF-8
# character cut between two writes kept whole) and ends by itself when the
# attempt ends; `events --follow --json` streams every event once, in order,
# and ends when the runtime does. Missing partitions and attempts are exit 3.
. "$(dirname "$0")/lib.sh"

cat >"$T/f.yaml" <<YAML
name: follow
params: {hold: "$T/hold"}
command: [sh, $ROOT/tests/e2e/specs/follow.sh]
partitions: {list: [only]}
env: {HOLD: "{hold}"}
YAML
ns run "$T/f.yaml" --detach >"$T/detach.out" 2>&1
is "the run starts in the background" "$?" 0
wait_for "the attempt is live" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE outcome IS NULL\")\" = 1"
spawn pipe "$NIGHTSHIFT" logs --db "$NIGHTSHIFT_DB" --follow 1 0
pipe_pid=$SPAWNED
spawn tty script -qfec "'$NIGHTSHIFT' logs --db '$NIGHTSHIFT_DB' 1 0 --follow" /dev/null
tty_pid=$SPAWNED
spawn events "$NIGHTSHIFT" events --db "$NIGHTSHIFT_DB" 1 --follow --json
ev_pid=$SPAWNED
wait_for "the follower shows the first lines" 20 grep -q "split" "$T/pipe.out"
check "it is still following while the attempt runs" kill -0 "$pipe_pid"
: >"$T/hold"
wait_for "logs --follow ends when the attempt ends" 20 pid_gone "$pipe_pid"
wait_for "the terminal follower ends too" 20 pid_gone "$tty_pid"
wait_for "events --follow ends when the runtime ends" 20 pid_gone "$ev_pid"
log=$(sql "SELECT log_path FROM attempts WHERE run_id = 1 AND idx = 0")
check "into a pipe the output is the log, byte for byte" cmp -s "$log" "$T/pipe.out"
like "the line written after the wait is there" "$(cat "$T/pipe.out")" "line after hold"
tty_out=$(tr -d '\r' <"$T/tty.out")
esc=$(printf '\033')
check "on a terminal no raw escape byte gets through" sh -c "! tr -d '\r' <'$T/tty.out' | grep -q '$esc'"
like "the escape is shown escaped" "$tty_out" 'colour \\x1b\[31mred\\x1b\[0m'
like "the character cut between two writes is shown whole" "$tty_out" "café split"
like "the terminal follower saw the last line" "$tty_out" "line after hold"

check "every event line is JSON" python3 -c "
import json, sys
for line in open('$T/events.out'):
    json.loads(line)"
is "each event once, in order" "$(python3 -c "
import json
ids = [json.loads(l)['id'] for l in open('$T/events.out')]
print(ids == sorted(set(ids)))")" True
is "as many as the database holds" "$(wc -l <"$T/events.out" | tr -d ' ')" "$(sql "SELECT count(*) FROM events WHERE run_id = 1")"
like "the last one is the run's end" "$(tail -n 1 "$T/events.out")" '"kind":"run_state","message":"run 1: running -> succeeded'
is "events without --follow print the same" "$(ns events 1 --json)" "$(cat "$T/events.out")"
like "text events carry time and kind" "$(ns events 1 --limit 1)" "^1 +[0-9-]+ [0-9:]+ +run_state +run 1: runtime"
is "--after pages by id" "$(ns events 1 --json --after 2 --limit 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" 3

ns logs 1 999 >/dev/null 2>"$T/nopart.err"
is "logs for a partition that does not exist exits 3" "$?" 3
like "and says so" "$(cat "$T/nopart.err")" "^nightshift: logs: run 1 has no partition 999 \\(its partitions are 0 to 0\\)"
ns logs 1 0 --attempt 5 >/dev/null 2>"$T/noatt.err"
is "an attempt that does not exist exits 3" "$?" 3
like "and says so" "$(cat "$T/noatt.err")" "has no attempt 5"
ns logs 1 0 --follow >"$T/done.out"
is "following a finished attempt prints it and ends" "$?" 0
check "with the same bytes" cmp -s "$log" "$T/done.out"
ns events 7 >/dev/null 2>&1
is "events of a missing run exits 3" "$?" 3
done_testing
