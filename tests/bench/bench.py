#!/usr/bin/env python3
"""bench.py - the benchmarks behind `make bench` (tests/bench/run.sh calls it).

Measures, in one run on one machine, side by side, every row of issue 8's
table and writes docs/benchmarks.md (and docs/benchmarks.json, the same figures
for tools). Numbers, never pass/fail. Each row is run RUNS times (median and
min-max) where it is fast enough; the slow rows say how many runs they had.

  tests/bench/bench.py BUILD_DIR

Knobs (environment): BENCH_QUICK=1 (small sizes, few runs: a smoke run of a
minute or two), BENCH_RUNS (5), BENCH_OUT (docs/benchmarks.md),
BENCH_BASELINE (tests/bench/baseline.json: the "before" column, a JSON file an
earlier run wrote; absent -> no before column).
"""
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
NS = os.path.join(BUILD, "nightshift")
PEAKRSS = os.path.join(BUILD, "tests", "helpers", "peakrss")
FLOOR = os.path.join(BUILD, "tests", "bench", "floor")
INGEST = os.path.join(BUILD, "tests", "bench", "ingest-worker")
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "3" if QUICK else "5"))
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "docs", "benchmarks.md"))
BASELINE = os.environ.get("BENCH_BASELINE", os.path.join(ROOT, "tests", "bench", "baseline.json"))

# Sizes: the issue's, or a smoke run's.
BIG = 10_000 if QUICK else 1_000_000          # plan, store, RSS 10 s in
SMALL = 200 if QUICK else 2_000               # per-partition overhead
FULL = 2_000 if QUICK else 100_000            # a whole run of `true`
RECORDS = 20_000 if QUICK else 200_000        # ingestion
PROGRESS = 500_000 if QUICK else 5_000_000
PAYLOAD = 200
COMMANDS = 40 if QUICK else 200               # operator commands
IDLE_S = 10 if QUICK else 60
RSS_AT_S = 3 if QUICK else 10
CONSOLE_PARTS = 10_000 if QUICK else 1_000_000
CONSOLE_ERRORS = 100_000 if QUICK else 1_000_000
REPORT_PARTS = 5_000 if QUICK else 200_000     # summary, the HTML report, compare

TMP = tempfile.mkdtemp(prefix="nightshift-bench.")
ENV = dict(os.environ, HOME=os.path.join(TMP, "home"), NIGHTSHIFT_DB=os.path.join(TMP, "unused.db"))
os.makedirs(ENV["HOME"], exist_ok=True)
notes = []
results = {}


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def spec(path, name, n, conc, argv):
    with open(path, "w") as f:
        f.write("name: %s\ndescription: benchmark, %d partitions\ncommand: %s\n"
                "partitions:\n  range: {start: 1, end: %d, size: 1}\nconcurrency: %d\n"
                "retry: {attempts: 1}\nstop_grace: 1s\nlog_limit: 4096\n"
                % (name, n, json.dumps(argv), n, conc))
    return path


def rmdb(db):
    subprocess.run(["rm", "-rf", db, db + "-wal", db + "-shm", db + ".d"])


def stats(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def timed(argv, **kw):
    t0 = time.monotonic()
    r = subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    t1 = time.monotonic()
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[0], r.returncode,
                                                   r.stderr.decode(errors="replace")[:160]))
    return t1 - t0


def peak(argv, stdout=subprocess.DEVNULL):
    """(seconds, peak RSS KiB) of argv under peakrss."""
    out = os.path.join(TMP, "rss")
    t0 = time.monotonic()
    r = subprocess.run([PEAKRSS, "-o", out] + argv, env=ENV, stdout=stdout,
                       stderr=subprocess.PIPE)
    t1 = time.monotonic()
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (argv[0], r.returncode,
                                                   r.stderr.decode(errors="replace")[:160]))
    with open(out) as f:
        return t1 - t0, int(f.read().split()[0])


