#!/bin/sh
# t-narrow.sh - 80x24 stays usable (issue 21): the SLA state and the
# deadline are never cut (the sparkline shrinks, finish and rates give way
# whole; the running count's sparkline shrinks); a question and a refusal are shown in full, wrapped at spaces
# over the rows above the key bar, not cut mid-word.
. "$(dirname "$0")/lib.sh"

"$FIXTURE" "$NIGHTSHIFT_DB" 300 50 || bail_out "fixture"
sql "UPDATE runs SET sla_state = 'at_risk' WHERE id = 1"
deadline=$(TZ=UTC date -d "@$(sql "SELECT CAST(sla_deadline AS INTEGER) FROM runs WHERE id = 1")" +%H:%M:%S)

CONSOLE_ENV="TZ=UTC"
console_start 64 24 1
wait_screen "the run at 64 columns" 5 '^Runs > run 1'
wait_screen "deadline and SLA state whole, at the line's end" 5 "ETA - +deadline $deadline at_risk\$"
tmx kill-server

console_start 80 24 1
wait_screen "the run at 80x24" 5 "deadline $deadline at_risk\$"
# The running-count sparkline fits beside the running count: the words go
# brief for it, nothing after it is cut.
wait_screen "the running count's sparkline at 80 columns" 5 \
    '^pend 60 run 0 [▁▂▃▄▅▆▇█]{4,} max 8 wait 30 paused 0 ok 180 fail 30 skip 0 conc 8 *$'

# A refusal that names the command to type: whole, on as many rows as it takes.
want=$("$NIGHTSHIFT" pause --db "$NIGHTSHIFT_DB" 1 2>&1 | sed -n 's/.*(start it with `\(.*\)`).*/\1/p')
[ -n "$want" ] || bail_out "pause without a runtime printed no command"
keys p
wait_screen "pause is refused" 5 'refused: no runtime'
# The rows between the table and the key bar, joined by spaces: wrapping
# only ever happens at a space, so the command comes back exactly.
joined=$(screen | sed -n '2,23p' | sed -n '/pause run 1: refused/,$p' | tr '\n' ' ' | sed 's/  */ /g')
case $joined in
*"(start it with \`$want\`)"*) ok "the refusal's command is shown in full" ;;
*) fail "the refusal's command is cut: $joined" ;;
esac
rows=$(screen | sed -n '/pause run 1: refused/,$p' | wc -l)
check "it took more than one row (wrapped, not cut)" [ "$rows" -gt 2 ]

# A question longer than the screen: the failure group's retry.
keys F
wait_screen "failure groups" 5 'failed partitions by signature'
keys r
wait_screen "the question ends in full" 5 'from their checkpoint\? \[y/N\] ?$'
q=$(screen | sed -n '/^Retry /,$p' | sed '$d' | tr '\n' ' ' | sed 's/  */ /g; s/ $//')
like "the whole question, wrapped at spaces" "$q" '^Retry [0-9]+ partitions of group ".*" from their checkpoint\? \[y/N\]$'
keys n
wait_screen "cancelled" 5 'cancelled'
keys Q
wait_for "the console exits" 5 console_exited
done_testing
