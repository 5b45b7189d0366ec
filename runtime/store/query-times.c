/*
 * query-times.c - a run's attempts and partitions in two scans
 * (query-times.h).
 *
 * The attempts are read in table order over the run's id range and sorted
 * in C; the partitions walk their primary key: the two arrays are in
 * partition order and are joined by one merge, never a subquery per row.
 * Nothing here writes; each statement is finalized before return.
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/query-times.h"
#include "nightshift/query.h"
#include "store-internal.h"
#include "query-internal.h"

double query_span_run_start(const struct ns_span *s)
{
    if (s->ended_at > 0 && s->duration >= 0 && s->ended_at - s->duration > s->started_at)
        return s->ended_at - s->duration;
    return s->started_at;
}

/* Grows an array of elem-byte items to hold one more than *n. */
static void *grow(void *a, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return a;
    *cap = *cap ? *cap * 2 : 1024;
    return ns_xrealloc(a, *cap * elem);
}

static int by_partition(const void *x, const void *y)
{
    const struct ns_span *a = x, *b = y;
    if (a->idx != b->idx)
        return a->idx < b->idx ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
}

static const char *const wait_words[NS_WAIT_COUNT] = {"", "pool", "window", "upstream"};

const char *query_wait_kind_word(enum ns_wait_kind k)
{
    return k > NS_WAIT_NONE && k < NS_WAIT_COUNT ? wait_words[k] : "";
}

enum ns_wait_kind query_wait_kind_of(const char *word)
{
    for (int k = NS_WAIT_NONE + 1; word && k < NS_WAIT_COUNT; k++)
        if (strcmp(word, wait_words[k]) == 0)
            return (enum ns_wait_kind)k;
    return NS_WAIT_NONE;
}

/* Every attempt of the run, read in row order over the id range the run's
 * attempts span (a sequential walk of the table: the index in partition
 * order would cost a table lookup per attempt, two thirds of the scan at
 * 200 000 partitions), then sorted by partition and number in memory. */
