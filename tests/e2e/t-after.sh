#!/bin/sh
# Runs that wait for runs (after:, issue 20). `load` and `extract` over the
# same 5 days, load started first: it waits for a run of extract that does
# not exist yet, and says so; then partition by partition, each load day
# starts only after that extract day succeeded (its start >= extract's end
# for the day), and load's day 1 starts before extract's day 5 ends. A failed
# extract day keeps its load day waiting, with the reason in status --json;
# `retry` of the extract day and the load day follows. With on_failure: skip
# the load day is skipped with the reason instead, and a retry of both runs
# it. A cycle is refused at start, naming the chain. `run --after RUN` waits
# for a whole run.
. "$(dirname "$0")/lib.sh"

# job NAME SLEEP CONCURRENCY AFTER-YAML: a spec over 2026-11-01..05 whose
# worker logs "NAME KEY start|end T" to $T/times and fails while
# $T/fail-NAME-KEY exists.
job() {
    cat >"$T/$1.yaml" <<YAML
name: $1
params: {dir: "$T", set: a}
command: [sh, -c, 'echo "\$0 \$1 start \$(date +%s.%N)" >>"\$2/times-\$3"; sleep $2; if [ -e "\$2/fail-\$0-\$1" ]; then exit 1; fi; echo "\$0 \$1 end \$(date +%s.%N)" >>"\$2/times-\$3"', $1, "{date}", "{dir}", "{set}"]
partitions: {dates: {from: "2026-11-01", to: "2026-11-05"}}
concurrency: $3
retry: {attempts: 1}
$4
YAML
}
job extract 0.4 1 ""
job load 0.05 5 "after:
  - {job: extract, partitions: same-key, on_failure: wait}"

: >"$T/fail-extract-2026-11-03"
ns run "$T/load.yaml" --detach >/dev/null 2>&1
is "load starts first, in the background" "$?" 0
wait_for "load says it waits for a run of extract that does not exist yet" 10 sh -c \
    "'$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' 1 --json | grep -q 'waiting for a run of extract (none yet)'"
is "status --json counts the five days waiting" "$(ns status 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["waiting_total"])')" 5
ns run "$T/extract.yaml" --detach >/dev/null 2>&1
ns wait 2 >/dev/null
is "extract ends failed (one day failed)" "$?" 1
wait_for "load runs the four days whose extract succeeded" 10 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT n_succeeded FROM runs WHERE id = 1\")\" = 4 ]"
reason=$(ns status 1 --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["waiting_total"], *[w["key"] + ": " + w["reason"] for w in s["waiting"]])')
is "load's 3rd day waits, with the reason in status --json" "$reason" \
    "1 2026-11-03: waiting for extract 2026-11-03 (failed, attempt 1/1)"
like "status says it too" "$(ns status 1)" "waiting for upstreams \(1\):
 +2 +2026-11-03 +waiting for extract 2026-11-03 \(failed, attempt 1/1\)"
is "the load run is still running" "$(sql "SELECT state FROM runs WHERE id = 1")" running
like "its morning report says what it waits on" "$(ns summary 1)" "waits on +waiting for extract 2026-11-03 \(failed, attempt 1/1\)"
is "and so does its JSON" "$(ns summary 1 --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["waits_on"])')" \
    "waiting for extract 2026-11-03 (failed, attempt 1/1)"

rm -f "$T/fail-extract-2026-11-03"
ns retry 2 2026-11-03 --start >/dev/null 2>&1
is "retry of the failed extract day (a runtime started for it)" "$?" 0
ns wait 1 --timeout 20s >/dev/null
is "load's last day follows, and load succeeds" "$?" 0
ns wait 2 --timeout 20s >/dev/null
is "extract succeeds once its day is retried" "$?" 0

# Every load day started after its extract day ended; day 1 before day 5's end.
check_order() {
    python3 - "$1" <<'PY'
import sys
t = {}
for line in open(sys.argv[1]):
    job, key, what, at = line.split()
    t[(job, key, what)] = float(at)  # the last attempt's
bad = [k for (j, k, w) in t if j == "load" and w == "start"
       and t[("load", k, "start")] < t[("extract", k, "end")]]
print("order ok" if not bad else "load before extract: %s" % bad)
print("pipelined" if t[("load", "2026-11-01", "start")] < t[("extract", "2026-11-05", "end")]
      else "load day 1 started after extract day 5 ended")
PY
}
is "no load day started before its extract day ended" "$(check_order "$T/times-a" | head -1)" "order ok"
is "partition by partition: load day 1 started before extract day 5 ended" \
    "$(check_order "$T/times-a" | tail -1)" "pipelined"
is "each load day ran once" "$(grep -c '^load .* end' "$T/times-a")" 5

# on_failure: skip - the load day is skipped with the reason, and the run
# ends (a skipped day is caught up by a later run).
job load 0.05 5 "after:
  - {job: extract, partitions: same-key, on_failure: skip}"
