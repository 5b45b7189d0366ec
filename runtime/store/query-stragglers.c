/*
 * query-stragglers.c - the read model's stragglers (query.h): the rule,
 * and the running partitions it flags now. The runtime stores the
 * threshold it works out from the run's succeeded attempts
 * (runs.straggler_after); readers test only the live attempts against it,
 * so the question costs the same at a million partitions as at ten.
 */
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "query-internal.h"

double query_straggler_after(double median_s, int64_t finished)
{
    if (finished < NS_STRAGGLER_MIN_FINISHED || median_s < 0)
        return 0;
    double after = NS_STRAGGLER_FACTOR * median_s;
    return after < NS_STRAGGLER_MIN_S ? NS_STRAGGLER_MIN_S : after;
}

bool query_is_straggler(double straggler_after, int part_state, double live_started_at, double now)
{
    return straggler_after > 0 && part_state == NS_PS_RUNNING && live_started_at > 0 &&
           now - live_started_at > straggler_after;
}

int64_t query_stragglers(struct ns_store *st, int64_t run_id, double straggler_after, double now,
                         struct ns_straggler *out, size_t max)
{
    if (straggler_after <= 0)
        return 0;
    /* Over attempts_live: at most the attempts that run or wait in a queue. */
    sqlite3_stmt *s = store_prepare(
        st, "SELECT a.idx, p.key, a.started_at FROM attempts a JOIN partitions p ON "
            "p.run_id = a.run_id AND p.idx = a.idx WHERE a.run_id = ?1 AND a.outcome IS NULL "
            "AND p.state = 'running' ORDER BY a.started_at, a.idx");
    sqlite3_bind_int64(s, 1, run_id);
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        double started = sqlite3_column_double(s, 2);
        if (!query_is_straggler(straggler_after, NS_PS_RUNNING, started, now))
            break; /* by start time: the rest started later */
        if ((size_t)n < max) {
            struct ns_straggler *r = &out[n];
            r->idx = sqlite3_column_int64(s, 0);
            r->key = query_col_text(s, 1);
            if (!r->key)
                r->key = ns_xstrdup("");
            r->started_at = started;
            r->running_s = now - started;
        }
        n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        query_stragglers_release(out, (size_t)n < max ? (size_t)n : max);
        return -1;
    }
    return n;
}

void query_stragglers_release(struct ns_straggler *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        free(rows[i].key);
        rows[i].key = NULL;
    }
}
