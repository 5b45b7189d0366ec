#!/bin/sh
# Shared pools (issue 19): runs of different jobs in one database share a
# pool's slots.
#   1. three runs of three jobs, a pool of 2: never more than 2 workers at
#      once across them, all finish, and the wall time is well under the
#      serialized time (the pool is used, not serialized);
#   2. a wide attempt (weight 3) is not starved by a stream of narrow ones:
#      it starts before the narrow run has started its last partition;
#   3. with workers held at a gate: metrics export the pool's use and
#      waiters; `pool set` to 3 starts a third worker
#      within a second; status says what a run waits for; a kill -9 of a
#      runtime holding slots gives them back to the others, and the
#      restarted run finishes with every partition succeeded exactly once.
. "$(dirname "$0")/lib.sh"

# work: records its start and end (with the job and partition) in $LOG;
# sleeps $PACE, or waits for the file $GATE when it is set.
cat >"$T/work.sh" <<'EOS'
#!/bin/sh
echo "S $(date +%s.%N) $NIGHTSHIFT_JOB $NIGHTSHIFT_PARTITION" >>"$LOG"
if [ -n "${GATE:-}" ]; then
    while [ ! -e "$GATE" ]; do sleep 0.05; done
else
    sleep "$PACE"
fi
echo "E $(date +%s.%N) $NIGHTSHIFT_JOB $NIGHTSHIFT_PARTITION" >>"$LOG"
EOS
chmod +x "$T/work.sh"

# spec NAME POOL SLOTS WEIGHT PARTITIONS CONCURRENCY
spec() {
    cat >"$T/$1.yaml" <<EOS
name: $1
command: ["$T/work.sh"]
partitions: {range: {start: 1, end: $5}}
concurrency: $6
pools: {$2: {slots: $3}}
uses: {$2: $4}
EOS
}

# most LOG: the most workers running at once, from the S/E lines.
most() {
    sort -k2,2n "$1" | awk '$1 == "S" { n++ } $1 == "E" { n-- } n > m { m = n } END { print m + 0 }'
}
starts() { grep -c '^S' "$1" 2>/dev/null || echo 0; }

# --- 1. three jobs, one pool of 2 --------------------------------------------
PACE=1 LOG=$T/one.log
export PACE LOG
for j in a b c; do spec "$j" shared 2 1 3 3; done
ns pool set shared 2 >/dev/null # the database exists before three runtimes race to make it
t0=$(now_ms)
for j in a b c; do ns run "$T/$j.yaml" >"$T/$j.out" 2>&1 & done
wait
wall=$(($(now_ms) - t0))
for j in a b c; do
    is "run $j succeeded" "$(sql "SELECT state || ' ' || n_succeeded FROM runs WHERE job = '$j'")" "succeeded 3"
done
is "9 workers ran" "$(starts "$LOG")" 9
is "never more than 2 at once across the three runs" "$(most "$LOG")" 2
diag "9 partitions of 1 s on a pool of 2: ${wall} ms (serialized: 9000 ms, ideal: 5000 ms)"
check "the wall time is well under the serialized time" test "$wall" -lt 7500
is "no slot is held or awaited any more" "$(sql "SELECT (SELECT count(*) FROM pool_holds) + (SELECT count(*) FROM pool_waiters)")" 0
check "the runs' waits for the pool are counted (seconds in all)" \
    test "$(sql "SELECT CAST(sum(pool_wait_s) AS INTEGER) FROM runs")" -ge 2
like "the summary says how long the run waited on pools" \
    "$(for j in a b c; do ns summary "$j"; done | grep 'waited')" "[0-9.]+s for shared pool slots"

# --- 2. a wide attempt is not starved by narrow ones --------------------------
PACE=0.3 LOG=$T/two.log
spec narrow wide3 3 1 16 3
spec wide wide3 3 3 1 1
ns run "$T/narrow.yaml" >"$T/narrow.out" 2>&1 &
narrow_pid=$!
wait_for "the narrow run holds the pool" 20 sh -c "[ \$(grep -c '^S' '$LOG') -ge 3 ]"
ns run "$T/wide.yaml" >"$T/wide.out" 2>&1
is "the wide run succeeded" "$?" 0
wait "$narrow_pid"
is "the narrow run succeeded" "$?" 0
wide_at=$(awk '$1 == "S" && $3 == "wide" { print $2 }' "$LOG")
last_narrow=$(awk '$1 == "S" && $3 == "narrow" { t = $2 } END { print t }' "$LOG")
check "the wide attempt started before the narrow run's last start (not starved)" \
    awk -v w="$wide_at" -v l="$last_narrow" 'BEGIN { exit !(w < l) }'
