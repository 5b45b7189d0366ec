#!/bin/sh
# Stragglers in the console (issue 21): a live run of eight partitions,
# seven of 0.3 s and one that hangs. The run view's header says
# "1 straggler", the table's STATE column says "straggler" on that row only,
# and the map draws it apart ('S', listed in the legend) while the fast
# ones are '+'.
. "$(dirname "$0")/lib.sh"

cat >"$T/s.yaml" <<YAML
name: tail
command: [sh, -c, 'if [ "\$0" = slow ]; then exec sleep 60; else exec sleep 0.3; fi', "{key}"]
partitions: {list: [a, b, c, d, e, f, g, slow]}
concurrency: 8
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/s.yaml"
rt=$SPAWNED
wait_for "the runtime flags the slow one" 20 sql_is "SELECT count(*) FROM events WHERE kind = 'straggler'" 1

console_start 120 30 1
wait_screen "the header counts it" 10 "errors 0  1 straggler"
wait_screen "its row says straggler" 10 '^ +7 slow +straggler '
is "no other row says so" "$(screen | grep -c 'straggler ')" 1
keys m
wait_screen "the map draws it apart" 10 '^\+{7}S'
wait_screen "and the legend names it" 10 'S straggler'
keys m
kill -TERM "$rt"
wait_for "the runtime stops" 20 sh -c "! kill -0 $rt 2>/dev/null"
wait_screen_not "no runtime: no straggler in the header" 10 "straggler"
keys Q
wait_for "quits" 5 console_exited && ok "quits"
done_testing
