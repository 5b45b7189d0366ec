#!/bin/sh
# Pools across crashes (issue 19): a runtime killed (SIGKILL, as kill -9)
# at each pool crash point - its slots being held with an attempt's start
# (pool_grant), given back with its end (pool_release), and just after the
# commit that held them - never strands the pool: a neighbour run on the
# same pool of 1 finishes, the crashed run's rerun finishes, every partition
# of both succeeded by exactly one attempt, and no slot stays held.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/specs"
for j in armed neighbour; do
    cat >"$T/specs/$j.yaml" <<EOS
name: $j
command: [sleep, "0.2"]
partitions: {range: {start: 1, end: 3}}
concurrency: 3
pools: {one: {slots: 1}}
uses: {one: 1}
EOS
done

once_each() {
    sqlite3 -cmd '.timeout 5000' "$1" "SELECT group_concat(n, ',') FROM (SELECT count(*) AS n FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job = '$2' AND a.outcome = 'succeeded' GROUP BY a.idx)"
}

for point in pool_grant.before pool_grant.after pool_release.before pool_release.after commit.after; do
    db=$T/$point/db.sqlite
    "$NIGHTSHIFT" pool set --db "$db" one 1 >/dev/null
    (
        NIGHTSHIFT_CRASHPOINT=$point:2 "$NIGHTSHIFT" run --db "$db" "$T/specs/armed.yaml" >"$T/$point.armed" 2>&1
        echo $? >"$T/$point.rc"
    ) &
    armed=$!
    # A slot stranded by the dead runtime would keep the neighbour waiting.
    timeout 30 "$NIGHTSHIFT" run --db "$db" "$T/specs/neighbour.yaml" >"$T/$point.neighbour" 2>&1
    is "$point: the neighbour run on the same pool succeeded" "$?" 0
    wait "$armed"
    is "$point: the armed runtime was killed there" "$(cat "$T/$point.rc")" 137
    "$NIGHTSHIFT" run --db "$db" "$T/specs/armed.yaml" >"$T/$point.rerun" 2>&1
    is "$point: the rerun succeeded" "$?" 0
    is "$point: each partition of the crashed run succeeded exactly once" "$(once_each "$db" armed)" "1,1,1"
    is "$point: each partition of the neighbour succeeded exactly once" "$(once_each "$db" neighbour)" "1,1,1"
    is "$point: no slot held or awaited at the end" \
        "$(sqlite3 "$db" "SELECT (SELECT count(*) FROM pool_holds) + (SELECT count(*) FROM pool_waiters)")" 0
done
done_testing
