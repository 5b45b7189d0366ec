#!/bin/sh
# after.sh - how fast an upstream partition's success starts its dependant
# (issue 20; not a test: it prints numbers). `extract` and `load` over the
# same P keys (default 1 000), load (after: extract, same-key) started first,
# so every day of it is held when extract starts. From the attempts'
# recorded times: for each key, from extract's attempt end to load's attempt
# start - p50, p90, max - the way through extract's commit, the poke of the
# waiting runtime's FIFO, its look at what settled, and the launch. Also
# whether any load started before its extract ended (must be 0).
#
#   NIGHTSHIFT_BUILD=build tests/bench/after.sh [P]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${NIGHTSHIFT_BUILD:=build}"
case $NIGHTSHIFT_BUILD in /*) ;; *) NIGHTSHIFT_BUILD=$ROOT/$NIGHTSHIFT_BUILD ;; esac
NS=$NIGHTSHIFT_BUILD/nightshift
P=${1:-1000}
T=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-bench.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
DB=$T/db/nightshift.db
cat >"$T/extract.yaml" <<EOS
name: extract
command: [sh, -c, 'sleep 0.02']
partitions: {range: {start: 1, end: $P}}
concurrency: 4
EOS
cat >"$T/load.yaml" <<EOS
name: load
command: ["true"]
partitions: {range: {start: 1, end: $P}}
concurrency: 8
after: [{job: extract, partitions: same-key}]
EOS
"$NS" run --db "$DB" "$T/load.yaml" --detach >/dev/null
"$NS" run --db "$DB" "$T/extract.yaml" --quiet >/dev/null || true
"$NS" wait --db "$DB" job:load --timeout 10m >/dev/null
sqlite3 -cmd ".timeout 10000" "$DB" "SELECT (l.started_at - e.ended_at) * 1000 FROM attempts e
    JOIN partitions pe ON pe.run_id = e.run_id AND pe.idx = e.idx
    JOIN runs re ON re.id = e.run_id AND re.job = 'extract'
    JOIN partitions pl ON pl.key = pe.key JOIN runs rl ON rl.id = pl.run_id AND rl.job = 'load'
    JOIN attempts l ON l.run_id = pl.run_id AND l.idx = pl.idx
    WHERE e.outcome = 'succeeded'" | sort -n | awk -v p="$P" '
    { d[NR] = $1; if ($1 < 0) early++ }
    END { printf "after: %d same-key partitions: upstream end -> dependant start p50 %.1f ms, p90 %.1f ms, max %.1f ms; %d started early\n",
                 p, d[int(NR * 0.5) + 1], d[int(NR * 0.9) + 1], d[NR], early }'
