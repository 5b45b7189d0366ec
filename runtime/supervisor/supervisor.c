/*
 * supervisor.c - the supervisor: one poll loop drives one run.
 *
 * Design: a single thread owns all run state (struct rt). It waits in poll()
 * on a signalfd (the runtime's own SIGCHLD, SIGINT, SIGTERM, SIGHUP) and on
 * the descriptors the executor asks for, with a timeout that is the nearest
 * deadline (attempt timeout, kill after stop_grace, a retry coming due, the
 * executor's next wake-up, the command poll). Where and how an attempt runs
 * is the executor's business (executor.h: local processes, Slurm): the
 * supervisor asks for semantic actions (pause, resume, terminate, kill) and
 * gets events (report bytes, output bytes, ended); it names no pid and no
 * signal of a worker. Every turn ends with one commit of what the turn
 * observed (journal.c), so the database always holds a consistent story.
 *
 * Invariants:
 *  - at most one live attempt per partition (part->live), and at most
 *    `concurrency` live attempts;
 *  - a partition's succeeded state is written once, in the turn its worker
 *    was reaped with exit 0; a restarted runtime never dispatches it again;
 *  - before dispatching anything, a restarted runtime ends every process a
 *    dead predecessor left (by pid + start time, then by environment).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "supervisor.h"
#include "nightshift/check.h"
#include "nightshift/exec.h"
#include "nightshift/util.h"
#include "nightshift/checkpointer.h"
#include "nightshift/control.h"
#include "nightshift/escape.h"
#include "nightshift/metrics.h"

#include "nightshift/wake.h"

#define CHECK_COUNTS_MAX_PARTS 20000 /* checked builds count rows at each commit below this */
#define COMMIT_DELAY_S 0.02 /* group commit while busy (loop) */

static void rt_vevent(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind,
                      const char *from, const char *to, const char *fmt, va_list ap)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_vaddf(&b, fmt, ap);
    journal_event_change(rt->j, idx, attempt_id, kind, from, to, b.data ? b.data : "");
    if (rt->opts->on_event) {
        /* Keys and messages in b come from users and workers. */
        char *safe = escape_dup(b.data ? b.data : "", b.len, 0);
        rt->opts->on_event(rt->opts->ctx, safe);
        free(safe);
    }
    buf_release(&b);
}

void rt_event(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind, const char *fmt,
              ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_vevent(rt, idx, attempt_id, kind, NULL, NULL, fmt, ap);
    va_end(ap);
}

void rt_event_change(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind,
                     const char *from, const char *to, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rt_vevent(rt, idx, attempt_id, kind, from, to, fmt, ap);
    va_end(ap);
}

void rt_set_run_state(struct rt *rt, enum ns_run_state s, const char *reason)
{
    if (rt->state == s && !reason)
        return;
    enum ns_run_state from = rt->state;
    rt->state = s;
    /* reason may be rt->state_reason itself: use the stored copy from here. */
    rt_set_str(&rt->state_reason, reason, reason ? strlen(reason) : 0);
    reason = rt->state_reason;
    journal_run_state(rt->j, s, reason);
    rt_event_change(rt, -1, 0, "run_state", query_run_state_word(from), query_run_state_word(s),
                    "run %lld: %s -> %s%s%s", (long long)rt->run_id, query_run_state_word(from),
                    query_run_state_word(s), reason ? ": " : "", reason ? reason : "");
}

static char *hex64(uint64_t h)
{
    return ns_xasprintf("%016llx", (unsigned long long)h);
}

/* Lines of a that are not in b, each prefixed; for "what changed". */
static void diff_lines(struct ns_buf *out, const char *a, const char *b, const char *prefix)
{
    const char *line = a;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        bool found = false;
        for (const char *q = b; *q;) {
            const char *qn = strchr(q, '\n');
            size_t ql = qn ? (size_t)(qn - q) : strlen(q);
            if (ql == len && memcmp(q, line, len) == 0) {
                found = true;
                break;
            }
            q += ql + (qn ? 1 : 0);
        }
        if (!found && len) {
            buf_adds(out, prefix);
            buf_add(out, line, len);
            buf_addc(out, '\n');
        }
        line += len + (nl ? 1 : 0);
    }
}

struct store_parts {
    struct rt *rt;
    struct ns_runs_parts *rows;
    struct ns_buf json;
};

/* plan_stream callback: one partition row, written 64 at a time. Non-zero
 * stops the stream. */
static int store_part(void *ctx, const struct ns_partition *pp)
{
    struct store_parts *sp = ctx;
    struct ns_buf *b = &sp->json;
    buf_reset(b);
    plan_partition_json_add(pp, b);
    return runs_parts_add(sp->rows, sp->rt->run_id, pp->index, pp->key, b->data, b->len,
                          sp->rt->spec->retry_attempts) != 0;
}

/* Inserts the run and its partitions. Returns 0, 1 if a run with this
 * identity appeared since the caller looked (nothing written), or -1. */
