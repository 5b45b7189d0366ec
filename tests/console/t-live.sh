#!/bin/sh
# t-live.sh - the console on a real, live run (configs/demo.yaml): the
# partition appears, its progress moves, pause really stops the worker (T
# in /proc/PID/stat) and resume continues it, a failure is shown, retry from
# the console changes the partition in SQLite, a hostile error payload is
# shown escaped (and the pane title is not changed), and at 80x24 the layout
# stays readable; beside the running count, a sparkline of how many ran
# (the runtime's samples, every 5 s).
. "$(dirname "$0")/lib.sh"

# Chunk 1000-1999 (partition 1) fails for good; chunks take 2-6 s at pace
# 0.2, so the run (56 chunks, 4 at a time) lasts about a minute.
spawn run "$NIGHTSHIFT" run "$CONFIGS/demo.yaml" --db "$NIGHTSHIFT_DB" \
    -p pace=0.2 -p fail_chunk=1000 -p flaky_chunk=-1 -p out="$T/out"
wait_for "the run is recorded" 15 sql_is "select count(*) from runs" 1 || bail_out "no run"

console_start 120 40 demo
wait_screen "the run view opens" 10 '^Runs > run 1 demo'
wait_screen "partition 0 appears, running" 10 '^ +0 0-999 +running'

pct0() { screen | grep -E '^ +0 0-999 ' | grep -oE '[0-9]+%' | head -n 1; }
first=$(pct0)
moved() { p=$(pct0); [ -n "$p" ] && [ "$p" != "$first" ]; }
wait_for "progress of partition 0 moves" 10 moved && ok "progress moves ($first -> $(pct0))"

# The runtime samples how many run (4 at a time), and the header draws it
# beside the running count, with its peak.
wait_for "a sample counts the 4 running" 12 sql_is "select max(running) from samples" 4
wait_screen "the running-count sparkline beside the running count" 5 \
    '^pending [0-9]+  running [0-9] [▁▂▃▄▅▆▇█]+ max 4  retry_wait'

# Pause: every live worker is stopped (SIGSTOP -> state T).
t0=$(now_ms)
keys p
wait_screen "pause is applied" 5 'pause run 1: applied'
diag "key p -> 'applied' on screen: $(ms_since "$t0") ms (through tmux, 50 ms polling)"
wait_screen "header says paused" 5 '^paused'
# The live attempts are re-read each time: one may end just before the pause.
# A worker inside an uninterruptible system call (D, e.g. an fsync on a busy
# machine) stops when the call returns: it counts if SIGSTOP is pending.
stop_pending() {
    awk '/^(SigPnd|ShdPnd):/ { d = index("0123456789abcdef", substr($2, 12, 1)) - 1; if (int(d / 4) % 2) f = 1 }
         END { exit !f }' "/proc/$1/status" 2>/dev/null
}
all_stopped() {
    pids=$(sql "select pid from attempts where outcome is null")
    _n=0
    for p in $pids; do
        _st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
        [ -n "$_st" ] || continue
        if [ "$_st" = T ]; then
            _n=$((_n + 1))
        elif [ "$_st" != D ] || ! stop_pending "$p"; then
            return 1
        fi
    done
    [ "$_n" -gt 0 ]
}
if wait_for "paused workers are in state T" 5 all_stopped; then
    ok "paused workers are stopped (T): $(echo $pids)"
else
    for p in $pids; do diag "pid $p: $(cat "/proc/$p/stat" 2>&1)"; done
    diag "$(sql "select id, idx, pid, pgid, outcome from attempts where outcome is null")"
    diag "$(sql "select idx, state from partitions where state not in ('pending', 'succeeded')")"
fi
keys c
wait_screen "resume is applied" 5 'resume run 1: applied'
none_stopped() {
    for p in $pids; do
        [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != T ] || return 1
    done
}
wait_for "workers continue" 5 none_stopped && ok "resumed workers run again"

