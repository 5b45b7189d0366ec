/*
 * slurm-spool.c - what a task does, read from its spool files, not from
 * Slurm: its `report` and `output` files are tailed (the bytes go to the
 * supervisor's one report parser, as from a local pipe) and its `exit` file
 * ends it. An exit file counts only if it names this run and this task.
 *
 * The spool is also made again when it disappears mid-run (a tmp cleaner,
 * an operator's rm -rf): each live task keeps its launch in memory, so its
 * folder, the arrays' links and launch.sh come back as they were, and a
 * task already running finds its folder again for its exit file. While it
 * cannot be made, tasks wait queued: the environment's fault is never
 * charged to a partition's attempts.
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

/* ---- the spool made again ------------------------------------------------ */

/* mkdir -p (0755: the launcher on a node runs as the same user). */
int slurm_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int slurm_spool_prepare(struct ns_executor *ex, char *err, size_t errlen)
{
    if (slurm_mkdirs(ex->spool) != 0)
        return ns_errf(err, errlen, "%s: %s", ex->spool, strerror(errno)), -1;
    if (access(ex->script, X_OK) == 0)
        return 0;
    if (spool_write_file(ex->spool, "launch.sh", ex->script_line, strlen(ex->script_line), err,
                         errlen) != 0)
        return -1;
    if (chmod(ex->script, 0755) != 0)
        return ns_errf(err, errlen, "%s: %s", ex->script, strerror(errno)), -1;
    return 0;
}

struct ns_launch *slurm_launch_pack(const struct ns_launch *l)
{
    size_t na = 0, ne = 0, bytes = l->workdir ? strlen(l->workdir) + 1 : 0;
    for (; l->argv[na]; na++)
        bytes += strlen(l->argv[na]) + 1;
    for (; l->envp && l->envp[ne]; ne++)
        bytes += strlen(l->envp[ne]) + 1;
    size_t head = sizeof(struct ns_launch) + (na + ne + 2) * sizeof(char *);
    char *block = ns_xmalloc(head + bytes);
    struct ns_launch *out = (struct ns_launch *)(void *)block;
    char **argv = (char **)(void *)(block + sizeof *out), **envp = argv + na + 1;
    char *at = block + head;
    for (size_t i = 0; i < na + ne; i++) {
        const char *src = i < na ? l->argv[i] : l->envp[i - na];
        size_t n = strlen(src) + 1;
        memcpy(at, src, n);
        if (i < na)
            argv[i] = at;
        else
            envp[i - na] = at;
        at += n;
    }
    argv[na] = envp[ne] = NULL;
    if (l->workdir)
        memcpy(at, l->workdir, strlen(l->workdir) + 1);
    *out = (struct ns_launch){argv, envp, l->workdir ? at : NULL};
    return out;
}

/* Makes a live task's folder again (it had one), with its launch file and
 * the array file sbatch's answer wrote. */
static int restore_task(struct ns_task *t, char *err, size_t errlen)
{
    if (mkdir(t->dir, 0755) != 0 && errno != EEXIST)
        return ns_errf(err, errlen, "%s: %s", t->dir, strerror(errno)), -1;
    if (t->launch && spool_write_launch(t->dir, t->launch, err, errlen) != 0)
        return -1;
    if (t->job > 0) {
        char line[64];
        int len = snprintf(line, sizeof line, "%lld_%d\n", (long long)t->job, t->index);
        return spool_write_file(t->dir, "array", line, (size_t)len, err, errlen);
    }
    return 0;
}

/* Makes an array's folder again, with a link to each of its live tasks. */
static int restore_array(struct ns_executor *ex, const struct array *ar, char *err, size_t errlen)
{
    if (mkdir(ar->dir, 0755) != 0 && errno != EEXIST)
        return ns_errf(err, errlen, "%s: %s", ar->dir, strerror(errno)), -1;
    for (const struct ns_task *t = ex->head; t; t = t->next) {
        if (t->job != ar->job || !t->dir)
            continue;
        char link[PATH_MAX + 32], target[PATH_MAX + 8];
        const char *slash = strrchr(t->dir, '/');
        snprintf(link, sizeof link, "%s/%d", ar->dir, t->index);
        snprintf(target, sizeof target, "../%s", slash ? slash + 1 : t->dir);
        if (symlink(target, link) != 0 && errno != EEXIST)
            return ns_errf(err, errlen, "%s: %s", link, strerror(errno)), -1;
    }
    return 0;
}

/* The whole run folder as the live tasks need it. Returns 0 or -1. */
static int spool_restore(struct ns_executor *ex, char *err, size_t errlen)
{
    if (slurm_spool_prepare(ex, err, errlen) != 0)
        return -1;
    for (struct ns_task *t = ex->head; t; t = t->next)
        if (t->dir && restore_task(t, err, errlen) != 0)
            return -1;
    for (size_t i = 0; i < ex->narrays; i++)
        if (ex->arrays[i].dir && restore_array(ex, &ex->arrays[i], err, errlen) != 0)
            return -1;
    /* Tasks start() could not give a folder get theirs now. */
    for (struct ns_task *t = ex->head; t; t = t->next) {
        if (t->dir)
            continue;
        char *dir = slurm_make_own_dir(ex, 'a', t->attempt_id, err, errlen);
        if (!dir)
            return -1;
        t->dir = dir;
        if (spool_write_launch(t->dir, t->launch, err, errlen) != 0)
            return -1;
    }
    return 0;
}

#define SPOOL_RETRY_S 5.0
void slurm_spool_check(struct ns_executor *ex, bool now)
{
    double mono = ns_monotonic();
    if (!now && mono < ex->next_spool_check)
        return;
    ex->next_spool_check = mono + POLL_INTERVAL_S;
    bool deferred = false;
    for (const struct ns_task *t = ex->head; t && !deferred; t = t->next)
        deferred = t->dir == NULL;
    if (!deferred && access(ex->script, F_OK) == 0)
        return;
    if (ex->spool_broken && !now && mono < ex->spool_retry_at)
        return;
    char err[512];
    if (spool_restore(ex, err, sizeof err) == 0) {
        slurm_note(ex, "slurm.spool: %s was gone: made it again for the run's live tasks",
                   ex->spool);
        ex->spool_broken = false;
        ex->spool_retry_at = 0;
        return;
    }
    if (!ex->spool_broken)
        slurm_note(ex,
                   "slurm.spool: %s; the run's tasks wait for it (no attempt is charged), "
                   "tried again every %.0f s",
                   err, SPOOL_RETRY_S);
    ex->spool_broken = true;
    ex->spool_retry_at = mono + SPOOL_RETRY_S;
}
