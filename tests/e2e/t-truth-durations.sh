#!/bin/sh
# issue 22 item 3: an attempt cut off by a kill -9 of the runtime is not
# timed until the restart. Its workers die soon after the runtime (their
# pipes break); the restart comes 3 s later. The one that reported progress
# is timed to its last report; the one that only printed has no known end:
# its duration is unknown (NULL), not the crash gap, and the summary's
# durations and slowest partitions leave its partition out.
. "$(dirname "$0")/lib.sh"

cat >"$T/cut.yaml" <<YAML
name: cut
command: [sh, -c, 'if [ "\$NIGHTSHIFT_PARTITION_KEY" = rep ]; then exec sh "\$0" 15 0.2; fi;
          i=0; while [ \$i -lt 15 ]; do sleep 0.2; echo "line \$i"; i=\$((i + 1)); done',
          $ROOT/tests/e2e/specs/steady.sh]
partitions: {list: [rep, quiet, after]}
concurrency: 2
YAML
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/cut.yaml"
rt=$SPAWNED
wait_for "both run, rep has reported 3 steps" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE state = 'running' AND (key = 'quiet' OR progress >= 3)\" 2>/dev/null)\" = 2" ||
    bail_out "the run does not start"
pids=$(sql "SELECT pid FROM attempts WHERE outcome IS NULL")
kill -9 "$rt"
killed_at=$(date +%s.%N)
wait_for "the runtime is gone" 10 pid_gone "$rt"
for p in $pids; do
    wait_for "worker $p dies once its pipes break" 10 pid_gone "$p"
done
sleep 3 # the crash gap: nobody runs the job for these seconds
ns run "$T/cut.yaml" >"$T/resume.out" 2>&1
is "the resumed run succeeds" "$?" 0
is "two attempts were interrupted" "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'interrupted'")" 2
rep=$(sql "SELECT printf('%.3f %.3f', duration, ended_at - $killed_at) FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = 'rep' AND a.n = 1")
diag "rep's interrupted attempt: duration, end - kill: $rep"
check "rep's interrupted attempt ends at its last report, before the kill" \
    awk -v d="${rep% *}" -v e="${rep#* }" 'BEGIN { exit !(d > 0.3 && e <= 0.05) }'
is "quiet's interrupted attempt has no known duration or end" \
    "$(sql "SELECT coalesce(duration, 'unknown') || ' ' || coalesce(ended_at, 'unknown') FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = 'quiet' AND a.n = 1")" \
    "unknown unknown"
like "its message says so" "$(sql "SELECT message FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = 'quiet' AND a.n = 1")" \
    "already gone \(when it ended is unknown\)"
s=$(ns summary 1)
like "the summary times the two wholly timed partitions" "$s" "durations +p50 .* \(over 2 finished partitions\)"
slowest=$(printf '%s\n' "$s" | sed -n '/^slowest partitions/,/^$/p')
check "the slowest partitions leave quiet out" sh -c "! printf '%s\n' \"\$1\" | grep -q ' quiet '" - "$slowest"
check "no attempt is timed over the crash gap (3 s)" \
    test "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'interrupted' AND duration >= 3")" = 0
done_testing
