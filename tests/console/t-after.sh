#!/bin/sh
# t-after.sh - a run that waits for another (after:, issue 20) says so in the
# console: started before any run of its upstream, the run view's header says
# `waiting for a run of extract (none yet); 2 more partitions wait`; once an
# extract run exists and one of its days failed, the load run's header names
# the day it waits for and that day's state, as status does.
. "$(dirname "$0")/lib.sh"

for j in extract load; do
    after=""
    [ "$j" = load ] && after="after: [{job: extract, partitions: same-key}]"
    cat >"$T/$j.yaml" <<EOS
name: $j
command: [sh, -c, 'if [ -e "\$1/fail-\$0-\$2" ]; then exit 1; fi', $j, "$T", "{key}"]
partitions: {list: [d1, d2, d3]}
concurrency: 3
$after
EOS
done
spawn load "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/load.yaml"
wait_for "load runs" 15 sql_is "SELECT count(*) FROM runs WHERE job = 'load' AND runtime_pid IS NOT NULL" 1 || bail_out "no load run"
console_start 160 30 1
wait_screen "the run view" 5 '^Runs > run 1 load'
wait_screen "its header says what it waits for" 5 'waiting for a run of extract \(none yet\); 2 more partitions wait'
: >"$T/fail-extract-d2"
ns run "$T/extract.yaml" >/dev/null 2>&1
wait_screen "then the day it waits for, failed" 10 'waiting for extract d2 \(failed, attempt 1/1\)  elapsed'
keys Q
wait_for "the console exits" 5 console_exited
wait_for "two load days ran, the third waits" 10 sql_is "SELECT group_concat(state, ' ') FROM (SELECT state FROM partitions WHERE run_id = 1 ORDER BY idx)" "succeeded pending succeeded" &&
    ok "two load days ran, the third waits"
ns stop 1 >/dev/null 2>&1
done_testing
