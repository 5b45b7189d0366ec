#!/bin/sh
# Issue 22 item 10: status filters the runs list (--state, --job, --since),
# prints the columns asked for with --format (as squeue -O), and shows the
# operator commands no runtime has answered yet - in the text and in --json.
. "$(dirname "$0")/lib.sh"

job() { # job NAME EXIT: a spec of one partition that exits EXIT
    cat >"$T/$1.yaml" <<YAML
name: $1
command: [sh, -c, "exit $2"]
partitions: {list: [only]}
params: {tag: x}
YAML
}
job old 0
job good 0
job bad 3
ns run "$T/old.yaml" -p tag=old >/dev/null 2>&1
is "the old run succeeds" "$?" 0
sleep 1.5 # the old run must be more than a second old for --since 1s
ns run "$T/good.yaml" >/dev/null 2>&1
is "the good run succeeds" "$?" 0
ns run "$T/bad.yaml" >/dev/null 2>&1
is "the bad run fails" "$?" 1

ids() { awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1 }' | tr '\n' ' '; }
is "no filter: every run, newest first" "$(ns status | ids)" "3 2 1 "
is "--state failed: only the failed run" "$(ns status --state failed | ids)" "3 "
is "--state with two states" "$(ns status --state failed,succeeded | ids)" "3 2 1 "
is "--job NAME: only that job's runs" "$(ns status --job good | ids)" "2 "
is "--since 1s: the old run is left out" "$(ns status --since 1s | ids)" "3 2 "
is "filters combine" "$(ns status --since 1h --state succeeded | ids)" "2 1 "
like "nothing matching is said so" "$(ns status --job nosuch)" "no runs match the filters"
is "--json takes the filters too" \
    "$(ns status --json --state failed | python3 -c 'import json, sys; print([r["id"] for r in json.load(sys.stdin)["runs"]])')" "[3]"

is "--format: the columns asked for, with a header" \
    "$(ns status --format id,job,state,done,failed | tr -s ' ')" \
    "$(printf 'RUN JOB STATE DONE/TOTAL FAILED\n3 bad failed 1/1 1\n2 good succeeded 1/1 0\n1 old succeeded 1/1 0')"
is "--format NAME:WIDTH sets the width" "$(ns status --format id:2,job:4,params --job old)" \
    "$(printf 'RUN JOB  PARAMS\n1   old  tag=old')"
like "--format with RUN: its one row" "$(ns status 3 --format id,state,reason | tr '\n' '|')" \
    '^RUN   STATE      REASON\|3     failed     1 of 1 partitions? failed\|$'
ns status --format id,nosuch >/dev/null 2>"$T/err"
is "an unknown column is a usage error" "$?" 2
like "which names the columns" "$(cat "$T/err")" 'no column "nosuch" \(the columns: id job state'
ns status --state finished >/dev/null 2>"$T/err"
is "an unknown state is a usage error" "$?" 2
ns status --since soon >/dev/null 2>&1
is "a bad --since is a usage error" "$?" 2
ns status 3 --state failed >/dev/null 2>&1
is "filters with RUN are a usage error" "$?" 2
ns status --format id --json >/dev/null 2>&1
is "--format with --json is a usage error" "$?" 2

# A retry of a run no runtime drives is queued: pending until a runtime starts.
ns retry 3 --failed --no-wait >/dev/null 2>&1
like "status RUN shows the pending command" "$(ns status 3)" \
    'pending +#1 retry \{"failed":true,"from_scratch":false\} by [^ ]+ \(cli\) [0-9.]+s ago: queued: the next runtime of the run applies it'
is "--format commands counts it" "$(ns status --format id,commands --state failed | tail -n 1 | tr -s ' ')" "3 1"
is "--json lists it" \
    "$(ns status 3 --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["commands_pending"], [(c["id"], c["verb"], c["args"]) for c in d["pending_commands"]])')" \
    "1 [(1, 'retry', {'failed': True, 'from_scratch': False})]"
is "status RUN --json matches docs/json.md" \
    "$(ns status 3 --json >"$T/s.json"; python3 "$ROOT/tests/e2e/json-md-check.py" "$ROOT/docs/json.md" nightshift.status/1 "$T/s.json")" ok
ns run "$T/bad.yaml" >/dev/null 2>&1
is "the next runtime applies it (the partition fails again)" "$?" 1
is "then nothing is pending" "$(ns status 3 | grep -c '^pending')" 0
done_testing
