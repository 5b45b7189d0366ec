#!/bin/sh
# Faults of the environment, not of the partitions, on a real single-node
# Slurm (issue 18 items 7 and 9):
#   1. the run's spool folder is removed mid-run (rm -rf): it is made again
#      for the live tasks, the run succeeds with every partition succeeded
#      once and outputs equal a local run's, and no retry is burnt;
#   2. Slurm drains the node while tasks are queued: a run event says why
#      nothing can run (the node and Slurm's reason) within a few seconds;
#      `status` and `status --json` say it too while the node is drained
#      (the run's blocked_reason), and no more once tasks run again; once
#      the node is resumed, the run completes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$CONFIGS" "$T/configs"
cp -r "$ROOT/tests/e2e/specs" "$T/specs"
echo "executor: slurm" >>"$T/configs/backfill.yaml"
SPOOL=$NIGHTSHIFT_DB.d/slurm-spool
run_of() { sql "SELECT max(id) FROM runs WHERE job = '$1'" 2>/dev/null; }
event_like() { [ -n "$(sql "SELECT id FROM events WHERE run_id = $1 AND kind = 'executor' AND message LIKE '$2'")" ]; }

# --- 1. the spool removed mid-run --------------------------------------------
running_and_queued() {
    [ "$(sql "SELECT (SELECT count(*) FROM partitions WHERE run_id = $1 AND state = 'running' AND progress >= 1) >= 1
              AND (SELECT count(*) FROM partitions WHERE run_id = $1 AND state = 'pending') >= 1" 2>/dev/null)" = 1 ]
}
P="-p from=2026-11-01 -p to=2026-11-06 -p pace=0.3 -p lines=2000 -p data=$T/data -p out=$T/out"
# shellcheck disable=SC2086
spawn backfill "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/configs/backfill.yaml" $P
rt=$SPAWNED
R=
for _ in $(seq 1 900); do R=$(run_of backfill); [ -n "$R" ] && running_and_queued "$R" && break; sleep 0.1; done
check "tasks run and others wait queued" running_and_queued "$R"
rm -rf "$SPOOL"
ok "the spool was removed mid-run"
wait_for "the spool is made again" 10 event_like "$R" 'slurm.spool: % was gone: made it again%' &&
    ok "an event says the spool was made again"
wait_for "the run finishes" 240 pid_gone "$rt"
wait "$rt"
is "the runtime exits 0" "$?" 0
is "the run succeeded" "$(sql "SELECT state FROM runs WHERE id = $R")" succeeded
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 6
is "exactly once: one succeeded attempt per partition" \
    "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $R AND outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 6
is "no attempt failed to start" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND message LIKE '%No such file%'")" 0
is "no retry was burnt: one attempt per partition" "$(sql "SELECT sum(attempts_total) FROM partitions WHERE run_id = $R")" 6
"$NIGHTSHIFT" run --db "$T/local.db" "$CONFIGS/backfill.yaml" -p from=2026-11-01 -p to=2026-11-06 \
    -p pace=0 -p lines=2000 -p data="$T/data" -p out="$T/ref" >"$T/ref.out" 2>&1
is "the local reference exits 0" "$?" 0
for f in "$T"/ref/*.tsv; do
    check "output $(basename "$f") equals the local run's" cmp -s "$f" "$T/out/$(basename "$f")"
done

# --- 2. a node Slurm drained ---------------------------------------------------
node=$(hostname -s)
cat >"$T/specs/drained.yaml" <<EOS
name: drained
command: [sh, steady.sh, "10", "0.1"]
partitions: {list: [a, b, c, d]}
concurrency: 1
executor: slurm
EOS
spawn drained "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/drained.yaml"
rt=$SPAWNED
located() { [ "$(sql "SELECT count(*) FROM attempts WHERE run_id = $1 AND locator IS NOT NULL" 2>/dev/null)" -ge 4 ]; }
for _ in $(seq 1 600); do R=$(run_of drained); [ -n "$R" ] && located "$R" && break; sleep 0.1; done
check "the run's tasks are queued on Slurm" located "$R"
scontrol update nodename="$node" state=drain reason=test-drain
t0=$(now_ms)
wait_for "the drained node is an event" 30 event_like "$R" "nothing can run: node $node drain%: test-drain" &&
    ok "an event says why nothing can run"
diag "the drain was an event after $(($(now_ms) - t0)) ms: $(sql "SELECT message FROM events WHERE run_id = $R AND message LIKE 'nothing can run%'")"
is "the run is still going" "$(pid_gone "$rt" && echo gone || echo going)" going
ns status "$R" >"$T/drained.txt" 2>&1
like "status says why nothing runs, under the counts" "$(grep -A1 '^partitions' "$T/drained.txt")" \
    "^ +nothing runs: node $node drain[a-z]*: test-drain \(slurm\)\$"
ns status "$R" --json >"$T/drained.json" 2>&1
like "status --json says it as blocked_reason" "$(cat "$T/drained.json")" \
    "\"blocked_reason\":\"node $node drain[a-z]*: test-drain\""
scontrol update nodename="$node" state=resume
wait_for "tasks run again" 60 event_like "$R" 'tasks run again on Slurm%' &&
    ok "an event says tasks run again"
ns status "$R" >"$T/resumed.txt" 2>&1
is "status no longer says nothing runs" "$(grep -c 'nothing runs' "$T/resumed.txt")" 0
ns status "$R" --json >"$T/resumed.json" 2>&1
like "status --json: blocked_reason is null" "$(cat "$T/resumed.json")" '"blocked_reason":null'
wait_for "the run finishes" 120 pid_gone "$rt"
wait "$rt"
is "the runtime exits 0" "$?" 0
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 4
is "no retry was needed" "$(sql "SELECT sum(attempts_total) FROM partitions WHERE run_id = $R")" 4
like "an event says tasks run again" "$(sql "SELECT count(*) FROM events WHERE run_id = $R AND message LIKE 'tasks run again on Slurm%'")" '^[1-9]'
is "the finished run keeps no blocked reason" "$(sql "SELECT coalesce(blocked_reason, 'none') FROM runs WHERE id = $R")" none
done_testing
