#!/bin/sh
# nightshift grep (issue 21): a run whose workers print lines (one with an
# OSC title change and a clear-screen) and report error records; partition
# c fails its first attempt and succeeds its second, d fails both. grep
# finds the log lines and the records with partition, attempt and line,
# escaped (no ESC or BEL byte in the output, a pipe or not); --state,
# --attempt last|N and -i narrow it; no match exits 1, a bad pattern 2.
. "$(dirname "$0")/lib.sh"

cat >"$T/w.sh" <<'SH'
#!/bin/sh
# w.sh KEY: prints three lines, reports an error record; c fails its first
# attempt, d every attempt.
key=$1 n=$NIGHTSHIFT_ATTEMPT
echo "start $key attempt $n"
printf 'hostile \033]0;pwned\007 \033[2J line of %s\n' "$key"
"$NIGHTSHIFT" emit error "rec-$key" "bad row in $key attempt $n"
echo "end $key"
[ "$key" = d ] && { echo "boom: connection reset in $key"; exit 3; }
[ "$key" = c ] && [ "$n" = 1 ] && { echo "boom: connection reset in $key"; exit 3; }
exit 0
SH
chmod +x "$T/w.sh"
cat >"$T/g.yaml" <<YAML
name: greptest
command: [sh, $T/w.sh, "{key}"]
partitions: {list: [a, b, c, d]}
concurrency: 2
retry: {attempts: 2, backoff: 10ms, jitter: 0}
YAML
NIGHTSHIFT="$NIGHTSHIFT" ns run "$T/g.yaml" >"$T/run.out" 2>&1
is "the run ends failed (d fails both attempts)" "$?" 1
is "the workers knew their attempt" "$(sql "SELECT count(*) FROM attempts")" 6

out=$(ns grep 1 'connection reset')
is "grep exits 0 on a match" "$?" 0
is "every failed attempt's line, with partition, attempt and line" "$out" \
"partition 2 (c) attempt 1, log line 4: boom: connection reset in c
partition 3 (d) attempt 1, log line 4: boom: connection reset in d
partition 3 (d) attempt 2, log line 4: boom: connection reset in d"
is "--attempt last: only the latest attempt" "$(ns grep 1 'connection reset' --attempt last)" \
"partition 3 (d) attempt 2, log line 4: boom: connection reset in d"
is "--attempt 1" "$(ns grep 1 'connection reset' --attempt 1 | wc -l)" 2
is "--state failed" "$(ns grep 1 '^start' --state failed)" \
"partition 3 (d) attempt 1, log line 1: start d attempt 1
partition 3 (d) attempt 2, log line 1: start d attempt 2"
# A retry without a checkpoint drops the records of the attempt before it.
is "error records, with their attempt and id" "$(ns grep 1 'bad row in c')" \
"partition 2 (c) attempt 2, error record $(sql "SELECT id FROM error_records WHERE message = 'bad row in c attempt 2'"): rec-c: bad row in c attempt 2"
is "a record's key matches too" "$(ns grep 1 '^rec-a$' | wc -l)" 1
is "-i" "$(ns grep 1 -i 'BOOM' | wc -l)" 3
hostile=$(ns grep 1 pwned)
like "hostile bytes are shown escaped" "$hostile" 'partition 0 \(a\) attempt 1, log line 2: hostile \\x1b\]0;pwned\\x07 \\x1b\[2J line of a'
check "no ESC or BEL byte reaches the output" sh -c "! ns_out=\$('$NIGHTSHIFT' grep --db '$NIGHTSHIFT_DB' 1 pwned | LC_ALL=C grep -c \"\$(printf '[\\033\\007]')\") || [ \"\$ns_out\" = 0 ]"
is "--limit" "$(ns grep 1 . --limit 3 | wc -l)" 3
ns grep 1 'no such text anywhere' >"$T/none.out"
is "no match exits 1" "$?" 1
ns grep 1 'bad[' >"$T/bad.out" 2>&1
is "a pattern that is no regular expression exits 2" "$?" 2
like "and says why" "$(cat "$T/bad.out")" "nightshift: grep: bad\\[: not a regular expression"
ns grep 1 x --attempt first >/dev/null 2>&1
is "--attempt takes last or a number" "$?" 2
done_testing
