#!/bin/sh
# An old database (schema version 1) opens and is upgraded: a run killed
# mid-flight under version 1 is resumed by today's runtime, which migrates
# the store (user_version 3: the executor columns, then the rework columns), finds the old attempts
# by their pid and start time, and finishes the run with every partition
# succeeded exactly once. The migrated schema equals a fresh one.
. "$(dirname "$0")/lib.sh"

P="-p from=2026-11-01 -p to=2026-11-06 -p pace=0.15 -p data=$T/data -p out=$T/out"
# shellcheck disable=SC2086
spawn runtime "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$CONFIGS/backfill.yaml" $P
rt=$SPAWNED
wait_for "2 partitions done, one running with a checkpoint" 60 sh -c \
    "test \"\$(sqlite3 '$NIGHTSHIFT_DB' \"SELECT (SELECT count(*) FROM partitions WHERE state = 'succeeded') >= 2 AND (SELECT count(*) FROM partitions WHERE state = 'running' AND checkpoint IS NOT NULL) >= 1\" 2>/dev/null)\" = 1"
live=$(sql "SELECT pid FROM attempts WHERE outcome IS NULL")
kill -9 "$rt"
check "runtime killed" sh -c "while kill -0 $rt 2>/dev/null; do sleep 0.05; done"
check "attempts were live when it died" test -n "$live"

# Rebuild the same data under the version-1 schema (tests/fixtures keeps it):
# every column version 1 had, nothing else.
old=$T/old.db
sqlite3 -bail "$old" <"$ROOT/tests/fixtures/schema-v1.sql" || bail_out "v1 schema"
for t in runs partitions attempts error_records events commands samples; do
    cols=$(sqlite3 "$old" "SELECT group_concat(name, ', ') FROM pragma_table_info('$t')")
    sqlite3 -bail "$old" "ATTACH '$NIGHTSHIFT_DB' AS cur; INSERT INTO main.$t($cols) SELECT $cols FROM cur.$t;" ||
        bail_out "copy $t"
done
sqlite3 "$old" "PRAGMA user_version = 1; PRAGMA journal_mode = WAL;" >/dev/null
rm -f "$NIGHTSHIFT_DB" "$NIGHTSHIFT_DB-wal" "$NIGHTSHIFT_DB-shm"
mv "$old" "$NIGHTSHIFT_DB"
chmod 600 "$NIGHTSHIFT_DB"
is "the database is version 1 now" "$(sql "PRAGMA user_version")" 1
is "version 1 has no executor column" "$(sql "SELECT count(*) FROM pragma_table_info('attempts') WHERE name = 'executor'")" 0

out=$(ns status 1 2>&1)
like "a reader says what to do with an old database" "$out" "schema version 1.*a run with it migrates it"

# A runtime killed inside the migration (crash point before its second
# step, docs/cli.md) leaves version 1: the migration is one transaction.
# shellcheck disable=SC2086
env NIGHTSHIFT_CRASHPOINT=migrate.before:2 "$NIGHTSHIFT" run --db "$NIGHTSHIFT_DB" "$CONFIGS/backfill.yaml" $P >"$T/crash.out" 2>&1
is "a runtime killed inside the migration (exit 137)" "$?" 137
is "the migration was all or nothing: still version 1" "$(sql "PRAGMA user_version")" 1
is "integrity_check after the crash" "$(sql "PRAGMA integrity_check")" ok

# shellcheck disable=SC2086
ns run "$CONFIGS/backfill.yaml" $P >"$T/rerun.out" 2>&1
is "the rerun exits 0" "$?" 0
is "the store is migrated to the current version" "$(sql "PRAGMA user_version")" "$(sed -n 's/^#define NS_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$ROOT/include/nightshift/store.h")"
is "it resumed run 1 (no new run)" "$(sql "SELECT count(*) FROM runs")" 1
is "every partition succeeded" "$(sql "SELECT count(*) FROM partitions WHERE state = 'succeeded'")" 6
is "each exactly once" "$(sql "SELECT count(*) FROM (SELECT idx FROM attempts WHERE outcome = 'succeeded' GROUP BY idx HAVING count(*) = 1)")" 6
is "old attempts got a local locator from their pid" \
    "$(sql "SELECT count(*) FROM attempts WHERE pid IS NOT NULL AND (executor <> 'local' OR locator <> printf('pid=%d start=%d', pid, pid_start) OR label <> 'pid ' || pid)")" 0
check "the interrupted attempts are recorded as interrupted" test "$(sql "SELECT count(*) FROM attempts WHERE outcome = 'interrupted'")" -ge 1
like "the reconcile event names the attempt by its number" \
    "$(sql "SELECT message FROM events WHERE kind = 'reconcile' AND message LIKE 'partition%' LIMIT 1")" \
    "attempt [12] runtime died"
is "the run says where it executes" "$(sql "SELECT executor FROM runs WHERE id = 1")" local
# The counts by signature (version 8) were backfilled from the old records
# (the partitions done before the kill never write again) and kept since.
check "the run has error records" test "$(sql "SELECT count(*) FROM error_records")" -gt 0
is "counts by signature = the records grouped" \
    "$(sql "SELECT group_concat(s || ':' || n || ':' || p, ',') FROM (SELECT signature AS s, records AS n, partitions AS p FROM error_signatures WHERE records > 0 ORDER BY 1)")" \
    "$(sql "SELECT group_concat(s || ':' || n || ':' || p, ',') FROM (SELECT signature AS s, count(*) AS n, count(DISTINCT idx) AS p FROM error_records GROUP BY 1 ORDER BY 1)")"
is "counts by partition and signature = the records grouped" \
    "$(sql "SELECT group_concat(idx || s || ':' || n, ',') FROM (SELECT idx, signature AS s, records AS n FROM error_signature_parts ORDER BY 1, 2)")" \
    "$(sql "SELECT group_concat(idx || s || ':' || n, ',') FROM (SELECT idx, signature AS s, count(*) AS n FROM error_records GROUP BY 1, 2 ORDER BY 1, 2)")"
for pid in $live; do
    check "leftover worker $pid is gone" sh -c "! kill -0 $pid 2>/dev/null || ! grep -q NIGHTSHIFT_RUN_TOKEN /proc/$pid/environ 2>/dev/null"
done

# The migrated schema and a fresh one have the same columns, in order.
fresh_db=$T/fresh.db
NIGHTSHIFT_DB=$fresh_db ns run "$CONFIGS/flaky-keys.yaml" -p pace=0 >/dev/null 2>&1
schema_of() {
    for t in runs partitions attempts error_records error_signatures error_signature_parts \
        events commands samples; do
        sqlite3 "$1" "SELECT '$t', name, type, \"notnull\", coalesce(dflt_value, ''), pk FROM pragma_table_info('$t')"
    done
}
is "migrated schema = fresh schema" "$(schema_of "$NIGHTSHIFT_DB")" "$(schema_of "$fresh_db")"
is "integrity" "$(sql "PRAGMA integrity_check")" ok
done_testing