static int create_run(struct rt *rt, const char *params, const char *spec_canon,
                      const char *spec_hash, const char *plan_hash, char *err, size_t errlen)
{
    char *params_json;
    {
        struct ns_buf b = NS_BUF_INIT;
        buf_addc(&b, '{');
        for (size_t i = 0; i < rt->plan->run_params_len; i++) {
            const struct ns_kv *kv = &rt->plan->run_params[i];
            if (i)
                buf_addc(&b, ',');
            buf_add_json_string(&b, kv->name, strlen(kv->name));
            buf_addc(&b, ':');
            buf_add_json_string(&b, kv->value, strlen(kv->value));
        }
        buf_addc(&b, '}');
        params_json = buf_detach(&b);
    }
    char *abs_spec = realpath(rt->spec->path, NULL);
    int rc = -1;
    ns_crashpoint("create.before");
    if (store_begin(&rt->st, err, errlen) != 0)
        goto out;
    /* Two `run`s of one command at once: the other may have created the run
     * since we looked. The write lock is ours now; look again. */
    if (!rt->opts->rerun && runs_exists(&rt->st, rt->spec->name, params)) {
        store_rollback(&rt->st);
        rc = 1;
        goto out;
    }
    struct ns_run_new nr = {
        .job = rt->spec->name,
        .params = params,
        .params_json = params_json,
        .spec_path = abs_spec ? abs_spec : rt->spec->path,
        .spec_canon = spec_canon,
        .spec_hash = spec_hash,
        .plan_hash = plan_hash,
        .concurrency = rt->spec->concurrency,
        .total = (int64_t)rt->plan->len,
    };
    rt->run_id = runs_create(&rt->st, &nr, err, errlen);
    if (rt->run_id < 0) {
        rt->run_id = 0;
        store_rollback(&rt->st);
        goto out;
    }
    struct store_parts sp = {rt, runs_parts_new(&rt->st), NS_BUF_INIT};
    /* The plan is streamed into the table, never held. It was validated
     * before the runtime began (rt->plan is its summary): one pass here. */
    struct ns_diags diags = {0};
    int stopped = 0;
    int streamed = plan_stream_known(rt->spec, rt->opts->given, rt->opts->ngiven, rt->plan,
                                     store_part, &sp, &diags, &stopped);
    char why[512] = "";
    if (runs_parts_finish(sp.rows, streamed == 0, why, sizeof why) != 0) {
        stopped = 1;
        streamed = -1;
    }
    buf_release(&sp.json);
    diags_release(&diags);
    if (streamed != 0) {
        if (stopped)
            ns_errf(err, errlen, "%s", why);
        else
            ns_errf(err, errlen,
                    "the plan changed while the run was being created (a keys file "
                    "or the files matched changed); try again");
        store_rollback(&rt->st);
        goto out;
    }
    rc = store_commit(&rt->st, err, errlen);
    ns_crashpoint("create.after");
out:
    free(params_json);
    free(abs_spec);
    return rc;
}

/* Finds the run to drive. Returns 0 (rt->run_id set, or result->already_succeeded),
 * -1 on error (*refused when it is the user's to fix). */
static int find_or_create_run(struct rt *rt, struct ns_run_result *result, bool *refused, char *err,
                              size_t errlen)
{
    char *params = plan_params_canonical(rt->plan);
    char *canon = executor_canonical(rt->exops, rt->spec);
    char *spec_hash = hex64(ns_hash64(canon, strlen(canon), NS_HASH_SEED));
    char *plan_hash = hex64(rt->plan->hash);
    int rc = -1;

again:
    struct ns_run_found f;
    if (!rt->opts->rerun && runs_find(&rt->st, rt->spec->name, params, &f)) {
        int64_t id = f.id;
        result->run_id = id;
        if (f.state == NS_RS_SUCCEEDED) {
            result->already_succeeded = true;
            result->run_state = NS_RS_SUCCEEDED;
            snprintf(result->state, sizeof result->state, "%s",
                     query_run_state_word(NS_RS_SUCCEEDED));
            runs_found_release(&f);
            rc = 0;
            goto out;
        }
        if (strcmp(f.plan_hash, plan_hash) != 0) {
            ns_errf(err, errlen,
                    "run %lld: the plan changed since it started (%lld partitions then, "
                    "%zu now, or different keys); finish it with the old spec, or "
                    "start a new run with --rerun",
                    (long long)id, (long long)f.total, rt->plan->len);
            *refused = true;
            runs_found_release(&f);
            goto out;
        }
        if (strcmp(f.spec_hash, spec_hash) != 0) {
            struct ns_buf b = NS_BUF_INIT;
            diff_lines(&b, f.spec_canon, canon, "  was: ");
            diff_lines(&b, canon, f.spec_canon, "  now: ");
            if (!rt->opts->force) {
                ns_errf(err, errlen,
                        "run %lld: the spec changed since the run started:\n%s"
                        "resume anyway with --force, or start a new run with --rerun",
                        (long long)id, b.data ? b.data : "");
                buf_release(&b);
                *refused = true;
                runs_found_release(&f);
                goto out;
            }
            /* Written (journal_spec) and recorded once we hold the
             * lock: a refused run changes nothing. Earlier attempts ran
             * with the old settings, and the store must say so. */
            rt->forced_changes = buf_detach(&b);
        }
        rt->run_id = id;
        result->resumed = true;
        runs_found_release(&f);
    }
    if (!rt->run_id) {
        int created = create_run(rt, params, canon, spec_hash, plan_hash, err, errlen);
        if (created < 0)
            goto out;
        if (created > 0)
            goto again; /* created by a twin meanwhile: resume it (or be refused) */
    }
    result->run_id = rt->run_id;
    rc = 0;
out:
    free(params);
    free(canon);
    free(spec_hash);
    free(plan_hash);
    return rc;
}

