/*
 * upstream.c - a run that waits for other runs (the spec's after:, run
 * --after RUN): a partition starts only once what it waits for has
 * succeeded (deps_judge in the store says so, the same judgement status and
 * the console show).
 *
 * How the wait wakes: our commands FIFO (run-N.wake) is hard-linked into
 * each upstream run's waiters directory (run-U.waiters/run-N); the upstream
 * runtime pokes its waiters after committing a turn in which partitions
 * settled, so the hint arrives on the descriptor our loop already polls.
 * The loop's one-second poll is the fallback (and finds an upstream run
 * that did not exist yet). Upstream rows are read on a connection of our
 * own that holds no transaction, so an upstream commit is seen at once.
 *
 * Held partitions stay pending in the store; in memory they leave the
 * dispatch order for a list here, and go back (rt_requeue) for another
 * look at each hint. A run without after: has no struct upstream at all:
 * dispatch pays one pointer test.
 *
 * Owned by the supervisor's thread, as everything in struct rt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor.h"
#include "nightshift/deps.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

#define CYCLE_DEPTH 32

struct upstream {
    struct ns_store rd; /* reads the upstreams' rows, writes our run_after rows */
    struct ns_dep *deps;
    size_t n;
    int *round_verdict;  /* partitions: all - the verdict of this round, -1 unknown */
    uint8_t *held;       /* a byte per partition: 1 held now, 2 held before */
    int64_t *heldq;      /* the partitions held now, in dispatch order */
    size_t nheld, cap;
    double last_look;    /* monotonic */
    double *seen_at;     /* per dep: the upstream's writes looked at up to (wall clock) */
    bool look_all;       /* the next look rechecks every held partition */
    char **links;        /* our FIFO's links in upstream waiters directories */
    size_t nlinks;
};

/* The directory where runs waiting for a run of job that does not exist
 * yet are linked: a runtime of that job pokes them as it starts. */
static char *job_waiters_dir(const struct rt *rt, const char *job)
{
    return ns_xasprintf("%s/job-%s.waiters", rt->st.data_dir, job);
}

/* Our wake FIFO, linked into dir (an upstream run's waiters, or a job's), so
 * that runtime's pokes reach our loop. A failure costs only latency (the
 * poll). dir is taken. */
static void link_wake_into(struct rt *rt, char *dir)
{
    struct upstream *u = rt->upstream;
    char *ours = wake_path(&rt->st, rt->run_id, WAKE_COMMANDS);
    char *link_path = ns_xasprintf("%s/run-%lld", dir, (long long)rt->run_id);
    /* Our FIFO may not be made yet (we link before the loop listens):
     * wake_listen reuses the one made here. */
    if ((mkfifo(ours, 0600) == 0 || errno == EEXIST) && (mkdir(dir, 0700) == 0 || errno == EEXIST)) {
        unlink(link_path); /* a dead predecessor's, or a FIFO made anew */
        if (link(ours, link_path) == 0) {
            u->links = ns_xrealloc(u->links, (u->nlinks + 1) * sizeof *u->links);
            u->links[u->nlinks++] = link_path;
            link_path = NULL;
        }
    }
    free(link_path);
    free(dir);
    free(ours);
}

static void link_wake(struct rt *rt, int64_t up)
{
    link_wake_into(rt, wake_path(&rt->st, up, WAKE_WAITERS));
}

void upstream_announce(struct rt *rt)
{
    char *dir = job_waiters_dir(rt, rt->spec->name);
    wake_poke_all(dir); /* a missing directory: nobody waits for this job */
    free(dir);
}

/* Refuses a chain that comes back to us: chain[0..depth) is the path so
 * far (chain[0]: our job), job the next. Returns 0, or -1 with the chain in
 * err ("load -> extract -> load"). */
static int find_cycle(struct rt *rt, const char *job, const char **chain, int depth, char *err,
                      size_t errlen)
{
    chain[depth] = job;
    if (strcmp(job, rt->spec->name) == 0) {
        struct ns_buf b = NS_BUF_INIT;
        for (int i = 0; i <= depth; i++)
            buf_addf(&b, "%s%s", i ? " -> " : "", chain[i]);
        ns_errf(err, errlen, "after: a cycle, refused: %s (each waits for the next)", b.data);
        buf_release(&b);
        return -1;
    }
    if (depth + 1 >= CYCLE_DEPTH)
        return 0;
    char **next = deps_jobs_after(&rt->st, job);
    int rc = 0;
    for (size_t i = 0; next && next[i] && rc == 0; i++)
        rc = find_cycle(rt, next[i], chain, depth + 1, err, errlen);
    for (size_t i = 0; next && next[i]; i++)
        free(next[i]);
    free(next);
    return rc;
}

