#!/bin/sh
# Runs that wait for runs (after:, issue 20) with both runs on a real
# single-node Slurm (slurm-lib.sh): the dependency is kept by the runtime, so
# the same facts hold as locally (t-after.sh). `load` and `extract` over the
# same 4 days, load started first: it waits; each load day's task starts
# only after that extract day succeeded, and load's day 1 starts before
# extract's day 4 ends; a failed extract day keeps its load day waiting (the
# reason in status --json); a retry of that extract day, and the load day
# follows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"
slurm_start

# job NAME SLEEP AFTER-YAML: a Slurm spec over 2026-11-01..04 whose worker
# logs "NAME KEY start|end T" to $T/times and fails while $T/fail-NAME-KEY
# exists.
job() {
    cat >"$T/$1.yaml" <<YAML
name: $1
params: {dir: "$T"}
command: [sh, -c, 'echo "\$0 \$1 start \$(date +%s.%N)" >>"\$2/times"; sleep $2; if [ -e "\$2/fail-\$0-\$1" ]; then exit 1; fi; echo "\$0 \$1 end \$(date +%s.%N)" >>"\$2/times"', $1, "{date}", "{dir}"]
partitions: {dates: {from: "2026-11-01", to: "2026-11-04"}}
concurrency: 1
retry: {attempts: 1}
executor: slurm
$3
YAML
}
job extract 1 ""
job load 0.1 "after:
  - {job: extract, partitions: same-key, on_failure: wait}"

: >"$T/fail-extract-2026-11-03"
ns run "$T/load.yaml" --detach >/dev/null 2>&1
is "load starts first, in the background" "$?" 0
wait_for "load says it waits for a run of extract that does not exist yet" 20 sh -c \
    "'$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' 1 --json | grep -q 'waiting for a run of extract (none yet)'"
is "no task of load was submitted to Slurm meanwhile" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1")" 0
ns run "$T/extract.yaml" --detach >/dev/null 2>&1
ns wait 2 --timeout 120s >/dev/null
is "extract ends failed (one day failed)" "$?" 1
wait_for "load runs the three days whose extract succeeded" 60 sh -c \
    "[ \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT n_succeeded FROM runs WHERE id = 1\")\" = 3 ]"
reason=$(ns status 1 --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["waiting_total"], *[w["key"] + ": " + w["reason"] for w in s["waiting"]])')
is "load's 3rd day waits, with the reason in status --json" "$reason" \
    "1 2026-11-03: waiting for extract 2026-11-03 (failed, attempt 1/1)"
is "its attempt was never submitted" \
    "$(sql "SELECT count(*) FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE a.run_id = 1 AND p.key = '2026-11-03'")" 0

rm -f "$T/fail-extract-2026-11-03"
ns retry 2 2026-11-03 --start >/dev/null 2>&1
is "retry of the failed extract day (a runtime started for it)" "$?" 0
ns wait 1 --timeout 120s >/dev/null
is "load's last day follows, and load succeeds" "$?" 0
ns wait 2 --timeout 60s >/dev/null
is "extract succeeds once its day is retried" "$?" 0
is "load's tasks ran on Slurm" "$(sql "SELECT count(*) FROM attempts WHERE run_id = 1 AND locator GLOB '[0-9]*_[0-9]*'")" 4

order=$(python3 - "$T/times" <<'PY'
import sys
t = {}
for line in open(sys.argv[1]):
    job, key, what, at = line.split()
    t[(job, key, what)] = float(at)  # the last attempt's
bad = [k for (j, k, w) in t if j == "load" and w == "start"
       and t[("load", k, "start")] < t[("extract", k, "end")]]
print("order ok" if not bad else "load before extract: %s" % bad)
print("pipelined" if t[("load", "2026-11-01", "start")] < t[("extract", "2026-11-04", "end")]
      else "load day 1 started after extract day 4 ended")
PY
)
is "no load day started before its extract day ended" "$(echo "$order" | head -1)" "order ok"
is "partition by partition: load day 1 started before extract day 4 ended" "$(echo "$order" | tail -1)" pipelined
is "each load day succeeded exactly once" \
    "$(sql "SELECT group_concat(n, ',') FROM (SELECT count(*) AS n FROM attempts WHERE run_id = 1 AND outcome = 'succeeded' GROUP BY idx ORDER BY idx)")" "1,1,1,1"
done_testing
