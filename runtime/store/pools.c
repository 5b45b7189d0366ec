/*
 * pools.c - pools shared by the runs of one database: the grants a runtime
 * asks for, the read model that status, `nightshift pool` and the console
 * show, and the operator's `pool set`. pools.h states the invariants and
 * the fairness rule.
 *
 * A runtime's grant runs inside its journal's open write transaction (the
 * caller checks journal_ready): reading the holds and writing the new ones
 * is one BEGIN IMMEDIATE transaction, so no other runtime can grant between
 * the read and the write. The releases are the journal's own statements
 * (journal_pool_release), so they are queued like every other write while
 * another process holds the lock, and committed with the attempt's end.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-internal.h"
#include "nightshift/pools.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

#define POOLS_STATEMENTS(X)                                                                        \
    X(POOL, "SELECT slots, rate_n, rate_per, next_start_at FROM pools WHERE name = ?1")            \
    X(USED, "SELECT coalesce(sum(weight), 0) FROM pool_holds WHERE pool = ?1")                     \
    /* The first waiter before us that can fit the pool at all (?3: its                            \
     * size): it reserves its weight. Before us: of a higher priority than                         \
     * ours (?4), or of ours and waiting since before us (all of them, if                          \
     * we do not wait). */                                                                         \
    X(HEAD, "SELECT w.weight FROM pool_waiters w WHERE w.pool = ?1 AND w.run_id != ?2 "            \
            "AND w.weight <= ?3 AND (w.priority > ?4 OR (w.priority = ?4 AND NOT EXISTS "          \
            "(SELECT 1 FROM pool_waiters m WHERE m.pool = ?1 AND m.run_id = ?2 "                   \
            "AND (m.since, m.run_id) < (w.since, w.run_id)))) "                                    \
            "ORDER BY w.priority DESC, w.since, w.run_id LIMIT 1")                                 \
    X(CHARGE_RATE, "UPDATE pools SET next_start_at = ?2 WHERE name = ?1")                          \
    X(WAIT, "INSERT INTO pool_waiters(pool, run_id, weight, since, why, priority) "                \
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(pool, run_id) DO UPDATE SET "             \
            "weight = excluded.weight, why = excluded.why, priority = excluded.priority")          \
    X(UNWAIT, "DELETE FROM pool_waiters WHERE run_id = ?1")                                        \
    X(HOLD, "INSERT OR REPLACE INTO pool_holds(pool, run_id, attempt_id, weight, since) "          \
            "VALUES (?1, ?2, ?3, ?4, ?5)")                                                         \
    X(OTHERS, "SELECT run_id FROM pool_holds WHERE pool = ?1 AND run_id != ?2 "                    \
              "UNION SELECT run_id FROM pool_waiters WHERE pool = ?1 AND run_id != ?2")            \
    X(RUN_WEIGHT, "SELECT coalesce(sum(weight), 0) FROM pool_holds WHERE pool = ?1 "               \
                  "AND run_id = ?2")                                                               \
    X(DROP_HOLDS, "DELETE FROM pool_holds WHERE run_id = ?1")                                      \
    /* In the order the grants serve them; ?3: the pool's size. */                                 \
    X(WAITERS, "SELECT run_id, weight FROM pool_waiters WHERE pool = ?1 AND run_id != ?2 "         \
               "AND weight <= ?3 ORDER BY priority DESC, since, run_id")                           \
    X(OWN_HOLDS, "SELECT attempt_id FROM pool_holds WHERE run_id = ?1")                            \
    X(DROP_HOLD, "DELETE FROM pool_holds WHERE run_id = ?1 AND attempt_id = ?2")                   \
    X(HOLD_SUMS, "SELECT pool, count(*), sum(weight) FROM pool_holds WHERE run_id = ?1 "           \
                 "GROUP BY pool")                                                                  \
    X(ENDED_HOLDS, "SELECT count(*) FROM pool_holds h JOIN attempts a ON a.id = h.attempt_id "     \
                   "WHERE h.run_id = ?1 AND a.outcome IS NOT NULL")

#define P_ENUM(name, sql) P_##name,
enum { POOLS_STATEMENTS(P_ENUM) P_COUNT };
#undef P_ENUM
#define P_SQL(name, sql) sql,
static const char *const pools_sql[] = {POOLS_STATEMENTS(P_SQL)};
#undef P_SQL

struct ns_pools {
    struct ns_store *st;
    int64_t run_id;
    const struct ns_pool_use *uses;
    size_t nuses;
    int priority; /* the spec's priority: (pools_set_priority) */
    bool waiting; /* a pool_waiters row of ours may exist */
    sqlite3_stmt *stmt[P_COUNT];
};

struct ns_pools *pools_new(struct ns_store *st, int64_t run_id, const struct ns_pool_use *uses,
                           size_t n)
{
    struct ns_pools *p = ns_xcalloc(1, sizeof *p);
    p->st = st;
    p->run_id = run_id;
    p->uses = uses;
    p->nuses = n;
    p->waiting = true; /* a predecessor's row may be left: the first grant clears it */
    for (int i = 0; i < P_COUNT; i++)
        p->stmt[i] = store_prepare(st, pools_sql[i]);
    return p;
}

void pools_set_priority(struct ns_pools *p, int priority)
{
    p->priority = priority;
}

void pools_free(struct ns_pools *p)
{
    if (!p)
        return;
    for (int i = 0; i < P_COUNT; i++)
        sqlite3_finalize(p->stmt[i]);
    free(p);
}

/* The statement, reset, with ?1 the pool (or the run when pool is NULL). */
static sqlite3_stmt *use(struct ns_pools *p, int which, const char *pool)
{
    sqlite3_stmt *s = p->stmt[which];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (pool)
        sqlite3_bind_text(s, 1, pool, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, p->run_id);
    return s;
}

/* Runs a statement without rows; false (err filled) on failure. */
static bool done(struct ns_pools *p, sqlite3_stmt *s, char *err, size_t errlen)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return true;
    ns_errf(err, errlen, "%s: pools: %s", p->st->path, sqlite3_errmsg(store_db(p->st)));
    return false;
}