int upstream_refuse_cycle(struct rt *rt, char *err, size_t errlen)
{
    const char *chain[CYCLE_DEPTH];
    chain[0] = rt->spec->name;
    for (size_t i = 0; i < rt->spec->after_len; i++)
        if (find_cycle(rt, rt->spec->after[i].job, chain, 1, err, errlen) != 0)
            return -1;
    return 0;
}

/* The deps as the spec and --after declare them. */
static void declare(struct rt *rt, struct upstream *u)
{
    size_t n = rt->spec->after_len + (rt->opts->after_run > 0);
    u->deps = ns_xcalloc(n ? n : 1, sizeof *u->deps);
    for (size_t i = 0; i < rt->spec->after_len; i++) {
        const struct ns_after *a = &rt->spec->after[i];
        u->deps[i] = (struct ns_dep){(int)i, ns_xstrdup(a->job), ns_xstrdup(a->partitions),
                                     ns_xstrdup(a->on_failure), ns_xstrdup(a->missing), 0, false};
    }
    if (rt->opts->after_run > 0) {
        char *job = deps_run_job(&u->rd, rt->opts->after_run);
        u->deps[n - 1] = (struct ns_dep){(int)(n - 1), job ? job : ns_xstrdup("?"),
                                         ns_xstrdup("all"), ns_xstrdup("wait"),
                                         ns_xstrdup("error"), rt->opts->after_run, true};
    }
    u->n = n;
}

/* Finds the upstream runs not found yet; links our FIFO to each found. */
static void resolve(struct rt *rt)
{
    struct upstream *u = rt->upstream;
    for (size_t i = 0; i < u->n; i++) {
        struct ns_dep *d = &u->deps[i];
        if (d->upstream_run > 0)
            continue;
        d->upstream_run = deps_find_upstream(&u->rd, d->job, rt->run_id);
        if (d->upstream_run <= 0)
            continue;
        /* Not written back: readers find the same run (deps_waits), and
         * the journal may hold the write lock now. */
        link_wake(rt, d->upstream_run);
        rt_event(rt, -1, 0, "upstream", "run %lld waits for %s run %lld (partitions: %s)",
                 (long long)rt->run_id, d->job, (long long)d->upstream_run, d->partitions);
    }
}

