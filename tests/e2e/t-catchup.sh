#!/bin/sh
# Catch-up of missing days (issue 20): `run --only missing|failed|all` is a
# new run that runs only what is due, judged key by key against the earlier
# runs of the job from the same spec; `--dry-run` prints that judgement
# first (compared here as text), and the run then does exactly that. After a
# run with one failed day, `--only failed` runs exactly that day (and the new
# one), `--only missing` only the new one; a key another live run holds is
# untouched; keys that succeeded before are skipped with the reason.
. "$(dirname "$0")/lib.sh"

cat >"$T/bf.yaml" <<YAML
name: bf
params: {from: "2026-11-01", to: "2026-11-05", dir: "$T", tag: a}
command: [sh, -c, 'echo "\$1" >>"\$2/ran-\$3"; while [ -e "\$2/hold-\$1" ]; do sleep 0.05; done; [ ! -e "\$2/fail-\$1" ]', sh, "{date}", "{dir}", "{tag}"]
partitions: {dates: {from: "{from}", to: "{to}"}}
concurrency: 2
YAML

: >"$T/fail-2026-11-03"
ns run "$T/bf.yaml" -q >/dev/null
is "the first night fails one day" "$?" 1
rm -f "$T/fail-2026-11-03"

# A key held by another live run: untouched.
: >"$T/hold-2026-11-07"
ns run "$T/bf.yaml" -p from=2026-11-07 -p to=2026-11-07 -p tag=h --detach >/dev/null 2>&1
wait_for "run 2 holds 2026-11-07" 10 sh -c "grep -q 2026-11-07 '$T/ran-h'"

ns run "$T/bf.yaml" -p to=2026-11-07 -p tag=b --only failed --dry-run >"$T/dry-failed.out" 2>&1
is "--dry-run exits 0" "$?" 0
is "the dry run says, key by key, what --only failed does" "$(cat "$T/dry-failed.out")" \
"succeeded  2026-11-01               left alone (succeeded in run 1)
succeeded  2026-11-02               left alone (succeeded in run 1)
failed     2026-11-03               runs again (failed in run 1)
succeeded  2026-11-04               left alone (succeeded in run 1)
succeeded  2026-11-05               left alone (succeeded in run 1)
new        2026-11-06               runs
running    2026-11-07               untouched (running now in run 2)
dry run: 2 of 7 partitions would run (--only failed); nothing was run"
is "and ran nothing" "$(sql "SELECT count(*) FROM runs")" 2

ns run "$T/bf.yaml" -p to=2026-11-07 -p tag=m --only missing --dry-run >"$T/dry-missing.out" 2>&1
like "--only missing leaves the failed day alone" "$(cat "$T/dry-missing.out")" \
    "failed     2026-11-03               left alone \(failed in run 1; --only failed runs it\)"
like "and would run only the new day" "$(cat "$T/dry-missing.out")" "dry run: 1 of 7 partitions would run \(--only missing\)"

ns run "$T/bf.yaml" -p to=2026-11-07 -p tag=b --only failed -q >/dev/null
is "the catch-up run succeeds" "$?" 0
is "it ran exactly the failed day and the new one" "$(sort "$T/ran-b" | tr '\n' ' ')" "2026-11-03 2026-11-06 "
is "the others are skipped, each with the dry run's words" \
    "$(sql "SELECT key || ': ' || skip_reason FROM partitions WHERE run_id = 3 AND state = 'skipped' ORDER BY idx")" \
"2026-11-01: --only failed: left alone (succeeded in run 1)
2026-11-02: --only failed: left alone (succeeded in run 1)
2026-11-04: --only failed: left alone (succeeded in run 1)
2026-11-05: --only failed: left alone (succeeded in run 1)
2026-11-07: --only failed: untouched (running now in run 2)"
check "the held key never ran in two runs at once" sh -c "! grep -q 2026-11-07 '$T/ran-b'"

ns run "$T/bf.yaml" -p to=2026-11-08 -p tag=c --only missing -q >/dev/null
is "the next night's --only missing runs only its new day" "$(cat "$T/ran-c")" "2026-11-08"
rm -f "$T/hold-2026-11-07"
ns wait 2 --timeout 10s >/dev/null
ns run "$T/bf.yaml" --only maybe >/dev/null 2>"$T/bad.err"
is "--only with another word is a usage error" "$?" 2
is "and says so" "$(cat "$T/bad.err")" 'nightshift: run: --only: "maybe" is not missing, failed or all'

# schedule --catch-up: every start of the timer is a catch-up run.
line=$(ns schedule "$T/bf.yaml" --catch-up failed --only cron 2>&1)
like "schedule --catch-up failed emits run --only failed" "$line" "'--quiet' '[^']*bf.yaml' '--only' 'failed'"
like "and its units too" "$(ns schedule "$T/bf.yaml" --catch-up failed --only service)" '^ExecStart=.*"--only" "failed"'
ns schedule "$T/bf.yaml" --catch-up soon >/dev/null 2>&1
is "--catch-up with another word is a usage error" "$?" 2

# order: newest - the last keys first (the spec's key, or run --order).
sed 's/^concurrency: 2$/concurrency: 1/' "$T/bf.yaml" >"$T/bf-one.yaml"
ns run "$T/bf-one.yaml" -p from=2026-10-01 -p to=2026-10-04 -p tag=n --order newest -q >/dev/null
is "--order newest runs the newest day first" "$(tr '\n' ' ' <"$T/ran-n")" "2026-10-04 2026-10-03 2026-10-02 2026-10-01 "
sed 's/^concurrency: 1$/concurrency: 1\norder: newest/' "$T/bf-one.yaml" >"$T/bf-newest.yaml"
ns run "$T/bf-newest.yaml" -p from=2026-10-01 -p to=2026-10-03 -p tag=o -q >/dev/null
is "order: newest in the spec does the same" "$(tr '\n' ' ' <"$T/ran-o")" "2026-10-03 2026-10-02 2026-10-01 "
ns run "$T/bf.yaml" --order soon >/dev/null 2>&1
is "--order with another word is a usage error" "$?" 2

# Relative dates as params: defaults, resolved once at the start as -p values are.
sed 's/from: "2026-11-01", to: "2026-11-05"/from: today-2d, to: yesterday/' "$T/bf.yaml" >"$T/bf-rel.yaml"
is "a relative default is resolved like -p" "$(ns plan "$T/bf-rel.yaml" | awk 'NR > 1 { print $2 }' | tr '\n' ' ')" \
    "$(date -d '2 days ago' +%F) $(date -d yesterday +%F) "
is "-p still overrides it" "$(ns plan "$T/bf-rel.yaml" -p from=yesterday | awk 'NR > 1 { print $2 }')" "$(date -d yesterday +%F)"
sed 's/from: "2026-11-01"/from: today-2x/' "$T/bf.yaml" >"$T/bf-bad.yaml"
out=$(ns validate "$T/bf-bad.yaml" 2>&1)
is "a default that is no relative date is refused" "$?" 2
like "naming the parameter, not the partitioner" "$out" 'params.from: "today-2x" is not a date: a relative date is today or yesterday'
done_testing
