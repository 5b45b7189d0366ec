#!/bin/sh
# t-navigate.sh - the console over a fixture database: runs list, run view
# (filters, map, marks), help, partition view, error browser (escaping,
# groups, filter, full record, export), freeze, quit.
. "$(dirname "$0")/lib.sh"

"$FIXTURE" "$NIGHTSHIFT_DB" 2000 500 || bail_out "fixture"

console_start 120 40
wait_screen "runs list shows the run" 5 '^ +1 fixture +day=2026-11-23 +running'
wait_screen "runs list shows done/total" 5 '1400/2000'
like "function-key bar" "$(screen | tail -n 1)" 'F1Help.*F10Quit'

keys Enter
wait_screen "Enter opens the run (breadcrumbs)" 5 '^Runs > run 1 fixture'
# No runtime drives the fixture: its 200 "running" partitions run nowhere
# and count as pending (issue 22 item 2).
wait_screen "header: counts by state" 5 'pending 400 +running 0 (.* max [0-9]+ +)?retry_wait 200 +paused 0 +succeeded 1200 +failed 200'
wait_screen "header: no runtime (the lock, as status says)" 5 'no runtime  elapsed'
wait_screen "header: sparkline, ETA, deadline" 5 'thrpt .*ETA .*deadline [0-9:]+ ok'
wait_screen "partition table" 5 '^ +0 part-000000 +succeeded'

keys t t
wait_screen "filter failed" 5 'filter failed'
wait_screen_not "only failed partitions listed" 5 'part-[0-9]+ +(succeeded|running|pending)'
wait_screen "failed rows show their message" 5 '8 part-000008 +failed.*connection reset by peer'
keys t t
wait_screen "filter all again" 5 'filter all'

keys o
wait_screen "o asks for the column" 5 'sort by: \[i\]ndex'
keys p
wait_screen "sort: progress" 5 'sort progress'
wait_screen "the sorted column has its arrow" 5 'PROGRESS▲'
wait_screen "stragglers first" 5 '^ +7 part-000007 +pending'
keys G
wait_screen "End of the progress order" 5 '^ +1999 part-001999 +retry_wait'
keys k k
wait_screen "scrolling up in the progress order" 5 '^ +1998 part-001998 +failed'
keys o i
wait_screen "sort: index again" 5 'sort index'
keys g

keys F4
wait_screen "F4 prompts for a filter" 5 'filter \(state:failed'
keys "part-0011" Enter
wait_screen "text filter" 5 '1100 part-001100'
wait_screen_not "text filter hides others" 5 'part-000000'
keys F4 Enter
wait_screen "text filter cleared" 5 '^ +0 part-000000'

keys Space Space
wait_screen "Space marks rows" 5 'marked 2'
keys U
wait_screen_not "U clears marks" 5 'marked 2'

keys m g
wait_screen "map view" 5 '\[map\]'
wait_screen "map legend" 5 'of 2000'
wait_screen "map cursor partition" 5 '^#0 part-000000 succeeded'
keys l l
wait_screen "map cursor moves" 5 '^#2 part-000002'
keys z
wait_screen "zoom: one letter per partition" 5 '^1/cell'
like "map letters by state" "$(screen | sed -n 7p)" '^\+\+\+\+\+\+R\.Fw\+\+'
keys m
wait_screen "back to the table" 5 '\[table\]'
keys g

keys '?'
wait_screen "help screen" 5 '^Runs > run 1 fixture > help'
wait_screen "help lists keys from the table" 5 'freeze / unfreeze the display'
keys G
wait_screen "help lists actions" 5 'pause the run'
keys q
wait_screen "help closes" 5 '\[table\]'

keys Enter
wait_screen "partition view" 5 '> partition 0'
wait_screen "partition view: params" 5 'params +\{"n":0\}'
keys q

keys e
wait_screen "error browser" 5 '\[records\] 500 error records'
wait_screen "hostile message escaped" 5 'title has control bytes \\x1b\]0;pwned\\x07'
keys G
wait_screen "End shows the last record" 5 '^ +500 '
keys g
wait_screen "Home shows the first record" 5 '^ +1 +1 '
keys Tab
wait_screen "grouped by signature" 5 'grouped by signature'
wait_screen "groups with counts, top first" 5 '^ +200 .*missing field user_id at line <n>'
keys Enter
wait_screen "a group's records" 5 'signature: bad date <n>'
keys q Tab
wait_screen "failures grouped by signature" 5 '^ +200 +8  exit 2: connection reset by peer'
keys Tab
wait_screen "records again" 5 '\[records\]'
keys / "pwned" Enter
wait_screen "filter records by text" 5 '/pwned'
wait_screen_not "filter hides other records" 5 'bad date'
keys Enter
wait_screen "full record" 5 'error record [0-9]+'
wait_screen "payload escaped" 5 'payload, 22 bytes'
wait_screen_fixed "payload shows the escapes" 5 '\x1b]0;pwned\x07\x1b[2J'
wait_screen "payload as hex" 5 '00000000  7b 22 74 22 3a 22 1b 5d'
is "pane title unchanged" "$(title)" console-test-title
keys q
keys w
wait_screen "export prompts for a path" 5 'export to'
keys C-u "$T/pwned.jsonl" Enter
wait_screen "export reports" 5 'exported [0-9]+ records'
n=$(wc -l <"$T/pwned.jsonl")
is "export wrote the filtered selection" "$n" "$(sql "select count(*) from error_records where instr(message,'pwned')")"
like "export is JSON (schema nightshift.error/1) with the partition key and the payload in base64" "$(head -n 1 "$T/pwned.jsonl")" '^\{"schema":"nightshift.error/1",.*"partition_key":"[^"]+".*"payload_b64":"'
check "the export is the CLI's: same bytes as errors --format jsonl with the same filter" \
    sh -c "ns_out=\$('$NIGHTSHIFT' errors 1 --format jsonl | grep -F pwned); [ \"\$ns_out\" = \"\$(cat '$T/pwned.jsonl')\" ]"
check "export lines end in LF, not CRLF" sh -c "! grep -q \"\$(printf '\\r')\" '$T/pwned.jsonl'"
keys w C-u "$T/pwned.csv" Enter
wait_screen "CSV export" 5 'exported [0-9]+ records to .*pwned.csv'
like "CSV header: the CLI's columns" "$(head -n 1 "$T/pwned.csv")" '^id,partition,partition_key,attempt_id,at,key,message,signature,payload_b64$'
keys q

keys f
wait_screen "f freezes" 5 'FROZEN'
keys f
wait_screen_not "f again resumes" 5 'FROZEN'

keys q q
wait_for "q quits" 5 console_exited && ok "q quits"
is "exit status 0" "$(cat "$T/console.rc")" 0
done_testing
