/*
 * deps.c - what a run waits for (deps.h): the run_after rows, finding an
 * upstream run, and deps_judge, the one judgement of whether a partition
 * may start (used by the waiting runtime and by every reader alike).
 *
 * Same-key lookups try the partition at our own index first (two runs over
 * the same days have the same plan order) and fall back to a search by key
 * within the upstream run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/deps.h"
#include "nightshift/query.h"
#include "nightshift/util.h"

static char *text_dup(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return ns_xstrdup(t ? (const char *)t : "");
}

void deps_free(struct ns_dep *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++) {
        free(d[i].job);
        free(d[i].partitions);
        free(d[i].on_failure);
        free(d[i].missing);
    }
    free(d);
}

int deps_record(struct ns_store *st, int64_t run_id, const struct ns_dep *d, size_t n, char *err,
                size_t errlen)
{
    if (store_begin(st, err, errlen) != 0)
        return -1;
    sqlite3_stmt *del = store_prepare(st, "DELETE FROM run_after WHERE run_id = ?");
    sqlite3_bind_int64(del, 1, run_id);
    int rc = sqlite3_step(del) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(del);
    sqlite3_stmt *ins = store_prepare(
        st, "INSERT INTO run_after (run_id, pos, job, partitions, on_failure, missing, "
            "upstream_run, pinned) VALUES (?, ?, ?, ?, ?, ?, nullif(?, 0), ?)");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(ins, 1, run_id);
        sqlite3_bind_int(ins, 2, d[i].pos);
        sqlite3_bind_text(ins, 3, d[i].job, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, d[i].partitions, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, d[i].on_failure, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, d[i].missing, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 7, d[i].upstream_run);
        sqlite3_bind_int(ins, 8, d[i].pinned);
        rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(ins);
    }
    if (rc != 0)
        ns_errf(err, errlen, "run %lld: its upstreams: %s", (long long)run_id,
                sqlite3_errmsg(store_db(st)));
    sqlite3_finalize(ins);
    if (rc != 0) {
        store_rollback(st);
        return -1;
    }
    return store_commit(st, err, errlen);
}

long deps_read(struct ns_store *st, int64_t run_id, struct ns_dep **out)
{
    *out = NULL;
    sqlite3_stmt *s = store_prepare(
        st, "SELECT pos, job, partitions, on_failure, missing, coalesce(upstream_run, 0), pinned "
            "FROM run_after WHERE run_id = ? ORDER BY pos");
    sqlite3_bind_int64(s, 1, run_id);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = ns_xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct ns_dep *d = &(*out)[n++];
        d->pos = sqlite3_column_int(s, 0);
        d->job = text_dup(s, 1);
        d->partitions = text_dup(s, 2);
        d->on_failure = text_dup(s, 3);
        d->missing = text_dup(s, 4);
        d->upstream_run = sqlite3_column_int64(s, 5);
        d->pinned = sqlite3_column_int(s, 6) != 0;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        deps_free(*out, (size_t)n);
        *out = NULL;
        return -1;
    }
    return n;
}

int64_t deps_find_upstream(struct ns_store *st, const char *job, int64_t run_id)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT r.id FROM runs r WHERE r.job = ?1 AND r.id != ?2 AND NOT EXISTS ("
            "SELECT 1 FROM json_each(r.params_json) a, "
            "json_each((SELECT params_json FROM runs WHERE id = ?2)) b "
            "WHERE a.key = b.key AND a.value IS NOT b.value) ORDER BY r.id DESC LIMIT 1");
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, run_id);
    int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return id;
}

char *deps_run_job(struct ns_store *st, int64_t run_id)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT job FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, run_id);
    char *job = sqlite3_step(s) == SQLITE_ROW ? text_dup(s, 0) : NULL;
    sqlite3_finalize(s);
    return job;
}

char **deps_jobs_after(struct ns_store *st, const char *job)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT a.job FROM run_after a WHERE a.run_id = "
            "(SELECT max(id) FROM runs WHERE job = ?) ORDER BY a.pos");
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    char **jobs = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        jobs = ns_xrealloc(jobs, (n + 2) * sizeof *jobs);
        jobs[n++] = text_dup(s, 0);
        jobs[n] = NULL;
    }
    sqlite3_finalize(s);
    return jobs;
}

/* Failure or not, what on_failure makes of an upstream that will not
 * succeed without a human. */
