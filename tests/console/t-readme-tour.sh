#!/bin/sh
# t-readme-tour.sh - the README's five-minute tour, walked as written: its
# commands are read from README.md (the ```sh block under "A five-minute
# tour") and run by bash from the source tree, on a fresh database, then its
# step 5 again after `make demo`'s run (the Makefile's command). Every
# command must exit 0, or with the status its comment promises ("exit status
# 1"); a few outputs are checked against what the comments
# promise; `nightshift console demo` runs in tmux and quits with Q.
# Only change to the text: the demo runs at -p pace=0.02 (docs/README say
# "the same, in ~8 s") so the test takes seconds, not minutes.
. "$(dirname "$0")/lib.sh"
command -v bash >/dev/null 2>&1 || skip_all "bash is not installed"

# The configs write under $HOME/.local/state/nightshift/demo: this test's
# own HOME, so tours may run side by side.

# The tour's lines, comments dropped; CONSOLE marks the console line.
awk '/^## A five-minute tour/ { tour = 1 } tour && /^```sh/ { on = 1; next }
     on && /^```/ { exit } on' "$ROOT/README.md" >"$T/tour.txt"
[ -s "$T/tour.txt" ] || bail_out "no tour in README.md"
diag "the tour has $(grep -c '^nightshift' "$T/tour.txt") nightshift lines"

# script FROM TO: bash for the tour's lines from the line matching FROM up
# to (not including) the one matching TO; each command line reports its
# status as "TOUR rc=N :: LINE" on stdout.
script() {
    {
        echo "cd '$ROOT' || exit 1"
        echo "export NIGHTSHIFT_DB='$NIGHTSHIFT_DB' PATH='$NIGHTSHIFT_BUILD':\$PATH"
        awk -v from="$1" -v to="$2" '
            $0 ~ from { on = 1 } to != "" && $0 ~ to { on = 0 } !on { next }
            # A status its comment promises ("exit status 1") counts as 0.
            { want = 0; t = $0 }
            t ~ /#.*exit status [0-9]/ { sub(/.*exit status /, "", t); want = substr(t, 1, 1) }
            { sub(/[ \t]+#.*$/, ""); sub(/^#.*$/, "") } /^[ \t]*$/ { next }
            /^export PATH=/ { print "export PATH='"$NIGHTSHIFT_BUILD"':$PATH"; next }
            { gsub(/configs\/demo.yaml/, "configs/demo.yaml -p pace=0.02") }
            /&$/ { print; printf "echo \"TOUR rc=0 :: %s\"\n", $0; next }
            { line = $0; gsub(/"/, "\\\"", line)
              print "{ " $0 "; } </dev/null; rc=$?"
              print "if [ $rc = " want " ]; then rc=0; elif [ $rc = 0 ]; then rc=not-" want "; fi"
              print "echo \"TOUR rc=$rc :: " line "\"" }' "$T/tour.txt"
    } >"$T/tour-$3.sh"
}
# walk NAME: runs tour-NAME.sh; every command must report rc=0.
walk() {
    timeout 240 bash "$T/tour-$1.sh" >"$T/tour-$1.out" 2>&1
    _n=$(grep -c '^TOUR rc=' "$T/tour-$1.out")
    _bad=$(grep '^TOUR rc=' "$T/tour-$1.out" | grep -v '^TOUR rc=0 ')
    if [ "$_n" -gt 0 ] && [ -z "$_bad" ]; then
        ok "$1: all $_n commands exit 0"
    else
        fail "$1: a command failed (or none ran)"
        sed 's/^/#   | /' "$T/tour-$1.out" | tail -40
    fi
}
out_of() { sed -n "/TOUR rc=.* :: $2/q;p" "$T/tour-$1.out" | tail -n "${3:-20}"; }

# --- a fresh database: steps 1-5 up to the console --------------------------
script '^export PATH' '^nightshift console' fresh
walk fresh
like "step 2: the second run of flaky-keys says it had succeeded" "$(cat "$T/tour-fresh.out")" "already succeeded"
like "step 3: status says no runtime drives the killed run" "$(cat "$T/tour-fresh.out")" "NO RUNTIME is driving it"
like "step 3: and gives the command that resumes it (issue 22 item 1)" "$(cat "$T/tour-fresh.out")" "^resume +nightshift run --db /.* /.*/configs/backfill.yaml .*-p pace=0.3"
like "step 3: the run again resumes it" "$(cat "$T/tour-fresh.out")" "resumed"
is "step 3: the backfill run succeeded in the end" "$(sql "SELECT state FROM runs WHERE job = 'backfill' ORDER BY id DESC LIMIT 1")" succeeded
like "step 5: the retry of the failed chunk was applied" "$(cat "$T/tour-fresh.out")" "retry applied: retrying 1 partition"
like "step 5: logs --follow prints partition 0's output" "$(cat "$T/tour-fresh.out")" \
    "^chunk 0: re-indexing documents 0..999 \\(attempt 1, index documents-v2\\)"
like "step 5: the retry of the failed chunk said its checkpoint" "$(cat "$T/tour-fresh.out")" \
    "retrying 1 partition from its checkpoint"
like "step 5: audit lists pause, resume and the retry" "$(cat "$T/tour-fresh.out")" "pause +applied.*"
check "step 5: no '1 partitions' anywhere" sh -c "! grep -q ' 1 partitions' '$T/tour-fresh.out'"

# The console line: it opens on the demo run; q goes back to the runs list,
# Q quits (as the tour's comment says).
console_start 120 40 demo
wait_screen "step 5: the console opens on the demo run" 10 '^Runs > run [0-9]+ demo'
keys q
wait_screen "q goes back to the runs list" 5 '^Runs +'
keys Q
wait_for "Q quits" 5 console_exited && ok "Q quits"
is "the console exits 0" "$(cat "$T/console.rc")" 0

# --- step 6 ----------------------------------------------------------------
script '^# 6\.' '' morning
walk morning
like "step 6: the summary names the job" "$(cat "$T/tour-morning.out")" "backfill"
like "step 6: metrics in Prometheus text format" "$(cat "$T/tour-morning.out")" "^nightshift_partitions\{"
# step 7: two jobs, one pool of 2
is "step 7: both warehouse jobs succeeded" \
    "$(sql "SELECT group_concat(state, ' ') FROM (SELECT state FROM runs WHERE job LIKE 'warehouse-%' ORDER BY job)")" "succeeded succeeded"
is "step 7: never more than 2 of their attempts at once (the pool)" \
    "$(sql "SELECT max((SELECT count(*) FROM attempts b JOIN runs rb ON rb.id = b.run_id WHERE rb.job LIKE 'warehouse-%' AND b.started_at <= a.started_at AND b.ended_at > a.started_at)) FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.job LIKE 'warehouse-%'")" 2
like "step 7: pool lists the warehouse pool, free again" "$(cat "$T/tour-morning.out")" "^warehouse +0 +2 +0 +0 "
like "step 7: pool set says the change" "$(cat "$T/tour-morning.out")" "^warehouse: 2 -> 3 slots"
like "step 9: the load started first says what it waits for" "$(cat "$T/tour-morning.out")" \
    "waiting for upstreams \(3\):
 +0 +2026-11-01 +waiting for a run of chain-extract \(none yet\)"
is "step 9: every load day started after its extract day succeeded" \
    "$(sql "SELECT count(*) FROM partitions l JOIN runs lr ON lr.id = l.run_id AND lr.job = 'chain-load'
            JOIN runs er ON er.job = 'chain-extract' JOIN partitions e ON e.run_id = er.id AND e.key = l.key
            WHERE l.state = 'succeeded' AND l.started_at >= e.finished_at")" 3
like "step 10: one report for the night's runs" "$(cat "$T/tour-morning.out")" \
    "^nightshift summary: [0-9]+ runs since "
like "step 10: one failure, counted in the singular" "$(cat "$T/tour-morning.out")" \
    "failures by signature, across runs \\(top 1 of 1 signature, 1 partition\\)"
check "steps 6-10: no '1 partitions' or '1 signatures' anywhere" \
    sh -c "! grep -Eq ' 1 (partitions|signatures|error records)' '$T/tour-morning.out'"
like "step 10: the failed demo run with the command that retries it" "$(cat "$T/tour-morning.out")" \
    "# retry run [0-9]+ \\(demo, failed\\)
  nightshift run --retry-failed --db "

# --- after `make demo`: its run first, then step 5 again -------------------
NIGHTSHIFT_DB=$T/db2/nightshift.db
export NIGHTSHIFT_DB
demo=$(sed -n 's/^\t\$(BIN) \(run .*configs\/demo.yaml\)$/\1/p' "$ROOT/Makefile")
[ -n "$demo" ] || bail_out "no demo run line in the Makefile"
diag "make demo runs: nightshift $demo"
(cd "$ROOT" && "$NIGHTSHIFT" $demo -p pace=0.02 >"$T/make-demo.out" 2>&1)
is "make demo's run starts" "$?" 0
script '^# 5\.' '^nightshift console' after-demo
walk after-demo
is "after make demo: step 5 made a second demo run (--rerun), not a resume" \
    "$(sql "SELECT count(*) FROM runs WHERE job = 'demo'")" 2
like "after make demo: the retry was applied" "$(cat "$T/tour-after-demo.out")" "retry applied"

done_testing
