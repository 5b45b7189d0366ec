/*
 * query.c - the read model (see query.h): the SQL every reader runs, and the
 * figures derived from it, each computed once.
 *
 * Invariants: nothing here writes; statements are finalized before return,
 * so no read transaction outlives a call (WAL checkpoints never starve);
 * columns are read by name through small tables, never by a position that
 * a second SELECT elsewhere could get out of step with.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/query.h"
#include "nightshift/util.h"

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

int64_t query_done(const struct ns_state_counts *c)
{
    return c->n[NS_PS_SUCCEEDED] + c->n[NS_PS_FAILED] + c->n[NS_PS_SKIPPED];
}

bool query_in_failure_group(const char *state_word)
{
    return state_word &&
           (strcmp(state_word, "failed") == 0 || strcmp(state_word, "retry_wait") == 0);
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

bool query_has_eta(const char *state, bool alive)
{
    return alive && state && strcmp(state, "running") == 0;
}

bool query_run_final(const char *state)
{
    return state && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
                     strcmp(state, "stopped") == 0);
}

double query_record_rate(int64_t records_now, int64_t records_at_start, double elapsed_s)
{
    if (elapsed_s <= 0.5)
        return 0;
    int64_t own = records_now - records_at_start;
    return own > 0 ? (double)own / elapsed_s : 0;
}

/* ---- reading columns by name ---- */

enum col_kind { C_TEXT, C_INT, C_REAL };

/* One column of a SELECT and where its value goes; the SELECT list is built
 * from the same table, so names and positions cannot drift. */
struct col {
    const char *sql;
    enum col_kind kind;
    size_t off;
};

static char *col_text(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(s, i);
    int n = sqlite3_column_bytes(s, i);
    return ns_xstrndup(p ? p : "", (size_t)n);
}

static void cols_select(struct ns_buf *b, const struct col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_addf(b, "%s%s", i ? ", " : "", cols[i].sql);
}

