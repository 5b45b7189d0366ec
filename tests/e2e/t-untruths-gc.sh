#!/bin/sh
# Issue 22, smaller untruths: gc said it deleted a run but left its files
# behind - the run-N.wake FIFO, the run-N.waiters folder and the log of a
# detached runtime (runtime-*.log). And `gc --keep-last N` keeps each job's
# N newest finished runs.
. "$(dirname "$0")/lib.sh"

cat >"$T/j.yaml" <<'YAML'
name: jobA
params: {n: "0"}
command: [echo, "{n}"]
partitions: {list: [a]}
YAML
sed 's/jobA/jobB/' "$T/j.yaml" >"$T/k.yaml"
for n in 1 2 3; do ns run "$T/j.yaml" -p n=$n --quiet >/dev/null 2>&1; done # runs 1-3
ns run "$T/k.yaml" -p n=1 --detach >/dev/null 2>&1                         # run 4
timeout 20 "$NIGHTSHIFT" events --db "$NIGHTSHIFT_DB" 4 --follow >/dev/null
is "run 4 (detached) succeeded and its runtime is gone" "$?" 0
ns run "$T/k.yaml" -p n=2 --quiet >/dev/null 2>&1                          # run 5
data=$NIGHTSHIFT_DB.d
log4=$(sql "SELECT runtime_log FROM runs WHERE id = 4")
check "run 4 has a detached runtime's log" test -f "$log4"
check "run 1 has a wake-up FIFO" test -p "$data/run-1.wake"

ns gc --keep-last 1 >"$T/dry.out" 2>&1
is "gc --keep-last 1 alone is a dry run that lists the older runs of each job" \
    "$(grep '^would delete' "$T/dry.out" | cut -d' ' -f1-5 | tr '\n' ',')" \
    "would delete run 1 jobA,would delete run 2 jobA,would delete run 4 jobB,"
ns gc --keep-last 1 --yes >"$T/yes.out" 2>&1
is "issue 22: gc --keep-last 1 keeps each job's newest finished run" \
    "$(sql "SELECT group_concat(id) FROM runs")" "3,5"
for r in 1 2 4; do
    check "issue 22: gc removed run $r's wake-up FIFO" test ! -e "$data/run-$r.wake"
    check "  and its waiters folder" test ! -e "$data/run-$r.waiters"
done
check "issue 22: gc removed run 4's runtime log" test ! -e "$log4"
check "the kept run 3 keeps its FIFO" test -p "$data/run-3.wake"
ns gc --older-than 30d --keep-last 1 >"$T/both.out" 2>&1
like "both: only what is older and beyond the newest" "$(cat "$T/both.out")" "^no finished run to delete"
ns gc >/dev/null 2>&1
is "gc with neither is a usage error" "$?" 2
done_testing