static int take_lock(struct rt *rt, bool *refused, char *err, size_t errlen)
{
    char *path = store_lock_path(&rt->st, rt->run_id);
    rt->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (rt->lock_fd < 0) {
        ns_errf(err, errlen, "%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    /* A probe (status, a pool's reclaim: store_runtime_alive) holds a shared
     * lock for microseconds: a few tries before another runtime is named. */
    int locked;
    for (int tries = 0; (locked = flock(rt->lock_fd, LOCK_EX | LOCK_NB)) != 0 &&
                        errno == EWOULDBLOCK && tries < 20;
         tries++)
        usleep(1000);
    if (locked != 0) {
        long long pid = (long long)runs_runtime_pid(&rt->st, rt->run_id);
        ns_errf(err, errlen,
                "run %lld is already being driven by a live runtime (pid %lld); watch it with "
                "'nightshift console %lld'",
                (long long)rt->run_id, pid, (long long)rt->run_id);
        *refused = true;
        return -1;
    }
    return 0;
}

/* The runtime's own children: hooks, the executor's (local workers, or the
 * commands a cluster executor runs), and orphaned grandchildren reparented
 * to us as the subreaper. The runtime process reaps them all in one place. */
/* Unclaimed children are orphaned grandchildren: exec_reap_children reaps
 * them all the same. */
static bool claim_child(void *ctx, int pid, int status)
{
    struct rt *rt = ctx;
    if (hooks_reaped(rt, pid, status))
        return true;
    return rt->exops->child_exited && rt->exops->child_exited(rt->ex, pid, status);
}

static void reap(struct rt *rt)
{
    exec_reap_children(claim_child, rt);
}

void rt_request_stop(struct rt *rt, bool now)
{
    if (now) {
        rt->stop_now = true;
        for (size_t i = 0; i < rt->nlive; i++) {
            struct attempt *a = rt->live[i];
            if (a->ending == END_NONE)
                a->ending = END_STOP;
            if (!a->ended)
                rt->exops->control(rt->ex, a->task, NS_EXEC_KILL);
        }
    }
    if (rt->state == NS_RS_STOPPING)
        return;
    rt_set_run_state(rt, NS_RS_STOPPING, now ? "stop now requested" : "graceful stop requested");
    for (size_t i = 0; i < rt->nlive; i++)
        rt_end_attempt(rt, rt->live[i], END_STOP);
}

static void handle_signals(struct rt *rt)
{
    struct signalfd_siginfo si;
    while (read(rt->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            break; /* reap() below */
        case SIGINT:
        case SIGTERM: {
            bool again = rt->state == NS_RS_STOPPING;
            rt_event(rt, -1, 0, "signal", "runtime got %s: %s", strsignal((int)si.ssi_signo),
                     again ? "stopping now (SIGKILL to workers)"
                           : "stopping gracefully (send it again to stop now)");
            rt_request_stop(rt, again);
            break;
        }
        case SIGHUP:
            rt->tty_gone = true;
            journal_event(rt->j, -1, 0, "signal", "terminal hung up; the run goes on");
            break;
        }
    }
    reap(rt);
}

static void check_deadlines(struct rt *rt)
{
    double now = ns_monotonic();
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->ended)
            continue;
        if (a->ending == END_NONE && a->deadline_mono > 0 && a->paused_at_mono == 0 &&
            now >= a->deadline_mono)
            rt_end_attempt(rt, a, END_TIMEOUT);
        if (a->kill_at_mono > 0 && now >= a->kill_at_mono) {
            rt->exops->control(rt->ex, a->task, NS_EXEC_KILL);
            a->kill_at_mono = 0;
        }
    }
}

static bool finished(struct rt *rt)
{
    if (rt->nlive > 0)
        return false;
    if (rt->state == NS_RS_STOPPING)
        return true;
    if (rt->state != NS_RS_RUNNING)
        return false; /* paused or halted: wait for the operator */
    return rt->counts[P_PENDING] == 0 && rt->counts[P_RETRY_WAIT] == 0;
}