: >"$T/fail-extract-2026-11-02"
ns run "$T/extract.yaml" -p set=b --detach >/dev/null 2>&1
ns run "$T/load.yaml" -p set=b --detach >/dev/null 2>&1
ns wait job:extract --timeout 20s >/dev/null
is "extract (set b) fails one day" "$?" 1
ns wait job:load --timeout 20s >/dev/null
is "load (set b) ends: its day 2 is skipped, not failed" "$?" 0
is "the skipped day says why" "$(sql "SELECT skip_reason FROM partitions WHERE run_id = 4 AND key = '2026-11-02'")" \
    "after extract 2026-11-02 (failed, attempt 1/1)"
is "load (set b) ran the four other days" "$(grep -c '^load .* end' "$T/times-b")" 4
is "no load day before its extract day (set b)" "$(check_order "$T/times-b" | head -1)" "order ok"

# Many days (more than upstream.c's LOOK_ALL_BELOW held at once): with the
# load runtime's slow poll at 10 minutes, only hints can start its days -
# extract's runtime pokes the runs waiting for a run of its job as it
# starts, then after each commit in which days settled (each look then only
# at the days that settled since the last one).
cat >"$T/x80.yaml" <<YAML
name: x80
params: {dir: "$T"}
command: [sh, -c, 'sleep 0.04; echo "extract \$0 end \$(date +%s.%N)" >>"\$1/times-80"', "{date}", "{dir}"]
partitions: {dates: {from: "2026-01-01", to: "2026-03-21"}}
concurrency: 2
YAML
cat >"$T/l80.yaml" <<YAML
name: l80
params: {dir: "$T"}
command: [sh, -c, 'echo "load \$0 start \$(date +%s.%N)" >>"\$1/times-80"', "{date}", "{dir}"]
partitions: {dates: {from: "2026-01-01", to: "2026-03-21"}}
concurrency: 4
after: [{job: x80}]
YAML
NIGHTSHIFT_POLL_MS=600000 ns run "$T/l80.yaml" --detach >/dev/null 2>&1
ns run "$T/x80.yaml" --detach >/dev/null 2>&1
ns wait job:l80 --timeout 60s >/dev/null
is "80 days: load follows extract on the hints alone" "$?" 0
python3 -c "
e, l = {}, {}
for line in open('$T/times-80'):
    job, key, what, at = line.split()
    (e if job == 'extract' else l)[key] = float(at)
print(len(l), sum(1 for k in l if l[k] < e[k]))
print(min(l.values()) < max(e.values()))" >"$T/order-80"
is "every one of the 80 load days after its extract day" "$(head -1 "$T/order-80")" "80 0"
is "and day by day, not at extract's end: load's first day before extract's last" "$(tail -1 "$T/order-80")" True

# A key the upstream run does not have: the partition fails with the reason
# (missing: error, the default), or runs without waiting (missing: ignore).
for m in error ignore; do
    job load 0.01 5 "after:
  - {job: extract, missing: $m}"
    sed -i 's/to: "2026-11-05"/to: "2026-11-06"/' "$T/load.yaml"
    ns run "$T/load.yaml" -p set=a --rerun -q >/dev/null
    echo "$?" >"$T/missing-$m.rc"
done
is "missing: error - the day extract does not have fails the run" "$(cat "$T/missing-error.rc")" 1
is "with the reason" "$(sql "SELECT last_message FROM partitions p JOIN runs r ON r.id = p.run_id WHERE r.job = 'load' AND p.key = '2026-11-06' AND p.state = 'failed'")" \
    "extract run 2 has no partition 2026-11-06 (missing: ignore would run it)"
is "missing: ignore - that day runs" "$(cat "$T/missing-ignore.rc")" 0

# A cycle is refused at start, naming the chain.
job extract 0.1 1 "after:
  - {job: load, partitions: all}"
out=$(ns run "$T/extract.yaml" -p set=c 2>&1)
is "a cycle is refused" "$?" 3
like "naming the chain" "$out" "after: a cycle, refused: extract -> load -> extract"
is "and no run is made for it" "$(sql "SELECT count(*) FROM runs WHERE params LIKE '%set=c%'")" 0

# run --after RUN: the whole run first.
job solo 0.05 2 ""
ns run "$T/solo.yaml" -p set=d --after 2 >/dev/null 2>&1
is "run --after a run that succeeded runs at once" "$?" 0
ns run "$T/solo.yaml" -p set=e --after run:3 --detach >/dev/null 2>&1
wait_for "run --after a failed run waits, and says on what" 10 sh -c \
    "'$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' job:solo | grep -q 'waiting for extract run 3 (failed, 5/5 done, some failed)'"
ns stop job:solo >/dev/null 2>&1
ns wait job:solo --timeout 10s >/dev/null
is "and is stopped by an operator like any run" "$?" 4
ns run "$T/solo.yaml" -p set=f --after job:nosuch >/dev/null 2>"$T/after.err"
is "run --after a run that does not exist exits 3" "$?" 3
like "and says so" "$(cat "$T/after.err")" "^nightshift: run: no run \"job:nosuch\" in "
done_testing
