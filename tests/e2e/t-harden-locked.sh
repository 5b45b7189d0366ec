#!/bin/sh
# A database write-locked by another process for 10 s (BEGIN IMMEDIATE in
# the sqlite3 shell) does not stop the runtime (issue 10, item 3): an
# attempt's 6 s timeout is enforced on time, a worker writing 2 MiB of
# reports is drained and finishes, SIGTERM to the runtime is acted on
# (workers told to stop) — all during the lock; when the lock frees, what
# the runtime observed is committed with true timestamps and the wait is an
# event. Figures are reported, the bounds asserted are generous.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/w"
cat >"$T/locked.yaml" <<YAML
name: locked
command: [sh, -c, 'case \$NIGHTSHIFT_PARTITION_KEY in
  hang) date +%s.%N >"$T/w/hang.start"; trap "date +%s.%N >$T/w/hang.term; exit 143" TERM; sleep 60 & wait ;;
  flood) while [ ! -e "$T/w/go" ]; do sleep 0.05; done; i=0; while [ \$i -lt 2048 ]; do printf "log warn %01000d\n" \$i; i=\$((i + 1)); done >&3; date +%s.%N >"$T/w/flood.done" ;;
  esac']
partitions:
  list: [hang, flood]
concurrency: 3
timeout: 6s
stop_grace: 1s
retry: {attempts: 1}
YAML
# hold_lock SECONDS OUT: the sqlite3 shell holds the write lock for SECONDS
# in the background (pid in locker); "locked" appears in OUT once it has it.
hold_lock() {
    {
        echo "BEGIN IMMEDIATE;"
        echo "SELECT 'locked';"
        sleep "$1"
        echo "COMMIT;"
    } | sqlite3 "$NIGHTSHIFT_DB" >"$2" 2>&1 &
    locker=$!
}
spawn rt "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/locked.yaml"
rt=$SPAWNED
wait_for "two attempts live" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE outcome IS NULL AND pid > 0\" 2>/dev/null)\" = 2" ||
    bail_out "the run did not start: $(cat "$T/rt.out")"
# Once the lock is held, the flood worker writes 2048 lines (2 MiB): it
# blocks on the full 64 KiB pipe unless the runtime drains it.
lock_start=$(date +%s.%N)
hold_lock 10 "$T/lock.out"
wait_for "the lock is held" 5 grep -q locked "$T/lock.out"
touch "$T/w/go"
wait "$locker"
lock_end=$(date +%s.%N)
diag "the write lock was held from $lock_start to $lock_end"
wait_for "the runtime exits" 30 pid_gone "$rt"

t() { cat "$T/w/$1" 2>/dev/null || echo 0; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
hang_kill=$(secs "$(t hang.start)" "$(t hang.term)")
diag "the 6 s timeout of 'hang' was enforced after ${hang_kill}s (lock held 10 s)"
check "the timeout was enforced during the lock (${hang_kill}s < 9s)" awk -v d="$hang_kill" 'BEGIN { exit !(d > 5.5 && d < 9) }'
check "the flood worker was drained and finished during the lock" awk -v f="$(t flood.done)" -v e="$lock_end" 'BEGIN { exit !(f > 0 && f < e) }'
is "hang is recorded timed out" "$(sql "SELECT outcome FROM attempts a JOIN partitions p USING (run_id, idx) WHERE p.key = 'hang'")" timed_out
dur=$(sql "SELECT printf('%.1f', duration) FROM attempts a JOIN partitions p USING (run_id, idx) WHERE p.key = 'hang'")
check "with its true duration (${dur}s, not the lock's)" awk -v d="$dur" 'BEGIN { exit !(d > 5.5 && d < 9) }'
ended=$(sql "SELECT ended_at FROM attempts a JOIN partitions p USING (run_id, idx) WHERE p.key = 'hang'")
check "and its true end time (before the lock freed)" awk -v a="$ended" -v e="$lock_end" 'BEGIN { exit !(a < e - 1) }'
is "flood succeeded" "$(sql "SELECT state FROM partitions WHERE key = 'flood'")" succeeded
is "all its 2048 log lines were read (recorded as events)" "$(sql "SELECT count(*) FROM events WHERE kind = 'log' AND idx = 1")" 2048
like "the wait is an event" "$(sql "SELECT message FROM events WHERE kind = 'store'")" "locked by another process for [0-9.]+s"
is "the run failed (hang timed out), recorded once the lock freed" "$(sql "SELECT state FROM runs WHERE id = 1")" failed
is "no attempt left live" "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL")" 0
is "integrity_check" "$(sql "PRAGMA integrity_check")" ok
is "counters equal the rows" "$(sql "SELECT n_succeeded || ' ' || n_failed FROM runs")" "$(sql "SELECT (SELECT count(*) FROM partitions WHERE state = 'succeeded') || ' ' || (SELECT count(*) FROM partitions WHERE state = 'failed')")"

# SIGTERM during a lock: the workers are told to stop at once.
cat >"$T/locked2.yaml" <<YAML
name: locked2
command: [sh, -c, 'trap "date +%s.%N >$T/w/long.term; exit 143" TERM; sleep 60 & wait']
partitions:
  list: [long]
stop_grace: 1s
YAML
spawn rt2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/locked2.yaml"
rt2=$SPAWNED
wait_for "long is live" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE outcome IS NULL AND pid > 0\" 2>/dev/null)\" = 1"
hold_lock 6 "$T/lock2.out"
wait_for "the second lock is held" 5 grep -q locked "$T/lock2.out"
sleep 1
kill -TERM "$rt2"
wait "$locker"
lock_end=$(date +%s.%N)
wait_for "the second runtime exits" 30 pid_gone "$rt2"
check "SIGTERM was acted on during the lock (the worker was told to stop)" awk -v f="$(t long.term)" -v e="$lock_end" 'BEGIN { exit !(f > 0 && f < e - 2) }'
is "the run stopped as asked" "$(sql "SELECT state FROM runs WHERE job = 'locked2'")" stopped
is "no attempt left live" "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL")" 0
done_testing
