#!/bin/sh
# executor: slurm when slurmctld is killed (-9) before it saved the start of
# the tasks it runs (issue 18, remaining defect 2), on a real single-node
# Slurm (slurm-lib.sh). Restarted, the controller believes those tasks never
# started and launches them again while their workers still run; slurmd
# refuses ("Duplicate jobid") and the node drains. What must hold:
#   - the attempts' outcomes come from their own workers (exit files), or,
#     where Slurm ended the workers without a word (the restarted controller
#     aborts the tasks it believes pending), they are lost and retried from
#     their checkpoints - never a failure charged to the worker;
#   - a second launch of an attempt runs nothing (the launcher runs an
#     attempt once) and its status is not taken for the worker's;
#   - an attempt Slurm lists as running whose processes are all gone (its
#     partition's fence is free) ends as lost instead of being waited for;
#   - the tasks Slurm keeps listing after their attempts ended are cancelled,
#     with an event that says why;
#   - the run says that nothing can run and why (the drained node), instead
#     of waiting in silence; once the operator resumes the node, the rest
#     runs and the run succeeds with every day exactly once, outputs exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$CONFIGS" "$T/configs"
echo "executor: slurm" >>"$T/configs/backfill.yaml"
LOCAL_DB=$T/local/nightshift.db
mkdir -p "$T/local"
# 3 days of 2000 lines, 1 s of sleep every 200 lines: ~10 s a day, 2 at a
# time (the node's 2 CPUs), so the third waits in Slurm's queue.
P="-p from=2026-11-01 -p to=2026-11-03 -p lines=2000 -p checkpoint_every=400"
# shellcheck disable=SC2086
"$NIGHTSHIFT" run --db "$LOCAL_DB" "$CONFIGS/backfill.yaml" $P -p pace=0 \
    -p data="$T/data" -p out="$T/ref" >"$T/ref.out" 2>&1
is "the local reference exits 0" "$?" 0

# shellcheck disable=SC2086
spawn run "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/configs/backfill.yaml" $P -p pace=1 \
    -p data="$T/data" -p out="$T/out"
wait_for "the run exists" 30 sh -c "[ -n \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT id FROM runs' 2>/dev/null)\" ]"
R=$(sql "SELECT max(id) FROM runs")
wait_for "two days run on slurm" 60 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'running' AND progress > 0\" 2>/dev/null)\" -ge 2 ]"
# At once: the controller has not saved the tasks' start yet.
slurm_ctld_kill
sleep 2
slurm_ctld_start
wait_for "the first two days end" 60 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM attempts WHERE run_id = $R AND outcome IS NOT NULL\" 2>/dev/null)\" -ge 2 ]"
events() { sql "SELECT message FROM events WHERE run_id = $R ORDER BY id"; }
if sinfo -h -N -o '%t %E' | grep -q '^dr.*Duplicate'; then
    diag "the node drained: $(sinfo -h -N -o '%E' | head -1)"
    wait_for "the run says the drained node is why nothing can run" 60 sh -c \
        "sqlite3 '$NIGHTSHIFT_DB' \"SELECT message FROM events WHERE run_id = $R\" | grep -q 'nothing can run: node $SLURM_NODE drain.*Duplicate'"
    wait_for "the tasks Slurm launched again are cancelled" 60 sh -c \
        "sqlite3 '$NIGHTSHIFT_DB' \"SELECT message FROM events WHERE run_id = $R\" | grep -q 'cancelling [0-9] tasks\\{0,1\\} Slurm still runs or queues after'"
    check "no task of the ended attempts is running in Slurm's view any more" sh -c \
        "! squeue -h --array -o '%i %T' | grep -q RUNNING"
    is "nothing runs while the node is drained" \
        "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'running'")" 0
    scontrol update nodename="$SLURM_NODE" state=resume
else
    diag "the node did not drain (the restarted controller aborted the first launches before it launched again, or had saved their start)"
fi
wait_for "the run ends" 120 pid_gone "$SPAWNED" || kill -s KILL -- "-$SPAWNED"
wait "$SPAWNED"
is "the run exits 0" "$?" 0
is "3 days succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 3
is "each day succeeded exactly once" \
    "$(sql "SELECT group_concat(c, ',') FROM (SELECT count(*) AS c FROM attempts WHERE run_id = $R AND outcome = 'succeeded' GROUP BY idx ORDER BY idx)")" "1,1,1"
is "no failure is charged to a worker: every other attempt was lost" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome NOT IN ('succeeded', 'lost')")" 0
is "every attempt ended (none left open)" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome IS NULL")" 0
sql "SELECT message FROM events WHERE run_id = $R AND message GLOB '*[lL]ost*' OR message GLOB '*nothing can run*' OR message GLOB '*ancel*'" |
    while IFS= read -r line; do diag "event: $line"; done
diag "attempts: $(sql "SELECT group_concat(idx || ':' || outcome, ' ') FROM (SELECT idx, outcome FROM attempts WHERE run_id = $R ORDER BY idx, n)")"
is "as many output files as the local run" "$(ls "$T/out"/*.tsv | wc -l)" "$(ls "$T/ref"/*.tsv | wc -l)"
for f in "$T/ref"/*.tsv; do
    check "output $(basename "$f") equals the local run's" cmp -s "$f" "$T/out/$(basename "$f")"
done
done_testing
