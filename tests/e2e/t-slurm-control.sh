#!/bin/sh
# Operator commands and crashes with executor: slurm, on a real single-node
# Slurm (one start for the file):
#   1. pause suspends the running tasks (their processes frozen or stopped)
#      and holds the queued one; resume runs them on to success;
#   2. a graceful stop ends the run's tasks (interrupted, not failed); the
#      next `run` finishes it;
#   3. stop --now ends them at once;
#   4. set concurrency=N becomes the array's ArrayTaskThrottle, and N tasks run;
#   5. a timeout ends the task as locally, counted from its start on Slurm;
#   6. kill -9 of the runtime mid-run, then the same command again: it
#      re-attaches to the tasks Slurm still runs or has finished - no attempt
#      is submitted twice, every partition succeeds exactly once and the
#      outputs equal a local run's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$ROOT/tests/e2e/specs" "$T/specs"
cp -r "$CONFIGS" "$T/configs"
echo "executor: slurm" >>"$T/configs/backfill.yaml"
SPOOL=$NIGHTSHIFT_DB.d/slurm-spool

# steady NAME: a spec of three 40-step partitions, two at a time, on slurm.
steady() {
    cat >"$T/specs/$1.yaml" <<EOS
name: $1
command: [sh, steady.sh, "40", "0.1"]
partitions: {list: [a, b, c]}
concurrency: 2
stop_grace: 2s
executor: slurm
EOS
}
# run_of JOB: the run id of the newest run of JOB.
run_of() { sql "SELECT max(id) FROM runs WHERE job = '$1'" 2>/dev/null; }
# running_with_progress RUN N: N partitions running with progress >= 2.
running_with_progress() {
    [ "$(sql "SELECT count(*) FROM partitions WHERE run_id = $1 AND state = 'running' AND progress >= 2" 2>/dev/null)" = "$2" ]
}
# workers RUN: the pids of the run's live workers (children of the launchers,
# whose pids the spool's job files hold).
workers() {
    for id in $(sql "SELECT id FROM attempts WHERE run_id = $1 AND outcome IS NULL"); do
        f=$(ls "$SPOOL"/*/a"$id"/job 2>/dev/null | head -n 1)
        [ -n "$f" ] || continue
        pgrep -P "$(cut -d' ' -f4 "$f")"
    done
}
# frozen PID: stopped (state T) or in a frozen cgroup.
frozen() {
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ "$st" = T ] && return 0
    cg=$(grep ':freezer:' "/proc/$1/cgroup" 2>/dev/null | cut -d: -f3)
    [ -n "$cg" ] && grep -q FROZEN "/sys/fs/cgroup/freezer$cg/freezer.state" 2>/dev/null
}
all_frozen() {
    w=$(workers "$1")
    [ "$(echo "$w" | grep -c .)" -eq "$2" ] || return 1
    for p in $w; do frozen "$p" || return 1; done
}
none_frozen() {
    for p in $(workers "$1"); do frozen "$p" && return 1; done
    return 0
}
no_live_jobs() {
    [ -z "$(squeue -h -t PD,R,S,CG -o %i 2>/dev/null)" ]
}

# --- 1. pause and resume ----------------------------------------------------
steady pausing
spawn pausing "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/pausing.yaml"
rt=$SPAWNED
for _ in $(seq 1 600); do R=$(run_of pausing); [ -n "$R" ] && running_with_progress "$R" 2 && break; sleep 0.1; done
check "two partitions run with progress" running_with_progress "$R" 2
ns pause "$R" >"$T/pause.out" 2>&1
is "pause exits 0" "$?" 0
wait_for "both workers are frozen" 30 all_frozen "$R" 2 && ok "pause suspends both running workers"
# What the workers wrote (their report files), not what the runtime has read yet.
reported() { cat "$SPOOL"/*/a*/report 2>/dev/null | wc -c; }
p1=$(reported)
wait_for "the queued task is held in Slurm" 30 sh -c "squeue -h -t PD -o %r | grep -q JobHeld" && ok "the queued task is held"
like "the queued attempt already shows its Slurm job id" \
    "$(sql "SELECT label FROM attempts WHERE run_id = $R AND idx = 2")" '^job [0-9]+_2 \(queued\)$'
sleep 1.5 # progress must not move while frozen (a property over time)
is "no report written while paused" "$(reported)" "$p1"
is "the run is paused" "$(sql "SELECT state FROM runs WHERE id = $R")" paused
ns resume "$R" >"$T/resume.out" 2>&1
is "resume exits 0" "$?" 0
wait_for "workers run again" 30 none_frozen "$R" && ok "resume thaws the workers"
wait_for "the paused run finishes" 90 pid_gone "$rt"
wait "$rt"
is "the runtime exits 0" "$?" 0
is "all three succeeded, once each" \
    "$(sql "SELECT group_concat(key || ':' || state || ':' || attempts_total, ' ') FROM partitions WHERE run_id = $R ORDER BY idx")" \
    "a:succeeded:1 b:succeeded:1 c:succeeded:1"

# --- 2. graceful stop, then run again ---------------------------------------
steady stopping
spawn stopping "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/stopping.yaml"
rt=$SPAWNED
for _ in $(seq 1 600); do R=$(run_of stopping); [ -n "$R" ] && running_with_progress "$R" 2 && break; sleep 0.1; done
check "two partitions run with progress" running_with_progress "$R" 2
t0=$(now_ms)
ns stop "$R" >"$T/stop.out" 2>&1
is "stop exits 0" "$?" 0
wait_for "the runtime stops" 60 pid_gone "$rt"
wait "$rt"
diag "graceful stop took $(($(now_ms) - t0)) ms"
is "the run is stopped" "$(sql "SELECT state FROM runs WHERE id = $R")" stopped
is "its attempts were interrupted" "$(sql "SELECT group_concat(DISTINCT outcome) FROM attempts WHERE run_id = $R")" interrupted
wait_for "Slurm has no task of it left" 30 no_live_jobs && ok "no task left in Slurm"
ns run "$T/specs/stopping.yaml" >"$T/stop-rerun.out" 2>&1
is "the next run exits 0" "$?" 0
is "it finished the same run" "$(run_of stopping)" "$R"
is "all three succeeded once" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome = 'succeeded'")" 3

# --- 3. stop --now -------------------------------------------------------------
steady stopnow
spawn stopnow "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/stopnow.yaml"
rt=$SPAWNED
for _ in $(seq 1 600); do R=$(run_of stopnow); [ -n "$R" ] && running_with_progress "$R" 2 && break; sleep 0.1; done
check "two partitions run with progress" running_with_progress "$R" 2
t0=$(now_ms)
ns stop --now "$R" >"$T/stopnow.out" 2>&1
is "stop --now exits 0" "$?" 0
wait_for "the runtime stops" 60 pid_gone "$rt"
wait "$rt"
diag "stop --now took $(($(now_ms) - t0)) ms"
is "the run is stopped" "$(sql "SELECT state FROM runs WHERE id = $R")" stopped
is "its attempts were interrupted" "$(sql "SELECT group_concat(DISTINCT outcome) FROM attempts WHERE run_id = $R")" interrupted
wait_for "Slurm has no task of it left" 30 no_live_jobs && ok "no task left in Slurm"

# --- 4. set concurrency ------------------------------------------------------
cat >"$T/specs/throttle.yaml" <<EOS
name: throttle
command: [sh, steady.sh, "100", "0.1"]
partitions: {list: [a, b, c, d]}
concurrency: 1
executor: slurm
EOS
spawn throttle "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/throttle.yaml"
rt=$SPAWNED
running_tasks() { [ "$(squeue -h -r -t R -o %i 2>/dev/null | wc -l)" = "$1" ]; }
wait_for "one task runs" 60 running_tasks 1
R=$(run_of throttle)
wait_for "the runtime saw it start" 30 sh -c "[ -n \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT locator FROM attempts WHERE run_id = $R AND locator IS NOT NULL\" 2>/dev/null)\" ]"
job=$(sql "SELECT substr(locator, 1, instr(locator, '_') - 1) FROM attempts WHERE run_id = $R AND locator IS NOT NULL LIMIT 1")
like "the array has a job id" "$job" '^[0-9]+$'
like "the array was submitted with throttle 1" "$(scontrol show job "$job" | grep -o 'ArrayTaskThrottle=[0-9]*' | head -n 1)" '=1$'
ns set "$R" concurrency=2 >"$T/set.out" 2>&1
is "set exits 0" "$?" 0
wait_for "the throttle is 2" 30 sh -c "scontrol show job '$job' | grep -q 'ArrayTaskThrottle=2'" && ok "set concurrency=2 became ArrayTaskThrottle=2"
wait_for "two tasks run" 60 running_tasks 2 && ok "two tasks run at once"
ns stop --now "$R" >/dev/null 2>&1
wait_for "the runtime stops" 60 pid_gone "$rt"
wait "$rt"
wait_for "Slurm has no task of it left" 30 no_live_jobs

# --- 5. timeout ----------------------------------------------------------------
cat >"$T/specs/slowpoke.yaml" <<EOS
name: slowpoke
command: [sleep, "300"]
partitions: {list: [only]}
timeout: 2s
stop_grace: 1s
retry: {attempts: 1}
executor: slurm
EOS
t0=$(now_ms)
ns run "$T/specs/slowpoke.yaml" >"$T/slowpoke.out" 2>&1
is "a timed-out run exits 1" "$?" 1
diag "2 s timeout on slurm: run took $(($(now_ms) - t0)) ms"
R=$(run_of slowpoke)
is "the attempt timed out" "$(sql "SELECT outcome FROM attempts WHERE run_id = $R")" timed_out
is "the partition failed" "$(sql "SELECT state FROM partitions WHERE run_id = $R")" failed
wait_for "Slurm has no task of it left" 30 no_live_jobs && ok "the timed-out task is gone from Slurm"

# --- 6. kill -9 of the runtime, then run again -------------------------------
P="-p from=2026-11-01 -p to=2026-11-06 -p pace=0.1 -p lines=2000 -p data=$T/data -p out=$T/out"
# shellcheck disable=SC2086
spawn backfill "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/configs/backfill.yaml" $P
rt=$SPAWNED
for _ in $(seq 1 900); do
    R=$(run_of backfill)
    [ -n "$R" ] && [ "$(sql "SELECT (SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded') >= 1 AND (SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'running' AND checkpoint IS NOT NULL) >= 1")" = 1 ] && break
    sleep 0.1
done
kill -9 "$rt"
wait "$rt" 2>/dev/null
before=$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")
live=$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND outcome IS NULL")
diag "killed with $before done and $live attempts live"
check "attempts were live when it died" test "$live" -ge 1
# A job of the run that no attempt knows (as if the runtime had died inside
# sbatch): the rerun must cancel it before it submits anything.
key=$(ls "$SPOOL" | while read -r k; do [ -d "$SPOOL/$k/a$(sql "SELECT min(id) FROM attempts WHERE run_id = $R")" ] && echo "$k"; done)
printf '#!/bin/sh\nsleep 300\n' >"$T/stray.sh"
stray=$(sbatch --parsable --array=0-1 --job-name="nightshift.$key" --output=/dev/null "$T/stray.sh")
like "a stray array of the run is in Slurm" "$stray" '^[0-9]+$'
# shellcheck disable=SC2086
ns run "$T/configs/backfill.yaml" $P >"$T/rerun.out" 2>&1
is "the rerun exits 0" "$?" 0
like "it re-attached to tasks Slurm still had" "$(sql "SELECT count(*) FROM events WHERE run_id = $R AND kind = 'reconcile' AND message LIKE '%adopted%'")" '^[1-9]'
like "it ended the stray tasks" "$(sql "SELECT message FROM events WHERE run_id = $R AND kind = 'reconcile' AND message LIKE 'ended % leftover%'")" '^ended 2 leftover'
is "Slurm has no task of the stray left" "$(squeue -h -r -t PD,R,S,CG -j "$stray" -o %i 2>/dev/null | grep -c .)" 0
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 6
is "exactly once: one succeeded attempt per partition" \
    "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $R AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 6
subs=$(for l in "$SPOOL/$key"/b*/[0-9]*; do case $l in *.slurm.out) ;; *) readlink "$l" ;; esac; done | sort)
is "no attempt was submitted twice" "$(echo "$subs" | uniq -d | grep -c .)" 0
is "every attempt was submitted once" "$(echo "$subs" | grep -c .)" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R")"
is "never two live attempts of one partition" "$(sql "SELECT count(*) FROM attempts a JOIN attempts b ON a.run_id = b.run_id AND a.idx = b.idx AND a.id < b.id WHERE a.run_id = $R AND b.started_at < a.ended_at")" 0
"$NIGHTSHIFT" run --db "$T/local.db" "$CONFIGS/backfill.yaml" -p from=2026-11-01 -p to=2026-11-06 \
    -p pace=0 -p lines=2000 -p data="$T/data" -p out="$T/ref" >"$T/ref.out" 2>&1
is "the local reference exits 0" "$?" 0
for f in "$T"/ref/*.tsv; do
    check "output $(basename "$f") equals the local run's" cmp -s "$f" "$T/out/$(basename "$f")"
done
is "error records equal the local run's" \
    "$(sql "SELECT count(*) FROM error_records WHERE run_id = $R")" \
    "$(sqlite3 "$T/local.db" "SELECT count(*) FROM error_records")"
done_testing