static enum ns_dep_verdict on_failure(const struct ns_dep *d)
{
    if (strcmp(d->on_failure, "skip") == 0)
        return NS_DEP_SKIP;
    if (strcmp(d->on_failure, "fail") == 0)
        return NS_DEP_FAIL;
    return NS_DEP_WAIT;
}

/* partitions: all - the whole upstream run must have succeeded. */
static enum ns_dep_verdict judge_run(struct ns_store *st, const struct ns_dep *d, char *why,
                                     size_t whylen)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT state, n_succeeded + n_failed + n_skipped, total, n_failed FROM runs "
            "WHERE id = ?");
    sqlite3_bind_int64(s, 1, d->upstream_run);
    enum ns_dep_verdict v = NS_DEP_WAIT;
    if (sqlite3_step(s) != SQLITE_ROW) {
        snprintf(why, whylen, "waiting for %s run %lld (deleted)", d->job,
                 (long long)d->upstream_run);
    } else {
        int state = query_run_state_of((const char *)sqlite3_column_text(s, 0));
        const char *word = (const char *)sqlite3_column_text(s, 0);
        long long done = sqlite3_column_int64(s, 1), total = sqlite3_column_int64(s, 2),
                  failed = sqlite3_column_int64(s, 3);
        if (state == NS_RS_SUCCEEDED)
            v = NS_DEP_READY;
        else if (state == NS_RS_FAILED)
            v = on_failure(d);
        snprintf(why, whylen, "%s %s run %lld (%s, %lld/%lld done%s)",
                 v == NS_DEP_WAIT ? "waiting for" : "after", d->job, (long long)d->upstream_run,
                 word, done, total, failed ? ", some failed" : "");
    }
    sqlite3_finalize(s);
    return v;
}

/* The upstream partition of (idx, key): at our index if its key is ours,
 * else found by key. Returns the statement on its row, or NULL. */
static sqlite3_stmt *upstream_part(struct ns_store *st, int64_t up_run, int64_t idx,
                                   const char *key)
{
    static const char *const sql[] = {
        "SELECT state, attempts, max_attempts FROM partitions WHERE run_id = ? AND idx = ? "
        "AND key = ?",
        "SELECT state, attempts, max_attempts FROM partitions WHERE run_id = ? AND key = ? "
        "LIMIT 1",
    };
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *s = store_prepare(st, sql[i]);
        sqlite3_bind_int64(s, 1, up_run);
        if (i == 0) {
            sqlite3_bind_int64(s, 2, idx);
            sqlite3_bind_text(s, 3, key, -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
        }
        if (sqlite3_step(s) == SQLITE_ROW)
            return s;
        sqlite3_finalize(s);
    }
    return NULL;
}