static int read_spans(struct ns_store *st, int64_t run_id, struct ns_run_times *t, char *err,
                      size_t errlen)
{
    sqlite3_stmt *s = query_prep(st,
                                 "SELECT idx, n, started_at, coalesce(ended_at, 0), "
                                 "coalesce(duration, -1), outcome, coalesce(redone, 0), "
                                 "coalesce(waited_s, 0), waited_for "
                                 "FROM attempts WHERE id BETWEEN (SELECT min(id) FROM "
                                 "attempts WHERE run_id = ?1) AND (SELECT max(id) FROM "
                                 "attempts WHERE run_id = ?1) AND +run_id = ?1",
                                 "the run's attempts", err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        t->spans = grow(t->spans, t->nspans, &cap, sizeof *t->spans);
        struct ns_span *a = &t->spans[t->nspans++];
        a->idx = sqlite3_column_int64(s, 0);
        a->n = (int32_t)sqlite3_column_int64(s, 1);
        a->started_at = sqlite3_column_double(s, 2);
        a->ended_at = sqlite3_column_double(s, 3);
        a->duration = sqlite3_column_double(s, 4);
        a->outcome = (int8_t)query_attempt_outcome_of((const char *)sqlite3_column_text(s, 5));
        a->redone = sqlite3_column_int64(s, 6);
        a->waited_s = (float)sqlite3_column_double(s, 7);
        a->waited_for = (int8_t)query_wait_kind_of((const char *)sqlite3_column_text(s, 8));
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading the run's attempts: %s", sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    for (size_t i = 1; i < t->nspans; i++)
        if (by_partition(&t->spans[i - 1], &t->spans[i]) > 0) {
            /* Retries come after later partitions' first attempts. */
            qsort(t->spans, t->nspans, sizeof *t->spans, by_partition);
            break;
        }
    return 0;
}

/* The partitions, each joined with its run of spans (both in idx order). */
static int read_parts(struct ns_store *st, int64_t run_id, bool with_keys, struct ns_run_times *t,
                      char *err, size_t errlen)
{
    sqlite3_stmt *s = query_prep(st,
                                 with_keys ? "SELECT idx, state, attempts_total, "
                                             "coalesce(finished_at, 0), key FROM partitions "
                                             "WHERE run_id = ? ORDER BY idx"
                                           : "SELECT idx, state, attempts_total, "
                                             "coalesce(finished_at, 0) FROM partitions WHERE "
                                             "run_id = ? ORDER BY idx",
                                 "the run's partitions", err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    size_t cap = 0, k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        t->parts = grow(t->parts, t->nparts, &cap, sizeof *t->parts);
        struct ns_part_time *p = &t->parts[t->nparts++];
        memset(p, 0, sizeof *p);
        p->idx = sqlite3_column_int64(s, 0);
        p->state = (int8_t)query_part_state_of((const char *)sqlite3_column_text(s, 1));
        p->attempts_total = sqlite3_column_int64(s, 2);
        p->finished_at = sqlite3_column_double(s, 3);
        if (with_keys)
            p->key = query_col_text(s, 4);
        while (k < t->nspans && t->spans[k].idx < p->idx)
            k++; /* attempts of a partition no longer in the table: none expected */
        p->first_span = k;
        p->timed_wholly = true;
        for (; k < t->nspans && t->spans[k].idx == p->idx; k++) {
            p->nspans++;
            if (t->spans[k].outcome >= 0 && t->spans[k].duration < 0)
                p->timed_wholly = false;
            if (t->spans[k].duration > 0)
                p->seconds += t->spans[k].duration;
        }
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading the run's partitions: %s", sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    return 0;
}

int query_run_times(struct ns_store *st, int64_t run_id, bool with_keys, struct ns_run_times *out,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (read_spans(st, run_id, out, err, errlen) != 0)
        return -1;
    return read_parts(st, run_id, with_keys, out, err, errlen);
}

int query_run_times_keys(struct ns_store *st, int64_t run_id, struct ns_run_times *t, char *err,
                         size_t errlen)
{
    sqlite3_stmt *s =
        query_prep(st, "SELECT idx, key FROM partitions WHERE run_id = ? ORDER BY idx",
                   "the run's partition keys", err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(s, 0);
        while (k < t->nparts && t->parts[k].idx < idx)
            k++;
        if (k < t->nparts && t->parts[k].idx == idx && !t->parts[k].key)
            t->parts[k].key = query_col_text(s, 1);
    }
    if (rc != SQLITE_DONE)
        ns_errf(err, errlen, "reading the run's partition keys: %s", sqlite3_errmsg(store_db(st)));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

void query_run_times_release(struct ns_run_times *t)
{
    for (size_t i = 0; i < t->nparts; i++)
        free(t->parts[i].key);
    free(t->parts);
    free(t->spans);
    memset(t, 0, sizeof *t);
}

int query_part_key_state(struct ns_store *st, int64_t run_id, int64_t idx, char **key, char **state)
{
    *key = *state = NULL;
    sqlite3_stmt *s =
        store_prepare(st, "SELECT key, state FROM partitions WHERE run_id = ? AND idx = ?");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, idx);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *key = query_col_text(s, 0);
        *state = query_col_text(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

long query_run_samples(struct ns_store *st, int64_t run_id, struct ns_sample **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    sqlite3_stmt *s = query_prep(st,
                                 "SELECT at, done, records, failed, coalesce(running, -1) FROM "
                                 "samples WHERE run_id = ? "
                                 "ORDER BY at",
                                 "the run's samples", err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = grow(*out, n, &cap, sizeof **out);
        (*out)[n++] = (struct ns_sample){sqlite3_column_double(s, 0), sqlite3_column_int64(s, 1),
                                         sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                                         sqlite3_column_int64(s, 4)};
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading the run's samples: %s", sqlite3_errmsg(store_db(st)));
        n = 0;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? (long)n : -1;
}

int64_t query_previous_success(struct ns_store *st, int64_t run_id)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT id FROM runs WHERE job = (SELECT job FROM runs WHERE id = ?1) AND state = "
            "'succeeded' AND id <> ?1 AND created_at <= (SELECT created_at FROM runs WHERE id = "
            "?1) ORDER BY created_at DESC, id DESC LIMIT 1");
    sqlite3_bind_int64(s, 1, run_id);
    int rc = sqlite3_step(s);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(s);
    return id;
}
