/*
 * dispatch.c - choosing the next partition and starting its attempt: the
 * dispatch order (requeued partitions first, then the cursor over the state
 * bytes), the worker's argv, environment and working directory, and the
 * launch through the executor.
 *
 * Invariants: a partition is launched only when it is pending with no live
 * attempt, and never while the journal waits for another process's write
 * lock (an attempt needs its row at once); at most `concurrency` attempts
 * are live (a queueing backend: QUEUE_AHEAD queued beyond what runs).
 */
#include <stdlib.h>
#include <string.h>

#include "supervisor.h"
#include "nightshift/check.h"
#include "nightshift/exec.h"
#include "nightshift/util.h"

extern char **environ;

static void push_env(char ***env, size_t *n, char *entry)
{
    *env = ns_xrealloc(*env, (*n + 2) * sizeof **env);
    (*env)[(*n)++] = entry;
    (*env)[*n] = NULL;
}

void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Frees what build_env made (not the shared run part). */
static void free_env(struct rt *rt, char **env)
{
    if (!env)
        return;
    for (char **p = env + rt->nbase_env; *p; p++)
        free(*p);
    free(env);
}

/* The part of every worker's environment that is the same for the whole
 * run, built once: ours without NIGHTSHIFT_* (a worker of a nested run must
 * not inherit the outer run's identity) and without the names the spec's
 * env sets (those replace ours), then the run's contract variables. */
static void build_base_env(struct rt *rt)
{
    char **env = NULL;
    size_t n = 0;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "NIGHTSHIFT_", 11) == 0)
            continue;
        size_t name_len = strcspn(*e, "=");
        bool replaced = false;
        for (size_t i = 0; i < rt->spec->env_len && !replaced; i++)
            replaced = strlen(rt->spec->env[i].name) == name_len &&
                       memcmp(rt->spec->env[i].name, *e, name_len) == 0;
        if (!replaced)
            push_env(&env, &n, ns_xstrdup(*e));
    }
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_RUN_ID=%lld", (long long)rt->run_id));
    push_env(&env, &n, ns_xstrdup(rt->run_token));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_JOB=%s", rt->spec->name));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_REPORT_FD=%d", NS_REPORT_FD));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_BIN=%s", rt->self_exe));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_DB=%s", rt->st.path));
    rt->base_env = env;
    rt->nbase_env = n;
}

#define ATTEMPT_ENV_VARS 5 /* set by build_env below */

/* Builds one attempt's environment: the run's (build_base_env; shared, not
 * copied), the spec's env, then the attempt's own contract variables and
 * parameters. Free with free_env. */
static char **build_env(struct rt *rt, const struct ns_partition *pp, int attempt_n,
                        const struct part *p, char *err, size_t errlen)
{
    if (!rt->base_env)
        build_base_env(rt);
    int64_t idx = pp->index;
    size_t cap = rt->nbase_env + rt->spec->env_len + ATTEMPT_ENV_VARS + pp->params_len + 1;
    char **env = ns_xcalloc(cap, sizeof *env);
    memcpy(env, rt->base_env, rt->nbase_env * sizeof *env);
    size_t n = rt->nbase_env;
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < rt->spec->env_len; i++) {
        buf_reset(&b);
        if (tmpl_expand(rt->spec->env[i].value, pp->params, pp->params_len, &b, err, errlen) != 0) {
            buf_release(&b);
            free_env(rt, env);
            return NULL;
        }
        env[n++] = ns_xasprintf("%s=%s", rt->spec->env[i].name, b.data ? b.data : "");
    }
    buf_release(&b);
    /* Its own token: what escapes the attempt's group is ended with it. */
    env[n++] = ns_xasprintf("NIGHTSHIFT_ATTEMPT_TOKEN=%s.%lld.%d", strchr(rt->run_token, '=') + 1,
                            (long long)idx, attempt_n);
    env[n++] = ns_xasprintf("NIGHTSHIFT_PARTITION=%lld", (long long)idx);
    env[n++] = ns_xasprintf("NIGHTSHIFT_PARTITION_KEY=%s", pp->key);
    env[n++] = ns_xasprintf("NIGHTSHIFT_ATTEMPT=%d", attempt_n);
    env[n++] = ns_xasprintf("NIGHTSHIFT_CHECKPOINT=%s", p->row.checkpoint ? p->row.checkpoint : "");
    for (size_t i = 0; i < pp->params_len; i++) {
        struct ns_buf name = NS_BUF_INIT;
        buf_adds(&name, "NIGHTSHIFT_P_");
        for (const char *c = pp->params[i].name; *c; c++)
            buf_addc(&name, (*c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c);
        env[n++] = ns_xasprintf("%s=%s", name.data, pp->params[i].value);
        buf_release(&name);
    }
    return env;
}

