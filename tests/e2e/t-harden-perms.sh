#!/bin/sh
# State others could rewrite is refused with a message that says how to fix
# it: a group- or world-writable database, a writable or symlinked `<db>.d`,
# a writable run directory. A symlink planted where an attempt log is created
# is replaced, never followed (issue 10, item 5).
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs
DB=$NIGHTSHIFT_DB
ns run "$SPECS/slow.yaml" -p pace=0 >"$T/run1.out" 2>&1
is "a first run succeeds" "$?" 0
is "the database is 0600" "$(stat -c %a "$DB")" 600
is "its data directory is 0700" "$(stat -c %a "$DB.d")" 700

chmod 666 "$DB"
ns status 1 >"$T/s.out" 2>&1
is "status on a world-writable database exits 3" "$?" 3
like "it says so, with the mode and the fix" "$(cat "$T/s.out")" "^nightshift: status: .*nightshift.db: group- or world-writable \\(mode 0666\\).*chmod go-w"
ns run "$SPECS/slow.yaml" -p pace=0 --rerun >"$T/r.out" 2>&1
is "run on a world-writable database exits 3" "$?" 3
like "it says so" "$(cat "$T/r.out")" "group- or world-writable"
ns pause 1 >"$T/p.out" 2>&1
is "a control command on it exits 3" "$?" 3
is "no second run was created" "$(sql "SELECT count(*) FROM runs")" 1
chmod 660 "$DB"
ns status 1 >"$T/s.out" 2>&1
is "group-writable is refused too" "$?" 3
chmod 600 "$DB"

chmod 777 "$DB.d"
ns run "$SPECS/slow.yaml" -p pace=0 --rerun >"$T/r.out" 2>&1
is "run with a world-writable data directory exits 3" "$?" 3
like "it names the directory" "$(cat "$T/r.out")" "nightshift.db.d: group- or world-writable \\(mode 0777\\)"
ns status 1 >"$T/s.out" 2>&1
is "status with it exits 3" "$?" 3
chmod 700 "$DB.d"

mv "$DB.d" "$T/elsewhere"
ln -s "$T/elsewhere" "$DB.d"
ns run "$SPECS/slow.yaml" -p pace=0 --rerun >"$T/r.out" 2>&1
is "a symlinked data directory is refused (exit 3)" "$?" 3
like "it says it is not a directory of ours" "$(cat "$T/r.out")" "nightshift.db.d: not a directory"
rm "$DB.d"
mv "$T/elsewhere" "$DB.d"

# The run directory of the next run (2), made loose in advance.
mkdir -m 777 "$DB.d/run-2"
chmod 777 "$DB.d/run-2"
ns run "$SPECS/slow.yaml" -p pace=0 --rerun >"$T/r.out" 2>&1
is "a world-writable run directory is refused (exit 3)" "$?" 3
like "it names it" "$(cat "$T/r.out")" "run-2: group- or world-writable"
chmod 700 "$DB.d/run-2"

# A planted symlink where attempt 1 of partition 0 of run 3 will log (its
# shard directory: partitions 0-999).
printf 'precious\n' >"$T/victim"
mkdir -m 700 "$DB.d/run-3" "$DB.d/run-3/0"
ln -s "$T/victim" "$DB.d/run-3/0/p000000-a1.log"
ns run "$SPECS/slow.yaml" -p pace=0 --rerun >"$T/r3.out" 2>&1
is "the run with a planted symlink succeeds" "$?" 0
is "it is run 3" "$(sql "SELECT max(id) FROM runs")" 3
is "the symlink's target is untouched" "$(cat "$T/victim")" precious
check "the log is a regular file now" test -f "$DB.d/run-3/0/p000000-a1.log" -a ! -L "$DB.d/run-3/0/p000000-a1.log"
like "it holds the worker's output" "$(cat "$DB.d/run-3/0/p000000-a1.log")" "done a"
is "the lock file is 0600" "$(stat -c %a "$DB.d/run-3.lock")" 600
done_testing
