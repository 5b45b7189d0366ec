/*
 * exec-local.c - the `local` executor: each attempt is a process group on
 * this machine (see executor.h for the contract, exec.h for the process
 * helpers it stands on).
 *
 * A task is a worker process started by exec_start: its own process group
 * (pgid = pid), stdout+stderr on one pipe, reports on another. The runtime is
 * a child subreaper, so the supervisor reaps every child and offers each to
 * child_exited(); a task ends (the `ended` event) in the service() call after
 * its pid was reaped, once what it wrote before exiting has been drained.
 *
 * Local tasks cannot be adopted after a restart (their pipes died with the
 * runtime): recover() ends what is left of them, by pid AND start time.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nightshift/executor.h"
#include "nightshift/util.h"

#define READ_CHUNK 65536
#define TURN_BUDGET (4 * READ_CHUNK) /* per pipe per turn: one flooding worker cannot starve */
#define FINAL_BUDGET (8 * 1024 * 1024) /* after exit: an escaped grandchild may keep writing */

struct ns_task {
    struct ns_proc proc;
    char *token; /* "NIGHTSHIFT_ATTEMPT_TOKEN=..." from its environment, or NULL */
    void *owner;
    bool reaped;
    int wstatus;
};

struct ns_executor {
    struct ns_exec_config cfg;
    struct ns_task **tasks;
    size_t ntasks, cap;
};

static int local_open(const struct ns_exec_config *cfg, struct ns_executor **out, char *err,
                      size_t errlen)
{
    (void)err;
    (void)errlen;
    struct ns_executor *ex = ns_xcalloc(1, sizeof *ex);
    ex->cfg = *cfg;
    *out = ex;
    return 0;
}

static void task_close_fds(struct ns_task *t)
{
    if (t->proc.report_fd >= 0)
        close(t->proc.report_fd);
    if (t->proc.output_fd >= 0)
        close(t->proc.output_fd);
    t->proc.report_fd = t->proc.output_fd = -1;
}

static void local_close(struct ns_executor *ex)
{
    if (!ex)
        return;
    for (size_t i = 0; i < ex->ntasks; i++) {
        task_close_fds(ex->tasks[i]);
        free(ex->tasks[i]->token);
        free(ex->tasks[i]);
    }
    free(ex->tasks);
    free(ex);
}

static int local_start(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id,
                       void *owner, struct ns_task **out, char *err, size_t errlen)
{
    (void)attempt_id;
    struct ns_task *t = ns_xcalloc(1, sizeof *t);
    int rc = exec_start(l, &t->proc, err, errlen);
    if (rc != 0) {
        free(t);
        return rc; /* -1, or NS_EXEC_ENV_FAULT: the runtime's, not the partition's */
    }
    t->owner = owner;
    for (char *const *e = l->envp; e && *e; e++)
        if (strncmp(*e, "NIGHTSHIFT_ATTEMPT_TOKEN=", 25) == 0)
            t->token = ns_xstrdup(*e);
    if (ex->ntasks == ex->cap) {
        ex->cap = ex->cap ? ex->cap * 2 : 8;
        ex->tasks = ns_xrealloc(ex->tasks, ex->cap * sizeof *ex->tasks);
    }
    ex->tasks[ex->ntasks++] = t;
    *out = t;
    return 0;
}

static int local_flush(struct ns_executor *ex, char *err, size_t errlen)
{
    (void)ex;
    (void)err;
    (void)errlen;
    return 0; /* started at once */
}

static int local_control(struct ns_executor *ex, struct ns_task *t, enum ns_exec_action action)
{
    (void)ex;
    if (t->proc.pid <= 1)
        return -1;
    switch (action) {
    case NS_EXEC_PAUSE:
        return exec_signal_group(t->proc.pid, SIGSTOP);
    case NS_EXEC_RESUME:
        return exec_signal_group(t->proc.pid, SIGCONT);
    case NS_EXEC_TERMINATE:
        exec_signal_group(t->proc.pid, SIGCONT); /* a stopped group cannot die gracefully */
        return exec_signal_group(t->proc.pid, SIGTERM);
    case NS_EXEC_KILL:
        return exec_signal_group(t->proc.pid, SIGKILL);
    }
    return -1;
}

static size_t local_pollfds(struct ns_executor *ex, struct pollfd *pfd, size_t cap)
{
    size_t need = 2 * ex->ntasks;
    if (need > cap)
        return need;
    for (size_t i = 0; i < ex->ntasks; i++) {
        pfd[2 * i] = (struct pollfd){ex->tasks[i]->proc.report_fd, POLLIN, 0};
        pfd[2 * i + 1] = (struct pollfd){ex->tasks[i]->proc.output_fd, POLLIN, 0};
    }
    return need;
}

static double local_next_wakeup(const struct ns_executor *ex)
{
    (void)ex;
    return 0; /* SIGCHLD and the pipes wake the loop */
}

typedef void (*deliver_fn)(void *ctx, void *owner, const char *buf, size_t n);

/* Reads what a pipe holds (at most about budget bytes) and delivers it; at
 * EOF or error closes *fd and sets it to -1. One loop for the report pipe
 * and the output pipe, so both get the same EINTR/EAGAIN care. */
static void drain_pipe(int *fd, size_t budget, deliver_fn deliver, void *ctx, void *owner)
{
    char buf[READ_CHUNK];
    while (*fd >= 0 && budget > 0) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            deliver(ctx, owner, buf, (size_t)n);
            budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        close(*fd);
        *fd = -1;
    }
}