def end_run(proc, db):
    """Graceful stop of a runtime, then make sure nothing of it is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    try:
        c = sqlite3.connect(db, timeout=5)
        for (g,) in c.execute("SELECT pgid FROM attempts WHERE pgid > 1"):
            try:
                os.killpg(g, signal.SIGKILL)
            except OSError:
                pass
        c.close()
    except sqlite3.Error:
        pass


def guard(name, fn):
    """Runs one benchmark; a failure becomes a note, never the end of the run."""
    say("%s ..." % name)
    t0 = time.monotonic()
    try:
        fn()
    except Exception as e:  # a benchmark that failed is reported, not fatal
        notes.append("%s: not measured: %s" % (name, str(e).strip().splitlines()[0][:200]))
    say("%s: %.0f s" % (name, time.monotonic() - t0))


# ---- rows --------------------------------------------------------------------

def bench_plan():
    s = spec(os.path.join(TMP, "big-sleep.yaml"), "bench-store", BIG, 1, ["sleep", "1000"])
    times, rss = [], []
    for _ in range(RUNS):
        t, k = peak([NS, "plan", s])
        times.append(t)
        rss.append(k / 1024)
    results["plan_s"] = stats(times)
    results["plan_rss_mib"] = stats(rss)


def bench_store():
    s = spec(os.path.join(TMP, "big-sleep.yaml"), "bench-store", BIG, 1, ["sleep", "1000"])
    times = []
    runs = 3 if not QUICK else 2
    for i in range(runs):
        db = os.path.join(TMP, "store.db")
        rmdb(db)
        t0 = time.monotonic()
        p = subprocess.Popen([NS, "run", s, "--db", db], env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        t1 = None
        try:
            while p.poll() is None and time.monotonic() - t0 < 120:
                try:
                    c = sqlite3.connect(db, timeout=1)
                    row = c.execute("SELECT 1 FROM partitions WHERE run_id = 1 AND idx = ?",
                                    (BIG - 1,)).fetchone()
                    c.close()
                    if row:
                        t1 = time.monotonic()
                        break
                except sqlite3.Error:
                    pass
                time.sleep(0.01)
        finally:
            end_run(p, db)
        if t1 is None:
            raise RuntimeError("the run never showed %d stored partitions" % BIG)
        times.append(t1 - t0)
    results["store_s"] = stats(times)


def bench_rss_live():
    s = spec(os.path.join(TMP, "big-true.yaml"), "bench-rss", BIG, 4, ["true"])
    hwm = []
    runs = 2
    for _ in range(runs):
        db = os.path.join(TMP, "rss-live.db")
        rmdb(db)
        p = subprocess.Popen([NS, "run", s, "--db", db], env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            time.sleep(RSS_AT_S)  # a measurement point, not a wait for a condition
            with open("/proc/%d/status" % p.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm.append(int(line.split()[1]) / 1024)
        finally:
            end_run(p, db)
    results["rss_live_mib"] = stats(hwm)


def bench_control():
    r = subprocess.run([os.path.join(ROOT, "tests", "bench", "control-latency.sh"), str(COMMANDS)],
                       env=dict(ENV, NIGHTSHIFT_BUILD=BUILD), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("control-latency.sh: " + (r.stderr or r.stdout).strip()[-200:])
    results["control_text"] = r.stdout.strip()
    for line in r.stdout.splitlines():
        if line.startswith("wait: whole command"):
            f = line.split()
            results["control_p50_ms"] = float(f[f.index("p50") + 1])
            results["control_p90_ms"] = float(f[f.index("p90") + 1])


def bench_idle():
    r = subprocess.run([os.path.join(ROOT, "tests", "bench", "idle-cpu.sh"), NS, str(IDLE_S)],
                       env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("idle-cpu.sh: " + (r.stderr or r.stdout).strip()[-200:])
    results["idle_text"] = r.stdout.strip()
    f = r.stdout.split()
    results["idle_pct"] = float(f[f.index("%") - 1])


def bench_slurm():
    """executor: slurm against a bare sbatch array, and the runtime with 1000
    tasks queued (tests/bench/slurm.sh: a real single-node Slurm; root and the
    Slurm packages, else skipped with its reason)."""
    r = subprocess.run([os.path.join(ROOT, "tests", "bench", "slurm.sh")],
                       env=dict(ENV, NIGHTSHIFT_BUILD=BUILD), capture_output=True, text=True)
    if r.returncode == 77:
        why = [l for l in r.stderr.splitlines() if "SKIP" in l]
        notes.append("slurm: skipped: %s" % (why[0].split("SKIP", 1)[1].strip() if why else "?"))
        return
    if r.returncode != 0:
        raise RuntimeError("slurm.sh: " + (r.stderr or r.stdout).strip()[-200:])
    results["slurm_md"] = r.stdout.strip()


def bench_many():
    """Ten runtimes, one database (issue 18): a busy run of BIG instant
    partitions at concurrency 8, then nine runs of 8 x `sleep 1` at
    concurrency 4 beside it (their wall time against the same run in a
    database of its own, beside the same load), then COMMANDS operator
    commands (`set busy concurrency=N`) while they all share the file."""
    busy = spec(os.path.join(TMP, "many-busy.yaml"), "busy", BIG, 8, ["true"])
    db = os.path.join(TMP, "many.db")
    own = os.path.join(TMP, "many-own.db")
    rmdb(db)
    rmdb(own)
    p = subprocess.Popen([NS, "run", busy, "--db", db], env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                c = sqlite3.connect(db, timeout=5)
                row = c.execute("SELECT n_succeeded FROM runs WHERE job = 'busy'").fetchone()
                c.close()
                if row and row[0] > 2000:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.1)
        smalls = [spec(os.path.join(TMP, "many-small%d.yaml" % i), "small%d" % i, 8, 4,
                       ["sleep", "1"]) for i in range(9)]
        alone = timed([NS, "run", smalls[0], "--db", own])
        t0 = time.monotonic()
        procs = [subprocess.Popen([NS, "run", s, "--db", db], env=ENV, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for s in smalls]
        walls = []
        for q in procs:
            q.wait()
            walls.append(time.monotonic() - t0)
            if q.returncode != 0:
                raise RuntimeError("a small run beside the busy one exited %d" % q.returncode)
        lat = []
        for i in range(COMMANDS):
            lat.append(timed([NS, "set", "busy", "concurrency=%d" % (7 + i % 2), "--db", db]) * 1000)
        lat.sort()
        results["many_alone_s"] = alone
        results["many_beside_s"] = stats(walls)
        results["many_slowdown"] = stats([w / alone for w in walls])
        results["many_cmd_p50_ms"] = lat[len(lat) // 2]
        results["many_cmd_p99_ms"] = lat[min(len(lat) - 1, (len(lat) * 99 + 99) // 100 - 1)]
    finally:
        end_run(p, db)


def count_logs(d):
    """Attempt logs: the regular files inside the run directories (d/run-N/...),
    not the run's lock file or wake-up FIFO beside them."""
    n = 0
    for entry in os.listdir(d) if os.path.isdir(d) else []:
        run_dir = os.path.join(d, entry)
        if entry.startswith("run-") and os.path.isdir(run_dir):
            for root, _, files in os.walk(run_dir):
                n += sum(1 for f in files if os.path.isfile(os.path.join(root, f)))
    return n