/* Ends the turn's transaction; verdicts in it are then announced (wake.h).
 * wait: if another process holds the write lock, wait for it (the end of
 * the run); else the writes stay queued until a later turn (the loop). */
/* The invariant "the run's counters equal its rows at each commit", in
 * checked builds (check.h), for runs small enough to count at every commit. */
static void check_counts_equal_rows(struct rt *rt)
{
#ifdef NS_CHECKED
    int64_t rows[NS_PS_COUNT];
    if (rt->nparts > CHECK_COUNTS_MAX_PARTS || runs_count_states(rt->runs, rows) != 0)
        return;
    for (int i = 0; i < NS_PS_COUNT; i++)
        if (NEVER(rows[i] != rt->counts[i]))
            NS_BUG("run %lld: %lld partitions %s in memory, %lld in the rows",
                   (long long)rt->run_id, (long long)rt->counts[i],
                   query_part_state_word((enum ns_part_state)i), (long long)rows[i]);
#else
    (void)rt;
#endif
}

static int commit_turn(struct rt *rt, bool wait, char *err, size_t errlen)
{
    /* A verdict's effect (skip, retry) moved partitions between states:
     * the run's counters go with it, not at the next tick. */
    if (rt->verdicts && rt->dirty)
        rt_write_counters(rt);
    rt_store_live_rows(rt);
    int rc = (wait ? journal_commit : journal_try_commit)(rt->j, err, errlen);
    if (rc < 0)
        return -1;
    if (rc > 0 || journal_waiting(rt->j))
        return 0; /* the verdicts are announced once committed */
    check_counts_equal_rows(rt);
    if (rt->pools)
        rt_pools_committed(rt);
    /* Verdicts and settled partitions (runs waiting for ours: upstream.c)
     * are announced once committed. */
    if ((rt->verdicts || rt->settled) && rt->waiters_dir)
        wake_poke_all(rt->waiters_dir);
    rt->verdicts = rt->settled = false;
    rt_evict_settled(rt); /* their rows are committed now */
    return 0;
}

static void poll_commands(struct rt *rt, bool force)
{
    if (journal_waiting(rt->j)) {
        /* A verdict must be committed before the command is seen again; a
         * hint that came meanwhile is kept for when the lock is ours. */
        rt->commands_due |= force;
        return;
    }
    force |= rt->commands_due;
    rt->commands_due = false;
    double now = ns_monotonic();
    if (!force && now - rt->last_cmd_poll < rt->command_poll_s)
        return;
    rt->last_cmd_poll = now;
    /* data_version changes only when another connection commits: a cheap
     * test before looking at the commands table. */
    int64_t v = runs_data_version(rt->runs);
    if (!force && v == rt->data_version)
        return;
    rt->data_version = v;
    apply_pending_commands(rt);
}

/* A run that shares pools holds the write lock for the group delay only
 * while nobody waits for it: the runtimes of the pool's other runs need it
 * to record their ends (give back slots) and take the freed ones, so a
 * transaction left open for counters would stall the pool. A pool's
 * runtime in line looks for its turn as often: each hand-over of the lock
 * is on the way of a slot from one attempt to the next. */
#define POOL_LINE_CHECK_S 0.001