static void end_of(const struct ns_task *t, struct ns_exec_end *end)
{
    memset(end, 0, sizeof *end);
    end->code = -1;
    if (WIFEXITED(t->wstatus)) {
        end->kind = NS_END_EXITED;
        end->code = WEXITSTATUS(t->wstatus);
    } else {
        end->kind = NS_END_SIGNALLED;
        end->sig = WTERMSIG(t->wstatus);
    }
}

static void local_service(struct ns_executor *ex, const struct pollfd *pfd, size_t n,
                          const struct ns_exec_events *ev, void *ctx)
{
    /* pfd was filled by pollfds() for the tasks as they were then; tasks
     * only join in start(), never between pollfds() and here. */
    for (size_t i = 0; i < ex->ntasks && 2 * i + 1 < n; i++) {
        struct ns_task *t = ex->tasks[i];
        if (pfd[2 * i].revents && t->proc.report_fd >= 0)
            drain_pipe(&t->proc.report_fd, TURN_BUDGET, ev->report, ctx, t->owner);
        if (pfd[2 * i + 1].revents && t->proc.output_fd >= 0)
            drain_pipe(&t->proc.output_fd, TURN_BUDGET, ev->output, ctx, t->owner);
    }
    for (size_t i = 0; i < ex->ntasks;) {
        struct ns_task *t = ex->tasks[i];
        if (!t->reaped) {
            i++;
            continue;
        }
        /* Drain what the worker wrote before it exited, bounded: a grandchild
         * that escaped the group could keep a pipe open and writing forever. */
        drain_pipe(&t->proc.report_fd, FINAL_BUDGET, ev->report, ctx, t->owner);
        drain_pipe(&t->proc.output_fd, FINAL_BUDGET, ev->output, ctx, t->owner);
        int left = exec_end_group_leftovers(t->proc.pid); /* stragglers left in the group */
        task_close_fds(t);
        ex->tasks[i] = ex->tasks[--ex->ntasks];
        struct ns_exec_end end;
        end_of(t, &end);
        /* ... and those that left it (setsid) but kept the attempt's token;
         * the other live workers are known, not suspects. */
        int escaped = 0;
        if (t->token) {
            pid_t *ours = ns_xcalloc(ex->ntasks + 1, sizeof *ours);
            for (size_t k = 0; k < ex->ntasks; k++)
                ours[k] = ex->tasks[k]->reaped ? 0 : ex->tasks[k]->proc.pid;
            escaped = exec_end_escaped(t->token, ours, ex->ntasks);
            free(ours);
        }
        size_t at = 0;
        if (left > 0)
            at += (size_t)snprintf(end.detail, sizeof end.detail,
                                   "ended %d background process%s it left in its process group",
                                   left, left == 1 ? "" : "es");
        if (escaped > 0 && at < sizeof end.detail)
            snprintf(end.detail + at, sizeof end.detail - at,
                     "%sended %d process%s that outlived it outside its process group",
                     at ? "; " : "", escaped, escaped == 1 ? "" : "es");
        void *owner = t->owner;
        free(t->token);
        free(t);
        ev->ended(ctx, owner, &end);
    }
}

static bool local_child_exited(struct ns_executor *ex, int pid, int wstatus)
{
    for (size_t i = 0; i < ex->ntasks; i++) {
        struct ns_task *t = ex->tasks[i];
        if (t->proc.pid == pid && !t->reaped) {
            t->reaped = true;
            t->wstatus = wstatus;
            return true;
        }
    }
    return false;
}

static char *local_locator(const struct ns_executor *ex, const struct ns_task *t)
{
    (void)ex;
    return ns_xasprintf("pid=%d start=%llu", (int)t->proc.pid,
                        (unsigned long long)t->proc.start_time);
}

static enum ns_recover local_recover(struct ns_executor *ex, const char *locator,
                                     int64_t attempt_id, int64_t report_offset,
                                     int64_t output_offset, void *owner, struct ns_task **out)
{
    (void)attempt_id;
    (void)report_offset;
    (void)output_offset;
    (void)owner;
    *out = NULL;
    int pid = 0;
    unsigned long long start = 0;
    if (!locator || sscanf(locator, "pid=%d start=%llu", &pid, &start) != 2 || pid <= 1)
        return NS_RECOVER_GONE;
    return exec_end_orphan((pid_t)pid, (uint64_t)start, ex->cfg.stop_grace_ms) == 1
               ? NS_RECOVER_ENDED
               : NS_RECOVER_GONE;
}

static int local_end_strays(struct ns_executor *ex)
{
    return exec_end_run_processes(ex->cfg.run_token, ex->cfg.stop_grace_ms);
}

static void local_describe(const struct ns_executor *ex, const struct ns_task *t, char *buf,
                           size_t len)
{
    (void)ex;
    snprintf(buf, len, "pid %d", (int)t->proc.pid);
}

const struct ns_executor_ops ns_exec_local = {
    .name = "local",
    .caps = NS_EXEC_CAN_PAUSE | NS_EXEC_CHILDREN,
    .open = local_open,
    .close = local_close,
    .start = local_start,
    .flush = local_flush,
    .control = local_control,
    .set_concurrency = NULL,
    .pollfds = local_pollfds,
    .next_wakeup = local_next_wakeup,
    .service = local_service,
    .child_exited = local_child_exited,
    .locator = local_locator,
    .recover = local_recover,
    .end_strays = local_end_strays,
    .describe = local_describe,
};
