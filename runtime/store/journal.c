/*
 * journal.c - the one place the runtime writes job state.
 *
 * Writes join a transaction begun on demand (BEGIN IMMEDIATE) and the poll
 * loop commits once per turn, before it blocks: so everything observed in
 * one turn (a finished attempt, its error records, its partition's new state
 * and the run's counters) becomes durable together or not at all. Crash
 * points, metrics and events hang off this file.
 *
 * Another process holding the write lock (the sqlite3 shell, a backup) must
 * not stop the loop: deadlines, signals and pipes are served meanwhile. So
 * when BEGIN IMMEDIATE finds the database locked, the journal *waits*: each
 * write is bound as usual (true timestamps) and kept as its expanded SQL;
 * the loop's journal_try_commit() retries the lock each turn and, once it
 * has it, replays the queue in order and commits it, with an event saying
 * how long the wait was. What needs a row id now cannot wait (the loop
 * dispatches nothing and applies no command while waiting); an error
 * record's id is provisional (negative) until replayed, and the statements
 * that take such an id translate it through temp.ns_errmap. The queue is
 * bounded (QUEUE_MAX_BYTES); past it, the journal blocks as before.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-internal.h"
#include "nightshift/journal.h"
#include "nightshift/check.h"
#include "rowbatch.h"
#include "rowqueue.h"
#include "sigcount.h"
#include "nightshift/util.h"

/* An error-record id parameter: a provisional id (< 0, given while waiting
 * for the lock) becomes the real one it was replayed as. */
#define ERR_ID(n) "coalesce((SELECT real FROM temp.ns_errmap WHERE prov = ?" #n "), ?" #n ")"
#define QUEUE_MAX_BYTES (64u << 20)
#define WAIT_WORTH_AN_EVENT_S 1.0 /* a shorter wait for the write lock goes unrecorded */

