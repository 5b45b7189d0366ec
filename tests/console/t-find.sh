#!/bin/sh
# t-find.sh - the run table's search and filter are two things (issue 21):
# F4 keeps only the partitions matching `state:failed attempts>2 key~X
# err~X` (ANDed; the prompt starts empty; a bad term is refused and the
# filter kept); / highlights matches and jumps, n/N go on and wrap; the
# sort by any column, both ways, remembered when the run is opened again;
# marks: *, a range with v, invert with ~, and an action says how many.
. "$(dirname "$0")/lib.sh"

"$FIXTURE" "$NIGHTSHIFT_DB" 2000 100 || bail_out "fixture"
# Two failed partitions and a waiting one have used more attempts.
sql "UPDATE partitions SET attempts_total = 4 WHERE run_id = 1 AND idx IN (18, 38, 9)"

console_start 120 40 1
wait_screen "the run table" 5 '^ +0 part-000000 +succeeded'

# ---- filter ----
keys F4
wait_screen "F4 asks for a filter, the prompt empty" 5 'filter \(state:failed key~X attempts>2 err~X\): ?$'
keys "state:failed attempts>2" Enter
wait_screen "state:failed AND attempts>2 keeps two" 5 '2 partitions kept'
wait_screen "the first kept row" 5 '^ +18 part-000018 +failed'
wait_screen "the second kept row" 5 '^ +38 part-000038 +failed'
wait_screen_not "nothing else: not the waiting one with 4 attempts" 5 'part-000009|part-000008'
wait_screen "the filter is shown above the table" 5 'filter all and state:failed attempts>2  sort'
keys F4
wait_screen "the prompt starts empty, the filter shown beside it" 5 \
    'filter \(now state:failed attempts>2; empty clears\): ?$'
keys Escape
wait_screen "Esc keeps the filter" 5 '^ +38 part-000038 +failed'
keys F4 "key~-0001 err~RESET" Enter
wait_screen "key~ and err~ (any case)" 5 '10 partitions kept'
wait_screen "a failed partition whose key has 0001" 5 '^ +108 part-000108 +failed'
wait_screen_not "no other state" 5 'part-000109|part-000106'
keys F4 "key:part-000108" Enter
wait_screen "one kept, counted in the singular" 5 '1 partition kept'
keys F4 "bogus:1" Enter
wait_screen "an unknown field is refused, in words" 5 'not changed: unknown field "bogus"'
wait_screen "the old filter stays" 5 '^ +108 part-000108 +failed'
keys F4 Enter
wait_screen "an empty filter clears it" 5 '^ +0 part-000000 +succeeded'

# ---- search ----
keys /
wait_screen "/ asks for a search" 5 'search \(n/N next/previous; empty clears\): ?$'
keys "state:failed" Enter
wait_screen "the first match, with the count" 5 'match: partition #8 \(200 hits\)'
wait_screen "the search is shown with its hits" 5 '/state:failed 200 hits'
wait_screen "matches are flagged (no colour needed)" 5 '^> +8 part-000008 +failed'
wait_screen "a search keeps the other rows" 5 '^ +9 part-000009 +retry_wait'
keys n
wait_screen "n: the next match" 5 'match: partition #18 \(200 hits\)$'
keys N N
wait_screen "N past the first wraps to the last" 5 'match: partition #1998 \(200 hits\) \(search wrapped\)'
wait_screen "the table moved to it" 5 '^> +1998 part-001998 +failed'
keys / Enter
wait_screen "an empty search clears it" 5 'search cleared'
wait_screen_not "no more flags" 5 '^> '

# ---- sort ----
keys g o
wait_screen "o asks which column" 5 'sort by: \[i\]ndex \[k\]ey'
keys k
wait_screen "sorted by key" 5 'sort key  '
keys O
wait_screen "O reverses it" 5 'sort key desc'
wait_screen "the last key first" 5 '^ +1999 part-001999'
wait_screen "the arrow shows the direction" 5 'KEY▼'
keys '>'
wait_screen "> sorts by the next column" 5 'sort state  '
wait_screen "state order: failed first" 5 '^ +8 part-000008 +failed'
# Every column's letter, as the prompt names it.
for kw in "i index" "k key" "s state" "p progress" "r rec/s" "a attempts" "e elapsed" "t eta" \
    "x errors" "m message"; do
    keys o "${kw%% *}"
    wait_screen "o ${kw%% *} sorts by ${kw#* }" 5 "sorted by ${kw#* }, ascending"
done
keys o a o a
wait_screen "the same column again reverses" 5 'sort attempts desc'
wait_screen "most attempts first" 5 '^ +9 part-000009 +retry_wait +.* 4/'
keys q Enter
wait_screen "the run opened again" 5 '^Runs > run 1 fixture'
wait_screen "the sort is remembered" 5 'sort attempts desc'
keys o i

# ---- marks ----
keys F4 "state:failed" Enter
wait_screen "filtered to the failed" 5 '200 partitions kept'
keys '*'
wait_screen "* marks every kept row, all pages" 5 'marked 200 partitions \(200 new\); 200 marked'
keys '~'
wait_screen "~ inverts them" 5 'marks inverted over 200 partitions; 0 marked'
keys g v j j v
wait_screen "v ... v marks a range" 5 'marked 3 partitions of the range \(3 new\); 3 marked'
wait_screen "range rows carry the mark" 5 '^\* +28 part-000028'
keys U
wait_screen "U says how many it cleared" 5 '3 marks cleared'
keys v k v
wait_screen "a range upwards" 5 'marked 2 partitions of the range \(2 new\); 2 marked'
keys r
wait_screen "an action says how many" 5 'Retry 2 marked partitions from their checkpoint\? \[y/N\]'
keys n
wait_screen "cancelled" 5 'cancelled'
wait_screen "the marks outlive a cancelled action" 5 'marked 2'
keys r y
wait_screen "the retry of the marked ones is queued (no runtime)" 5 'retry 2 marked partitions: queued'
wait_screen_not "the marks are spent once it went through" 5 'marked 2'

keys Q
wait_for "the console exits" 5 console_exited
done_testing