def bench_small():
    s = spec(os.path.join(TMP, "small.yaml"), "bench-small", SMALL, 2, ["true"])
    db = os.path.join(TMP, "small.db")
    ns, fl, xa = [], [], []
    # Interleaved, so a change in the machine's load hits all three alike.
    for _ in range(RUNS):
        rmdb(db)
        ns.append(timed([NS, "run", s, "--db", db]))
        fl.append(timed([FLOOR, "-P", "2", "-n", str(SMALL), "true"]))
        xa.append(timed(["sh", "-c", "seq %d | xargs -P2 -n1 true" % SMALL]))
    results["small_ns_s"] = stats(ns)
    results["small_floor_s"] = stats(fl)
    results["small_xargs_s"] = stats(xa)
    results["small_vs_floor"] = stats([a / b for a, b in zip(ns, fl)])
    results["small_vs_xargs"] = stats([a / b for a, b in zip(ns, xa)])
    # The attempt logs of the last run: files under the run's directory.
    results["small_log_files"] = count_logs(db + ".d")
    try:
        results["small_parallel_s"] = stats([timed(
            ["sh", "-c", "seq %d | parallel --will-cite -j2 true" % SMALL])])
    except Exception as e:
        notes.append("GNU parallel: not measured: %s" % e)


def bench_ingest():
    tf = os.path.join(TMP, "worker.time")
    argv = [INGEST, str(RECORDS), str(PROGRESS), str(PAYLOAD), tf]
    alone = []
    for _ in range(RUNS):
        with open(os.devnull, "w") as null:
            subprocess.run(argv, env=dict(ENV, NIGHTSHIFT_REPORT_FD=str(null.fileno())),
                           pass_fds=(null.fileno(),), check=True)
        alone.append(float(open(tf).read()))
    s = spec(os.path.join(TMP, "ingest.yaml"), "bench-ingest", 1, 1, argv)
    # spec() makes a range partitioner; the one partition ignores its number.
    db = os.path.join(TMP, "ingest.db")
    walls, inside, rates = [], [], []
    runs = 3
    for _ in range(runs):
        rmdb(db)
        w = timed([NS, "run", s, "--db", db])
        c = sqlite3.connect(db, timeout=5)
        n = c.execute("SELECT count(*) FROM error_records").fetchone()[0]
        c.close()
        if n != RECORDS:
            raise RuntimeError("%d error records stored, %d sent" % (n, RECORDS))
        walls.append(w)
        inside.append(float(open(tf).read()))
        rates.append(RECORDS / w)
    results["ingest_alone_s"] = stats(alone)
    results["ingest_run_s"] = stats(walls)
    results["ingest_worker_s"] = stats(inside)
    results["ingest_rate"] = stats(rates)
    results["ingest_slowdown"] = stats([w / statistics.median(alone) for w in inside])


