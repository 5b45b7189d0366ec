#!/bin/sh
# kill -9 of the runtime in the middle of a backfill, then the same command
# again: leftover workers are ended, interrupted partitions resume from their
# checkpoints, every partition succeeds exactly once and the output equals
# that of an uninterrupted run, line for line.
. "$(dirname "$0")/lib.sh"

P="-p from=2026-11-01 -p to=2026-11-10 -p pace=0.15 -p data=$T/data -p out=$T/out"
# shellcheck disable=SC2086
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$CONFIGS/backfill.yaml" $P
rt=$SPAWNED
wait_for "3 partitions done and a running one checkpointed" 60 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT (SELECT count(*) FROM partitions WHERE state = 'succeeded') >= 3 AND (SELECT count(*) FROM partitions WHERE state = 'running' AND checkpoint IS NOT NULL AND checkpoint_progress <= 2000) >= 1\" 2>/dev/null)\" = 1"
live=$(sql "SELECT pid || ':' || pid_start FROM attempts WHERE outcome IS NULL")
kill -9 "$rt"
check "runtime killed" sh -c "while kill -0 $rt 2>/dev/null; do sleep 0.05; done"
before=$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded'")
# The store is frozen now: these partitions were cut off past a checkpoint.
cut=$(sql "SELECT idx || ':' || checkpoint FROM partitions WHERE state = 'running' AND checkpoint IS NOT NULL")
check "some interrupted partition had a checkpoint" test -n "$cut"
diag "killed with $before done; live attempts were: $(echo $live)"
check "attempts were live when it died" test -n "$live"
is "the store still says running (nobody told it)" "$(sql "SELECT state FROM runs WHERE id = 1")" running
like "status says no runtime drives it" "$(ns status 1)" "NO RUNTIME"

# shellcheck disable=SC2086
ns run "$CONFIGS/backfill.yaml" $P >"$T/rerun.out" 2>&1
is "the rerun exits 0" "$?" 0
is "it resumed run 1 (no new run)" "$(sql "SELECT count(*) FROM runs")" 1
# Its last line's duration is the run's, from its first start (as status's
# "took"), not only this runtime's.
last=$(sed -n 's/^run 1 succeeded: .*; \([0-9.hms]*\)$/\1/p' "$T/rerun.out")
secs=$(echo "$last" | awk '{ m = 0; s = $0; if (index(s, "m")) { split(s, a, "m"); m = a[1]; s = a[2] } sub(/s$/, "", s); print m * 60 + s }')
took=$(sql "SELECT finished_at - started_at FROM runs WHERE id = 1")
check "the last line's $last is the run's wall time ($took s), the crash's runtime included" \
    awk -v a="$secs" -v b="$took" 'BEGIN { exit !(a != "" && a >= b - 1 && a <= b + 2) }'
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded'")" 10
is "each exactly once: one succeeded attempt per partition" "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 10
is "partitions done before the kill did not run again" "$(sql "SELECT count(*) FROM attempts a WHERE a.started_at > (SELECT min(at) FROM events WHERE message LIKE '%resumed it%') AND a.idx IN (SELECT idx FROM attempts WHERE outcome = 'succeeded' AND ended_at < (SELECT min(at) FROM events WHERE message LIKE '%resumed it%'))")" 0
check "the interrupted attempts are recorded as interrupted" test "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'interrupted'")" -ge 1
for c in $cut; do
    idx=${c%%:*} cp=${c#*:}
    is "partition $idx resumed from its checkpoint $cp" "$(sql "SELECT CAST(resumed_from AS TEXT) FROM attempts WHERE idx = $idx AND n = 2")" "$cp"
done
is "never two live attempts of one partition (no overlapping attempts)" "$(sql "SELECT count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE b.started_at < a.ended_at")" 0
for pp in $live; do
    pid=${pp%%:*}
    check "leftover worker $pid is gone" sh -c "! kill -0 $pid 2>/dev/null || ! grep -q NIGHTSHIFT_RUN_TOKEN /proc/$pid/environ 2>/dev/null"
done

# The reference: the same days without interruption, into another directory.
ns run "$CONFIGS/backfill.yaml" -p from=2026-11-01 -p to=2026-11-10 -p pace=0 \
    -p data="$T/data" -p out="$T/ref" >"$T/ref.out" 2>&1
is "reference run exits 0" "$?" 0
for f in "$T"/ref/*.tsv; do
    d=$(basename "$f")
    check "output $d equals the uninterrupted run's (no line lost or doubled)" cmp -s "$f" "$T/out/$d"
done
is "error records equal the reference's (none lost or doubled)" \
    "$(sql "SELECT count(*) FROM error_records WHERE run_id = 1")" \
    "$(sql "SELECT count(*) FROM error_records WHERE run_id = 2")"
is "run counter matches the records table" "$(sql "SELECT error_records FROM runs WHERE id = 1")" "$(sql "SELECT count(*) FROM error_records WHERE run_id = 1")"
done_testing
