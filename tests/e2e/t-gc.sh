#!/bin/sh
# Housekeeping: `gc --older-than 30d` lists the finished runs older than 30
# days and deletes nothing; with --yes it deletes their rows (every table)
# and attempt logs and reclaims the space, leaving alone an unfinished run,
# a recent one and a finished run whose runtime is still alive (waiting for
# its end hook). The two old runs write 400 error records each, so that
# what they free spans whole pages whatever the page size.
. "$(dirname "$0")/lib.sh"

old=$(($(date +%s) - 40 * 86400))
cat >"$T/job.yaml" <<YAML
name: job
params: {tag: x, fail: none, pace: "0", steps: "20"}
command: [sh, -c, 'echo "worker output for the log"; exec sh "\$0" "\$2" "\$1"', $ROOT/tests/e2e/specs/report.sh, "{pace}", "{steps}"]
partitions: {list: [a, err, "{fail}"]}
on_exit: {2: fail}
YAML
cat >"$T/hooked.yaml" <<YAML
name: hooked
command: [sh, $ROOT/tests/e2e/specs/report.sh, "2", "0"]
partitions: {list: [a]}
hooks: {on_success: [sleep, "60"], timeout: 90s}
YAML
NIGHTSHIFT_TEST_NOW=$old ns run "$T/job.yaml" -p tag=ok -p steps=400 >/dev/null 2>&1
is "run 1 (40 days ago) succeeded" "$?" 0
NIGHTSHIFT_TEST_NOW=$old ns run "$T/job.yaml" -p tag=bad -p fail=bad -p steps=400 >/dev/null 2>&1
is "run 2 (40 days ago) failed" "$?" 1
NIGHTSHIFT_TEST_NOW=$old spawn crashed "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/job.yaml" -p tag=crash -p pace=1
wait_for "run 3 is running" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE run_id = 3\")\" -ge 1"
kill -9 "$SPAWNED"
wait_for "run 3's runtime is dead (the run stays unfinished)" 10 pid_gone "$SPAWNED"
ns run "$T/job.yaml" -p tag=new >/dev/null 2>&1
is "run 4 (today) succeeded" "$?" 0
NIGHTSHIFT_TEST_NOW=$old spawn hooked "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/hooked.yaml"
hooked=$SPAWNED
wait_for "run 5 finished 40 days ago but its runtime waits for its hook" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM runs WHERE id = 5\")\" = succeeded"
check "run 5's runtime is alive" kill -0 "$hooked"
count() { sql "SELECT (SELECT count(*) FROM partitions WHERE run_id = $1) + (SELECT count(*) FROM attempts WHERE run_id = $1) + (SELECT count(*) FROM error_records WHERE run_id = $1) + (SELECT count(*) FROM events WHERE run_id = $1) + (SELECT count(*) FROM samples WHERE run_id = $1) + (SELECT count(*) FROM runs WHERE id = $1)"; }
before1=$(count 1)
ns gc --older-than 30d >"$T/dry.out" 2>&1
is "the dry run exits 0" "$?" 0
like "it lists run 1" "$(cat "$T/dry.out")" "^would delete run 1 job \\(succeeded, finished"
like "and run 2 with its figures" "$(cat "$T/dry.out")" "would delete run 2 job \\(failed, .*3 partitions, 3 attempts, 400 error records"
is "only those two" "$(grep -c '^would delete' "$T/dry.out")" 2
like "it says nothing was deleted" "$(cat "$T/dry.out")" "dry run: 2 runs would go; nothing was deleted"
is "nothing was deleted" "$(count 1)" "$before1"
check "run 1's logs are still there" test -d "$NIGHTSHIFT_DB.d/run-1"

pages0=$(sql "PRAGMA page_count")
ns gc --older-than 30d --yes >"$T/yes.out" 2>&1
is "gc --yes exits 0" "$?" 0
diag "$(tail -n 1 "$T/yes.out")"
for r in 1 2; do
    is "run $r: no row left in any table" "$(count $r)" 0
    is "run $r: no command row left" "$(sql "SELECT count(*) FROM commands WHERE run_id = $r")" 0
    check "run $r: its attempt logs are gone" test ! -e "$NIGHTSHIFT_DB.d/run-$r"
done
check "the unfinished run 3 is untouched" test "$(count 3)" -gt 0
check "run 3's logs too" test -d "$NIGHTSHIFT_DB.d/run-3"
check "the recent run 4 is untouched" test "$(count 4)" -gt 0
check "run 5, whose runtime is alive, is untouched" test "$(count 5)" -gt 0
pages1=$(sql "PRAGMA page_count")
check "the space was reclaimed ($pages0 -> $pages1 pages)" test "$pages1" -lt "$pages0"
is "the database is sound" "$(sql "PRAGMA integrity_check")" ok
is "foreign keys hold" "$(sql "PRAGMA foreign_key_check")" ""
kill -KILL "$hooked" 2>/dev/null # it waits for its hook, SIGTERM or not
wait_for "run 5's runtime ends" 20 pid_gone "$hooked"
ns run "$T/job.yaml" -p tag=crash -p pace=0 >/dev/null 2>&1
is "run 3 still resumes after gc" "$?" 0
ns gc --older-than 1e2s >/dev/null 2>&1
is "a duration docs/spec.md does not allow is a usage error" "$?" 2
ns gc >/dev/null 2>&1
is "gc without --older-than is a usage error" "$?" 2
ns gc --older-than 30d >"$T/again.out" 2>&1
is "once its runtime is gone, run 5 is the only one that would go" "$(grep '^would delete' "$T/again.out" | cut -d' ' -f1-4)" "would delete run 5"
ns gc --older-than 30d --yes >/dev/null 2>&1
ns gc --older-than 30d >"$T/last.out" 2>&1
like "then nothing is left to delete" "$(cat "$T/last.out")" "^no finished run to delete"
done_testing