static int64_t one_int(struct ns_pools *p, sqlite3_stmt *s)
{
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    (void)p;
    return v;
}

/* Collects the first column of every row of s (reset after). */
static size_t collect_ids(sqlite3_stmt *s, int64_t **ids)
{
    size_t n = 0, cap = 0;
    *ids = NULL;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *ids = ns_xrealloc(*ids, cap * sizeof **ids);
        }
        (*ids)[n++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return n;
}

/* Drops the holds and waits of every other run on pool whose runtime is
 * gone (its run lock is free: the kernel released it when it died).
 * Returns the slots given back of pool. */
static int reclaim(struct ns_pools *p, const char *pool, struct pools_answer *ans, char *err,
                   size_t errlen)
{
    sqlite3_stmt *s = use(p, P_OTHERS, pool);
    sqlite3_bind_int64(s, 2, p->run_id);
    int64_t *ids;
    size_t n = collect_ids(s, &ids);
    int freed = 0;
    for (size_t i = 0; i < n; i++) {
        if (store_runtime_alive(p->st, ids[i]))
            continue;
        s = use(p, P_RUN_WEIGHT, pool);
        sqlite3_bind_int64(s, 2, ids[i]);
        int w = (int)one_int(p, s);
        s = use(p, P_DROP_HOLDS, NULL);
        sqlite3_bind_int64(s, 1, ids[i]);
        if (!done(p, s, err, errlen))
            break;
        s = use(p, P_UNWAIT, NULL);
        sqlite3_bind_int64(s, 1, ids[i]);
        if (!done(p, s, err, errlen))
            break;
        freed += w;
        ans->reclaimed += w;
        ans->reclaimed_from = ids[i];
    }
    free(ids);
    return freed;
}

