#!/bin/sh
# An attempt's outcome comes only from its own Slurm task, never from spool
# files an earlier run left behind under the same ids (issue 18, item 0).
# SQLite hands run and attempt ids out again: a database made anew at the
# same path starts at run 1, attempt 1, and gc of the newest run gives its
# ids to the next one. On a real single-node Slurm:
#   1. two complete runs with the database deleted between them (its data
#      directory, with the first run's spool, kept): outputs exact, every
#      attempt as long as its worker;
#   2. a run after gc deleted the newest run (same run and attempt ids):
#      the same;
#   3. an attempt folder left over under the next attempt's id (a runtime
#      that died before its attempt row was committed) is never reused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

OUT=$T/out
mkdir -p "$T/specs" "$OUT"
# Each day writes 300 lines, slowly enough (>= 1 s) that an attempt ended
# by someone else's exit file is seen: it would end at once, its file short,
# before the time its worker writes last (KEY.end).
cat >"$T/specs/days.yaml" <<EOS
name: days
command: [sh, -c, 'f=$OUT/\$NIGHTSHIFT_PARTITION_KEY.txt; : >"\$f"; i=0; while [ \$i -lt 300 ]; do i=\$((i+1)); echo "\$NIGHTSHIFT_PARTITION_KEY \$i" >>"\$f"; if [ \$((i % 60)) -eq 0 ]; then echo "progress \$i" >&3; sleep 0.25; fi; done; date +%s.%N >$OUT/\$NIGHTSHIFT_PARTITION_KEY.end; exit 0']
partitions: {list: [d1, d2, d3, d4]}
concurrency: 2
executor: slurm
EOS

expected() { i=0; while [ $i -lt 300 ]; do i=$((i + 1)); echo "$1 $i"; done; }
for k in d1 d2 d3 d4; do expected $k >"$T/$k.want"; done

# check_run LABEL: the newest run succeeded with exact outputs, one success
# per day, and no attempt ended sooner than its worker can run.
check_run() {
    R=$(sql "SELECT max(id) FROM runs")
    is "$1: 4 days succeeded" "$(sql "SELECT count(*) FROM partitions WHERE run_id = $R AND state = 'succeeded'")" 4
    is "$1: one attempt each" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R")" 4
    is "$1: no attempt ended before its worker's 1 s" \
        "$(sql "SELECT count(*) FROM attempts WHERE run_id = $R AND (ended_at - started_at < 1.0 OR outcome <> 'succeeded')")" 0
    for k in d1 d2 d3 d4; do
        check "$1: output $k is exact" cmp -s "$T/$k.want" "$OUT/$k.txt"
        is "$1: $k's attempt ended after its worker did" \
            "$(sql "SELECT ended_at >= $(cat "$OUT/$k.end" 2>/dev/null || echo 1e12) - 0.05 FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE a.run_id = $R AND p.key = '$k'")" 1
    done
}

# --- 1. the database deleted between two complete runs ----------------------
ns run "$T/specs/days.yaml" >"$T/run1.out" 2>&1
is "run 1 exits 0" "$?" 0
check_run "first database"
spool=$NIGHTSHIFT_DB.d/slurm-spool
is "the spool holds the first run's attempts" "$(find "$spool" -name exit -type f | grep -c .)" 4
token1=$(sql "SELECT token FROM runs WHERE id = 1")
like "the run has a random token" "$token1" '^[0-9a-f]{16}$'

