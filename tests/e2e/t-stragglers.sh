#!/bin/sh
# Stragglers (issue 21): eight partitions at once, seven take 0.3 s, one
# hangs. Once five have succeeded the runtime stores the threshold (3x the
# median, at least 1 s) and the slow one becomes a straggler: an event, the
# on_straggler hook (once, with the partition in its environment), status
# (text and --json) and metrics all say so, and no fast partition is ever
# flagged. The same spec without the slow partition flags none.
. "$(dirname "$0")/lib.sh"

cat >"$T/s.yaml" <<YAML
name: tail
params: {hooks: "$T/hooks", slow: "slow"}
command: [sh, -c, 'if [ "\$0" = "\$1" ]; then exec sleep 60; else exec sleep 0.3; fi', "{key}", "{slow}"]
partitions: {list: [a, b, c, d, e, f, g, slow]}
concurrency: 8
hooks:
  on_straggler: [sh, -c, 'mkdir -p "\$0" && env | grep ^NIGHTSHIFT_ | sort >> "\$0/straggler.env"', "{hooks}"]
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/s.yaml"
rt=$SPAWNED
wait_for "the slow partition is flagged" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM events WHERE kind = 'straggler'\")\" = 1"
like "the event names it and the median" \
    "$(sql "SELECT message FROM events WHERE kind = 'straggler'")" \
    "partition 7 \\(slow\\) is a straggler: attempt 1 has run [0-9.]+s, over 3x the median [0-9.]+m?s of the 7 succeeded attempts"
after=$(sql "SELECT straggler_after FROM runs WHERE id = 1")
check "the stored threshold is 3x the median of ~0.3 s ($after)" sh -c "awk 'BEGIN { exit !($after >= 0.9 && $after <= 1.3) }'"
like "status says how many and which" "$(ns status 1)" "1 straggler \\(running over [0-9.]+s, 3x the median of the succeeded attempts\\):
 +7  slow  running [0-9.]+s"
json=$(ns status 1 --json)
like "status --json counts it" "$json" '"stragglers":1,'
like "status --json lists it" "$json" '"straggler_partitions":\[\{"partition":7,"key":"slow","running_seconds":[0-9.]+\}\]'
like "metrics has the gauge" "$(ns metrics 1)" 'nightshift_stragglers\{nightshift_job="tail"\} 1'
wait_for "on_straggler ran" 10 test -s "$T/hooks/straggler.env"
env_out=$(cat "$T/hooks/straggler.env")
like "the hook knows the partition" "$env_out" "NIGHTSHIFT_PARTITION=7"
like "and its key" "$env_out" "NIGHTSHIFT_PARTITION_KEY=slow"
like "and what it is" "$env_out" "NIGHTSHIFT_HOOK=on_straggler"
# Three more seconds of straggling: still one event, one hook.
sleep 3
is "told once: one event" "$(sql "SELECT count(*) FROM events WHERE kind = 'straggler'")" 1
is "told once: the hook ran once" "$(grep -c NIGHTSHIFT_HOOK=on_straggler "$T/hooks/straggler.env")" 1
kill -TERM "$rt"
wait_for "the runtime stops" 20 sh -c "! kill -0 $rt 2>/dev/null"
is "no runtime: no straggler in status --json" "$(ns status 1 --json | grep -o '"stragglers":[0-9]*')" '"stragglers":0'

# Without the slow one nothing is a straggler.
ns run "$T/s.yaml" -p slow=none >"$T/fast.out" 2>&1
is "the fast run succeeds" "$?" 0
is "no straggler event" "$(sql "SELECT count(*) FROM events e JOIN runs r ON r.id = e.run_id WHERE r.id = 2 AND e.kind = 'straggler'")" 0
check "no hook ran for it" sh -c "test \"\$(grep -c NIGHTSHIFT_HOOK=on_straggler '$T/hooks/straggler.env')\" = 1"
done_testing
