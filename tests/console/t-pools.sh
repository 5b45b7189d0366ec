#!/bin/sh
# t-pools.sh - the console's pools panel and a waiting run's reason (issue
# 19): two runs share a pool of 2 whose slots the first holds (its workers
# wait at a gate); P opens the panel: the pool used 2/2, the first run
# holding 2 slots with 2 attempts, the second waiting (with its priority); the second run's
# header says what it waits for; = sets the pool to 3 from the console
# (audited, source console), which the panel shows; q goes back.
. "$(dirname "$0")/lib.sh"

cat >"$T/work.sh" <<'EOS'
#!/bin/sh
while [ ! -e "$GATE" ]; do sleep 0.05; done
EOS
chmod +x "$T/work.sh"
for j in holder waiter; do
    cat >"$T/$j.yaml" <<EOS
name: $j
command: ["$T/work.sh"]
partitions: {range: {start: 1, end: 2}}
concurrency: 2
env: {GATE: "$T/go"}
pools: {warehouse: {slots: 2}}
uses: {warehouse: 1}
EOS
done
echo "priority: 3" >>"$T/waiter.yaml" # shown beside its wait
ns pool set warehouse 2 >/dev/null
spawn holder "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/holder.yaml"
wait_for "the holder holds both slots" 15 sql_is "SELECT count(*) FROM pool_holds" 2 || bail_out "no holds"
spawn waiter "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/waiter.yaml"
wait_for "the waiter waits" 15 sql_is "SELECT count(*) FROM pool_waiters" 1 || bail_out "no waiter"

console_start 120 30
keys P
wait_screen "P opens the pools panel" 5 '^Runs > pools'
wait_screen "the pool, full: 2/2, one holder, one waiter" 5 '^warehouse +2/2 +1 +1 +- +operator'
wait_screen "the holder's line: 2 slots, 2 attempts" 5 '^ +holds +run 1 +holder +2 slots, 2 attempts, since'
wait_screen "the waiter's line, wanting 1, with its priority" 5 '^ +waits +run 2 +waiter +wants 1, for .*, priority 3$'
keys =
wait_screen "= asks for the pool and its size" 5 'pool set NAME SLOTS:'
keys "warehouse 3" Enter
wait_screen "the console says the change" 5 'pool set: warehouse: 2 -> 3 slots'
wait_screen "and the panel shows it: the waiter holds one, its next waits" 5 '^warehouse +3/3 +2 +1 '
keys q
is "the console's pool set is audited, source console" \
    "$(sql "SELECT source || ' ' || result FROM pool_commands ORDER BY id DESC LIMIT 1")" "console warehouse: 2 -> 3 slots"
wait_screen "q goes back to the runs list" 5 '^Runs +'
keys Q
wait_for "the console exits" 5 console_exited

# The waiting run's header says why its partitions do not start.
touch "$T/go"
wait_for "both runs finish" 20 sql_is "SELECT count(*) FROM runs WHERE state = 'succeeded'" 2
rm -f "$T/go"
ns pool set warehouse 1 >/dev/null
spawn holder2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/holder.yaml" --rerun
wait_for "the new holder holds the slot" 15 sql_is "SELECT count(*) FROM pool_holds" 1
console_start 160 30 3
wait_screen "the run view" 5 '^Runs > run 3 holder'
wait_screen "its header says what its next attempt waits for" 5 'waiting for pool warehouse \(1/1 in use\) for'
keys Q
wait_for "the console exits" 5 console_exited
touch "$T/go"
done_testing
