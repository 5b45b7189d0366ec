#!/bin/sh
# t-exit.sh - the console leaves cleanly: on SIGTERM, SIGINT and SIGHUP, and
# when the database file disappears (message on stderr after the terminal is
# restored); --read-only refuses actions without writing a command; NO_COLOR
# and a non-UTF-8 locale still give a usable screen (ASCII fallback); issue
# 22: a TERM=dumb terminal, which cannot address the cursor, is refused with
# a message (it drew only the breadcrumb and the key bar).
. "$(dirname "$0")/lib.sh"

"$FIXTURE" "$NIGHTSHIFT_DB" 300 50 || bail_out "fixture"

for sig in TERM INT HUP; do
    console_start 100 30 1
    wait_screen "SIG$sig: run view up" 5 '^Runs > run 1 fixture'
    kill -s "$sig" "$CONSOLE_PID"
    wait_for "SIG$sig ends the console" 5 console_exited && ok "SIG$sig ends the console"
    is "SIG$sig: exit status 0" "$(cat "$T/console.rc")" 0
    # endwin() restored the normal screen: the console's frame is gone.
    wait_screen_not "SIG$sig: terminal restored" 5 'F1Help'
    tmx kill-server
done

# The database disappears under the console.
orig_db=$NIGHTSHIFT_DB
cp "$NIGHTSHIFT_DB" "$T/copy.db"
NIGHTSHIFT_DB=$T/copy.db
console_start 100 30
wait_screen "runs list on the copy" 5 'fixture'
rm -f "$T/copy.db" "$T/copy.db-wal" "$T/copy.db-shm"
wait_for "a vanished database ends the console" 5 console_exited &&
    ok "a vanished database ends the console"
is "exit status 3" "$(cat "$T/console.rc")" 3
like "stderr says why" "$(cat "$T/console.err")" \
    "^nightshift: console: database .*copy.db disappeared$"
wait_screen_not "terminal restored" 5 'F1Help'
tmx kill-server
NIGHTSHIFT_DB=$orig_db

# --read-only: action keys are refused and nothing is written.
console_start 100 30 1 --read-only
wait_screen "read-only shows in the title bar" 5 'read-only'
like "no Kill in the function bar" "$(screen | tail -n 1)" '^F1Help F3Search F4Filter F5Map F6Sort F7Errors F8Failures F10Quit'
keys p
wait_screen "pause refused" 5 'read-only console: actions are disabled'
keys r
wait_screen "retry refused" 5 'read-only console'
is "no command was written" "$(sql "select count(*) from commands")" 0
keys '?'
wait_screen "help hides actions" 5 'Read-only console: operator actions are hidden'
wait_screen_not "help has no pause" 5 'pause the run'
keys Q
wait_for "read-only console quits" 5 console_exited && ok "read-only console quits"
tmx kill-server

# Without a live runtime, pause is refused by the console itself, and the
# refusal is in the audit log (as with the CLI).
console_start 100 30 1
keys p
wait_screen "pause needs a live runtime" 5 'refused: no runtime is driving run 1'
is "the refused pause is recorded" "$(sql "select verb, state, source from commands")" "pause|refused|console"
keys Q
wait_for "quits" 5 console_exited
tmx kill-server

# NO_COLOR and the C locale: attributes and ASCII only.
CONSOLE_LANG=C CONSOLE_ENV="NO_COLOR=1" console_start 100 30 1
wait_screen "C locale: run view" 5 '^Runs > run 1 fixture'
wait_screen "ASCII progress bars" 5 '#########.{0,2}100%'
wait_screen "ASCII sparkline" 5 'thrpt [_.:=+*#-]+ '
check "no UTF-8 on screen" sh -c "! tmux -L '$TMUX_SOCK' capture-pane -p -t c | LC_ALL=C grep -q '[^ -~]'"
keys m
wait_screen "ASCII map letters" 5 '^\+\+\+\+\+\+R\.Fw'
keys m e G
wait_screen "ASCII escapes in errors" 5 'title has control bytes \\x1b\]0;pwned\\x07'
tmx capture-pane -p -e -t c >"$T/ansi.txt"
check "NO_COLOR: no colour escapes" sh -c "! grep -q '\[3[0-7]m\|\[38;' '$T/ansi.txt'"
keys Q
wait_for "quits" 5 console_exited
tmx kill-server

# Issue 22: TERM=dumb cannot address the cursor: refused, with a message.
timeout 10 script -qec "TERM=dumb '$NIGHTSHIFT' console --db '$NIGHTSHIFT_DB' 1; echo rc=\$?" \
    /dev/null </dev/null >"$T/dumb.out" 2>&1
dumb=$(tr -d '\r' <"$T/dumb.out")
like "issue 22: TERM=dumb: the console is refused with a message" "$dumb" \
    '^nightshift: console: the terminal "dumb" cannot move the cursor, which the console needs'
like "exit status 3" "$dumb" "^rc=3$"
done_testing
