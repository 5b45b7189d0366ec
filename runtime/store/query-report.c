/*
 * query-report.c - the SQL of the operator reports (query-report.h).
 *
 * Percentiles are nearest-rank over the finished partitions' summed attempt
 * time, read with one ORDER BY per figure (an index-less sort of at most one
 * row per partition; never the whole table in memory). Rework compares each
 * attempt's starting progress with the progress its partition had reached
 * before it (attempts.redone, written at launch by the journal); "after a
 * crash" means the previous attempt of the partition was interrupted.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/control.h"
#include "nightshift/deps.h"
#include "nightshift/query-report.h"
#include "nightshift/query.h"
#include "nightshift/query-times.h"
#include "nightshift/store.h"
#include "store-internal.h"
#include "nightshift/util.h"

static char *col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? ns_xstrndup((const char *)t, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

static char *col_dup_empty(sqlite3_stmt *s, int i)
{
    char *t = col_dup(s, i);
    return t ? t : ns_xstrdup("");
}

static double col_time(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : sqlite3_column_double(s, i);
}

/* The run's own figures come from the read model (query.h): state, counts,
 * liveness and ETA are computed there once for every reader. */
static int load_run(struct ns_store *st, struct ns_run_report *r, char *err, size_t errlen)
{
    int rc = query_run_summary(st, r->run_id, r->now, &r->run, err, errlen);
    if (rc != 1) {
        if (rc == 0)
            ns_errf(err, errlen, "no run %lld in %s", (long long)r->run_id, st->path);
        query_run_summary_release(&r->run); /* and zeroed: report_release may follow */
        return -1;
    }
    /* The read model's elapsed time: it stops where the run stopped moving. */
    r->wall_s = r->run.elapsed_s;
    return 0;
}

/* One report's loading: the first failed statement's error is kept and
 * makes report_load fail (a figure is never silently dropped). */
struct load {
    struct ns_store *st;
    struct ns_run_report *r;
    int rc;
    char *err;
    size_t errlen;
};

/* Finalizes s; sqlite3_finalize returns the error of a step that failed. */
static void load_done(struct load *L, sqlite3_stmt *s)
{
    if (sqlite3_finalize(s) != SQLITE_OK && L->rc == 0) {
        L->rc = -1;
        ns_errf(L->err, L->errlen, "%s: cannot read the run's figures: %s", L->st->path,
                sqlite3_errmsg(store_db(L->st)));
    }
}

/* Attempts by outcome and what they redid, in one pass over the run's
 * attempts (query-times.h); retries from the partitions' own counters;
 * rework after a crash where the attempt before, of the same partition,
 * was interrupted (spans come in partition then attempt order). */
static void count_attempts(struct ns_run_report *r)
{
    /* The report's figure of each outcome; lost has none of its own. */
    int64_t *const by_outcome[NS_AO_COUNT] = {
        [NS_AO_SUCCEEDED] = &r->succeeded_attempts,
        [NS_AO_FAILED] = &r->failed_attempts,
        [NS_AO_TIMED_OUT] = &r->timed_out,
        [NS_AO_SIGNALLED] = &r->signalled,
        [NS_AO_KILLED] = &r->killed,
        [NS_AO_INTERRUPTED] = &r->interrupted,
    };
    const struct ns_run_times *t = &r->times;
    for (size_t i = 0; i < t->nspans; i++) {
        const struct ns_span *a = &t->spans[i];
        r->attempts++;
        if (a->outcome < 0)
            r->live_attempts++;
        else if (by_outcome[a->outcome])
            (*by_outcome[a->outcome])++;
        if (a->redone <= 0)
            continue;
        r->redone = ns_add_sat(r->redone, a->redone);
        r->resumed_attempts++;
        const struct ns_span *b = i > 0 ? &t->spans[i - 1] : NULL;
        if (b && b->idx == a->idx && b->n == a->n - 1 && b->outcome == NS_AO_INTERRUPTED)
            r->redone_after_crash = ns_add_sat(r->redone_after_crash, a->redone);
    }
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i].attempts_total > 1)
            r->retries += t->parts[i].attempts_total - 1;
}

const double ns_duration_buckets[NS_DURATION_NBUCKETS] = {
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400};

struct ranked {
    double secs;
    size_t part; /* in r->times.parts */
};

