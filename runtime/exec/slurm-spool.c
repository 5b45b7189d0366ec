/*
 * slurm-spool.c - what a task does, read from its spool files, not from
 * Slurm: its `report` and `output` files are tailed (the bytes go to the
 * supervisor's one report parser, as from a local pipe) and its `exit` file
 * ends it. An exit file counts only if it names this run and this task.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm-internal.h"

static int open_at(const char *dir, const char *name, int64_t off)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && off > 0 && lseek(fd, (off_t)off, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Delivers what is new in one spool file, at most budget bytes (0: all). */
void slurm_drain(int *fd, struct ns_task *t, const char *dir, const char *name, int64_t off,
                 size_t budget, void (*deliver)(void *, void *, const char *, size_t), void *ctx)
{
    if (*fd < 0)
        *fd = open_at(dir, name, off);
    if (*fd < 0)
        return;
    char buf[READ_CHUNK];
    size_t got = 0;
    while (budget == 0 || got < budget) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        deliver(ctx, t->owner, buf, (size_t)r);
    }
}

void slurm_end_task(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_end *end,
                    const struct ns_exec_events *ev, void *ctx)
{
    void *owner = t->owner;
    slurm_task_free(ex, t);
    ev->ended(ctx, owner, end);
}

void slurm_deliver_started(struct ns_executor *ex, struct ns_task *t,
                           const struct ns_exec_events *ev, void *ctx)
{
    if (t->state == T_STARTED)
        return;
    slurm_task_set_state(ex, t, T_STARTED);
    if (t->held && !t->suspended) {
        /* Held while Slurm was already starting it: suspend it instead
         * (resume then releases and resumes). */
        t->actions |= A_SUSPEND;
        t->suspended = true;
        ex->actions_pending = true;
    }
    if (ev->started)
        ev->started(ctx, t->owner);
}

/* Whether an exit file was written by t's own task: the run token it names
 * is this run's, and the Slurm task it names is t's (once t's is known). */
static bool exit_is_ours(const struct ns_executor *ex, const struct ns_task *t,
                         const struct spool_exit *x)
{
    if (strcmp(x->run, ex->run_key) != 0)
        return false;
    if (t->job <= 0)
        return true;
    char mine[48];
    snprintf(mine, sizeof mine, "%lld_%d", (long long)t->job, t->index);
    return strcmp(x->task, mine) == 0;
}

/* If t's exit file is there: delivers the rest of its files and `ended`.
 * Returns true when t is gone. A worker killed by a signal we did not send
 * may have been ended by Slurm (scancel behind our back, its time limit,
 * preemption): unless slurm_over says Slurm has finished with the task, that
 * waits for the next squeue, whose state then decides. */
bool slurm_try_finish(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_events *ev,
                      void *ctx, bool slurm_over)
{
    char *text = spool_read_file(t->dir, "exit");
    if (!text)
        return false;
    struct spool_exit x;
    struct ns_exec_end end = {NS_END_LOST, -1, 0, ""};
    int parsed = spool_parse_exit(text, &x);
    if (parsed == 0 && !exit_is_ours(ex, t, &x)) {
        /* Another task's word (one of an attempt that was never recorded):
         * this task's own exit file, or Slurm's verdict, decides. */
        free(text);
        return false;
    }
    if (parsed == 0 && x.kind == SPOOL_SIGNALLED && !t->asked && !slurm_over) {
        free(text);
        return false;
    }
    slurm_deliver_started(ex, t, ev, ctx);
    slurm_drain(&t->report_fd, t, t->dir, "report", t->report_off, 0, ev->report, ctx);
    slurm_drain(&t->output_fd, t, t->dir, "output", t->output_off, 0, ev->output, ctx);
    enum ns_exec_end_kind by_slurm = t->slurm_state[0]
                                         ? slurm_state_overrides(slurm_state_find(t->slurm_state))
                                         : NS_END_SIGNALLED;
    if (parsed != 0) {
        snprintf(end.detail, sizeof end.detail, "unreadable exit file in %s", t->dir);
    } else if (x.kind == SPOOL_EXITED) {
        end = (struct ns_exec_end){NS_END_EXITED, x.value, 0, ""};
    } else if (x.kind == SPOOL_SIGNALLED && !t->asked && by_slurm != NS_END_SIGNALLED) {
        end = (struct ns_exec_end){by_slurm, -1, 0, ""};
        snprintf(end.detail, sizeof end.detail, "Slurm job %lld_%d %s (signal %d)",
                 (long long)t->job, t->index, t->slurm_state, x.value);
    } else if (x.kind == SPOOL_SIGNALLED) {
        end = (struct ns_exec_end){NS_END_SIGNALLED, -1, x.value, ""};
    } else {
        end = (struct ns_exec_end){NS_END_EXITED, 127, 0, ""};
        snprintf(end.detail, sizeof end.detail, "%s", x.message);
        ev->output(ctx, t->owner, x.message, strlen(x.message));
        ev->output(ctx, t->owner, "\n", 1);
    }
    free(text);
    slurm_end_task(ex, t, &end, ev, ctx);
    return true;
}
