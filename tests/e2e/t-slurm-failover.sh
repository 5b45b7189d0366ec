#!/bin/sh
# executor: slurm when Slurm's own daemons fail mid-run (issue 18), on a real
# single-node Slurm (slurm-lib.sh). The worker is the backfill example's: it
# writes its day progressively and checkpoints "line=L,bytes=B" once that
# much output is on disk. Outputs are compared byte for byte with a local run.
#   1. slurmctld is killed (-9) while tasks run and started again a few
#      seconds later (same config and state): every day succeeds exactly once,
#      no attempt is charged for the controller's absence;
#   2. slurmd is stopped and the node set down while tasks run on it: the
#      tasks are recorded as lost (not failed), and once slurmd is back and
#      the node resumed they are retried from their checkpoints.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$CONFIGS" "$T/configs"
echo "executor: slurm" >>"$T/configs/backfill.yaml"
LOCAL_DB=$T/local/nightshift.db
mkdir -p "$T/local"

# backfill_ref NAME PARAMS...: the local run's outputs in $T/NAME-ref.
backfill_ref() {
    _n=$1
    shift
    "$NIGHTSHIFT" run --db "$LOCAL_DB" "$CONFIGS/backfill.yaml" "$@" -p pace=0 \
        -p data="$T/data" -p out="$T/$_n-ref" >"$T/$_n-ref.out" 2>&1
    is "$_n: the local reference exits 0" "$?" 0
}
# outputs_exact NAME: every day's output equals the local run's.
outputs_exact() {
    is "$1: as many output files as the local run" \
        "$(ls "$T/$1-out"/*.tsv 2>/dev/null | wc -l)" "$(ls "$T/$1-ref"/*.tsv | wc -l)"
    for _f in "$T/$1-ref"/*.tsv; do
        check "$1: output $(basename "$_f") equals the local run's" cmp -s "$_f" "$T/$1-out/$(basename "$_f")"
    done
    is "$1: no partial output left" "$(ls "$T/$1-out"/*.partial 2>/dev/null | wc -l)" 0
}
# run_id_of OUTDIR: the run whose params name OUTDIR (empty until it exists).
run_id_of() { sql "SELECT id FROM runs WHERE job = 'backfill' AND params LIKE '%$1%'" 2>/dev/null; }
# running_with_checkpoint R N: true when N partitions of run R run and have a checkpoint.
running_with_checkpoint() {
    [ "$(sql "SELECT count(*) FROM partitions WHERE run_id = $1 AND state = 'running' AND checkpoint IS NOT NULL" 2>/dev/null)" -ge "$2" ]
}
secs_since() { echo "$1 $(now_ms)" | awk '{ printf "%.1f", ($2 - $1) / 1000 }'; }

# --- 1. slurmctld killed and restarted mid-run --------------------------------
# 4 days of 4000 lines, 1 s of sleep every 200: ~20 s a day, 2 at a time
# (the node's 2 CPUs), a checkpoint every 2 s.
P1="-p from=2026-11-01 -p to=2026-11-04 -p lines=4000 -p checkpoint_every=400"
# shellcheck disable=SC2086
backfill_ref ctld $P1
t0=$(now_ms)
# shellcheck disable=SC2086
spawn ctld "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/configs/backfill.yaml" $P1 -p pace=1 \
    -p data="$T/data" -p out="$T/ctld-out"
wait_for "the run exists" 30 sh -c "[ -n \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT id FROM runs WHERE params LIKE '%ctld-out%'\" 2>/dev/null)\" ]"
R=$(run_id_of ctld-out)
wait_for "two days run on slurm with a checkpoint" 60 running_with_checkpoint "$R" 2
# slurmctld does not save a task's start at once (here: not before the task
# ended). This scenario is the controller that dies after that save: an
# update of the running tasks (a comment, nothing nightshift reads) makes it
# save now, and the crash follows, while they still run. The crash before
# the save is t-slurm-ctld-unsaved.sh.
touch "$T/started"
for job in $(sql "SELECT locator FROM attempts WHERE run_id = $R AND outcome IS NULL AND label NOT LIKE '%queued%'"); do
    scontrol update JobId="$job" Comment=failover-test
done
wait_for "slurmctld saved the tasks' start" 20 sh -c \
    "[ -n \"\$(find '$SLURM_DIR/state/job_state' -newer '$T/started' 2>/dev/null)\" ]"
is "nothing has finished before the controller dies" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome IS NOT NULL")" 0
slurm_ctld_kill
tk=$(now_ms)
diag "slurmctld killed $(secs_since "$t0") s into the run"
check "the controller does not answer" sh -c '! scontrol ping >/dev/null 2>&1'
# The tasks go on without it: their report files grow.
reports() { cat "$NIGHTSHIFT_DB.d"/slurm-spool/*/a*/report 2>/dev/null | wc -c; }
r_down=$(reports)
sleep 5
check "the tasks report on while the controller is down" test "$(reports)" -gt "$r_down"
slurm_ctld_start
diag "slurmctld back after $(secs_since "$tk") s"
wait_for "the run ends" 120 pid_gone "$SPAWNED" || kill -s KILL -- "-$SPAWNED"
wait "$SPAWNED"
is "the run exits 0" "$?" 0
diag "run 1 took $(secs_since "$t0") s"
is "4 days succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 4
is "each day ran exactly once" \
    "$(sql "SELECT group_concat(attempts_total, ',') FROM partitions WHERE run_id = $R")" "1,1,1,1"
