/*
 * query.c - the read model (see query.h): the SQL every reader runs, and the
 * figures derived from it, each computed once.
 *
 * Invariants: nothing here writes; statements are finalized before return,
 * so no read transaction outlives a call (WAL checkpoints never starve);
 * columns are read by name through small tables, never by a position that
 * a second SELECT elsewhere could get out of step with.
 *
 * This file holds the state words and figures, the column and page helpers
 * (query-internal.h), the run summary, failure groups, runs, events, samples
 * and commands; query-parts.c and query-errors.c the rest.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/pools.h"
#include "nightshift/deps.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "query-internal.h"

#define NS_PS_WORD(e, w) [NS_PS_##e] = w,
static const char *const part_state_words[NS_PS_COUNT] = {NS_PART_STATES(NS_PS_WORD)};
#undef NS_PS_WORD

const char *query_part_state_word(enum ns_part_state s)
{
    return (unsigned)s < NS_PS_COUNT ? part_state_words[s] : "?";
}

int query_part_state_of(const char *word)
{
    for (int i = 0; i < NS_PS_COUNT; i++)
        if (word && strcmp(word, part_state_words[i]) == 0)
            return i;
    return -1;
}

#define NS_RS_WORD(e, w) [NS_RS_##e] = w,
static const char *const run_state_words[NS_RS_COUNT] = {NS_RUN_STATES(NS_RS_WORD)};
#undef NS_RS_WORD

const char *query_run_state_word(enum ns_run_state s)
{
    return (unsigned)s < NS_RS_COUNT ? run_state_words[s] : "?";
}

int query_run_state_of(const char *word)
{
    for (int i = 0; i < NS_RS_COUNT; i++)
        if (word && strcmp(word, run_state_words[i]) == 0)
            return i;
    return -1;
}

bool query_run_state_final(int s)
{
    return s == NS_RS_STOPPED || s == NS_RS_SUCCEEDED || s == NS_RS_FAILED;
}

#define NS_AO_WORD(e, w) [NS_AO_##e] = w,
static const char *const attempt_outcome_words[NS_AO_COUNT] = {NS_ATTEMPT_OUTCOMES(NS_AO_WORD)};
#undef NS_AO_WORD

const char *query_attempt_outcome_word(enum ns_attempt_outcome o)
{
    return (unsigned)o < NS_AO_COUNT ? attempt_outcome_words[o] : "?";
}

int query_attempt_outcome_of(const char *word)
{
    for (int i = 0; i < NS_AO_COUNT; i++)
        if (word && strcmp(word, attempt_outcome_words[i]) == 0)
            return i;
    return -1;
}

int64_t query_done(const struct ns_state_counts *c)
{
    return c->n[NS_PS_SUCCEEDED] + c->n[NS_PS_FAILED] + c->n[NS_PS_SKIPPED];
}

bool query_part_in_failure_group(int part_state)
{
    return part_state == NS_PS_FAILED || part_state == NS_PS_RETRY_WAIT;
}

bool query_in_failure_group(const char *state_word)
{
    return query_part_in_failure_group(query_part_state_of(state_word));
}

int64_t query_data_version(struct ns_store *st)
{
    sqlite3_stmt *s = store_prepare(st, "PRAGMA data_version");
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
}

bool query_runtime_alive(const struct ns_store *st, int64_t run_id)
{
    return store_runtime_alive(st, run_id);
}

double query_project(const struct ns_projection_in *in, double now)
{
    if (!in->dispatching || in->total <= 0)
        return 0;
    int64_t left = in->total - in->done;
    if (left <= 0)
        return now;
    if (in->rate > 0)
        return now + (double)left / in->rate;
    double done = (double)in->done + in->partial;
    if (done >= (double)in->total)
        return now;
    if (done <= 0 || in->elapsed_s < 1.0)
        return 0;
    return now + in->elapsed_s * ((double)in->total - done) / done;
}

/* The one rule of query_has_eta, for a state already parsed. */
static bool run_has_eta(int run_state, bool alive)
{
    return alive && run_state == NS_RS_RUNNING;
}