static void cols_read(sqlite3_stmt *s, const struct col *cols, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char *at = (char *)base + cols[i].off;
        switch (cols[i].kind) {
        case C_TEXT:
            *(char **)(void *)at = col_text(s, (int)i);
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

/* Frees every text column of a row read with cols_read and zeroes the row
 * (size bytes): one release per table, never a list to keep in step. */
static void cols_release(const struct col *cols, size_t n, void *base, size_t size)
{
    for (size_t i = 0; i < n; i++)
        if (cols[i].kind == C_TEXT)
            free(*(char **)(void *)((char *)base + cols[i].off));
    memset(base, 0, size);
}

/* ---- the run summary ---- */

static void derive_run(struct ns_store *st, struct ns_run_summary *out, double now);

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
    {"coalesce(record_rate, 0)", C_REAL, RS(record_rate)},
    {"created_at", C_REAL, RS(created_at)},
    {"coalesce(started_at, 0)", C_REAL, RS(started_at)},
    {"coalesce(finished_at, 0)", C_REAL, RS(finished_at)},
    {"updated_at", C_REAL, RS(updated_at)},
    {"coalesce(sla_deadline, 0)", C_REAL, RS(sla_deadline)},
    {"coalesce(sla_max_duration, 0)", C_REAL, RS(sla_max_duration)},
    {"coalesce(runtime_pid, 0)", C_INT, RS(runtime_pid)},
    {"coalesce(heartbeat_at, 0)", C_REAL, RS(heartbeat_at)},
    {"coalesce(projected_finish, 0)", C_REAL, RS(finish_at)},
};
#undef RS

int query_run_summary(struct ns_store *st, int64_t run_id, double now, struct ns_run_summary *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    cols_select(&sql, run_cols, NS_ARRAY_LEN(run_cols));
    buf_adds(&sql, " FROM runs WHERE id = ?");
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql.data, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading run %lld: %s", (long long)run_id, sqlite3_errmsg(st->db));
        buf_release(&sql);
        return -1;
    }
    buf_release(&sql);
    sqlite3_bind_int64(s, 1, run_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            ns_errf(err, errlen, "reading run %lld: %s", (long long)run_id, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    cols_read(s, run_cols, NS_ARRAY_LEN(run_cols), out);
    sqlite3_finalize(s);
    derive_run(st, out, now);
    return 1;
}

void query_run_summary_release(struct ns_run_summary *s)
{
    cols_release(run_cols, NS_ARRAY_LEN(run_cols), s, sizeof *s);
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
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading failure groups: %s", sqlite3_errmsg(st->db));
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
        g->signature = col_text(s, 0);
        g->failed = sqlite3_column_int64(s, 1);
        g->retry_wait = sqlite3_column_int64(s, 2);
        g->count = g->failed + g->retry_wait;
        g->first_idx = sqlite3_column_int64(s, 3);
        g->example = col_text(s, 4);
        out->partitions = sqlite3_column_int64(s, 5);
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading failure groups: %s", sqlite3_errmsg(st->db));
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
static sqlite3_stmt *prep(struct ns_store *st, const char *sql, const char *what, char *err,
                          size_t errlen)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading %s: %s", what, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

/* Steps s, reading each row with read(); returns the count or -1. */
static int step_rows(struct ns_store *st, sqlite3_stmt *s, int limit, void *rows, size_t size,
                     void (*read)(sqlite3_stmt *, void *), const char *what, char *err,
                     size_t errlen)
{
    int n = 0, rc;
    while (n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        read(s, (char *)rows + (size_t)n++ * size);
    if (n < limit && rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading %s: %s", what, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    return n;
}

/* Rows fetched in reverse (dir < 0) are turned into display order. */
static void reverse_rows(void *rows, int n, size_t size)
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
static int one_row(struct ns_store *st, const char *sql, const int64_t *args, int nargs, void *out,
                   size_t size, void (*read)(sqlite3_stmt *, void *), const char *what, char *err,
                   size_t errlen)
{
    memset(out, 0, size);
    sqlite3_stmt *s = prep(st, sql, what, err, errlen);
    if (!s)
        return -1;
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(s, i + 1, args[i]);
    return step_rows(st, s, 1, out, size, read, what, err, errlen);
}

/* ---- runs ---- */

static void read_run(sqlite3_stmt *s, void *row)
{
    cols_read(s, run_cols, NS_ARRAY_LEN(run_cols), row);
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
    out->final = query_run_final(out->state);
    /* A final run's lock is not probed: nothing drives it by definition. */
    out->alive = !out->final && query_runtime_alive(st, out->id);
    out->has_eta = query_has_eta(out->state, out->alive) && out->finish_at > 0;
    if (!out->has_eta)
        out->finish_at = 0;
    out->eta_s = out->has_eta ? query_eta_at(out, now) : 0;
    out->elapsed_s = query_elapsed_at(out, now);
}

double query_eta_at(const struct ns_run_summary *s, double now)
{
    return s->has_eta ? s->finish_at - now : -1;
}

double query_elapsed_at(const struct ns_run_summary *s, double now)
{
    if (s->started_at <= 0)
        return 0;
    return (s->finished_at > 0 ? s->finished_at : now) - s->started_at;
}

int query_runs(struct ns_store *st, const char *text, const struct ns_run_summary *anchor, int dir,
               int limit, double now, struct ns_run_summary *rows, char *err, size_t errlen)
{
    /* Display order is id descending. */
    const char *cond = !anchor ? "1" : dir > 0 ? "id < ?1" : dir < 0 ? "id > ?1" : "id <= ?1";
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    cols_select(&sql, run_cols, NS_ARRAY_LEN(run_cols));
    buf_addf(&sql,
             " FROM runs WHERE %s AND (?2 = '' OR instr(job, ?2) > 0 OR instr(params, ?2) > 0) "
             "ORDER BY id %s LIMIT ?3",
             cond, dir < 0 ? "ASC" : "DESC");
    sqlite3_stmt *s = prep(st, sql.data, "runs", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    if (anchor)
        sqlite3_bind_int64(s, 1, anchor->id);
    sqlite3_bind_text(s, 2, text ? text : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    int n = step_rows(st, s, limit, rows, sizeof *rows, read_run, "runs", err, errlen);
    for (int i = 0; i < n; i++)
        derive_run(st, &rows[i], now);
    if (dir < 0 && n > 0)
        reverse_rows(rows, n, sizeof *rows);
    return n;
}

/* ---- partitions ---- */

#define NS_PF_NAME(e, name, sql) [NS_PF_##e] = name,
static const char *const filter_names[NS_PF_COUNT] = {NS_PART_FILTERS(NS_PF_NAME)};
#undef NS_PF_NAME
#define NS_PF_SQL(e, name, sql) [NS_PF_##e] = sql,
static const char *const filter_sql[NS_PF_COUNT] = {NS_PART_FILTERS(NS_PF_SQL)};
#undef NS_PF_SQL

const char *query_part_filter_name(enum ns_part_filter f)
{
    return (unsigned)f < NS_PF_COUNT ? filter_names[f] : "?";
}

#define PFRAC "coalesce(CAST(progress AS REAL) / nullif(total, 0), 0.0)"
static const struct {
    const char *name, *fwd, *rev, *after, *before, *at;
} sorts[NS_SORT_COUNT] = {
    [NS_SORT_IDX] = {"index", "idx ASC", "idx DESC", "idx > ?2", "idx < ?2", "idx >= ?2"},
    [NS_SORT_IDX_DESC] = {"index desc", "idx DESC", "idx ASC", "idx < ?2", "idx > ?2", "idx <= ?2"},
    [NS_SORT_STATE] = {"state", "state ASC, idx ASC", "state DESC, idx DESC",
                       "(state, idx) > (?3, ?2)", "(state, idx) < (?3, ?2)",
                       "(state, idx) >= (?3, ?2)"},
    [NS_SORT_PROGRESS] = {"least progress", PFRAC " ASC, idx ASC", PFRAC " DESC, idx DESC",
                          "(" PFRAC ", idx) > (?7, ?2)", "(" PFRAC ", idx) < (?7, ?2)",
                          "(" PFRAC ", idx) >= (?7, ?2)"},
};

const char *query_part_sort_name(enum ns_part_sort s)
{
    return (unsigned)s < NS_SORT_COUNT ? sorts[s].name : "?";
}

#define PR(f) offsetof(struct ns_part_row, f)
static const struct col part_cols[] = {
    {"idx", C_INT, PR(idx)},
    {"key", C_TEXT, PR(key)},
    {"state", C_TEXT, PR(state)},
    {"params_json", C_TEXT, PR(params_json)},
    {"last_message", C_TEXT, PR(last_message)},
    {"last_signature", C_TEXT, PR(last_signature)},
    {"skip_reason", C_TEXT, PR(skip_reason)},
    {"progress", C_INT, PR(progress)},
    {"coalesce(total, -1)", C_INT, PR(total)},
    {"attempts", C_INT, PR(attempts)},
    {"attempts_total", C_INT, PR(attempts_total)},
    {"max_attempts", C_INT, PR(max_attempts)},
    {"error_records", C_INT, PR(errors)},
    {"coalesce(checkpoint_progress, 0)", C_INT, PR(checkpoint_progress)},
    {"coalesce(started_at, 0)", C_REAL, PR(started_at)},
    {"coalesce(finished_at, 0)", C_REAL, PR(finished_at)},
    {"coalesce(checkpoint_at, 0)", C_REAL, PR(checkpoint_at)},
    {"coalesce(next_attempt_at, 0)", C_REAL, PR(next_attempt_at)},
    {"coalesce(updated_at, 0)", C_REAL, PR(updated_at)},
    {"(SELECT coalesce(sum(a.duration), 0) FROM attempts a WHERE a.run_id = partitions.run_id "
     "AND a.idx = partitions.idx)",
     C_REAL, PR(attempts_time)},
    {"(SELECT coalesce(max(a.started_at), 0) FROM attempts a WHERE a.run_id = partitions.run_id "
     "AND a.idx = partitions.idx AND a.outcome IS NULL)",
     C_REAL, PR(live_started_at)},
    {PFRAC, C_REAL, PR(pfrac)},
};
#undef PR
/* checkpoint is read after the table's columns (a blob with its length). */
#define PART_CHECKPOINT_COL ((int)NS_ARRAY_LEN(part_cols))

static void read_part(sqlite3_stmt *s, void *row)
{
    struct ns_part_row *r = row;
    cols_read(s, part_cols, NS_ARRAY_LEN(part_cols), r);
    if (sqlite3_column_type(s, PART_CHECKPOINT_COL) != SQLITE_NULL) {
        const void *p = sqlite3_column_blob(s, PART_CHECKPOINT_COL);
        r->checkpoint_len = (size_t)sqlite3_column_bytes(s, PART_CHECKPOINT_COL);
        r->checkpoint = ns_xstrndup(p ? p : "", r->checkpoint_len);
    }
    if (!r->key)
        r->key = ns_xstrdup("");
    if (!r->state)
        r->state = ns_xstrdup("?");
    if (!r->params_json)
        r->params_json = ns_xstrdup("{}");
}

static void part_select_sql(struct ns_buf *sql)
{
    buf_adds(sql, "SELECT ");
    cols_select(sql, part_cols, NS_ARRAY_LEN(part_cols));
    buf_adds(sql, ", checkpoint FROM partitions ");
}

/* WHERE of a selection; binds ?1 run, ?5 text, ?6 signature or state. */
static void part_where(struct ns_buf *sql, const struct ns_part_select *sel)
{
    buf_addf(sql, "WHERE run_id = ?1 AND %s",
             sel->state ? "state = ?6" : filter_sql[(unsigned)sel->filter % NS_PF_COUNT]);
    if (sel->text && sel->text[0])
        buf_adds(sql, " AND (instr(key, ?5) > 0 OR instr(coalesce(last_message, ''), ?5) > 0)");
}

static void part_bind(sqlite3_stmt *s, const struct ns_part_select *sel)
{
    sqlite3_bind_int64(s, 1, sel->run_id);
    if (sel->text && sel->text[0])
        sqlite3_bind_text(s, 5, sel->text, -1, SQLITE_TRANSIENT);
    if (sel->state)
        sqlite3_bind_text(s, 6, sel->state, -1, SQLITE_TRANSIENT);
    else if (sel->filter == NS_PF_GROUP)
        sqlite3_bind_text(s, 6, sel->signature ? sel->signature : "", -1, SQLITE_TRANSIENT);
}

int query_partitions(struct ns_store *st, const struct ns_part_select *sel,
                     const struct ns_part_row *anchor, int dir, int limit, struct ns_part_row *rows,
                     char *err, size_t errlen)
{
    unsigned so = (unsigned)sel->sort % NS_SORT_COUNT;
    struct ns_buf sql = NS_BUF_INIT;
    part_select_sql(&sql);
    part_where(&sql, sel);
    if (anchor)
        buf_addf(&sql, " AND %s",
                 dir > 0   ? sorts[so].after
                 : dir < 0 ? sorts[so].before
                           : sorts[so].at);
    buf_addf(&sql, " ORDER BY %s LIMIT ?4", dir < 0 ? sorts[so].rev : sorts[so].fwd);
    sqlite3_stmt *s = prep(st, sql.data, "partitions", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    part_bind(s, sel);
    if (anchor) {
        sqlite3_bind_int64(s, 2, anchor->idx);
        sqlite3_bind_text(s, 3, anchor->state, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(s, 7, anchor->pfrac);
    }
    sqlite3_bind_int(s, 4, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    int n = step_rows(st, s, limit, rows, sizeof *rows, read_part, "partitions", err, errlen);
    if (dir < 0 && n > 0)
        reverse_rows(rows, n, sizeof *rows);
    return n;
}

int64_t query_attempts_allowed(const struct ns_part_row *r)
{
    return r->attempts_total - r->attempts + r->max_attempts;
}

double query_part_rate(const struct ns_part_row *r, double now)
{
    double live = r->live_started_at > 0 ? now - r->live_started_at : 0;
    return live > 0 ? (double)r->progress / live : 0;
}

double query_part_eta(const struct ns_part_row *r, double now)
{
    double rate = query_part_rate(r, now);
    if (strcmp(r->state, "running") != 0 || rate <= 0 || r->total < 0)
        return -1;
    return (double)(r->total - r->progress) / rate;
}

double query_attempts_seconds(const struct ns_part_row *r, double now)
{
    double t = r->attempts_time;
    if (r->live_started_at > 0 && now > r->live_started_at)
        t += now - r->live_started_at;
    if (t == 0 && r->started_at > 0) /* no attempt rows with durations: wall time */
        t = (r->finished_at > 0 ? r->finished_at : now) - r->started_at;
    return t;
}

int query_partition(struct ns_store *st, int64_t run_id, int64_t idx, struct ns_part_row *out,
                    char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    part_select_sql(&sql);
    buf_adds(&sql, "WHERE run_id = ?1 AND idx = ?2");
    const int64_t args[] = {run_id, idx};
    int rc =
        one_row(st, sql.data, args, 2, out, sizeof *out, read_part, "a partition", err, errlen);
    buf_release(&sql);
    return rc;
}

void query_part_row_release(struct ns_part_row *r)
{
    free(r->checkpoint); /* read apart from the table (a blob) */
    cols_release(part_cols, NS_ARRAY_LEN(part_cols), r, sizeof *r);
}

int64_t query_partition_count(struct ns_store *st, const struct ns_part_select *sel)
{
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT count(*) FROM partitions ");
    part_where(&sql, sel);
    sqlite3_stmt *s = store_prepare(st, sql.data);
    buf_release(&sql);
    part_bind(s, sel);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
}

void query_partition_range(struct ns_store *st, int64_t run_id, int64_t *lo, int64_t *hi)
{
    sqlite3_stmt *s =
        store_prepare(st, "SELECT min(idx), max(idx) FROM partitions WHERE run_id = ?");
    sqlite3_bind_int64(s, 1, run_id);
    *lo = 0;
    *hi = -1;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *lo = sqlite3_column_int64(s, 0);
        *hi = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
}

void query_partition_states(struct ns_store *st, int64_t run_id, int64_t from, int64_t n,
                            unsigned char *cells)
{
    if (n <= 0 || !cells) /* a map not laid out yet */
        return;
    memset(cells, 0, (size_t)n);
    sqlite3_stmt *s = store_prepare(st, "SELECT idx, state FROM partitions WHERE run_id = ? AND "
                                        "idx >= ? AND idx < ? ORDER BY idx");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, from + n);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t o = sqlite3_column_int64(s, 0) - from;
        int ps = query_part_state_of((const char *)sqlite3_column_text(s, 1));
        if (o >= 0 && o < n && ps >= 0)
            cells[o] = (unsigned char)(ps + 1);
    }
    sqlite3_finalize(s);
}

int64_t query_partition_by_key(struct ns_store *st, int64_t run_id, const char *key)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT idx FROM partitions WHERE run_id = ? AND key = ? "
                                        "ORDER BY idx LIMIT 1");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    int64_t idx = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return idx;
}

/* ---- attempts ---- */

#define AR(f) offsetof(struct ns_attempt_row, f)
static const struct col attempt_cols[] = {
    {"id", C_INT, AR(id)},
    {"n", C_INT, AR(n)},
    {"coalesce(pid, 0)", C_INT, AR(pid)},
    {"coalesce(exit_code, 0)", C_INT, AR(exit_code)},
    {"coalesce(signal, 0)", C_INT, AR(signal)},
    {"started_at", C_REAL, AR(started_at)},
    {"coalesce(ended_at, 0)", C_REAL, AR(ended_at)},
    {"coalesce(duration, -1)", C_REAL, AR(duration)},
    {"outcome", C_TEXT, AR(outcome)},
    {"log_path", C_TEXT, AR(log_path)},
    {"message", C_TEXT, AR(message)},
    {"executor", C_TEXT, AR(executor)},
    {"locator", C_TEXT, AR(locator)},
    {"label", C_TEXT, AR(label)},
};
#undef AR
#define ATTEMPT_FLAGS_COL ((int)NS_ARRAY_LEN(attempt_cols))

static void read_attempt(sqlite3_stmt *s, void *row)
{
    struct ns_attempt_row *a = row;
    cols_read(s, attempt_cols, NS_ARRAY_LEN(attempt_cols), a);
    a->has_exit = sqlite3_column_int(s, ATTEMPT_FLAGS_COL) != 0;
    a->has_signal = sqlite3_column_int(s, ATTEMPT_FLAGS_COL + 1) != 0;
}

static void attempt_select_sql(struct ns_buf *sql)
{
    buf_adds(sql, "SELECT ");
    cols_select(sql, attempt_cols, NS_ARRAY_LEN(attempt_cols));
    buf_adds(sql, ", exit_code IS NOT NULL, signal IS NOT NULL FROM attempts ");
}

int query_attempts(struct ns_store *st, int64_t run_id, int64_t idx, int limit,
                   struct ns_attempt_row *rows, char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    attempt_select_sql(&sql);
    buf_adds(&sql, "WHERE run_id = ? AND idx = ? ORDER BY n DESC LIMIT ?");
    sqlite3_stmt *s = prep(st, sql.data, "attempts", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, idx);
    sqlite3_bind_int(s, 3, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    return step_rows(st, s, limit, rows, sizeof *rows, read_attempt, "attempts", err, errlen);
}

int query_attempt(struct ns_store *st, int64_t run_id, int64_t idx, int64_t n,
                  struct ns_attempt_row *out, char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    attempt_select_sql(&sql);
    buf_adds(&sql, "WHERE run_id = ?1 AND idx = ?2 AND (?3 = 0 OR n = ?3) ORDER BY n DESC LIMIT 1");
    const int64_t args[] = {run_id, idx, n};
    int rc =
        one_row(st, sql.data, args, 3, out, sizeof *out, read_attempt, "an attempt", err, errlen);
    buf_release(&sql);
    return rc;
}

void query_attempt_row_release(struct ns_attempt_row *r)
{
    cols_release(attempt_cols, NS_ARRAY_LEN(attempt_cols), r, sizeof *r);
}

/* ---- error records ---- */

/* WHERE of an error selection; binds ?1 run, ?2 idx, ?3 signature, ?4 text.
 * Only the constraints in force are written, so SQLite picks the matching
 * (run_id, [idx | signature,] id) index. */
static void error_where(struct ns_buf *w, const struct ns_error_select *sel)
{
    buf_adds(w, "e.run_id = ?1");
    if (sel->idx >= 0)
        buf_adds(w, " AND e.idx = ?2");
    if (sel->signature)
        buf_adds(w, " AND e.signature = ?3");
    if (sel->text && sel->text[0])
        buf_adds(w, " AND (instr(e.message, ?4) > 0 OR instr(e.key, ?4) > 0)");
}

static void error_bind(sqlite3_stmt *s, const struct ns_error_select *sel)
{
    sqlite3_bind_int64(s, 1, sel->run_id);
    if (sel->idx >= 0)
        sqlite3_bind_int64(s, 2, sel->idx);
    if (sel->signature)
        sqlite3_bind_text(s, 3, sel->signature, -1, SQLITE_TRANSIENT);
    if (sel->text && sel->text[0])
        sqlite3_bind_text(s, 4, sel->text, -1, SQLITE_TRANSIENT);
}

static char *col_bytes(sqlite3_stmt *s, int i, size_t *len)
{
    const void *p = sqlite3_column_blob(s, i);
    *len = (size_t)sqlite3_column_bytes(s, i);
    return ns_xstrndup(p ? p : "", *len);
}

static void read_error(sqlite3_stmt *s, void *row)
{
    struct ns_error_row *r = row;
    size_t len;
    r->id = sqlite3_column_int64(s, 0);
    r->idx = sqlite3_column_int64(s, 1);
    r->attempt_id = sqlite3_column_int64(s, 2);
    r->at = sqlite3_column_double(s, 3);
    r->partition_key = col_bytes(s, 4, &len);
    r->key = col_bytes(s, 5, &r->key_len);
    r->message = col_bytes(s, 6, &r->message_len);
    r->signature = col_bytes(s, 7, &len);
    if (sqlite3_column_type(s, 8) != SQLITE_NULL)
        r->payload = col_bytes(s, 8, &r->payload_len);
}

#define ERROR_COLS                                                                                 \
    "e.id, e.idx, e.attempt_id, e.at, coalesce(p.key, ''), e.key, e.message, e.signature, "
#define ERROR_FROM                                                                                 \
    " FROM error_records e LEFT JOIN partitions p ON p.run_id = e.run_id AND p.idx = e.idx WHERE "

int query_errors(struct ns_store *st, const struct ns_error_select *sel,
                 const struct ns_error_row *anchor, int dir, int limit, bool with_payload,
                 struct ns_error_row *rows, char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    buf_addf(&sql, "SELECT " ERROR_COLS "%s" ERROR_FROM, with_payload ? "e.payload" : "NULL");
    error_where(&sql, sel);
    if (anchor)
        buf_adds(&sql, dir > 0 ? " AND e.id > ?5" : dir < 0 ? " AND e.id < ?5" : " AND e.id >= ?5");
    buf_addf(&sql, " ORDER BY e.id %s LIMIT ?6", dir < 0 ? "DESC" : "ASC");
    sqlite3_stmt *s = prep(st, sql.data, "error records", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    error_bind(s, sel);
    if (anchor)
        sqlite3_bind_int64(s, 5, anchor->id);
    sqlite3_bind_int(s, 6, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    int n = step_rows(st, s, limit, rows, sizeof *rows, read_error, "error records", err, errlen);
    if (dir < 0 && n > 0)
        reverse_rows(rows, n, sizeof *rows);
    return n;
}

int query_error(struct ns_store *st, int64_t run_id, int64_t id, struct ns_error_row *out,
                char *err, size_t errlen)
{
    const int64_t args[] = {run_id, id};
    return one_row(st, "SELECT " ERROR_COLS "e.payload" ERROR_FROM "e.run_id = ?1 AND e.id = ?2",
                   args, 2, out, sizeof *out, read_error, "an error record", err, errlen);
}

void query_error_row_release(struct ns_error_row *r)
{
    free(r->partition_key);
    free(r->key);
    free(r->message);
    free(r->signature);
    free(r->payload);
    memset(r, 0, sizeof *r);
}

int64_t query_error_count(struct ns_store *st, const struct ns_error_select *sel)
{
    sqlite3_stmt *s;
    if (sel->signature || (sel->text && sel->text[0]))
        return -1; /* counting a filtered million rows is not worth it */
    if (sel->idx >= 0) {
        s = store_prepare(st, "SELECT error_records FROM partitions WHERE run_id = ? AND idx = ?");
        sqlite3_bind_int64(s, 2, sel->idx);
    } else {
        s = store_prepare(st, "SELECT error_records FROM runs WHERE id = ?");
    }
    sqlite3_bind_int64(s, 1, sel->run_id);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return n;
}

int query_error_groups(struct ns_store *st, const struct ns_error_select *sel, int limit,
                       struct ns_error_group **rows, char *err, size_t errlen)
{
    *rows = NULL;
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT e.signature, count(*) AS n, count(DISTINCT e.idx), min(e.idx), "
                   "min(e.message) FROM error_records e WHERE ");
    error_where(&sql, sel);
    buf_adds(&sql, " GROUP BY e.signature ORDER BY n DESC, e.signature LIMIT ?7");
    sqlite3_stmt *s = prep(st, sql.data, "error groups", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    error_bind(s, sel);
    sqlite3_bind_int(s, 7, limit > 0 ? limit : -1);
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *rows = ns_xrealloc(*rows, sizeof **rows * (size_t)cap);
        }
        struct ns_error_group *g = &(*rows)[n++];
        size_t len;
        g->signature = col_bytes(s, 0, &len);
        g->records = sqlite3_column_int64(s, 1);
        g->partitions = sqlite3_column_int64(s, 2);
        g->first_idx = sqlite3_column_int64(s, 3);
        g->example = col_text(s, 4);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading error groups: %s", sqlite3_errmsg(st->db));
        query_error_groups_release(*rows, n);
        *rows = NULL;
        return -1;
    }
    return n;
}

void query_error_groups_release(struct ns_error_group *rows, int n)
{
    for (int i = 0; i < n; i++) {
        free(rows[i].signature);
        free(rows[i].example);
    }
    free(rows);
}

int64_t query_groups_version(struct ns_store *st, int64_t run_id)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT error_records * 1000003 + n_failed * 7919 + "
                                        "n_retry_wait * 31 + n_succeeded FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, run_id);
    int64_t k = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return k;
}

/* ---- events, samples, commands ---- */

static void read_event(sqlite3_stmt *s, void *row)
{
    struct ns_event_row *e = row;
    e->id = sqlite3_column_int64(s, 0);
    e->idx = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 1);
    e->attempt_id = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
    e->at = sqlite3_column_double(s, 3);
    e->kind = col_text(s, 4);
    e->message = col_text(s, 5);
    if (!e->kind)
        e->kind = ns_xstrdup("");
    if (!e->message)
        e->message = ns_xstrdup("");
}

int query_events_tail(struct ns_store *st, int64_t run_id, int limit, struct ns_event_row *rows,
                      char *err, size_t errlen)
{
    sqlite3_stmt *s = prep(st,
                           "SELECT id, idx, attempt_id, at, kind, message FROM (SELECT * FROM "
                           "events WHERE run_id = ? AND kind NOT IN ('attempt_start') ORDER BY "
                           "id DESC LIMIT ?) ORDER BY id",
                           "events", err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int(s, 2, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    return step_rows(st, s, limit, rows, sizeof *rows, read_event, "events", err, errlen);
}

void query_event_row_release(struct ns_event_row *r)
{
    free(r->kind);
    free(r->message);
    memset(r, 0, sizeof *r);
}

int query_throughput_series(struct ns_store *st, int64_t run_id, double since, double **rates)
{
    *rates = NULL;
    sqlite3_stmt *s = store_prepare(st, "SELECT at, done FROM samples WHERE run_id = ? AND at >= ? "
                                        "ORDER BY at LIMIT 2000");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_double(s, 2, since);
    double pat = 0, pdone = 0;
    int n = 0, cap = 0;
    bool first = true;
    while (sqlite3_step(s) == SQLITE_ROW) {
        double at = sqlite3_column_double(s, 0), done = sqlite3_column_double(s, 1);
        if (!first && at > pat) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                *rates = ns_xrealloc(*rates, sizeof **rates * (size_t)cap);
            }
            (*rates)[n++] = (done - pdone) / (at - pat);
        }
        first = false;
        pat = at;
        pdone = done;
    }
    sqlite3_finalize(s);
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

int query_commands(struct ns_store *st, int64_t run_id, int64_t after, int64_t limit,
                   struct ns_command_row **rows, char *err, size_t errlen)
{
    *rows = NULL;
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    cols_select(&sql, command_cols, NS_ARRAY_LEN(command_cols));
    buf_adds(&sql, " FROM commands WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
    sqlite3_stmt *s = prep(st, sql.data, "commands", err, errlen);
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
        cols_read(s, command_cols, NS_ARRAY_LEN(command_cols), c);
        char **txt[] = {&c->user, &c->source, &c->verb, &c->args, &c->state};
        for (size_t i = 0; i < NS_ARRAY_LEN(txt); i++)
            if (!*txt[i])
                *txt[i] = ns_xstrdup("");
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading commands: %s", sqlite3_errmsg(st->db));
        query_command_rows_release(*rows, n);
        *rows = NULL;
        return -1;
    }
    return n;
}

void query_command_rows_release(struct ns_command_row *rows, int n)
{
    for (int i = 0; i < n; i++)
        cols_release(command_cols, NS_ARRAY_LEN(command_cols), &rows[i], sizeof rows[i]);
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
