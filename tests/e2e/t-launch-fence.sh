#!/bin/sh
# The Slurm launcher's fence (issue 18, remaining defect 1): a retry's
# launcher must not start its worker while an earlier attempt of the same
# partition still runs - on Slurm a lost task's worker outlives slurmd and
# Slurm can start the retry before it kills the old task. Driven here without
# Slurm: the real `nightshift _launch` is started by hand on a spool laid out
# as the runtime lays it out (SPOOL/RUN/a<ATTEMPT>/launch, SPOOL/RUN/b<N>/<TASK>
# -> ../a<ATTEMPT>), with real workers that log when they start and end.
#   1. the retry waits until the first attempt's worker has ended;
#   2. the first launcher killed -9 (as slurmstepd's end would) while its
#      worker lives on: the retry waits for the worker, not the launcher;
#   3. a background child the worker left behind holds the fence too;
#   4. another partition does not wait;
#   5. an earlier attempt that outlives the bound: the retry does not start,
#      and its exit file says why;
#   6. Slurm launching an attempt again (a controller restarted without
#      having saved the task's start): the second launch runs nothing,
#      leaves the attempt's files as the first one wrote them and exits with
#      the status the first recorded;
#   7. while the first launch still runs, the second one stays until it
#      ends (Slurm ending the second would end the first one's processes).
. "$(dirname "$0")/lib.sh"

SPOOL=$T/spool/run
mkdir -p "$SPOOL"
LOG=$T/order.log
: >"$LOG"

# launch_file DIR PARTITION SCRIPT: the launch file the runtime writes
# (records "<tag> <length>\n<bytes>\n"): sh -c SCRIPT, NIGHTSHIFT_PARTITION.
launch_file() {
    mkdir -p "$1"
    {
        printf 'nightshift-launch 1\n'
        for _a in sh -c "$3"; do printf 'A %s\n%s\n' "${#_a}" "$_a"; done
        for _e in "NIGHTSHIFT_PARTITION=$2" "LOG=$LOG" "PATH=$PATH"; do
            printf 'E %s\n%s\n' "${#_e}" "$_e"
        done
    } >"$1/launch"
}
# launch N ATTEMPT: starts the launcher of batch folder bN's task 0, which
# is attempt ATTEMPT, in the background ($! its pid).
launch() {
    mkdir -p "$SPOOL/b$1"
    ln -sfn "../a$2" "$SPOOL/b$1/0"
    SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_JOB_ID=$1 SLURM_JOB_ID=$1 \
        "$NIGHTSHIFT" _launch "$SPOOL/launch.sh" "$SPOOL/b$1" >>"$T/launcher.err" 2>&1 &
}
# line_of WORD: the line number of WORD's entry in the log (0 if none).
line_of() { grep -n "^$1\$" "$LOG" | head -1 | cut -d: -f1 | grep . || echo 0; }
exit_of() { head -1 "$SPOOL/a$1/exit" 2>/dev/null; }

# --- 1. the retry waits for the first attempt ----------------------------------
launch_file "$SPOOL/a1" 0 'echo a1-start >>"$LOG"; sleep 1.5; echo a1-end >>"$LOG"'
launch_file "$SPOOL/a2" 0 'echo a2-start >>"$LOG"'
launch 1 1
wait_for "attempt 1 runs" 10 grep -q a1-start "$LOG"
launch 2 2
l2=$!
wait "$l2"
is "the retry's launcher exits as its worker did" "$?" 0
check "the retry started only after attempt 1's worker ended" \
    test "$(line_of a2-start)" -gt "$(line_of a1-end)" -a "$(line_of a1-end)" -gt 0
is "attempt 1's exit file" "$(exit_of 1)" "exited 0"
is "the retry's exit file" "$(exit_of 2)" "exited 0"
like "the retry's report says it waited (a line of the run's event log)" \
    "$(cat "$SPOOL/a2/report")" "^log warn waited [0-9.]+ s for an earlier attempt of this partition to end"

