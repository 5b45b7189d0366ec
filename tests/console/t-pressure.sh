#!/bin/sh
# Store pressure (issue 10): a run of many short partitions (every 16th one
# hangs until its timeout) while the console refreshes every 100 ms,
# `events --follow` and `logs --follow` tail it, `status` is asked every
# 100 ms, the sqlite3 shell holds read transactions (3 s at a time, WAL
# checkpoints starve) and another holds the write lock (1.5 s at a time).
# No transition is lost (every attempt has its start and end events), no
# client or the runtime meets an unhandled "database is locked", counters
# equal the rows, deadlines are kept (each timeout fires within 1.5 s of
# its due time), integrity_check is ok. PRESSURE_SECONDS (default 12; make
# soak: 600) sizes the run: that many seconds of work, which the held write
# lock stretches (nothing is dispatched while another process holds it).
# Figures (timeout lateness, lock waits, WAL size, elapsed) are reported.
# Two neighbour runs of other jobs (marker.sh workers, SECS seconds of work
# each) share the database under the same pressure, their runtimes never
# killed (issue 18): each succeeds, every partition exactly once, never two
# live attempts, counters equal the rows. The checks on the pressure run are
# scoped to it (run 1).
. "$(dirname "$0")/lib.sh"
SECS=${PRESSURE_SECONDS:-12}
CONC=4
N=$((SECS * CONC))
mkdir -p "$T/w"
cat >"$T/worker.sh" <<'EOF2'
#!/bin/sh
# Ten steps of 0.1 s (progress, an error record, a checkpoint each), or, for
# every 16th partition, hang until the timeout.
[ $((NIGHTSHIFT_PARTITION % 16)) = 15 ] && exec sleep 600
i=${NIGHTSHIFT_CHECKPOINT:-0}
echo "total 10" >&3
while [ "$i" -lt 10 ]; do
    i=$((i + 1))
    sleep 0.1
    echo "step $i of $NIGHTSHIFT_PARTITION_KEY"
    echo "progress $i" >&3
    echo "error r$i record $i" >&3
    echo "checkpoint $i" >&3
done
EOF2
cat >"$T/pressure.yaml" <<YAML
name: pressure
command: [sh, "$T/worker.sh"]
partitions: {range: {start: 1, end: $N}}
concurrency: $CONC
timeout: 3s
stop_grace: 1s
retry: {attempts: 1}
YAML
spawn rt "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/pressure.yaml"
rt=$SPAWNED
wait_for "the run is recorded" 30 sql_is "SELECT count(*) FROM runs" 1 || bail_out "no run: $(cat "$T/rt.out")"
console_start 100 30 1

# The neighbours, once the pressure run is run 1.
NN=$((SECS * 2))
for n in 1 2; do
    mkdir -p "$T/n$n"
    cat >"$T/neighbour$n.yaml" <<YAML
name: neighbour$n
command: [sh, $ROOT/tests/e2e/specs/marker.sh, "$T/n$n", "20", errors]
partitions: {range: {start: 1, end: $NN}}
concurrency: 2
stop_grace: 1s
retry: {attempts: 1}
YAML
    spawn "neighbour$n" "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/neighbour$n.yaml"
    eval "neighbour${n}_pid=\$SPAWNED"
done

# The pressure, until $T/stop exists.
until_stop() { while [ ! -e "$T/stop" ]; do "$@"; done; }
reader_txn() {
    { echo "BEGIN;"; echo "SELECT count(*) FROM events;"; sleep 3; echo "COMMIT;"; } |
        sqlite3 -cmd '.timeout 10000' "$NIGHTSHIFT_DB" >/dev/null 2>>"$T/reader.err"
    sleep 0.5
}
writer_lock() {
    sleep 1
    { echo "BEGIN IMMEDIATE;"; sleep 1.5; echo "COMMIT;"; } |
        sqlite3 -cmd '.timeout 10000' "$NIGHTSHIFT_DB" >/dev/null 2>>"$T/writer.err"
}
status_poll() {
    "$NIGHTSHIFT" status --db "$NIGHTSHIFT_DB" 1 >/dev/null 2>>"$T/status.err" || echo "status exit $?" >>"$T/status.err"
    sleep 0.1
}
wal_watch() {
    stat -c %s "$NIGHTSHIFT_DB-wal" 2>/dev/null >>"$T/wal.sizes"
    sleep 0.5
}
until_stop reader_txn &
p1=$!
until_stop writer_lock &
p2=$!
until_stop status_poll &
p3=$!
until_stop wal_watch &
p4=$!
"$NIGHTSHIFT" events --db "$NIGHTSHIFT_DB" 1 --follow >"$T/events.out" 2>"$T/events.err" &
p5=$!
"$NIGHTSHIFT" logs --db "$NIGHTSHIFT_DB" 1 0 --follow >"$T/logs.out" 2>"$T/logs.err" &
p6=$!

