#!/bin/sh
# run --detach returns at once with the run id and the runtime's log path;
# the runtime is a session leader that outlives its parent shell, holds none
# of the caller's descriptors, finishes the run, and logs beside the DB.
. "$(dirname "$0")/lib.sh"
SPECS=$ROOT/tests/e2e/specs

start=$(now_ms)
# $(...) only returns when every holder of its pipe is gone: a runtime that
# kept the caller's stdout or stderr would hold it for the whole run (~2 s).
out=$(sh -c '"$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" --detach "$1" -p pace=0.5; echo "rc=$?"' sh "$SPECS/slow.yaml" 2>&1)
took=$(($(now_ms) - start))
diag "$out"
like "it exits 0" "$out" "rc=0$"
check "it returned at once (${took} ms, the run takes >= 2 s)" test "$took" -lt 1500
like "it prints the run id" "$out" "^run 1 started in the background"
pid=$(echo "$out" | sed -n 's/.*(runtime pid \([0-9]*\)).*/\1/p')
log=$(echo "$out" | sed -n 's/^log: //p')
check "it prints the runtime's pid ($pid)" test -n "$pid"
like "it prints the log path beside the database" "$log" "^$NIGHTSHIFT_DB\\.d/runtime-[^/]*\\.log$"
check "the log file exists" test -f "$log"
check "the runtime is alive after its parent shell exited" kill -0 "$pid"
echo "$pid" >>"$T/.pgids" # cleanup ends it if the test fails
# /proc/PID/stat: pid (comm) state ppid pgrp session ...
ids=$(sed 's/^\([0-9]*\) (.*) [A-Za-z] \([0-9-]*\) \([0-9-]*\) \([0-9-]*\) .*/\2 \3 \4/' "/proc/$pid/stat")
read -r ppid pgrp sid <<EOF2
$ids
EOF2
is "it is a session leader (sid == pid)" "$sid" "$pid"
is "and its own process group leader" "$pgrp" "$pid"
check "its parent is no longer the shell that started it (ppid $ppid)" test "$ppid" != "$$"
is "its stdin is /dev/null" "$(readlink "/proc/$pid/fd/0")" /dev/null
is "its stdout is the log" "$(readlink "/proc/$pid/fd/1")" "$log"
is "its stderr is the log" "$(readlink "/proc/$pid/fd/2")" "$log"
check "it has no controlling terminal (tty_nr 0)" test "$(cut -d' ' -f7 "/proc/$pid/stat" 2>/dev/null || echo x)" = 0
is "the runtime is recorded as the run's driver" "$(sql "SELECT state FROM runs WHERE id = 1")" running

wait_for "the run to succeed" 30 sh -c "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT state FROM runs WHERE id = 1\" 2>/dev/null)\" = succeeded"
is "the run succeeded" "$(sql "SELECT state, n_succeeded FROM runs WHERE id = 1")" "succeeded|4"
wait_for "the runtime exits" 10 sh -c "! kill -0 $pid 2>/dev/null" && ok "the runtime exited after the run"
like "the log holds the runtime's output" "$(cat "$log")" "run 1 succeeded"
is "the log is private (0600)" "$(stat -c %a "$log")" 600
is "its directory is private (0700)" "$(stat -c %a "$NIGHTSHIFT_DB.d")" 700
like "status shows the finished run" "$(ns status 1)" "succeeded"

# A detached run of a broken spec fails in the foreground, with the message.
printf 'name: x\ntimeout: soon\ncommand: [true]\npartitions:\n  list: [a]\n' >"$T/bad.yaml"
out=$(ns run --detach "$T/bad.yaml" 2>&1)
is "--detach on a broken spec exits 2" "$?" 2
like "and says why" "$out" 'bad.yaml:2:10: timeout: "soon" is not a duration'

# On a fresh account: the default database under ~/.local/state, whose
# directories do not exist yet (make demo's case).
fresh=$T/fresh-home
mkdir -p "$fresh"
out=$(env -u NIGHTSHIFT_DB -u XDG_STATE_HOME HOME="$fresh" "$NIGHTSHIFT" run --detach "$SPECS/slow.yaml" -p pace=0.1 2>&1)
is "--detach on the default database of a fresh account exits 0" "$?" 0
like "and prints the run id" "$out" "^run 1 started in the background"
check "the database was created under ~/.local/state/nightshift" test -f "$fresh/.local/state/nightshift/nightshift.db"
is "with a private directory" "$(stat -c %a "$fresh/.local/state/nightshift")" 700
wait_for "the fresh run to finish" 30 sh -c "test \"\$(sqlite3 '$fresh/.local/state/nightshift/nightshift.db' 'SELECT state FROM runs' 2>/dev/null)\" = succeeded"
done_testing
