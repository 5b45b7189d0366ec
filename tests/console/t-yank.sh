#!/bin/sh
# t-yank.sh - y puts the selected key, the error text, or the exact command
# that resumes or retries the run on the clipboard over OSC 52 (issue 21).
# The console runs inside tmux with set-clipboard on: what tmux receives
# becomes its paste buffer, read back with show-buffer. The command is the
# one builder's (control_resume_command, as `status` prints it) and is also
# shown uncut in a view, at 80 columns.
. "$(dirname "$0")/lib.sh"

"$FIXTURE" "$NIGHTSHIFT_DB" 200 20 || bail_out "fixture"

console_start 80 24 1
tmx set-option -s set-clipboard on
wait_screen "the run table" 5 '^ +0 part-000000 +succeeded'
buffer() { tmx show-buffer 2>/dev/null; }
buffer_is() { [ "$(buffer)" = "$1" ]; }

keys j j j j j j j j
wait_screen "the cursor on a failed partition" 5 '^ +8 part-000008 +failed'
keys y
wait_screen "y asks what to yank" 5 'yank: \[k\]ey \[e\]rror text'
keys k
wait_screen "the key is yanked, and it says so" 5 'yanked the key of partition 8 \(11 bytes\)'
wait_for "tmux received the key over OSC 52" 5 buffer_is part-000008 &&
    ok "the clipboard holds the key"
is "the key, exactly" "$(buffer)" "part-000008"

keys y e
wait_screen "the error text is yanked" 5 'yanked the error text of partition 8'
msg=$(sql "SELECT last_message FROM partitions WHERE run_id = 1 AND idx = 8")
wait_for "tmux received the message" 5 buffer_is "$msg" && ok "the clipboard holds the error text"
is "the whole message, not the cut cell" "$(buffer)" "$msg"

keys Space Space
wait_screen "two marked" 5 'marked 2'
keys y k
wait_screen "the marked ones' keys" 5 'yanked the key of 2 partitions \(23 bytes\)'
two=$(printf 'part-000008\npart-000009')
wait_for "both keys, one a line" 5 buffer_is "$two" && ok "the clipboard holds both keys"

keys y c
wait_screen "the resume command in a view" 5 'resume command'
want=$("$NIGHTSHIFT" status --db "$NIGHTSHIFT_DB" 1 2>/dev/null | grep -o "nightshift run --db [^\`]*" | head -n 1)
wait_for "tmux received the command" 5 buffer_is "$want" && ok "the clipboard holds the command status prints"
case $(buffer) in
"nightshift run --db $NIGHTSHIFT_DB "*) ok "it names the database" ;;
*) not_ok "it names the database: $(buffer)" ;;
esac
# Uncut: the view's lines joined at the spaces where they wrap give the
# whole command back; no word is cut at the screen's edge.
shown=$(screen | sed -n '/^Resumes the run/,/^Yanked/p' | sed '1d;$d' | sed 's/ *$//;/^$/d' | paste -sd' ')
is "the view shows the command in full (wrapped at spaces, not cut)" "$shown" "$(buffer)"
keys q y r
wait_screen "the retry command" 5 'Retries the run'
case $(buffer) in
"nightshift run --retry-failed --db "*) ok "the retry command is the builder's, with --retry-failed" ;;
*) not_ok "retry command: $(buffer)" ;;
esac
keys q

# The help at 80 columns: a key's long description wraps at a space and
# goes on under its text, not cut mid-word at the edge.
keys '?'
wait_screen "the help" 5 '> help'
keys G
wait_screen "its end" 5 'NIGHTSHIFT_DB'
like "y's line wraps at a space, under its text" "$(screen)" '^ {21}resume command$'
keys q

keys Q
wait_for "the console exits" 5 console_exited
done_testing