bool query_has_eta(const char *state, bool alive)
{
    return run_has_eta(query_run_state_of(state), alive);
}

bool query_run_final(const char *state)
{
    return query_run_state_final(query_run_state_of(state));
}

double query_record_rate(int64_t records_now, int64_t records_at_start, double elapsed_s)
{
    if (elapsed_s <= 0.5)
        return 0;
    int64_t own = records_now - records_at_start;
    return own > 0 ? (double)own / elapsed_s : 0;
}

/* ---- reading columns by name ---- */

char *query_col_text(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(s, i);
    int n = sqlite3_column_bytes(s, i);
    return ns_xstrndup(p ? p : "", (size_t)n);
}

void query_cols_select(struct ns_buf *b, const struct col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_addf(b, "%s%s", i ? ", " : "", cols[i].sql);
}

void query_cols_read(sqlite3_stmt *s, const struct col *cols, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char *at = (char *)base + cols[i].off;
        switch (cols[i].kind) {
        case C_TEXT:
            *(char **)(void *)at = query_col_text(s, (int)i);
            break;
        case C_INT:
            *(int64_t *)(void *)at = sqlite3_column_int64(s, (int)i);
            break;
        case C_REAL:
            *(double *)(void *)at = sqlite3_column_double(s, (int)i);
            break;
        }
    }
}

/* Frees every text column of a row read with query_cols_read and zeroes the row
 * (size bytes): one release per table, never a list to keep in step. */
void query_cols_release(const struct col *cols, size_t n, void *base, size_t size)
{
    for (size_t i = 0; i < n; i++)
        if (cols[i].kind == C_TEXT)
            free(*(char **)(void *)((char *)base + cols[i].off));
    memset(base, 0, size);
}

/* ---- the run summary ---- */

static void derive_run(struct ns_store *st, struct ns_run_summary *out, double now);
static void derive_motion(struct ns_run_summary *out, double now);

#define RS(f) offsetof(struct ns_run_summary, f)
static const struct col run_cols[] = {
    {"id", C_INT, RS(id)},
    {"job", C_TEXT, RS(job)},
    {"params", C_TEXT, RS(params)},
    {"params_json", C_TEXT, RS(params_json)},
    {"state", C_TEXT, RS(state)},
    {"state_reason", C_TEXT, RS(state_reason)},
    {"spec_path", C_TEXT, RS(spec_path)},
    {"runtime_log", C_TEXT, RS(runtime_log)},
    {"sla_state", C_TEXT, RS(sla_state)},
    {"executor", C_TEXT, RS(executor)},
    {"blocked_reason", C_TEXT, RS(blocked_reason)},
    {"concurrency", C_INT, RS(concurrency)},
    {"total", C_INT, RS(counts.total)},
    {"n_pending", C_INT, RS(counts.n[NS_PS_PENDING])},
    {"n_running", C_INT, RS(counts.n[NS_PS_RUNNING])},
    {"n_retry_wait", C_INT, RS(counts.n[NS_PS_RETRY_WAIT])},
    {"n_paused", C_INT, RS(counts.n[NS_PS_PAUSED])},
    {"n_succeeded", C_INT, RS(counts.n[NS_PS_SUCCEEDED])},
    {"n_failed", C_INT, RS(counts.n[NS_PS_FAILED])},
    {"n_skipped", C_INT, RS(counts.n[NS_PS_SKIPPED])},
    /* Pending partitions with a live attempt: queued in the executor. At
     * most what is queued ahead (~1000), over the attempts_live index. */
    {"(SELECT count(*) FROM attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx "
     "WHERE a.run_id = runs.id AND a.outcome IS NULL AND p.state = 'pending')",
     C_INT, RS(counts.queued)},
    {"records_done", C_INT, RS(records_done)},
    {"records_total", C_INT, RS(records_total)},
    {"error_records", C_INT, RS(error_records)},
    {"coalesce(throughput, 0)", C_REAL, RS(throughput)},
    {"pool_wait_s", C_REAL, RS(pool_wait_s)},
    {"window_wait_s", C_REAL, RS(window_wait_s)},
    {"coalesce(record_rate, 0)", C_REAL, RS(record_rate)},
    {"created_at", C_REAL, RS(created_at)},
    {"coalesce(started_at, 0)", C_REAL, RS(started_at)},
    {"coalesce(finished_at, 0)", C_REAL, RS(finished_at)},
    {"updated_at", C_REAL, RS(updated_at)},
    {"coalesce(sla_deadline, 0)", C_REAL, RS(sla_deadline)},
    {"coalesce(sla_max_duration, 0)", C_REAL, RS(sla_max_duration)},
    {"coalesce(runtime_pid, 0)", C_INT, RS(runtime_pid)},
    /* Over the partial index commands_pending: cheap for every row. */
    {"(SELECT count(*) FROM commands c WHERE c.run_id = runs.id AND c.state = 'pending')", C_INT,
     RS(commands_pending)},
    {"coalesce(heartbeat_at, 0)", C_REAL, RS(heartbeat_at)},
    {"coalesce(straggler_after, 0)", C_REAL, RS(straggler_after)},
    {"coalesce(projected_finish, 0)", C_REAL, RS(finish_at)},
    /* When a paused or halted run stopped moving: its last change of state
     * (evaluated for those two states only; few events follow a pause). */
    {"CASE WHEN state IN ('paused', 'halted') THEN coalesce((SELECT e.at FROM events e "
     "WHERE e.run_id = runs.id AND e.kind = 'run_state' ORDER BY e.id DESC LIMIT 1), 0) "
     "ELSE 0 END",
     C_REAL, RS(stalled_at)},
};
#undef RS