/* Does one attempt of ours fit pool u now? Fills ans when it does not. */
static bool fits(struct ns_pools *p, const struct ns_pool_use *u, double now,
                 struct pools_answer *ans, double *rate_interval)
{
    sqlite3_stmt *s = use(p, P_POOL, u->pool);
    int slots = 0, rate_n = 0;
    double rate_per = 1, next_start = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        slots = sqlite3_column_int(s, 0);
        rate_n = sqlite3_column_int(s, 1);
        rate_per = sqlite3_column_double(s, 2);
        next_start = sqlite3_column_double(s, 3);
    }
    sqlite3_reset(s);
    *rate_interval = rate_n > 0 ? rate_per / rate_n : 0;
    snprintf(ans->pool, sizeof ans->pool, "%s", u->pool);
    ans->slots = slots;
    s = use(p, P_USED, u->pool);
    ans->used = (int)one_int(p, s);
    if (rate_n > 0 && now < next_start) {
        ans->verdict = POOLS_RATE;
        ans->retry_at = next_start;
        return false;
    }
    s = use(p, P_HEAD, u->pool);
    sqlite3_bind_int64(s, 2, p->run_id);
    sqlite3_bind_int(s, 3, slots);
    sqlite3_bind_int(s, 4, p->priority);
    int head = (int)one_int(p, s);
    if (ans->used + u->weight + head <= slots)
        return true;
    ans->verdict = POOLS_FULL;
    return false;
}

/* The run waits for ans->pool: its row keeps the time it began waiting. */
static bool wait_for(struct ns_pools *p, const struct pools_answer *ans, int weight, double now,
                     char *err, size_t errlen)
{
    sqlite3_stmt *s = use(p, P_WAIT, ans->pool);
    sqlite3_bind_int64(s, 2, p->run_id);
    sqlite3_bind_int(s, 3, weight);
    sqlite3_bind_double(s, 4, now);
    sqlite3_bind_text(s, 5, ans->verdict == POOLS_RATE ? "rate" : "slots", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 6, p->priority);
    p->waiting = true;
    return done(p, s, err, errlen);
}

int pools_try_grant(struct ns_pools *p, double now, struct pools_answer *ans, char *err,
                    size_t errlen)
{
    memset(ans, 0, sizeof *ans);
    double interval[NS_SPEC_MAX_POOLS] = {0};
    for (size_t i = 0; i < p->nuses; i++) {
        const struct ns_pool_use *u = &p->uses[i];
        if (fits(p, u, now, ans, &interval[i]))
            continue;
        /* Full: a dead runtime's slots may be what is missing. */
        if (ans->verdict == POOLS_FULL && ans->reclaimed == 0 &&
            reclaim(p, u->pool, ans, err, errlen) > 0 && fits(p, u, now, ans, &interval[i]))
            continue;
        if (err[0])
            return -1;
        return wait_for(p, ans, u->weight, now, err, errlen) ? 0 : -1;
    }
    for (size_t i = 0; i < p->nuses; i++) {
        if (interval[i] <= 0)
            continue;
        /* Starts at least an interval apart: never more than rate_n in any
         * window of rate_per seconds, whatever the runtimes asking. */
        sqlite3_stmt *s = use(p, P_CHARGE_RATE, p->uses[i].pool);
        sqlite3_bind_double(s, 2, now + interval[i]);
        if (!done(p, s, err, errlen))
            return -1;
    }
    if (p->waiting) {
        if (!done(p, use(p, P_UNWAIT, NULL), err, errlen))
            return -1;
        p->waiting = false;
    }
    ans->verdict = POOLS_GRANTED;
    return 0;
}

void pools_hold(struct ns_pools *p, int64_t attempt_id, double now)
{
    char err[256] = "";
    ns_crashpoint("pool_grant.before");
    for (size_t i = 0; i < p->nuses; i++) {
        sqlite3_stmt *s = use(p, P_HOLD, p->uses[i].pool);
        sqlite3_bind_int64(s, 2, p->run_id);
        sqlite3_bind_int64(s, 3, attempt_id);
        sqlite3_bind_int(s, 4, p->uses[i].weight);
        sqlite3_bind_double(s, 5, now);
        done(p, s, err, sizeof err); /* a failure: the invariant check says it */
    }
    ns_crashpoint("pool_grant.after");
}