/* Ascending time; among equal times the higher index first, so the top
 * ranks (the slowest) put the lower index first. */
static int by_time(const void *x, const void *y)
{
    const struct ranked *a = x, *b = y;
    if (a->secs != b->secs)
        return a->secs < b->secs ? -1 : 1;
    return a->part < b->part ? 1 : a->part > b->part ? -1 : 0;
}

/* The finished partitions (their summed attempt time) ranked in C: the
 * count, the sum, the nearest-rank p50 and p95 - rank ceil(p * n), written
 * in integers - and the slowest five, the top ranks, whose keys are read
 * alone. A partition with an ended attempt of unknown duration (cut off by
 * a crash with no known end) would count as shorter than it was: the
 * durations, percentiles and slowest leave it out (query-times.h's
 * timed_wholly). */
static void rank_durations(struct load *L)
{
    struct ns_run_report *r = L->r;
    const struct ns_run_times *t = &r->times;
    struct ranked *v = ns_xmalloc((t->nparts ? t->nparts : 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < t->nparts; i++)
        if ((t->parts[i].state == NS_PS_SUCCEEDED || t->parts[i].state == NS_PS_FAILED) &&
            t->parts[i].timed_wholly) {
            v[n] = (struct ranked){t->parts[i].seconds, i};
            r->sum_s += v[n++].secs;
        }
    qsort(v, n, sizeof *v, by_time);
    r->ndurations = (int64_t)n;
    /* The histogram's cumulative buckets over the same ranks. */
    for (size_t i = 0, k = 0; i < NS_DURATION_NBUCKETS; i++) {
        while (k < n && v[k].secs <= ns_duration_buckets[i])
            k++;
        r->duration_le[i] = (int64_t)k;
    }
    if (n) {
        r->max_s = v[n - 1].secs;
        r->p50_s = v[(n * 50 + 99) / 100 - 1].secs;
        r->p95_s = v[(n * 95 + 99) / 100 - 1].secs;
    }
    for (size_t k = n; k > 0 && r->nslowest < NS_REPORT_SLOWEST; k--) {
        const struct ns_part_time *pt = &t->parts[v[k - 1].part];
        struct ns_report_part *p = &r->slowest[r->nslowest++];
        p->idx = pt->idx;
        p->attempts = pt->nspans;
        p->seconds = v[k - 1].secs;
        if (query_part_key_state(L->st, r->run_id, pt->idx, &p->key, &p->state) < 0 &&
            L->rc == 0) {
            L->rc = -1;
            ns_errf(L->err, L->errlen, "%s: cannot read partition %lld", L->st->path,
                    (long long)pt->idx);
        }
        if (!p->key)
            p->key = ns_xstrdup("");
        if (!p->state)
            p->state = ns_xstrdup("");
    }
    free(v);
}

static void load_groups(struct load *L, int top)
{
    struct ns_store *st = L->st;
    struct ns_run_report *r = L->r;
    sqlite3_stmt *s = store_prepare(
        st, "SELECT g.signature, g.n, e.idx, e.key, e.message FROM (SELECT signature, count(*) "
            "AS n, min(id) AS first FROM error_records WHERE run_id = ?1 GROUP BY signature "
            "ORDER BY n DESC, signature LIMIT ?2) g JOIN error_records e ON e.id = g.first "
            "ORDER BY g.n DESC, g.signature");
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int(s, 2, top);
    while (sqlite3_step(s) == SQLITE_ROW) {
        r->groups = ns_xrealloc(r->groups, (r->ngroups + 1) * sizeof *r->groups);
        struct ns_report_group *g = &r->groups[r->ngroups++];
        g->signature = col_dup_empty(s, 0);
        g->count = sqlite3_column_int64(s, 1);
        g->example_idx = sqlite3_column_int64(s, 2);
        g->example_key = col_dup_empty(s, 3);
        g->example_message = col_dup_empty(s, 4);
    }
    load_done(L, s);
    s = store_prepare(st, "SELECT count(DISTINCT signature) FROM error_records WHERE run_id = ?");
    sqlite3_bind_int64(s, 1, r->run_id);
    r->nsignatures = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    load_done(L, s);
}

static void load_lists(struct load *L, int limit)
{
    struct ns_store *st = L->st;
    struct ns_run_report *r = L->r;
    sqlite3_stmt *s = store_prepare(
        st, "SELECT idx, key, attempts_total, coalesce(last_message, '') FROM partitions "
            "WHERE run_id = ? AND state = 'failed' ORDER BY idx LIMIT ?");
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int(s, 2, limit);
    while (sqlite3_step(s) == SQLITE_ROW) {
        r->failed_parts =
            ns_xrealloc(r->failed_parts, (r->nfailed_parts + 1) * sizeof(*r->failed_parts));
        struct ns_report_failed *f = &r->failed_parts[r->nfailed_parts++];
        f->idx = sqlite3_column_int64(s, 0);
        f->key = col_dup_empty(s, 1);
        f->attempts = sqlite3_column_int64(s, 2);
        f->message = col_dup_empty(s, 3);
    }
    load_done(L, s);
    s = store_prepare(st, "SELECT idx, key, coalesce(skip_reason, '') FROM partitions "
                          "WHERE run_id = ? AND state = 'skipped' ORDER BY idx LIMIT ?");
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int(s, 2, limit);
    while (sqlite3_step(s) == SQLITE_ROW) {
        r->skips = ns_xrealloc(r->skips, (r->nskips + 1) * sizeof *r->skips);
        struct ns_report_skip *k = &r->skips[r->nskips++];
        k->idx = sqlite3_column_int64(s, 0);
        k->key = col_dup_empty(s, 1);
        k->reason = col_dup_empty(s, 2);
    }
    load_done(L, s);
    /* The newest rows of the trail, shown oldest first. */
    s = store_prepare(st, "SELECT id, issued_at, user, source, verb, args, state, "
                          "coalesce(result, '') FROM (SELECT * FROM commands WHERE run_id = ?1 "
                          "ORDER BY id DESC LIMIT ?2) ORDER BY id");
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int(s, 2, limit);
    while (sqlite3_step(s) == SQLITE_ROW) {
        r->audit = ns_xrealloc(r->audit, (r->naudit + 1) * sizeof *r->audit);
        struct ns_report_audit *a = &r->audit[r->naudit++];
        a->id = sqlite3_column_int64(s, 0);
        a->issued_at = sqlite3_column_double(s, 1);
        a->user = col_dup_empty(s, 2);
        a->source = col_dup_empty(s, 3);
        a->verb = col_dup_empty(s, 4);
        a->args = col_dup_empty(s, 5);
        a->state = col_dup_empty(s, 6);
        a->result = col_dup_empty(s, 7);
    }
    load_done(L, s);
    s = store_prepare(st, "SELECT count(*) FROM commands WHERE run_id = ?");
    sqlite3_bind_int64(s, 1, r->run_id);
    r->naudit_total = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    load_done(L, s);
}

static void load_times(struct load *L)
{
    struct ns_store *st = L->st;
    struct ns_run_report *r = L->r;
    /* Checkpoint lag: how much work a crash now would lose, in time - the
     * oldest of (last checkpoint, else attempt start) among live attempts. */
    sqlite3_stmt *s = store_prepare(
        st, "SELECT min(coalesce(max(p.checkpoint_at, a.started_at), a.started_at)) FROM "
            "attempts a JOIN partitions p ON p.run_id = a.run_id AND p.idx = a.idx "
            "WHERE a.run_id = ? AND a.outcome IS NULL");
    sqlite3_bind_int64(s, 1, r->run_id);
    double oldest = sqlite3_step(s) == SQLITE_ROW ? col_time(s, 0) : 0;
    load_done(L, s);
    r->checkpoint_lag_s = oldest > 0 && r->now > oldest ? r->now - oldest : 0;
    /* From the partitions already read (query-times.h), not another scan. */
    for (size_t i = 0; i < r->times.nparts; i++)
        if (r->times.parts[i].state == NS_PS_SUCCEEDED &&
            r->times.parts[i].finished_at > r->last_success_at)
            r->last_success_at = r->times.parts[i].finished_at;
    s = store_prepare(st, "SELECT max(finished_at) FROM runs WHERE job = ? AND state = "
                          "'succeeded'");
    sqlite3_bind_text(s, 1, r->run.job, -1, SQLITE_STATIC);
    r->job_last_success_at = sqlite3_step(s) == SQLITE_ROW ? col_time(s, 0) : 0;
    load_done(L, s);
}

/* "N", "N%" or "none" after name= in the canonical settings' halt_when line. */
static void parse_limit(const char *line, const char *name, double *v, bool *pct)
{
    *v = -1;
    *pct = false;
    const char *p = line ? strstr(line, name) : NULL;
    if (!p)
        return;
    p += strlen(name);
    char *end;
    double d = strtod(p, &end);
    if (end == p)
        return;
    *v = d;
    *pct = *end == '%';
}

static void load_budget(struct load *L)
{
    struct ns_store *st = L->st;
    struct ns_run_report *r = L->r;
    sqlite3_stmt *s = store_prepare(st, "SELECT spec_canon FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, r->run_id);
    const char *canon =
        sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    const char *line = canon ? strstr(canon, "halt_when: ") : NULL;
    char *l = line ? ns_xstrndup(line, strcspn(line, "\n")) : NULL;
    parse_limit(l, "failed_partitions=", &r->budget_failed, &r->budget_failed_pct);
    parse_limit(l, "error_records=", &r->budget_errors, &r->budget_errors_pct);
    free(l);
    load_done(L, s);
}

double report_eta_seconds(const struct ns_run_report *r)
{
    if (!r->run.has_eta || r->run.finish_at <= 0)
        return -1;
    return r->run.eta_s > 0 ? r->run.eta_s : 0; /* a projection already passed: due now */
}

int report_load(struct ns_store *st, int64_t run_id, int top, int list_limit,
                struct ns_run_report *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->run_id = run_id;
    r->now = ns_now();
    if (load_run(st, r, err, errlen) != 0)
        return -1;
    struct load L = {st, r, 0, err, errlen};
    if (query_run_times(st, run_id, false, &r->times, err, errlen) != 0)
        return -1;
    count_attempts(r);
    rank_durations(&L);
    load_groups(&L, top);
    load_lists(&L, list_limit);
    load_times(&L);
    load_budget(&L);
    if (gethostname(r->host, sizeof r->host - 1) != 0)
        snprintf(r->host, sizeof r->host, "?");
    r->db_path = control_db_path(st);
    r->next_what = control_next_command(st, run_id, r->run.run_state, r->run.alive,
                                        &r->next_command);
    return L.rc;
}

void report_release(struct ns_run_report *r)
{
    query_run_summary_release(&r->run);
    free(r->db_path);
    free(r->next_command);
    query_run_times_release(&r->times);
    for (size_t i = 0; i < r->nslowest; i++) {
        free(r->slowest[i].key);
        free(r->slowest[i].state);
    }
    for (size_t i = 0; i < r->ngroups; i++) {
        free(r->groups[i].signature);
        free(r->groups[i].example_key);
        free(r->groups[i].example_message);
    }
    free(r->groups);
    for (size_t i = 0; i < r->nfailed_parts; i++) {
        free(r->failed_parts[i].key);
        free(r->failed_parts[i].message);
    }
    free(r->failed_parts);
    for (size_t i = 0; i < r->nskips; i++) {
        free(r->skips[i].key);
        free(r->skips[i].reason);
    }
    free(r->skips);
    for (size_t i = 0; i < r->naudit; i++) {
        struct ns_report_audit *a = &r->audit[i];
        free(a->user);
        free(a->source);
        free(a->verb);
        free(a->args);
        free(a->state);
        free(a->result);
    }
    free(r->audit);
    memset(r, 0, sizeof *r);
}

long report_events(struct ns_store *st, int64_t run_id, int64_t after, int limit,
                   struct ns_report_event **rows, char *err, size_t errlen)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT e.id, e.at, coalesce(e.idx, -1), coalesce(e.attempt_id, 0), e.kind, "
            "e.message, e.from_state, e.to_state, coalesce(a.n, 0), a.outcome, a.exit_code, "
            "a.signal FROM events e LEFT JOIN attempts a ON a.id = e.attempt_id WHERE "
            "e.run_id = ? AND e.id > ? ORDER BY e.id LIMIT ?");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int(s, 3, limit);
    long n = 0;
    *rows = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *rows = ns_xrealloc(*rows, (size_t)(n + 1) * sizeof **rows);
        struct ns_report_event *e = &(*rows)[n++];
        e->id = sqlite3_column_int64(s, 0);
        e->at = sqlite3_column_double(s, 1);
        e->idx = sqlite3_column_int64(s, 2);
        e->attempt_id = sqlite3_column_int64(s, 3);
        e->kind = col_dup_empty(s, 4);
        e->message = col_dup_empty(s, 5);
        e->from_state = col_dup(s, 6);
        e->to_state = col_dup(s, 7);
        e->attempt = sqlite3_column_int64(s, 8);
        e->outcome = col_dup(s, 9);
        e->has_exit_code = sqlite3_column_type(s, 10) != SQLITE_NULL;
        e->exit_code = sqlite3_column_int64(s, 10);
        e->has_signal = sqlite3_column_type(s, 11) != SQLITE_NULL;
        e->signal = sqlite3_column_int64(s, 11);
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        report_events_free(*rows, n);
        *rows = NULL;
        return -1;
    }
    sqlite3_finalize(s);
    return n;
}