static int loop(struct rt *rt, char *err, size_t errlen)
{
    struct pollfd *pfd = NULL;
    size_t pfd_cap = 0;
    bool quiet = true; /* the last poll timed out: nothing is pouring in */
    for (;;) {
        rt_promote_retries(rt, ns_now());
        rt_dispatch(rt);
        if (rt->exops->flush(rt->ex, err, errlen) != 0)
            rt_event(rt, -1, 0, "executor", "%s executor: %s", rt->exops->name, err);
        rt_record_new_locators(rt);
        rt_periodic(rt, false);
        /* Group commit: while events pour in, turns share one transaction
         * for up to COMMIT_DELAY_S (one commit, not one per finished
         * attempt); a quiet turn, a verdict a client waits for, or the end
         * commits at once. Each transaction is still all or nothing, so a
         * crash loses at most that much recent work, which runs again. */
        bool done = finished(rt);
        if (done && journal_waiting(rt->j)) {
            done = false; /* end only once the turn's writes are ours (and looked at) */
        } else if (done) {
            /* A command that came since the last look (a retry) may give
             * the run more to do: one last look before it ends. */
            poll_commands(rt, true);
            done = finished(rt);
        }
        double since = journal_open_since(rt->j);
        if (done || quiet || rt->verdicts || journal_waiting(rt->j) ||
            (rt->pools && rt_pools_handoff_due(rt)) ||
            (since > 0 && ns_monotonic() - since >= COMMIT_DELAY_S)) {
            if (commit_turn(rt, false, err, errlen) != 0)
                goto fail;
        }
        if (done)
            break;

        /* Wait for the nearest of: a pipe, a signal, a hint, a deadline. */
        size_t ex_n = rt->exops->pollfds(rt->ex, NULL, 0);
        size_t need = 2 + ex_n + rt->nhooks;
        if (need > pfd_cap) {
            pfd_cap = need * 2;
            pfd = ns_xrealloc(pfd, pfd_cap * sizeof *pfd);
        }
        size_t n = 0;
        pfd[n++] = (struct pollfd){rt->sigfd, POLLIN, 0};
        size_t ex_at = n;
        n += rt->exops->pollfds(rt->ex, pfd + ex_at, ex_n);
        size_t wake_at = n;
        pfd[n++] = (struct pollfd){rt->wake_fd, POLLIN, 0}; /* fd -1: ignored */
        size_t hook_at = n;
        n += hooks_pollfds(rt, pfd + hook_at);
        double now_mono = ns_monotonic();
        double wait = fmin(rt->command_poll_s, rt_periodic_due(rt, now_mono));
        double ex_wake = rt->exops->next_wakeup(rt->ex);
        if (ex_wake > 0)
            wait = fmin(wait, ex_wake - now_mono);
        since = journal_open_since(rt->j);
        if (since > 0)
            wait = fmin(wait, since + COMMIT_DELAY_S - now_mono);
        if (since > 0 && rt->pools) /* is someone in line for our lock? (commit then) */
            wait = fmin(wait, POOL_LINE_CHECK_S);
        double hook_deadline = hooks_next_deadline(rt);
        if (hook_deadline > 0)
            wait = fmin(wait, hook_deadline - now_mono);
        for (size_t i = 0; i < rt->nlive; i++) {
            struct attempt *a = rt->live[i];
            if (a->deadline_mono > 0 && a->paused_at_mono == 0 && a->ending == END_NONE)
                wait = fmin(wait, a->deadline_mono - now_mono);
            if (a->kill_at_mono > 0)
                wait = fmin(wait, a->kill_at_mono - now_mono);
        }
        if (journal_waiting(rt->j)) /* our turn at the write gate may have come */
            wait = fmin(wait, rt->pools ? POOL_LINE_CHECK_S : 0.005);
        double retry = rt_next_retry_at(rt);
        if (retry > 0)
            wait = fmin(wait, retry - ns_now());
        if (rt->pools)
            wait = fmin(wait, rt_pools_wait(rt, now_mono));
        if (rt->window)
            wait = fmin(wait, rt_window_wait(rt));
        int timeout_ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
        int rc = poll(pfd, n, timeout_ms);
        quiet = rc == 0;
        if (rc < 0 && errno != EINTR) {
            ns_errf(err, errlen, "poll: %s", strerror(errno));
            goto fail;
        }
        if (rc < 0)
            for (size_t i = 0; i < n; i++)
                pfd[i].revents = 0;
        if (rc > 0 && pfd[0].revents)
            handle_signals(rt);
        reap(rt);
        rt->exops->service(rt->ex, pfd + ex_at, wake_at - ex_at, &rt_exec_events, rt);
        hooks_service(rt, pfd + hook_at, rc > 0 ? n - hook_at : 0);
        for (size_t i = 0; i < rt->nlive;) {
            if (rt->live[i]->ended)
                finish_attempt(rt, rt->live[i], NULL); /* swaps the last into i */
            else
                i++;
        }
        check_deadlines(rt);
        bool hinted = rc > 0 && pfd[wake_at].revents;
        if (hinted)
            wake_drain(rt->wake_fd);
        if (hinted && rt->pools)
            rt_pools_hinted(rt);
        poll_commands(rt, hinted);
        if (rt->upstream)
            upstream_service(rt, hinted);
    }
    free(pfd);
    return 0;
fail:
    free(pfd);
    return -1;
}

/* The store failed for good (disk full, I/O error): nothing more can be
 * recorded, so no worker may go on unrecorded. Each is ended (SIGTERM, then
 * SIGKILL after stop_grace, its group and everything with the run token);
 * their attempts stay open in the store, and the next `run` reconciles
 * them as interrupted and resumes from the last committed checkpoints. */
static void abandon_workers(struct rt *rt, char *err, size_t errlen)
{
    size_t n = rt->nlive;
    for (size_t i = 0; i < rt->nlive; i++)
        rt->exops->control(rt->ex, rt->live[i]->task, NS_EXEC_TERMINATE);
    rt->exops->end_strays(rt->ex); /* waits stop_grace, then kills */
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        rt->exops->control(rt->ex, a->task, NS_EXEC_KILL);
        report_parser_release(&a->parser);
        if (a->log_fd >= 0)
            close(a->log_fd);
        attempt_free(a);
    }
    rt->nlive = 0;
    exec_reap_leftovers(2.0); /* bounded: everything of the run was killed already */
    size_t len = strlen(err);
    if (n > 0 && len + 1 < errlen)
        snprintf(err + len, errlen - len,
                 "\nthe run's %zu running attempt%s ended first; the same `nightshift run` "
                 "again resumes from the last committed checkpoints",
                 n, n == 1 ? " was" : "s were");
}

