#!/bin/sh
# executor: slurm on a real single-node Slurm (slurm-lib.sh, one start for
# the whole file). The example specs, copied with their workers and with only
# `executor: slurm` added, give the same SQLite outcomes as locally:
#   1. flaky-keys: every partition succeeded once, eu-west after two retries,
#      the same table as a local run of the unchanged spec;
#   2. backfill with a crash on attempt 1: every day resumes from its
#      checkpoint on attempt 2; outputs and error records equal a local run;
#   3. error records with binary payloads arrive byte for byte;
#   4. a task cancelled behind nightshift's back (scancel) is recorded as lost
#      and retried;
#   5. what cannot work says why: an unwritable spool refuses the run, a
#      submission Slurm rejects fails the partition with sbatch's words.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cp -r "$CONFIGS" "$T/configs"
cp -r "$ROOT/tests/e2e/specs" "$T/specs"
for f in "$T/configs/flaky-keys.yaml" "$T/configs/backfill.yaml" "$T/specs/payloads.yaml"; do
    echo "executor: slurm" >>"$f"
done
LOCAL_DB=$T/local/nightshift.db
mkdir -p "$T/local"
lsql() { sqlite3 -bail -batch -cmd '.timeout 5000' "$LOCAL_DB" "$@"; }

# --- 1. the same spec, local and slurm --------------------------------------
is "the copies differ from the originals by one line" \
    "$(diff "$CONFIGS/flaky-keys.yaml" "$T/configs/flaky-keys.yaml" | grep -c '^[<>]')" 1
like "validate says where it runs" "$(ns validate "$T/configs/flaky-keys.yaml")" ', on slurm$'
t0=$(now_ms)
ns run "$T/configs/flaky-keys.yaml" -p pace=0 >"$T/flaky.out" 2>&1
is "flaky-keys on slurm exits 0" "$?" 0
diag "flaky-keys on slurm: $(($(now_ms) - t0)) ms"
t0=$(now_ms)
"$NIGHTSHIFT" run --db "$LOCAL_DB" "$CONFIGS/flaky-keys.yaml" -p pace=0 >"$T/flaky-local.out" 2>&1
is "flaky-keys locally exits 0" "$?" 0
diag "flaky-keys locally: $(($(now_ms) - t0)) ms"
Q="SELECT idx, key, state, attempts_total, progress FROM partitions WHERE run_id = 1 ORDER BY idx"
is "slurm and local give the same partition table" "$(sql "$Q")" "$(lsql "$Q")"
is "one success per partition" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND outcome = 'succeeded'")" 8
is "eu-west ran 3 times" "$(sql "SELECT attempts_total FROM partitions WHERE run_id = 1 AND key = 'eu-west'")" 3
is "the run records its executor" "$(sql "SELECT executor FROM runs WHERE id = 1")" slurm
is "every attempt ran on slurm" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND executor = 'slurm'")" 10
is "every attempt has its Slurm job id as label and locator" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND label = 'job ' || locator AND locator GLOB '[0-9]*_[0-9]*'")" 10
like "status names the executor" "$(ns status 1)" "executor +slurm"
like "status --json names the executor" "$(ns status 1 --json)" '"executor": ?"slurm"'
like "logs says which Slurm job the attempt was (on stderr)" "$(ns logs 1 2 2>&1 >/dev/null)" \
    "^attempt 3 ran on slurm: job [0-9]+_[0-9]+$"
ns logs 1 2 --attempt 2 >"$T/log2" 2>/dev/null
like "logs prints the worker's output" "$(cat "$T/log2")" "503"

# --- 2. retry from a checkpoint ---------------------------------------------
P="-p from=2026-11-01 -p to=2026-11-04 -p pace=0 -p lines=2000 -p crash_at=1200"
# shellcheck disable=SC2086
ns run "$T/configs/backfill.yaml" $P -p data="$T/data" -p out="$T/out" >"$T/backfill.out" 2>&1
is "backfill on slurm exits 0" "$?" 0
R=$(sql "SELECT id FROM runs WHERE job = 'backfill'")
is "4 days succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 4
is "each day crashed once and succeeded on attempt 2" \
    "$(sql "SELECT group_concat(outcome, ',') FROM (SELECT outcome FROM attempts WHERE run_id = $R ORDER BY idx, n)")" \
    "failed,succeeded,failed,succeeded,failed,succeeded,failed,succeeded"
