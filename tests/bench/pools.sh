#!/bin/sh
# pools.sh - shared pools under load (issue 19; not a test: it prints
# numbers). R runtimes (default 10), each a run of P partitions of `true`
# (default 200, so 2 000 in all) at concurrency 4, share one pool of 4 slots
# in one database. From the attempts' recorded start and end times:
#
#   used     the mean share of the pool's 4 slots held by a live attempt,
#            from the first start to the last start (work waits all along:
#            until the last start some run has a partition that may start
#            whenever fewer than 4 are live), and the share of that time
#            during which all 4 were held;
#   regrant  for each start after the first 4: from the latest end before it
#            (the slot it took was freed then) to the start - p50, p95, max;
#            the freed slot's way through the commit, the wake-up of a
#            waiting runtime (run-N.wake) and its grant, often another's;
#   over     the most attempts ever live at once (must be 4).
#
#   NIGHTSHIFT_BUILD=build tests/bench/pools.sh [R] [P] [WORK...]
#
# WORK (default `true`) is each partition's command, e.g. `sleep 0.02`.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${NIGHTSHIFT_BUILD:=build}"
case $NIGHTSHIFT_BUILD in /*) ;; *) NIGHTSHIFT_BUILD=$ROOT/$NIGHTSHIFT_BUILD ;; esac
NS=$NIGHTSHIFT_BUILD/nightshift
R=${1:-10}
P=${2:-200}
shift $(($# < 2 ? $# : 2))
[ $# -gt 0 ] || set -- true
WORK=$(printf '"%s", ' "$@")
WORK="[${WORK%, }]"
T=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-bench.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
DB=$T/db/nightshift.db
"$NS" pool set --db "$DB" bench 4 >/dev/null
i=1
while [ "$i" -le "$R" ]; do
    cat >"$T/r$i.yaml" <<EOS
name: r$i
command: $WORK
partitions: {range: {start: 1, end: $P}}
concurrency: 4
log_limit: 4096
pools: {bench: {slots: 4}}
uses: {bench: 1}
EOS
    i=$((i + 1))
done
t0=$(date +%s.%N)
i=1
while [ "$i" -le "$R" ]; do
    "$NS" run --db "$DB" --quiet "$T/r$i.yaml" >"$T/r$i.out" 2>&1 &
    i=$((i + 1))
done
wait
t1=$(date +%s.%N)
python3 - "$DB" "$R" "$P" "$t0" "$t1" "$*" <<'PY'
import sqlite3, sys
db, r, p, t0, t1, work = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
rows = sqlite3.connect(db).execute(
    "SELECT started_at, ended_at FROM attempts WHERE ended_at IS NOT NULL ORDER BY started_at").fetchall()
events = sorted([(s, 1) for s, _ in rows] + [(e, -1) for _, e in rows], key=lambda x: (x[0], x[1]))
first, last = rows[0][0], rows[-1][0]
live = most = 0
full = area = 0.0
prev = first
for t, d in events:
    if t > last:
        break
    if t > prev:
        area += min(live, 4) * (t - prev)
        if live >= 4:
            full += t - prev
    prev = max(prev, t)
    live += d
    most = max(most, live)
ends = sorted(e for _, e in rows)
lat = []
import bisect
for s, _ in rows[4:]:
    k = bisect.bisect_right(ends, s)
    if k:
        lat.append((s - ends[k - 1]) * 1000)
lat.sort()
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] if lat else float("nan")
print("runtimes %d x %d partitions of `%s` on a pool of 4: %d attempts in %.1f s" % (r, p, work, len(rows), t1 - t0))
span = max(last - first, 1e-9)
print("used     %.1f %% of the slots held on average while work waited; all 4 held %.1f %% of that time" % (100 * area / (4 * span), 100 * full / span))
print("regrant  p50 %.1f ms, p95 %.1f ms, max %.1f ms (a freed slot to the next start)" % (q(0.5), q(0.95), lat[-1] if lat else float("nan")))
print("over     at most %d attempts live at once" % most)
PY