void report_events_free(struct ns_report_event *rows, long n)
{
    for (long i = 0; i < n; i++) {
        free(rows[i].kind);
        free(rows[i].message);
        free(rows[i].from_state);
        free(rows[i].to_state);
        free(rows[i].outcome);
    }
    free(rows);
}

long report_gc_select(struct ns_store *st, double cutoff, int64_t keep_last,
                      struct ns_gc_run **runs, char *err, size_t errlen)
{
    /* newest: 1 for a job's newest finished run, 2 for the one before... */
    sqlite3_stmt *s = store_prepare(
        st, "SELECT id, job, state, finished_at, total, (SELECT count(*) FROM attempts a WHERE "
            "a.run_id = f.id), error_records FROM (SELECT *, row_number() OVER (PARTITION BY job "
            "ORDER BY id DESC) AS newest FROM runs WHERE state IN ('succeeded', 'failed', "
            "'stopped') AND finished_at IS NOT NULL) f WHERE finished_at < ?1 AND newest > ?2 "
            "ORDER BY id");
    sqlite3_bind_double(s, 1, cutoff);
    sqlite3_bind_int64(s, 2, keep_last);
    long n = 0;
    *runs = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        if (query_runtime_alive(st, id))
            continue; /* a runtime resuming it right now */
        *runs = ns_xrealloc(*runs, (size_t)(n + 1) * sizeof **runs);
        struct ns_gc_run *g = &(*runs)[n++];
        g->id = id;
        g->job = col_dup_empty(s, 1);
        g->state = col_dup_empty(s, 2);
        g->finished_at = sqlite3_column_double(s, 3);
        g->partitions = sqlite3_column_int64(s, 4);
        g->attempts = sqlite3_column_int64(s, 5);
        g->error_records = sqlite3_column_int64(s, 6);
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        sqlite3_finalize(s);
        report_gc_free(*runs, n);
        *runs = NULL;
        return -1;
    }
    sqlite3_finalize(s);
    return n;
}

