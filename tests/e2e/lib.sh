# lib.sh - shared helpers for the end-to-end tests (sourced by tests/e2e/t-*.sh).
#
#   #!/bin/sh
#   . "$(dirname "$0")/lib.sh"
#   ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 >"$T/run.out" 2>&1
#   check "run exits 0" test $? -eq 0
#   is "eu-west ran 3 times" "$(sql "select attempts_total from partitions where key='eu-west'")" 3
#   done_testing
#
# Each test is standalone: run by tests/run-e2e.sh (which gives it a private
# HOME, NIGHTSHIFT_DB and TMPDIR) or by hand (`tests/e2e/t-foo.sh`), in which
# case it makes its own temporary directory. Output is TAP; the exit status
# is 0 when every check passed. POSIX sh.
#
# Variables: NIGHTSHIFT (the binary), NIGHTSHIFT_DB, ROOT (the source tree),
# CONFIGS ($ROOT/configs), T (this test's scratch directory).

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck disable=SC2034 # for the tests that source this file
CONFIGS=$ROOT/configs
case ${NIGHTSHIFT_BUILD:=build} in /*) ;; *) NIGHTSHIFT_BUILD=$ROOT/$NIGHTSHIFT_BUILD ;; esac
: "${NIGHTSHIFT:=$NIGHTSHIFT_BUILD/nightshift}"
# shellcheck disable=SC2034
HELPERS=$NIGHTSHIFT_BUILD/tests/helpers

if [ -n "${NIGHTSHIFT_TEST_TMP:-}" ]; then
    T=$NIGHTSHIFT_TEST_TMP # from run-e2e.sh, which removes it
    _own_tmp=no
else
    T=$(mktemp -d "${TMPDIR:-/tmp}/nightshift-e2e.XXXXXX")
    _own_tmp=yes
    HOME=$T/home
    TMPDIR=$T/tmp
    mkdir -p "$HOME" "$TMPDIR"
fi
: "${NIGHTSHIFT_DB:=$T/db/nightshift.db}"
export NIGHTSHIFT NIGHTSHIFT_DB HOME TMPDIR
unset NIGHTSHIFT_REPORT_FD NIGHTSHIFT_RUN_ID XDG_STATE_HOME

_tests=0 _passed=0 _failed=0

# --- TAP --------------------------------------------------------------------
ok() {
    _tests=$((_tests + 1)) _passed=$((_passed + 1))
    echo "ok $_tests - $*"
}
fail() {
    _tests=$((_tests + 1)) _failed=$((_failed + 1))
    echo "not ok $_tests - $*"
}
# diag TEXT...: a TAP comment.
diag() { printf '# %s\n' "$*"; }

# check DESC CMD...: ok if CMD succeeds.
check() {
    _d=$1
    shift
    if "$@"; then ok "$_d"; else fail "$_d (failed: $*)"; fi
}
# is DESC GOT EXPECTED: ok if the two strings are equal.
is() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        fail "$1"
        diag "     got: '$2'"
        diag "expected: '$3'"
    fi
}
# like DESC TEXT ERE: ok if TEXT matches the extended regular expression.
like() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
        ok "$1"
    else
        fail "$1"
        diag "'$2' does not match /$3/"
    fi
}

# done_testing: the plan line and a summary; exits 0 if nothing failed.
done_testing() {
    echo "1..$_tests"
    echo "# $_passed passed, $_failed failed"
    [ "$_tests" -gt 0 ] || { echo "# no checks ran"; exit 1; }
    [ "$_failed" -eq 0 ]
    exit
}
# bail_out REASON: stop the test now (counts as a failure).
bail_out() {
    echo "Bail out! $*"
    exit 1
}
# skip_all REASON: the test cannot run here (exit 77: run-e2e.sh says SKIP).
skip_all() {
    echo "1..0 # SKIP $*"
    exit 77
}

# --- nightshift and its database -------------------------------------------
# ns SUBCOMMAND ARGS...: runs the binary on the test database. Commands that
# touch the store get --db right after the subcommand (NIGHTSHIFT_DB is
# exported too, so either way the test database is used).
ns() {
    _sub=$1
    shift
    case $_sub in
    validate | plan | emit | help | --help | --version) "$NIGHTSHIFT" "$_sub" "$@" ;;
    *) "$NIGHTSHIFT" "$_sub" --db "$NIGHTSHIFT_DB" "$@" ;;
    esac
}

# sql QUERY: runs one query on the test database (stops at the first error,
# waits up to 5 s for a lock), rows as '|'-separated lines.
sql() {
    sqlite3 -bail -batch -cmd '.timeout 5000' "$NIGHTSHIFT_DB" "$@"
}

# now_ms: milliseconds since the epoch (GNU date).
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for DESC TIMEOUT_S CMD...: polls CMD every 50 ms until it succeeds.
# Returns 0 then; at the deadline records a failure naming DESC, returns 1.
wait_for() {
    _desc=$1 _deadline=$(($(now_ms) + $2 * 1000))
    shift 2
    while ! "$@" >/dev/null 2>&1; do
        if [ "$(now_ms)" -ge "$_deadline" ]; then
            fail "timed out waiting for: $_desc"
            return 1
        fi
        sleep 0.05
    done
    return 0
}

# --- processes ---------------------------------------------------------------
# spawn NAME CMD...: starts CMD in the background in its own session and
# process group, output in $T/NAME.out; its pid (= pgid) is in $T/NAME.pid
# and in the variable SPAWNED. cleanup kills what is left of it.
spawn() {
    _name=$1
    shift
    setsid "$@" >"$T/$_name.out" 2>&1 </dev/null &
    SPAWNED=$!
    echo "$SPAWNED" >"$T/$_name.pid"
    echo "$SPAWNED" >>"$T/.pgids"
}

# pid_gone PID: true when PID does not exist or is a zombie (dead, unreaped).
pid_gone() {
    ! kill -0 "$1" 2>/dev/null && return 0
    [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]
}

# group_alive PGID: true while any process of the group exists.
group_alive() { kill -s 0 -- "-$1" 2>/dev/null; }

# cleanup: ends every process group started with spawn and every worker
# group the test database still lists as live, TERM then KILL. Installed as
# the EXIT trap; removes T when the test made it itself and passed.
cleanup() {
    _rc=$?
    _groups=$(cat "$T/.pgids" 2>/dev/null)
    if [ -f "$NIGHTSHIFT_DB" ]; then
        _groups="$_groups $(sql "SELECT pgid FROM attempts WHERE outcome IS NULL AND pgid > 1" 2>/dev/null)"
    fi
    _live=''
    for _g in $_groups; do
        case $_g in '' | *[!0-9]* | 0 | 1) continue ;; esac
        group_alive "$_g" && kill -s TERM -- "-$_g" 2>/dev/null && _live="$_live $_g"
    done
    if [ -n "$_live" ]; then
        sleep 0.3
        for _g in $_live; do kill -s KILL -- "-$_g" 2>/dev/null; done
    fi
    if [ "$_own_tmp" = yes ]; then
        if [ "$_rc" -eq 0 ]; then rm -rf "$T"; else echo "# kept $T" >&2; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$NIGHTSHIFT" ] || bail_out "no binary at $NIGHTSHIFT (run make first)"