run_start=$(now_ms)
wait_for "the runtime finishes" $((SECS * 4 + 60)) pid_gone "$rt"
diag "the run took $((($(now_ms) - run_start) / 1000)) s for ${SECS} s of work at concurrency $CONC"
touch "$T/stop"
wait "$p1" "$p2" "$p3" "$p4"
wait_for "events --follow ends with the runtime" 10 pid_gone "$p5"
wait_for "logs --follow ends with the attempt" 10 pid_gone "$p6"
kill "$p5" "$p6" 2>/dev/null

hangs=$((N / 16))
is "the run ended failed (the hanging partitions)" "$(sql "SELECT state FROM runs WHERE id = 1")" failed
is "every other partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'succeeded'")" $((N - hangs))
is "every hanging partition timed out" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome = 'timed_out'")" "$hangs"
is "no attempt left live" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome IS NULL")" 0
is "no lost transition: a start event per attempt" "$(sql "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'attempt_start'")" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")"
is "... and an end event per attempt" "$(sql "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'attempt_end'")" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")"
is "error records exactly once" "$(sql "SELECT count(*) FROM error_records WHERE run_id = 1")" $(((N - hangs) * 10))
is "counters equal the rows" \
    "$(sql "SELECT n_succeeded || ' ' || n_failed || ' ' || error_records FROM runs WHERE id = 1")" \
    "$(sql "SELECT (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'succeeded') || ' ' || (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'failed') || ' ' || (SELECT count(*) FROM error_records WHERE run_id = 1)")"
is "integrity_check" "$(sql "PRAGMA integrity_check")" ok
late=$(sql "SELECT printf('%.2f %.2f', max(duration) - 3, avg(duration) - 3) FROM attempts WHERE run_id = 1 AND outcome = 'timed_out'")
diag "timeouts fired late by at most / on average: $late s"
check "deadlines kept: every timeout within 1.5 s of due" awk -v l="${late%% *}" 'BEGIN { exit !(l < 1.5) }'
busy=$(cat "$T/rt.out" "$T/status.err" "$T/console.err" "$T/events.err" "$T/logs.err" 2>/dev/null | grep -ci "locked\|busy")
is "no unhandled SQLITE_BUSY in the runtime or any client" "$busy" 0
check "status never failed" test ! -s "$T/status.err"
diag "write-lock waits recorded: $(sql "SELECT count(*) || ', longest ' || coalesce(max(CAST(substr(message, instr(message, 'for ') + 4) AS REAL)), 0) || ' s' FROM events WHERE run_id = 1 AND kind = 'store'")"
diag "WAL size peak $(sort -n "$T/wal.sizes" | tail -1) bytes, last $(tail -1 "$T/wal.sizes") bytes ($(wc -l <"$T/wal.sizes") samples)"
check "WAL bounded (peak < 256 MiB)" test "$(sort -n "$T/wal.sizes" | tail -1)" -lt 268435456
check "the console is still running" kill -0 "$CONSOLE_PID"
keys Q
wait_for "the console quits" 10 console_exited && is "the console exits 0" "$(cat "$T/console.rc")" 0

# The neighbours finished exactly once beside all that.
for n in 1 2; do
    pid=
    eval "pid=\$neighbour${n}_pid"
    wait_for "neighbour $n finishes" $((SECS * 4 + 60)) pid_gone "$pid"
    R=$(sql "SELECT id FROM runs WHERE job = 'neighbour$n'")
    is "neighbour $n succeeded" "$(sql "SELECT state FROM runs WHERE id = $R")" succeeded
    is "neighbour $n: every partition succeeded exactly once" \
        "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $R AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" "$NN"
    is "neighbour $n: no attempt but the $NN that succeeded" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R")" "$NN"
    is "neighbour $n: never two live attempts of one partition (store)" \
        "$(sql "SELECT count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE a.run_id = $R AND b.started_at < a.ended_at")" 0
    check "neighbour $n: its workers wrote their markers" test -s "$T/n$n/markers"
    is "neighbour $n: never two live attempts of one partition (markers)" "$(grep -c OVERLAP "$T/n$n/markers" 2>/dev/null)" 0
    is "neighbour $n: counters equal the rows" \
        "$(sql "SELECT n_succeeded || ' ' || n_failed || ' ' || error_records FROM runs WHERE id = $R")" \
        "$(sql "SELECT (SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded') || ' ' || (SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'failed') || ' ' || (SELECT count(*) FROM error_records WHERE run_id = $R)")"
    is "neighbour $n: error records exactly once" "$(sql "SELECT count(*) FROM error_records WHERE run_id = $R")" $((NN * 20))
    is "neighbour $n: no unhandled SQLITE_BUSY" "$(grep -ci "locked\|busy" "$T/neighbour$n.out")" 0
done
done_testing