void pools_resync(struct ns_pools *p, const int64_t *live_ids, size_t n, double now)
{
    char err[256] = "";
    int64_t *held;
    size_t nheld = collect_ids(use(p, P_OWN_HOLDS, NULL), &held);
    for (size_t i = 0; i < nheld; i++) {
        bool live = false;
        for (size_t j = 0; j < n && !live; j++)
            live = live_ids[j] == held[i];
        if (live)
            continue;
        sqlite3_stmt *s = use(p, P_DROP_HOLD, NULL);
        sqlite3_bind_int64(s, 2, held[i]);
        done(p, s, err, sizeof err);
    }
    /* An adopted attempt keeps (or takes again) what it holds. */
    for (size_t j = 0; j < n; j++)
        pools_hold(p, live_ids[j], now);
    free(held);
    done(p, use(p, P_UNWAIT, NULL), err, sizeof err);
    p->waiting = false;
}

/* The size of pool and the slots held of it now. */
static void pool_size_used(struct ns_pools *p, const char *pool, int *slots, int *used)
{
    sqlite3_stmt *s = use(p, P_POOL, pool);
    *slots = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_reset(s);
    *used = (int)one_int(p, use(p, P_USED, pool));
}

size_t pools_waiters_to_wake(struct ns_pools *p, int64_t **ids)
{
    size_t n = 0, cap = 0;
    *ids = NULL;
    for (size_t i = 0; i < p->nuses; i++) {
        int slots, used;
        pool_size_used(p, p->uses[i].pool, &slots, &used);
        int free_slots = slots - used;
        sqlite3_stmt *s = use(p, P_WAITERS, p->uses[i].pool);
        sqlite3_bind_int64(s, 2, p->run_id);
        sqlite3_bind_int(s, 3, slots);
        /* The head reserves its weight: once it does not fit, nobody
         * behind it may take what is free (pools_try_grant), so waking
         * them would only make them ask, be refused and write their wait. */
        while (free_slots > 0 && sqlite3_step(s) == SQLITE_ROW) {
            int64_t run = sqlite3_column_int64(s, 0);
            int weight = sqlite3_column_int(s, 1);
            if (weight > free_slots)
                break;
            free_slots -= weight;
            bool seen = false;
            for (size_t m = 0; m < n && !seen; m++)
                seen = (*ids)[m] == run;
            if (seen)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                *ids = ns_xrealloc(*ids, cap * sizeof **ids);
            }
            (*ids)[n++] = run;
        }
        sqlite3_reset(s);
    }
    return n;
}

int pools_check_holds(struct ns_pools *p, size_t nlive, char *err, size_t errlen)
{
    sqlite3_stmt *s = use(p, P_HOLD_SUMS, NULL);
    size_t pools_held = 0;
    int rc = 0;
    while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
        const char *pool = (const char *)sqlite3_column_text(s, 0);
        int64_t count = sqlite3_column_int64(s, 1), weight = sqlite3_column_int64(s, 2);
        const struct ns_pool_use *u = NULL;
        for (size_t i = 0; i < p->nuses && !u; i++)
            if (strcmp(p->uses[i].pool, pool) == 0)
                u = &p->uses[i];
        pools_held++;
        if (!u || (size_t)count != nlive || weight != (int64_t)nlive * u->weight) {
            ns_errf(err, errlen, "pool %s: %lld holds of weight %lld for %zu live attempts", pool,
                    (long long)count, (long long)weight, nlive);
            rc = -1;
        }
    }
    sqlite3_reset(s);
    if (rc == 0 && nlive > 0 && pools_held != p->nuses) {
        ns_errf(err, errlen, "%zu live attempts hold %zu of the %zu pools they use", nlive,
                pools_held, p->nuses);
        rc = -1;
    }
    int64_t ended = rc == 0 ? one_int(p, use(p, P_ENDED_HOLDS, NULL)) : 0;
    if (ended > 0) {
        ns_errf(err, errlen, "%lld holds of attempts that ended", (long long)ended);
        rc = -1;
    }
    return rc;
}

int pools_forget_run(struct ns_store *st, int64_t run_id, char *err, size_t errlen)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT EXISTS (SELECT 1 FROM pool_holds WHERE run_id = ?1) OR "
            "EXISTS (SELECT 1 FROM pool_waiters WHERE run_id = ?1)");
    sqlite3_bind_int64(s, 1, run_id);
    bool any = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (!any)
        return 0;
    char sql[160];
    snprintf(sql, sizeof sql,
             "DELETE FROM pool_holds WHERE run_id = %lld; DELETE FROM pool_waiters WHERE run_id "
             "= %lld",
             (long long)run_id, (long long)run_id);
    if (store_begin(st, err, errlen) != 0)
        return -1;
    if (store_exec(st, sql, err, errlen) != 0) {
        store_rollback(st);
        return -1;
    }
    return store_commit(st, err, errlen);
}

