#!/bin/sh
# set RUN concurrency=N takes effect without a restart: down to 1, then up
# to 3, counting live attempts; bad values are refused with the reason; the
# value survives a resume.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

live() { sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome IS NULL"; }
live_is() { [ "$(live)" = "$1" ]; }

spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$D"
rt=$SPAWNED
wait_for "two attempts live (spec concurrency 2)" 20 live_is 2
pid0=$(sql "SELECT runtime_pid FROM runs WHERE id = 1")

like "set concurrency=1" "$(ns set 1 concurrency=1)" "^run 1: set applied: concurrency 2 -> 1 \(running attempts finish first\)$"
is "runs.concurrency is 1 at once" "$(sql "SELECT concurrency FROM runs WHERE id = 1")" 1
is "status --json shows it" "$(status_field 1 '$.concurrency')" 1
touch "$D/release-a" "$D/release-b"
wait_for "a and b finish" 10 sql_true "SELECT count(*) = 2 FROM partitions WHERE run_id = 1 AND key IN ('a','b') AND state = 'succeeded'"
wait_for "one attempt live" 10 live_is 1
stays_false 1 "no second attempt starts under concurrency 1 (watched 1 s)" sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome IS NULL')\" -gt 1 ]"

like "set concurrency=3" "$(ns set 1 concurrency=3)" "^run 1: set applied: concurrency 1 -> 3$"
wait_for "three attempts live" 5 live_is 3
ok "three attempts run after raising it"
is "the same runtime (no restart)" "$(sql "SELECT runtime_pid FROM runs WHERE id = 1")" "$pid0"

like "concurrency=0 is a usage error with the reason, exit 2 (docs/control.md)" "$(out_rc ns set 1 concurrency=0)" "concurrency must be a whole number from 1 to 1024 \(got \"0\"\) rc=2"
like "concurrency=x is a usage error" "$(out_rc ns set 1 concurrency=x)" "\(got \"x\"\) rc=2"
is "neither was recorded as a command" "$(sql "SELECT count(*) FROM commands WHERE run_id = 1 AND verb = 'set' AND state = 'refused'")" 0
like "an unknown setting is a usage error" "$(out_rc ns set 1 speed=3)" "concurrency=N rc=2"
is "still 3" "$(sql "SELECT concurrency FROM runs WHERE id = 1")" 3

# Stop, resume: the operator's value is kept.
ns stop --now 1 >/dev/null
wait_final 1 10
wait "$rt"
touch "$D/release-all"
ns run "$SPECS/loop.yaml" -p dir="$D" >"$T/rerun.out" 2>&1
is "the resumed run exits 0" "$?" 0
is "it kept concurrency 3" "$(sql "SELECT concurrency FROM runs WHERE id = 1")" 3
done_testing