# The failure shows up; retry it from the console (failed filter first).
wait_screen "partition 1 is shown failed" 30 '^ +1 1000-1999 +failed'
keys t t
wait_screen "failed filter" 5 'filter failed'
wait_screen "the failed partition is listed" 5 '^ +1 1000-1999 +failed'
keys r
wait_screen "retry is applied" 5 'retry partition 1: applied'
retried() { sql_is "select attempts_total >= 2 or state <> 'failed' from partitions where idx = 1" 1; }
wait_for "retry changes the partition in SQLite" 10 retried &&
    ok "retry changed partition 1 in SQLite ($(sql "select state, attempts_total from partitions where idx = 1"))"
is "the command is recorded as from the console" \
    "$(sql "select source, verb, state from commands where verb = 'retry'")" "console|retry|applied"
keys t t
wait_screen "filter all" 5 'filter all'

# Skip the last partition (still pending) with a reason.
keys G
wait_screen "the last partition, pending" 5 '^ +55 55000-55999 +pending'
keys x
wait_screen "skip asks for a reason" 5 'Skip partition 55 - reason:'
keys "not needed tonight" Enter
wait_screen "skip asks to confirm" 5 'Skip partition 55 .*\[y/N\]'
keys y
wait_screen "skip is applied" 5 'skip partition 55: applied'
wait_for "partition 55 is skipped in SQLite" 10 \
    sql_is "select state || '|' || skip_reason from partitions where idx = 55" \
    "skipped|not needed tonight" && ok "partition 55 is skipped in SQLite, with the reason"
wait_screen "the table shows it skipped" 5 '^ +55 55000-55999 +skipped'
keys g

# Kill the attempt of a running partition from its partition view.
keys t
wait_screen "running filter" 5 'filter running'
wait_screen "a running partition" 10 '^ +[0-9]+ [0-9]+-[0-9]+ +running'
# The one with the most work left (least likely to end before the kill),
# not partition 1 (it fails by design).
victim=$(screen | grep -E '^ +[0-9]+ [0-9]+-[0-9]+ +running' | awk '$1 != 1' |
    sed -E 's/^ +([0-9]+) .* ([0-9]+)% .*/\2 \1/' | sort -n | head -n 1 | cut -d' ' -f2)
keys F4 "${victim}000-${victim}999" Enter
wait_screen "only partition $victim listed" 5 "^ +$victim ${victim}000-${victim}999 "
keys Enter
wait_screen "partition view of $victim" 5 "> partition $victim\$|> partition $victim "
wait_screen "its live attempt" 5 '^ +1 +[0-9:]+ .* live'
wait_screen "its log" 5 '^log of attempt 1 '
keys K
wait_screen "kill asks to confirm" 5 "Kill the running attempt of partition $victim\\? \\[y/N\\]"
keys y
wait_screen "kill is applied" 5 "kill partition $victim: applied"
wait_for "the attempt is killed in SQLite" 10 \
    sql_is "select outcome from attempts where idx = $victim order by n limit 1" killed &&
    ok "attempt 1 of partition $victim is killed in SQLite"
wait_screen "the partition view shows it" 5 '^ +1 +[0-9:]+ .*killed'
keys q
wait_screen "back to the table" 5 'filter running'
keys F4 Enter t t t
wait_screen "filter all again" 5 'filter all'

# The failures view groups failed partitions by signature; r retries a group.
keys F
wait_screen "failures view" 5 'failed partitions by signature'
wait_screen "partition 1's failure is a group" 20 '^ +1 +1  .*exit'
before=$(sql "select attempts_total from partitions where idx = 1")
keys r
# One partition in the group: r retries at once (only R asks), and the line
# says how many partitions it touched (docs/console.md).
wait_screen "group retry is applied, with its count" 5 'retry 1 partition of group .*: applied'
retried_again() { sql_is "select attempts_total > $before or state <> 'failed' from partitions where idx = 1" 1; }
wait_for "the group retry reaches SQLite" 10 retried_again && ok "the group retry reached partition 1"
like "the command names the signature" "$(sql "select args from commands where verb = 'retry' order by id desc limit 1")" '"signature":'
keys q
wait_screen "back to the table" 5 'filter all'