int pools_declare(struct ns_store *st, const struct ns_pool_decl *d, size_t n, char *err,
                  size_t errlen)
{
    if (n == 0)
        return 0;
    if (store_begin(st, err, errlen) != 0)
        return -1;
    sqlite3_stmt *s = store_prepare(
        st, "INSERT INTO pools(name, slots, rate_n, rate_per, updated_at) VALUES (?1, ?2, ?3, "
            "?4, ?5) ON CONFLICT(name) DO UPDATE SET slots = excluded.slots, rate_n = "
            "excluded.rate_n, rate_per = excluded.rate_per, updated_at = excluded.updated_at "
            "WHERE set_by = 'spec' AND (slots, rate_n, rate_per) != (excluded.slots, "
            "excluded.rate_n, excluded.rate_per)");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, d[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, d[i].slots);
        sqlite3_bind_int(s, 3, d[i].rate_n);
        sqlite3_bind_double(s, 4, d[i].rate_n ? d[i].rate_per_s : 1);
        sqlite3_bind_double(s, 5, ns_now());
        if (sqlite3_step(s) != SQLITE_DONE) {
            ns_errf(err, errlen, "%s: pools: %s", st->path, sqlite3_errmsg(store_db(st)));
            rc = -1;
        }
    }
    sqlite3_finalize(s);
    if (rc != 0) {
        store_rollback(st);
        return -1;
    }
    return store_commit(st, err, errlen);
}

/* ---- the read model ------------------------------------------------------- */

long pools_list(struct ns_store *st, struct ns_pool_row **rows, char *err, size_t errlen)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT p.name, p.slots, "
            "(SELECT coalesce(sum(weight), 0) FROM pool_holds h WHERE h.pool = p.name), "
            "(SELECT count(DISTINCT run_id) FROM pool_holds h WHERE h.pool = p.name), "
            "(SELECT count(*) FROM pool_waiters w WHERE w.pool = p.name), "
            "p.rate_n, p.rate_per, p.set_by, p.updated_at FROM pools p ORDER BY p.name");
    long n = 0, cap = 0;
    *rows = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *rows = ns_xrealloc(*rows, (size_t)cap * sizeof **rows);
        }
        struct ns_pool_row *r = &(*rows)[n++];
        r->name = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
        r->slots = sqlite3_column_int(s, 1);
        r->used = sqlite3_column_int(s, 2);
        r->holders = sqlite3_column_int(s, 3);
        r->waiting = sqlite3_column_int(s, 4);
        r->rate_n = sqlite3_column_int(s, 5);
        r->rate_per = sqlite3_column_double(s, 6);
        r->set_by = ns_xstrdup((const char *)sqlite3_column_text(s, 7));
        r->updated_at = sqlite3_column_double(s, 8);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        pools_rows_free(*rows, n);
        *rows = NULL;
        return -1;
    }
    return n;
}

void pools_rows_free(struct ns_pool_row *rows, long n)
{
    for (long i = 0; i < n; i++) {
        free(rows[i].name);
        free(rows[i].set_by);
    }
    free(rows);
}

long pools_parties(struct ns_store *st, struct ns_pool_party **rows, char *err, size_t errlen)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT h.pool, h.run_id, r.job, 0, sum(h.weight), count(*), min(h.since), 0 "
            "FROM pool_holds h JOIN runs r ON r.id = h.run_id GROUP BY h.pool, h.run_id "
            "UNION ALL SELECT w.pool, w.run_id, r.job, 1, w.weight, 0, w.since, w.priority "
            "FROM pool_waiters w JOIN runs r ON r.id = w.run_id ORDER BY 1, 4, 8 DESC, 7, 2");
    long n = 0, cap = 0;
    *rows = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *rows = ns_xrealloc(*rows, (size_t)cap * sizeof **rows);
        }
        struct ns_pool_party *r = &(*rows)[n++];
        r->pool = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
        r->run_id = sqlite3_column_int64(s, 1);
        r->job = ns_xstrdup((const char *)sqlite3_column_text(s, 2));
        r->waiting = sqlite3_column_int(s, 3) != 0;
        r->weight = sqlite3_column_int(s, 4);
        r->attempts = sqlite3_column_int(s, 5);
        r->since = sqlite3_column_double(s, 6);
        r->priority = sqlite3_column_int(s, 7);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        pools_parties_free(*rows, n);
        *rows = NULL;
        return -1;
    }
    return n;
}

