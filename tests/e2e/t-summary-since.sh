#!/bin/sh
# Issue 20, "the night as one": `summary --since` is one morning report for
# every run of a period. Five runs in one database: one from three days ago
# (outside the period), one that succeeded (with an SLA), two that failed
# (three partitions under two signatures, one signature in both runs), one
# whose runtime was killed -9, one that waits for a failed run (after:).
# The text, markdown and JSON reports each hold every fact, and the retry and resume commands they print, run as pasted
# (from another directory, without NIGHTSHIFT_DB), act on the same runs.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

# job NAME COMMAND KEYS [EXTRA]: a spec of one job, shell command.
job() {
    cat >"$T/$1.yaml" <<YAML
name: $1
shell: true
command: '$2'
partitions: {list: [$3]}
params: {day: "2026-11-01"}
retry: {attempts: 1}
$4
YAML
}
# A partition of "load" fails while $T/broken exists: "a" and "b" of a full
# disk, "c" of a refused connection; "d" succeeds.
job load 'if [ -e "'"$T"'/broken" ]; then case "$NIGHTSHIFT_PARTITION_KEY" in
  a|b) nightshift emit log error "disk full on /data"; exit 2;; c) nightshift emit log error "connection refused by db"; exit 2;; esac; fi; exit 0' 'a, b, c, d'
job extract 'exit 0' 'x, y, z' 'sla: {max_duration: 1h}'
job report 'exit 0' 'a, b, c, d' 'after: [{job: load, partitions: same-key, on_failure: wait}]'
job slow 'while [ ! -e "'"$T"'/go" ]; do sleep 0.05; done' 's1, s2, s3' 'concurrency: 2'
PATH=$(dirname "$NIGHTSHIFT"):$PATH
export PATH

ns run "$T/extract.yaml" -p day=2026-10-29 >/dev/null 2>&1
is "run 1 (three days ago) succeeds" "$?" 0
old=$(($(date +%s) - 3 * 86400))
sql "UPDATE runs SET created_at = $old, started_at = $old, finished_at = $old + 1, updated_at = $old + 1 WHERE id = 1"
ns run "$T/extract.yaml" -p day=2026-11-03 >/dev/null 2>&1
is "run 2 (extract) succeeds" "$?" 0
touch "$T/broken"
ns run "$T/load.yaml" -p day=2026-11-03 >/dev/null 2>&1
is "run 3 (load 2026-11-03) fails" "$?" 1
ns run "$T/load.yaml" -p day=2026-11-04 >/dev/null 2>&1
is "run 4 (load 2026-11-04) fails too" "$?" 1
spawn slow "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/slow.yaml" -p day=2026-11-03
wait_for "run 5 has two partitions running" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT count(*) FROM partitions WHERE run_id = 5 AND state = 'running'\" 2>/dev/null)\" = 2"
kill -9 "$SPAWNED"
wait_for "run 5's runtime is dead" 10 pid_gone "$SPAWNED"
spawn report "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/report.yaml" -p day=2026-11-03
wait_for "run 6 (report) ran d and waits for load's a, b and c" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT n_succeeded, n_pending FROM runs WHERE id = 6\" 2>/dev/null)\" = '1|3'"
is "the signatures: disk full in runs 3 and 4, a refused connection in run 3" \
    "$(sql "SELECT run_id, key, last_signature IS NOT NULL FROM partitions WHERE state = 'failed' ORDER BY run_id, idx" | tr '\n' ' ')" \
    "3|a|1 3|b|1 3|c|1 4|a|1 4|b|1 4|c|1 "
is "two signatures in all" "$(sql "SELECT count(DISTINCT last_signature) FROM partitions WHERE state = 'failed'")" 2

# --- text ---------------------------------------------------------------------
ns summary --since 24h >"$T/night.txt" 2>"$T/night.err"
is "summary --since exits 0" "$?" 0
s=$(cat "$T/night.txt")
like "the period and its runs: not the one of three days ago" "$s" "^nightshift summary: 5 runs since "
like "runs by outcome" "$s" "runs +5: 1 succeeded, 2 failed, 2 unfinished"
sect() { sed -n "/^$1/,/^\$/p" "$T/night.txt"; }
like "what succeeded: run 2 with its parameters, last" "$(sect succeeded)" " 2 +extract +3 +[0-9.]+s +[0-9-]+ [0-9:]+ day=2026-11-03\$"
is "the columns line up: PARAMETERS over the parameters" \
    "$(sect succeeded | awk '/PARAMETERS/ { h = index($0, "PARAMETERS") } / extract / { print (index($0, "day=") == h) }')" 1
