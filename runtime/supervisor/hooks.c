/*
 * hooks.c - run the spec's on_success / on_failure / on_halt / on_sla_risk
 * commands without ever letting them hold up or kill the run.
 *
 * A hook is started like a worker (own process group, clean signals) with
 * the run's figures in its environment. The poll loop watches its output
 * pipe (the first 4 KiB are kept for the event) and reaps it; past
 * hooks.timeout its group is killed. Its exit status, duration and output
 * are recorded as an event. Only at the very end does the runtime wait for
 * hooks still running, and never longer than their timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"
#include "nightshift/control.h"
#include "nightshift/escape.h"
#include "nightshift/summary.h"
#include "nightshift/util.h"

extern char **environ;

#define HOOK_OUTPUT_KEEP 4096

struct hook {
    enum ns_hook_event event;
    int64_t idx; /* the partition a partition's hook is about; -1 for the run's */
    struct ns_proc proc;
    double started_mono, deadline_mono;
    bool reaped, killed;
    bool stopped; /* ended early: the runtime was told to stop while waiting */
    int wstatus;
    struct ns_buf output;
};

static void push(char ***v, size_t *n, char *s)
{
    *v = ns_xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

static void free_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

/* The hook's environment: the caller's, without NIGHTSHIFT_*, then the
 * run's figures, then the partition's (part may be NULL). */
static char **hook_env(struct rt *rt, enum ns_hook_event ev, const char *summary,
                       const struct hook_part *part)
{
    char **env = NULL;
    size_t ne = 0;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "NIGHTSHIFT_", 11) != 0)
            push(&env, &ne, ns_xstrdup(*e));
    double now = ns_now();
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_HOOK=%s", spec_hook_name(ev)));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_RUN_ID=%lld", (long long)rt->run_id));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_JOB=%s", rt->spec->name));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_DB=%s", rt->st.path));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_RUN_STATE=%s", query_run_state_word(rt->state)));
    push(&env, &ne,
         ns_xasprintf("NIGHTSHIFT_STATE_REASON=%s", rt->state_reason ? rt->state_reason : ""));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_TOTAL=%zu", rt->nparts));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_SUCCEEDED=%lld", (long long)rt->counts[P_SUCCEEDED]));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_FAILED=%lld", (long long)rt->counts[P_FAILED]));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_SKIPPED=%lld", (long long)rt->counts[P_SKIPPED]));
    push(&env, &ne,
         ns_xasprintf(
             "NIGHTSHIFT_PENDING=%lld",
             (long long)(rt->nparts - (size_t)(rt->counts[P_SUCCEEDED] + rt->counts[P_FAILED] +
                                               rt->counts[P_SKIPPED]))));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_ERROR_RECORDS=%lld", (long long)rt->error_records));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_RECORDS_DONE=%lld", (long long)rt->records_done));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_DURATION=%.0f", now - rt->run_started_at));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_SLA_STATE=%s", rt->sla_state ? rt->sla_state : ""));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_SLA_DEADLINE=%.0f", rt->sla_deadline));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_PROJECTED_FINISH=%.0f", rt->projected_finish));
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_SUMMARY=%s", summary ? summary : ""));
    /* A final run's next step, the command status and the summary print. */
    char *next = NULL;
    control_next_command(&rt->st, rt->run_id, (int)rt->state,
                         !query_run_state_final((int)rt->state), &next);
    push(&env, &ne, ns_xasprintf("NIGHTSHIFT_NEXT_COMMAND=%s", next ? next : ""));
    free(next);
    if (part) {
        push(&env, &ne, ns_xasprintf("NIGHTSHIFT_PARTITION=%lld", (long long)part->idx));
        push(&env, &ne, ns_xasprintf("NIGHTSHIFT_PARTITION_KEY=%s", part->key));
        push(&env, &ne, ns_xasprintf("NIGHTSHIFT_RUNNING_S=%.1f", part->running_s));
        push(&env, &ne, ns_xasprintf("NIGHTSHIFT_MEDIAN_S=%.3f", part->median_s));
    }
    return env;
}

void hooks_fire(struct rt *rt, enum ns_hook_event ev)
{
    hooks_fire_part(rt, ev, NULL);
}