static char **build_argv(struct rt *rt, const struct ns_partition *pp, char *err, size_t errlen)
{
    char **argv = NULL;
    size_t n = 0;
    if (rt->spec->shell) {
        /* No expansion into shell text (injection); parameters are in the
         * environment as NIGHTSHIFT_P_<NAME>. */
        push_env(&argv, &n, ns_xstrdup("/bin/sh"));
        push_env(&argv, &n, ns_xstrdup("-c"));
        push_env(&argv, &n, ns_xstrdup(rt->spec->command.items[0].text));
        return argv;
    }
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < rt->spec->command.len; i++) {
        buf_reset(&b);
        if (tmpl_expand(rt->spec->command.items[i].text, pp->params, pp->params_len, &b, err,
                        errlen) != 0) {
            buf_release(&b);
            strv_free(argv);
            return NULL;
        }
        push_env(&argv, &n, ns_xstrdup(b.data ? b.data : ""));
    }
    buf_release(&b);
    return argv;
}

static char *build_workdir(struct rt *rt, const struct ns_partition *pp)
{
    if (!rt->spec->workdir.text)
        return ns_xstrdup(rt->spec->dir);
    struct ns_buf b = NS_BUF_INIT;
    char err[256];
    if (tmpl_expand(rt->spec->workdir.text, pp->params, pp->params_len, &b, err, sizeof err) != 0) {
        buf_release(&b);
        return ns_xstrdup(rt->spec->dir);
    }
    char *w = buf_detach(&b);
    if (w[0] != '/') {
        char *abs = ns_xasprintf("%s/%s", rt->spec->dir, w);
        free(w);
        w = abs;
    }
    return w;
}

/* After a queueing backend's submission: the locators (Slurm job ids) it
 * has learnt, stored at once, so the console shows them and a restart finds
 * the tasks before they run. */
void rt_record_new_locators(struct rt *rt)
{
    if (!(rt->exops->caps & NS_EXEC_QUEUES))
        return;
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->located || !a->task)
            continue;
        char *locator = rt->exops->locator(rt->ex, a->task);
        if (locator)
            attempt_learn_location(rt, a, locator);
    }
}

/* How long dispatch waits after an environment fault when no attempt ends
 * to free what the next one needs. */
#define ENV_HOLD_S 1.0

/* a could not start because the runtime ran out of something (descriptors,
 * processes): it is not the partition's attempt (finish_attempt gives it
 * back), and nothing more starts until a live attempt ends or ENV_HOLD_S
 * passed. Said once per run, with what to do about it. */
static void hold_for_environment(struct rt *rt, struct attempt *a, const char *why)
{
    a->env_fault = true;
    rt->env_hold_nlive = rt->nlive - 1; /* a is counted live until it is finished */
    rt->env_hold_until = ns_monotonic() + ENV_HOLD_S;
    if (rt->env_fault_said)
        return;
    rt->env_fault_said = true;
    rt_event(rt, -1, 0, "environment",
             "run %lld: %s with %zu workers running (concurrency %d): the runtime's own limit, "
             "not the partitions' - no attempt is charged; it starts no more workers than it "
             "can until one ends (raise `ulimit -n` / `ulimit -u` to run more at once)",
             (long long)rt->run_id, why, rt->nlive - 1, rt->concurrency);
}

