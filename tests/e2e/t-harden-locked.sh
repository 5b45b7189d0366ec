#!/bin/sh
# A database write-locked by another process for 10 s (BEGIN IMMEDIATE in
# the sqlite3 shell) does not stop the runtime (issue 10, item 3): an
# attempt's 6 s timeout is enforced on time (a partition that becomes due
# meanwhile waits for the lock, it does not block), a worker writing 2 MiB of
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
  after) exit 0 ;;
  esac']
partitions:
  list: [hang, flood, after]
concurrency: 2
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
# 'after' became due when flood finished, during the lock: it waited for the
# lock instead of blocking the loop (the timeout above was still on time).
is "after succeeded" "$(sql "SELECT state FROM partitions WHERE key = 'after'")" succeeded
check "after was launched once the lock freed" awk -v a="$(sql "SELECT a.started_at FROM attempts a JOIN partitions p USING (run_id, idx) WHERE p.key = 'after'")" -v e="$lock_end" 'BEGIN { exit !(a > e - 1) }'
is "all its 2048 log lines were read (recorded as events)" "$(sql "SELECT count(*) FROM events WHERE kind = 'log' AND idx = 1")" 2048
like "the wait is an event" "$(sql "SELECT message FROM events WHERE kind = 'store'")" "locked by another process for [0-9.]+s"
is "the run failed (hang timed out), recorded once the lock freed" "$(sql "SELECT state FROM runs WHERE id = 1")" failed
is "no attempt left live" "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL")" 0
is "integrity_check" "$(sql "PRAGMA integrity_check")" ok
is "counters equal the rows" "$(sql "SELECT n_succeeded || ' ' || n_failed FROM runs")" "$(sql "SELECT (SELECT count(*) FROM partitions WHERE state = 'succeeded') || ' ' || (SELECT count(*) FROM partitions WHERE state = 'failed')")"

# Error records and a checkpoint reported during a lock get provisional ids
# until the lock frees; the retry then resumes from that checkpoint and drops
# exactly the records after it (r2), which it reports again: each once.
cat >"$T/locked3.yaml" <<YAML
name: locked3
command: [sh, -c, 'if [ "\$NIGHTSHIFT_ATTEMPT" = 1 ]; then
    while [ ! -e "$T/w/go3" ]; do sleep 0.05; done;
    printf "error r1 first\ncheckpoint 1\nerror r2 second\n" >&3; exit 75;
  fi;
  [ "\$NIGHTSHIFT_CHECKPOINT" = 1 ] && printf "error r2 second again\n" >&3']
partitions:
  list: [retrier]
retry: {attempts: 2, backoff: 10ms, jitter: 0}
on_exit: {75: retry}
YAML
spawn rt3 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/locked3.yaml"
rt3=$SPAWNED
wait_for "retrier is live" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE outcome IS NULL AND pid > 0\" 2>/dev/null)\" = 1"
hold_lock 3 "$T/lock3.out"
wait_for "the third lock is held" 5 grep -q locked "$T/lock3.out"
touch "$T/w/go3"
wait "$locker"
wait_for "the third runtime exits" 30 pid_gone "$rt3"
is "the retrier succeeded on attempt 2" "$(sql "SELECT p.state || ' ' || p.attempts_total FROM partitions p JOIN runs r ON r.id = p.run_id WHERE r.job = 'locked3'")" "succeeded 2"
is "its error records, each once: r1 from attempt 1, r2 from attempt 2" \
    "$(sql "SELECT group_concat(e.key || '@' || a.n, ' ') FROM (SELECT * FROM error_records ORDER BY id) e JOIN attempts a ON a.id = e.attempt_id JOIN runs r ON r.id = e.run_id WHERE r.job = 'locked3'")" "r1@1 r2@2"
is "those reports waited for the lock" "$(sql "SELECT count(*) FROM events e JOIN runs r ON r.id = e.run_id WHERE r.job = 'locked3' AND e.kind = 'store'")" 1
is "the checkpoint's error mark is a real id" "$(sql "SELECT checkpoint_err_id > 0 FROM partitions p JOIN runs r ON r.id = p.run_id WHERE r.job = 'locked3'")" 1

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
