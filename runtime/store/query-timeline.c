/*
 * query-timeline.c - the read model's timeline of a run: its attempts as
 * spans in time, and the waits between a failure and its retry, for the
 * console's timeline view. Only the window asked for is read, at most max
 * spans: a night of a million attempts is never loaded whole.
 */
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/query-times.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "query-internal.h"

static enum ns_tl_kind kind_of(const char *outcome)
{
    if (!outcome)
        return NS_TL_RUNNING;
    if (strcmp(outcome, "succeeded") == 0)
        return NS_TL_OK;
    if (strcmp(outcome, "killed") == 0 || strcmp(outcome, "interrupted") == 0 ||
        strcmp(outcome, "lost") == 0)
        return NS_TL_STOPPED;
    return NS_TL_FAILED;
}

static void push(struct ns_tl_span **v, size_t *n, size_t *cap, struct ns_tl_span s)
{
    if (*n == *cap)
        *v = ns_xrealloc(*v, sizeof **v * (*cap = *cap ? *cap * 2 : 256));
    (*v)[(*n)++] = s;
}

int query_timeline_spans(struct ns_store *st, int64_t run_id, double from, double to, int max,
                struct ns_tl_span **out)
{
    /* Each attempt, and when the one before it of its partition ended:
     * the retry's wait. */
    sqlite3_stmt *s = store_prepare(
        st, "SELECT idx, n, started_at, coalesce(ended_at, 0), outcome, "
            "(SELECT max(b.ended_at) FROM attempts b WHERE b.run_id = a.run_id AND b.idx = a.idx "
            "AND b.n < a.n), coalesce(waited_s, 0), waited_for FROM attempts a "
            "WHERE run_id = ?1 AND started_at < ?3 AND "
            "(ended_at IS NULL OR ended_at >= ?2) ORDER BY started_at, idx LIMIT ?4");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_double(s, 2, from);
    sqlite3_bind_double(s, 3, to);
    sqlite3_bind_int(s, 4, max);
    struct ns_tl_span *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n + 2 < (size_t)max) {
        struct ns_tl_span a = {.idx = sqlite3_column_int64(s, 0),
                            .n = sqlite3_column_int64(s, 1),
                            .start = sqlite3_column_double(s, 2),
                            .end = sqlite3_column_double(s, 3),
                            .kind = kind_of((const char *)sqlite3_column_text(s, 4))};
        if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
            double prev_end = sqlite3_column_double(s, 5);
            if (prev_end < a.start)
                push(&v, &n, &cap,
                     (struct ns_tl_span){a.idx, a.n, prev_end, a.start, NS_TL_WAITING});
        }
        double held = sqlite3_column_double(s, 6);
        enum ns_wait_kind why = query_wait_kind_of((const char *)sqlite3_column_text(s, 7));
        if (held > 0 && why != NS_WAIT_NONE)
            push(&v, &n, &cap,
                 (struct ns_tl_span){a.idx, a.n, a.start - held, a.start,
                                     NS_TL_HELD_POOL + (why - NS_WAIT_POOL)});
        push(&v, &n, &cap, a);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(v);
        return -1;
    }
    /* Partitions waiting to retry now: from their last end on. */
    s = store_prepare(st, "SELECT idx, (SELECT max(a.ended_at) FROM attempts a WHERE a.run_id = "
                          "p.run_id AND a.idx = p.idx) FROM partitions p WHERE run_id = ?1 AND "
                          "state = 'retry_wait' LIMIT ?2");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int(s, 2, max);
    while (sqlite3_step(s) == SQLITE_ROW && n < (size_t)max)
        if (sqlite3_column_type(s, 1) != SQLITE_NULL && sqlite3_column_double(s, 1) < to)
            push(&v, &n, &cap,
                 (struct ns_tl_span){sqlite3_column_int64(s, 0), 0, sqlite3_column_double(s, 1), 0,
                                  NS_TL_WAITING});
    sqlite3_finalize(s);
    *out = v;
    return (int)n;
}
