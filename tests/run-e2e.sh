#!/bin/sh
# run-e2e.sh - runs the end-to-end tests: every tests/e2e/t-*.sh and
# tests/console/t-*.sh (or the ones named on the command line), two at a time.
#
#   NIGHTSHIFT_BUILD=build tests/run-e2e.sh [TEST...]
#
# Each test runs hermetically: an empty environment but PATH (and TERM, LANG),
# a private HOME, TMPDIR and NIGHTSHIFT_DB in a fresh temporary directory,
# NIGHTSHIFT pointing at the binary under test, and a time limit
# (E2E_TIMEOUT seconds, default 300). Exit 0 = pass, 77 = skip, anything
# else = fail; a failing test's last lines are shown and its directory kept.
# Ends with "N passed, N failed"; exits 1 if any failed. E2E_JOBS sets the
# parallelism (default 2).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
: "${NIGHTSHIFT_BUILD:=build}"
case $NIGHTSHIFT_BUILD in /*) ;; *) NIGHTSHIFT_BUILD=$ROOT/$NIGHTSHIFT_BUILD ;; esac
: "${E2E_TIMEOUT:=300}" "${E2E_JOBS:=2}"
NIGHTSHIFT=$NIGHTSHIFT_BUILD/nightshift
export NIGHTSHIFT NIGHTSHIFT_BUILD E2E_TIMEOUT

# --- one test (run-e2e.sh --one RESULTS TEST), used through xargs ----------
if [ "${1:-}" = --one ]; then
    results=$2 test=$3
    case $test in /*) path=$test ;; *) path=./$test ;; esac
    name=$(echo "$test" | sed 's|^tests/||; s|\.sh$||')
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-e2e.XXXXXX") || exit 1
    mkdir -p "$tmp/home" "$tmp/tmp" "$tmp/db"
    start=$(date +%s.%N)
    # timeout puts the test in its own process group and signals the whole
    # group at the deadline; -k: SIGKILL 10 s after an ignored SIGTERM.
    env -i PATH="$PATH" TERM="${TERM:-xterm-256color}" LANG=C.UTF-8 \
        HOME="$tmp/home" TMPDIR="$tmp/tmp" NIGHTSHIFT_DB="$tmp/db/nightshift.db" \
        NIGHTSHIFT="$NIGHTSHIFT" NIGHTSHIFT_BUILD="$NIGHTSHIFT_BUILD" \
        NIGHTSHIFT_TEST_TMP="$tmp" \
        timeout -k 10 "$E2E_TIMEOUT" "$path" >"$tmp/output" 2>&1 </dev/null
    rc=$?
    secs=$(echo "$start $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')
    report=$tmp/report
    case $rc in
    0)
        echo "PASS $name (${secs}s)" >"$report"
        status=pass
        ;;
    77)
        echo "SKIP $name ($(grep -m1 'SKIP' "$tmp/output" | sed 's/.*SKIP *//'))" >"$report"
        status=skip
        ;;
    *)
        why="exit $rc"
        [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out after ${E2E_TIMEOUT}s"
        {
            echo "FAIL $name ($why, ${secs}s; output in $tmp/output)"
            tail -n 25 "$tmp/output" | sed 's/^/    | /'
        } >"$report"
        status=fail
        ;;
    esac
    cat "$report" # one write per test keeps parallel reports apart
    echo "$name" >>"$results/$status"
    [ "$status" = fail ] || rm -rf "$tmp"
    exit 0
fi

# --- all of them ------------------------------------------------------------
if [ $# -gt 0 ]; then
    tests=$(for t in "$@"; do echo "${t#./}"; done)
else
    tests=$(ls tests/e2e/t-*.sh tests/console/t-*.sh 2>/dev/null)
fi
if [ -z "$tests" ]; then
    echo "no tests found"
    echo "0 passed, 0 failed"
    exit 1
fi
if [ ! -x "$NIGHTSHIFT" ]; then
    echo "run-e2e.sh: no binary at $NIGHTSHIFT (run make first)" >&2
    exit 2
fi

results=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-e2e-results.XXXXXX") || exit 2
trap 'rm -rf "$results"' EXIT
: >"$results/pass"
: >"$results/fail"
: >"$results/skip"
echo "$tests" | xargs -P "$E2E_JOBS" -n 1 "$0" --one "$results"

passed=$(grep -c . "$results/pass")
failed=$(grep -c . "$results/fail")
skipped=$(grep -c . "$results/skip")
[ "$skipped" -eq 0 ] || echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
