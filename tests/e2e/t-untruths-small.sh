#!/bin/sh
# Issue 22, smaller untruths, one block each (the item's words in its
# checks' names).
. "$(dirname "$0")/lib.sh"

# --- relative dates that almost match: accepted sensibly or refused ---------
cat >"$T/d.yaml" <<'YAML'
name: dates
params: {day: ~}
command: [echo, "{day}"]
partitions: {list: [a]}
YAML
today=$(date +%F)
week=$(date -d "+7 days" +%F)
like "issue 22: relative dates: today+1w is a week from today" \
    "$(ns plan "$T/d.yaml" -p day=today+1w)" "day=$week"
like "issue 22: relative dates: Today is today" "$(ns plan "$T/d.yaml" -p day=Today)" "day=$today"
for bad in 'today+99999999999d' 'today+1y' 'today-7' 'today -7d'; do
    ns plan "$T/d.yaml" -p "day=$bad" >/dev/null 2>"$T/date.err"
    is "issue 22: relative dates: $bad is refused (exit 2)" "$?" 2
    check "  with a clear error" grep -qF "nightshift: plan: -p day=$bad: not a date: a relative date is today or yesterday" "$T/date.err"
done
ns run "$T/d.yaml" -p day=today+99999999999d >/dev/null 2>&1
is "issue 22: relative dates: run refuses it too, and records nothing" "$?:$(sql "SELECT count(*) FROM runs" 2>/dev/null || echo 0)" "2:0"
ns schedule "$T/d.yaml" -p day=today+1y >/dev/null 2>&1
is "issue 22: relative dates: schedule refuses it" "$?" 2
like "todays-report is a plain value" "$(ns plan "$T/d.yaml" -p day=todays-report)" "day=todays-report"

# --- --limit 0: events, errors and audit agree (0 is no cap) ----------------
ns run "$T/d.yaml" -p day=2026-11-30 --quiet >/dev/null 2>&1
run=$(sql "SELECT max(id) FROM runs")
all=$(sql "SELECT count(*) FROM events WHERE run_id = $run")
is "issue 22: --limit 0: events prints every event (it printed none)" \
    "$(ns events "$run" --limit 0 | wc -l | tr -d ' ')" "$all"
is "as without --limit" "$(ns events "$run" --limit 0)" "$(ns events "$run")"
is "and --limit 1 one" "$(ns events "$run" --limit 1 | wc -l | tr -d ' ')" 1

# --- a log report line holding a NUL, malformed lines escaped once ---------
cat >"$T/nul.yaml" <<'YAML'
name: nul
shell: true
command: "printf 'log warn half\\000half\\n' >&3; printf 'checkpoint a\\000b\\n' >&3; printf 'bogus \\033[31m\\n' >&3"
partitions: {list: [a]}
YAML
ns run "$T/nul.yaml" --quiet >/dev/null 2>&1
run=$(sql "SELECT max(id) FROM runs")
ev=$(ns events "$run")
like "issue 22: a log line holding a NUL is reported as malformed (it was cut at the NUL)" "$ev" \
    "malformed report line \(log: message contains a NUL byte\): log warn half␀half"
is "and is not logged cut at the NUL" "$(printf '%s\n' "$ev" | awk '$4 == "log"' | wc -l | tr -d ' ')" 0
like "a checkpoint with a NUL, as before" "$ev" "\(checkpoint: token contains a NUL byte\): checkpoint a␀b"
like "issue 22: malformed-line events escape once (the NUL was \\\\x00)" "$ev" 'unknown message "bogus"\): bogus \\x1b\[31m$'
check "no byte escaped twice" sh -c "! printf '%s' \"\$1\" | grep -qF '\\\\x'" - "$ev"
like "JSON has the raw bytes" "$(ns events "$run" --json | grep bogus)" 'bogus \\u001b\[31m"'

# --- run --force: the event text is stored raw, escaped on output ---------
cat >"$T/f.yaml" <<'YAML'
name: forced
command: [true]
partitions: {list: [a, b]}
timeout: 10s
YAML
ns run "$T/f.yaml" --quiet >/dev/null 2>&1
sed -i 's/timeout: 10s/timeout: 20s/' "$T/f.yaml"
sql "UPDATE runs SET state = 'stopped' WHERE job = 'forced'"
ns run "$T/f.yaml" --force --quiet >/dev/null 2>&1
msg=$(sql "SELECT message FROM events WHERE kind = 'spec_changed'")
like "issue 22: run --force's event is stored raw (a real line break)" "$msg" "the spec changed:$"
check "  and holds no escape" sh -c "! printf '%s' \"\$1\" | grep -qF '\\'" - "$msg"
like "  events shows it escaped once" "$(ns events forced | grep spec_changed)" 'the spec changed:\\n  was: timeout'