def bench_full():
    s = spec(os.path.join(TMP, "full.yaml"), "bench-full", FULL, 4, ["true"])
    db = os.path.join(TMP, "full.db")
    rmdb(db)
    t, k = peak([NS, "run", s, "--db", db])
    results["full_ns_s"] = t
    results["full_rss_mib"] = k / 1024
    results["full_log_files"] = count_logs(db + ".d")
    rmdb(db)
    results["full_xargs_s"] = timed(["sh", "-c", "seq %d | xargs -P4 -n1 true" % FULL])
    results["full_floor_s"] = timed([FLOOR, "-P", "4", "-n", str(FULL), "true"])


def bench_report():
    """summary (text), summary --format html and compare of a finished run of
    REPORT_PARTS partitions (tests/bench/report-fixture.sh: retries, failures,
    samples, commands, and an earlier successful run to compare with)."""
    db = os.path.join(TMP, "report.db")
    rmdb(db)
    subprocess.run(["sh", os.path.join(ROOT, "tests", "bench", "report-fixture.sh"), db,
                    str(REPORT_PARTS), "1000"], check=True, env=ENV, stdout=subprocess.DEVNULL)
    results["summary_s"] = stats([timed([NS, "summary", "1", "--db", db]) for _ in range(RUNS)])
    html = os.path.join(TMP, "report.html")
    ts, rss = [], []
    for _ in range(RUNS):
        with open(html, "w") as f:
            t, k = peak([NS, "summary", "1", "--db", db, "--format", "html"], stdout=f)
        ts.append(t)
        rss.append(k / 1024)
    results["report_html_s"] = stats(ts)
    results["report_html_rss_mib"] = stats(rss)
    results["report_html_mib"] = os.path.getsize(html) / 1048576
    results["compare_s"] = stats([timed([NS, "compare", "1", "--db", db]) for _ in range(RUNS)])
    rmdb(db)


