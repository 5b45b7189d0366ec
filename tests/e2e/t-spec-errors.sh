#!/bin/sh
# `nightshift validate` on broken specs: every problem as FILE:LINE:COL:
# message naming the key, exit 2. `run` on a broken spec exits 2 and stores
# nothing. `plan` is deterministic and its JSON parses. Parameter mistakes
# give clear errors.
. "$(dirname "$0")/lib.sh"
cd "$T" || bail_out "no $T"

# expect_invalid FILE EXPECTED_OUTPUT: validate FILE exits 2 and prints exactly
# EXPECTED_OUTPUT (stdout and stderr together).
expect_invalid() {
    _out=$(ns validate "$1" 2>&1)
    _rc=$?
    is "$1: validate exits 2" "$_rc" 2
    is "$1: the message" "$_out" "$2"
}

printf 'name: x\nconcurency: 2\ncommand: [true]\npartitions:\n  list: [a]\n' >unknown.yaml
expect_invalid unknown.yaml 'unknown.yaml:2:1: unknown key "concurency" (did you mean "concurrency"?)'

printf 'name: x\ncommand: [true]\npartitions:\n  list: [a]\nretry:\n  attempts: three\n' >wrongtype.yaml
expect_invalid wrongtype.yaml 'wrongtype.yaml:6:13: retry.attempts: expected an integer, got "three"'

printf 'name: x\ncommand: [true]\ntimeout: 10x\npartitions:\n  list: [a]\n' >baddur.yaml
expect_invalid baddur.yaml 'baddur.yaml:3:10: timeout: "10x" is not a duration (examples: 30s, 10m, 1h30m)'

printf 'name: x\ncommand: [true]\nretry:\n  attempts: 2\n  backoff: 1s\n  attempts: 3\npartitions:\n  list: [a]\n' >dupkey.yaml
expect_invalid dupkey.yaml 'dupkey.yaml:6:3: duplicate key "retry.attempts" (lines 4 and 6)'

printf 'name: x\ncommand: &c [true]\nhooks:\n  on_success: *c\npartitions:\n  list: [a]\n' >anchor.yaml
expect_invalid anchor.yaml 'anchor.yaml:2:10: anchors and aliases are not supported
anchor.yaml:4:15: anchors and aliases are not supported'

printf 'name: x\npartitions:\n  list: [a]\n' >nocmd.yaml
expect_invalid nocmd.yaml 'nocmd.yaml:1:1: command: required'

printf 'name: x\ncommand: [./w.sh, "{dat}"]\npartitions:\n  dates: {from: 2026-01-01, to: 2026-01-02}\n' >placeholder.yaml
expect_invalid placeholder.yaml 'placeholder.yaml:2:19: command[1]: unknown placeholder {dat} (did you mean {date}?)'

printf 'name: x\ncommand: [true]\npartitions:\n  list: [a]\n  range: {start: 1, end: 3}\n' >twopart.yaml
expect_invalid twopart.yaml 'twopart.yaml:3:1: partitions: give exactly one of list, range, dates, files'

printf 'name: x\ncommand: [true]\npartitions:\n  list: []\n' >empty.yaml
expect_invalid empty.yaml 'empty.yaml:3:1: partitions: the plan is empty'

# Several problems: all reported, in file order.
printf 'name: x\nconcurrency: many\ntimeout: 5 minutes\ncommand: [true]\npartitions:\n  list: [a]\n' >several.yaml
expect_invalid several.yaml 'several.yaml:2:14: concurrency: expected an integer, got "many"
several.yaml:3:10: timeout: "5 minutes" is not a duration (examples: 30s, 10m, 1h30m)'

{
    printf 'name: x\ncommand: [true]\npartitions:\n  list: [a]\ndescription: "'
    head -c 2097152 /dev/zero | tr '\0' a
    printf '"\n'
} >big.yaml
# Refused by its size before anything is parsed (the message says so).
expect_invalid big.yaml 'big.yaml: spec is larger than 1048576 bytes (1 MiB)'

{
    printf 'name: x\ncommand: [true]\npartitions:\n  list: [a]\nenv:\n  A: '
    i=0
    while [ $i -lt 100 ]; do printf '['; i=$((i + 1)); done
    while [ $i -gt 0 ]; do printf ']'; i=$((i - 1)); done
    echo
} >deep.yaml
# The document mapping is level 1, env level 2: the 63rd "[" (column 68) is level 65.
expect_invalid deep.yaml 'deep.yaml:6:68: spec is nested deeper than 64 levels'

# run on a broken spec: exit 2, the message, and no database at all.
out=$(ns run wrongtype.yaml 2>&1)
is "run on a broken spec exits 2" "$?" 2
is "run prints the same message" "$out" 'wrongtype.yaml:6:13: retry.attempts: expected an integer, got "three"'
check "and creates no database" test ! -e "$NIGHTSHIFT_DB"
# ... nor a run row in an existing database.
printf 'name: ok\ncommand: [true]\npartitions:\n  list: [a]\n' >ok.yaml
ns run ok.yaml >/dev/null 2>&1
is "a good run exits 0" "$?" 0
for f in unknown baddur dupkey anchor nocmd placeholder twopart empty big deep; do
    ns run "$f.yaml" >/dev/null 2>&1
    is "run $f.yaml exits 2" "$?" 2