# --- a keys file with a UTF-8 byte-order mark --------------------------------
printf '\357\273\277acme\r\nglobex\r\n' >"$T/keys.txt"
cat >"$T/bom.yaml" <<'YAML'
name: bom
command: [echo, "{key}"]
partitions: {list: {file: keys.txt}}
YAML
ns run "$T/bom.yaml" --quiet >/dev/null 2>&1
run=$(sql "SELECT max(id) FROM runs")
is "issue 22: keys file with a UTF-8 BOM: the first key is acme (not \\xef\\xbb\\xbfacme)" \
    "$(sql "SELECT hex(key) FROM partitions WHERE run_id = $run AND idx = 0")" "$(printf acme | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
is "  and the worker got acme" "$(ns logs "$run" acme)" acme

# --- an ordinary background child left in the worker's process group -------
cat >"$T/bg.yaml" <<'YAML'
name: bg
shell: true
command: "sleep 30 & sleep 0.2"
partitions: {list: [a, b, c]}
concurrency: 3
YAML
ns run "$T/bg.yaml" --quiet >/dev/null 2>&1
run=$(sql "SELECT max(id) FROM runs")
is "issue 22: a background child in the worker's group: each attempt says it was ended there" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run AND message LIKE '%ended 1 background process it left in its process group'")" 3
is "  not in the words meant for setsid escapees" \
    "$(sql "SELECT count(*) FROM attempts WHERE run_id = $run AND message LIKE '%outside its process group%'")" 0

# --- schedule --on-calendar garbage; linger and OnFailure= in the units -----
ns schedule "$T/d.yaml" -p day=yesterday --on-calendar garbage >/dev/null 2>"$T/cal.err"
is "issue 22: schedule --on-calendar garbage is refused (exit 2)" "$?" 2
like "  with a clear error" "$(cat "$T/cal.err")" '^nightshift: schedule: --on-calendar "garbage" is not a calendar expression'
env PATH=/nonexistent "$NIGHTSHIFT" schedule --db "$NIGHTSHIFT_DB" "$T/d.yaml" -p day=yesterday --on-calendar garbage >/dev/null 2>&1
is "  also without systemd-analyze (our own check)" "$?" 2
env PATH=/nonexistent "$NIGHTSHIFT" schedule --db "$NIGHTSHIFT_DB" "$T/d.yaml" -p day=yesterday --on-calendar "Mon..Fri *-*-* 06:00:00" >/dev/null 2>&1
is "  which takes a good one" "$?" 0
out=$(ns schedule "$T/d.yaml" -p day=yesterday --on-calendar "Mon..Fri 06:00")
is "a good one is printed" "$?" 0
like "issue 22: the units mention loginctl enable-linger for user timers" "$out" "loginctl enable-linger"
like "issue 22: the service shows an OnFailure= example" "$out" "^#OnFailure=alert@%n.service$"

# --- metrics.textfile in a directory that does not exist -------------------
cat >"$T/m.yaml" <<YAML
name: metricsdir
params: {where: "$T/no/such/dir"}
command: [true]
partitions: {list: [a]}
metrics: {textfile: "{where}/job.prom"}
YAML
ns run "$T/m.yaml" --quiet >/dev/null 2>&1
is "issue 22: metrics.textfile in a missing directory: the run succeeds" "$?" 0
check "  and the directory was made, the file written" test -s "$T/no/such/dir/job.prom"
is "  no 'not written' event" "$(sql "SELECT count(*) FROM events WHERE kind = 'metrics'")" 0
runs_before=$(sql "SELECT count(*) FROM runs")
ns run "$T/m.yaml" -p where=/proc/self/nope >/dev/null 2>"$T/m.err"
rc=$?
check "issue 22: one that cannot be made is refused at start (exit $rc)" test "$rc" -ne 0
like "  with a clear error" "$(cat "$T/m.err")" "metrics textfile /proc/self/nope/job.prom: cannot create its directory /proc/self/nope"
is "  and no run was made" "$(sql "SELECT count(*) FROM runs")" "$runs_before"

# --- the example specs write per user, not to a fixed /tmp path ------------
check "issue 22: no example spec or worker names a /tmp path" sh -c "! grep -rn '/tmp/' '$ROOT/configs' --include='*.yaml' --include='*.sh'"
XDG_STATE_HOME=$T/state ns run "$CONFIGS/backfill.yaml" -p from=2026-11-01 -p to=2026-11-02 \
    -p pace=0 -p lines=200 --quiet >/dev/null 2>&1
is "the backfill example runs with its defaults" "$?" 0
check "issue 22: its output is under \$XDG_STATE_HOME/nightshift/demo" \
    test -s "$T/state/nightshift/demo/backfill/out/2026-11-02.tsv"
check "  and its hook's record too" test -s "$T/state/nightshift/demo/backfill/out/hook-success.env"
done_testing