# --- 2. the launcher killed, its worker lives on ---------------------------------
: >"$LOG"
launch_file "$SPOOL/a3" 1 'echo a3-start >>"$LOG"; sleep 1.5; echo a3-end >>"$LOG"'
launch_file "$SPOOL/a4" 1 'echo a4-start >>"$LOG"'
launch 3 3
l3=$!
wait_for "attempt 3 runs" 10 grep -q a3-start "$LOG"
kill -s KILL "$l3"
wait "$l3" 2>/dev/null
launch 4 4
wait $!
check "the retry waited for the orphaned worker, not its launcher" \
    test "$(line_of a4-start)" -gt "$(line_of a3-end)" -a "$(line_of a3-end)" -gt 0
check "the killed launcher wrote no exit file" test ! -e "$SPOOL/a3/exit"

# --- 3. a background child of the worker -----------------------------------------
: >"$LOG"
launch_file "$SPOOL/a5" 2 'echo a5-start >>"$LOG"; (sleep 1.5; echo a5-child-end >>"$LOG") & exit 0'
launch_file "$SPOOL/a6" 2 'echo a6-start >>"$LOG"'
launch 5 5
wait $!
is "attempt 5's worker exited at once" "$(exit_of 5)" "exited 0"
launch 6 6
wait $!
check "the retry waited for the child attempt 5 left running" \
    test "$(line_of a6-start)" -gt "$(line_of a5-child-end)" -a "$(line_of a5-child-end)" -gt 0

# --- 4. another partition does not wait -------------------------------------------
: >"$LOG"
launch_file "$SPOOL/a7" 3 'echo a7-start >>"$LOG"; sleep 3; echo a7-end >>"$LOG"'
launch_file "$SPOOL/a8" 4 'echo a8-start >>"$LOG"'
launch 7 7
l7=$!
wait_for "attempt 7 runs" 10 grep -q a7-start "$LOG"
launch 8 8
wait $!
is "partition 4's attempt ran while partition 3's still ran" "$(line_of a7-end)" 0
wait "$l7"

# --- 5. the bound -----------------------------------------------------------------
: >"$LOG"
launch_file "$SPOOL/a9" 5 'echo a9-start >>"$LOG"; sleep 4; echo a9-end >>"$LOG"'
launch_file "$SPOOL/a10" 5 'echo a10-start >>"$LOG"'
launch 9 9
l9=$!
wait_for "attempt 9 runs" 10 grep -q a9-start "$LOG"
(
    NIGHTSHIFT_FENCE_WAIT_S=1
    export NIGHTSHIFT_FENCE_WAIT_S
    launch 10 10
    wait $!
)
is "the retry's launcher gives up (127)" "$?" 127
like "its exit file says an earlier attempt still runs" "$(exit_of 10)" \
    "^error an earlier attempt of partition 5 still runs .*p5\.live.*not started$"
is "its worker never started" "$(line_of a10-start)" 0
wait "$l9"
is "launchers wrote nothing on their own stderr" "$(cat "$T/launcher.err")" ""

# --- 6. an attempt launched twice ------------------------------------------------
: >"$LOG"
launch_file "$SPOOL/a11" 6 'echo a11-run >>"$LOG"; exit 3'
launch 11 11
wait $!
is "attempt 11 ran" "$(grep -c a11-run "$LOG")" 1
job_before=$(cat "$SPOOL/a11/job")
launch 12 11
wait $!
is "the second launch of attempt 11 exits as the first one's worker did" "$?" 3
is "and did not run its worker again" "$(grep -c a11-run "$LOG")" 1
is "the exit file is still the first launch's" "$(exit_of 11)" "exited 3"
is "and so is the job file" "$(cat "$SPOOL/a11/job")" "$job_before"
like "the launcher says why on its stderr (Slurm's output file)" "$(cat "$T/launcher.err")" \
    "task 12_0 was launched before; an attempt runs once"

# --- 7. launched again while the first launch runs ---------------------------------
: >"$LOG"
launch_file "$SPOOL/a13" 7 'echo a13-start >>"$LOG"; sleep 1.5; echo a13-end >>"$LOG"; exit 4'
launch 13 13
l13=$!
wait_for "attempt 13 runs" 10 grep -q a13-start "$LOG"
launch 14 13
wait $!
is "the second launch exits with the first one's status" "$?" 4
check "and only once the first one's worker ended" grep -q a13-end "$LOG"
is "the worker ran once" "$(grep -c a13-start "$LOG")" 1
wait "$l13"
is "the first launch exits 4" "$?" 4
done_testing
