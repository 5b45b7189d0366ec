#!/bin/sh
# Shared pools (issue 19): `priority:` orders the waiters. A pool of 1 is
# held by a run whose worker waits at a gate; a run of priority 0 begins to
# wait, then one of priority 10. When the gate opens, the priority-10 run's
# partitions start before the older waiter's, and all three runs finish.
. "$(dirname "$0")/lib.sh"

cat >"$T/work.sh" <<'EOS'
#!/bin/sh
while [ ! -e "$GATE" ]; do sleep 0.05; done
EOS
chmod +x "$T/work.sh"
# spec NAME PARTITIONS PRIORITY
spec() {
    cat >"$T/$1.yaml" <<EOS
name: $1
command: ["$T/work.sh"]
partitions: {range: {start: 1, end: $2}}
env: {GATE: "$T/go"}
pools: {one: {slots: 1}}
uses: {one: 1}
priority: $3
EOS
}
spec holder 1 0
spec low 2 0
spec high 2 10
ns pool set one 1 >/dev/null
spawn holder "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/holder.yaml"
wait_for "the holder holds the slot" 15 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT count(*) FROM pool_holds' 2>/dev/null)\" = 1 ]"
spawn low "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/low.yaml"
wait_for "the low run waits" 15 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT count(*) FROM pool_waiters' 2>/dev/null)\" = 1 ]"
spawn high "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/high.yaml"
wait_for "the high run waits too" 15 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT count(*) FROM pool_waiters' 2>/dev/null)\" = 2 ]"
is "the waiters carry their priority" "$(sql "SELECT group_concat(r.job || '=' || w.priority, ' ') FROM (SELECT * FROM pool_waiters ORDER BY since) w JOIN runs r ON r.id = w.run_id")" "low=0 high=10"
touch "$T/go"
wait_for "all three runs finish" 30 sh -c "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM runs WHERE state = 'succeeded'\")\" = 3 ]"
is "after the holder, the priority-10 run's partitions started first, then the older waiter's" \
    "$(sql "SELECT group_concat(job, ' ') FROM (SELECT r.job FROM attempts a JOIN runs r ON r.id = a.run_id ORDER BY a.started_at)")" \
    "holder high high low low"
done_testing