static void rt_release(struct rt *rt)
{
    upstream_close(rt);
    rt_model_release(rt);
    free(rt->live);
    free(rt->requeue);
    free(rt->waiting);
    free(rt->run_dir);
    if (rt->exit_note_fd >= 0)
        close(rt->exit_note_fd);
    free(rt->metrics_path);
    free(rt->waiters_dir);
    if (rt->wake_fd >= 0)
        close(rt->wake_fd);
    strv_free(rt->base_env);
    free(rt->self_exe);
    free(rt->run_token);
    free(rt->file_token);
    free(rt->forced_changes);
    free(rt->state_reason);
    free(rt->sla_state);
    free(rt->hooks);
    checkpointer_stop(rt->checkpointer);
    rt_pools_close(rt); /* its statements go before the connection */
    rt_window_close(rt);
    journal_free(rt->j);
    if (rt->ex)
        rt->exops->close(rt->ex);
    if (rt->sigfd >= 0)
        close(rt->sigfd);
    if (rt->lock_fd >= 0)
        close(rt->lock_fd);
    store_close(&rt->st);
}

/* Finds the run to drive (or creates it), takes its lock, and reads its
 * partitions. Returns 0 (result->already_succeeded: nothing to drive), or -1
 * with err (*refused when it is the user's to fix). */
static int open_run(struct rt *rt, const char *db_path, struct ns_run_result *result, bool *refused,
                    char *err, size_t errlen)
{
    /* Before the run is made: a textfile that cannot be written is the
     * user's to fix, not a failure at every write all night. */
    rt->metrics_path = rt_metrics_path(rt);
    if (rt->metrics_path && metrics_prepare_textfile(rt->metrics_path, err, errlen) != 0) {
        *refused = true;
        return -1;
    }
    if (store_open(&rt->st, db_path, NS_STORE_WRITER, err, errlen) != 0)
        return -1;
    if (rt->spec->durability_full &&
        store_exec(&rt->st, "PRAGMA synchronous=FULL", err, errlen) != 0)
        return -1;
    if (rt->spec->after_len > 0 && upstream_refuse_cycle(rt, err, errlen) != 0) {
        *refused = true;
        return -1;
    }
    if (find_or_create_run(rt, result, refused, err, errlen) != 0)
        return -1;
    if (result->already_succeeded)
        return 0;
    if (take_lock(rt, refused, err, errlen) != 0)
        return -1;
    rt->checkpointer = checkpointer_start(&rt->st);
    /* `gc` deletes a finished run under its lock: one it took between our
     * lookup and our lock is gone now. */
    if (!runs_token(&rt->st, rt->run_id, &rt->file_token)) {
        ns_errf(err, errlen, "run %lld was deleted (nightshift gc) as it was resumed; run again",
                (long long)rt->run_id);
        *refused = true;
        return -1;
    }
    /* Commands recorded before we held the lock were meant for a runtime
     * that is gone; clients that saw us alive write ids above this. */
    rt->stale_cmd_max = runs_last_command(&rt->st, rt->run_id);
    {
        /* Run ids repeat across databases, and within one (gc of the
         * newest run, a database made anew at the same path): the token
         * names the database, the run and the run's random token. Only a
         * run made before schema 4 has none. */
        char *real = realpath(rt->st.path, NULL);
        const char *p = real ? real : rt->st.path;
        rt->run_token = ns_xasprintf("NIGHTSHIFT_RUN_TOKEN=%016llx.%lld%s%s",
                                     (unsigned long long)ns_hash64(p, strlen(p), NS_HASH_SEED),
                                     (long long)rt->run_id, rt->file_token ? "." : "",
                                     rt->file_token ? rt->file_token : "");
        free(real);
    }
    rt->run_dir = store_make_run_dir(&rt->st, rt->run_id, result->resumed ? NULL : rt->file_token,
                                     err, errlen);
    if (!rt->run_dir)
        return -1;
    /* Room for its last words, taken while there is some: a runtime that
     * must stop because the disk is full can still say so (status reads it). */
    rt->exit_note_fd = store_exit_note_reserve(&rt->st, rt->run_id);
    return rt_load_partitions(rt, err, errlen);
}

/* The loop's descriptors besides the executor's: the commands hint FIFO
 * and the signalfd. Returns 0, or -1 with err. */
static int open_wakeups(struct rt *rt, char *err, size_t errlen)
{
    /* Hints (wake.h); without them the command poll still works. */
    char *wake = wake_path(&rt->st, rt->run_id, WAKE_COMMANDS);
    rt->wake_fd = wake_listen(wake);
    /* Commands arrive with a hint; the poll only covers a lost one. */
    rt->command_poll_s = wake_poll_interval();
    free(wake);
    rt->waiters_dir = wake_path(&rt->st, rt->run_id, WAKE_WAITERS);

    /* Signals become readable events; children get a clean mask (exec.c). */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    rt->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (rt->sigfd < 0) {
        ns_errf(err, errlen, "signalfd: %s", strerror(errno));
        return -1;
    }
    exec_become_subreaper();
    return 0;
}

