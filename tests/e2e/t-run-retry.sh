#!/bin/sh
# A key-list run: every partition succeeds, one key after two retries with
# growing backoff; a rerun resumes (nothing to do), --rerun starts afresh, and
# a non-retryable exit code fails a partition at once (exit status 1).
. "$(dirname "$0")/lib.sh"

ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 >"$T/run.out" 2>&1
is "run exits 0" "$?" 0
is "run 1 succeeded" "$(sql "SELECT state FROM runs WHERE id = 1")" succeeded
is "8 partitions succeeded" "$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded'")" 8
is "counters on the run row" "$(sql "SELECT n_succeeded, n_failed, n_pending, n_running FROM runs WHERE id = 1")" "8|0|0|0"
is "eu-west took 3 attempts" "$(sql "SELECT attempts_total FROM partitions WHERE key = 'eu-west'")" 3
is "its outcomes" "$(sql "SELECT group_concat(outcome || ':' || exit_code, ',') FROM (SELECT a.outcome, a.exit_code FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = 'eu-west' ORDER BY a.n)")" "failed:75,failed:75,succeeded:0"
is "the others took one attempt" "$(sql "SELECT count(*) FROM partitions WHERE key <> 'eu-west' AND attempts_total = 1")" 7
is "no attempt is left live" "$(sql "SELECT count(*) FROM attempts WHERE outcome IS NULL")" 0
# Backoff 200ms then 400ms, jitter 10%: the gaps grow and respect the floor.
gaps=$(sql "SELECT round((b.started_at - a.ended_at) * 1000) FROM attempts a JOIN attempts b ON b.run_id = a.run_id AND b.idx = a.idx AND b.n = a.n + 1 JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx WHERE p.key = 'eu-west' ORDER BY a.n")
g1=$(echo "$gaps" | sed -n 1p | cut -d. -f1) g2=$(echo "$gaps" | sed -n 2p | cut -d. -f1)
check "first retry waited >= 180 ms (got $g1)" test "$g1" -ge 180
check "second retry waited >= 360 ms (got $g2)" test "$g2" -ge 360
check "the second wait is longer" test "$g2" -gt "$g1"
is "events record both retries" "$(sql "SELECT count(*) FROM events WHERE kind = 'attempt_end' AND message LIKE '%eu-west%' AND (message LIKE '%retry 2/3 in%' OR message LIKE '%retry 3/3 in%')")" 2

ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 >"$T/again.out" 2>&1
is "running it again exits 0" "$?" 0
like "and says there is nothing to do" "$(cat "$T/again.out")" "already succeeded"
is "no new run was made" "$(sql "SELECT count(*) FROM runs")" 1

ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 --rerun >"$T/rerun.out" 2>&1
is "--rerun exits 0" "$?" 0
is "--rerun made run 2" "$(sql "SELECT count(*) FROM runs WHERE job = 'flaky-keys'")" 2

ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 -p broken=ap-south >"$T/broken.out" 2>&1
is "a run with a failed partition exits 1" "$?" 1
is "ap-south failed after one attempt (on_exit 2: fail)" "$(sql "SELECT state, attempts_total FROM partitions WHERE run_id = 3 AND key = 'ap-south'")" "failed|1"
is "run 3 failed" "$(sql "SELECT state, n_failed FROM runs WHERE id = 3")" "failed|1"
like "status names the failed partition" "$(ns status 3)" "ap-south.*exit 2"
# --retry-failed: running the same command again gives failed partitions a
# fresh budget (here ap-south fails again, on its second attempt).
ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 -p broken=ap-south --retry-failed >"$T/again3.out" 2>&1
is "--retry-failed resumes run 3 and exits 1 again" "$?" 1
is "ap-south was attempted once more, nothing else ran" "$(sql "SELECT group_concat(p.key || ':' || p.attempts_total) FROM partitions p WHERE p.run_id = 3 AND p.attempts_total > 1 AND p.key <> 'eu-west'")" "ap-south:2"
is "still one run for these parameters" "$(sql "SELECT count(*) FROM runs WHERE params LIKE '%broken=ap-south%'")" 1
json=$(ns status 3 --json)
is "status --json is valid JSON with the counts" "$(sql "SELECT json_extract('$(echo "$json" | sed "s/'/''/g")', '\$.failed') || '/' || json_extract('$(echo "$json" | sed "s/'/''/g")', '\$.succeeded')")" "1/7"
done_testing
