#!/bin/sh
# issue 22 item 2: figures stop when the work stops. A paused run, a halted one, a run
# whose runtime was killed (kill -9) and a finished run have no rate, no
# ETA and (with no runtime) nothing running; their elapsed time stands
# still; an SLA nobody drives any more turns at risk once the work left says
# so - in status, status --json, metrics and the console alike, all from the
# read model. (Also issue 22's small item: a finished run keeps no
# throughput.)
. "$(dirname "$0")/lib.sh"

# json_of RUN FIELD: status --json's FIELD ("null" for null).
json_of() {
    ns status "$1" --json >"$T/status.json"
    sqlite3 :memory: "SELECT coalesce(json_extract(readfile('$T/status.json'), '\$.$2'), 'null')"
}
# metric RUN NAME: the value of one metrics line (NAME with its labels).
metric() { ns metrics "$1" | grep -F "$2" | grep -v '^#' | awk '{print $2}' | head -n 1; }
# header_line N: the run view's header line N (0-based below the breadcrumb).
header_line() { screen | sed -n "$(($1 + 2))p"; }
elapsed_shown() { header_line 3 | grep -oE 'elapsed [0-9hms]+'; }

spec() { # spec NAME EXTRA: 12 one-second partitions, 3 at a time
    cat >"$T/$1.yaml" <<EOF
name: $1
params: {pace: "0.2"}
command: [sh, $CONFIGS/workers/flaky.sh, --key, "{key}", --flaky, none, --fail-times, "0",
          --pace, "{pace}"]
partitions: {list: [k01, k02, k03, k04, k05, k06, k07, k08, k09, k10, k11, k12]}
concurrency: 3
$2
EOF
}

# --- paused ------------------------------------------------------------------
spec truth-paused ""
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/truth-paused.yaml"
wait_for "run 1 moves (a partition done, records/s known)" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT n_succeeded >= 1 AND record_rate > 0 AND n_running >= 1 FROM runs WHERE id = 1' 2>/dev/null)\" = 1" ||
    bail_out "run 1 does not start"
ns pause 1 >/dev/null
is "run 1 is paused" "$(sql "SELECT state FROM runs WHERE id = 1")" paused
e1=$(json_of 1 elapsed_seconds)
sleep 1.2
is "paused: elapsed stands still (--json)" "$(json_of 1 elapsed_seconds)" "$e1"
is "paused: no throughput (--json)" "$(json_of 1 throughput)" 0
is "paused: no records/s (--json)" "$(json_of 1 record_rate)" 0
is "paused: no ETA (--json)" "$(json_of 1 eta_seconds)" null
out=$(ns status 1)
like "paused: status says no rate" "$out" "rate +none: nothing moves; no ETA \(paused\)"
is "paused: metrics has no throughput" "$(metric 1 nightshift_partitions_per_second)" 0
is "paused: metrics runs no attempt" "$(metric 1 nightshift_attempts_running)" 0
console_start 120 40 1
wait_screen "console: run 1's view" 5 '^Runs > run 1 truth-paused'
like "console: no rate, no ETA in the header" "$(header_line 2)" '^thrpt .* - - rec/s +ETA - *$'
el=$(elapsed_shown)
sleep 1.2
is "console: elapsed stands still ($el)" "$(elapsed_shown)" "$el"
check "console: no partition row shows a rate" sh -c "! tmux -L '$TMUX_SOCK' capture-pane -p -t c | grep -E ' paused .*[0-9]/s'"
keys Q
wait_for "the console quits" 5 console_exited
tmx kill-server >/dev/null 2>&1
ns resume 1 >/dev/null
wait_for "run 1 finishes" 30 sql_is "SELECT state FROM runs WHERE id = 1" succeeded
is "finished: no throughput (--json)" "$(json_of 1 throughput)" 0
is "finished: no records/s (--json)" "$(json_of 1 record_rate)" 0
check "finished: status prints no rate" sh -c "! '$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' 1 | grep -q '/s'"