static void launch(struct rt *rt, int64_t idx)
{
    struct part *p = rt_part(rt, idx);
    if (NEVER(p->live != NULL)) /* at most one live attempt per partition */
        NS_BUG("partition %lld: launched while attempt %d lives", (long long)idx, p->live->n);
    char err[512] = "";
    double now = ns_now();
    enum ns_part_state from = p->row.state; /* pending or retry_wait */
    int64_t progress_from = p->row.checkpoint ? p->row.checkpoint_progress : 0;
    int64_t redone = p->row.progress > progress_from ? p->row.progress - progress_from : 0;
    p->row.attempts++;
    p->row.attempts_total++;
    /* Resume from the checkpoint: progress and error records past it will be
     * reported again by this attempt, so earlier copies go. */
    /* p->row.errors counts the partition's stored records: none, nothing to drop. */
    int64_t dropped = p->row.errors > 0
                          ? journal_drop_errors_after(
                                rt->j, idx, p->row.checkpoint ? p->row.checkpoint_err_id : 0)
                          : 0;
    p->row.errors -= dropped;
    rt->error_records -= dropped;
    if (p->row.errors < 0)
        p->row.errors = 0;
    p->last_err_id = p->row.checkpoint ? p->row.checkpoint_err_id : 0;
    int64_t new_progress = p->row.checkpoint ? p->row.checkpoint_progress : 0;
    rt->records_done = ns_add_sat(rt->records_done, new_progress - p->row.progress);
    p->row.progress = new_progress;
    if (!p->row.checkpoint)
        p->row.total = p->row.total >= 0 ? p->row.total : -1;

    struct attempt *a = ns_xcalloc(1, sizeof *a);
    a->idx = idx;
    a->n = p->row.attempts_total;
    a->log_fd = -1;
    a->started_wall = now;
    a->started_mono = ns_monotonic();
    report_parser_init(&a->parser);
    a->log_path = attempt_log_path(rt, idx, a->n);
    a->log_pending = true; /* opened on the first output byte */
    a->id = journal_attempt_start(rt->j, idx, a->n, now, a->log_path, p->row.checkpoint,
                                  p->row.checkpoint_len, progress_from, redone);
    if (rt->pools)
        rt_pools_hold(rt, a); /* granted in this transaction (rt_dispatch) */
    if (rt->held_since > 0) /* the wait that ended with this pass (rt_dispatch) */
        store_attempt_waited(&rt->st, a->id, now - rt->held_since, rt->held_for);
    rt->pass_launches++;
    p->live = a;
    if (!p->row.started_at)
        p->row.started_at = now;
    p->row.finished_at = 0;
    /* A queueing backend's task waits in its queue: the partition stays
     * pending, with its live attempt, until `started`. */
    a->started = !(rt->exops->caps & NS_EXEC_QUEUES);
    if (a->started)
        rt_set_state(rt, idx, P_RUNNING);
    rt_live_add(rt, a);

    struct ns_partition pp;
    char **argv = NULL, **envp = NULL;
    char *workdir = NULL;
    if (rt_part_load(rt, idx, &pp, err, sizeof err) == 0) {
        argv = build_argv(rt, &pp, err, sizeof err);
        envp = argv ? build_env(rt, &pp, a->n, p, err, sizeof err) : NULL;
        workdir = build_workdir(rt, &pp);
        a->key = ns_xstrdup(pp.key);
    }
    rt_part_unload(&pp);
    int rc = -1;
    if (argv && envp) {
        struct ns_launch l = {argv, envp, workdir};
        rc = rt->exops->start(rt->ex, &l, a->id, a, &a->task, err, sizeof err);
    }
    strv_free(argv);
    free_env(rt, envp);
    free(workdir);
    if (rc == NS_EXEC_ENV_FAULT)
        hold_for_environment(rt, a, err);
    if (rc != 0) {
        a->ended = true;
        finish_attempt(rt, a, err);
        return;
    }
    attempt_learn_location(rt, a, rt->exops->locator(rt->ex, a->task));
    if (rt->spec->timeout_ms > 0 && !(rt->exops->caps & NS_EXEC_QUEUES)) /* else on `started` */
        a->deadline_mono = a->started_mono + (double)rt->spec->timeout_ms / 1000.0;
    /* Its row is written before the commit, or with its end if that comes
     * first (one UPDATE for an attempt that starts and ends in one turn). */
    p->row_dirty = true;
    /* A task queued by its executor stays pending: no state change yet. */
    bool moved = p->row.state != from;
    rt_event_change(rt, idx, a->id, "attempt_start", moved ? query_part_state_word(from) : NULL,
                    moved ? query_part_state_word(p->row.state) : NULL,
                    "partition %lld [%s]: attempt %d started (%s%s)", (long long)idx,
                    a->key ? a->key : "?", a->n, a->label,
                    p->row.checkpoint ? ", resuming from checkpoint" : "");
}

static int64_t next_dispatchable(struct rt *rt)
{
    while (rt->requeue_head < rt->nrequeue) {
        int64_t idx = rt->requeue[rt->requeue_head++];
        if (rt->requeue_head == rt->nrequeue)
            rt->requeue_head = rt->nrequeue = 0;
        struct part *p = rt_part(rt, idx);
        p->queued = false;
        if (p->row.state == P_PENDING && !p->live)
            return idx;
    }
    /* Next in line: the state bytes, no struct part until it is chosen. */
    while (rt->cursor < rt->nparts) {
        size_t i = rt->cursor++;
        if (rt->newest_first)
            i = rt->nparts - 1 - i; /* order: newest */
        if (rt->pstate[i] == P_PENDING) {
            const struct part *p = part_map_find(&rt->parts, (int64_t)i);
            if (!p || !p->live)
                return (int64_t)i;
        }
    }
    return -1;
}

