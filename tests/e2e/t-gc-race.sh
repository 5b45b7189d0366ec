#!/bin/sh
# gc checks what it selected again under the run's lock, in the deleting
# transaction (issue 18, item 6): a run that gc picked as old and finished,
# then resumed and finished again before gc reached it, is as new as its
# last finish and stays, with its fresh attempts and audit trail. The window
# between gc's selection and its delete is held open with a test wait point
# (NIGHTSHIFT_WAITPOINT=gc.delete:PATH).
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/specs"
cat >"$T/specs/flag.yaml" <<EOS
name: flag
command: [sh, -c, '[ -e $T/fail ] && exit 3; exit 0']
partitions: {list: [a]}
retry: {attempts: 1}
EOS
: >"$T/fail"
ns run "$T/specs/flag.yaml" >"$T/r1.out" 2>&1
is "the run fails" "$?" 1
sql "UPDATE runs SET finished_at = finished_at - 86400 * 40, created_at = created_at - 86400 * 40" >/dev/null

NIGHTSHIFT_WAITPOINT="gc.delete:$T/go" "$NIGHTSHIFT" gc --older-than 30d --yes >"$T/gc.out" 2>&1 &
gc_pid=$!
wait_for "gc picked the run and waits before deleting it" 30 test -e "$T/go.reached"

rm -f "$T/fail"
ns run "$T/specs/flag.yaml" --retry-failed >"$T/r2.out" 2>&1
is "the run resumed and succeeded" "$?" 0
: >"$T/go"
wait "$gc_pid"
is "gc exits 0 (nothing wrong, one run left alone)" "$?" 0
like "gc had picked run 1" "$(cat "$T/gc.out")" "^delete run 1 flag"
like "gc says why it left the run" "$(cat "$T/gc.out")" "run 1: finished again since gc picked it \\(left alone\\)"
is "run 1 is still there" "$(sql "SELECT state FROM runs WHERE id = 1")" succeeded
is "with both attempts" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")" 2
check "and its attempt-log directory" test -d "$NIGHTSHIFT_DB.d/run-1"

# The same gc without the race deletes a run that is still old.
sql "UPDATE runs SET finished_at = finished_at - 86400 * 40" >/dev/null
ns gc --older-than 30d --yes >"$T/gc2.out" 2>&1
is "a second gc exits 0" "$?" 0
is "and deletes it" "$(sql "SELECT count(*) FROM runs")" 0
done_testing
