#!/bin/sh
# A resumed run compares the spec with the one it started with: a changed
# setting (timeout, command) is refused with exit 3 and a was/now list unless
# --force; a changed plan is refused even with --force (use --rerun); a
# changed description is not a change. Also after a kill -9 of the runtime.
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
mkdir -p "$T/job" "$T/out"
cp "$SPECS/changing.yaml" "$SPECS/changing.sh" "$T/job/"
S=$T/job/changing.yaml

ns run "$S" -p out="$T/out" >"$T/run1.out" 2>&1
is "the first run exits 1 (b failed)" "$?" 1
is "run 1 failed" "$(sql "SELECT state, n_succeeded, n_failed FROM runs WHERE id = 1")" "failed|2|1"

# A description is not part of the spec's identity.
sed -i 's/^name: changing$/name: changing\ndescription: now with words/' "$S"
ns run "$S" -p out="$T/out" >"$T/desc.out" 2>&1
is "a changed description is accepted without --force (exit 1: b still failed)" "$?" 1
is "it resumed run 1" "$(sql "SELECT count(*) FROM runs")" 1

# Change the timeout and the command.
sed -i 's/^timeout: 30s$/timeout: 45s/; s/"{out}"\]$/"{out}", --verbose]/' "$S"
if ! grep -q 'timeout: 45s' "$S" || ! grep -q -- '--verbose' "$S"; then bail_out "sed did not edit the spec"; fi
ns run "$S" -p out="$T/out" >"$T/changed.out" 2>&1
is "a changed spec is refused with exit 3" "$?" 3
out=$(cat "$T/changed.out")
like "it says the spec changed" "$out" "run 1: the spec changed since the run started"
like "was: the old timeout" "$out" "was: timeout: 30000ms"
like "now: the new timeout" "$out" "now: timeout: 45000ms"
like "was: the old command" "$out" 'was: command: \["sh", "changing.sh", "\{key\}", "\{broken\}", "\{out\}"\]'
like "now: the new command" "$out" 'now: command: \[.*"\{out\}", "--verbose"\]'
like "it names --force and --rerun" "$out" "--force.*--rerun"
check "nothing about the unchanged settings" sh -c "! grep -q 'retry\|concurrency\|on_exit' '$T/changed.out'"
is "no attempt was started" "$(sql "SELECT count(*) FROM attempts")" 3
is "the run is still failed" "$(sql "SELECT state FROM runs WHERE id = 1")" failed

# Change the plan too: refused even with --force.
cp "$S" "$T/job/saved.yaml"
sed -i 's/list: \[a, b, c\]/list: [a, b, c, d]/' "$S"
ns run "$S" -p out="$T/out" --force >"$T/plan.out" 2>&1
is "a changed plan is refused even with --force (exit 3)" "$?" 3
like "it says the plan changed" "$(cat "$T/plan.out")" "plan changed"
like "and suggests --rerun" "$(cat "$T/plan.out")" "--rerun"
is "no attempt was started" "$(sql "SELECT count(*) FROM attempts")" 3
is "still one run" "$(sql "SELECT count(*) FROM runs")" 1
cp "$T/job/saved.yaml" "$S"

# --force accepts the changed settings, and the new command is used.
touch "$T/out/fixed"
ns run "$S" -p out="$T/out" --force --retry-failed >"$T/force.out" 2>&1
is "--force resumes (exit 0: b now succeeds)" "$?" 0
is "run 1 succeeded" "$(sql "SELECT state FROM runs WHERE id = 1")" succeeded
is "b's new attempt ran the new command" "$(grep '^b 2 ' "$T/out/ran")" "b 2 b b $T/out --verbose"
is "the others did not run again" "$(grep -c '^[ac] ' "$T/out/ran")" 2
like "the run now records the new settings" "$(sql "SELECT spec_canon FROM runs WHERE id = 1")" "timeout: 45000ms"
# The old settings leave the runs row: only an event can tell that attempts
# 1-3 ran with the old timeout and command.
like "the forced change is recorded as an event, with what changed" "$(sql "SELECT group_concat(message, '|') FROM events WHERE run_id = 1")" "timeout: 30000ms"

# After a kill -9 of the runtime: the same refusal, then --force resumes.
cp "$SPECS/changing.yaml" "$SPECS/changing.sh" "$T/job/"
sed -i 's/^name: changing$/name: changing2/; s/list: \[a, b, c\]/list: [a, b, c, slow]/' "$S"
# shellcheck disable=SC2016 # shell text for the worker
sed -i 's/^exit 0$/[ "$key" = slow ] \&\& [ ! -e "$out\/fixed2" ] \&\& sleep 300\nexit 0/' "$T/job/changing.sh"
rm -f "$T/out/fixed"
# shellcheck disable=SC2086
spawn rt "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$S" -p out="$T/out" -p broken=none
rt=$SPAWNED
wait_for "slow is running" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions p JOIN runs r ON r.id = p.run_id WHERE r.job = 'changing2' AND p.key = 'slow' AND p.state = 'running'\" 2>/dev/null)\" = 1"
kill -9 "$rt"
wait_for "the runtime is gone" 10 sh -c "! kill -0 $rt 2>/dev/null"
run2=$(sql "SELECT id FROM runs WHERE job = 'changing2'")
sed -i 's/^timeout: 30s$/timeout: 20s/' "$S"
ns run "$S" -p out="$T/out" -p broken=none >"$T/k9.out" 2>&1
is "after kill -9, a changed spec is refused (exit 3)" "$?" 3
like "it lists the change" "$(cat "$T/k9.out")" "was: timeout: 30000ms"
like "... and the new value" "$(cat "$T/k9.out")" "now: timeout: 20000ms"
touch "$T/out/fixed2"
ns run "$S" -p out="$T/out" -p broken=none --force >"$T/k9force.out" 2>&1
is "--force resumes the killed run (exit 0)" "$?" 0
is "it is the same run" "$(sql "SELECT count(*) FROM runs WHERE job = 'changing2'")" 1
is "every partition succeeded" "$(sql "SELECT n_succeeded FROM runs WHERE id = $run2")" 4
is "the interrupted attempt is recorded" "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run2 AND outcome = 'interrupted'")" 1
ns status "$run2" >/dev/null 2>&1
is "status works" "$?" 0
done_testing