int query_run_summary(struct ns_store *st, int64_t run_id, double now, struct ns_run_summary *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    query_cols_select(&sql, run_cols, NS_ARRAY_LEN(run_cols));
    buf_adds(&sql, " FROM runs WHERE id = ?");
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql.data, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading run %lld: %s", (long long)run_id,
                sqlite3_errmsg(store_db(st)));
        buf_release(&sql);
        return -1;
    }
    buf_release(&sql);
    sqlite3_bind_int64(s, 1, run_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            ns_errf(err, errlen, "reading run %lld: %s", (long long)run_id,
                    sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    query_cols_read(s, run_cols, NS_ARRAY_LEN(run_cols), out);
    sqlite3_finalize(s);
    derive_run(st, out, now);
    return 1;
}

void query_run_summary_release(struct ns_run_summary *s)
{
    free(s->waiting_for); /* derived, not a column */
    s->waiting_for = NULL;
    free(s->exit_note);
    s->exit_note = NULL;
    query_cols_release(run_cols, NS_ARRAY_LEN(run_cols), s, sizeof *s);
}

/* ---- failure groups ---- */

int query_failure_groups(struct ns_store *st, int64_t run_id, int limit,
                         struct ns_failure_groups *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT g.sig, g.failed, g.waiting, g.first, "
                      " (SELECT last_message FROM partitions WHERE run_id = ?1 AND idx = g.first), "
                      " sum(g.failed + g.waiting) OVER () "
                      "FROM (SELECT last_signature AS sig, sum(state = 'failed') AS failed, "
                      "  sum(state = 'retry_wait') AS waiting, min(idx) AS first FROM partitions "
                      "  WHERE run_id = ?1 AND state IN (" NS_FAILURE_GROUP_STATES ") "
                      "  GROUP BY last_signature) g "
                      "ORDER BY g.failed + g.waiting DESC, g.sig IS NULL, g.sig LIMIT ?2";
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading failure groups: %s", sqlite3_errmsg(store_db(st)));
        return -1;
    }
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 8;
            out->g = ns_xrealloc(out->g, cap * sizeof *out->g);
        }
        struct ns_failure_group *g = &out->g[out->n++];
        g->signature = query_col_text(s, 0);
        g->failed = sqlite3_column_int64(s, 1);
        g->retry_wait = sqlite3_column_int64(s, 2);
        g->count = g->failed + g->retry_wait;
        g->first_idx = sqlite3_column_int64(s, 3);
        g->example = query_col_text(s, 4);
        out->partitions = sqlite3_column_int64(s, 5);
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading failure groups: %s", sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        query_failure_groups_release(out);
        return -1;
    }
    sqlite3_finalize(s);
    return 0;
}

