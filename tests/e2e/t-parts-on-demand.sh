#!/bin/sh
# The supervisor keeps in memory only the partitions it works with (model.c):
# settled ones are dropped once committed and read back on demand. A run of
# 6 001 partitions - six fail (exit 2), the last one waits for the test -
# has dropped thousands by the time the operator retries: `retry --failed`
# and `retry --signature` still find exactly the six, they run again from
# their stored rows, and every count on the run row equals the rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/control-lib.sh"

mkdir -p "$T/d"
cat >"$T/many.yaml" <<YAML
name: many
command: [sh, -c, 'if [ {start} -eq 6000 ]; then while [ ! -e "$T/d/release" ]; do sleep 0.05; done; fi; [ \$(( {start} % 1000 )) -ne 7 ] || exit 2']
partitions:
  range: {start: 0, end: 6000, size: 1}
concurrency: 4
retry: {attempts: 1}
on_exit: {2: fail}
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/many.yaml"
rt=$SPAWNED
wait_for "6000 partitions settle (one waits)" 120 sh -c \
    "[ \"\$(sqlite3 -cmd '.timeout 2000' '$NIGHTSHIFT_DB' \"SELECT n_succeeded + n_failed FROM runs WHERE id = 1\")\" = 6000 ]"
ok "6000 partitions settled; partition 6000 waits"
is "six failed" "$(sql "SELECT group_concat(idx) FROM partitions WHERE run_id = 1 AND state = 'failed'")" \
    "7,1007,2007,3007,4007,5007"
diag "runtime peak RSS with 6001 partitions: $(awk '/^VmHWM/ { print $2, $3 }' "/proc/$rt/status")"

out=$(ns retry 1 --failed --timeout 20 2>&1)
is "retry --failed is applied" "$?" 0
like "to the six" "$out" "6 partition"
wait_for "the six failed again" 30 sh -c \
    "[ \"\$(sqlite3 -cmd '.timeout 2000' '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'failed' AND attempts_total = 2\")\" = 6 ]"
ok "the six ran again from their rows and failed again"
sig=$(sql "SELECT last_signature FROM partitions WHERE run_id = 1 AND idx = 7")
out=$(ns retry 1 --signature "$sig" --timeout 20 2>&1)
is "retry --signature is applied" "$?" 0
like "to the six again" "$out" "6 partition"
wait_for "the six failed a third time" 30 sh -c \
    "[ \"\$(sqlite3 -cmd '.timeout 2000' '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'failed' AND attempts_total = 3\")\" = 6 ]"
ok "the six ran a third time"
: >"$T/d/release"
wait_final 1 30
ok "the run ended"
wait "$rt"
is "the runtime exits 1 (six failed)" "$?" 1
is "6001 partitions: 5995 succeeded, 6 failed" \
    "$(sql "SELECT count(*) FILTER (WHERE state = 'succeeded') || ' ' || count(*) FILTER (WHERE state = 'failed') FROM partitions WHERE run_id = 1")" "5995 6"
is "the run row's counters equal the rows" \
    "$(sql "SELECT n_succeeded || ' ' || n_failed || ' ' || n_pending || ' ' || n_running FROM runs WHERE id = 1")" "5995 6 0 0"
is "one attempt per succeeded partition, three per failed one" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")" $((5995 + 18))
is "no two attempts of one partition overlap" \
    "$(sql "SELECT count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE b.started_at < a.ended_at")" 0
done_testing