void report_gc_free(struct ns_gc_run *runs, long n)
{
    for (long i = 0; i < n; i++) {
        free(runs[i].job);
        free(runs[i].state);
    }
    free(runs);
}

long report_job_names(struct ns_store *st, int limit, char ***names)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT job FROM runs GROUP BY job ORDER BY max(id) DESC "
                                        "LIMIT ?");
    sqlite3_bind_int(s, 1, limit);
    long n = 0;
    *names = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        *names = ns_xrealloc(*names, (size_t)(n + 1) * sizeof **names);
        (*names)[n++] = col_dup_empty(s, 0);
    }
    sqlite3_finalize(s);
    return n;
}

long report_latest_per_job(struct ns_store *st, int limit, int64_t **ids)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT max(id) AS m FROM runs GROUP BY job ORDER BY m "
                                        "DESC LIMIT ?");
    sqlite3_bind_int(s, 1, limit);
    long n = 0;
    *ids = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        *ids = ns_xrealloc(*ids, (size_t)(n + 1) * sizeof **ids);
        (*ids)[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return n;
}

/* ---- the night ------------------------------------------------------------ */

/* The ids of the runs active since `since`, oldest first: the runs list's
 * own filter (query_runs_filtered), page by page, so "active in the
 * period" means the same in status --since and here. */