# --- halted (the error budget) -------------------------------------------------
cat >"$T/truth-halted.yaml" <<YAML
name: truth-halted
command: [sh, $ROOT/tests/e2e/specs/steady.sh, "2", "0.1", k1]
partitions: {list: [k0, k1, k2, k3, k4, k5]}
on_exit: {2: fail}
halt_when: {failed_partitions: 1}
YAML
spawn halted "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/truth-halted.yaml"
wait_for "run 2 halts" 20 sql_is "SELECT state FROM runs WHERE id = 2" halted || bail_out "run 2 does not halt"
wait_for "its running attempts finish" 10 sql_is "SELECT count(*) FROM attempts WHERE run_id = 2 AND outcome IS NULL" 0
e1=$(json_of 2 elapsed_seconds)
sleep 1.2
is "halted: elapsed stands still (--json)" "$(json_of 2 elapsed_seconds)" "$e1"
is "halted: no throughput (--json)" "$(json_of 2 throughput)" 0
is "halted: no ETA (--json)" "$(json_of 2 eta_seconds)" null
like "halted: status says no rate" "$(ns status 2)" "rate +none: nothing moves; no ETA \(halted\)"
is "halted: metrics has no throughput" "$(metric 2 nightshift_partitions_per_second)" 0
ns stop 2 >/dev/null 2>&1
wait_for "run 2 stops" 10 sql_is "SELECT state FROM runs WHERE id = 2" stopped

# --- no runtime (kill -9), with an SLA -----------------------------------------
spec truth-dead "sla: {max_duration: 8s}"
spawn runtime2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/truth-dead.yaml"
rt=$SPAWNED
wait_for "run 3 moves" 20 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' 'SELECT n_succeeded >= 3 AND n_running >= 1 FROM runs WHERE id = 3' 2>/dev/null)\" = 1" ||
    bail_out "run 3 does not start"
kill -9 "$rt"
wait_for "the runtime is gone" 10 pid_gone "$rt"
is "the store still says running, SLA ok (nobody told it)" \
    "$(sql "SELECT state || ' ' || n_running || ' ' || sla_state FROM runs WHERE id = 3")" "running 3 ok"
is "no runtime: nothing running (--json)" "$(json_of 3 running)" 0
is "no runtime: no throughput (--json)" "$(json_of 3 throughput)" 0
is "no runtime: no ETA (--json)" "$(json_of 3 eta_seconds)" null
e1=$(json_of 3 elapsed_seconds)
sleep 1.2
is "no runtime: elapsed stands still (--json)" "$(json_of 3 elapsed_seconds)" "$e1"
out=$(ns status 3)
like "no runtime: status counts nothing running" "$out" "; 0 running, 0 paused"
like "no runtime: status says no rate" "$out" "rate +none: nothing moves; no ETA \(no runtime\)"
check "no runtime: status lists no running partition" sh -c "! printf '%s\n' \"\$1\" | grep -q '^running:'" - "$out"
is "no runtime: metrics counts nothing running" "$(metric 3 'nightshift_partitions{nightshift_job="truth-dead",state="running"}')" 0
is "no runtime: metrics runs no attempt" "$(metric 3 nightshift_attempts_running)" 0
console_start 120 40 3
wait_screen "console: run 3's view" 5 '^Runs > run 3 truth-dead'
like "console: nothing running in the header" "$(header_line 1)" ' running 0 '
like "console: no rate in the header" "$(header_line 2)" '^thrpt .* - - rec/s +ETA -'
wait_for "no runtime: the SLA turns at risk once the work left passes the deadline" 10 \
    sh -c "'$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' 3 --json | grep -q '\"sla_state\":\"at_risk\"'" &&
    ok "no runtime: SLA at risk (--json) while the store still says $(sql "SELECT sla_state FROM runs WHERE id = 3")"
like "no runtime: status says the SLA is at risk" "$(ns status 3)" "SLA +at_risk"
is "no runtime: metrics says at risk" "$(metric 3 'state="at_risk"')" 1
wait_screen "console: the SLA at risk in the header" 5 'deadline [0-9:]+ at_risk'
wait_for "past the deadline: missed" 10 sh -c "'$NIGHTSHIFT' status --db '$NIGHTSHIFT_DB' 3 --json | grep -q '\"sla_state\":\"missed\"'" &&
    ok "no runtime: SLA missed past the deadline"
done_testing
