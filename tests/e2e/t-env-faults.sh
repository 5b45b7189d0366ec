#!/bin/sh
# The runtime's own file-descriptor limit is never charged to the
# partitions (issue 18, item 3):
#   1. with a soft limit of 64 and a higher hard one, the runtime raises the
#      soft limit at start: 200 workers at once, no fault at all;
#   2. with 64 as the hard limit too, a spec at concurrency 200 runs all its
#      partitions, no attempt charged (each partition succeeded on its one
#      allowed attempt), the run says once why it holds dispatch, and the
#      attempts that could not start are recorded as not charged.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/specs"
cat >"$T/specs/wide.yaml" <<'EOS'
name: wide
command: [sleep, "0.3"]
partitions: {range: {start: 1, end: 300, size: 1}}
concurrency: 200
retry: {attempts: 1}
EOS
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -le 1024 ]; then
    skip_all "the hard limit on open files is $hard here: no room to test raising it"
fi

(ulimit -Sn 64 && exec "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$T/specs/wide.yaml") >"$T/raised.out" 2>&1
is "with soft limit 64, the run exits 0" "$?" 0
is "all 300 succeeded on their one attempt" "$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded' AND attempts_total = 1")" 300
is "no environment fault: the soft limit was raised" "$(sql "SELECT count(*) FROM events WHERE kind = 'environment'")" 0
check "200 ran at once" test "$(sql "SELECT max(n) FROM (SELECT count(*) AS n FROM attempts a JOIN attempts b ON b.started_at <= a.started_at AND b.ended_at > a.started_at GROUP BY a.id)")" -ge 150

DB2=$T/db2/nightshift.db
mkdir -p "$T/db2"
(ulimit -n 64 && exec "$NIGHTSHIFT" run --db "$DB2" "$T/specs/wide.yaml") >"$T/capped.out" 2>&1
is "with a hard limit of 64, the run still exits 0" "$?" 0
s2() { sqlite3 -bail -batch -cmd '.timeout 5000' "$DB2" "$@"; }
is "all 300 partitions succeeded" "$(s2 "SELECT count(*) FROM partitions WHERE state = 'succeeded'")" 300
is "none was charged: each succeeded within its one-attempt budget" "$(s2 "SELECT count(*) FROM partitions WHERE attempts > 1 OR state <> 'succeeded'")" 0
like "the run said once why it holds dispatch" "$(s2 "SELECT group_concat(message, '|') FROM events WHERE kind = 'environment'")" \
    "^run 1: cannot create pipes: Too many open files with [0-9]+ workers running \\(concurrency 200\\): the runtime's own limit"
is "once" "$(s2 "SELECT count(*) FROM events WHERE kind = 'environment'")" 1
check "attempts that could not start are recorded as not charged" \
    test "$(s2 "SELECT count(*) FROM attempts WHERE outcome = 'interrupted' AND message LIKE 'not started: %not charged)'")" -ge 1
is "no attempt failed" "$(s2 "SELECT count(*) FROM attempts WHERE outcome = 'failed'")" 0
done_testing
