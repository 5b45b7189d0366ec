#!/usr/bin/env python3
"""pairs.py - two builds of nightshift side by side, as interleaved pairs.

  tests/bench/pairs.py BUILD_BEFORE BUILD_AFTER [ROUNDS]

For a change that must not change speed (a restructuring): each round runs
the same three measurements of bench.py on both builds, in ABBA order so a
drift of the machine's load hits both alike, and prints the medians, their
ranges and the after/before ratio of the medians:
  - dispatch: a run of 2 000 partitions of `true` at concurrency 2 (seconds);
  - ingestion: one worker streaming 200 000 error records (records/s; three
    runs per turn, their median);
  - command latency: the whole `nightshift pause` call against a live run
    (tests/bench/control-latency.sh, p50 in ms).
Numbers, never pass/fail. BENCH_QUICK=1 makes the sizes small (a smoke run).
"""
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if len(sys.argv) < 3:
    sys.exit("usage: tests/bench/pairs.py BUILD_BEFORE BUILD_AFTER [ROUNDS]")
builds = [os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 4
sys.argv = [sys.argv[0], builds[0]]
os.environ.setdefault("BENCH_RUNS", "1")
sys.path.insert(0, HERE)
import bench  # noqa: E402  (reads sys.argv and the knobs at import)
import atexit  # noqa: E402
import subprocess  # noqa: E402

atexit.register(lambda: subprocess.run(["rm", "-rf", bench.TMP]))

names = ("before", "after")
series = {n: {"dispatch_s": [], "ingest_rate": [], "control_p50_ms": []} for n in names}


def measure(which):
    build = builds[which]
    bench.BUILD = build
    bench.NS = os.path.join(build, "nightshift")
    bench.results.clear()
    bench.bench_small()
    bench.bench_ingest()
    bench.bench_control()
    s = series[names[which]]
    s["dispatch_s"].append(bench.results["small_ns_s"]["median"])
    s["ingest_rate"].append(bench.results["ingest_rate"]["median"])
    s["control_p50_ms"].append(bench.results["control_p50_ms"])


for r in range(rounds):
    for which in ((0, 1) if r % 2 == 0 else (1, 0)):
        bench.say("round %d/%d: %s" % (r + 1, rounds, names[which]))
        measure(which)

print("| measure | before (median, range) | after (median, range) | after / before |")
print("|---|---|---|---|")
for key, label in (("dispatch_s", "dispatch: %d x `true`, concurrency 2 (s)" % bench.SMALL),
                   ("ingest_rate", "ingestion: %d error records, records/s" % bench.RECORDS),
                   ("control_p50_ms", "command latency: pause, p50 (ms)")):
    b, a = series["before"][key], series["after"][key]
    mb, ma = statistics.median(b), statistics.median(a)
    print("| %s | %.3g (%.3g-%.3g) | %.3g (%.3g-%.3g) | %.2f |"
          % (label, mb, min(b), max(b), ma, min(a), max(a), ma / mb))
m = bench.machine()
print("\n%d rounds in ABBA order; %s, %s cores, %s, %s; %s; load before: %s"
      % (rounds, m["cpu"], m["cores"], m["memory"], m["kernel"], m["date"], m["load"]))