int upstream_open(struct rt *rt, char *err, size_t errlen)
{
    if (rt->spec->after_len == 0 && rt->opts->after_run <= 0)
        return 0;
    struct upstream *u = rt->upstream = ns_xcalloc(1, sizeof *u);
    if (store_open(&u->rd, rt->st.path, NS_STORE_CLIENT, err, errlen) != 0)
        return -1;
    declare(rt, u);
    if (rt->opts->after_run > 0 && strcmp(u->deps[u->n - 1].job, "?") == 0) {
        ns_errf(err, errlen, "--after: no run %lld", (long long)rt->opts->after_run);
        return -1;
    }
    for (size_t i = 0; i < u->n; i++)
        if (!u->deps[i].pinned)
            u->deps[i].upstream_run = deps_find_upstream(&u->rd, u->deps[i].job, rt->run_id);
    if (deps_record(&u->rd, rt->run_id, u->deps, u->n, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < u->n; i++) {
        if (u->deps[i].upstream_run > 0)
            link_wake(rt, u->deps[i].upstream_run);
        else /* its first runtime pokes us as it starts */
            link_wake_into(rt, job_waiters_dir(rt, u->deps[i].job));
    }
    u->round_verdict = ns_xcalloc(u->n, sizeof *u->round_verdict);
    u->seen_at = ns_xcalloc(u->n, sizeof *u->seen_at);
    for (size_t i = 0; i < u->n; i++)
        u->round_verdict[i] = -1;
    u->held = ns_xcalloc(rt->nparts ? rt->nparts : 1, 1);
    u->last_look = ns_monotonic();
    return 0;
}

void rt_settle_partition(struct rt *rt, int64_t idx, enum ns_part_state to, const char *why)
{
    struct part *p = rt_part(rt, idx);
    rt_set_str(&p->row.last_message, why, strlen(why));
    p->row.finished_at = ns_now();
    rt_set_state(rt, idx, to);
    journal_partition(rt->j, &p->row);
    if (to == P_SKIPPED)
        journal_skip_reason(rt->j, idx, why);
    rt_event(rt, idx, 0, "partition_state", "partition %lld [%s]: %s: %s", (long long)idx,
             rt_part_key(rt, idx), query_part_state_word(to), why);
}

bool upstream_admits(struct rt *rt, int64_t idx)
{
    struct upstream *u = rt->upstream;
    char *key = ns_xstrdup(rt_part_key(rt, idx));
    char why[512];
    enum ns_dep_verdict v = NS_DEP_READY;
    for (size_t i = 0; i < u->n && v == NS_DEP_READY; i++) {
        bool whole = strcmp(u->deps[i].partitions, "all") == 0;
        if (whole && u->round_verdict[i] == NS_DEP_READY)
            continue;
        v = deps_judge(&u->rd, &u->deps[i], idx, key, why, sizeof why);
        if (whole)
            u->round_verdict[i] = (int)v;
    }
    bool admitted = v == NS_DEP_READY;
    if (v == NS_DEP_SKIP || v == NS_DEP_FAIL) {
        rt_settle_partition(rt, idx, v == NS_DEP_SKIP ? P_SKIPPED : P_FAILED, why);
    } else if (v == NS_DEP_WAIT) {
        if (u->held[idx] == 0) /* said once; status shows the current word */
            rt_event(rt, idx, 0, "upstream", "partition %lld [%s]: %s", (long long)idx, key, why);
        u->held[idx] = 1;
        if (u->nheld == u->cap) {
            u->cap = u->cap ? u->cap * 2 : 64;
            u->heldq = ns_xrealloc(u->heldq, u->cap * sizeof *u->heldq);
        }
        u->heldq[u->nheld++] = idx;
    }
    free(key);
    return admitted;
}

bool upstream_holds(const struct rt *rt)
{
    return rt->upstream->nheld > 0;
}

/* A settled upstream partition: ours at the same index goes back in line
 * if it is held for that key; another layout makes the look a full one. */
struct changed {
    struct rt *rt;
};

static void requeue_held(struct rt *rt, int64_t idx)
{
    rt->upstream->held[idx] = 2;
    rt_requeue(rt, idx);
}

static void on_settled(void *ctx, int64_t idx, const char *key)
{
    struct rt *rt = ((struct changed *)ctx)->rt;
    struct upstream *u = rt->upstream;
    if (idx < 0 || (size_t)idx >= rt->nparts || strcmp(rt_part_key(rt, idx), key) != 0) {
        u->look_all = true; /* not the same plan order: look at every held one */
        return;
    }
    if (u->held[idx] == 1)
        requeue_held(rt, idx);
}

/* Seconds of upstream writes looked at again: a row written before a
 * commit we already read may be committed after it. */
#define SEEN_MARGIN_S 2.0
/* Below this many held partitions a full look is as cheap. */
#define LOOK_ALL_BELOW 64

/* Only the held partitions whose same-key upstream settled since the last
 * look go back in line (one statement per upstream, not one per held
 * partition). False when it cannot tell: look at them all. */
static bool look_changed(struct rt *rt)
{
    struct upstream *u = rt->upstream;
    if (u->nheld < LOOK_ALL_BELOW)
        return false;
    for (size_t i = 0; i < u->n; i++)
        if (u->deps[i].upstream_run <= 0 || strcmp(u->deps[i].partitions, "same-key") != 0)
            return false;
    u->look_all = false;
    struct changed c = {rt};
    for (size_t i = 0; i < u->n && !u->look_all; i++) {
        double newest;
        if (deps_settled_since(&u->rd, u->deps[i].upstream_run, u->seen_at[i] - SEEN_MARGIN_S,
                               &newest, on_settled, &c) < 0)
            return false;
        u->seen_at[i] = newest;
    }
    if (u->look_all)
        return false;
    size_t kept = 0; /* the ones still held, in order */
    for (size_t i = 0; i < u->nheld; i++)
        if (u->held[u->heldq[i]] == 1)
            u->heldq[kept++] = u->heldq[i];
    u->nheld = kept;
    return true;
}

void upstream_service(struct rt *rt, bool hinted)
{
    struct upstream *u = rt->upstream;
    double now = ns_monotonic();
    if (!hinted && now - u->last_look < rt->command_poll_s)
        return;
    u->last_look = now;
    resolve(rt);
    for (size_t i = 0; i < u->n; i++)
        u->round_verdict[i] = -1;
    /* A hint: what settled upstream. The slow poll (and a hint that cannot
     * be narrowed down) looks at every held partition, in the order it was
     * held. */
    if (hinted && look_changed(rt))
        return;
    for (size_t i = 0; i < u->nheld; i++)
        requeue_held(rt, u->heldq[i]);
    u->nheld = 0;
}

void upstream_close(struct rt *rt)
{
    struct upstream *u = rt->upstream;
    if (!u)
        return;
    for (size_t i = 0; i < u->nlinks; i++) {
        unlink(u->links[i]);
        free(u->links[i]);
    }
    free(u->links);
    deps_free(u->deps, u->n);
    free(u->round_verdict);
    free(u->seen_at);
    free(u->held);
    free(u->heldq);
    store_close(&u->rd);
    free(u);
    rt->upstream = NULL;
}
