#!/bin/sh
# issue 22 item 1: every resume/retry command the product prints (status,
# status --json, a refusal, run's last lines, the summary, the on_failure
# hook's NIGHTSHIFT_NEXT_COMMAND) is one command line that names the
# database and every parameter, shell-quoted; run as printed - from another
# directory, without NIGHTSHIFT_DB, another HOME - it acts on the same run.
. "$(dirname "$0")/lib.sh"

# run_printed CMD: runs a printed command line as an operator would paste it,
# somewhere else and with nothing of this shell's nightshift environment.
run_printed() {
    (cd / && env -u NIGHTSHIFT_DB HOME="$T/elsewhere" PATH="$(dirname "$NIGHTSHIFT"):$PATH" \
        sh -c "$1") >"$T/printed.out" 2>&1
}
mkdir -p "$T/elsewhere"
# json_next RUN: status --json's next_command.
json_next() {
    ns status "$1" --json >"$T/status.json"
    sqlite3 :memory: "SELECT json_extract(readfile('$T/status.json'), '\$.next_command')"
}

# --- a failed run: retry ------------------------------------------------------
cat >"$T/flaky.yaml" <<EOF
name: truth-flaky
params: {broken: "", out: x}
command: [sh, $CONFIGS/workers/flaky.sh, --key, "{key}", --flaky, none, --fail-times, "0",
          --broken, "{broken}", --pace, "0"]
partitions: {list: [a, b, c]}
retry: {attempts: 1}
on_exit: {2: fail}
hooks:
  on_failure: ["sh", "-c", "printf '%s' \"\$NIGHTSHIFT_NEXT_COMMAND\" > $T/hook.cmd"]
EOF
odd="$T/it's a dir"
ns run "$T/flaky.yaml" -p broken=b -p "out=$odd" >"$T/run1.out" 2>&1
is "the run fails (exit 1)" "$?" 1
retry=$(sed -n 's/^retry the failed ones: //p' "$T/run1.out")
like "run's last lines give the retry command with --db and every -p, quoted" "$retry" \
    "^nightshift run --retry-failed --db $NIGHTSHIFT_DB $T/flaky.yaml -p broken=b -p 'out=.*it'\"'\"'s a dir'$"
st=$(ns status 1 | sed -n 's/^retry  *//p')
is "status prints the same command" "$st" "$retry"
is "status --json's next_command is the same" "$(json_next 1)" "$retry"
wait_for "the on_failure hook wrote its NIGHTSHIFT_NEXT_COMMAND" 10 test -s "$T/hook.cmd"
is "the on_failure hook gets the same command" "$(cat "$T/hook.cmd")" "$retry"
like "the summary prints it too" "$(ns summary 1)" "retry +nightshift run --retry-failed --db"
run_printed "$retry"
is "the printed retry command acts on run 1 (no new run)" "$(sql "SELECT count(*) FROM runs")" 1
is "it retried the failed partition b" "$(sql "SELECT attempts_total FROM partitions WHERE run_id = 1 AND key = 'b'")" 2

# --- a run whose runtime was killed: resume ---------------------------------
P="-p from=2026-11-01 -p to=2026-11-06 -p pace=0.1 -p data=$T/data"
# shellcheck disable=SC2086
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$CONFIGS/backfill.yaml" $P -p "out=$odd"
rt=$SPAWNED
wait_for "run 2 has a running partition" 30 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 2 AND state = 'running'\" 2>/dev/null)\" -ge 1"
kill -9 "$rt"
wait_for "the runtime is gone" 10 pid_gone "$rt"
# The lock is free once the last process holding it (a worker between fork
# and exec) is gone too.
wait_for "status says no runtime drives run 2" 10 sh -c "'$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' 2 | grep -q 'NO RUNTIME'"
resume=$(ns status 2 | sed -n 's/^resume  *//p')
like "status gives the resume command with --db and every -p" "$resume" \
    "^nightshift run --db $NIGHTSHIFT_DB $CONFIGS/backfill.yaml -p checkpoint_every=500 -p crash_at=0 -p data=$T/data -p from=2026-11-01 -p lines=3000 -p 'out=.*' -p pace=0.1 -p to=2026-11-06$"
is "status --json's next_command is the same" "$(json_next 2)" "$resume"
ns pause 2 >"$T/pause.out" 2>&1
check "a refusal names the same command" grep -qF "start it with \`$resume\`" "$T/pause.out"
run_printed "$resume"
is "the printed resume command exits 0" "$?" 0
is "it resumed run 2 (no new run)" "$(sql "SELECT count(*) FROM runs")" 2
is "run 2 succeeded" "$(sql "SELECT state FROM runs WHERE id = 2")" succeeded
check "its output went to the run's own out directory" test -s "$odd/2026-11-06.tsv"

# --- a succeeded run: a retry is refused with the command for a new run -----
ns retry 2 --failed >"$T/retry2.out" 2>&1
is "a retry of the succeeded run is refused (exit 1)" "$?" 1
rerun=$(sed -n 's/.*a new run with its parameters: `\(.*\)`)$/\1/p' "$T/retry2.out")
is "the refusal gives the exact command: --rerun and the resume command's words" "$rerun" \
    "$(echo "$resume" | sed 's/^nightshift run /nightshift run --rerun /')"
run_printed "$rerun --detach"
is "the printed command starts a run" "$?" 0
is "a new run 3 of backfill with run 2's parameters" \
    "$(sql "SELECT r3.job = r2.job AND r3.params = r2.params FROM runs r2, runs r3 WHERE r2.id = 2 AND r3.id = 3")" 1
ns stop 3 --now >/dev/null 2>&1
wait_for "run 3 stops" 20 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM runs WHERE id = 3\" 2>/dev/null)\" = stopped"
done_testing
