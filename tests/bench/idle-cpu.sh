#!/bin/sh
# idle-cpu.sh BIN [SECONDS]: CPU used by a runtime whose 2 workers are
# paused (SIGSTOPped), over SECONDS (default 60). Prints one line:
#   idle runtime, 2 paused workers: X.XXX % of one core (U ms CPU over S s)
# A measurement, not a test: `make bench` records it in docs/benchmarks.md.
set -eu
BIN=$1 SECS=${2:-60}
T=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-idle.XXXXXX")
# Keep the status of the measurement, whatever the clean-up returns.
trap 'rc=$?; set +e; kill -9 "$rt" 2>/dev/null; wait "$rt" 2>/dev/null; rm -rf "$T"; exit $rc' EXIT
export NIGHTSHIFT_DB=$T/db
cat >"$T/idle.yaml" <<YAML
name: idle
command: [sh, -c, 'while :; do sleep 1; done']
partitions: {list: [a, b]}
concurrency: 2
stop_grace: 1s
YAML
"$BIN" run "$T/idle.yaml" >"$T/run.out" 2>&1 &
rt=$!
i=0
until [ "$(sqlite3 "$T/db" "SELECT n_running FROM runs" 2>/dev/null)" = 2 ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "idle-cpu: workers did not start" >&2; exit 1; }
    sleep 0.05
done
"$BIN" pause 1 >/dev/null
ticks() { awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$rt/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$SECS"
t1=$(ticks)
paused=$(for p in $(sqlite3 "$T/db" "SELECT pid FROM attempts WHERE outcome IS NULL"); do
    sed 's/.*) //' "/proc/$p/stat" | cut -d' ' -f1; done | tr -d '\n')
ms=$(( (t1 - t0) * 1000 / hz ))
awk -v ms="$ms" -v s="$SECS" -v st="$paused" 'BEGIN {
    printf "idle runtime, 2 paused workers (states %s): %.3f %% of one core (%d ms CPU over %d s)\n",
        st, ms / (s * 10), ms, s }'
"$BIN" stop --now 1 >/dev/null 2>&1 || true
wait "$rt" 2>/dev/null || true
