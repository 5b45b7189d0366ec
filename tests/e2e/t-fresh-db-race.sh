#!/bin/sh
# Many runtimes started at once on a database file that does not exist yet
# (issue 18: no command meets "database is locked"). Each converts the new
# file to WAL mode; SQLite refused all but one at once (no busy handler),
# and 1 start in 8 failed with "database is locked" before the fix. 30
# rounds of 4 runtimes of 4 different jobs: every one runs to success.
. "$(dirname "$0")/lib.sh"

for n in a b c d; do
    printf 'name: fresh-%s\ncommand: [true]\npartitions: {dates: {from: "2026-11-01", to: "2026-11-02"}}\n' \
        "$n" >"$T/$n.yaml"
done
bad=0
for i in $(seq 1 30); do
    for n in a b c d; do
        "$NIGHTSHIFT" run --db "$T/db$i/nightshift.db" "$T/$n.yaml" >"$T/out$i$n" 2>&1 &
    done
    wait
    for n in a b c d; do
        tail -n 1 "$T/out$i$n" | grep -q '^run 1 succeeded\|^run [0-9]* succeeded' || {
            bad=$((bad + 1))
            diag "round $i, job $n: $(tail -n 1 "$T/out$i$n")"
        }
    done
done
is "120 runtimes started 4 at a time on new databases: every one succeeded" "$bad" 0
is "none met a locked database" "$(cat "$T"/out* | grep -c 'database is locked')" 0
done_testing