/* The journal, the settings a resumed run keeps (or --force replaces), and
 * the executor; then the run is marked as driven by us. *ended_before: the
 * run had ended (its end hooks fired then). Returns 0, or -1 with err. */
static int open_journal_and_executor(struct rt *rt, bool resumed, bool *ended_before, char *err,
                                     size_t errlen)
{
    if (rt_pools_open(rt, err, errlen) != 0)
        return -1;
    rt->j = journal_new(&rt->st, rt->run_id);
    if (rt->forced_changes) {
        char *canon = executor_canonical(rt->exops, rt->spec);
        char *hash = hex64(ns_hash64(canon, strlen(canon), NS_HASH_SEED));
        char *abs_spec = realpath(rt->spec->path, NULL);
        journal_spec(rt->j, canon, hash, rt->spec->concurrency, abs_spec); /* the new spec's */
        free(abs_spec);
        free(hash);
        free(canon);
    } else if (resumed) {
        int stored = runs_concurrency(&rt->st, rt->run_id);
        if (stored > 0)
            rt->concurrency = stored; /* an operator's `set` survives */
    }
    *ended_before = runs_has_ended(&rt->st, rt->run_id);
    struct ns_exec_config cfg = {
        .db_path = rt->st.path,
        .run_dir = rt->run_dir,
        .run_token = rt->run_token,
        .run_id = rt->run_id,
        .stop_grace_ms = rt->spec->stop_grace_ms,
        .concurrency = rt->concurrency,
        .backend = executor_settings(rt->exops, rt->spec),
    };
    if (rt->exops->open(&cfg, &rt->ex, err, errlen) != 0)
        return -1;
    journal_run_executor(rt->j, rt->exops->name);
    char why[512];
    if (runs_mark_started(&rt->st, rt->run_id, rt->start_wall, (int)getpid(), rt->opts->runtime_log,
                          &rt->run_started_at, why, sizeof why) != 0)
        rt_event(rt, -1, 0, "store", "%s", why); /* the run goes on, as it always did */
    if (rt->opts->on_started)
        rt->opts->on_started(rt->opts->ctx, rt->run_id);
    if (rt->run_started_at <= 0)
        rt->run_started_at = rt->start_wall;
    if (rt->forced_changes) {
        /* Raw: every reader escapes an event's text when it shows it. */
        rt_event(rt, -1, 0, "spec_changed", "run %lld resumed with --force; the spec changed:\n%s",
                 (long long)rt->run_id, rt->forced_changes);
    }
    return 0;
}

/* Everything up to the first turn: the run found or made, locked and
 * loaded, the wake-ups, the journal and the executor. Returns 0
 * (result->already_succeeded: nothing to drive), or -1 with err. */
static int rt_open(struct rt *rt, const char *db_path, struct ns_run_result *result, bool *refused,
                   bool *ended_before, char *err, size_t errlen)
{
    rt->lock_fd = rt->sigfd = rt->wake_fd = -1;
    rt->concurrency = rt->spec->concurrency;
    const char *order = rt->opts->order ? rt->opts->order : rt->spec->order;
    rt->newest_first = order && strcmp(order, "newest") == 0;
    rt->exops = rt->opts->executor ? rt->opts->executor : executor_find(rt->spec->executor);
    /* The usual soft limit (1 024) is less than a run at the allowed
     * concurrency needs (two pipes a worker): take what the hard limit
     * allows. Beyond it, dispatch holds instead of failing attempts. */
    exec_raise_fd_limit();
    rt->start_mono = ns_monotonic();
    rt->start_wall = ns_now();
    rt->rng = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(rt->start_wall * 1e6);
    if (!rt->rng)
        rt->rng = 1;
    rt->self_exe = realpath("/proc/self/exe", NULL);
    if (!rt->self_exe)
        rt->self_exe = ns_xstrdup("nightshift");
    if (open_run(rt, db_path, result, refused, err, errlen) != 0)
        return -1;
    if (result->already_succeeded)
        return 0;
    /* What the run waits for is declared before the journal holds the
     * write lock (upstream.c writes it on a connection of its own). */
    if (upstream_open(rt, err, errlen) != 0) {
        *refused = true;
        return -1;
    }
    if (open_wakeups(rt, err, errlen) != 0)
        return -1;
    return open_journal_and_executor(rt, result->resumed, ended_before, err, errlen);
}

/* The run is ours and reconciled: it runs (or waits paused, on_restore),
 * with the commands queued while no runtime ran applied. Returns true if a
 * run that had ended was resumed with nothing to do (its end hooks are not
 * run again). */
