#!/bin/sh
# The crash loop: one run, its runtime killed with SIGKILL at 20+ random
# moments, each followed by a rerun, with operator commands in flight. In the
# end every partition succeeded exactly once, no two attempts of a partition
# were ever live together, no finished partition ran again, and every
# command was applied (or refused) exactly once. Two neighbour runs of other
# jobs share the database the whole time, their runtimes never killed: they
# finish exactly once too, whatever happens next door (issue 18).
. "$(dirname "$0")/lib.sh"

KILLS=${CRASH_LOOP_KILLS:-20}
mkdir -p "$T/w"
# 16 steps of 50 ms per partition: enough work that a fast runtime cannot
# finish the run before the 20th kill (8 was, after the dispatch got faster).
cat >"$T/crash.yaml" <<YAML
name: crash
command: [sh, $ROOT/tests/e2e/specs/marker.sh, "$T/w", "16"]
partitions: {range: {start: 1, end: 40}}
concurrency: 4
stop_grace: 1s
retry: {attempts: 3, backoff: 100ms}
YAML
# The neighbours: the same worker, 40 partitions each, in their own marker
# directories.
for n in 1 2; do
    mkdir -p "$T/n$n"
    sed -e "s|^name: crash|name: neighbour$n|" -e "s|\"$T/w\"|\"$T/n$n\"|" -e 's|concurrency: 4|concurrency: 2|' \
        "$T/crash.yaml" >"$T/neighbour$n.yaml"
    spawn "neighbour$n" "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/neighbour$n.yaml"
    eval "neighbour${n}_pid=\$SPAWNED"
done
seed=$$
kills=0
while [ "$kills" -lt "$KILLS" ]; do
    spawn "rt$kills" "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/crash.yaml"
    rt=$SPAWNED
    # A random moment: 100..1300 ms after start (awk's rand, seeded per round).
    ms=$(awk -v s="$seed" -v k="$kills" 'BEGIN { srand(s + k); printf "%d", 100 + rand() * 1200 }')
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    # Commands in flight: queued, maybe applied, maybe not, when the kill lands.
    ns set job:crash "concurrency=$((kills % 3 + 2))" --no-wait >/dev/null 2>&1
    ns pause job:crash --no-wait >/dev/null 2>&1
    ns resume job:crash --no-wait >/dev/null 2>&1
    kill -9 "$rt" 2>/dev/null
    wait_for "runtime $rt is gone" 10 sh -c "! kill -0 $rt 2>/dev/null" || break
    kills=$((kills + 1))
    [ "$(sql "SELECT state FROM runs WHERE job = 'crash'" 2>/dev/null)" = succeeded ] && break
done
diag "killed the runtime $kills times"
check "at least $KILLS kills before the run could finish" test "$kills" -ge "$KILLS"

ns run "$T/crash.yaml" >"$T/final.out" 2>&1
is "the final rerun exits 0" "$?" 0
is "one run of the job only" "$(sql "SELECT count(*) FROM runs WHERE job = 'crash'")" 1
R=$(sql "SELECT id FROM runs WHERE job = 'crash'")
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 40
is "exactly once: one succeeded attempt per partition" \
    "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $R AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 40
is "no succeeded attempt beyond one per partition" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome = 'succeeded'")" 40
is "no finished partition ran again" \
    "$(sql "SELECT count(*) FROM attempts a JOIN attempts s ON s.run_id = a.run_id AND s.idx = a.idx AND s.outcome = 'succeeded' WHERE a.run_id = $R AND a.started_at > s.ended_at")" 0
is "never two live attempts of one partition (markers)" "$(grep -c OVERLAP "$T/w/markers")" 0
is "never two live attempts of one partition (store)" \
    "$(sql "SELECT count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE b.started_at < a.ended_at")" 0
is "no attempt left live" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome IS NULL")" 0
check "interrupted attempts were resumed from checkpoints" \
    test "$(grep -c 'from=[1-9]' "$T/w/markers")" -ge 1
is "no command was lost: none is pending" "$(sql "SELECT count(*) FROM commands WHERE run_id = $R AND state = 'pending'")" 0
is "no command was applied twice: one event per command" \
    "$(sql "SELECT count(*) FROM (SELECT substr(message, 1, instr(message, ' by ')) AS c, count(*) AS n FROM events WHERE kind = 'command' GROUP BY c HAVING n > 1)")" 0
is "every command has its verdict event" \
    "$(sql "SELECT count(*) FROM commands WHERE state = 'applied'") $(sql "SELECT count(*) FROM commands WHERE state = 'applied'")" \
    "$(sql "SELECT count(*) FROM commands WHERE state = 'applied'") $(sql "SELECT count(*) FROM events WHERE kind = 'command' AND message LIKE '%: % applied:%'")"
# [m]: the pattern must not match this check's own command line.
check "no worker of the run is left" sh -c "! pgrep -f '[m]arker.sh $T/w' >/dev/null"

# The neighbours, never killed, finished exactly once beside all that.
for n in 1 2; do
    eval "pid=\$neighbour${n}_pid"
    wait_for "neighbour $n finishes" 120 pid_gone "$pid"
    N=$(sql "SELECT id FROM runs WHERE job = 'neighbour$n'")
    is "neighbour $n succeeded" "$(sql "SELECT state FROM runs WHERE id = $N")" succeeded
    is "neighbour $n: every partition succeeded exactly once" \
        "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $N AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 40
    is "neighbour $n: no attempt but the 40 that succeeded" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $N")" 40
    check "neighbour $n: its workers wrote their markers" test -s "$T/n$n/markers"
    is "neighbour $n: never two live attempts of one partition" "$(cat "$T/n$n/markers" 2>/dev/null | grep -c OVERLAP)" 0
done
done_testing
