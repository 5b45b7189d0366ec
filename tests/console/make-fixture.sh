#!/bin/sh
# make-fixture.sh DB [N_PARTITIONS] [N_ERRORS] - a synthetic run for console
# tests at scales a real run would take too long to reach (100 000
# partitions, 1 000 000 error records).
#
# The schema is the real one, extracted from runtime/store/store.c
# (store_schema_sql), so the fixture cannot drift from the store. One run
# (job "fixture", params "day=2026-11-23") whose partitions cycle through
# every state; error records cycle through five messages (three signatures
# with numbers masked), the "pwned" ones with a hostile payload (an OSC title
# change and a clear-screen). Nothing drives the run: its heartbeat is old.
set -eu
db=$1
np=${2:-1000}
ne=${3:-100}
# FIXTURE_NOW: the moment the fixture is "now" (default: the real now), so a
# console with the same frozen clock draws the same screen every time.
now=${FIXTURE_NOW:-$(date +%s)}
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^#define NS_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$root/include/nightshift/store.h")
rm -f "$db" "$db-wal" "$db-shm"
mkdir -p "$(dirname "$db")"
{
    awk '/store_schema_sql =/ { on = 1; next }
        on {
            line = $0
            sub(/^[ \t]*"/, "", line)
            end = (line ~ /";[ \t]*$/)
            sub(/";[ \t]*$/, "", line)
            sub(/"[ \t]*$/, "", line)
            sub(/\\n$/, "", line)
            gsub(/\\\\/, "\\", line)
            print line
            if (end) exit
        }' "$root/runtime/store/store.c"
    cat <<SQL
PRAGMA journal_mode=WAL;
PRAGMA user_version=$version;
BEGIN;
INSERT INTO runs(id, job, params, params_json, spec_path, spec_canon, spec_hash, plan_hash,
                 state, concurrency, total, created_at, started_at, updated_at, heartbeat_at,
                 throughput, record_rate, projected_finish, sla_deadline, sla_state, runtime_pid)
VALUES (1, 'fixture', 'day=2026-11-23' || char(10), '{"day":"2026-11-23"}', '/dev/null', '',
        'x', 'y', 'running', 8, $np, $now - 600, $now - 600, $now,
        $now - 3600, 12.5, 1250, $now + 900, $now + 1800, 'ok', 1);
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $np - 1)
INSERT INTO partitions(run_id, idx, key, params_json, state, attempts, attempts_total,
                       max_attempts, progress, total, last_message, last_signature,
                       started_at, finished_at, updated_at, error_records)
SELECT 1, i, 'part-' || printf('%06d', i), '{"n":' || i || '}',
       CASE i % 10 WHEN 6 THEN 'running' WHEN 7 THEN 'pending' WHEN 8 THEN 'failed'
                   WHEN 9 THEN 'retry_wait' ELSE 'succeeded' END,
       1, 1, 3, CASE i % 10 WHEN 7 THEN 0 WHEN 6 THEN 40 ELSE 100 END, 100,
       CASE i % 10 WHEN 8 THEN 'exit 2 after 3.2s: connection reset by peer after ' || i || ' ms'
                   WHEN 9 THEN 'exit 75 after 1.0s: upstream answered 503'
                   ELSE 'ok ' || i END,
       CASE i % 10 WHEN 8 THEN 'exit 2: connection reset by peer after <n> ms'
                   WHEN 9 THEN 'exit 75: upstream answered <n>' END,
       $now - 100, CASE WHEN i % 10 < 6 OR i % 10 = 8 THEN $now - 50 END,
       $now, 0
FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $ne)
INSERT INTO error_records(id, run_id, idx, attempt_id, at, key, message, signature, payload)
SELECT i, 1, i % $np, 1, $now - 60,
       'rec-' || i,
       CASE i % 5 WHEN 0 THEN 'bad date ' || i WHEN 1 THEN 'bad date ' || (i * 7)
                  WHEN 2 THEN 'missing field user_id at line ' || i
                  WHEN 3 THEN 'title has control bytes ' || char(27) || ']0;pwned' || char(7)
                  ELSE 'missing field user_id at line ' || (i + 1) END,
       CASE i % 5 WHEN 0 THEN 'bad date <n>' WHEN 1 THEN 'bad date <n>'
                  WHEN 3 THEN 'title has control bytes \\x1b]<n>;pwned\\x07'
                  ELSE 'missing field user_id at line <n>' END,
       CASE WHEN i % 5 = 3 THEN x'7b2274223a221b5d303b70776e6564071b5b324a227d'
            ELSE CAST('{"line":' || i || '}' AS BLOB) END
FROM c;
UPDATE runs SET
  n_succeeded = (SELECT count(*) FROM partitions WHERE state = 'succeeded'),
  n_running = (SELECT count(*) FROM partitions WHERE state = 'running'),
  n_pending = (SELECT count(*) FROM partitions WHERE state = 'pending'),
  n_paused = (SELECT count(*) FROM partitions WHERE state = 'paused'),
  n_failed = (SELECT count(*) FROM partitions WHERE state = 'failed'),
  n_retry_wait = (SELECT count(*) FROM partitions WHERE state = 'retry_wait'),
  error_records = $ne, records_done = $np * 80, records_total = $np * 100;
-- The running counts by signature, as the store's migration to version 8
-- backfills them (the runtime keeps them as it writes records).
INSERT INTO error_signature_parts(run_id, idx, signature, records)
SELECT run_id, idx, signature, count(*) FROM error_records GROUP BY run_id, idx, signature;
INSERT INTO error_signatures(run_id, signature, records, partitions)
SELECT run_id, signature, sum(records), count(*) FROM error_signature_parts GROUP BY run_id, signature;
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 59)
INSERT INTO samples(run_id, at, done, records, failed, running)
SELECT 1, $now - 300 + i * 5, i * (10 + i % 7), i * 1000, i, 2 + i % 7 FROM c;
COMMIT;
SQL
} | sqlite3 -bail -batch "$db" >/dev/null
