#!/bin/sh
# t-agree.sh - the console and `status --json` tell the same story at the
# same moment, field by field: run state, counts by state, runtime liveness,
# ETA and projected finish, failure groups. Checked on a live run, then
# paused (no ETA in either), then with its runtime killed -9 (no runtime,
# no ETA in either). Both read the one read model (query.h); this test is
# what keeps them from drifting apart again.
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
. "$ROOT/tests/e2e/control-lib.sh"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"

D=$T/steer
mkdir -p "$D"
echo 3 >"$D/fail-a" # a fails for good (on_exit 3: fail)
: >"$D/release-b"   # b succeeds at once
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$SPECS/loop.yaml" -p dir="$D"
RT=$SPAWNED
wait_for "a failed, b succeeded, two running" 20 \
    sql_is "SELECT n_failed || n_succeeded || n_running FROM runs WHERE id = 1" 112 ||
    bail_out "the run did not get there"
# c's failure: exit 4 is 'fail' too, with a different cause than a's.
echo 4 >"$D/fail-c"
wait_for "c failed" 10 sql_is "SELECT state FROM partitions WHERE run_id = 1 AND idx = 2" failed

# A second, finished run, for the "another run's view" check at the end.
ns run "$ROOT/configs/flaky-keys.yaml" -p pace=0 -p fail_times=0 --quiet >/dev/null 2>&1 ||
    bail_out "the second run failed"

console_start 160 40 1
wait_screen "the run view" 10 '^Runs > run 1 loop'

# compare LABEL: one capture of the header and one status --json, taken
# back to back, compared field by field (prints "ok" or what differs).
cat >"$T/compare.py" <<'PY'
import json, re, sys
screen = open(sys.argv[1], encoding="utf-8").read().splitlines()
st = json.load(open(sys.argv[2], encoding="utf-8"))
problems = []
def want(what, shown, expected):
    if shown != expected:
        problems.append("%s: console %r, status %r" % (what, shown, expected))
head = screen[1]
want("state", head.split()[0], st["state"])
m = re.search(r"(\d+)/(\d+) done", head)
want("done/total", (int(m.group(1)), int(m.group(2))) if m else None, (st["done"], st["total"]))
counts = dict((k, int(v)) for k, v in re.findall(r"(pending|running|retry_wait|paused|succeeded|failed|skipped) (\d+)", screen[2]))
for k in ("pending", "running", "retry_wait", "paused", "succeeded", "failed", "skipped"):
    want("count " + k, counts.get(k), st[k])
m = re.search(r"ETA (\S+)", screen[3])
eta = m.group(1) if m else None
def secs(s):
    t = 0
    for n, u in re.findall(r"(\d+)([dhms])", s):
        t += int(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[u]
    return t
if st["eta_seconds"] is None:
    want("ETA", eta, "-")
    want("finish shown", "finish" in screen[3], False)
else:
    # The two reads are a fraction of a second apart and the screen rounds
    # down to whole seconds (minutes past an hour): within 2 s, or 60 s.
    tol = 2 if st["eta_seconds"] < 3600 else 60
    if eta == "-" or abs(secs(eta) - max(st["eta_seconds"], 0)) > tol:
        problems.append("ETA: console %r, status %.1fs" % (eta, st["eta_seconds"]))
    want("finish shown", "finish" in screen[3], True)
alive = screen[4].startswith("runtime pid")
want("runtime alive", alive, st["runtime_alive"])
if alive:
    m = re.match(r"runtime pid (\d+)", screen[4])
    want("runtime pid", int(m.group(1)), st["runtime_pid"])
else:
    want("no runtime said", screen[4].startswith("no runtime"), not st["runtime_alive"])
print("ok" if not problems else "; ".join(problems))
PY
compare() {
    screen >"$T/screen.txt"
    ns status 1 --json >"$T/status.json"
    python3 "$T/compare.py" "$T/screen.txt" "$T/status.json"
}
agree() { [ "$(compare)" = ok ]; }
# agree_now LABEL: waits (briefly) for a moment where both were read between
# two refreshes, then reports; the last difference is the diagnostic.
agree_now() {
    if wait_for "$1" 5 agree; then
        ok "$1"
    else
        diag "$(compare)"
        sed 's/^/#   | /' "$T/screen.txt"
    fi
}

# A projection needs a second of run time or a finished partition's rate.
has_eta() { ns status 1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["eta_seconds"] is None)'; }
wait_for "status has an ETA (running, runtime alive)" 10 has_eta && ok "status has an ETA (running, runtime alive)"
agree_now "live: state, counts, ETA, finish and liveness agree"

# Failure groups: the console's failures view lists what status lists.
keys F
wait_screen "failures view" 5 'failed partitions by signature'
wait_screen "two groups" 5 'exit 4'
screen >"$T/groups.txt"
ns status 1 --json >"$T/status.json"
is "failure groups: same signatures and counts" \
    "$(python3 - "$T/groups.txt" "$T/status.json" <<'PY'
import json, re, sys
rows = []
for line in open(sys.argv[1], encoding="utf-8").read().splitlines()[3:]:
    m = re.match(r"\s+(\d+)\s+(\d+)  (?:\(\d+ waiting\) )?(.+?)\s*$", line)
    if m:
        rows.append((int(m.group(1)), int(m.group(2)), m.group(3)))
st = json.load(open(sys.argv[2], encoding="utf-8"))
want = [(g["partitions"], g["first_partition"], g["signature"]) for g in st["failure_groups"]]
print("ok" if rows == want else "console %r, status %r" % (rows, want))
PY
)" ok
keys q
wait_screen "back to the run" 5 'filter all'

