#!/bin/sh
# t-night.sh - the console's night view (N from the runs list, issue 20):
# every run since 18:00 yesterday with its state, ETA and what it waits on -
# here a dependant that waits for its upstream's failed day (after:) - the
# shared pools, and one projected finish for the set against the latest
# deadline. Enter opens a run; N chooses another period.
. "$(dirname "$0")/lib.sh"

job() { # job NAME KEYS EXTRA: a spec whose partition fails while $T/fail-NAME-KEY exists
    cat >"$T/$1.yaml" <<EOS
name: $1
command: [sh, -c, 'if [ -e "\$1/fail-\$0-\$2" ]; then exit 1; fi', $1, "$T", "{key}"]
partitions: {list: [$2]}
retry: {attempts: 1}
$3
EOS
}
job extract "d1, d2" "sla: {max_duration: 1h}"
job load "d1, d2"
job report "d1, d2" "after: [{job: load, partitions: same-key}]"
ns run "$T/extract.yaml" >/dev/null 2>&1
is "run 1 (extract) succeeds" "$?" 0
: >"$T/fail-load-d2"
ns run "$T/load.yaml" >/dev/null 2>&1
is "run 2 (load) fails on d2" "$?" 1
ns pool set wh 2 >/dev/null
spawn report "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/report.yaml"
wait_for "run 3 (report) ran d1 and waits for load's d2" 15 \
    sql_is "SELECT n_succeeded || ' ' || n_pending FROM runs WHERE id = 3" "1 1" || bail_out "no waiting report run"

console_start 160 30
keys N
wait_screen "N opens the night view from the runs list" 5 '^Runs > night'
wait_screen "since 18:00 yesterday: three runs by outcome" 5 \
    'The night since yesterday 18:00 \([0-9:]+\): 3 runs: 1 succeeded, 1 failed, 1 unfinished'
wait_screen "each run's state" 5 '^ +1 +extract +succeeded +2/2 .* met +- *$'
wait_screen "the failed one" 5 '^ +2 +load +failed +2/2 '
wait_screen "what waits for what: run 3 after run 2, for load's failed d2" 5 \
    '^ +3 +report +running +1/2 .* 2 +waiting for load d2 \(failed, attempt 1/1\)'
wait_screen "one finish for the set, along what waits for what: run 3 cannot end while run 2 failed" 5 \
    '^finish: not known: run 3 waits for run 2 \(failed\); latest deadline [0-9:]+ \(run 1\)$'
wait_screen "the pools" 5 'pool wh: 0/2 slots used, 0 runs holding, 0 waiting'
keys Enter
wait_screen "Enter opens the run under the cursor (the newest)" 5 '^Runs > night > run 3 report'
keys Escape
wait_screen "back in the night view" 5 '^Runs > night$|^Runs > night '
# At 80 columns the period and the finish wrap at spaces, whole, and the
# table moves down under them.
tmx resize-window -t c -x 80 -y 24
wait_screen "80x24: the period's line ends at a space" 5 '^The night since yesterday 18:00 \([0-9:]+\): 3 runs: 1 succeeded, 1 failed, 1$'
wait_screen "80x24: and goes on below, whole" 5 '^unfinished$'
wait_screen "80x24: the finish, whole, over two lines" 5 '^finish: not known: run 3 waits for run 2 \(failed\); latest deadline [0-9:]+ \(run$'
wait_screen "80x24: the table below them" 5 '^ +1 +extract +succeeded +2/2'
tmx resize-window -t c -x 160 -y 30
keys N C-u 'today 23:59:59' Enter
wait_screen "N chooses another period: none ran since tonight's 23:59:59" 5 \
    'The night since today 23:59:59 \([0-9:]+\): 0 runs'
wait_screen "and says so" 5 'no run in this period \(N chooses another\)'
keys N C-u 'soon' Enter
wait_screen "a period that is no time is refused" 5 'not a time: 18:00, yesterday 18:00, 24h'
keys Q
wait_for "the console exits" 5 console_exited && ok "the console exits"
ns stop 3 >/dev/null 2>&1
done_testing