void query_failure_groups_release(struct ns_failure_groups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->g[i].signature);
        free(g->g[i].example);
    }
    free(g->g);
    memset(g, 0, sizeof *g);
}

int64_t query_failure_group_count(struct ns_store *st, int64_t run_id, const char *signature)
{
    sqlite3_stmt *s =
        store_prepare(st, "SELECT count(*) FROM partitions WHERE run_id = ? AND "
                          "last_signature = ? AND state IN (" NS_FAILURE_GROUP_STATES ")");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_text(s, 2, signature, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
}

/* ---- pages ---- */

/* Prepares sql, or fills err and returns NULL (a reader's SQL failing is a
 * database problem worth a sentence: a schema from another version). */
sqlite3_stmt *query_prep(struct ns_store *st, const char *sql, const char *what, char *err,
                         size_t errlen)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading %s: %s", what, sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

/* Steps s, reading each row with read(); returns the count or -1. */
int query_step_rows(struct ns_store *st, sqlite3_stmt *s, int limit, void *rows, size_t size,
                    void (*read)(sqlite3_stmt *, void *), const char *what, char *err,
                    size_t errlen)
{
    int n = 0, rc;
    while (n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        read(s, (char *)rows + (size_t)n++ * size);
    if (n < limit && rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading %s: %s", what, sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    return n;
}

/* Rows fetched in reverse (dir < 0) are turned into display order. */
void query_reverse_rows(void *rows, int n, size_t size)
{
    char *tmp = ns_xmalloc(size);
    char *r = rows;
    for (int i = 0; i < n / 2; i++) {
        char *a = r + (size_t)i * size, *b = r + (size_t)(n - 1 - i) * size;
        memcpy(tmp, a, size);
        memcpy(a, b, size);
        memcpy(b, tmp, size);
    }
    free(tmp);
}

/* One row of sql, whose ?1..?nargs are the integers in args, into out
 * (size bytes, zeroed first): 1 found, 0 none, -1 error. */
int query_one_row(struct ns_store *st, const char *sql, const int64_t *args, int nargs, void *out,
                  size_t size, void (*read)(sqlite3_stmt *, void *), const char *what, char *err,
                  size_t errlen)
{
    memset(out, 0, size);
    sqlite3_stmt *s = query_prep(st, sql, what, err, errlen);
    if (!s)
        return -1;
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(s, i + 1, args[i]);
    return query_step_rows(st, s, 1, out, size, read, what, err, errlen);
}

/* ---- runs ---- */

static void read_run(sqlite3_stmt *s, void *row)
{
    query_cols_read(s, run_cols, NS_ARRAY_LEN(run_cols), row);
}

/* What the summary derives from its columns (liveness, ETA, elapsed). */
static void derive_run(struct ns_store *st, struct ns_run_summary *out, double now)
{
    if (!out->job)
        out->job = ns_xstrdup("");
    if (!out->params)
        out->params = ns_xstrdup("");
    if (!out->params_json)
        out->params_json = ns_xstrdup("{}");
    if (!out->state)
        out->state = ns_xstrdup("?");
    if (!out->spec_path)
        out->spec_path = ns_xstrdup("");
    if (!out->executor)
        out->executor = ns_xstrdup("local");
    out->run_state = query_run_state_of(out->state);
    out->final = query_run_state_final(out->run_state);
    /* A final run's lock is not probed: nothing drives it by definition. */
    out->alive = !out->final && query_runtime_alive(st, out->id);
    /* Only the live runtime's executor knows what blocks the run now; a dead
     * one's word is stale (nothing runs for want of a runtime). */
    if (!out->alive) {
        free(out->blocked_reason);
        out->blocked_reason = NULL;
    }
    out->waiting_for = out->alive ? pools_run_waiting(st, out->id) : NULL;
    if (!out->waiting_for && !out->final) /* else its upstreams (after:), if they hold it */
        out->waiting_for = deps_run_waiting(st, out->id);
    out->exit_note = !out->alive && !out->final ? store_exit_note_read(st, out->id) : NULL;
    derive_motion(out, now);
    out->has_eta = run_has_eta(out->run_state, out->alive) && out->finish_at > 0;
    if (!out->has_eta)
        out->finish_at = 0;
    out->eta_s = out->has_eta ? query_eta_at(out, now) : 0;
    out->elapsed_s = query_elapsed_at(out, now);
    if (out->alive && out->straggler_after > 0)
        out->stragglers = query_stragglers(st, out->id, out->straggler_after, now, NULL, 0);
    if (out->stragglers < 0)
        out->stragglers = 0;
}

/* A run that does not move - paused, halted, stopping, final, or with no
 * runtime - has no rate, and one nobody drives has nothing running; its
 * elapsed time stops where it stopped moving; and an SLA nobody watches
 * any more turns at risk (or missed) once the work left says so. */
static void derive_motion(struct ns_run_summary *out, double now)
{
    double rate_before = out->throughput;
    if (!run_has_eta(out->run_state, out->alive)) {
        out->throughput = 0;
        out->record_rate = 0;
    }
    if (out->final) {
        out->stalled_at = 0;
        return;
    }
    if (out->alive)
        return;
    /* Driverless: its workers were ended with it (or are ended by the next
     * runtime before anything restarts), so nothing runs and nothing is
     * paused; those partitions wait for the next runtime like pending ones. */
    int64_t *n = out->counts.n;
    n[NS_PS_PENDING] += n[NS_PS_RUNNING] + n[NS_PS_PAUSED];
    n[NS_PS_RUNNING] = n[NS_PS_PAUSED] = 0;
    double last = out->heartbeat_at > out->updated_at ? out->heartbeat_at : out->updated_at;
    if (out->stalled_at <= 0 || last < out->stalled_at)
        out->stalled_at = last;
    if (out->stalled_at < out->started_at)
        out->stalled_at = out->started_at;
    if (!out->sla_state || out->sla_deadline <= 0 || strcmp(out->sla_state, "ok") != 0)
        return;
    /* The projection the runtime made when it was last seen, carried to now:
     * the same work is left, and nobody has done any of it since. */
    struct ns_projection_in in = {.total = out->counts.total,
                                  .done = query_done(&out->counts),
                                  .rate = rate_before,
                                  .elapsed_s = out->stalled_at - out->started_at,
                                  .dispatching = true};
    double then = query_project(&in, out->stalled_at);
    const char *word = NULL;
    if (now > out->sla_deadline)
        word = "missed";
    else if (then > 0 && now + (then - out->stalled_at) > out->sla_deadline)
        word = "at_risk";
    if (word) {
        free(out->sla_state);
        out->sla_state = ns_xstrdup(word);
    }
}

double query_eta_at(const struct ns_run_summary *s, double now)
{
    return s->has_eta ? s->finish_at - now : -1;
}

double query_elapsed_at(const struct ns_run_summary *s, double now)
{
    if (s->started_at <= 0)
        return 0;
    double end = s->finished_at > 0 ? s->finished_at : s->stalled_at > 0 ? s->stalled_at : now;
    return end > s->started_at ? end - s->started_at : 0;
}

int query_runs(struct ns_store *st, const char *text, const struct ns_run_summary *anchor, int dir,
               int limit, double now, struct ns_run_summary *rows, char *err, size_t errlen)
{
    const struct ns_run_filter f = {.text = text};
    return query_runs_filtered(st, &f, anchor, dir, limit, now, rows, err, errlen);
}

int query_runs_filtered(struct ns_store *st, const struct ns_run_filter *f,
                        const struct ns_run_summary *anchor, int dir, int limit, double now,
                        struct ns_run_summary *rows, char *err, size_t errlen)
{
    /* Display order is id descending. */
    const char *cond = !anchor ? "1" : dir > 0 ? "id < ?1" : dir < 0 ? "id > ?1" : "id <= ?1";
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    query_cols_select(&sql, run_cols, NS_ARRAY_LEN(run_cols));
    buf_addf(&sql,
             " FROM runs WHERE %s AND (?2 = '' OR instr(job, ?2) > 0 OR instr(params, ?2) > 0) "
             "AND (?4 IS NULL OR job = ?4) AND (?5 = 0 OR created_at >= ?5 OR "
             "coalesce(finished_at, updated_at) >= ?5)",
             cond);
    if (f->states) {
        /* The state words come from our own table, never from the user. */
        buf_adds(&sql, " AND state IN (");
        for (int i = 0, first = 1; i < NS_RS_COUNT; i++)
            if (f->states & (1u << i)) {
                buf_addf(&sql, "%s'%s'", first ? "" : ", ",
                         query_run_state_word((enum ns_run_state)i));
                first = 0;
            }
        buf_adds(&sql, ")");
    }
    buf_addf(&sql, " ORDER BY id %s LIMIT ?3", dir < 0 ? "ASC" : "DESC");
    sqlite3_stmt *s = query_prep(st, sql.data, "runs", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    if (anchor)
        sqlite3_bind_int64(s, 1, anchor->id);
    sqlite3_bind_text(s, 2, f->text ? f->text : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, limit);
    if (f->job)
        sqlite3_bind_text(s, 4, f->job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 5, f->since);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    int n = query_step_rows(st, s, limit, rows, sizeof *rows, read_run, "runs", err, errlen);
    for (int i = 0; i < n; i++)
        derive_run(st, &rows[i], now);
    if (dir < 0 && n > 0)
        query_reverse_rows(rows, n, sizeof *rows);
    return n;
}

/* ---- events, samples, commands ---- */

static void read_event(sqlite3_stmt *s, void *row)
{
    struct ns_event_row *e = row;
    e->id = sqlite3_column_int64(s, 0);
    e->idx = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
    e->attempt_id = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
    e->at = sqlite3_column_double(s, 3);
    e->kind = query_col_text(s, 4);
    e->message = query_col_text(s, 5);
    if (!e->kind)
        e->kind = ns_xstrdup("");
    if (!e->message)
        e->message = ns_xstrdup("");
}

int query_events_tail(struct ns_store *st, int64_t run_id, int limit, struct ns_event_row *rows,
                      char *err, size_t errlen)
{
    sqlite3_stmt *s =
        query_prep(st,
                   "SELECT id, idx, attempt_id, at, kind, message FROM (SELECT * FROM "
                   "events WHERE run_id = ? AND kind NOT IN ('attempt_start') ORDER BY "
                   "id DESC LIMIT ?) ORDER BY id",
                   "events", err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int(s, 2, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    return query_step_rows(st, s, limit, rows, sizeof *rows, read_event, "events", err, errlen);
}

void query_event_row_release(struct ns_event_row *r)
{
    free(r->kind);
    free(r->message);
    memset(r, 0, sizeof *r);
}

/* One column of the run's samples since `since`, oldest first (at most
 * 2000, rows where it is NULL left out), with their times: two heap arrays. */
static int sample_series(struct ns_store *st, int64_t run_id, double since, bool running,
                         double **ats, double **vals)
{
    *ats = *vals = NULL;
    sqlite3_stmt *s = store_prepare(
        st, running ? "SELECT at, running FROM samples WHERE run_id = ? AND at >= ? AND running "
                      "IS NOT NULL ORDER BY at LIMIT 2000"
                    : "SELECT at, done FROM samples WHERE run_id = ? AND at >= ? ORDER BY at "
                      "LIMIT 2000");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_double(s, 2, since);
    int n = 0, cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            *ats = ns_xrealloc(*ats, sizeof **ats * (size_t)cap);
            *vals = ns_xrealloc(*vals, sizeof **vals * (size_t)cap);
        }
        (*ats)[n] = sqlite3_column_double(s, 0);
        (*vals)[n++] = sqlite3_column_double(s, 1);
    }
    sqlite3_finalize(s);
    return n;
}

int query_throughput_series(struct ns_store *st, int64_t run_id, double since, double **rates)
{
    double *at, *done;
    int n = sample_series(st, run_id, since, false, &at, &done), k = 0;
    /* Rates between consecutive samples, in place over done. */
    for (int i = 1; i < n; i++)
        if (at[i] > at[i - 1])
            done[k++] = (done[i] - done[i - 1]) / (at[i] - at[i - 1]);
    free(at);
    if (k == 0) {
        free(done);
        done = NULL;
    }
    *rates = done;
    return k;
}

int query_running_series(struct ns_store *st, int64_t run_id, double since, double **counts)
{
    double *at;
    int n = sample_series(st, run_id, since, true, &at, counts);
    free(at);
    return n;
}

#define CR(f) offsetof(struct ns_command_row, f)
static const struct col command_cols[] = {
    {"id", C_INT, CR(id)},
    {"run_id", C_INT, CR(run_id)},
    {"uid", C_INT, CR(uid)},
    {"issued_at", C_REAL, CR(issued_at)},
    {"coalesce(applied_at, 0)", C_REAL, CR(applied_at)},
    {"user", C_TEXT, CR(user)},
    {"source", C_TEXT, CR(source)},
    {"verb", C_TEXT, CR(verb)},
    {"args", C_TEXT, CR(args)},
    {"state", C_TEXT, CR(state)},
    {"result", C_TEXT, CR(result)},
};
#undef CR

static int commands_where(struct ns_store *st, int64_t run_id, int64_t after, int64_t limit,
                          bool pending_only, struct ns_command_row **rows, char *err,
                          size_t errlen)
{
    *rows = NULL;
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    query_cols_select(&sql, command_cols, NS_ARRAY_LEN(command_cols));
    buf_addf(&sql, " FROM commands WHERE run_id = ?1 AND id > ?2%s ORDER BY id LIMIT ?3",
             pending_only ? " AND state = 'pending'" : "");
    sqlite3_stmt *s = query_prep(st, sql.data, "commands", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, limit);
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *rows = ns_xrealloc(*rows, sizeof **rows * (size_t)cap);
        }
        struct ns_command_row *c = &(*rows)[n++];
        query_cols_read(s, command_cols, NS_ARRAY_LEN(command_cols), c);
        char **txt[] = {&c->user, &c->source, &c->verb, &c->args, &c->state};
        for (size_t i = 0; i < NS_ARRAY_LEN(txt); i++)
            if (!*txt[i])
                *txt[i] = ns_xstrdup("");
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading commands: %s", sqlite3_errmsg(store_db(st)));
        query_command_rows_release(*rows, n);
        *rows = NULL;
        return -1;
    }
    return n;
}

int query_commands(struct ns_store *st, int64_t run_id, int64_t after, int64_t limit,
                   struct ns_command_row **rows, char *err, size_t errlen)
{
    return commands_where(st, run_id, after, limit, false, rows, err, errlen);
}

int query_pending_commands(struct ns_store *st, int64_t run_id, int64_t limit,
                           struct ns_command_row **rows, char *err, size_t errlen)
{
    return commands_where(st, run_id, 0, limit, true, rows, err, errlen);
}

void query_command_rows_release(struct ns_command_row *rows, int n)
{
    for (int i = 0; i < n; i++)
        query_cols_release(command_cols, NS_ARRAY_LEN(command_cols), &rows[i], sizeof rows[i]);
    free(rows);
}

char **query_resume_args(struct ns_store *st, int64_t run_id)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT 0, r.spec_path FROM runs r WHERE r.id = ?1 UNION ALL "
            "SELECT 1, j.key || '=' || j.value FROM runs r, json_each(r.params_json) j "
            "WHERE r.id = ?1 ORDER BY 1");
    sqlite3_bind_int64(s, 1, run_id);
    char **w = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        w = ns_xrealloc(w, (n + 3) * sizeof *w);
        if (sqlite3_column_int(s, 0) == 1)
            w[n++] = ns_xstrdup("-p");
        const unsigned char *t = sqlite3_column_text(s, 1);
        w[n++] = ns_xstrdup(t ? (const char *)t : "");
    }
    sqlite3_finalize(s);
    if (w)
        w[n] = NULL;
    return w;
}
