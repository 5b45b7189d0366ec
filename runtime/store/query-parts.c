/*
 * query-parts.c - the read model's partitions and attempts (query.h): pages
 * in any sort order after a key, one row, counts, ranges and per-state
 * figures. Pages are keyset-paginated: a page is found by the sort key of
 * its edge row, never by OFFSET, so a page costs the same deep in a run.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "query-internal.h"

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
/* The live attempt's start, its records/s at ?8, every attempt's time. */
#define LIVE_START                                                                                 \
    "(SELECT max(a.started_at) FROM attempts a WHERE a.run_id = partitions.run_id AND a.idx = "    \
    "partitions.idx AND a.outcome IS NULL)"
#define LIVE_RATE "coalesce(progress / nullif(?8 - " LIVE_START ", 0), 0.0)"

/* Each order's key as SQL (NULL: idx itself) and whether it is text; the
 * keyset condition is (key, idx) > (?7, ?2), the tie broken by idx. */
#define NS_SORT_NAME(e, name) [NS_SORT_##e] = name,
static const char *const sort_names[NS_SORT_COUNT] = {NS_PART_SORTS(NS_SORT_NAME)};
#undef NS_SORT_NAME
static const struct {
    const char *expr;
    bool text;
} sort_keys[NS_SORT_COUNT] = {
    [NS_SORT_IDX] = {NULL, false},
    [NS_SORT_KEY] = {"key", true},
    [NS_SORT_STATE] = {"state", true},
    [NS_SORT_PROGRESS] = {PFRAC, false},
    [NS_SORT_RATE] = {LIVE_RATE, false},
    [NS_SORT_ATTEMPTS] = {"attempts_total", false},
    [NS_SORT_ELAPSED] = {"(SELECT coalesce(sum(coalesce(a.duration, ?8 - a.started_at)), 0.0) FROM "
                         "attempts a WHERE a.run_id = partitions.run_id AND a.idx = partitions.idx)",
                         false},
    /* Unknown ETAs last: 1e18. */
    [NS_SORT_ETA] = {"CASE WHEN state = 'running' AND total > 0 AND " LIVE_RATE
                     " > 0 THEN (total - progress) / " LIVE_RATE " ELSE 1e18 END",
                     false},
    [NS_SORT_ERRORS] = {"error_records", false},
    [NS_SORT_MESSAGE] = {"coalesce(last_message, '')", true},
};

const char *query_part_sort_name(enum ns_part_sort s)
{
    return (unsigned)s < NS_SORT_COUNT ? sort_names[s] : "?";
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
    /* A paused partition's live attempt stopped moving when it was paused. */
    {"CASE WHEN state = 'paused' THEN coalesce(updated_at, 0) ELSE 0 END", C_REAL, PR(live_until)},
};
#undef PR
/* checkpoint is read after the table's columns (a blob with its length). */
#define PART_CHECKPOINT_COL ((int)NS_ARRAY_LEN(part_cols))

