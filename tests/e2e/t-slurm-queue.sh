#!/bin/sh
# Queued is not running, on a real single-node Slurm: with concurrency 1 and
# five partitions, the tasks Slurm holds in its queue stay `pending` (counted
# as `queued`) until Slurm runs them:
#   1. while the first runs, status (text and --json) and the runs counters
#      say 1 running, the rest pending and queued on Slurm;
#   2. pause: the running task is suspended, the queued ones held - none
#      running; resume: still 1 running, the rest queued again (a released
#      task is not marked running);
#   3. skip of a queued partition cancels its task: it never runs;
#   4. over the whole run no sample of the store shows more than
#      `concurrency` running; every other partition succeeds once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$ROOT/tests/e2e/specs" "$T/specs"
cat >"$T/specs/queue.yaml" <<EOS
name: queue
command: [sh, steady.sh, "50", "0.1"]
partitions: {list: [a, b, c, d, e]}
concurrency: 1
stop_grace: 2s
executor: slurm
EOS

sql_true() { [ "$(sql "$1" 2>/dev/null)" = 1 ]; }
# jfield FILE EXPR: EXPR over the status --json object d, printed by python.
jfield() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
# counts_are WANT: status --json (the one read model) says WANT, one of
# "one-running": 1 running, every other unfinished one pending and queued;
# "all-paused": none running or queued, the unfinished ones paused.
# The runs counters follow the partitions within a tick: waited for.
counts_are() {
    ns status 1 --json >"$T/status.json" 2>/dev/null || return 1
    jfield "$T/status.json" '{"one-running": d["running"] == 1 and d["paused"] == 0 and d["queued"] == d["pending"] == d["total"] - d["done"] - 1,
"all-paused": d["running"] == 0 and d["queued"] == d["pending"] == 0 and d["paused"] == d["total"] - d["done"]}[sys.argv[3]]' "$1" | grep -qx True
}
running_with_progress() {
    [ "$(sql "SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'running' AND progress >= 2" 2>/dev/null)" = 1 ]
}
# Every attempt submitted: a job id stored for each live one.
all_submitted() {
    [ "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome IS NULL AND label LIKE 'job %'" 2>/dev/null)" = 5 ]
}

spawn queue "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/queue.yaml"
rt=$SPAWNED
# The sampler: n_running of the runs row (what every reader shows), every 0.1 s.
( while kill -0 "$rt" 2>/dev/null; do
      sql "SELECT n_running || ' ' || (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'running') FROM runs WHERE id = 1" 2>/dev/null
      sleep 0.1
  done >"$T/samples" ) &
sampler=$!

# --- 1. one runs, four wait in Slurm's queue -------------------------------
wait_for "the first partition runs with progress" 60 running_with_progress
wait_for "all five are submitted" 30 all_submitted
wait_for "status --json: 1 running, 4 pending, all 4 queued on Slurm" 5 counts_are one-running &&
    ok "status --json: 1 running, 4 pending, 4 of them queued ($(jfield "$T/status.json" 'd["running"], d["pending"], d["queued"]'))"
ns status 1 >"$T/s1.txt"
like "status text: 1 running, 4 pending (4 queued on slurm)" "$(grep '^partitions' "$T/s1.txt")" \
    '; 1 running, 0 paused, 0 waiting to retry, 4 pending \(4 queued on slurm\) \(concurrency 1\)$'
is "Slurm runs one task of the run" "$(squeue -h -t R -o %i | grep -c .)" 1
like "a queued partition's attempt is live and labelled queued" \
    "$(sql "SELECT p.state || ' ' || a.label FROM partitions p JOIN attempts a ON a.run_id = p.run_id AND a.idx = p.idx AND a.outcome IS NULL WHERE p.run_id = 1 AND p.key = 'e'")" \
    '^pending job [0-9]+_[0-9]+ \(queued\)$'

# --- 2. pause and resume ------------------------------------------------------
ns pause 1 >"$T/pause.out" 2>&1
is "pause exits 0" "$?" 0
wait_for "the run is paused" 30 sql_true "SELECT state = 'paused' FROM runs WHERE id = 1"
wait_for "paused: none running, none queued" 5 counts_are all-paused &&
    ok "paused: none running or queued, all unfinished paused ($(jfield "$T/status.json" 'd["paused"]'))"
ns resume 1 >"$T/resume.out" 2>&1
is "resume exits 0" "$?" 0
wait_for "the run runs again" 30 sql_true "SELECT state = 'running' FROM runs WHERE id = 1"
wait_for "resumed: 1 running, the released ones pending and queued" 5 counts_are one-running &&
    ok "resumed: 1 running, the released ones pending and queued again ($(jfield "$T/status.json" 'd["running"], d["pending"], d["queued"]'))"

# --- 3. skip of a queued partition --------------------------------------------
ns skip 1 e --reason "not needed" >"$T/skip.out" 2>&1
is "skip exits 0" "$?" 0
wait_for "e is skipped" 30 sql_true "SELECT state = 'skipped' FROM partitions WHERE run_id = 1 AND key = 'e'"
is "its attempt was ended before it ran (killed, no progress)" \
    "$(sql "SELECT group_concat(a.outcome) || ' ' || p.progress FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE a.run_id = 1 AND a.idx = 4")" "killed 0"

# --- 4. the rest of the run --------------------------------------------------
wait_for "the run finishes" 120 pid_gone "$rt"
wait "$rt"
is "the runtime exits 0" "$?" 0
wait "$sampler"
is "the others succeeded, once each" \
    "$(sql "SELECT group_concat(key || ':' || state || ':' || (SELECT count(*) FROM attempts a WHERE a.run_id = 1 AND a.idx = partitions.idx AND a.outcome = 'succeeded'), ' ') FROM partitions WHERE run_id = 1 ORDER BY idx")" \
    "a:succeeded:1 b:succeeded:1 c:succeeded:1 d:succeeded:1 e:skipped:0"
max=$(awk '$1 > m { m = $1 } $2 > m { m = $2 } END { print m + 0 }' "$T/samples")
diag "$(grep -c . "$T/samples") samples of the store; most running at once: $max"
check "never more than concurrency (1) running in the store" [ "$max" -le 1 ]

done_testing
