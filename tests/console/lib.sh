# lib.sh - helpers for the console tests (tests/console/t-*.sh).
#
#   #!/bin/sh
#   . "$(dirname "$0")/lib.sh"
#   console_start 120 40 1            # nightshift console 1, in tmux, 120x40
#   wait_screen "run view" 5 'Runs > run 1'
#   keys Enter
#   done_testing
#
# Builds on tests/e2e/lib.sh (TAP, ns, sql, wait_for, spawn, cleanup). The
# console runs in a tmux server on a private socket (-L), so tests never touch
# the user's tmux and can run in parallel; the server is killed on exit. The
# console's exit status lands in $T/console.rc and its stderr in
# $T/console.err once it exits. No sleeping "long enough": every check waits
# for a condition with a deadline.
#
# Environment for the console: NIGHTSHIFT_CONSOLE_REFRESH_MS (default here
# 100 ms), CONSOLE_LANG (default C.UTF-8), CONSOLE_ENV (extra VAR=value
# words, e.g. NO_COLOR=1).
. "$(dirname "$0")/../e2e/lib.sh"

command -v tmux >/dev/null 2>&1 || skip_all "tmux is not installed"
command -v sqlite3 >/dev/null 2>&1 || skip_all "sqlite3 is not installed"

TMUX_SOCK=nsc-$$-$(date +%s%N)
FIXTURE=$ROOT/tests/console/make-fixture.sh
tmx() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }

console_cleanup() {
    _rc=$?
    tmx kill-server >/dev/null 2>&1
    (exit $_rc)
    cleanup
}
trap console_cleanup EXIT

# console_start COLS ROWS ARGS...: starts `nightshift console --db DB ARGS`
# in a fresh tmux session named "c"; waits until the screen has a breadcrumb.
console_start() {
    _cols=$1 _rows=$2
    shift 2
    rm -f "$T/console.rc" "$T/console.err"
    {
        echo '#!/bin/sh'
        echo "export LANG=${CONSOLE_LANG:-C.UTF-8} LC_ALL=${CONSOLE_LANG:-C.UTF-8}"
        echo "export NIGHTSHIFT_CONSOLE_REFRESH_MS=${NIGHTSHIFT_CONSOLE_REFRESH_MS:-100}"
        echo "export NIGHTSHIFT_DB='$NIGHTSHIFT_DB' HOME='$HOME' ${CONSOLE_ENV:-}"
        printf '"%s" console --db "%s"' "$NIGHTSHIFT" "$NIGHTSHIFT_DB"
        for _a in "$@"; do printf ' "%s"' "$_a"; done
        printf ' 2>"%s"\n' "$T/console.err"
        echo "echo \$? >'$T/console.rc'"
        echo 'exec sleep 3600'
    } >"$T/console.sh"
    chmod +x "$T/console.sh"
    # A server killed just before (tmx kill-server between phases) may still
    # be exiting: "server exited unexpectedly". Try again, with a deadline.
    _tries=0
    until tmx new-session -d -s c -x "$_cols" -y "$_rows" "$T/console.sh" 2>/dev/null &&
        tmx has-session -t c 2>/dev/null; do
        _tries=$((_tries + 1))
        [ "$_tries" -ge 50 ] && break
        tmx kill-session -t c >/dev/null 2>&1
        sleep 0.1
    done
    tmx set-option -t c status off >/dev/null
    tmx select-pane -t c -T console-test-title
    wait_screen "the console starts" 10 'Runs' || return 1
    CONSOLE_PID=$(pgrep -f -n "^$NIGHTSHIFT console --db $NIGHTSHIFT_DB")
}

# screen: the visible pane as text.
screen() { tmx capture-pane -p -t c; }
# keys KEY...: tmux send-keys (names like Enter, Escape, Space, C-l, F5).
keys() { tmx send-keys -t c "$@"; }
# title: the pane title (an OSC 0/2 from the program would change it).
title() { tmx display-message -p -t c '#{pane_title}'; }

_screen_has() { screen | grep -Eq -- "$1"; }
_screen_has_fixed() { screen | grep -Fq -- "$1"; }
_screen_lacks() { ! screen | grep -Eq -- "$1"; }

# wait_screen DESC TIMEOUT_S ERE: waits until the screen matches ERE;
# ok DESC then, else a failure with the last screen as diagnostics.
wait_screen() {
    if wait_for "$1" "$2" _screen_has "$3"; then
        ok "$1"
    else
        screen | sed 's/^/#   | /'
        return 1
    fi
}
# wait_screen_fixed DESC TIMEOUT_S TEXT: the same for a fixed string.
wait_screen_fixed() {
    if wait_for "$1" "$2" _screen_has_fixed "$3"; then
        ok "$1"
    else
        screen | sed 's/^/#   | /'
        return 1
    fi
}
# wait_screen_not DESC TIMEOUT_S ERE: waits until ERE is gone.
wait_screen_not() {
    if wait_for "$1" "$2" _screen_lacks "$3"; then
        ok "$1"
    else
        screen | sed 's/^/#   | /'
        return 1
    fi
}

# console_exited: true once the console wrote its exit status.
console_exited() { [ -s "$T/console.rc" ]; }

# sql_is QUERY EXPECTED: for wait_for.
sql_is() { [ "$(sql "$1")" = "$2" ]; }

# ms_since START_MS: elapsed milliseconds.
ms_since() { echo $(($(now_ms) - $1)); }