check "run 1 is not in the report" sh -c "! grep -q 'day=2026-10-29' '$T/night.txt'"
like "what failed: run 3, 3 of its 4 partitions" "$(sect 'failed (')" " 3 +load +day=2026-11-03 +3 of 4 "
like "and run 4" "$(sect 'failed (')" " 4 +load +day=2026-11-04 +3 of 4 "
like "failures by signature across the runs: 2 signatures, 6 partitions" "$(sect failures)" \
    "top 2 of 2 signatures, 6 partitions"
like "disk full: 4 partitions in runs 3 and 4, the example partition a of run 3" "$(sect failures)" \
    " 4 +3,4 +exit 2: disk full on /data +run 3 partition 0, key a +exit 2 after [0-9.]+s: disk full on /data"
like "the refused connection: 2 partitions, example run 3 partition 2" "$(sect failures)" \
    " 2 +3,4 +exit 2: connection refused by db +run 3 partition 2, key c +exit 2 after [0-9.]+s: connection refused by db"
like "what still waits: run 5, on a runtime" "$(sect still)" \
    " 5 +slow +running +0/3 +- +- +no runtime drives it"
like "what still waits: run 6, after run 3, on its upstream's failed partitions" "$(sect still)" \
    " 6 +report +running +1/4 +[-0-9.hms]+ +3 +waiting for load a \\(failed, attempt 1/1\\); 2 more partitions wait"
like "one projected finish: not known while run 5 does not move, against the deadline of run 2" \
    "$s" "finish +not known: run 5 does not move; latest deadline [0-9-]+ [0-9:]+ \\(run 2\\)\$"
like "SLA outcomes" "$(sect SLA)" " 2 +extract +met "
is "the commands: two retries and a resume" "$(sect 'to retry' | grep -c '^  nightshift run ')" 3
like "run 3's retry names its database and its parameters" "$(sect 'to retry')" \
    "# retry run 3 \\(load, failed\\)
  nightshift run --retry-failed --db [^ ]+ [^ ]+/load.yaml -p day=2026-11-03"
like "run 5's resume" "$(sect 'to retry')" "# resume run 5 \\(slow, running\\)
  nightshift run --db [^ ]+ [^ ]+/slow.yaml -p day=2026-11-03"
ns summary --since 24h 3 >/dev/null 2>&1
is "--since with RUN is a usage error" "$?" 2
ns summary --since 24h --format html >"$T/night.html" 2>&1
is "--since with --format html writes the period as one page (t-report-html checks it)" "$?" 0
ns summary --since soon >/dev/null 2>&1
is "a --since that is no time is a usage error" "$?" 2
like "no run since now: an empty night, said so" "$(ns summary --since 0s)" "runs +0: 0 succeeded"

# --- markdown -----------------------------------------------------------------
md=$(ns summary --since 24h --format markdown)
like "markdown: a title" "$md" "^# The night since "
like "markdown: the failure groups as a table" "$md" \
    "\\| \`4\` \\| \`3,4\` \\| \`exit 2: disk full on /data\` \\| \`run 3 partition 0, key a\` \\| \`exit 2 after [0-9.]+s: disk full on /data\` \\|"
like "markdown: the commands in a shell block" "$(echo "$md" | sed -n '/^~~~sh/,/^~~~$/p')" \
    "# retry run 4 \\(load, failed\\)
nightshift run --retry-failed --db [^ ]+ [^ ]+/load.yaml -p day=2026-11-04"
like "markdown: the one waiting" "$md" "\\| \`5\` \\| \`slow\` \\| \`running\` \\| \`0/3\` \\| \`-\` \\| \`-\` \\| \`no runtime drives it\` \\|"

