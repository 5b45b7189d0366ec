#!/bin/sh
# The run lock follows the database file, not the spelling of its path: with
# a runtime driving a run through real.db, a second `run` through a symlink
# to it is refused and changes nothing (its workers keep running, nothing is
# marked interrupted), `status` through the link sees the live runtime and
# `pause`/`resume` through the link are applied. A refused `run --force`
# with a changed spec rewrites nothing (issue 10, items 1 and 2).
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
mkdir -p "$T/real" "$T/job" "$T/steer"
cp -r "$SPECS/loop.yaml" "$SPECS/workers" "$T/job/"
REAL=$T/real/ns.db
LINK=$T/link.db
ln -s real/ns.db "$LINK"
NIGHTSHIFT_DB=$REAL
export NIGHTSHIFT_DB

spawn rt "$NIGHTSHIFT" run --db "$REAL" "$T/job/loop.yaml" -p dir="$T/steer"
rt=$SPAWNED
wait_for "two partitions running" 30 sh -c "test \"\$(sqlite3 '$REAL' \"SELECT n_running FROM runs WHERE id = 1\" 2>/dev/null)\" = 2" ||
    bail_out "the run did not start: $(cat "$T/rt.out")"
hash0=$(sql "SELECT spec_hash || '|' || concurrency || '|' || spec_canon FROM runs WHERE id = 1")

# In its own session: on the old code it killed what it took for leftovers.
setsid -w timeout 20 "$NIGHTSHIFT" run --db "$LINK" "$T/job/loop.yaml" -p dir="$T/steer" >"$T/second.out" 2>&1 </dev/null
is "a second runtime through the symlink is refused (exit 3)" "$?" 3
like "it says a live runtime drives the run" "$(cat "$T/second.out")" "already being driven by a live runtime \\(pid $rt\\)"
check "the first runtime is still alive" kill -0 "$rt"
is "no attempt was marked interrupted" "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'interrupted'")" 0
is "its two workers still run" "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL")" 2

"$NIGHTSHIFT" status --db "$LINK" 1 >"$T/status.out" 2>&1
is "status through the symlink exits 0" "$?" 0
check "status through the symlink sees the live runtime" sh -c "! grep -q 'NO RUNTIME' '$T/status.out'"
like "status --json through the symlink says runtime_alive" "$("$NIGHTSHIFT" status --db "$LINK" --json 1 2>&1)" '"runtime_alive": ?true'

"$NIGHTSHIFT" pause --db "$LINK" 1 >"$T/pause.out" 2>&1
is "pause through the symlink is accepted (exit 0)" "$?" 0
wait_for "the run is paused" 10 sh -c "test \"\$(sqlite3 '$REAL' \"SELECT state FROM runs WHERE id = 1\" 2>/dev/null)\" = paused" &&
    ok "the runtime applied the pause sent through the symlink"
"$NIGHTSHIFT" resume --db "$LINK" 1 >"$T/resume.out" 2>&1
is "resume through the symlink is accepted (exit 0)" "$?" 0

# A changed spec with --force, refused because the run is live: nothing moves.
sed 's/^concurrency: 2$/concurrency: 3/; s/^timeout: 1m$/timeout: 2m/' "$T/job/loop.yaml" >"$T/job/changed.yaml"
grep -q 'timeout: 2m' "$T/job/changed.yaml" || bail_out "sed did not change the spec"
"$NIGHTSHIFT" run --db "$LINK" "$T/job/changed.yaml" --force -p dir="$T/steer" >"$T/force.out" 2>&1
is "a --force run with a changed spec through the symlink is refused (exit 3)" "$?" 3
"$NIGHTSHIFT" run --db "$REAL" "$T/job/changed.yaml" --force -p dir="$T/steer" >"$T/force2.out" 2>&1
is "... and through the real path (exit 3)" "$?" 3
like "it says why" "$(cat "$T/force2.out")" "already being driven by a live runtime"
is "the refused --force changed neither spec_hash, concurrency nor spec_canon" \
    "$(sql "SELECT spec_hash || '|' || concurrency || '|' || spec_canon FROM runs WHERE id = 1")" "$hash0"
is "no spec_changed event was recorded" "$(sql "SELECT count(*) FROM events WHERE kind = 'spec_changed'")" 0

touch "$T/steer/release-all"
wait_for "the first runtime finishes" 60 sh -c "! kill -0 $rt 2>/dev/null"
is "the run succeeded" "$(sql "SELECT state, n_succeeded FROM runs WHERE id = 1")" "succeeded|6"
is "each partition succeeded once (no duplicate completion)" "$(sort "$T/steer/done" | uniq -d | wc -l)" 0
is "six completions recorded" "$(wc -l <"$T/steer/done")" 6
ls "$T"/link.db.d >/dev/null 2>&1
check "no second data directory beside the symlink" test ! -e "$T/link.db.d"
done_testing