#define JOURNAL_STATEMENTS(X)                                                                      \
    X(EVENT, "INSERT INTO events(run_id, idx, attempt_id, at, kind, message, from_state, "         \
             "to_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                  \
    X(PARTITION, "UPDATE partitions SET state = ?3, attempts = ?4, attempts_total = ?5, "          \
                 "progress = ?6, total = ?7, error_records = ?8, last_message = ?9, "              \
                 "last_signature = ?10, next_attempt_at = ?11, started_at = ?12, "                 \
                 "finished_at = ?13, updated_at = ?14, max_attempts = ?15 "                        \
                 "WHERE run_id = ?1 AND idx = ?2")                                                 \
    X(PROGRESS, "UPDATE partitions SET progress = ?3, total = ?4, error_records = ?5, "            \
                "last_message = ?6, updated_at = ?7 WHERE run_id = ?1 AND idx = ?2")               \
    X(CHECKPOINT,                                                                                  \
      "UPDATE partitions SET checkpoint = ?3, checkpoint_at = ?4, "                                \
      "checkpoint_progress = ?5, checkpoint_err_id = " ERR_ID(6) " "                               \
                                                                 "WHERE run_id = ?1 AND idx = ?2") \
    X(ATTEMPT_START,                                                                               \
      "INSERT INTO attempts(run_id, idx, n, started_at, log_path, resumed_from, progress_from, "   \
      "redone) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                           \
    X(ATTEMPT_LOCATOR, "UPDATE attempts SET executor = ?2, locator = ?3, label = ?4, pid = ?5, "   \
                       "pid_start = ?6, pgid = ?5 WHERE id = ?1")                                  \
    X(ATTEMPT_OFFSETS, "UPDATE attempts SET report_offset = ?2, output_offset = ?3 WHERE id = ?1") \
    /* A new runtime's executor knows of nothing that blocks the run yet. */                       \
    X(RUN_EXECUTOR, "UPDATE runs SET executor = ?2, blocked_reason = NULL WHERE id = ?1")          \
    X(RUN_BLOCKED, "UPDATE runs SET blocked_reason = ?2 WHERE id = ?1")                            \
    X(STRAGGLER_AFTER, "UPDATE runs SET straggler_after = ?2 WHERE id = ?1")                       \
    /* ?10-?14: where it ran, if not stored yet (NULL keeps what is). */                           \
    X(ATTEMPT_END,                                                                                 \
      "UPDATE attempts SET ended_at = ?2, outcome = ?3, exit_code = ?4, signal = ?5, "             \
      "duration = ?6, log_bytes = ?7, log_dropped = ?8, message = ?9, "                            \
      "executor = coalesce(?10, executor), locator = coalesce(?11, locator), "                     \
      "label = coalesce(?12, label), pid = coalesce(?13, pid), pgid = coalesce(?13, pgid), "       \
      "pid_start = coalesce(?14, pid_start) WHERE id = ?1")                                        \
    X(ERROR, "INSERT INTO error_records(run_id, idx, attempt_id, at, key, message, signature, "    \
             "payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                                   \
    X(DROP_ERRORS, "DELETE FROM error_records WHERE run_id = ?1 AND idx = ?2 AND id > " ERR_ID(3)) \
    /* The running counts by signature (sigcount.h): ?2 partition, ?3 signature, ?4 records. */    \
    X(SIG_ADD,                                                                                     \
      "INSERT INTO error_signatures(run_id, signature, records, partitions) "                      \
      "VALUES (?1, ?3, ?4, NOT EXISTS (SELECT 1 FROM error_signature_parts "                       \
      "WHERE run_id = ?1 AND idx = ?2 AND signature = ?3)) ON CONFLICT DO UPDATE SET "             \
      "records = records + excluded.records, partitions = partitions + excluded.partitions")       \
    X(SIG_ADD_PART, "INSERT INTO error_signature_parts(run_id, idx, signature, records) "          \
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET "                           \
                    "records = records + excluded.records")                                        \
    /* A partition's records dropped: its share goes, what is left of them is counted again. */    \
    X(SIG_UNCOUNT, "UPDATE error_signatures SET records = error_signatures.records - p.records, "  \
                   "partitions = error_signatures.partitions - 1 FROM error_signature_parts p "    \
                   "WHERE p.run_id = ?1 AND p.idx = ?2 AND error_signatures.run_id = ?1 AND "      \
                   "error_signatures.signature = p.signature")                                     \
    X(SIG_UNCOUNT_PART, "DELETE FROM error_signature_parts WHERE run_id = ?1 AND idx = ?2")        \
    X(SIG_RECOUNT_PART, "INSERT INTO error_signature_parts(run_id, idx, signature, records) "      \
                        "SELECT run_id, idx, signature, count(*) FROM error_records "              \
                        "WHERE run_id = ?1 AND idx = ?2 GROUP BY signature")                       \
    X(SIG_RECOUNT, "INSERT INTO error_signatures(run_id, signature, records, partitions) "         \
                   "SELECT run_id, signature, records, 1 FROM error_signature_parts "              \
                   "WHERE run_id = ?1 AND idx = ?2 ON CONFLICT DO UPDATE SET "                     \
                   "records = records + excluded.records, partitions = partitions + 1")            \
    /* A final run has nothing left to block. */                                                   \
    X(RUN_STATE, "UPDATE runs SET state = ?2, state_reason = ?3, updated_at = ?4, "                \
                 "finished_at = CASE WHEN ?5 THEN ?4 ELSE NULL END, "                              \
                 "blocked_reason = CASE WHEN ?5 THEN NULL ELSE blocked_reason END WHERE id = ?1")  \
    X(RUN_COUNTERS, "UPDATE runs SET n_pending = ?2, n_running = ?3, n_retry_wait = ?4, "          \
                    "n_succeeded = ?5, n_failed = ?6, n_skipped = ?7, records_done = ?8, "         \
                    "records_total = ?9, error_records = ?10, throughput = ?11, "                  \
                    "record_rate = ?12, projected_finish = ?13, updated_at = ?14, n_paused = ?15 " \
                    "WHERE id = ?1")                                                               \
    X(HEARTBEAT, "UPDATE runs SET heartbeat_at = ?2, runtime_pid = ?3 WHERE id = ?1")              \
    X(SAMPLE, "INSERT OR REPLACE INTO samples(run_id, at, done, records, failed, running) "        \
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                                    \
    X(SKIP_REASON, "UPDATE partitions SET skip_reason = ?3 WHERE run_id = ?1 AND idx = ?2")        \
    X(SLA,                                                                                         \
      "UPDATE runs SET sla_deadline = ?2, sla_max_duration = ?3, sla_state = ?4 WHERE id = ?1")    \
    X(CONCURRENCY, "UPDATE runs SET concurrency = ?2 WHERE id = ?1")                               \
    X(SPEC, "UPDATE runs SET spec_canon = ?2, spec_hash = ?3, concurrency = ?4, "                  \
            "spec_path = coalesce(?5, spec_path) WHERE id = ?1")                                   \
    X(COMMAND_RESULT, "UPDATE commands SET state = ?2, result = ?3, applied_at = ?4 "              \
                      "WHERE id = ?1 AND state = 'pending'")                                       \
    X(POOL_RELEASE, "DELETE FROM pool_holds WHERE run_id = ?1 AND attempt_id = ?2")                \
    X(POOL_WITHDRAW, "DELETE FROM pool_waiters WHERE run_id = ?1")                                 \
    X(RUN_WAITED, "UPDATE runs SET pool_wait_s = pool_wait_s + ?2, "                               \
                  "window_wait_s = window_wait_s + ?3 WHERE id = ?1")

#define J_ENUM(name, sql) J_##name,
enum { JOURNAL_STATEMENTS(J_ENUM) J_COUNT };
#undef J_ENUM
#define J_SQL(name, sql) sql,
static const char *const journal_sql[] = {JOURNAL_STATEMENTS(J_SQL)};
#undef J_SQL

/* Crash points (ns_crashpoint): "<kind>.before" when a write of that kind
 * joins the transaction, "<kind>.after" once its statement ran (still
 * uncommitted), and "commit.before" / "commit.after" around each COMMIT. */
static const struct {
    int stmt;
    const char *before, *after;
} crash_points[] = {
    {J_PARTITION, "state.before", "state.after"},
    {J_RUN_STATE, "state.before", "state.after"},
    {J_CHECKPOINT, "checkpoint.before", "checkpoint.after"},
    {J_ERROR, "error.before", "error.after"},
    {J_COMMAND_RESULT, "verdict.before", "verdict.after"},
    {J_ATTEMPT_START, "attempt_start.before", "attempt_start.after"},
    {J_ATTEMPT_END, "attempt_end.before", "attempt_end.after"},
    {J_POOL_RELEASE, "pool_release.before", "pool_release.after"},
};

static const char *crash_point(int stmt, bool after)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(crash_points); i++)
        if (crash_points[i].stmt == stmt)
            return after ? crash_points[i].after : crash_points[i].before;
    return NULL;
}

