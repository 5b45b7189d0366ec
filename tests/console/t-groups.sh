#!/bin/sh
# t-groups.sh - one definition of a failure group, everywhere: a group that
# holds a failed partition and one waiting to retry counts 2 in
# `status --json`, in the console's failures view, in the prompt of `r` on
# it, and in what `retry --signature` does (before, the console counted
# the failed one only and `r` retried both).
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

D=$T/steer
mkdir -p "$D"
spawn runtime env PATH="$NIGHTSHIFT_BUILD:$PATH" "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" \
    "$SPECS/groups.yaml" -p dir="$D"
wait_for "x failed (both attempts)" 20 sql_is "SELECT state FROM partitions WHERE idx = 0" failed ||
    bail_out "x did not fail"
: >"$D/release-y"
wait_for "y waits to retry" 10 sql_is "SELECT state FROM partitions WHERE idx = 1" retry_wait ||
    bail_out "y did not get to retry_wait"
ns pause 1 >/dev/null # y stays waiting: a paused run dispatches nothing
is "y still waits to retry (paused)" "$(sql "SELECT state FROM partitions WHERE idx = 1")" retry_wait

ns status 1 --json >"$T/status.json"
is "status: one group of 2 (1 failed, 1 waiting to retry)" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([(g["partitions"], g["failed"], g["retry_wait"], g["signature"]) for g in d["failure_groups"]])' "$T/status.json")" \
    "[(2, 1, 1, 'exit 5: connection reset by peer')]"
like "status text: the same group" "$(ns status 1)" "^ +2  exit 5: connection reset by peer  \(1 waiting to retry\)"

console_start 120 40 1
wait_screen "the run view" 10 '^Runs > run 1 groups'
keys F
wait_screen "the console's group counts 2, 1 of them waiting" 5 '^ +2 +0  \(1 waiting\) exit 5: connection reset by peer'
keys r
wait_screen "r asks, with the count" 5 'Retry 2 partitions of group "exit 5: connection reset by peer" from their checkpoint\? \[y/N\]'
keys y
wait_screen "the runtime retried both" 5 'applied: retrying 2 partitions'
is "both partitions have a fresh budget" "$(sql "SELECT group_concat(attempts, ',') FROM partitions WHERE run_id = 1")" "0,0"
keys Q
wait_for "the console quits" 5 console_exited && ok "the console quits"
done_testing