void pools_parties_free(struct ns_pool_party *rows, long n)
{
    for (long i = 0; i < n; i++) {
        free(rows[i].pool);
        free(rows[i].job);
    }
    free(rows);
}

char *pools_run_waiting(struct ns_store *st, int64_t run_id)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT w.pool, w.why, coalesce(p.slots, 0), "
            "(SELECT coalesce(sum(weight), 0) FROM pool_holds h WHERE h.pool = w.pool), "
            "coalesce(p.rate_n, 0), coalesce(p.rate_per, 1), w.since "
            "FROM pool_waiters w LEFT JOIN pools p ON p.name = w.pool WHERE w.run_id = ?1 "
            "ORDER BY w.since LIMIT 1");
    sqlite3_bind_int64(s, 1, run_id);
    char *out = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *pool = (const char *)sqlite3_column_text(s, 0);
        const char *why = (const char *)sqlite3_column_text(s, 1);
        char since[32];
        ns_format_duration((int64_t)((ns_now() - sqlite3_column_double(s, 6)) * 1000), since,
                           sizeof since);
        if (why && strcmp(why, "rate") == 0) {
            char r[32];
            out = ns_xasprintf(
                "waiting for pool %s's start rate (%s)", pool,
                ns_format_rate(sqlite3_column_int(s, 4), sqlite3_column_double(s, 5), r, sizeof r));
        } else {
            out = ns_xasprintf("waiting for pool %s (%d/%d in use) for %s", pool,
                               sqlite3_column_int(s, 3), sqlite3_column_int(s, 2), since);
        }
    }
    sqlite3_finalize(s);
    return out;
}

/* ---- operators ------------------------------------------------------------ */

static char *text_col(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return ns_xstrdup(t ? t : "");
}

long pools_commands(struct ns_store *st, struct ns_pool_command **rows, char *err, size_t errlen)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT id, pool, issued_at, user, uid, source, verb, "
                                        "args, result FROM pool_commands ORDER BY id");
    long n = 0, cap = 0;
    *rows = NULL;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            *rows = ns_xrealloc(*rows, (size_t)cap * sizeof **rows);
        }
        struct ns_pool_command *c = &(*rows)[n++];
        c->id = sqlite3_column_int64(s, 0);
        c->pool = text_col(s, 1);
        c->issued_at = sqlite3_column_double(s, 2);
        c->user = text_col(s, 3);
        c->uid = sqlite3_column_int64(s, 4);
        c->source = text_col(s, 5);
        c->verb = text_col(s, 6);
        c->args = text_col(s, 7);
        c->result = text_col(s, 8);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        pools_commands_free(*rows, n);
        *rows = NULL;
        return -1;
    }
    return n;
}

void pools_commands_free(struct ns_pool_command *rows, long n)
{
    for (long i = 0; i < n; i++) {
        char *strs[] = {rows[i].pool, rows[i].user, rows[i].source,
                        rows[i].verb, rows[i].args, rows[i].result};
        for (size_t k = 0; k < NS_ARRAY_LEN(strs); k++)
            free(strs[k]);
    }
    free(rows);
}

/* The size and rate of pool name now (a missing pool: -1 slots). */
static void pool_now(struct ns_store *st, const char *name, int *slots, int *rate_n,
                     double *rate_per)
{
    sqlite3_stmt *s =
        store_prepare(st, "SELECT slots, rate_n, rate_per FROM pools WHERE name = ?1");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    *slots = -1;
    *rate_n = 0;
    *rate_per = 1;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *slots = sqlite3_column_int(s, 0);
        *rate_n = sqlite3_column_int(s, 1);
        *rate_per = sqlite3_column_double(s, 2);
    }
    sqlite3_finalize(s);
}

