#!/bin/sh
# t-executor.sh - the console says where a run executes: the runs list marks
# a Slurm run "JOB @slurm", and its partition view shows each attempt's Slurm
# job id where a local attempt shows its pid. The run is a real local run
# whose rows are then marked as a Slurm run's (the console only reads them;
# tests/e2e/t-slurm-*.sh check the real thing), so this needs no Slurm.
. "$(dirname "$0")/lib.sh"

cat >"$T/two.yaml" <<EOS
name: two
command: [sh, -c, 'echo "total 1" >&3; echo "progress 1" >&3']
partitions: {list: [a, b]}
EOS
cat >"$T/here.yaml" <<EOS
name: here
command: ["true"]
partitions: {list: [x]}
EOS
ns run "$T/two.yaml" >/dev/null 2>&1 || bail_out "run two"
ns run "$T/here.yaml" >/dev/null 2>&1 || bail_out "run here"
sql "UPDATE runs SET executor = 'slurm' WHERE job = 'two';
     UPDATE attempts SET executor = 'slurm', locator = '881_' || idx, label = 'job 881_' || idx
     WHERE run_id = (SELECT id FROM runs WHERE job = 'two')"

console_start 120 30
wait_screen "the Slurm run is marked" 5 '^ +1 two @slurm +'
wait_screen "the local run is not" 5 '^ +2 here +'
check "no @local anywhere" sh -c "! (tmux -L '$TMUX_SOCK' capture-pane -p -t c | grep -q '@local')"
keys j Enter # newest first: run 2 on top
wait_screen "the run view" 5 '^Runs > run 1 two'
wait_screen "partition a" 5 '^ +0 a +succeeded'
keys Enter
wait_screen "the partition view" 5 'Runs > run 1 two > partition 0'
wait_screen "its attempts say WHERE, not PID" 5 'N +STARTED +DURATION +WHERE +OUTCOME'
wait_screen "the attempt shows its Slurm job id" 5 '^ +1 .* job 881_0 +succeeded'
keys q q
wait_screen "back on the runs list" 5 '^ +2 here +'
keys k Enter
wait_screen "the local run view" 5 '^Runs > run 2 here'
keys Enter
wait_screen "the local partition view" 5 'Runs > run 2 here > partition 0'
wait_screen "a local attempt shows its PID" 5 'N +STARTED +DURATION +PID +OUTCOME'
keys Q
wait_for "the console exits" 5 console_exited
done_testing
