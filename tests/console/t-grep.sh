#!/bin/sh
# The console's grep (issue 21): E on a run asks for a pattern and shows
# the matching log lines and error records of the run's attempts in a view,
# with partition, key, attempt and line, escaped: a worker's OSC title
# change and clear-screen show as text and change nothing. A pattern that
# is no regular expression is refused on the status line.
. "$(dirname "$0")/lib.sh"

cat >"$T/w.sh" <<'SH'
#!/bin/sh
key=$1
echo "start $key attempt $NIGHTSHIFT_ATTEMPT"
printf 'hostile \033]0;pwned\007 \033[2J line of %s\n' "$key"
"$NIGHTSHIFT" emit error "rec-$key" "bad row in $key"
[ "$key" = c ] && { echo "boom: connection reset in $key"; exit 3; }
exit 0
SH
chmod +x "$T/w.sh"
cat >"$T/g.yaml" <<YAML
name: greptest
command: [sh, $T/w.sh, "{key}"]
partitions: {list: [a, b, c]}
retry: {attempts: 2, backoff: 10ms, jitter: 0}
YAML
NIGHTSHIFT="$NIGHTSHIFT" ns run "$T/g.yaml" >"$T/run.out" 2>&1
is "the run ends failed" "$?" 1

console_start 120 30 1
wait_screen "the run view" 10 '^ +2 c +failed'
keys E
wait_screen "E asks for a pattern" 5 'grep the logs and error records for'
keys 'connection reset' Enter
wait_screen "the matches, one per failed attempt" 10 '^2 matches for connection reset in run 1'
wait_screen_fixed "attempt 1's line" 5 '2 c #1 line 3: boom: connection reset in c'
wait_screen_fixed "attempt 2's line" 5 '2 c #2 line 3: boom: connection reset in c'
keys q
wait_screen "back to the run" 5 '^ +2 c +failed'
keys E
wait_screen "E asks again" 5 'grep the logs and error records for'
keys C-u 'pwned|bad row in a' Enter
wait_screen "hostile lines, escaped" 10 '^5 matches for pwned\|bad row in a'
wait_screen_fixed "the OSC and the clear-screen as text" 5 '0 a #1 line 2: hostile \x1b]0;pwned\x07 \x1b[2J line of a'
wait_screen_fixed "an error record with its id" 5 "0 a #1 error $(sql "SELECT id FROM error_records WHERE key = 'rec-a'"): rec-a: bad row in a"
is "the pane title was not changed" "$(title)" console-test-title
keys q E C-u 'bad[' Enter
wait_screen "a bad pattern is refused on the status line" 5 'grep: bad\[: not a regular expression'
keys Q
wait_for "quits" 5 console_exited && ok "quits"
done_testing