is "never more than 3 slots in use (the wide one holds 3)" \
    "$(sort -k2,2n "$LOG" | awk '$1 == "S" { n += ($3 == "wide" ? 3 : 1) } $1 == "E" { n -= ($3 == "wide" ? 3 : 1) } n > m { m = n } END { print m }')" 3

# --- 3. pool set, status, kill -9 -------------------------------------------
GATE=$T/go LOG=$T/three.log
export GATE
for j in x y z; do spec "$j" gated 2 1 2 2; done
spawn rx "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/x.yaml"
rx=$SPAWNED
wait_for "run x holds both slots" 20 sh -c "[ \$(grep -c '^S' '$LOG') -ge 2 ]"
spawn ry "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/y.yaml"
spawn rz "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/z.yaml"
wait_for "runs y and z wait for the pool" 20 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT count(*) FROM pool_waiters')\" = 2 ]"
sleep 0.5
is "still 2 workers: the others wait" "$(starts "$LOG")" 2
like "status says what run y waits for" "$(ns status y)" "waiting for pool gated \(2/2 in use\)"
like "pool lists the pool full, with two runs waiting" "$(ns pool | grep '^gated')" "^gated +2 +2 +1 +2 "
is "metrics export the pool's use and waiters" \
    "$(ns metrics | grep -E '^nightshift_pool_(slots|slots_used|runs_waiting)\{pool="gated"\}')" \
    'nightshift_pool_slots{pool="gated"} 2
nightshift_pool_slots_used{pool="gated"} 2
nightshift_pool_runs_waiting{pool="gated"} 2' 
t0=$(now_ms)
ns pool set gated 3 >"$T/set.out"
wait_for "a third worker starts" 5 sh -c "[ \$(grep -c '^S' '$LOG') -ge 3 ]"
grew=$(($(now_ms) - t0))
diag "pool set to 3: a third worker started after ${grew} ms"
check "pool set took effect within a second" test "$grew" -lt 1000
is "pool set is audited" "$(sql "SELECT pool || ' ' || verb || ' ' || source || ' ' || result FROM pool_commands ORDER BY id DESC LIMIT 1")" "gated set cli gated: 2 -> 3 slots"
like "pool audit lists it" "$(ns pool audit | tail -n 1)" '^[0-9]+ +[0-9-]+ [0-9:]+ +[^ ]+\([0-9]+\) +cli +gated \{"slots":3\} -> gated: 2 -> 3 slots$'
ns pool set "$(printf 'x\033[2Jy')" 3 >"$T/bad.out" 2>&1
is "a name that is no pool name is refused (exit 2)" "$?" 2
like "and shown escaped" "$(cat "$T/bad.out")" 'x\\x1b\[2Jy.* is not a pool name'
sleep 0.3
is "3 workers, no more" "$(starts "$LOG")" 3

# Run x holds 2 of the 3 slots: its runtime dies.
kill -9 "$rx"
wait_for "run x's slots are given back and go to the others" 5 sh -c "[ \$(grep -c '^S' '$LOG') -ge 4 ]"
like "the event says whose slots came back" "$(sql "SELECT message FROM events WHERE kind = 'pool' AND message LIKE '%given back%'")" "given back of run [0-9]+, whose runtime is gone"
touch "$GATE"
wait_for "runs y and z finish" 20 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM runs WHERE job IN ('y', 'z') AND state = 'succeeded'\")\" = 2 ]"
ns run "$T/x.yaml" >"$T/x-again.out" 2>&1
is "the restarted run x succeeded" "$?" 0
for j in x y z; do
    is "run $j: both partitions succeeded, each by exactly one attempt" \
        "$(sql "SELECT group_concat(n, ',') FROM (SELECT count(*) AS n FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job = '$j' AND a.outcome = 'succeeded' GROUP BY a.idx)")" "1,1"
done
is "no slot is held or awaited at the end" "$(sql "SELECT (SELECT count(*) FROM pool_holds) + (SELECT count(*) FROM pool_waiters)")" 0
done_testing