# C changes the concurrency, as `nightshift set` does.
keys C
wait_screen "C asks the concurrency" 5 'concurrency for run 1:'
keys 3 Enter
wait_screen "set is applied" 5 'set concurrency=3 on run 1: applied'
is "the run's concurrency is 3" "$(sql "SELECT concurrency FROM runs WHERE id = 1")" 3
wait_screen "the header says conc 3" 5 'conc 3'
agree_now "after set: still in agreement"
# L from the run table: the selected partition's latest log.
keys g j j j
wait_screen "partition d selected" 5 '^ +3 d +running'
keys L
wait_screen "L opens d's log from the table" 5 'log of partition 3 attempt 1'
keys q
wait_screen "back to the run" 5 'filter all'

# Paused: neither shows an ETA or a finish time; both count the paused.
wait_for "three running (d, e, f: concurrency 3)" 10 sql_is "SELECT n_running FROM runs WHERE id = 1" 3
ns pause 1 >/dev/null
wait_screen "header says paused" 5 '^paused'
# The runtime writes its counters once a second: wait for the three paused.
three_paused() { ns status 1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["paused"] != 3)'; }
wait_for "status counts the three paused partitions" 5 three_paused && ok "status counts the three paused partitions"
agree_now "paused: no ETA, no finish, the same counts (paused included)"
is "paused: status has no ETA (null)" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["eta_seconds"], d["projected_finish"], d["paused"])' "$T/status.json")" "None None 3"

# The runtime killed -9: the lock is gone; both say so, neither has an ETA.
kill -KILL "$RT"
wait_for "the runtime is gone" 5 pid_gone "$RT"
wait_screen "the console says no runtime" 5 '^no runtime'
agree_now "no runtime: both say so, no ETA"
like "status (text) says it too" "$(ns status 1)" "NO RUNTIME"
like "status (text) has no ETA" "$(ns status 1 | grep '^rate')" "no ETA \(no runtime\)"
like "the status list marks it as the console's runs list does" "$(ns status)" "^1 +loop +paused\? "

# The one submit policy: a retry with no runtime is queued, and the console
# says what the CLI says.
keys g
wait_screen "partition a selected" 5 '^ +0 a +failed'
keys r
wait_screen "the console queues the retry" 5 'retry partition 0: queued: no runtime: run `nightshift run'
said=$(screen | grep -o 'queued: no runtime: run .*' | head -n 1 | sed 's/ *$//')
cli=$(ns retry 1 b 2>&1 | grep -o 'queued (command [0-9]*): no runtime: run .*' | sed 's/ (command [0-9]*)//')
diag "console: $said"
diag "cli:     $cli"
case $cli in
"$said"*) ok "the CLI says the same words (the console's line is cut at the screen's edge)" ;;
*) fail "the CLI says the same words" ;;
esac
is "both are queued in the audit log" "$(sql "SELECT group_concat(source || ':' || state, ' ') FROM commands WHERE run_id = 1 AND verb = 'retry'")" "console:pending cli:pending"
# The line belongs to run 1: not shown while run 2 is selected.
keys q
wait_screen "the runs list" 5 '^Runs +'
keys g
wait_screen_not "run 2 selected: run 1's line is not shown" 5 'queued: no runtime'
keys j
wait_screen "run 1 selected: its line again" 5 'queued: no runtime'

keys Q
wait_for "the console quits" 5 console_exited && ok "the console quits"
done_testing
