#!/bin/sh
# Run ids come round again (a database made anew beside its old data
# directory, gc of the newest run); nothing named by a run id may then be
# taken for the new run's (issue 18, item 0, locally): the attempt-log
# directory of the earlier run 1 is moved aside, never shown as the new
# run 1's logs, and the new run's token differs.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/specs"
cat >"$T/specs/say.yaml" <<'EOS'
name: say
command: [sh, -c, '[ -n "$SAY" ] && echo "old run says $NIGHTSHIFT_PARTITION_KEY"; exit 0']
partitions: {list: [a, b]}
EOS
SAY=1 ns run "$T/specs/say.yaml" >"$T/r1.out" 2>&1
is "the first run exits 0" "$?" 0
like "its log holds what it said" "$(ns logs 1 0 2>/dev/null)" "old run says a"
token1=$(sql "SELECT token FROM runs WHERE id = 1")

rm -f "$NIGHTSHIFT_DB" "$NIGHTSHIFT_DB-wal" "$NIGHTSHIFT_DB-shm"
ns run "$T/specs/say.yaml" >"$T/r2.out" 2>&1
is "the run in a new database exits 0" "$?" 0
is "it is run 1 again" "$(sql "SELECT max(id) FROM runs")" 1
check "with a token of its own" test "$(sql "SELECT token FROM runs WHERE id = 1")" != "$token1"
out=$(ns logs 1 0 2>&1)
is "its logs are not the earlier run's" "$(printf "%s" "$out" | grep -c "old run says")" 0
check "the earlier run's logs were moved aside, not deleted" \
    grep -q "old run says a" "$NIGHTSHIFT_DB.d/run-1.orphan-$(sql "SELECT token FROM runs WHERE id = 1")/0/p000000-a1.log"

# A resumed run keeps its directory: nothing is moved on a resume.
ns run "$T/specs/say.yaml" >"$T/r3.out" 2>&1
is "running it again says it already succeeded" "$?" 0
is "one directory set aside, still" "$(ls -d "$NIGHTSHIFT_DB.d"/run-1.orphan-* | wc -l)" 1
done_testing
