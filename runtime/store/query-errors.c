/*
 * query-errors.c - the read model's error records (query.h): pages of them
 * by run, partition, signature or text, one record, counts, and the groups
 * they fall into by signature.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "query-internal.h"

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
    sqlite3_stmt *s = query_prep(st, sql.data, "error records", err, errlen);
    buf_release(&sql);
    if (!s)
        return -1;
    error_bind(s, sel);
    if (anchor)
        sqlite3_bind_int64(s, 5, anchor->id);
    sqlite3_bind_int(s, 6, limit);
    memset(rows, 0, sizeof *rows * (size_t)(limit > 0 ? limit : 0));
    int n =
        query_step_rows(st, s, limit, rows, sizeof *rows, read_error, "error records", err, errlen);
    if (dir < 0 && n > 0)
        query_reverse_rows(rows, n, sizeof *rows);
    return n;
}

int query_error(struct ns_store *st, int64_t run_id, int64_t id, struct ns_error_row *out,
                char *err, size_t errlen)
{
    const int64_t args[] = {run_id, id};
    return query_one_row(st,
                         "SELECT " ERROR_COLS "e.payload" ERROR_FROM "e.run_id = ?1 AND e.id = ?2",
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

/* The groups of a whole run come from the running counts the journal keeps
 * (error_signatures): a handful of rows however many records there are; its
 * first partition and first record are one index probe each. A partition's
 * records or a text filter are grouped from the records themselves (a
 * partition's are few next to a run's; a filter reads them anyway). Either
 * way the example is the group's earliest record still kept. */
static const char *const groups_counted_sql =
    "SELECT g.signature, g.records, g.partitions, "
    "(SELECT min(p.idx) FROM error_signature_parts p WHERE p.run_id = ?1 AND "
    "p.signature = g.signature), "
    "(SELECT e.message FROM error_records e WHERE e.run_id = ?1 AND e.signature = g.signature "
    "ORDER BY e.id LIMIT 1) "
    "FROM error_signatures g WHERE g.run_id = ?1 AND g.records > 0 AND "
    "(?3 IS NULL OR g.signature = ?3) ORDER BY g.records DESC, g.signature LIMIT ?7";

int query_error_groups(struct ns_store *st, const struct ns_error_select *sel, int limit,
                       struct ns_error_group **rows, char *err, size_t errlen)
{
    *rows = NULL;
    struct ns_buf sql = NS_BUF_INIT;
    if (sel->idx < 0 && !(sel->text && sel->text[0])) {
        buf_adds(&sql, groups_counted_sql);
    } else {
        buf_adds(&sql, "SELECT g.signature, g.n, g.parts, g.first_idx, (SELECT x.message FROM "
                       "error_records x WHERE x.id = g.first_id) FROM (SELECT e.signature, "
                       "count(*) AS n, count(DISTINCT e.idx) AS parts, min(e.idx) AS first_idx, "
                       "min(e.id) AS first_id FROM error_records e WHERE ");
        error_where(&sql, sel);
        buf_adds(&sql, " GROUP BY e.signature) g ORDER BY g.n DESC, g.signature LIMIT ?7");
    }
    sqlite3_stmt *s = query_prep(st, sql.data, "error groups", err, errlen);
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
        g->example = query_col_text(s, 4);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading error groups: %s", sqlite3_errmsg(store_db(st)));
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