enum ns_dep_verdict deps_judge(struct ns_store *st, const struct ns_dep *d, int64_t idx,
                               const char *key, char *why, size_t whylen)
{
    if (d->upstream_run <= 0) {
        snprintf(why, whylen, "waiting for a run of %s (none yet)", d->job);
        return NS_DEP_WAIT;
    }
    if (strcmp(d->partitions, "all") == 0)
        return judge_run(st, d, why, whylen);
    sqlite3_stmt *s = upstream_part(st, d->upstream_run, idx, key);
    if (!s) {
        if (strcmp(d->missing, "ignore") == 0)
            return NS_DEP_READY;
        snprintf(why, whylen, "%s run %lld has no partition %s (missing: ignore would run it)",
                 d->job, (long long)d->upstream_run, key);
        return NS_DEP_FAIL;
    }
    int state = query_part_state_of((const char *)sqlite3_column_text(s, 0));
    const char *word = (const char *)sqlite3_column_text(s, 0);
    long long attempts = sqlite3_column_int64(s, 1), max = sqlite3_column_int64(s, 2);
    enum ns_dep_verdict v = NS_DEP_WAIT;
    if (state == NS_PS_SUCCEEDED)
        v = NS_DEP_READY;
    else if (state == NS_PS_FAILED || state == NS_PS_SKIPPED)
        v = on_failure(d);
    if (state == NS_PS_PENDING && attempts == 0)
        snprintf(why, whylen, "waiting for %s %s (pending)", d->job, key);
    else
        snprintf(why, whylen, "%s %s %s (%s, attempt %lld/%lld)",
                 v == NS_DEP_WAIT ? "waiting for" : "after", d->job, key, word, attempts, max);
    sqlite3_finalize(s);
    return v;
}

long deps_settled_since(struct ns_store *st, int64_t up_run, double since, double *newest,
                        void (*each)(void *ctx, int64_t idx, const char *key), void *ctx)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT idx, key, updated_at FROM partitions WHERE run_id = ? AND updated_at >= ? "
            "AND state IN ('succeeded', 'failed', 'skipped')");
    sqlite3_bind_int64(s, 1, up_run);
    sqlite3_bind_double(s, 2, since);
    *newest = since;
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        double at = sqlite3_column_double(s, 2);
        if (at > *newest)
            *newest = at;
        each(ctx, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1));
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -1;
}

long deps_waits(struct ns_store *st, int64_t run_id, long limit, long scan_limit,
                struct ns_dep_wait **out, long *total)
{
    *out = NULL;
    *total = 0;
    struct ns_dep *deps;
    long nd = deps_read(st, run_id, &deps);
    if (nd <= 0)
        return nd;
    for (long i = 0; i < nd; i++) /* found since it started: the runtime finds the same */
        if (deps[i].upstream_run <= 0 && !deps[i].pinned)
            deps[i].upstream_run = deps_find_upstream(st, deps[i].job, run_id);
    sqlite3_stmt *s = store_prepare(st, "SELECT idx, key FROM partitions WHERE run_id = ? AND "
                                        "state = 'pending' ORDER BY idx LIMIT ?");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, scan_limit);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(s, 0);
        char *key = text_dup(s, 1);
        char why[512];
        long d = 0;
        while (d < nd && deps_judge(st, &deps[d], idx, key, why, sizeof why) == NS_DEP_READY)
            d++;
        if (d == nd || ++*total > limit) {
            free(key);
            continue;
        }
        *out = ns_xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = (struct ns_dep_wait){idx, key, ns_xstrdup(why)};
    }
    sqlite3_finalize(s);
    deps_free(deps, (size_t)nd);
    if (rc != SQLITE_DONE) {
        deps_waits_free(*out, n);
        *out = NULL;
        return -1;
    }
    return n;
}

void deps_waits_free(struct ns_dep_wait *w, long n)
{
    for (long i = 0; w && i < n; i++) {
        free(w[i].key);
        free(w[i].why);
    }
    free(w);
}

#define RUN_WAITING_SCAN 1000 /* pending partitions looked at for the run's word */

char *deps_run_waiting(struct ns_store *st, int64_t run_id)
{
    struct ns_dep_wait *w;
    long total;
    long n = deps_waits(st, run_id, 1, RUN_WAITING_SCAN, &w, &total);
    if (n <= 0)
        return NULL;
    char *word = total > 1 ? ns_xasprintf("%s; %ld more partition%s wait%s", w[0].why, total - 1,
                                          total - 1 == 1 ? "" : "s", total - 1 == 1 ? "s" : "")
                           : ns_xstrdup(w[0].why);
    deps_waits_free(w, n);
    return word;
}