# A: retry all failed partitions, here from scratch (the question offers both).
wait_for "partition 1 fails again" 20 sql_is "select state from partitions where idx = 1" failed
keys A
wait_screen "retry-all asks" 5 'Retry ALL [0-9]+ failed partitions? of run 1\? \[y\] from checkpoint, \[s\] from scratch'
keys s
wait_screen "retry-all is applied" 5 'retry all failed of run 1 from scratch: applied'
is "its arguments" "$(sql "select args from commands where verb = 'retry' order by id desc limit 1")" \
    '{"failed":true,"from_scratch":true}'

# The hostile record (chunk 0, document 99), escaped in list and full view.
keys e
wait_screen "error browser" 5 '\[records\]'
wait_screen "hostile message escaped in the list" 20 'doc-99 +title has control bytes \\x1b\[31mRED'
keys / doc-99 Enter
wait_screen "filtered to the hostile record" 5 '/doc-99'
keys Enter
wait_screen "full record" 5 'error record [0-9]+'
wait_screen_fixed "payload OSC title escaped" 5 '\x1b]0;pwned\x07'
wait_screen_fixed "payload clear-screen escaped" 5 '\x1b[2J'
wait_screen_fixed "carriage return escaped" 5 'report\rfdp.exe'
wait_screen_fixed "bidi override made visible" 5 '<U+202E>'
is "the pane title was not changed" "$(title)" console-test-title
wait_screen "the screen was not cleared" 5 'payload as hex'
keys q q

# Partition view of a running partition: attempts and the live log.
wait_screen "back in the run view" 5 '\[table\]'
keys q
wait_screen "runs list" 5 '^Runs +'
keys Enter
wait_screen "run again" 5 '\[table\]'

# 80x24 stays readable.
tmx resize-window -t c -x 80 -y 24
fits() { [ "$(screen | LC_ALL=C.UTF-8 wc -L)" -le 80 ] && [ "$(screen | wc -l)" -le 24 ]; }
wait_for "the screen fits 80x24" 5 fits && ok "the screen fits 80x24"
wait_screen "breadcrumbs at 80x24" 5 '^Runs > run 1 demo'
wait_screen "header at 80x24" 5 '[0-9]+/56 done'
wait_screen "table columns at 80x24" 5 '# KEY +STATE +PROGRESS'
wait_screen "function keys at 80x24" 5 'F1Help.*F10Quit'
wait_screen "rows at 80x24" 5 '^ +[0-9]+ [0-9]+-[0-9]+ +(succeeded|running|pending|failed)'
keys m
wait_screen "map at 80x24" 5 'of 56'

keys Q
wait_for "Q quits" 5 console_exited && ok "Q quits"
is "console exit status" "$(cat "$T/console.rc")" 0
check "the run goes on without the console" kill -0 "$(cat "$T/run.pid")"
tmx kill-server

# A new console stops the run at once (asks first).
console_start 100 30 1
wait_screen "run view again" 5 '^Runs > run 1 demo'
keys S
wait_screen "stop now asks" 5 'Stop NOW .*run 1\? \[y/N\]'
keys n
wait_screen "n cancels" 5 'cancelled'
keys S y
wait_screen "stop now is applied" 5 'stop now run 1: applied'
runtime_gone() { ! kill -0 "$(cat "$T/run.pid")" 2>/dev/null; }
wait_for "the runtime exits" 15 runtime_gone && ok "the runtime exits after stop now"
is "the run is stopped" "$(sql "select state from runs")" stopped
wait_screen "the console shows it stopped" 5 '^stopped'
keys Q
wait_for "quits" 5 console_exited
done_testing
