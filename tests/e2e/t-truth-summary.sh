#!/bin/sh
# issue 22 item 6: a failed run's summary puts its failures first, says its
# SLA was missed (not met), counts in proper plurals, gives the exact
# command that retries the failures, and names the host and the database.
. "$(dirname "$0")/lib.sh"

cat >"$T/one.yaml" <<YAML
name: one
command: [sh, -c, 'echo "error r1 bad record" >&3; [ "\$NIGHTSHIFT_PARTITION_KEY" != b ] || exit 2', x]
partitions: {list: [a, b, c]}
on_exit: {2: fail}
sla: {max_duration: 1h}
YAML
ns run "$T/one.yaml" >"$T/run.out" 2>&1
is "the run fails" "$?" 1
s=$(ns summary 1)
printf '%s\n' "$s" >"$T/summary.txt"
first=$(printf '%s\n' "$s" | grep -E '^[a-z].*:$' | head -n 1)
is "the first table is the failed partitions" "$first" "failed partitions (1):"
failed_at=$(grep -n '^failed partitions' "$T/summary.txt" | cut -d: -f1)
slowest_at=$(grep -n '^slowest partitions' "$T/summary.txt" | cut -d: -f1)
check "failures come before the slowest partitions ($failed_at < $slowest_at)" test "$failed_at" -lt "$slowest_at"
like "the SLA of a failed run is missed, not met" "$s" "^SLA +missed "
like "plurals: 3 error records under 1 signature" "$s" "records +[0-9]+ done; 3 error records under 1 signature$"
like "plurals: no retry is 0 retries" "$s" "of which 0 retries;"
like "the exact retry command" "$s" "^retry +nightshift run --retry-failed --db $NIGHTSHIFT_DB $T/one.yaml$"
like "the host" "$s" "^host +$(hostname)$"
like "the database" "$s" "^database +$NIGHTSHIFT_DB$"
ns summary 1 --format json >"$T/summary.json"
is "JSON: the same command" \
    "$(sqlite3 :memory: "SELECT json_extract(readfile('$T/summary.json'), '\$.next_command')")" \
    "nightshift run --retry-failed --db $NIGHTSHIFT_DB $T/one.yaml"
is "JSON: the SLA missed" "$(sqlite3 :memory: "SELECT json_extract(readfile('$T/summary.json'), '\$.sla.state')")" missed
done_testing
