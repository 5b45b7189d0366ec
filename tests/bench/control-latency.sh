#!/bin/sh
# control-latency.sh - command-to-effect latency of operator commands (not a
# test: it prints numbers). Drives a live run of tests/e2e/specs/loop.yaml and
# issues N commands (default 200) alternating pause and resume, three ways:
#
#   wait     `nightshift pause RUN` (waits for the verdict); measured: from
#            the command's return until `status --json` shows the new state
#            (0 when the verdict and the state are one transaction), and the
#            whole command wall time (process start to exit);
#   no-wait  `nightshift pause RUN --no-wait`; measured: from the command's
#            return until the new state is visible in SQLite (polled every
#            1 ms) - the runtime's pick-up time as an operator sees it;
#   runtime  applied_at - issued_at of every command row (the audit log).
#
#   NIGHTSHIFT_BUILD=build tests/bench/control-latency.sh [N]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${NIGHTSHIFT_BUILD:=build}"
case $NIGHTSHIFT_BUILD in /*) ;; *) NIGHTSHIFT_BUILD=$ROOT/$NIGHTSHIFT_BUILD ;; esac
NS=$NIGHTSHIFT_BUILD/nightshift
N=${1:-200}
T=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-bench.XXXXXX")
DB=$T/db/nightshift.db
mkdir -p "$T/d"
setsid "$NS" run --db "$DB" "$ROOT/tests/e2e/specs/loop.yaml" -p dir="$T/d" >"$T/run.out" 2>&1 </dev/null &
RT=$!
trap 'rc=$?; set +e; kill -INT $RT 2>/dev/null; sleep 0.2; kill -INT $RT 2>/dev/null; wait $RT 2>/dev/null; rm -rf "$T"; exit $rc' EXIT
python3 - "$NS" "$DB" "$N" <<'PY'
import json, sqlite3, subprocess, sys, time
ns, db, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.time() + 20
while True:
    try:
        c = sqlite3.connect(db, timeout=5)
        if c.execute("SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'running'").fetchone()[0] == 2:
            break
        c.close()
    except sqlite3.Error:
        pass
    if time.time() > deadline:
        sys.exit("the run did not start")
    time.sleep(0.05)

def state():
    return c.execute("SELECT state FROM runs WHERE id = 1").fetchone()[0]

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

def show(name, xs):
    print("%-44s n=%d  p50 %7.1f ms  p90 %7.1f ms  p99 %7.1f ms  max %7.1f ms"
          % (name, len(xs), pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs)))

wall, to_status, nowait = [], [], []
for i in range(n):
    verb, want = ("pause", "paused") if i % 2 == 0 else ("resume", "running")
    t0 = time.monotonic()
    r = subprocess.run([ns, verb, "--db", db, "1"], capture_output=True, text=True)
    t1 = time.monotonic()
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (verb, r.stderr))
    s = json.loads(subprocess.run([ns, "status", "--db", db, "1", "--json"],
                                  capture_output=True, text=True).stdout)
    if s["state"] != want:
        # Not yet visible: poll until it is (counts as latency).
        while state() != want:
            time.sleep(0.001)
    to_status.append((time.monotonic() - t1) * 1000 if s["state"] != want else 0.0)
    wall.append((t1 - t0) * 1000)
for i in range(n):
    verb, want = ("pause", "paused") if i % 2 == 0 else ("resume", "running")
    r = subprocess.run([ns, verb, "--db", db, "1", "--no-wait"], capture_output=True, text=True)
    t1 = time.monotonic()
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (verb, r.stderr))
    while state() != want:
        time.sleep(0.001)
    nowait.append((time.monotonic() - t1) * 1000)
rows = c.execute("SELECT (applied_at - issued_at) * 1000 FROM commands WHERE run_id = 1 "
                 "AND state = 'applied'").fetchall()
print("control latency over %d commands per mode (pause/resume on a live run, 2 workers)" % n)
show("wait: command return -> visible in status", to_status)
show("wait: whole command (exec to exit)", wall)
show("no-wait: command return -> visible in SQLite", nowait)
show("runtime: issued_at -> applied_at (audit)", [r[0] for r in rows])
PY
