#!/bin/sh
# executor: slurm on a real single-node Slurm (slurm-lib.sh): the same example
# spec as t-run-retry's, with only `executor: slurm` added, gives the same
# SQLite outcome - every partition succeeded exactly once, eu-west after two
# retries; progress, checkpoints and binary error payloads arrive byte for
# byte through the spool files; attempts carry their Slurm job id.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

# The example specs, copied with their workers; one line differs.
cp -r "$CONFIGS" "$T/configs"
echo "executor: slurm" >>"$T/configs/flaky-keys.yaml"
t0=$(now_ms)
ns run "$T/configs/flaky-keys.yaml" -p pace=0 >"$T/run.out" 2>&1
is "run on slurm exits 0" "$?" 0
diag "flaky-keys on slurm: $(($(now_ms) - t0)) ms"
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'succeeded'")" 8
is "one success per partition" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome = 'succeeded'")" 8
is "eu-west ran 3 times" "$(sql "SELECT attempts_total FROM partitions WHERE run_id = 1 AND key = 'eu-west'")" 3
is "the run records its executor" "$(sql "SELECT executor FROM runs WHERE id = 1")" slurm
is "every attempt has a Slurm job label" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND label GLOB 'job [0-9]*_[0-9]*'")" 10
sed 's/^/# /' "$T/run.out" | tail -n 20
done_testing