struct journal {
    struct ns_store *st;
    int64_t run_id;
    sqlite3_stmt *stmt[J_COUNT];
    bool in_txn;
    double txn_since;        /* monotonic time the open transaction began */
    bool failed;             /* a write in this transaction failed */
    const char *crash_after; /* the crash point of the statement being run */
    char err[512];
    /* Waiting for another process's write lock (see the top of the file). */
    bool waiting;
    double wait_started; /* ns_monotonic() */
    struct queued {
        char *sql;    /* sqlite3_expanded_sql(), sqlite3_free'd */
        int64_t prov; /* < 0: an error record's provisional id */
    } * queue;
    size_t nqueue, queue_cap, queue_bytes;
    int64_t next_prov;
    sqlite3_stmt *map_insert;
    /* Error records arrive in bursts; inside a transaction they are written
     * 64 per INSERT with ids given here (the write lock is ours, so
     * max(id) + 1 onwards is free until COMMIT), each full batch by the
     * queue's thread while the loop reads on (rowqueue.h). Any other write
     * waits for those and flushes the rest first (settle, flush_errors), so
     * statements still take effect in the order they were made. */
    struct ns_rowqueue *errors;
    sqlite3_stmt *max_error_id;
    int64_t next_error_id; /* 0: not read in this transaction yet */
    /* Events are only ever appended and the loop does not read them back:
     * inside a transaction they wait here until the commit (or
     * journal_flush_all), 64 per INSERT. */
    struct ns_rowbatch *events;
    /* Records counted by (partition, signature) since the last write of the
     * counts (sigcount.h); written before the commit and before a drop. */
    struct ns_sigcount *sigs;
};

static void settle(struct journal *j);

struct journal *journal_new(struct ns_store *st, int64_t run_id)
{
    struct journal *j = ns_xcalloc(1, sizeof *j);
    j->st = st;
    j->run_id = run_id;
    j->next_prov = -1;
    /* The temp schema is this connection's own: no lock of the database. */
    if (store_exec(st,
                   "CREATE TEMP TABLE IF NOT EXISTS ns_errmap(prov INTEGER PRIMARY KEY, "
                   "real INTEGER NOT NULL)",
                   j->err, sizeof j->err) != 0)
        NS_BUG("%s", j->err);
    for (int i = 0; i < J_COUNT; i++)
        j->stmt[i] = store_prepare(st, journal_sql[i]);
    j->map_insert = store_prepare(st, "INSERT OR REPLACE INTO temp.ns_errmap VALUES (?1, ?2)");
    j->errors = rowqueue_new(store_db(st),
                             "INSERT INTO error_records(id, run_id, idx, attempt_id, at, key, "
                             "message, signature, payload)",
                             "(?, ?, ?, ?, ?, ?, ?, ?, ?)");
    j->max_error_id = store_prepare(st, "SELECT coalesce(max(id), 0) FROM error_records");
    j->events =
        rowbatch_new(store_db(st),
                     "INSERT INTO events(run_id, idx, attempt_id, at, kind, message, from_state, "
                     "to_state)",
                     "(?, ?, ?, ?, ?, ?, ?, ?)");
    j->sigs = sigcount_new();
    return j;
}

void journal_free(struct journal *j)
{
    if (!j)
        return;
    settle(j);
    if (j->in_txn)
        store_rollback(j->st);
    for (int i = 0; i < J_COUNT; i++)
        sqlite3_finalize(j->stmt[i]);
    sqlite3_finalize(j->map_insert);
    rowqueue_free(j->errors);
    sqlite3_finalize(j->max_error_id);
    rowbatch_free(j->events);
    sigcount_free(j->sigs);
    for (size_t i = 0; i < j->nqueue; i++)
        sqlite3_free(j->queue[i].sql);
    free(j->queue);
    free(j);
}

/* BEGIN IMMEDIATE without the connection's long busy wait: 0, or the
 * SQLite result code (SQLITE_BUSY: another process holds the write lock). */
static int begin_now(struct journal *j)
{
    /* Our turn at the gate first (gate.h): when another nightshift process
     * is inside or in line before us, we wait like a busy lock, in line. */
    if (!gate_try_enter(&j->st->gate))
        return SQLITE_BUSY;
    sqlite3_busy_timeout(store_db(j->st), 50); /* a client's insert takes less */
    int rc = sqlite3_exec(store_db(j->st), "BEGIN IMMEDIATE", NULL, NULL, NULL);
    sqlite3_busy_timeout(store_db(j->st), 5000);
    if (rc != SQLITE_OK)
        gate_leave(&j->st->gate);
    return rc;
}

/* Runs the queued writes in order inside the transaction just begun;
 * returns how many failed (the last error is in j->err). */
static size_t replay(struct journal *j)
{
    size_t failed = 0;
    for (size_t i = 0; i < j->nqueue; i++) {
        struct queued *q = &j->queue[i];
        if (sqlite3_exec(store_db(j->st), q->sql, NULL, NULL, NULL) != SQLITE_OK) {
            failed++;
            snprintf(j->err, sizeof j->err, "%s", sqlite3_errmsg(store_db(j->st)));
        } else if (q->prov < 0) {
            sqlite3_reset(j->map_insert);
            sqlite3_bind_int64(j->map_insert, 1, q->prov);
            sqlite3_bind_int64(j->map_insert, 2, sqlite3_last_insert_rowid(store_db(j->st)));
            sqlite3_step(j->map_insert);
            sqlite3_reset(j->map_insert);
        }
        sqlite3_free(q->sql);
    }
    j->nqueue = j->queue_bytes = 0;
    return failed;
}