rm -f "$OUT"/*.txt "$OUT"/*.end "$NIGHTSHIFT_DB" "$NIGHTSHIFT_DB-wal" "$NIGHTSHIFT_DB-shm"
ns run "$T/specs/days.yaml" >"$T/run2.out" 2>&1
is "the run in a new database exits 0" "$?" 0
is "it is run 1 again" "$(sql "SELECT max(id) FROM runs")" 1
check "its token differs" test "$(sql "SELECT token FROM runs WHERE id = 1")" != "$token1"
check_run "new database"
is "each run has a spool folder of its own" "$(find "$spool" -mindepth 1 -maxdepth 1 -type d | grep -c .)" 2

# --- 2. gc deleted the newest run ------------------------------------------
sqlite3 "$NIGHTSHIFT_DB" "UPDATE runs SET finished_at = finished_at - 86400 * 40"
ns gc --older-than 30d --yes >"$T/gc.out" 2>&1
is "gc deletes run 1" "$?" 0
is "no run is left" "$(sql "SELECT count(*) FROM runs")" 0
rm -f "$OUT"/*.txt "$OUT"/*.end
ns run "$T/specs/days.yaml" >"$T/run3.out" 2>&1
is "the run after gc exits 0" "$?" 0
is "it got run id 1 once more" "$(sql "SELECT max(id) FROM runs")" 1
is "and attempt ids 1-4 once more" "$(sql "SELECT group_concat(id, ',') FROM (SELECT id FROM attempts ORDER BY id)")" 1,2,3,4
check_run "after gc"

# --- 3. a leftover folder under the next attempt's id -------------------------
# Job "once" fails on attempt 1; before its retry, the folder a runtime
# would have made for the next attempt before dying uncommitted is planted,
# with an exit file of a task that is not the retry's.
cat >"$T/specs/once.yaml" <<EOS
name: once
command: [sh, -c, '[ -e $OUT/fail ] && exit 3; f=$OUT/x.txt; : >"\$f"; i=0; while [ \$i -lt 300 ]; do i=\$((i+1)); echo "x \$i" >>"\$f"; [ \$((i % 60)) -eq 0 ] && sleep 0.25; done; exit 0']
partitions: {list: [x]}
retry: {attempts: 1}
executor: slurm
EOS
expected x >"$T/x.want"
: >"$OUT/fail"
ns run "$T/specs/once.yaml" >"$T/once1.out" 2>&1
is "once fails on its first attempt" "$?" 1
R=$(sql "SELECT id FROM runs WHERE job = 'once'")
next=$(($(sql "SELECT max(id) FROM attempts") + 1))
run_spool=$(find "$spool" -mindepth 1 -maxdepth 1 -type d -name "*.$R.$(sql "SELECT token FROM runs WHERE id = $R")")
check "the run's spool folder is named by its token" test -d "$run_spool"
mkdir "$run_spool/a$next"
printf 'exited 0\ntask 999999_0 %s\n' "$(basename "$run_spool")" >"$run_spool/a$next/exit"
rm -f "$OUT/fail"
ns retry "$R" key:x >"$T/retry.out" 2>&1
like "the retry is queued for the next runtime" "$(cat "$T/retry.out")" "retry queued"
ns run "$T/specs/once.yaml" >"$T/once2.out" 2>&1
is "the resumed run exits 0" "$?" 0
is "x ran again as attempt $next" "$(sql "SELECT id FROM attempts WHERE run_id = $R AND n = 2")" "$next"
check "that attempt took a folder of its own" test -f "$run_spool/a$next.1/exit"
is "the leftover folder is untouched" "$(cat "$run_spool/a$next/exit")" "$(printf 'exited 0\ntask 999999_0 %s' "$(basename "$run_spool")")"
is "the attempt lasted its worker's time" "$(sql "SELECT outcome, ended_at - started_at >= 1.0 FROM attempts WHERE id = $next")" "succeeded|1"
check "output x is exact" cmp -s "$T/x.want" "$OUT/x.txt"
like "its exit file names its own task and run" "$(sed -n 2p "$run_spool/a$next.1/exit")" "^task [0-9]+_0 $(basename "$run_spool")\$"

# An exit file that names another task is not believed, even in the task's
# own folder: the unit test of exit_is_ours covers the parse; here the
# runtime ends such a task by what Slurm says once its grace is over.
done_testing