/* "warehouse: 4 -> 6 slots, start rate none -> 10/s" */
static void describe_change(const char *name, int was_slots, int slots, int was_rn, double was_rp,
                            int rate_n, double rate_per, char *out, size_t len)
{
    char a[32] = "none", b[32] = "none";
    if (was_rn)
        ns_format_rate(was_rn, was_rp, a, sizeof a);
    if (rate_n)
        ns_format_rate(rate_n, rate_per, b, sizeof b);
    int n = was_slots < 0 ? snprintf(out, len, "%s: made with %d slots", name, slots)
                          : snprintf(out, len, "%s: %d -> %d slots", name, was_slots, slots);
    if (n > 0 && (size_t)n < len && (was_rn != rate_n || was_rp != rate_per))
        snprintf(out + n, len - (size_t)n, ", start rate %s -> %s", a, b);
}

static int audit_pool_set(struct ns_store *st, const char *name, int slots, int rate_n,
                          double rate_per, const char *source, const char *result)
{
    struct ns_buf args = NS_BUF_INIT;
    buf_addf(&args, "{\"slots\":%d", slots);
    if (rate_n >= 0)
        buf_addf(&args, ",\"rate_n\":%d,\"rate_per\":%g", rate_n, rate_per);
    buf_addc(&args, '}');
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    sqlite3_stmt *s = store_prepare(
        st, "INSERT INTO pool_commands(pool, issued_at, user, uid, source, verb, args, result) "
            "VALUES (?1, ?2, ?3, ?4, ?5, 'set', ?6, ?7)");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 2, ns_now());
    sqlite3_bind_text(s, 3, pw ? pw->pw_name : "?", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)uid);
    sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, args.data, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, result, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(s);
    buf_release(&args);
    return rc;
}

/* Pokes the runtime of every run waiting for pool name (wake.h). */
static void poke_waiters(struct ns_store *st, const char *name)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT run_id FROM pool_waiters WHERE pool = ?1");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int64_t *ids;
    size_t n = collect_ids(s, &ids);
    sqlite3_finalize(s);
    for (size_t i = 0; i < n; i++) {
        char *path = wake_path(st, ids[i], WAKE_COMMANDS);
        wake_poke(path);
        free(path);
    }
    free(ids);
}

int pools_set(struct ns_store *st, const char *name, int slots, int rate_n, double rate_per,
              const char *source, char *result, size_t rlen, char *err, size_t errlen)
{
    if (!spec_pool_name_ok(name)) {
        ns_errf(err, errlen, "not a pool name (letters, digits, \".\", \"_\" and \"-\", 1 to 64)");
        return -1;
    }
    if (store_begin(st, err, errlen) != 0)
        return -1;
    int was_slots, was_rn;
    double was_rp;
    pool_now(st, name, &was_slots, &was_rn, &was_rp);
    int new_rn = rate_n >= 0 ? rate_n : was_rn;
    double new_rp = rate_n > 0 ? rate_per : rate_n == 0 ? 1 : was_rp;
    describe_change(name, was_slots, slots, was_rn, was_rp, new_rn, new_rp, result, rlen);
    sqlite3_stmt *s = store_prepare(
        st, "INSERT INTO pools(name, slots, rate_n, rate_per, set_by, updated_at) VALUES (?1, ?2, "
            "?3, ?4, 'operator', ?5) ON CONFLICT(name) DO UPDATE SET slots = excluded.slots, "
            "rate_n = excluded.rate_n, rate_per = excluded.rate_per, set_by = 'operator', "
            "updated_at = excluded.updated_at");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, slots);
    sqlite3_bind_int(s, 3, new_rn);
    sqlite3_bind_double(s, 4, new_rp);
    sqlite3_bind_double(s, 5, ns_now());
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(s);
    if (rc == 0)
        rc = audit_pool_set(st, name, slots, rate_n, rate_per, source, result);
    if (rc != 0) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        store_rollback(st);
        return -1;
    }
    if (store_commit(st, err, errlen) != 0)
        return -1;
    poke_waiters(st, name);
    return 0;
}