# --- json ---------------------------------------------------------------------
ns summary --since 24h --format json >"$T/night.json"
is "json exits 0" "$?" 0
j() { python3 -c "import json,sys; d=json.load(open('$T/night.json')); print($1)"; }
is "json: schema" "$(j 'd["schema"]')" nightshift.night/1
is "json: the runs and their outcomes" "$(j '[(r["id"], r["outcome"], r["next"]) for r in d["runs"]]')" \
    "[(2, 'succeeded', None), (3, 'failed', 'retry'), (4, 'failed', 'retry'), (5, 'unfinished', 'resume'), (6, 'unfinished', None)]"
is "json: by outcome" "$(j 'd["runs_by_outcome"]')" "{'succeeded': 1, 'failed': 2, 'unfinished': 2}"
is "json: failure groups across runs" \
    "$(j '[(g["partitions"], g["runs"], g["signature"], g["example"]["run_id"], g["example"]["partition"], g["example"]["message"].split(": ", 1)[1]) for g in d["failure_groups"]]')" \
    "[(4, [3, 4], 'exit 2: disk full on /data', 3, 0, 'disk full on /data'), (2, [3, 4], 'exit 2: connection refused by db', 3, 2, 'connection refused by db')]"
is "json: run 5 waits on a runtime, its partitions" \
    "$(j '[(r["waiting_on"], r["partitions"]["total"], r["runtime_alive"]) for r in d["runs"] if r["id"] == 5]')" \
    "[('no runtime drives it', 3, False)]"
is "json: run 6 waits for its upstream, a runtime drives it" \
    "$(j '[(r["runtime_alive"], r["after"], r["waiting_on"], r["waiting_for"]) for r in d["runs"] if r["id"] == 6]')" \
    "[(True, [3], 'waiting for load a (failed, attempt 1/1); 2 more partitions wait', 'waiting for load a (failed, attempt 1/1); 2 more partitions wait')]"
is "json: SLA of run 2 and the latest deadline is its" \
    "$(j '([r["sla_state"] for r in d["runs"] if r["id"] == 2], d["finish"]["deadline_run"], d["finish"]["unknown_run"], d["finish"]["unknown_upstream"], d["finish"]["on_time"])')" \
    "(['met'], 2, 5, None, None)"
is "json: the text's commands, the same" \
    "$(j '"\n".join(r["next_command"] for r in d["runs"] if r["next_command"])')" \
    "$(sect 'to retry' | sed -n 's/^  nightshift/nightshift/p')"
is "json: matches json.md" \
    "$(python3 "$ROOT/tests/e2e/json-md-check.py" "$ROOT/docs/json.md" nightshift.night/1 "$T/night.json")" ok

# --- the commands, pasted -----------------------------------------------------
runs_before=$(sql "SELECT count(*) FROM runs")
rm -f "$T/broken"
touch "$T/go"
sect 'to retry' | sed -n 's/^  //p' >"$T/paste.sh"
(cd / && env -u NIGHTSHIFT_DB sh "$T/paste.sh") >"$T/paste.out" 2>&1
is "the pasted commands run (each exits 0)" "$?" 0
is "no new run: each command acted on its own run" "$(sql "SELECT count(*) FROM runs")" "$runs_before"
ns wait 6 --timeout 30s >/dev/null 2>&1
is "run 6 followed its upstream's retry" "$?" 0
is "runs 3, 4 and 5 now succeeded, run 2 untouched" \
    "$(sql "SELECT id, state FROM runs WHERE id > 1 ORDER BY id" | tr '\n' ' ')" \
    "2|succeeded 3|succeeded 4|succeeded 5|succeeded 6|succeeded "
is "run 3's failed partitions ran again, run 3's success did not" \
    "$(sql "SELECT key, attempts_total FROM partitions WHERE run_id = 3 ORDER BY idx" | tr '\n' ' ')" \
    "a|2 b|2 c|2 d|1 "
ns summary --since 24h >"$T/after.txt"
like "after: the night is all succeeded" "$(cat "$T/after.txt")" \
    "runs +5: 5 succeeded, 0 failed, 0 unfinished"
like "and it all ended" "$(cat "$T/after.txt")" "finish +all ended, the last at [0-9-]+ [0-9:]+; latest deadline"
like "nothing to type" "$(cat "$T/after.txt")" "to retry or resume \\(0\\):
  \\(none\\)"

done_testing
