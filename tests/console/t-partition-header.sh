#!/bin/sh
# t-partition-header.sh - the partition view's header at 80 columns: each
# figure whole or not at all. A partition retried by an operator has the
# longest header ("attempts 2/2 ... (1/1 attempts since the last retry)");
# with a 10-byte key its time was cut to "time 0." - a figure that lies.
. "$(dirname "$0")/lib.sh"

key=key-ten-ch
cat >"$T/fails.yaml" <<EOS
name: fails
command: [sh, -c, 'echo "total 4" >&3; echo "progress 3" >&3; sleep 0.2; exit 2']
partitions: {list: [$key]}
retry: {attempts: 1}
EOS
ns run "$T/fails.yaml" >/dev/null 2>&1
is "the run fails" "$?" 1
ns retry 1 --failed >/dev/null 2>&1 || bail_out "retry queued"
ns run "$T/fails.yaml" >/dev/null 2>&1
is "the queued retry runs, and fails again" "$(sql "SELECT attempts_total FROM partitions WHERE run_id = 1")" 2

console_start 80 24 1
wait_screen "the run view" 5 '^Runs > run 1 fails'
keys Enter
wait_screen "the partition view" 5 'Runs > run 1 fails > partition 0'
wait_screen "the header's figures, each whole: attempts, time, progress" 5 \
    "^partition 0  $key  failed  attempts 2/2  time [0-9.]+s  progress 3/4(  errors 0)? *$"
keys Q
wait_for "the console exits" 5 console_exited && ok "the console exits"
done_testing
