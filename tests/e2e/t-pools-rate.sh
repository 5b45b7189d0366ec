#!/bin/sh
# A pool's start rate (issue 19): `pool set api 100 --rate 10/s`, then two
# runs of 20 partitions of `true` each (concurrency 8) share it: the 40
# starts are spread over about 4 s, and no window of 1 s holds more than 10
# of them across the two runs (attempts' start times, as the runtimes
# recorded them). Without the rate the same runs take a fraction of that.
. "$(dirname "$0")/lib.sh"

for j in first second; do
    cat >"$T/$j.yaml" <<EOS
name: $j
command: ["true"]
partitions: {range: {start: 1, end: 20}}
concurrency: 8
pools: {api: {slots: 100}}
uses: {api: 1}
EOS
done

ns pool set api 100 --rate 10/s >"$T/set.out"
is "pool set --rate says the change" "$(cat "$T/set.out")" "api: made with 100 slots, start rate none -> 10/s"
like "pool lists the rate" "$(ns pool | grep '^api')" "^api +0 +100 +0 +0 +10/s +operator"

t0=$(now_ms)
ns run "$T/first.yaml" >"$T/first.out" 2>&1 &
first=$!
ns run "$T/second.yaml" >"$T/second.out" 2>&1
is "the second run succeeded" "$?" 0
wait "$first"
is "the first run succeeded" "$?" 0
wall=$(($(now_ms) - t0))
is "40 attempts started" "$(sql "SELECT count(*) FROM attempts")" 40
is "both runs took part" "$(sql "SELECT count(DISTINCT run_id) FROM attempts")" 2

# The most starts in any window [t, t + 1 s) that begins at a start.
most=$(sql "SELECT started_at FROM attempts ORDER BY started_at" | awk '
    { t[NR] = $1 }
    END {
        j = 1
        for (i = 1; i <= NR; i++) {
            while (j <= NR && t[j] < t[i] + 1.0) j++
            if (j - i > m) m = j - i
        }
        print m
    }')
span=$(sql "SELECT printf('%.2f', max(started_at) - min(started_at)) FROM attempts")
diag "40 starts at 10/s across two runs: the busiest second held $most, first to last start ${span} s, wall ${wall} ms"
is "never more than 10 starts in any 1 s window" "$most" 10
check "the starts are spread over about 4 s (3.8 s at least)" awk -v s="$span" 'BEGIN { exit !(s >= 3.8) }'
check "and not much longer (under 8 s in all)" test "$wall" -lt 8000

# Lifting the rate: the same work is not spaced any more.
ns pool set api 100 --rate none >/dev/null
t0=$(now_ms)
ns run "$T/first.yaml" --rerun >"$T/again.out" 2>&1
is "a run after --rate none succeeded" "$?" 0
fast=$(($(now_ms) - t0))
diag "20 starts without the rate: ${fast} ms"
check "without the rate, 20 starts take well under 2 s" test "$fast" -lt 1900
done_testing