/* Backends that queue (NS_EXEC_QUEUES: Slurm throttles the arrays itself)
 * get up to QUEUE_AHEAD partitions queued ahead of what runs, the memory
 * bound of what is "next in line". The next ones (more partitions,
 * retries) go out in one submission as soon as fewer than QUEUE_LOW are
 * still queued, so Slurm's queue never runs dry; the executor keeps the
 * arrays together within `concurrency`. */
#define QUEUE_AHEAD 1000
#define QUEUE_LOW (QUEUE_AHEAD / 4)

/* What a dispatch pass says of holds: KEEP_HOLD when it cannot tell (the
 * journal waits for a lock, a pool's ask is not due), NULL when nothing was
 * held, else what held a partition that could have started. */
static const char KEEP_HOLD[] = "";

static const char *dispatch_pass(struct rt *rt)
{
    if (rt->window && !rt_window_allows(rt)) {
        if (rt->pools)
            rt_pools_withdraw(rt); /* outside its window it reserves no slot */
        bool could = rt->state == NS_RS_RUNNING && rt->nlive < (size_t)rt->concurrency &&
                     rt->counts[P_PENDING] > 0;
        return could ? "window" : NULL;
    }
    if (journal_waiting(rt->j))
        return KEEP_HOLD; /* an attempt needs its row now; the lock is another's */
    size_t limit = (size_t)rt->concurrency;
    if (rt->exops->caps & NS_EXEC_QUEUES) {
        size_t queued = 0;
        for (size_t i = 0; i < rt->nlive; i++)
            queued += !rt->live[i]->started;
        limit = queued < QUEUE_LOW ? rt->nlive - queued + QUEUE_AHEAD : 0;
    }
    if (rt->env_hold_until > 0) {
        if (rt->nlive >= rt->env_hold_nlive && rt->nlive > 0 &&
            ns_monotonic() < rt->env_hold_until)
            return KEEP_HOLD; /* an environment fault: more once a worker ends (or soon) */
        if (rt->nlive == 0 && ns_monotonic() < rt->env_hold_until)
            return KEEP_HOLD;
        rt->env_hold_until = 0;
    }
    if (rt->pools && rt->state != NS_RS_RUNNING)
        rt_pools_withdraw(rt); /* paused or stopping: no slot is reserved for it */
    bool upstream_held = false;
    while (rt->state == NS_RS_RUNNING && rt->nlive < limit) {
        if (rt->pools && !rt_pools_may_ask(rt))
            return KEEP_HOLD; /* refused lately: asked again on a hint, an end, or later */
        int64_t idx = next_dispatchable(rt);
        if (idx < 0) {
            if (rt->pools)
                rt_pools_withdraw(rt);
            /* Held ones leave the dispatch order: still held, still a wait. */
            upstream_held = upstream_held || (rt->upstream && upstream_holds(rt));
            return upstream_held ? "upstream" : NULL;
        }
        if (rt->upstream && !upstream_admits(rt, idx)) {
            upstream_held = true;
            continue; /* held for its upstream (upstream.c), or settled by it */
        }
        if (!journal_ready(rt->j)) {
            rt_requeue(rt, idx); /* launched once another process's write lock frees */
            return KEEP_HOLD;
        }
        if (rt->pools && !rt_pools_grant(rt)) {
            rt_requeue(rt, idx); /* it waits for its pool slots */
            return "pool";
        }
        launch(rt, idx);
        if (rt->env_hold_until > 0)
            return KEEP_HOLD; /* it could not start: the environment, not the partition */
    }
    return NULL;
}

/* A pass, and the hold it saw: a wait begins at the first pass held and
 * ends with a pass that holds nothing; the attempts launched meanwhile
 * carry it (launch). A pass that launched but is still held took the slot
 * that waited longest: the next one has waited since the last attempt's
 * end freed a slot, if that came later (a pool's single slot), else as
 * long (partitions held for their upstreams, with slots free all along). */
void rt_dispatch(struct rt *rt)
{
    rt->pass_launches = 0;
    const char *held = dispatch_pass(rt);
    if (held == KEEP_HOLD)
        return;
    if (!held) {
        rt->held_since = 0;
    } else if (rt->held_since == 0 || strcmp(held, rt->held_for) != 0) {
        rt->held_since = ns_now();
        rt->held_for = held;
    } else if (rt->pass_launches > 0 && rt->last_end_wall > rt->held_since) {
        rt->held_since = rt->last_end_wall;
    }
}
