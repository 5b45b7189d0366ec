#!/bin/sh
# A task that leaves no exit file gets its real outcome from Slurm's jobcomp
# file (JobCompType=jobcomp/filetxt, found through `scontrol show config`),
# not `lost`: on a real single-node Slurm, each worker makes the launcher's
# exit-status file impossible to write (a directory named `exit` in its
# attempt's spool directory), then exits 3 (partition a) or 0 (b). Slurm's
# record says FAILED 3:0 / COMPLETED 0:0; the runtime must say the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

mkdir -p "$T/specs"
cat >"$T/specs/nofile.yaml" <<'EOS'
name: nofile
command: [sh, -c, 'd=$(dirname "$(readlink /proc/self/fd/3)"); mkdir "$d/exit"; echo "progress 1" >&3; [ "$NIGHTSHIFT_PARTITION_KEY" = a ] && exit 3; exit 0']
partitions: {list: [a, b]}
concurrency: 2
executor: slurm
EOS
t0=$(now_ms)
ns run "$T/specs/nofile.yaml" >"$T/run.out" 2>&1
rc=$?
diag "the run took $(($(now_ms) - t0)) ms"
is "the run ends 1 (a failed)" "$rc" 1
is "no exit file was written" "$(find "$NIGHTSHIFT_DB.d/slurm-spool" -name exit -type f | grep -c .)" 0
check "Slurm's jobcomp file has the tasks" grep -q 'ExitCode=3:0' "$SLURM_JOBCOMP"
is "a failed with exit 3, b succeeded (outcomes from the jobcomp record, not lost)" \
    "$(sql "SELECT group_concat(p.key || ':' || a.outcome || ':' || coalesce(a.exit_code, '-'), ' ') FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx ORDER BY a.idx")" \
    "a:failed:3 b:succeeded:0"
like "the attempt says where its outcome came from" \
    "$(sql "SELECT message FROM attempts WHERE idx = 0")" \
    "^exit 3 after .*; no exit file; Slurm's jobcomp record: job [0-9]+_[0-9] FAILED, ExitCode 3:0$"
is "partition states" "$(sql "SELECT group_concat(key || ':' || state, ' ') FROM partitions ORDER BY idx")" "a:failed b:succeeded"

done_testing