void hooks_fire_part(struct rt *rt, enum ns_hook_event ev, const struct hook_part *part)
{
    const struct ns_argv *argv = &rt->spec->hooks[ev];
    if (argv->len == 0)
        return;
    char **args = NULL, **env = NULL;
    size_t na = 0;
    /* Run parameters ({out}, {date}...) expand; there is no partition here. */
    struct ns_buf b = NS_BUF_INIT;
    char err[512];
    for (size_t i = 0; i < argv->len; i++) {
        buf_reset(&b);
        if (tmpl_expand(argv->items[i].text, rt->plan->run_params, rt->plan->run_params_len, &b,
                        err, sizeof err) != 0) {
            rt_event(rt, -1, 0, "hook", "hook %s not run: %s", spec_hook_name(ev), err);
            buf_release(&b);
            free_strv(args);
            return;
        }
        push(&args, &na, ns_xstrdup(b.data ? b.data : ""));
    }
    buf_release(&b);
    /* The morning report as it stands, for the hook to mail: written whole
     * (temp file + rename) before the hook starts. A partition's hook gets
     * none: it fires mid-run, where the report of a big run costs seconds. */
    char *summary = part ? NULL : ns_xasprintf("%s/summary.txt", rt->run_dir);
    if (summary && summary_write_file(&rt->st, rt->run_id, summary, err, sizeof err) != 0) {
        rt_event(rt, -1, 0, "hook", "hook %s gets no summary: %s", spec_hook_name(ev), err);
        free(summary);
        summary = NULL;
    }
    env = hook_env(rt, ev, summary, part);
    free(summary);

    struct hook *h = ns_xcalloc(1, sizeof *h);
    h->event = ev;
    h->idx = part ? part->idx : -1;
    struct ns_launch l = {args, env, rt->spec->dir};
    if (exec_start(&l, &h->proc, err, sizeof err) != 0) {
        rt_event(rt, -1, 0, "hook", "hook %s could not start: %s", spec_hook_name(ev), err);
        free(h);
    } else {
        close(h->proc.report_fd); /* hooks do not report */
        h->proc.report_fd = -1;
        h->started_mono = ns_monotonic();
        h->deadline_mono = h->started_mono + (double)rt->spec->hook_timeout_ms / 1000.0;
        rt->hooks = ns_xrealloc(rt->hooks, (rt->nhooks + 1) * sizeof *rt->hooks);
        rt->hooks[rt->nhooks++] = h;
        journal_event(rt->j, h->idx, 0, "hook", "hook %s started (pid %d)", spec_hook_name(ev),
                      (int)h->proc.pid);
    }
    free_strv(args);
    free_strv(env);
}

static void read_output(struct hook *h)
{
    char buf[4096];
    for (;;) {
        ssize_t n = read(h->proc.output_fd, buf, sizeof buf);
        if (n > 0) {
            size_t room = h->output.len < HOOK_OUTPUT_KEEP ? HOOK_OUTPUT_KEEP - h->output.len : 0;
            buf_add(&h->output, buf, (size_t)n < room ? (size_t)n : room);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 || errno != EAGAIN) {
            close(h->proc.output_fd);
            h->proc.output_fd = -1;
        }
        return;
    }
}

size_t hooks_pollfds(struct rt *rt, struct pollfd *pfd)
{
    for (size_t i = 0; i < rt->nhooks; i++)
        pfd[i] = (struct pollfd){rt->hooks[i]->proc.output_fd, POLLIN, 0};
    return rt->nhooks;
}

bool hooks_reaped(struct rt *rt, pid_t pid, int status)
{
    for (size_t i = 0; i < rt->nhooks; i++) {
        if (rt->hooks[i]->proc.pid == pid) {
            rt->hooks[i]->reaped = true;
            rt->hooks[i]->wstatus = status;
            return true;
        }
    }
    return false;
}