/* Holds the lock again after a wait: the queue is replayed and the wait is
 * recorded. The transaction stays open (the caller commits it). */
static void end_wait(struct journal *j)
{
    size_t n = j->nqueue;
    double waited = ns_monotonic() - j->wait_started;
    j->waiting = false;
    j->in_txn = true;
    j->txn_since = j->wait_started;
    size_t failed = replay(j);
    /* Writers of one database take turns (gate.h): a wait of a few turns is
     * the ordinary hand-over, not news. A wait that matters is recorded. */
    if (waited < WAIT_WORTH_AN_EVENT_S && failed == 0)
        return;
    /* Its own statement: the wait may end inside a use() of J_EVENT. */
    char msg[768];
    int len = snprintf(msg, sizeof msg,
                       "the database was locked by another process for %.1fs; the runtime went "
                       "on serving deadlines, signals and pipes and committed the %zu writes of "
                       "the wait when the lock was free",
                       waited, n - failed);
    if (failed && len > 0 && (size_t)len < sizeof msg)
        snprintf(msg + len, sizeof msg - (size_t)len, " (%zu failed: %s)", failed, j->err);
    sqlite3_stmt *e = store_prepare(
        j->st, "INSERT INTO events(run_id, at, kind, message) VALUES (?1, ?2, 'store', ?3)");
    sqlite3_bind_int64(e, 1, j->run_id);
    sqlite3_bind_double(e, 2, ns_now());
    sqlite3_bind_text(e, 3, msg, -1, SQLITE_STATIC);
    if (sqlite3_step(e) != SQLITE_DONE) {
        j->failed = true;
        snprintf(j->err, sizeof j->err, "%s", sqlite3_errmsg(store_db(j->st)));
    }
    sqlite3_finalize(e);
}

/* Blocks until the write lock is ours (busy_timeout at a time; losing job
 * state is worse than a stall), ending a wait if there was one. */
static void begin_blocking(struct journal *j)
{
    while (store_begin(j->st, j->err, sizeof j->err) != 0)
        usleep(50 * 1000);
    if (j->waiting)
        end_wait(j);
    j->in_txn = true;
    j->txn_since = ns_monotonic();
}

bool journal_waiting(const struct journal *j)
{
    return j->waiting;
}

bool journal_ready(struct journal *j)
{
    if (j->waiting)
        return false;
    if (j->in_txn)
        return true;
    int rc = begin_now(j);
    if (rc == SQLITE_OK) {
        j->in_txn = true;
        j->txn_since = ns_monotonic();
    } else if ((rc & 0xff) == SQLITE_BUSY) {
        j->waiting = true;
        j->wait_started = ns_monotonic();
        return false;
    } else {
        begin_blocking(j);
    }
    return true;
}

/* Waits until the error records handed to the queue's thread are written:
 * every other write of the journal comes after it, so statements still take
 * effect in the order they were made. */
static void settle(struct journal *j)
{
    size_t n = 0;
    if (rowqueue_settle(j->errors, &n, j->err, sizeof j->err) != SQLITE_OK)
        j->failed = true;
    for (size_t i = 0; i < n; i++)
        ns_crashpoint("error.after"); /* one hit per record, as unbatched */
}

/* Writes the error records batched so far (see struct journal). */
static void flush_errors(struct journal *j)
{
    settle(j);
    struct ns_rowbatch *b = rowqueue_filling(j->errors);
    size_t n = rowbatch_rows(b);
    if (!n)
        return;
    if (rowbatch_flush(b) != SQLITE_OK) {
        j->failed = true;
        snprintf(j->err, sizeof j->err, "%s", sqlite3_errmsg(store_db(j->st)));
    }
    for (size_t i = 0; i < n; i++)
        ns_crashpoint("error.after"); /* one hit per record, as unbatched */
}

static void flush_events(struct journal *j)
{
    settle(j); /* every write but the queue's own waits for it */
    if (rowbatch_rows(j->events) && rowbatch_flush(j->events) != SQLITE_OK) {
        j->failed = true;
        snprintf(j->err, sizeof j->err, "%s", sqlite3_errmsg(store_db(j->st)));
    }
}

/* Returns the statement ready for binding, inside a transaction (or, while
 * waiting for the lock, ready to be queued by run()). */
static sqlite3_stmt *use(struct journal *j, int which)
{
    flush_errors(j);
    (void)journal_ready(j); /* in a transaction, or waiting for the lock */
    const char *point = crash_point(which, false);
    if (point)
        ns_crashpoint(point);
    j->crash_after = crash_point(which, true);
    sqlite3_stmt *s = j->stmt[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    sqlite3_bind_int64(s, 1, j->run_id);
    return s;
}

/* sqlite3_expanded_sql() renders an infinite REAL as Inf, which SQL does
 * not read back: outside string and blob literals each Inf token becomes
 * 9e999 (which SQLite reads as infinity). Returns sql or a new string
 * (sqlite3_malloc'd either way; sql is freed if replaced). */
static char *finite_literals(char *sql)
{
    bool quoted = false, found = false;
    for (const char *p = sql; *p && !found; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (!quoted && strncmp(p, "Inf", 3) == 0 && !isalnum((unsigned char)p[3]))
            found = p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
    }
    if (!found)
        return sql;
    sqlite3_str *out = sqlite3_str_new(NULL);
    quoted = false;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        if (!quoted && strncmp(p, "Inf", 3) == 0 && !isalnum((unsigned char)p[3]) &&
            (p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))) {
            sqlite3_str_appendall(out, "9e999");
            p += 2;
            continue;
        }
        sqlite3_str_appendchar(out, 1, *p);
    }
    sqlite3_free(sql);
    return sqlite3_str_finish(out);
}

