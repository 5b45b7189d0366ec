#!/bin/sh
# report-fixture.sh DB [N_PARTITIONS] [N_ERRORS] - a finished run for the
# report benchmarks (summary, summary --format html, compare) at sizes a real
# run would take too long to reach on a shared machine (200 000 partitions).
#
# Built on tests/console/make-fixture.sh (the real schema), then made a night
# that ended: every tenth partition failed after two attempts, every tenth
# other one succeeded on its retry after a backoff, the rest succeeded first
# time; attempts packed on 8 worker slots (every seventh partition's first
# attempt queued 2 s on the executor first, as on Slurm); samples every 10 s;
# two operator commands. A second run of the same job (run 2, an earlier night that
# succeeded, each partition 0.7 of the time) gives `compare` its baseline.
set -eu
db=$1
np=${2:-200000}
ne=${3:-1000}
now=${FIXTURE_NOW:-$(date +%s)}
root=$(cd "$(dirname "$0")/../.." && pwd)
FIXTURE_NOW=$now sh "$root/tests/console/make-fixture.sh" "$db" "$np" "$ne"
# Partition i runs on slot i % 8, one after another on its slot; its first
# attempt takes d(i) seconds, d between 0.5 and 2.5.
t0=$((now - 100000))
sqlite3 -bail -batch "$db" >/dev/null <<SQL
BEGIN;
CREATE TEMP TABLE d AS
  SELECT idx, 0.5 + ((idx * 7919) % 200) / 100.0 AS d,
         CASE idx % 10 WHEN 8 THEN 'failed' WHEN 9 THEN 'retried' ELSE 'ok' END AS kind
  FROM partitions WHERE run_id = 1;
CREATE TEMP TABLE s AS
  SELECT idx, d, kind, $t0 + sum(d * CASE kind WHEN 'ok' THEN 1 ELSE 2 END + 0.05)
         OVER (PARTITION BY idx % 8 ORDER BY idx ROWS UNBOUNDED PRECEDING) - d
         * CASE kind WHEN 'ok' THEN 1 ELSE 2 END AS st
  FROM d;
CREATE INDEX s_idx ON s(idx);
INSERT INTO attempts(run_id, idx, n, started_at, ended_at, outcome, exit_code, duration, message)
  SELECT 1, idx, 1, st - CASE idx % 7 WHEN 3 THEN 2 ELSE 0 END, st + d, CASE kind WHEN 'ok' THEN 'succeeded' ELSE 'failed' END,
         CASE kind WHEN 'ok' THEN 0 ELSE 2 END, d,
         CASE kind WHEN 'ok' THEN NULL ELSE 'exit 2: connection reset by peer' END FROM s;
INSERT INTO attempts(run_id, idx, n, started_at, ended_at, outcome, exit_code, duration, message)
  SELECT 1, idx, 2, st + d + 0.4, st + 2 * d, CASE kind WHEN 'failed' THEN 'failed'
         ELSE 'succeeded' END, CASE kind WHEN 'failed' THEN 2 ELSE 0 END, d - 0.4,
         CASE kind WHEN 'failed' THEN 'exit 2: connection reset by peer' END
  FROM s WHERE kind <> 'ok';
UPDATE partitions SET state = CASE idx % 10 WHEN 8 THEN 'failed' ELSE 'succeeded' END,
  attempts = CASE idx % 10 WHEN 8 THEN 2 WHEN 9 THEN 2 ELSE 1 END,
  attempts_total = CASE idx % 10 WHEN 8 THEN 2 WHEN 9 THEN 2 ELSE 1 END, progress = 100,
  started_at = (SELECT st FROM s WHERE s.idx = partitions.idx),
  finished_at = (SELECT max(ended_at) FROM attempts a WHERE a.run_id = 1 AND a.idx = partitions.idx)
  WHERE run_id = 1;
UPDATE runs SET state = 'failed', state_reason = 'some partitions failed', started_at = $t0, created_at = $t0,
  finished_at = (SELECT max(ended_at) FROM attempts WHERE run_id = 1), heartbeat_at = NULL,
  runtime_pid = NULL, sla_state = NULL, sla_deadline = NULL, n_running = 0, n_pending = 0,
  n_retry_wait = 0, n_paused = 0,
  n_succeeded = (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'succeeded'),
  n_failed = (SELECT count(*) FROM partitions WHERE run_id = 1 AND state = 'failed'),
  records_done = $np * 100 WHERE id = 1;
DELETE FROM samples WHERE run_id = 1;
INSERT INTO samples(run_id, at, done, records, failed)
  SELECT 1, $t0 + b * 10, sum(n) OVER (ORDER BY b), 100 * sum(n) OVER (ORDER BY b), 0
  FROM (SELECT CAST((ended_at - $t0) / 10 AS INTEGER) + 1 AS b, count(*) AS n FROM attempts
        WHERE run_id = 1 GROUP BY b);
INSERT INTO commands(run_id, issued_at, user, uid, source, verb, args, state, result, applied_at)
  VALUES (1, $t0 + 600, 'alice', 1000, 'console', 'pause', '{}', 'applied', 'paused', $t0 + 600.1),
         (1, $t0 + 900, 'alice', 1000, 'cli', 'set', '{"concurrency":8}', 'applied',
          'concurrency 8', $t0 + 900.1);
INSERT INTO runs(id, job, params, params_json, spec_path, spec_canon, spec_hash, plan_hash, state,
                 concurrency, total, n_succeeded, created_at, started_at, finished_at, updated_at)
  SELECT 2, job, params, params_json, spec_path, spec_canon, spec_hash, plan_hash, 'succeeded',
         concurrency, total, total, $t0 - 200000, $t0 - 200000, $t0 - 150000, $t0 - 150000
  FROM runs WHERE id = 1;
INSERT INTO partitions(run_id, idx, key, params_json, state, attempts, attempts_total, max_attempts)
  SELECT 2, idx, key, params_json, 'succeeded', 1, 1, 3 FROM partitions WHERE run_id = 1;
INSERT INTO attempts(run_id, idx, n, started_at, ended_at, outcome, exit_code, duration)
  SELECT 2, idx, 1, $t0 - 200000 + started_at - $t0, $t0 - 200000 + started_at - $t0 + d * 0.7,
         'succeeded', 0, d * 0.7 FROM (SELECT idx, d, st AS started_at FROM s);
COMMIT;
SQL