static long night_run_ids(struct ns_store *st, double since, double now, int64_t **ids, char *err,
                          size_t errlen)
{
    enum { PAGE = 64 };
    const struct ns_run_filter f = {.since = since};
    struct ns_run_summary rows[PAGE], anchor = {0};
    long n = 0;
    *ids = NULL;
    for (bool first = true;; first = false) {
        int got = query_runs_filtered(st, &f, first ? NULL : &anchor, 1, PAGE, now, rows, err,
                                      errlen);
        if (got < 0) {
            free(*ids);
            *ids = NULL;
            return -1;
        }
        *ids = ns_xrealloc(*ids, (size_t)(n + got + 1) * sizeof **ids);
        for (int i = 0; i < got; i++) {
            (*ids)[n++] = rows[i].id;
            anchor.id = rows[i].id;
            query_run_summary_release(&rows[i]);
        }
        if (got < PAGE)
            break;
    }
    /* Newest first as the list shows them; the report tells the night in order. */
    for (long i = 0; i < n / 2; i++) {
        int64_t t = (*ids)[i];
        (*ids)[i] = (*ids)[n - 1 - i];
        (*ids)[n - 1 - i] = t;
    }
    return n;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* "3,1,2" (group_concat of run ids) into a sorted array. */
static void night_group_runs(struct ns_night_group *g, const char *list)
{
    for (const char *p = list; p && *p;) {
        g->runs = ns_xrealloc(g->runs, (g->nruns + 1) * sizeof *g->runs);
        g->runs[g->nruns++] = strtoll(p, NULL, 10);
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    qsort(g->runs, g->nruns, sizeof *g->runs, cmp_id);
}

/* The failure groups across the night's runs, in one statement: each
 * signature's partitions, the runs they are in, and the first of them as
 * the example. The run ids are ours (integers), written into the SQL. */
static void night_groups(struct load *L, struct ns_night_report *n, int top)
{
    struct ns_buf q = NS_BUF_INIT;
    buf_adds(&q, "WITH f AS (SELECT run_id, idx, key, last_signature AS sig, last_message AS msg, "
                 "row_number() OVER (PARTITION BY last_signature ORDER BY run_id, idx) AS rn "
                 "FROM partitions WHERE run_id IN (");
    for (size_t i = 0; i < n->nruns; i++)
        buf_addf(&q, "%s%lld", i ? ", " : "", (long long)n->runs[i].run_id);
    buf_adds(&q, ") AND state IN (" NS_FAILURE_GROUP_STATES ")), g AS (SELECT sig, count(*) AS n, "
                 "group_concat(DISTINCT run_id) AS runs FROM f GROUP BY sig) "
                 "SELECT g.sig, g.n, g.runs, f.run_id, f.idx, f.key, f.msg, (SELECT count(*) "
                 "FROM g), (SELECT sum(n) FROM g) FROM g JOIN f ON f.sig IS g.sig AND "
                 "f.rn = 1 ORDER BY g.n DESC, g.sig IS NULL, g.sig LIMIT ?");
    sqlite3_stmt *s = store_prepare(L->st, q.data);
    buf_release(&q);
    sqlite3_bind_int(s, 1, top);
    while (sqlite3_step(s) == SQLITE_ROW) {
        n->groups = ns_xrealloc(n->groups, (n->ngroups + 1) * sizeof *n->groups);
        struct ns_night_group *g = &n->groups[n->ngroups++];
        memset(g, 0, sizeof *g);
        g->signature = col_dup(s, 0);
        g->partitions = sqlite3_column_int64(s, 1);
        night_group_runs(g, (const char *)sqlite3_column_text(s, 2));
        g->example_run = sqlite3_column_int64(s, 3);
        g->example_idx = sqlite3_column_int64(s, 4);
        g->example_key = col_dup_empty(s, 5);
        g->example_message = col_dup_empty(s, 6);
        n->nsignatures = sqlite3_column_int64(s, 7);
        n->group_partitions = sqlite3_column_int64(s, 8);
    }
    load_done(L, s);
}

/* The runs run_id waits for: each dependency's run, as deps_waits finds
 * it (a run not found at start is looked for again). */
static void night_after(struct ns_store *st, int64_t run_id, struct ns_night_after *a)
{
    struct ns_dep *d;
    long nd = deps_read(st, run_id, &d);
    for (long i = 0; i < nd; i++) {
        int64_t up = d[i].upstream_run;
        if (up <= 0 && !d[i].pinned)
            up = deps_find_upstream(st, d[i].job, run_id);
        if (up <= 0)
            continue;
        a->runs = ns_xrealloc(a->runs, (a->n + 1) * sizeof *a->runs);
        a->runs[a->n++] = up;
    }
    if (nd > 0)
        deps_free(d, (size_t)nd);
}

int report_night_load(struct ns_store *st, double since, int top, struct ns_night_report *n,
                      char *err, size_t errlen)
{
    memset(n, 0, sizeof *n);
    n->since = since;
    n->now = ns_now();
    if (gethostname(n->host, sizeof n->host - 1) != 0)
        snprintf(n->host, sizeof n->host, "?");
    n->db_path = control_db_path(st);
    int64_t *ids;
    long count = night_run_ids(st, since, n->now, &ids, err, errlen);
    if (count < 0)
        return -1;
    n->runs = ns_xcalloc((size_t)count + 1, sizeof *n->runs);
    int rc = 0;
    for (long i = 0; i < count && rc == 0; i++, n->nruns++)
        rc = report_load(st, ids[i], 0, 0, &n->runs[i], err, errlen);
    free(ids);
    n->after = ns_xcalloc(n->nruns + 1, sizeof *n->after);
    for (size_t i = 0; i < n->nruns && rc == 0; i++)
        night_after(st, n->runs[i].run_id, &n->after[i]);
    if (rc != 0 || n->nruns == 0)
        return rc;
    struct load L = {st, NULL, 0, err, errlen};
    night_groups(&L, n, top);
    return L.rc;
}

void report_night_release(struct ns_night_report *n)
{
    for (size_t i = 0; i < n->nruns; i++) {
        report_release(&n->runs[i]);
        if (n->after)
            free(n->after[i].runs);
    }
    free(n->runs);
    free(n->after);
    for (size_t i = 0; i < n->ngroups; i++) {
        struct ns_night_group *g = &n->groups[i];
        free(g->signature);
        free(g->runs);
        free(g->example_key);
        free(g->example_message);
    }
    free(n->groups);
    free(n->db_path);
    memset(n, 0, sizeof *n);
}

char *report_run_waits(const struct ns_run_summary *s)
{
    if (s->run_state == NS_RS_SUCCEEDED || s->run_state == NS_RS_FAILED)
        return NULL;
    const char *why = s->state_reason;
    if (s->run_state == NS_RS_STOPPED)
        return ns_xasprintf("stopped%s%s", why ? ": " : "", why ? why : "");
    if (!s->alive)
        return ns_xasprintf("no runtime drives it%s%s", s->waiting_for ? "; " : "",
                            s->waiting_for ? s->waiting_for : "");
    if (s->run_state == NS_RS_PAUSED || s->run_state == NS_RS_HALTED ||
        s->run_state == NS_RS_STOPPING)
        return ns_xasprintf("%s%s%s", query_run_state_word((enum ns_run_state)s->run_state),
                            why ? ": " : "", why ? why : "");
    if (s->waiting_for)
        return ns_xstrdup(s->waiting_for);
    if (why) /* a running run's reason is what holds it: its window */
        return ns_xstrdup(why);
    if (s->blocked_reason)
        return ns_xasprintf("blocked: %s", s->blocked_reason);
    const struct ns_state_counts *c = &s->counts;
    return ns_xasprintf("nothing: %lld running, %lld pending, %lld waiting to retry",
                        (long long)c->n[NS_PS_RUNNING], (long long)c->n[NS_PS_PENDING],
                        (long long)c->n[NS_PS_RETRY_WAIT]);
}

char *report_night_after_list(const struct ns_night_after *a)
{
    if (!a || a->n == 0)
        return ns_xstrdup("-");
    struct ns_buf b = NS_BUF_INIT;
    for (size_t k = 0; k < a->n; k++)
        buf_addf(&b, "%s%lld", k ? "," : "", (long long)a->runs[k]);
    return buf_detach(&b);
}

/* The index of run id in the night, or -1. */
static long night_index(const struct ns_night_report *n, int64_t id)
{
    for (size_t i = 0; i < n->nruns; i++)
        if (n->runs[i].run_id == id)
            return (long)i;
    return -1;
}

void report_night_finish(const struct ns_night_report *n, struct ns_night_finish *out)
{
    memset(out, 0, sizeof *out);
    /* Each run's own end: its end, its projection, or 0 (not known). */
    double *end = ns_xcalloc(n->nruns + 1, sizeof *end);
    int64_t *why = ns_xcalloc(n->nruns + 1, sizeof *why); /* the upstream that makes it unknown */
    for (size_t i = 0; i < n->nruns; i++) {
        const struct ns_run_summary *s = &n->runs[i].run;
        /* The runtime stores the earlier of the deadline and start + max_duration. */
        if (s->sla_deadline > out->deadline) {
            out->deadline = s->sla_deadline;
            out->deadline_run = s->id;
        }
        bool ended = s->run_state == NS_RS_SUCCEEDED || s->run_state == NS_RS_FAILED;
        out->unfinished += !ended;
        end[i] = ended ? s->finished_at : s->has_eta && s->finish_at > 0 ? s->finish_at : 0;
    }
    /* Along the dependencies (no cycle: a run that would close one is
     * refused at its start), so nruns passes settle every chain. */
    for (size_t pass = 0; pass < n->nruns; pass++)
        for (size_t i = 0; i < n->nruns; i++) {
            const struct ns_run_summary *s = &n->runs[i].run;
            if (s->run_state == NS_RS_SUCCEEDED || s->run_state == NS_RS_FAILED || !n->after)
                continue;
            for (size_t k = 0; k < n->after[i].n; k++) {
                long u = night_index(n, n->after[i].runs[k]);
                if (u < 0)
                    continue;
                /* A failed upstream holds it only while it holds partitions
                 * back (on_failure: wait); skip or fail lets it end. */
                bool failed = n->runs[u].run.run_state == NS_RS_FAILED;
                bool held = failed ? s->waiting_for != NULL : end[u] <= 0;
                if (held && end[i] > 0) {
                    end[i] = 0;
                    why[i] = n->runs[u].run_id;
                } else if (end[i] > 0 && end[u] > end[i]) {
                    end[i] = end[u];
                }
            }
        }
    for (size_t i = 0; i < n->nruns; i++) {
        if (end[i] <= 0 && !out->unknown_run && !n->runs[i].run.final) {
            out->unknown_run = n->runs[i].run_id;
            out->unknown_upstream = why[i];
        }
        if (end[i] > 0 && end[i] >= out->finish_at) { /* ties: the later run, a dependant */
            out->finish_at = end[i];
            out->last_run = n->runs[i].run_id;
        }
    }
    if (out->unknown_run)
        out->finish_at = 0, out->last_run = 0;
    free(end);
    free(why);
}

void report_night_finish_words(const struct ns_night_report *n, const struct ns_night_finish *f,
                               char *(*time_of)(double t, char *out, size_t len),
                               struct ns_buf *out)
{
    char end[64], dl[64];
    time_of(f->finish_at, end, sizeof end);
    time_of(f->deadline, dl, sizeof dl);
    if (n->nruns == 0)
        buf_adds(out, "nothing ran");
    else if (f->unknown_upstream)
        buf_addf(out, "not known: run %lld waits for run %lld (%s)", (long long)f->unknown_run,
                 (long long)f->unknown_upstream,
                 n->runs[night_index(n, f->unknown_upstream)].run.run_state == NS_RS_FAILED
                     ? "failed"
                     : "no projection");
    else if (f->unknown_run)
        buf_addf(out, "not known: run %lld does not move", (long long)f->unknown_run);
    else if (f->unfinished)
        buf_addf(out, "projected %s (run %lld, the last to end)", end, (long long)f->last_run);
    else
        buf_addf(out, "all ended, the last at %s", end);
    if (f->deadline <= 0) {
        if (n->nruns)
            buf_adds(out, "; no run has an SLA");
        return;
    }
    buf_addf(out, "; latest deadline %s (run %lld)", dl, (long long)f->deadline_run);
    if (f->finish_at > 0 && f->finish_at <= f->deadline) {
        buf_adds(out, ": on time");
    } else if (f->finish_at > 0) {
        char d[32];
        int64_t ms = (int64_t)((f->finish_at - f->deadline) * 1000 + 0.5);
        buf_addf(out, ": late by %s", ns_format_duration(ms, d, sizeof d));
    } else if (n->now > f->deadline) {
        buf_adds(out, ": passed");
    }
}