/* Queues the bound statement s; prov < 0 names an error record's insert. */
static void queue_write(struct journal *j, sqlite3_stmt *s, int64_t prov)
{
    char *sql = sqlite3_expanded_sql(s);
    if (sql)
        sql = finite_literals(sql);
    if (!sql || j->queue_bytes > QUEUE_MAX_BYTES) {
        sqlite3_free(sql); /* cannot queue it: wait here, as before, then queue nothing */
        begin_blocking(j);
        return;
    }
    if (j->nqueue == j->queue_cap) {
        j->queue_cap = j->queue_cap ? j->queue_cap * 2 : 64;
        j->queue = ns_xrealloc(j->queue, j->queue_cap * sizeof *j->queue);
    }
    j->queue[j->nqueue++] = (struct queued){sql, prov};
    j->queue_bytes += strlen(sql);
}

static void run(struct journal *j, sqlite3_stmt *s)
{
    if (j->waiting) {
        queue_write(j, s, 0);
        if (j->waiting) {
            sqlite3_reset(s);
            j->crash_after = NULL;
            return;
        }
    }
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        j->failed = true;
        snprintf(j->err, sizeof j->err, "%s", sqlite3_errmsg(store_db(j->st)));
    }
    sqlite3_reset(s);
    if (j->crash_after)
        ns_crashpoint(j->crash_after);
    j->crash_after = NULL;
}

/* Writes the counts of the records counted since (after them: use() flushes them first). */
static void flush_sigcounts(struct journal *j)
{
    size_t n = sigcount_len(j->sigs);
    for (size_t i = 0; i < n; i++) {
        int64_t idx, count;
        const char *signature;
        sigcount_get(j->sigs, i, &idx, &signature, &count);
        /* SIG_ADD first: it asks whether the partition had the signature yet. */
        for (int which = J_SIG_ADD; which <= J_SIG_ADD_PART; which++) {
            sqlite3_stmt *s = use(j, which);
            sqlite3_bind_int64(s, 2, idx);
            sqlite3_bind_text(s, 3, signature, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 4, count);
            run(j, s);
        }
    }
    sigcount_clear(j->sigs);
}

void journal_flush(struct journal *j)
{
    if (j)
        flush_errors(j); /* events are not read back by the loop: they wait for the commit */
}

