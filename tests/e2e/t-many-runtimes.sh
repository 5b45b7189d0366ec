#!/bin/sh
# Many runtimes, one database, and nobody starves (issue 18, item 1).
# A busy run (BUSY_N instant partitions of `true`, concurrency 8) holds
# SQLite's write lock nearly all the time; beside it, in the same database:
#   - nine small runs (8 x `sleep 1`, concurrency 4) start and finish, each
#     in at most 3x the time the same run takes in a database of its own
#     beside the same busy load, plus a second;
#   - the console (in tmux), `status` polling, `events --follow` and operator
#     commands (set, pause, resume on the small runs, then stop of the busy
#     one) never meet "database is locked", and every command is decided
#     within 1 s.
# Writers take turns at the write gate (docs/store.md), so a waiting writer
# gets the next transaction.
# The console's helpers (tmux on a private socket); they source lib.sh.
. "$(dirname "$0")/../console/lib.sh"

BUSY_N=${BUSY_N:-1000000}
mkdir -p "$T/specs" "$T/own"
cat >"$T/specs/busy.yaml" <<EOS
name: busy
command: ["true"]
partitions: {range: {start: 1, end: $BUSY_N, size: 1}}
concurrency: 8
retry: {attempts: 1}
log_limit: 4096
EOS
for i in 1 2 3 4 5 6 7 8 9; do
    cat >"$T/specs/small$i.yaml" <<EOS
name: small$i
command: [sleep, "1"]
partitions: {range: {start: 1, end: 8, size: 1}}
concurrency: 4
EOS
done

locked() { grep -l -i -E 'database is locked|SQLITE_BUSY' "$@" 2>/dev/null | head -n 1; }

# The busy run, until it has dispatched a good deal.
ns run "$T/specs/busy.yaml" >"$T/busy.out" 2>&1 &
busy_pid=$!
wait_for "the busy run is dispatching" 120 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT n_succeeded FROM runs WHERE job = \"busy\"' 2>/dev/null)\" -gt 2000 ]"

# The reference: the small run in a database of its own, beside the same load.
t0=$(now_ms)
"$NIGHTSHIFT" run --db "$T/own/own.db" "$T/specs/small1.yaml" >"$T/own.out" 2>&1
is "the small run in its own database exits 0" "$?" 0
own_ms=$(ms_since "$t0")
limit_ms=$((3 * own_ms + 1000))
diag "small run alone: ${own_ms} ms; limit beside the busy run: ${limit_ms} ms"

# Clients while the runtimes share the database.
"$NIGHTSHIFT" events --db "$NIGHTSHIFT_DB" --follow 1 >"$T/follow.out" 2>"$T/follow.err" &
follow_pid=$!
(
    while [ ! -e "$T/stop-polling" ]; do
        "$NIGHTSHIFT" status --db "$NIGHTSHIFT_DB" >/dev/null 2>>"$T/status.err" || echo "status failed: $?" >>"$T/status.err"
        sleep 0.1
    done
) &
poll_pid=$!

console_start 120 36
# Nine small runs at once in the busy database.
for i in 1 2 3 4 5 6 7 8 9; do
    (
        s=$(now_ms)
        "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/small$i.yaml" >"$T/small$i.out" 2>&1
        echo "$? $(ms_since "$s")" >"$T/small$i.rc"
    ) &
done
wait_for "the small runs started" 60 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT count(*) FROM runs WHERE job LIKE \"small%\"' 2>/dev/null)\" -eq 9 ]"

# Operator commands while all of them run: each timed, none may fail.
: >"$T/cmd.ms"
cmd() {
    s=$(now_ms)
    "$NIGHTSHIFT" "$@" --db "$NIGHTSHIFT_DB" >>"$T/cmd.out" 2>&1
    rc=$?
    echo "$(ms_since "$s") $rc $*" >>"$T/cmd.ms"
}
# small5 is paused first, so that it cannot end (a run of 3 s) before the
# resume comes; it stays paused while the busy run's settings change.
small_id=$(sql "SELECT id FROM runs WHERE job = 'small5'")
cmd pause "$small_id"
for c in 1 2 3 4 5; do
    cmd set busy concurrency=7
    cmd set busy concurrency=8
done
cmd resume "$small_id"

for i in 1 2 3 4 5 6 7 8 9; do
    wait_for "small run $i ends" 120 test -s "$T/small$i.rc"
done
diag "small runs beside the busy one (ms): $(cut -d' ' -f2 "$T"/small?.rc | sort -n | tr '\n' ' ')"
for i in 1 2 3 4 5 6 7 8 9; do
    read -r rc took <"$T/small$i.rc"
    is "small run $i exits 0" "$rc" 0
    check "small run $i took ${took} ms <= ${limit_ms} ms (3x alone + 1 s)" test "$took" -le "$limit_ms"
    is "small run $i: 8 partitions succeeded once each" \
        "$(sql "SELECT count(*) FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job = 'small$i' AND a.outcome = 'succeeded'")" 8
done

like "the console shows the runs it shares the database with" "$(screen)" "busy"
is "the console met no locked database" "$(screen | grep -ci 'locked')" 0
cmd stop busy
wait "$busy_pid"
is "the busy run stopped (exit 4: stopped)" "$?" 4
: >"$T/stop-polling"
wait "$poll_pid"
kill "$follow_pid" 2>/dev/null
wait "$follow_pid" 2>/dev/null

is "every operator command succeeded" "$(awk '$2 != 0' "$T/cmd.ms" | wc -l)" 0
slowest=$(sort -n "$T/cmd.ms" | tail -n 1)
diag "operator commands (ms): $(cut -d' ' -f1 "$T/cmd.ms" | sort -n | tr '\n' ' ')"
check "every operator command decided within 1 s (slowest: $slowest)" test "${slowest%% *}" -le 1000
is "no command, status or run met a locked database" \
    "$(locked "$T"/*.out "$T"/*.err "$T/cmd.out")" ""
is "the busy run's counters equal its rows" \
    "$(sql "SELECT n_succeeded FROM runs WHERE job = 'busy'")" \
    "$(sql "SELECT count(*) FROM partitions p JOIN runs r ON r.id = p.run_id WHERE r.job = 'busy' AND p.state = 'succeeded'")"
is "no partition has two live attempts" \
    "$(sql "SELECT count(*) FROM (SELECT run_id, idx FROM attempts WHERE outcome IS NULL GROUP BY run_id, idx HAVING count(*) > 1)")" 0
is "no ordinary hand-over is reported as a wait" \
    "$(sql "SELECT count(*) FROM events WHERE kind = 'store' AND message LIKE '%locked by another process for 0.%'")" 0
done_testing