def bench_console():
    r = subprocess.run([os.path.join(ROOT, "tests", "console", "t-scale.sh")],
                       env=dict(ENV, NIGHTSHIFT_BUILD=BUILD,
                                SCALE_PARTITIONS=str(CONSOLE_PARTS),
                                SCALE_ERRORS=str(CONSOLE_ERRORS)),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("t-scale.sh: " + r.stdout.strip()[-300:])
    results["console_text"] = "\n".join(l[2:] for l in r.stdout.splitlines() if l.startswith("# "))


def bench_script(key, argv):
    """A bench script of tests/bench that prints its numbers: its output, whole."""
    r = subprocess.run(argv, env=dict(ENV, NIGHTSHIFT_BUILD=BUILD), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (os.path.basename(argv[0]), (r.stdout + r.stderr).strip()[-300:]))
    results[key] = r.stdout.rstrip()


def bench_pools():
    """Issue 19: 10 runtimes on one pool of 4, 200 partitions each, of `true` and of
    `sleep 0.05` (tests/bench/pools.sh says what each line measures)."""
    script = os.path.join(ROOT, "tests", "bench", "pools.sh")
    n = "20" if QUICK else "200"
    bench_script("pools_text", [script, "10", n, "true"])
    bench_script("pools_sleep_text", [script, "10", "20", "sleep", "0.05"])


def bench_after():
    """Issue 20: an upstream partition's success to its dependant's start, 1 000 keys."""
    bench_script("after_text", [os.path.join(ROOT, "tests", "bench", "after.sh"),
                                "100" if QUICK else "1000"])


# ---- the report --------------------------------------------------------------

def machine():
    def sh(cmd):
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    mem = sh("awk '/^MemTotal/ { printf \"%.1f GiB\", $2 / 1048576 }' /proc/meminfo")
    return {
        "cpu": sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1") or "unknown",
        "cores": sh("nproc"),
        "memory": mem,
        "kernel": sh("uname -sr"),
        "debian": sh("cat /etc/debian_version") or "not Debian",
        "version": sh("'%s' --version 2>&1 | head -n 1" % NS),
        "commit": sh("git -C '%s' rev-parse --short HEAD" % ROOT) or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "quick": QUICK,
    }


def fmt(v, d=2, unit=""):
    if v is None:
        return "not measured"
    if isinstance(v, dict):
        if v["n"] == 1:
            return "%.*f%s" % (d, v["median"], unit)
        return "%.*f%s [%.*f-%.*f, n=%d]" % (d, v["median"], unit, d, v["min"], d, v["max"], v["n"])
    return "%.*f%s" % (d, v, unit)


def val(r, k):
    v = r.get(k)
    return v["median"] if isinstance(v, dict) else v


def main():
    m = machine()  # the commit measured is the one at the start
    for name, fn in [("plan", bench_plan), ("store", bench_store), ("rss-live", bench_rss_live),
                     ("control", bench_control), ("idle", bench_idle), ("small", bench_small),
                     ("ingest", bench_ingest), ("full", bench_full), ("console", bench_console),
                     ("report", bench_report), ("many", bench_many), ("pools", bench_pools),
                     ("after", bench_after), ("slurm", bench_slurm)]:
        guard(name, fn)
    m["load"] = machine()["load"]  # the load, though, at the end
    results["machine"] = m
    base = None
    if os.path.exists(BASELINE) and not QUICK:
        with open(BASELINE) as f:
            base = json.load(f)
    r = results

    def rowv(k, d, unit=""):
        return fmt(r.get(k), d, unit)

    def before(k, d, unit=""):
        if not base or base.get(k) is None:
            return "-"
        return "%.*f%s" % (d, val(base, k), unit)

    rows = [
        ("runtime peak RSS, %d partitions, %d s into the run" % (BIG, RSS_AT_S), "rss_live_mib", 1,
         " MiB", "≤ 64 MiB, flat"),
        ("`nightshift plan` of %d partitions: time" % BIG, "plan_s", 3, " s", "≤ 1 s"),
        ("`nightshift plan` of %d partitions: peak RSS" % BIG, "plan_rss_mib", 1, " MiB",
         "≤ 32 MiB"),
        ("store %d partitions at run start" % BIG, "store_s", 2, " s", "≤ 3 s"),
        ("operator command, whole CLI call, median", "control_p50_ms", 1, " ms", "≤ 5 ms"),
        ("operator command, whole CLI call, p90", "control_p90_ms", 1, " ms", "≤ 10 ms"),
        ("idle runtime CPU, 2 paused workers (%% of a core, %d s)" % IDLE_S, "idle_pct", 3, " %",
         "≤ 0.1 %"),
        ("%d × `true` at concurrency 2: wall" % SMALL, "small_ns_s", 3, " s", ""),
        ("same, × the floor (posix_spawn + waitpid)", "small_vs_floor", 2, "×", "≤ 1.15×"),
        ("same, × `xargs -P2 -n1 true`", "small_vs_xargs", 2, "×", "≤ 0.75×"),
        ("attempt-log files for %d attempts that printed nothing" % SMALL, "small_log_files", 0,
         "", "0"),
        ("%d error records (%d-byte payloads) + %d progress lines: records/s"
         % (RECORDS, PAYLOAD, PROGRESS), "ingest_rate", 0, "", "≥ 250 000"),
        ("same, the worker slowed (× its time writing to /dev/null)", "ingest_slowdown", 2, "×",
         "≤ 2×"),
        ("%d × `true` at concurrency 4, whole run (1 run)" % FULL, "full_ns_s", 1, " s", ""),
        ("same, peak RSS of the runtime (1 run)", "full_rss_mib", 1, " MiB", "flat"),
        ("8 × `sleep 1` beside a busy run of %d partitions in one database, × alone (9 runs)"
         % BIG, "many_slowdown", 2, "×", "≤ 3× + 1 s"),
        ("operator command while 10 runtimes share the database, median", "many_cmd_p50_ms", 1,
         " ms", ""),
        ("same, p99 (%d commands)" % COMMANDS, "many_cmd_p99_ms", 1, " ms", "≤ 1 000 ms"),
        ("`summary` of a finished run of %d partitions" % REPORT_PARTS, "summary_s", 3, " s",
         "≤ 0.3 s"),
        ("`summary --format html` of the same: time", "report_html_s", 2, " s", "≤ 2 s"),
        ("same: the page's size", "report_html_mib", 2, " MiB", "≤ 10 MB"),
        ("same: peak RSS", "report_html_rss_mib", 1, " MiB", ""),
        ("`compare` of the same with an earlier run", "compare_s", 2, " s", ""),
    ]
    L = []
    L.append("# Benchmarks\n")
    L.append("Measured by `make bench` (tests/bench/run.sh → tests/bench/bench.py) on %s%s."
             % (m["date"], " — **BENCH_QUICK=1: smoke sizes, not the real figures**" if QUICK else ""))
    L.append("Numbers, not assertions: they describe this machine on this day. The machine is")
    L.append("shared with other engineers' builds and tests, so wall-clock figures are noisy; the")
    L.append("load average at the end of the run is given below. Each cell is the median,")
    L.append("`[min-max, n=runs]` where it was run more than once.\n")
    L.append("| machine | |")
    L.append("|---|---|")
    for k in ("cpu", "cores", "memory", "kernel", "debian", "version", "commit", "load"):
        L.append("| %s | %s |" % (k, m[k]))
    L.append("")
    L.append("## Summary: issue 8's table\n")
    if base:
        bm = base.get("machine", {})
        L.append("*before* is tests/bench/baseline.json: the same script on commit %s (%s)."
                 % (bm.get("commit", "?"), bm.get("date", "?")))
        L.append("")
        L.append("| measure | before | now | target |")
        L.append("|---|---:|---:|---:|")
        for title, k, d, unit, target in rows:
            L.append("| %s | %s | %s | %s |" % (title, before(k, d, unit), rowv(k, d, unit), target))
    else:
        L.append("| measure | value | target |")
        L.append("|---|---:|---:|")
        for title, k, d, unit, target in rows:
            L.append("| %s | %s | %s |" % (title, rowv(k, d, unit), target))
    L.append("")
    L.append("## Side by side: per-partition overhead, %d × `true` at concurrency 2\n" % SMALL)
    L.append("Runs interleaved (nightshift, floor, xargs, again), so load changes hit all alike.")
    L.append("The floor is tests/bench/floor.c: posix_spawn + waitpid at the same concurrency,")
    L.append("nothing else. nightshift records every attempt and state change in SQLite.\n")
    L.append("| tool | seconds | ms per partition | × floor | × xargs |")
    L.append("|---|---:|---:|---:|---:|")
    fl, xa = val(r, "small_floor_s"), val(r, "small_xargs_s")
    for title, k in [("`nightshift run` (concurrency: 2)", "small_ns_s"),
                     ("floor (`floor -P2 -n %d true`)" % SMALL, "small_floor_s"),
                     ("`seq %d \\| xargs -P2 -n1 true`" % SMALL, "small_xargs_s"),
                     ("`seq %d \\| parallel -j2 true` (1 run)" % SMALL, "small_parallel_s")]:
        v = val(r, k)
        L.append("| %s | %s | %s | %s | %s |" % (
            title, rowv(k, 3), "%.3f" % (v * 1000 / SMALL) if v else "-",
            "%.2f" % (v / fl) if v and fl else "-", "%.2f" % (v / xa) if v and xa else "-"))
    L.append("")
    L.append("## Side by side: %d × `true` at concurrency 4, end to end (1 run each)\n" % FULL)
    L.append("| tool | seconds | partitions/s | × floor | × xargs |")
    L.append("|---|---:|---:|---:|---:|")
    fl, xa = r.get("full_floor_s"), r.get("full_xargs_s")
    for title, k in [("`nightshift run`", "full_ns_s"), ("floor -P4", "full_floor_s"),
                     ("`xargs -P4 -n1 true`", "full_xargs_s")]:
        v = r.get(k)
        L.append("| %s | %s | %s | %s | %s |" % (
            title, fmt(v, 1), "%.0f" % (FULL / v) if v else "-",
            "%.2f" % (v / fl) if v and fl else "-", "%.2f" % (v / xa) if v and xa else "-"))
    L.append("\nThe nightshift run's peak RSS (peakrss, wait4's ru_maxrss): %s; attempt-log files "
             "left: %s." % (fmt(r.get("full_rss_mib"), 1, " MiB"), r.get("full_log_files", "-")))
    L.append("")
    L.append("## Ingestion\n")
    L.append("tests/bench/ingest-worker.c writes %d error records with %d-byte payloads and %d"
             % (RECORDS, PAYLOAD, PROGRESS))
    L.append("progress lines through a 64 KiB stdio buffer, and times itself. *Alone* is the same")
    L.append("worker with its report fd on /dev/null. Records/s is records over the whole run's wall.\n")
    L.append("| measure | value |")
    L.append("|---|---:|")
    L.append("| worker alone (/dev/null) | %s |" % rowv("ingest_alone_s", 3, " s"))
    L.append("| worker under nightshift | %s |" % rowv("ingest_worker_s", 3, " s"))
    L.append("| whole `nightshift run` | %s |" % rowv("ingest_run_s", 3, " s"))
    L.append("| error records per second | %s |" % rowv("ingest_rate", 0))
    L.append("| worker slowdown | %s |" % rowv("ingest_slowdown", 2, "×"))
    L.append("")
    L.append("## Operator commands\n")
    L.append("tests/bench/control-latency.sh: pause/resume alternated on a live run, %d commands"
             % COMMANDS)
    L.append("per mode (the script says what each line measures).\n")
    L.append("```\n%s\n```\n" % r.get("control_text", "not measured"))
    L.append("## Idle runtime\n")
    L.append("tests/bench/idle-cpu.sh: a runtime whose 2 workers are paused (SIGSTOP), its CPU from")
    L.append("/proc/PID/stat (utime + stime) over %d s.\n" % IDLE_S)
    L.append("```\n%s\n```\n" % r.get("idle_text", "not measured"))
    L.append("## Console at %d partitions and %d error records\n" % (CONSOLE_PARTS, CONSOLE_ERRORS))
    L.append("tests/console/t-scale.sh on a fixture (tests/console/make-fixture.sh), driven")
    L.append("through tmux (times include tmux's polling, 50 ms steps).\n")
    L.append("```\n%s\n```\n" % r.get("console_text", "not measured"))
    L.append("## Shared pools (issue 19)\n")
    L.append("tests/bench/pools.sh: 10 runtimes, one pool of 4 slots; first 200 partitions of `true`")
    L.append("each, then 20 of `sleep 0.05` each.\n")
    L.append("```\n%s\n\n%s\n```\n" % (r.get("pools_text", "not measured"),
                                        r.get("pools_sleep_text", "not measured")))
    L.append("## Runs that wait for runs (issue 20)\n")
    L.append("tests/bench/after.sh: extract and load over the same keys, load waiting day by day.\n")
    L.append("```\n%s\n```\n" % r.get("after_text", "not measured"))
    if r.get("slurm_md"):
        L.append(r["slurm_md"] + "\n")
    extra = os.path.join(ROOT, "tests", "bench", "notes.md")
    if os.path.exists(extra) and not QUICK:
        with open(extra) as f:
            L.append(f.read().rstrip() + "\n")
    if notes:
        L.append("## Notes from this run\n")
        for n in notes:
            L.append("- " + n)
        L.append("")
    with open(OUT, "w") as f:
        f.write("\n".join(L))
    with open(os.path.splitext(OUT)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    say("wrote %s" % OUT)


if __name__ == "__main__":  # tests/bench/pairs.py imports the rows
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", TMP])