void journal_flush_all(struct journal *j)
{
    if (!j)
        return;
    flush_errors(j);
    flush_sigcounts(j);
    flush_events(j);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void bind_time(sqlite3_stmt *s, int i, double t)
{
    if (t > 0)
        sqlite3_bind_double(s, i, t);
    else
        sqlite3_bind_null(s, i);
}

double journal_open_since(const struct journal *j)
{
    return j->in_txn ? j->txn_since : 0; /* waiting: the loop retries on its own */
}

int journal_try_commit(struct journal *j, char *err, size_t errlen)
{
    if (j->waiting) {
        if (begin_now(j) != SQLITE_OK)
            return 0; /* still locked: the writes stay queued */
        end_wait(j);
        return 1; /* ours now: the next turn uses the lock before it commits */
    }
    return journal_commit(j, err, errlen);
}

int journal_commit(struct journal *j, char *err, size_t errlen)
{
    if (j->waiting)
        begin_blocking(j);
    if (!j->in_txn)
        return 0;
    flush_errors(j);
    flush_sigcounts(j);
    flush_events(j);
    j->in_txn = false;
    j->next_error_id = 0;
    /* A statement that failed (a constraint, say) was undone alone by
     * SQLite; the rest of the turn is still worth keeping. */
    j->failed = false;
    ns_crashpoint("commit.before");
    for (int tries = 0;; tries++) {
        if (store_exec(j->st, "COMMIT", err, errlen) == 0) {
            gate_leave(&j->st->gate);
            ns_crashpoint("commit.after");
            return 0;
        }
        if (tries >= 100 || sqlite3_get_autocommit(store_db(j->st))) {
            store_rollback(j->st);
            return -1;
        }
        usleep(50 * 1000);
    }
}

static void rowbatch_text_or_null(struct ns_rowbatch *r, const char *s)
{
    if (s)
        rowbatch_text(r, s, strlen(s));
    else
        rowbatch_null(r);
}

void journal_event(struct journal *j, int64_t idx, int64_t attempt_id, const char *kind,
                   const char *fmt, ...)
{
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    journal_event_change(j, idx, attempt_id, kind, NULL, NULL, b.data ? b.data : "");
    buf_release(&b);
}

void journal_event_change(struct journal *j, int64_t idx, int64_t attempt_id, const char *kind,
                          const char *from, const char *to, const char *message)
{
    size_t len = strlen(message);
    if (journal_ready(j)) {
        struct ns_rowbatch *r = j->events;
        rowbatch_int(r, j->run_id);
        if (idx >= 0)
            rowbatch_int(r, idx);
        else
            rowbatch_null(r);
        if (attempt_id > 0)
            rowbatch_int(r, attempt_id);
        else
            rowbatch_null(r);
        rowbatch_double(r, ns_now());
        rowbatch_text(r, kind, strlen(kind));
        rowbatch_text(r, message, len);
        rowbatch_text_or_null(r, from);
        rowbatch_text_or_null(r, to);
        if (rowbatch_row_done(r))
            flush_events(j);
        return;
    }
    sqlite3_stmt *s = use(j, J_EVENT); /* waiting for the lock: queued as SQL */
    if (idx >= 0)
        sqlite3_bind_int64(s, 2, idx);
    if (attempt_id > 0)
        sqlite3_bind_int64(s, 3, attempt_id);
    sqlite3_bind_double(s, 4, ns_now());
    sqlite3_bind_text(s, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, message, (int)len, SQLITE_TRANSIENT);
    if (from)
        sqlite3_bind_text(s, 7, from, -1, SQLITE_TRANSIENT);
    if (to)
        sqlite3_bind_text(s, 8, to, -1, SQLITE_TRANSIENT);
    run(j, s);
}

void journal_partition(struct journal *j, const struct ns_part_image *r)
{
    sqlite3_stmt *s = use(j, J_PARTITION);
    sqlite3_bind_int64(s, 2, r->idx);
    sqlite3_bind_text(s, 3, query_part_state_word(r->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->attempts);
    sqlite3_bind_int(s, 5, r->attempts_total);
    sqlite3_bind_int64(s, 6, r->progress);
    if (r->total >= 0)
        sqlite3_bind_int64(s, 7, r->total);
    sqlite3_bind_int64(s, 8, r->errors);
    bind_text_or_null(s, 9, r->last_message);
    bind_text_or_null(s, 10, r->last_signature);
    if (r->state == NS_PS_RETRY_WAIT)
        sqlite3_bind_double(s, 11, r->retry_at);
    bind_time(s, 12, r->started_at);
    bind_time(s, 13, r->finished_at);
    sqlite3_bind_double(s, 14, ns_now());
    sqlite3_bind_int(s, 15, r->max_attempts);
    run(j, s);
}

void journal_progress(struct journal *j, const struct ns_part_image *r)
{
    sqlite3_stmt *s = use(j, J_PROGRESS);
    sqlite3_bind_int64(s, 2, r->idx);
    sqlite3_bind_int64(s, 3, r->progress);
    if (r->total >= 0)
        sqlite3_bind_int64(s, 4, r->total);
    sqlite3_bind_int64(s, 5, r->errors);
    bind_text_or_null(s, 6, r->last_message);
    sqlite3_bind_double(s, 7, ns_now());
    run(j, s);
}

void journal_checkpoint(struct journal *j, const struct ns_part_image *r)
{
    sqlite3_stmt *s = use(j, J_CHECKPOINT);
    sqlite3_bind_int64(s, 2, r->idx);
    if (r->checkpoint) {
        sqlite3_bind_blob(s, 3, r->checkpoint, (int)r->checkpoint_len, SQLITE_TRANSIENT);
        sqlite3_bind_double(s, 4, ns_now());
        sqlite3_bind_int64(s, 5, r->checkpoint_progress);
        sqlite3_bind_int64(s, 6, r->checkpoint_err_id);
    }
    run(j, s);
}

int64_t journal_attempt_start(struct journal *j, int64_t idx, int n, double at,
                              const char *log_path, const char *resumed_from, size_t rlen,
                              int64_t progress_from, int64_t redone)
{
    if (!j->in_txn)
        begin_blocking(j); /* its row id is needed now (the loop avoids a wait) */
    sqlite3_stmt *s = use(j, J_ATTEMPT_START);
    sqlite3_bind_int64(s, 2, idx);
    sqlite3_bind_int(s, 3, n);
    sqlite3_bind_double(s, 4, at);
    bind_text_or_null(s, 5, log_path);
    if (resumed_from)
        sqlite3_bind_blob(s, 6, resumed_from, (int)rlen, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 7, progress_from);
    sqlite3_bind_int64(s, 8, redone);
    run(j, s);
    return sqlite3_last_insert_rowid(store_db(j->st));
}

/* Binds executor, locator, label, pid and pid start at at, at+1, ...: pid,
 * pid_start and pgid are schema 1's columns; scripts and tests read them,
 * so a local locator ("pid=N start=T") still fills them. */
static void bind_location(sqlite3_stmt *s, int at, const char *executor, const char *locator,
                          const char *label)
{
    sqlite3_bind_text(s, at, executor, -1, SQLITE_STATIC);
    bind_text_or_null(s, at + 1, locator);
    bind_text_or_null(s, at + 2, label);
    long long pid = 0, start = 0;
    if (locator && strcmp(executor, "local") == 0 &&
        sscanf(locator, "pid=%lld start=%lld", &pid, &start) == 2) {
        sqlite3_bind_int64(s, at + 3, pid);
        sqlite3_bind_int64(s, at + 4, start);
    } else {
        sqlite3_bind_null(s, at + 3);
        sqlite3_bind_null(s, at + 4);
    }
}

void journal_attempt_locator(struct journal *j, int64_t attempt_id, const char *executor,
                             const char *locator, const char *label)
{
    sqlite3_stmt *s = use(j, J_ATTEMPT_LOCATOR);
    sqlite3_bind_int64(s, 1, attempt_id);
    bind_location(s, 2, executor, locator, label);
    run(j, s);
}

void journal_attempt_offsets(struct journal *j, int64_t attempt_id, int64_t report_offset,
                             int64_t output_offset)
{
    sqlite3_stmt *s = use(j, J_ATTEMPT_OFFSETS);
    sqlite3_bind_int64(s, 1, attempt_id);
    sqlite3_bind_int64(s, 2, report_offset);
    sqlite3_bind_int64(s, 3, output_offset);
    run(j, s);
}

void journal_run_executor(struct journal *j, const char *executor)
{
    sqlite3_stmt *s = use(j, J_RUN_EXECUTOR);
    sqlite3_bind_text(s, 2, executor, -1, SQLITE_STATIC);
    run(j, s);
}

void journal_run_blocked(struct journal *j, const char *reason)
{
    sqlite3_stmt *s = use(j, J_RUN_BLOCKED);
    bind_text_or_null(s, 2, reason);
    run(j, s);
}

void journal_straggler_after(struct journal *j, double seconds)
{
    sqlite3_stmt *s = use(j, J_STRAGGLER_AFTER);
    bind_time(s, 2, seconds);
    run(j, s);
}

void journal_attempt_end(struct journal *j, const struct ns_attempt_image *r, double at,
                         enum ns_attempt_outcome outcome, int exit_code, int sig,
                         const char *message)
{
    sqlite3_stmt *s = use(j, J_ATTEMPT_END);
    sqlite3_bind_int64(s, 1, r->id);
    if (at > 0) { /* else both stay NULL: unknown */
        sqlite3_bind_double(s, 2, at);
        sqlite3_bind_double(s, 6, at - r->started_at);
    }
    sqlite3_bind_text(s, 3, query_attempt_outcome_word(outcome), -1, SQLITE_STATIC);
    if (exit_code >= 0)
        sqlite3_bind_int(s, 4, exit_code);
    if (sig > 0)
        sqlite3_bind_int(s, 5, sig);
    sqlite3_bind_int64(s, 7, r->log_bytes);
    sqlite3_bind_int64(s, 8, r->log_dropped);
    bind_text_or_null(s, 9, message);
    if (r->executor)
        bind_location(s, 10, r->executor, r->locator, r->label);
    run(j, s);
}

/* An error record joins the batch (the transaction is open); returns its id. */
static int64_t batch_error_record(struct journal *j, int64_t idx, int64_t attempt_id,
                                  const char *key, size_t key_len, const char *msg, size_t msg_len,
                                  const char *signature, const unsigned char *payload,
                                  size_t payload_len)
{
    ns_crashpoint("error.before");
    if (!j->next_error_id) {
        sqlite3_reset(j->max_error_id);
        if (sqlite3_step(j->max_error_id) == SQLITE_ROW)
            j->next_error_id = sqlite3_column_int64(j->max_error_id, 0) + 1;
        sqlite3_reset(j->max_error_id);
        if (!j->next_error_id) {
            j->failed = true;
            snprintf(j->err, sizeof j->err, "%s", sqlite3_errmsg(store_db(j->st)));
            j->next_error_id = 1; /* the INSERT will fail and say why */
        }
    }
    int64_t id = j->next_error_id++;
    struct ns_rowbatch *b = rowqueue_filling(j->errors);
    rowbatch_int(b, id);
    rowbatch_int(b, j->run_id);
    rowbatch_int(b, idx);
    rowbatch_int(b, attempt_id);
    rowbatch_double(b, ns_now());
    /* NOT NULL columns: "no key" and "no message" are stored empty. */
    rowbatch_text(b, key ? key : "", key ? key_len : 0);
    rowbatch_text(b, msg ? msg : "", msg ? msg_len : 0);
    rowbatch_text(b, signature, strlen(signature));
    if (payload)
        rowbatch_blob(b, payload, payload_len);
    else
        rowbatch_null(b);
    if (rowbatch_row_done(b))
        rowqueue_submit(j->errors); /* written while the loop reads on */
    return id;
}

int64_t journal_error_record(struct journal *j, int64_t idx, int64_t attempt_id, const char *key,
                             size_t key_len, const char *msg, size_t msg_len, const char *signature,
                             const unsigned char *payload, size_t payload_len)
{
    sigcount_add(j->sigs, idx, signature);
    /* The expanded SQL of a text value stops at a NUL byte: a record holding
     * one cannot wait in the queue, so it waits for the lock here. */
    if (!j->in_txn && ((key && memchr(key, 0, key_len)) || (msg && memchr(msg, 0, msg_len))))
        begin_blocking(j);
    if (journal_ready(j))
        return batch_error_record(j, idx, attempt_id, key, key_len, msg, msg_len, signature,
                                  payload, payload_len);
    /* Another process holds the write lock: no id can be given now, so the
     * record waits in the queue as SQL with a provisional id. */
    sqlite3_stmt *s = use(j, J_ERROR);
    sqlite3_bind_int64(s, 2, idx);
    sqlite3_bind_int64(s, 3, attempt_id);
    sqlite3_bind_double(s, 4, ns_now());
    /* NOT NULL columns: "no key" and "no message" are stored empty. STATIC:
     * run() steps at once and resets; use() rebinds before the next step. */
    sqlite3_bind_text(s, 5, key ? key : "", key ? (int)key_len : 0, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, msg ? msg : "", msg ? (int)msg_len : 0, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, signature, -1, SQLITE_STATIC);
    if (payload)
        sqlite3_bind_blob(s, 8, payload, (int)payload_len, SQLITE_STATIC);
    if (j->waiting) {
        int64_t prov = j->next_prov--;
        queue_write(j, s, prov);
        if (j->waiting) {
            sqlite3_reset(s);
            j->crash_after = NULL;
            return prov;
        }
    }
    run(j, s);
    return sqlite3_last_insert_rowid(store_db(j->st));
}

/* Runs statement which on partition idx (?2). */
static void run_on_partition(struct journal *j, int which, int64_t idx)
{
    sqlite3_stmt *s = use(j, which);
    sqlite3_bind_int64(s, 2, idx);
    run(j, s);
}

int64_t journal_drop_errors_after(struct journal *j, int64_t idx, int64_t after_id)
{
    if (!j->in_txn)
        begin_blocking(j); /* the count is needed now (launch; the loop avoids a wait) */
    flush_sigcounts(j);
    run_on_partition(j, J_SIG_UNCOUNT, idx);
    run_on_partition(j, J_SIG_UNCOUNT_PART, idx);
    sqlite3_stmt *s = use(j, J_DROP_ERRORS);
    sqlite3_bind_int64(s, 2, idx);
    sqlite3_bind_int64(s, 3, after_id);
    run(j, s);
    int64_t dropped = sqlite3_changes(store_db(j->st));
    run_on_partition(j, J_SIG_RECOUNT_PART, idx);
    run_on_partition(j, J_SIG_RECOUNT, idx);
    return dropped;
}

void journal_run_state(struct journal *j, enum ns_run_state state, const char *reason)
{
    sqlite3_stmt *s = use(j, J_RUN_STATE);
    sqlite3_bind_text(s, 2, query_run_state_word(state), -1, SQLITE_STATIC);
    bind_text_or_null(s, 3, reason);
    sqlite3_bind_double(s, 4, ns_now());
    sqlite3_bind_int(s, 5, query_run_state_final(state));
    run(j, s);
}

void journal_run_counters(struct journal *j, const struct ns_run_figures *f)
{
    sqlite3_stmt *s = use(j, J_RUN_COUNTERS);
    sqlite3_bind_int64(s, 2, f->counts[NS_PS_PENDING]);
    sqlite3_bind_int64(s, 15, f->counts[NS_PS_PAUSED]);
    sqlite3_bind_int64(s, 3, f->counts[NS_PS_RUNNING]);
    sqlite3_bind_int64(s, 4, f->counts[NS_PS_RETRY_WAIT]);
    sqlite3_bind_int64(s, 5, f->counts[NS_PS_SUCCEEDED]);
    sqlite3_bind_int64(s, 6, f->counts[NS_PS_FAILED]);
    sqlite3_bind_int64(s, 7, f->counts[NS_PS_SKIPPED]);
    sqlite3_bind_int64(s, 8, f->records_done);
    sqlite3_bind_int64(s, 9, f->records_total);
    sqlite3_bind_int64(s, 10, f->error_records);
    sqlite3_bind_double(s, 11, f->rate);
    sqlite3_bind_double(s, 12, f->record_rate);
    bind_time(s, 13, f->projected_finish);
    sqlite3_bind_double(s, 14, ns_now());
    run(j, s);
}

void journal_heartbeat(struct journal *j, double at, int pid)
{
    sqlite3_stmt *s = use(j, J_HEARTBEAT);
    sqlite3_bind_double(s, 2, at);
    sqlite3_bind_int(s, 3, pid);
    run(j, s);
}

void journal_sample(struct journal *j, const struct ns_sample *m)
{
    sqlite3_stmt *s = use(j, J_SAMPLE);
    sqlite3_bind_double(s, 2, m->at);
    const int64_t counts[] = {m->done, m->records, m->failed, m->running};
    for (int i = 0; i < 4; i++)
        sqlite3_bind_int64(s, 3 + i, counts[i]);
    run(j, s);
}

void journal_concurrency(struct journal *j, int concurrency)
{
    sqlite3_stmt *s = use(j, J_CONCURRENCY);
    sqlite3_bind_int(s, 2, concurrency);
    run(j, s);
}

void journal_command_result(struct journal *j, int64_t id, bool ok, const char *result)
{
    sqlite3_stmt *s = use(j, J_COMMAND_RESULT);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, ok ? "applied" : "refused", -1, SQLITE_STATIC);
    bind_text_or_null(s, 3, result);
    sqlite3_bind_double(s, 4, ns_now());
    run(j, s);
}

void journal_skip_reason(struct journal *j, int64_t idx, const char *reason)
{
    sqlite3_stmt *s = use(j, J_SKIP_REASON);
    sqlite3_bind_int64(s, 2, idx);
    sqlite3_bind_text(s, 3, reason, -1, SQLITE_TRANSIENT);
    run(j, s);
}

void journal_sla(struct journal *j, double deadline, double max_duration, const char *state)
{
    sqlite3_stmt *s = use(j, J_SLA);
    if (deadline > 0)
        sqlite3_bind_double(s, 2, deadline);
    if (max_duration > 0)
        sqlite3_bind_double(s, 3, max_duration);
    sqlite3_bind_text(s, 4, state, -1, SQLITE_TRANSIENT);
    run(j, s);
}

void journal_spec(struct journal *j, const char *canon, const char *hash, int concurrency,
                  const char *spec_path)
{
    sqlite3_stmt *s = use(j, J_SPEC);
    sqlite3_bind_text(s, 2, canon, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, concurrency);
    bind_text_or_null(s, 5, spec_path);
    run(j, s);
}

void journal_pool_release(struct journal *j, int64_t attempt_id)
{
    sqlite3_stmt *s = use(j, J_POOL_RELEASE);
    sqlite3_bind_int64(s, 2, attempt_id);
    run(j, s);
}

void journal_pool_withdraw(struct journal *j)
{
    run(j, use(j, J_POOL_WITHDRAW));
}

void journal_run_waited(struct journal *j, double pool_s, double window_s)
{
    sqlite3_stmt *s = use(j, J_RUN_WAITED);
    sqlite3_bind_double(s, 2, pool_s);
    sqlite3_bind_double(s, 3, window_s);
    run(j, s);
}
