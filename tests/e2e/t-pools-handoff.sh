#!/bin/sh
# Shared pools (issue 19): a freed slot goes on to the next attempt at once,
# with short partitions and many runtimes. Six runs of twelve partitions of
# `sleep 0.05` in one database share a pool of 4: while work waits, the
# pool's slots are held by a live attempt ≥ 85 % of the time on average
# (from the attempts' start and end times), never more than 4 at once.
# Without the quick hand-over (a runtime that freed slots wakes only the
# waiter they serve; a pool run does not keep the write lock for the group
# delay while another runtime waits in line for it) this was ~68 %.
. "$(dirname "$0")/lib.sh"

R=6 P=12
i=1
while [ "$i" -le "$R" ]; do
    cat >"$T/r$i.yaml" <<EOS
name: r$i
command: ["sleep", "0.05"]
partitions: {range: {start: 1, end: $P}}
concurrency: 4
pools: {short: {slots: 4}}
uses: {short: 1}
EOS
    i=$((i + 1))
done
ns pool set short 4 >/dev/null # the database exists before the runtimes race to make it
i=1
while [ "$i" -le "$R" ]; do
    ns run --quiet "$T/r$i.yaml" >"$T/r$i.out" 2>&1 &
    i=$((i + 1))
done
wait
is "every run succeeded" "$(sql "SELECT count(*) FROM runs WHERE state = 'succeeded'")" "$R"
is "every partition ran once" "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'succeeded'")" \
    $((R * P))

# From the first start to the last one some run has a partition that may
# start whenever fewer than 4 are live: the mean share of the 4 slots held.
sql "SELECT started_at, 1 FROM attempts UNION ALL SELECT ended_at, -1 FROM attempts" |
    sort -t'|' -k1,1n -k2,2n >"$T/events"
first=$(sql "SELECT min(started_at) FROM attempts")
last=$(sql "SELECT max(started_at) FROM attempts")
awk -F'|' -v first="$first" -v last="$last" '
    $1 > last { exit }
    { if ($1 > prev && prev >= first) area += (live < 4 ? live : 4) * ($1 - prev)
      prev = $1; live += $2; if (live > most) most = live }
    END { printf "%d %d\n", 100 * area / (4 * (last - first)), most }' prev="$first" "$T/events" \
    >"$T/used"
read -r used most <"$T/used"
diag "$R runs x $P partitions of sleep 0.05 on a pool of 4: slots held ${used} % of the time work waited"
is "never more than 4 attempts live at once" "$most" 4
check "the pool's slots are held >= 85 % of the time while work waits" test "$used" -ge 85
done_testing
