#!/bin/sh
# slurm-queue.sh - does the runtime keep Slurm's queue fed past the first
# QUEUE_AHEAD (1000) partitions? On a real single-node Slurm
# (tests/e2e/slurm-lib.sh; needs root and the Debian packages):
#
#   NIGHTSHIFT_BUILD=build tests/bench/slurm-queue.sh [PARTITIONS]
#
# Runs PARTITIONS (1200) partitions of `true` at concurrency 2 with
# executor: slurm and samples squeue every 250 ms: how many of the run's
# tasks run and wait (eligible, or held until an older array leaves a slot);
# then, from the store, the longest gap between two task ends and when each
# array's tasks ended (the handover from the first array to the next). Numbers, never pass/fail;
# the sampler's own lines go to $T/samples (kept with KEEP=1).
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/slurm-lib.sh"
N=${1:-1200}
slurm_start
cat >"$T/many.yaml" <<EOS
name: many
command: ["true"]
partitions: {range: {start: 1, end: $N}}
concurrency: 2
executor: slurm
EOS
t0=$(now_ms)
spawn many "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/many.yaml"
rt=$SPAWNED
running_max=0
while ! pid_gone "$rt"; do
    # ms running pending(eligible) held arrays
    squeue -h --array -o '%F %T %r' 2>/dev/null | awk -v t=$(($(now_ms) - t0)) '
        { arr[$1] = 1 } $2 == "RUNNING" { r++ } $2 == "PENDING" && $3 ~ /Held/ { h++; next } $2 == "PENDING" { p++ }
        END { n = 0; for (a in arr) n++; printf "%d %d %d %d %d\n", t, r, p, h, n }' >>"$T/samples"
    sleep 0.25
done
wait "$rt"
rc=$?
wall=$(($(now_ms) - t0))
diag "nightshift run: exit $rc, $N partitions of true at concurrency 2 in $wall ms"
diag "succeeded once each: $(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")"
diag "arrays (job id: first attempt's start, tasks): $(sql "SELECT group_concat(j || ': ' || n, ', ') FROM (SELECT substr(label, 5, instr(label, '_') - 5) AS j, count(*) AS n FROM attempts WHERE label LIKE 'job %' GROUP BY j ORDER BY j)")"
awk '
    { if ($2 > rmax) rmax = $2 }
    $4 > 0 && !held_at { held_at = $1 }
    NR > 4 && $3 + $4 == 0 { empty++ }
    END {
        printf "# most running at once (sampled): %d\n", rmax
        printf "# first sample with the next array queued (held): %s ms\n", held_at ? held_at : "never"
        printf "# samples with nothing of the run waiting in the queue (after the start): %d of %d\n", empty, NR
    }' "$T/samples"
# The gap: the longest pause between two task ends the runtime saw, and
# the handover from one array to the next.
diag "$(sql "WITH s AS (SELECT ended_at, ended_at - lag(ended_at) OVER (ORDER BY ended_at) AS g FROM attempts) SELECT printf('longest gap between task ends: %.2f s; mean %.3f s', max(g), avg(g)) FROM s")"
diag "$(sql "WITH a AS (SELECT substr(label, 5, instr(label, '_') - 5) AS j, min(ended_at) AS f, max(ended_at) AS l FROM attempts GROUP BY j) SELECT group_concat(printf('array %s ends %.2f..%.2f s', j, f - (SELECT min(started_at) FROM attempts), l - (SELECT min(started_at) FROM attempts)), '; ') FROM a")"
done_testing
