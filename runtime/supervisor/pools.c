/*
 * pools.c - the supervisor's side of shared pools (store/pools.c keeps the
 * rows; pools.h states the invariants and the fairness rule): asking for an
 * attempt's slots before it launches, holding them with its start, giving
 * them back with its end, and waking the runs that wait once our commit
 * freed slots.
 *
 * Only a run whose spec has `uses:` has rt->pools; every hook in dispatch,
 * outcome and the loop is behind that pointer, so a run without pools
 * dispatches exactly as before (no SQL, no system call more).
 *
 * Waiting: a refused run asks again when a wake hint comes (a runtime that
 * freed slots, or `pool set`, pokes run-N.wake: wake.h), when one of its
 * own attempts ends, when the start rate allows the next start, or after
 * POOL_POLL_S at the latest (a lost hint, a runtime that died holding
 * slots: its slots come back at that ask).
 */
#include <math.h>
#include <stdlib.h>

#include "supervisor.h"
#include "nightshift/check.h"
#include "nightshift/gate.h"
#include "nightshift/pools.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

#define POOL_POLL_S 0.5 /* the slow ask behind the hints */

struct rt_pools {
    struct ns_pools *grants;
    bool resynced;      /* holds made to match the live attempts (after a restart) */
    bool released;      /* slots given back since the last commit: poke the waiters */
    bool asked;         /* asked for slots since the last commit */
    bool waiting;       /* the last ask was refused */
    double ask_at_mono; /* don't ask before (0: now) */
    double wait_began;  /* monotonic, while waiting */
};

int rt_pools_open(struct rt *rt, char *err, size_t errlen)
{
    if (pools_declare(&rt->st, rt->spec->pools, rt->spec->pools_len, err, errlen) != 0)
        return -1;
    if (rt->spec->uses_len == 0) /* a spec changed with --force may have dropped uses: */
        return pools_forget_run(&rt->st, rt->run_id, err, errlen);
    rt->pools = ns_xcalloc(1, sizeof *rt->pools);
    rt->pools->grants = pools_new(&rt->st, rt->run_id, rt->spec->uses, rt->spec->uses_len);
    pools_set_priority(rt->pools->grants, rt->spec->priority);
    return 0;
}

void rt_pools_close(struct rt *rt)
{
    if (!rt->pools)
        return;
    pools_free(rt->pools->grants);
    free(rt->pools);
    rt->pools = NULL;
}

/* The run waits no more (granted, paused, nothing left to start). */
static void stop_waiting(struct rt *rt)
{
    struct rt_pools *p = rt->pools;
    if (!p->waiting)
        return;
    p->waiting = false;
    journal_run_waited(rt->j, ns_monotonic() - p->wait_began, 0);
}

/* After a restart the holds of the dead runtime's attempts go, and adopted
 * attempts keep theirs: in a transaction of ours. */
static void resync(struct rt *rt)
{
    int64_t *ids = ns_xcalloc(rt->nlive + 1, sizeof *ids);
    for (size_t i = 0; i < rt->nlive; i++)
        ids[i] = rt->live[i]->id;
    pools_resync(rt->pools->grants, ids, rt->nlive, ns_now());
    free(ids);
    rt->pools->resynced = true;
}

bool rt_pools_may_ask(struct rt *rt)
{
    struct rt_pools *p = rt->pools;
    if (!p->resynced && journal_ready(rt->j))
        resync(rt);
    if (!p->resynced)
        return false;
    return p->ask_at_mono == 0 || ns_monotonic() >= p->ask_at_mono;
}

void rt_pools_withdraw(struct rt *rt)
{
    struct rt_pools *p = rt->pools;
    if (!p->waiting)
        return;
    stop_waiting(rt);
    journal_pool_withdraw(rt->j);
    p->ask_at_mono = 0;
}

bool rt_pools_grant(struct rt *rt)
{
    struct rt_pools *p = rt->pools;
    struct pools_answer ans;
    char err[512] = "";
    double now = ns_now();
    p->asked = true;
    if (pools_try_grant(p->grants, now, &ans, err, sizeof err) != 0) {
        rt_event(rt, -1, 0, "pool", "run %lld: asking for pool slots failed: %s",
                 (long long)rt->run_id, err);
        p->ask_at_mono = ns_monotonic() + POOL_POLL_S;
        return false;
    }
    if (ans.reclaimed > 0)
        rt_event(rt, -1, 0, "pool",
                 "pool %s: %d slot%s given back of run %lld, whose runtime is gone", ans.pool,
                 ans.reclaimed, ans.reclaimed == 1 ? "" : "s", (long long)ans.reclaimed_from);
    if (ans.verdict == POOLS_GRANTED) {
        stop_waiting(rt);
        p->ask_at_mono = 0;
        return true;
    }
    if (!p->waiting) {
        p->waiting = true;
        p->wait_began = ns_monotonic();
        if (ans.verdict == POOLS_FULL)
            rt_event(rt, -1, 0, "pool", "run %lld waits for pool %s (%d/%d in use)",
                     (long long)rt->run_id, ans.pool, ans.used, ans.slots);
    }
    double next = POOL_POLL_S;
    if (ans.verdict == POOLS_RATE)
        next = fmax(0, fmin(next, ans.retry_at - now));
    p->ask_at_mono = ns_monotonic() + next;
    return false;
}

void rt_pools_hold(struct rt *rt, const struct attempt *a)
{
    pools_hold(rt->pools->grants, a->id, a->started_wall);
}

void rt_pools_release(struct rt *rt, const struct attempt *a)
{
    journal_pool_release(rt->j, a->id);
    rt->pools->released = true;
    rt->pools->ask_at_mono = 0; /* our own slot is free: ask at once */
}

void rt_pools_hinted(struct rt *rt)
{
    rt->pools->ask_at_mono = 0;
}

double rt_pools_wait(const struct rt *rt, double now_mono)
{
    const struct rt_pools *p = rt->pools;
    if (!p->waiting || p->ask_at_mono == 0)
        return INFINITY;
    return p->ask_at_mono - now_mono;
}

bool rt_pools_handoff_due(const struct rt *rt)
{
    /* An ask (granted or refused) is committed at once too, and any turn's
     * writes once another runtime is in line for the write lock: it is not
     * kept for the group delay while our attempt runs or our counters wait,
     * so the other runtimes' ends (their releases) and grants go on. */
    return rt->pools->released || rt->pools->asked ||
           (journal_open_since(rt->j) > 0 && gate_others_in_line(&rt->st.gate));
}

void rt_pools_committed(struct rt *rt)
{
    struct rt_pools *p = rt->pools;
#ifdef NS_CHECKED
    char err[256];
    if (p->resynced && NEVER(pools_check_holds(p->grants, rt->nlive, err, sizeof err) != 0))
        NS_BUG("run %lld: slots held differ from the live attempts: %s", (long long)rt->run_id,
               err);
#endif
    p->asked = false;
    if (!p->released)
        return;
    p->released = false;
    int64_t *ids;
    size_t n = pools_waiters_to_wake(p->grants, &ids);
    for (size_t i = 0; i < n; i++) {
        char *path = wake_path(&rt->st, ids[i], WAKE_COMMANDS);
        wake_poke(path);
        free(path);
    }
    free(ids);
}