static void finish(struct rt *rt, struct hook *h)
{
    if (h->proc.output_fd >= 0)
        read_output(h);
    if (h->proc.output_fd >= 0)
        close(h->proc.output_fd);
    exec_signal_group(h->proc.pid, SIGKILL); /* whatever it left behind */
    char dur[32], what[96];
    ns_format_duration((int64_t)((ns_monotonic() - h->started_mono) * 1000), dur, sizeof dur);
    if (h->stopped)
        snprintf(what, sizeof what, "was ended after %s: the runtime was told to stop", dur);
    else if (h->killed)
        snprintf(what, sizeof what, "timed out after %s and was killed", dur);
    else if (WIFEXITED(h->wstatus))
        snprintf(what, sizeof what, "exited %d after %s", WEXITSTATUS(h->wstatus), dur);
    else
        snprintf(what, sizeof what, "was killed by signal %d after %s", WTERMSIG(h->wstatus), dur);
    /* Stored as the hook wrote it, escaped when shown (once). */
    char *out = escape_nuls_dup(h->output.data ? h->output.data : "", h->output.len);
    rt_event(rt, h->idx, 0, "hook", "hook %s %s%s%s", spec_hook_name(h->event), what,
             h->output.len ? "; output: " : "", out);
    free(out);
    buf_release(&h->output);
}

void hooks_service(struct rt *rt, const struct pollfd *pfd, size_t n)
{
    double now = ns_monotonic();
    for (size_t i = 0; i < n && i < rt->nhooks; i++)
        if (pfd[i].revents && rt->hooks[i]->proc.output_fd >= 0)
            read_output(rt->hooks[i]);
    for (size_t i = 0; i < rt->nhooks;) {
        struct hook *h = rt->hooks[i];
        if (!h->reaped && !h->killed && now >= h->deadline_mono) {
            exec_signal_group(h->proc.pid, SIGKILL);
            h->killed = true;
        }
        if (h->reaped) {
            finish(rt, h);
            free(h);
            rt->hooks[i] = rt->hooks[--rt->nhooks];
        } else {
            i++;
        }
    }
}

double hooks_next_deadline(const struct rt *rt)
{
    double best = 0;
    for (size_t i = 0; i < rt->nhooks; i++)
        if (!rt->hooks[i]->killed && (best == 0 || rt->hooks[i]->deadline_mono < best))
            best = rt->hooks[i]->deadline_mono;
    return best;
}

/* SIGINT or SIGTERM while the end hooks run: an operator who stops the
 * runtime does not wait out hooks.timeout. The hooks get SIGTERM now and
 * SIGKILL after stop_grace, as workers do. */
static void stop_hooks_on_signal(struct rt *rt)
{
    struct signalfd_siginfo si;
    bool stop = false;
    while (rt->sigfd >= 0 && read(rt->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
            stop = true;
    if (!stop)
        return;
    double kill_at = ns_monotonic() + (double)rt->spec->stop_grace_ms / 1000.0;
    for (size_t i = 0; i < rt->nhooks; i++) {
        struct hook *h = rt->hooks[i];
        if (h->reaped || h->stopped)
            continue;
        h->stopped = true;
        exec_signal_group(h->proc.pid, SIGCONT);
        exec_signal_group(h->proc.pid, SIGTERM);
        if (h->deadline_mono > kill_at)
            h->deadline_mono = kill_at;
    }
}

static bool claim_hook(void *ctx, int pid, int status)
{
    return hooks_reaped(ctx, pid, status);
}

void hooks_wait_all(struct rt *rt, void (*serve)(struct rt *rt, bool hinted))
{
    while (rt->nhooks > 0) {
        struct pollfd pfd[66];
        size_t n = rt->nhooks < 64 ? rt->nhooks : 64;
        for (size_t i = 0; i < n; i++)
            pfd[i] = (struct pollfd){rt->hooks[i]->proc.output_fd, POLLIN, 0};
        pfd[n] = (struct pollfd){rt->sigfd, POLLIN, 0};
        pfd[n + 1] = (struct pollfd){rt->wake_fd, POLLIN, 0}; /* fd -1: ignored */
        poll(pfd, n + 2, 50);
        if (pfd[n].revents)
            stop_hooks_on_signal(rt);
        exec_reap_children(claim_hook, rt);
        hooks_service(rt, pfd, n);
        serve(rt, pfd[n + 1].revents != 0);
    }
    free(rt->hooks);
    rt->hooks = NULL;
}