static void read_part(sqlite3_stmt *s, void *row)
{
    struct ns_part_row *r = row;
    query_cols_read(s, part_cols, NS_ARRAY_LEN(part_cols), r);
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

/* "SELECT <the table's columns>, checkpoint": the caller adds any more
 * columns and the FROM. */
static void part_select_cols(struct ns_buf *sql)
{
    buf_adds(sql, "SELECT ");
    query_cols_select(sql, part_cols, NS_ARRAY_LEN(part_cols));
    buf_adds(sql, ", checkpoint");
}

/* The parameters of a filter's and a search's terms (query-filter.c). */
enum { WHERE_BASE = 20, SEARCH_BASE = 40 };

/* WHERE of a selection; binds ?1 run, ?5 text, ?6 signature or state,
 * ?20... the filter's terms, ?40... the search's. */
static void part_where(struct ns_buf *sql, const struct ns_part_select *sel)
{
    buf_addf(sql, "WHERE run_id = ?1 AND %s",
             sel->state ? "state = ?6" : filter_sql[(unsigned)sel->filter % NS_PF_COUNT]);
    if (sel->text && sel->text[0])
        buf_adds(sql, " AND (instr(key, ?5) > 0 OR instr(coalesce(last_message, ''), ?5) > 0)");
    if (sel->where && sel->where->n) {
        buf_adds(sql, " AND ");
        query_part_expr_sql(sql, sel->where, WHERE_BASE);
    }
    if (sel->only_hits) {
        buf_adds(sql, " AND ");
        query_part_expr_sql(sql, sel->search, SEARCH_BASE);
    }
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
    query_part_expr_bind(s, sel->where, WHERE_BASE);
    query_part_expr_bind(s, sel->search, SEARCH_BASE);
    sqlite3_bind_double(s, 8, sel->now);
}

/* The keyset condition and the order of a page: (key, idx) against the
 * anchor's (?7, ?2), reversed for a descending sort or a page backwards. */
static void part_order(struct ns_buf *sql, const struct ns_part_select *sel, bool anchored,
                       int dir)
{
    unsigned so = (unsigned)sel->sort % NS_SORT_COUNT;
    const char *key = sort_keys[so].expr;
    bool down = sel->desc != (dir < 0); /* rows in descending order */
    if (anchored) {
        const char *cmp = dir == 0 ? (sel->desc ? "<=" : ">=") : down ? "<" : ">";
        if (key)
            buf_addf(sql, " AND (%s, idx) %s (?7, ?2)", key, cmp);
        else
            buf_addf(sql, " AND idx %s ?2", cmp);
    }
    const char *o = down ? "DESC" : "ASC";
    if (key)
        buf_addf(sql, " ORDER BY %s %s, idx %s LIMIT ?4", key, o, o);
    else
        buf_addf(sql, " ORDER BY idx %s LIMIT ?4", o);
}

/* The row's sort key and search hit, selected after the checkpoint. */
static void read_part_page(sqlite3_stmt *s, void *row)
{
    struct ns_part_row *r = row;
    read_part(s, row);
    if (sqlite3_column_type(s, PART_CHECKPOINT_COL + 1) == SQLITE_TEXT)
        r->sort_text = query_col_text(s, PART_CHECKPOINT_COL + 1);
    else
        r->sort_num = sqlite3_column_double(s, PART_CHECKPOINT_COL + 1);
    r->hit = sqlite3_column_int(s, PART_CHECKPOINT_COL + 2) != 0;
}

/* Rows of a run no runtime drives: their live attempts stopped with its last
 * heartbeat, and nothing of them runs or is paused - they wait for the next
 * runtime like pending ones (the run summary counts them so: query.c). */
static void mark_driverless(struct ns_store *st, int64_t run_id, struct ns_part_row *rows, int n)
{
    bool live = false;
    for (int i = 0; i < n; i++)
        live = live || rows[i].live_started_at > 0 ||
               query_part_state_of(rows[i].state) == NS_PS_RUNNING ||
               query_part_state_of(rows[i].state) == NS_PS_PAUSED;
    if (!live || query_runtime_alive(st, run_id))
        return;
    sqlite3_stmt *s = store_prepare(st, "SELECT max(coalesce(heartbeat_at, 0), updated_at) "
                                        "FROM runs WHERE id = ?1 AND finished_at IS NULL");
    sqlite3_bind_int64(s, 1, run_id);
    double last = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_double(s, 0) : 0;
    sqlite3_finalize(s);
    for (int i = 0; i < n && last > 0; i++) {
        struct ns_part_row *r = &rows[i];
        int state = query_part_state_of(r->state);
        if (state != NS_PS_RUNNING && state != NS_PS_PAUSED)
            continue;
        free(r->state);
        r->state = ns_xstrdup(query_part_state_word(NS_PS_PENDING));
        if (r->live_until <= 0 || last < r->live_until)
            r->live_until = last > r->live_started_at ? last : r->live_started_at;
    }
}

int query_partitions(struct ns_store *st, const struct ns_part_select *sel,
                     const struct ns_part_row *anchor, int dir, int limit, struct ns_part_row *rows,
                     char *err, size_t errlen)
{
    unsigned so = (unsigned)sel->sort % NS_SORT_COUNT;
    struct ns_buf sql = NS_BUF_INIT;
    part_select_cols(&sql);
    buf_addf(&sql, ", %s, ", sort_keys[so].expr ? sort_keys[so].expr : "idx");
    if (sel->search && sel->search->n)
        query_part_expr_sql(&sql, sel->search, SEARCH_BASE);
    else
        buf_adds(&sql, "0");
    buf_adds(&sql, " FROM partitions ");
    part_where(&sql, sel);
    part_order(&sql, sel, anchor != NULL, dir);
    sqlite3_stmt *s = query_prep(st, sql.data, "partitions", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    part_bind(s, sel);
    if (anchor) {
        sqlite3_bind_int64(s, 2, anchor->idx);
        if (sort_keys[so].text)
            sqlite3_bind_text(s, 7, anchor->sort_text ? anchor->sort_text : "", -1,
                              SQLITE_TRANSIENT);
        else
            sqlite3_bind_double(s, 7, anchor->sort_num);
    }
    sqlite3_bind_int(s, 4, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    int n = query_step_rows(st, s, limit, rows, sizeof *rows, read_part_page, "partitions", err,
                            errlen);
    if (dir < 0 && n > 0)
        query_reverse_rows(rows, n, sizeof *rows);
    if (n > 0)
        mark_driverless(st, sel->run_id, rows, n);
    return n;
}

int64_t query_attempts_allowed(const struct ns_part_row *r)
{
    return r->attempts_total - r->attempts + r->max_attempts;
}

const char *query_attempt_label(const struct ns_part_row *r, char *buf, size_t len)
{
    snprintf(buf, len, "%lld/%lld", (long long)r->attempts_total,
             (long long)query_attempts_allowed(r));
    return buf;
}

double query_part_rate(const struct ns_part_row *r, double now)
{
    if (r->live_until > 0) /* paused, or its runtime gone: it does not move */
        return 0;
    double live = r->live_started_at > 0 ? now - r->live_started_at : 0;
    return live > 0 ? (double)r->progress / live : 0;
}

double query_part_eta(const struct ns_part_row *r, double now)
{
    double rate = query_part_rate(r, now);
    if (query_part_state_of(r->state) != NS_PS_RUNNING || rate <= 0 || r->total < 0)
        return -1;
    return (double)(r->total - r->progress) / rate;
}

double query_attempts_seconds(const struct ns_part_row *r, double now)
{
    double t = r->attempts_time;
    double end = r->live_until > 0 ? r->live_until : now;
    if (r->live_started_at > 0 && end > r->live_started_at)
        t += end - r->live_started_at;
    if (t == 0 && r->started_at > 0) /* no attempt rows with durations: wall time */
        t = (r->finished_at > 0 ? r->finished_at : end) - r->started_at;
    if (t < 0)
        t = 0;
    return t;
}

int query_partition(struct ns_store *st, int64_t run_id, int64_t idx, struct ns_part_row *out,
                    char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    part_select_cols(&sql);
    buf_adds(&sql, " FROM partitions WHERE run_id = ?1 AND idx = ?2");
    const int64_t args[] = {run_id, idx};
    int rc = query_one_row(st, sql.data, args, 2, out, sizeof *out, read_part, "a partition", err,
                           errlen);
    buf_release(&sql);
    if (rc == 1)
        mark_driverless(st, run_id, out, 1);
    return rc;
}

void query_part_row_release(struct ns_part_row *r)
{
    free(r->checkpoint); /* read apart from the table (a blob) */
    free(r->sort_text);
    query_cols_release(part_cols, NS_ARRAY_LEN(part_cols), r, sizeof *r);
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

int64_t query_partition_indexes(struct ns_store *st, const struct ns_part_select *sel, int64_t max,
                                int64_t **out)
{
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT idx FROM partitions ");
    part_where(&sql, sel);
    buf_adds(&sql, " ORDER BY idx LIMIT ?4");
    sqlite3_stmt *s = store_prepare(st, sql.data);
    buf_release(&sql);
    part_bind(s, sel);
    sqlite3_bind_int64(s, 4, max);
    size_t cap = 64, n = 0;
    int64_t *v = ns_xmalloc(cap * sizeof *v);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap)
            v = ns_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(v);
        *out = NULL;
        return -1;
    }
    *out = v;
    return (int64_t)n;
}

void query_partition_range(struct ns_store *st, int64_t run_id, int64_t *lo, int64_t *hi)
{
    /* Two subqueries, not min() and max() in one SELECT: SQLite answers a
     * lone min or max from the end of the primary key, but both together
     * scan every partition of the run (95 % of opening a run of 10^6). */
    sqlite3_stmt *s =
        store_prepare(st, "SELECT (SELECT min(idx) FROM partitions WHERE run_id = ?1), "
                          "(SELECT max(idx) FROM partitions WHERE run_id = ?1)");
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
    {"idx", C_INT, AR(idx)},
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
    {"coalesce(log_bytes, -1)", C_INT, AR(log_bytes)},
    {"(SELECT p.key FROM partitions p WHERE p.run_id = attempts.run_id AND p.idx = attempts.idx)",
     C_TEXT, AR(key)},
};
#undef AR
#define ATTEMPT_FLAGS_COL ((int)NS_ARRAY_LEN(attempt_cols))

static void read_attempt(sqlite3_stmt *s, void *row)
{
    struct ns_attempt_row *a = row;
    query_cols_read(s, attempt_cols, NS_ARRAY_LEN(attempt_cols), a);
    a->has_exit = sqlite3_column_int(s, ATTEMPT_FLAGS_COL) != 0;
    a->has_signal = sqlite3_column_int(s, ATTEMPT_FLAGS_COL + 1) != 0;
}

static void attempt_select_sql(struct ns_buf *sql)
{
    buf_adds(sql, "SELECT ");
    query_cols_select(sql, attempt_cols, NS_ARRAY_LEN(attempt_cols));
    buf_adds(sql, ", exit_code IS NOT NULL, signal IS NOT NULL FROM attempts ");
}

/* Attempt rows matching where (two integer parameters, then LIMIT). */
static int attempts_where(struct ns_store *st, const char *where, int64_t p1, int64_t p2,
                          int limit, struct ns_attempt_row *rows, char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    attempt_select_sql(&sql);
    buf_adds(&sql, where);
    sqlite3_stmt *s = query_prep(st, sql.data, "attempts", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, p1);
    sqlite3_bind_int64(s, 2, p2);
    sqlite3_bind_int(s, 3, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    return query_step_rows(st, s, limit, rows, sizeof *rows, read_attempt, "attempts", err, errlen);
}

int query_attempts(struct ns_store *st, int64_t run_id, int64_t idx, int limit,
                   struct ns_attempt_row *rows, char *err, size_t errlen)
{
    return attempts_where(st, "WHERE run_id = ? AND idx = ? ORDER BY n DESC LIMIT ?", run_id, idx,
                          limit, rows, err, errlen);
}

int query_attempt(struct ns_store *st, int64_t run_id, int64_t idx, int64_t n,
                  struct ns_attempt_row *out, char *err, size_t errlen)
{
    struct ns_buf sql = NS_BUF_INIT;
    attempt_select_sql(&sql);
    buf_adds(&sql, "WHERE run_id = ?1 AND idx = ?2 AND (?3 = 0 OR n = ?3) ORDER BY n DESC LIMIT 1");
    const int64_t args[] = {run_id, idx, n};
    int rc = query_one_row(st, sql.data, args, 3, out, sizeof *out, read_attempt, "an attempt", err,
                           errlen);
    buf_release(&sql);
    return rc;
}

int query_run_attempts(struct ns_store *st, int64_t run_id, int64_t after_id, int limit,
                       struct ns_attempt_row *rows, char *err, size_t errlen)
{
    return attempts_where(st, "WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?", run_id, after_id,
                          limit, rows, err, errlen);
}

void query_attempt_row_release(struct ns_attempt_row *r)
{
    query_cols_release(attempt_cols, NS_ARRAY_LEN(attempt_cols), r, sizeof *r);
}