is "every attempt succeeded: none charged for the controller's absence" \
    "$(sql "SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM attempts WHERE run_id = $R ORDER BY idx, n)")" \
    "succeeded,succeeded,succeeded,succeeded"
is "no failure recorded on any day" \
    "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND last_signature IS NOT NULL")" 0
is "error records equal the local run's" \
    "$(sql "SELECT count(*), sum(length(payload)) FROM error_records WHERE run_id = $R")" \
    "$(sqlite3 "$LOCAL_DB" "SELECT count(*), sum(length(payload)) FROM error_records WHERE run_id = (SELECT max(id) FROM runs)")"
outputs_exact ctld

# --- 2. slurmd stopped, the node set down -------------------------------------
# A lost task's worker outlives slurmd (slurmstepd is not its child) and is
# killed only once slurmd is back - with ReturnToService=2 at times ~0.3 s
# after Slurm has started the retry on the same node. The retry's launcher
# waits for the partition's fence (cmd-launch.c) until the old worker is
# gone, so the outputs stay exact (t-launch-fence.sh tests the fence alone).
# 2 days of 4000 lines (~20 s each), both running when the node goes down.
P2="-p from=2026-11-05 -p to=2026-11-06 -p lines=4000 -p checkpoint_every=400"
# shellcheck disable=SC2086
backfill_ref node $P2
t0=$(now_ms)
# shellcheck disable=SC2086
spawn node "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/configs/backfill.yaml" $P2 -p pace=1 \
    -p data="$T/data" -p out="$T/node-out"
wait_for "the run exists" 30 sh -c "[ -n \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT id FROM runs WHERE params LIKE '%node-out%'\" 2>/dev/null)\" ]"
R=$(run_id_of node-out)
wait_for "both days run on slurm with a checkpoint" 60 running_with_checkpoint "$R" 2
slurm_slurmd_stop
scontrol update nodename="$SLURM_NODE" state=down reason=nightshift-test
wait_for "the node is down" 10 sh -c "sinfo -h -N -n '$SLURM_NODE' -o %t | grep -q '^down'"
td=$(now_ms)
diag "slurmd stopped and node down $(secs_since "$t0") s into the run"
wait_for "both first attempts end" 30 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE run_id = $R AND n = 1 AND outcome IS NOT NULL\" 2>/dev/null)\" = 2 ]"
diag "first attempts ended $(secs_since "$td") s after the node went down"
is "both first attempts are lost, not failed" \
    "$(sql "SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM attempts WHERE run_id = $R AND n = 1 ORDER BY idx)")" \
    "lost,lost"
like "their message says Slurm lost them" \
    "$(sql "SELECT message FROM attempts WHERE run_id = $R AND n = 1 LIMIT 1")" "^lost after .*NODE_FAIL"
is "no exit code or signal is charged to the worker" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND n = 1 AND (exit_code IS NOT NULL OR signal IS NOT NULL)")" 0
wait_for "the retries are queued on slurm" 30 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE run_id = $R AND n = 2 AND locator IS NOT NULL\" 2>/dev/null)\" = 2 ]"
wait_for "the run says why nothing runs" 30 sh -c \
    "sqlite3 '$NIGHTSHIFT_DB' \"SELECT message FROM events WHERE run_id = $R\" | grep -q 'nothing can run: node $SLURM_NODE down.*nightshift-test'"
is "nothing runs while the node is down" \
    "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'running'")" 0
slurm_slurmd_start
scontrol update nodename="$SLURM_NODE" state=resume 2>/dev/null # ReturnToService=2 may have done it
wait_for "the node is back" 30 _slurm_node_idle
diag "node back $(secs_since "$td") s after it went down"
wait_for "the run ends" 120 pid_gone "$SPAWNED" || kill -s KILL -- "-$SPAWNED"
wait "$SPAWNED"
is "the run exits 0" "$?" 0
diag "run 2 took $(secs_since "$t0") s"
is "both days succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 2
is "each day: lost, then succeeded" \
    "$(sql "SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM attempts WHERE run_id = $R ORDER BY idx, n)")" \
    "lost,succeeded,lost,succeeded"
is "each retry resumed from its checkpoint" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND n = 2 AND CAST(resumed_from AS TEXT) LIKE 'line=%,bytes=%'")" 2
is "and did not start over" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND n = 2 AND progress_from > 0")" 2
is "no day's last failure is the worker's: both say lost" \
    "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND last_signature LIKE 'lost: lost after %'")" 2
is "error records equal the local run's" \
    "$(sql "SELECT count(*), sum(length(payload)) FROM error_records WHERE run_id = $R")" \
    "$(sqlite3 "$LOCAL_DB" "SELECT count(*), sum(length(payload)) FROM error_records WHERE run_id = (SELECT max(id) FROM runs)")"
diag "retries that waited for a lost attempt's worker: $(sql "SELECT count(*) FROM events WHERE run_id = $R AND message LIKE '%waited % for an earlier attempt%'")"
outputs_exact node
done_testing
