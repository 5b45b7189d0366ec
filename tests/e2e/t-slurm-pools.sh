#!/bin/sh
# Pools across local and Slurm runs (issue 19): a local run and a run on the
# test Slurm (slurm-lib.sh) share a pool of 2. A Slurm task is submitted only
# once its slots are granted and holds them until it ends, so across the two
# runs never more than 2 workers run at once; both finish, every partition
# once, and no slot stays held.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

cat >"$T/work.sh" <<'EOS'
#!/bin/sh
echo "S $(date +%s.%N) $NIGHTSHIFT_JOB $NIGHTSHIFT_PARTITION" >>"$LOG"
sleep 1
echo "E $(date +%s.%N) $NIGHTSHIFT_JOB $NIGHTSHIFT_PARTITION" >>"$LOG"
EOS
chmod +x "$T/work.sh"
# spec NAME EXECUTOR
spec() {
    cat >"$T/$1.yaml" <<EOS
name: $1
command: ["$T/work.sh"]
partitions: {range: {start: 1, end: 4}}
concurrency: 4
env: {LOG: "$T/work.log"}
executor: $2
pools: {shared: {slots: 2}}
uses: {shared: 1}
EOS
}
spec onslurm slurm
spec onhost local

ns pool set shared 2 >/dev/null
ns run "$T/onslurm.yaml" >"$T/onslurm.out" 2>&1 &
slurm_run=$!
ns run "$T/onhost.yaml" >"$T/onhost.out" 2>&1
is "the local run succeeded" "$?" 0
wait "$slurm_run"
is "the Slurm run succeeded" "$?" 0
is "8 workers ran, 4 of each run" \
    "$(awk '$1 == "S" { n[$3]++ } END { print n["onslurm"] + 0, n["onhost"] + 0 }' "$T/work.log")" "4 4"
is "never more than 2 at once across the local and the Slurm run" \
    "$(sort -k2,2n "$T/work.log" | awk '$1 == "S" { n++ } $1 == "E" { n-- } n > m { m = n } END { print m }')" 2
is "every attempt of the Slurm run ran on Slurm" \
    "$(sql "SELECT count(*) FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job = 'onslurm' AND a.executor = 'slurm' AND a.outcome = 'succeeded'")" 4
is "no slot held or awaited at the end" \
    "$(sql "SELECT (SELECT count(*) FROM pool_holds) + (SELECT count(*) FROM pool_waiters)")" 0
done_testing