done
is "the database holds only the good run" "$(sql "SELECT count(*) FROM runs")" 1

# plan: deterministic, JSON lines that parse.
printf 'name: p\ncommand: [true, "{date}", "{region}"]\nparams:\n  from: ~\n  region: eu\npartitions:\n  dates: {from: "{from}", to: 2026-01-09, step: 2d}\n' >plan.yaml
ns plan plan.yaml -p from=2026-01-01 >plan1.txt 2>&1
is "plan exits 0" "$?" 0
ns plan plan.yaml -p from=2026-01-01 >plan2.txt 2>&1
check "plan twice gives the same output" cmp -s plan1.txt plan2.txt
is "plan lists 5 partitions and a header" "$(wc -l <plan1.txt | tr -d ' ')" 6
like "plan shows index, key and parameters" "$(sed -n 3p plan1.txt)" '^ *1 +2026-01-03 +date=2026-01-03 from=2026-01-01 region=eu$'
ns plan plan.yaml -p from=2026-01-01 --json >plan1.jsonl
ns plan plan.yaml -p from=2026-01-01 --json >plan2.jsonl
check "plan --json twice gives the same output" cmp -s plan1.jsonl plan2.jsonl
is "every JSON line is a valid object" \
    "$(sqlite3 :memory: "WITH RECURSIVE l(line, rest) AS (SELECT NULL, readfile('plan1.jsonl') UNION ALL SELECT substr(rest, 1, instr(rest, char(10)) - 1), substr(rest, instr(rest, char(10)) + 1) FROM l WHERE instr(rest, char(10)) > 0) SELECT count(*) || '/' || sum(json_valid(line) AND json_type(line) = 'object') FROM l WHERE line IS NOT NULL")" "5/5"
is "keys, dates and params from the JSON" \
    "$(sqlite3 :memory: "WITH RECURSIVE l(line, rest) AS (SELECT NULL, readfile('plan1.jsonl') UNION ALL SELECT substr(rest, 1, instr(rest, char(10)) - 1), substr(rest, instr(rest, char(10)) + 1) FROM l WHERE instr(rest, char(10)) > 0) SELECT group_concat(json_extract(line, '\$.index') || ':' || json_extract(line, '\$.key') || ':' || json_extract(line, '\$.params.region'), ' ') FROM l WHERE line IS NOT NULL")" \
    "0:2026-01-01:eu 1:2026-01-03:eu 2:2026-01-05:eu 3:2026-01-07:eu 4:2026-01-09:eu"
ns plan plan.yaml -p from=2026-01-01 -p region=us --json | grep -q '"region":"us"'
check "-p overrides a default" test $? -eq 0

# Parameter mistakes.
out=$(ns plan plan.yaml -p from=2026-01-01 -p regoin=us 2>&1)
is "plan: an unknown -p exits 2" "$?" 2
is "plan: it is named with the declared ones" "$out" 'plan.yaml: unknown parameter "regoin" (declared: from, region)'
out=$(ns plan plan.yaml 2>&1)
is "plan: a missing required parameter exits 2" "$?" 2
is "plan: it says how to pass it" "$out" 'plan.yaml: parameter "from" is required: pass -p from=VALUE'
out=$(ns plan plan.yaml -p from 2>&1)
is "plan: -p without = exits 2" "$?" 2
like "plan: it says name=value" "$out" '-p "from": expected name=value'
out=$(ns plan plan.yaml -p from=2026-01-01 -p from=2026-01-02 2>&1)
is "plan: a parameter given twice exits 2" "$?" 2
like "plan: it says so" "$out" 'parameter "from" is given twice'
out=$(ns run plan.yaml 2>&1)
is "run: a missing required parameter exits 2" "$?" 2
is "run: the message" "$out" 'plan.yaml: parameter "from" is required: pass -p from=VALUE'
out=$(ns run plan.yaml -p from=2026-01-01 -p regoin=us 2>&1)
is "run: an unknown -p exits 2" "$?" 2
like "run: the message" "$out" 'unknown parameter "regoin"'
is "still only the good run in the database" "$(sql "SELECT count(*) FROM runs")" 1
out=$(ns validate plan.yaml -p from=2026-01-01 2>&1)
is "validate with the parameters: exit 0" "$?" 0
is "validate: the one-line summary" "$out" 'p: valid; 5 partitions (dates 2026-01-01..2026-01-09), concurrency 1, 1 attempt, no timeout'
out=$(ns validate plan.yaml -p from=2026-01-01 -p regoin=us 2>&1)
is "validate: an unknown -p exits 2" "$?" 2
like "validate: it is named" "$out" 'unknown parameter "regoin"'
# Without the required parameter validate still checks the structure, but a
# parameter that is not declared at all is a mistake it can always see.
out=$(ns validate plan.yaml -p regoin=us 2>&1)
is "validate without the required one but with an unknown -p exits 2" "$?" 2
like "validate: the unknown one is named" "$out" 'unknown parameter "regoin"'
done_testing