is "every attempt 2 resumed from a checkpoint" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND n = 2 AND CAST(resumed_from AS TEXT) LIKE 'line=%'")" 4
# shellcheck disable=SC2086
"$NIGHTSHIFT" run --db "$LOCAL_DB" "$CONFIGS/backfill.yaml" $P -p data="$T/data" -p out="$T/ref" >"$T/ref.out" 2>&1
is "the local reference exits 0" "$?" 0
for f in "$T"/ref/*.tsv; do
    check "output $(basename "$f") equals the local run's" cmp -s "$f" "$T/out/$(basename "$f")"
done
is "error records equal the local run's" \
    "$(sql "SELECT count(*), sum(length(payload)) FROM error_records WHERE run_id = $R")" \
    "$(lsql "SELECT count(*), sum(length(payload)) FROM error_records WHERE run_id = (SELECT id FROM runs WHERE job = 'backfill')")"
is "checkpoints equal the local run's" \
    "$(sql "SELECT group_concat(CAST(resumed_from AS TEXT)) FROM attempts WHERE run_id = $R AND n = 2")" \
    "$(lsql "SELECT group_concat(CAST(resumed_from AS TEXT)) FROM attempts WHERE n = 2 AND run_id = (SELECT id FROM runs WHERE job = 'backfill')")"

# --- 3. binary payloads -----------------------------------------------------
D=$T/payloads
mkdir -p "$D"
i=0
while [ $i -lt 256 ]; do
    # shellcheck disable=SC2059 # the format is the octal escape
    printf "\\$(printf %03o $i)"
    i=$((i + 1))
done >"$D/all256"
printf 'a\0b\0\0c\0' >"$D/nuls"
printf 'line1\nline2\n\n\nerror/5 fake header\n' >"$D/newlines"
printf '\033]0;pwned\007' >"$D/osc"
head -c 262144 /dev/urandom >"$D/big"
ns run "$T/specs/payloads.yaml" -p dir="$D" >"$T/payloads.out" 2>&1
is "payloads on slurm exits 0" "$?" 0
R=$(sql "SELECT id FROM runs WHERE job = 'payloads'")
is "two records per file" "$(sql "SELECT count(*) FROM error_records WHERE run_id = $R")" 10
is "no malformed report lines" "$(sql "SELECT count(*) FROM events WHERE run_id = $R AND kind = 'protocol'")" 0
for name in all256 nuls newlines osc big; do
    for how in raw emit; do
        id=$(sql "SELECT id FROM error_records WHERE run_id = $R AND key = '$how-$name'")
        ns errors "$R" --raw "$id" >"$T/out.raw" 2>/dev/null
        check "$how-$name: the payload equals the original bytes" cmp -s "$D/$name" "$T/out.raw"
    done
done

# --- 4. scancel behind nightshift's back --------------------------------------
cat >"$T/sleepy.yaml" <<EOS
name: sleepy
command: [sh, -c, 'echo "total 2" >&3; echo "progress 1" >&3; [ "\$NIGHTSHIFT_ATTEMPT" = 1 ] && sleep 300; echo "progress 2" >&3']
partitions: {list: [only]}
retry: {attempts: 2, backoff: 100ms}
executor: slurm
EOS
spawn sleepy "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/sleepy.yaml"
wait_for "the first attempt runs on slurm and reported progress" 60 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions p JOIN runs r ON r.id = p.run_id WHERE r.job = 'sleepy' AND p.progress = 1\" 2>/dev/null)\" = 1 ]"
R=$(sql "SELECT id FROM runs WHERE job = 'sleepy'")
job=$(sql "SELECT locator FROM attempts WHERE run_id = $R AND n = 1")
like "attempt 1 has a job id" "$job" '^[0-9]+_0$'
wait_for "Slurm runs $job" 30 sh -c "squeue -h -j '$job' -o %T | grep -q RUNNING"
scancel "$job"
wait_for "the run ends" 60 pid_gone "$SPAWNED"
wait "$SPAWNED"
is "the runtime exits 0" "$?" 0
is "attempt 1 is recorded as lost" "$(sql "SELECT outcome FROM attempts WHERE run_id = $R AND n = 1")" lost
like "its message says it was cancelled outside nightshift" \
    "$(sql "SELECT message FROM attempts WHERE run_id = $R AND n = 1")" "cancelled outside nightshift"
is "attempt 2 succeeded" "$(sql "SELECT outcome FROM attempts WHERE run_id = $R AND n = 2")" succeeded
is "the partition succeeded" "$(sql "SELECT state || ' ' || progress FROM partitions WHERE run_id = $R")" "succeeded 2"
# --- 5. clear errors --------------------------------------------------------
# (root may write anywhere on disk: /proc is where even root cannot.)
cat >"$T/badspool.yaml" <<EOS
name: badspool
command: ["true"]
partitions: {list: [a]}
executor: slurm
slurm: {spool: /proc/nightshift-spool}
EOS
ns run "$T/badspool.yaml" >"$T/badspool.out" 2>&1
is "an unusable spool refuses the run (exit 3)" "$?" 3
like "and says what must be true of it" "$(cat "$T/badspool.out")" \
    "^nightshift: run: slurm.spool: /proc/nightshift-spool: .*(it must be a writable directory on a filesystem the compute nodes share)"
cat >"$T/badpart.yaml" <<EOS
name: badpart
command: ["true"]
partitions: {list: [a]}
executor: slurm
slurm: {partition: no-such-partition}
EOS
ns run "$T/badpart.yaml" >"$T/badpart.out" 2>&1
is "a rejected submission fails the run (exit 1)" "$?" 1
R=$(sql "SELECT id FROM runs WHERE job = 'badpart'")
is "the partition failed" "$(sql "SELECT state FROM partitions WHERE run_id = $R")" failed
like "its attempt says what sbatch said" "$(sql "SELECT message FROM attempts WHERE run_id = $R")" \
    "lost.*not submitted: .*invalid partition"
done_testing
