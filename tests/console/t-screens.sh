#!/bin/sh
# t-screens.sh - whole-screen dumps, as tig's tests compare them: the console
# on a deterministic fixture (FIXTURE_NOW) with a frozen clock
# (NIGHTSHIFT_TEST_NOW + NIGHTSHIFT_TEST_CLOCK=frozen, TZ=UTC) must draw
# exactly tests/console/screens/NAME.txt - every column, every figure, not
# only what a regex looks for. UPDATE_SCREENS=1 rewrites the files instead
# (then read the diff before committing it).
. "$(dirname "$0")/lib.sh"
SCREENS=$ROOT/tests/console/screens
NOW=1796000000
# The run view prints the command that resumes the run, the database's
# absolute path in it: a directory of fixed length whose random part is
# masked when screens are compared.
SD=$(mktemp -d /tmp/nightshift-screens.XXXXXX) || bail_out "mktemp"
NIGHTSHIFT_DB=$SD/nightshift.db
trap '_rc=$?; rm -rf "$SD"; (exit $_rc); console_cleanup' EXIT
masked() { screen | sed -E 's|/tmp/nightshift-screens\.[A-Za-z0-9]{6}|/tmp/nightshift-screens.XXXXXX|g'; }
FIXTURE_NOW=$NOW "$FIXTURE" "$NIGHTSHIFT_DB" 300 50 || bail_out "fixture"
CONSOLE_ENV="NIGHTSHIFT_TEST_NOW=$NOW NIGHTSHIFT_TEST_CLOCK=frozen TZ=UTC"

_screen_is() { masked | cmp -s - "$SCREENS/$1.txt"; }
# screen_is NAME: waits until the screen equals screens/NAME.txt.
screen_is() {
    if [ "${UPDATE_SCREENS:-}" = 1 ]; then
        sleep 1 # updating by hand: let the screen settle
        masked >"$SCREENS/$1.txt"
        ok "$1: written"
    elif wait_for "$1: the whole screen" 5 _screen_is "$1"; then
        ok "$1: the whole screen is as recorded"
    else
        masked | diff -u "$SCREENS/$1.txt" - | sed 's/^/#   /'
    fi
}
mkdir -p "$SCREENS"

console_start 120 40
wait_screen "runs list" 5 '^ +1 +fixture'
screen_is runs-120x40
keys Enter
wait_screen "run view" 5 '^Runs > run 1 fixture'
screen_is run-120x40
keys F
wait_screen "failures view" 5 'failed partitions by signature'
screen_is failures-120x40
keys q
wait_screen "back to the run" 5 'filter all'
keys Q
wait_for "the console quits" 5 console_exited && ok "the console quits"
tmx kill-session -t c >/dev/null 2>&1

# 80x24: columns dropped by priority; LAST MESSAGE keeps the cause.
console_start 80 24 1
wait_screen "run view at 80x24" 5 '^Runs > run 1 fixture'
screen_is run-80x24
keys Q
wait_for "the console quits" 5 console_exited && ok "the console quits"
done_testing