static bool rt_start(struct rt *rt, bool resumed, bool ended_before)
{
    guard_init_sla(rt);
    straggle_init(rt);
    rt->state = NS_RS_RUNNING;
    journal_run_state(rt->j, NS_RS_RUNNING, NULL);
    rt_event(rt, -1, 0, "run_state",
             "run %lld: runtime %d %s (%zu partition%s: %lld done, %lld to do)",
             (long long)rt->run_id, (int)getpid(), resumed ? "resumed it" : "started it",
             rt->nparts, rt->nparts == 1 ? "" : "s", (long long)rt_done_count(rt),
             (long long)(rt->nparts - (size_t)rt_done_count(rt)));
    if (resumed && rt->spec->restore_paused)
        rt_set_run_state(rt, NS_RS_PAUSED, "on_restore: pause - resume it when ready");
    poll_commands(rt, true); /* retries and skips queued while no runtime ran */
    return ended_before && rt->nlive == 0 && rt->counts[P_PENDING] == 0 &&
           rt->counts[P_RETRY_WAIT] == 0 && rt->counts[P_RUNNING] == 0;
}

/* While the end hooks run: commands are still answered (refused with the
 * reason, apply.c), never left for a runtime that is not coming. */
static void serve_while_finishing(struct rt *rt, bool hinted)
{
    if (hinted)
        wake_drain(rt->wake_fd);
    poll_commands(rt, hinted);
    char err[256];
    commit_turn(rt, false, err, sizeof err); /* a failure: the final commit says it */
}

/* After the loop: the run's final state, figures and end hooks, committed.
 * Returns 0, or -1 with err (the store failed). */
static int rt_finish(struct rt *rt, bool idle_resume, struct ns_run_result *result, char *err,
                     size_t errlen)
{
    int strays = rt->exops->end_strays(rt->ex);
    if (strays > 0)
        rt_event(rt, -1, 0, "cleanup", "ended %d leftover process%s of the run", strays,
                 strays == 1 ? "" : "es");
    if (rt->state == NS_RS_STOPPING)
        rt_set_run_state(rt, NS_RS_STOPPED, rt->state_reason);
    else if (rt->counts[P_FAILED] > 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "%lld of %zu partitions failed",
                 (long long)rt->counts[P_FAILED], rt->nparts);
        rt_set_run_state(rt, NS_RS_FAILED, reason);
    } else {
        rt_set_run_state(rt, NS_RS_SUCCEEDED, NULL);
    }
    if (rt->state != NS_RS_STOPPED)
        guard_check_sla(rt, 0, true);
    rt_periodic(rt, true);
    if (idle_resume && (rt->state == NS_RS_SUCCEEDED || rt->state == NS_RS_FAILED))
        rt_event(rt, -1, 0, "hook", "end hooks not run again: the resumed run had nothing to do");
    else if (rt->state == NS_RS_SUCCEEDED)
        hooks_fire(rt, NS_HOOK_SUCCESS);
    else if (rt->state == NS_RS_FAILED)
        hooks_fire(rt, NS_HOOK_FAILURE);
    rt->verdicts = true; /* the final state pokes the waiters: `nightshift wait` ends at once */
    if (commit_turn(rt, true, err, errlen) != 0)
        return -1;
    rt->finishing = true;
    hooks_wait_all(rt, serve_while_finishing); /* each bounded by hooks.timeout */
    exec_reap_leftovers(2.0); /* bounded: everything of the run was killed already */
    if (commit_turn(rt, true, err, errlen) != 0)
        return -1;
    result->run_state = rt->state;
    snprintf(result->state, sizeof result->state, "%s", query_run_state_word(rt->state));
    rt_fill_counts(rt, &result->counts, 0, 0, ns_now());
    return 0;
}

int runtime_run(const struct ns_spec *spec, const struct ns_plan *plan, const char *db_path,
                const struct ns_runtime_opts *opts, struct ns_run_result *result, bool *refused,
                char *err, size_t errlen)
{
    struct rt rt_storage = {.spec = spec, .plan = plan, .opts = opts, .exit_note_fd = -1},
              *rt = &rt_storage;
    memset(result, 0, sizeof *result);
    *refused = false;
    bool ended_before = false; /* its end hooks fired when it ended */
    int rc = rt_open(rt, db_path, result, refused, &ended_before, err, errlen);
    if (rc != 0 || result->already_succeeded)
        goto out;
    upstream_announce(rt); /* runs that wait for a run of this job */
    if (result->resumed)
        rt_reconcile(rt);
    else if (opts->only)
        rt_apply_only(rt);
    bool idle_resume = rt_start(rt, result->resumed, ended_before);
    rt_window_open(rt);
    rc = loop(rt, err, errlen);
    if (rc != 0) {
        if (rt->exit_note_fd >= 0) /* before abandon_workers adds its line */
            store_exit_note_write(rt->exit_note_fd, err);
        abandon_workers(rt, err, errlen);
        control_next_command(&rt->st, rt->run_id, NS_RS_RUNNING, false, &result->next_command);
        goto out;
    }
    rc = rt_finish(rt, idle_resume, result, err, errlen);
    if (rc == 0)
        control_next_command(&rt->st, rt->run_id, (int)rt->state, false, &result->next_command);
out:
    rt_release(rt);
    return rc;
}
