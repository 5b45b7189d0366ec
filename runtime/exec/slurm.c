/*
 * slurm.c - the `slurm` executor: attempts run as tasks of Slurm job
 * arrays (see executor.h for the contract, spool.h for the files shared with
 * the launcher, docs/cluster.md for the operator's view).
 *
 * start() writes the attempt's launch file into the spool and queues it;
 * flush() submits everything queued as one `sbatch --array=0-K%N` (N =
 * concurrency; more than MaxArraySize tasks become several arrays). sbatch,
 * squeue, scontrol and scancel run with posix_spawnp and an argv we build:
 * no shell, and the batch script is one fixed line naming the launcher.
 *
 * What a task does is read from its spool files, not from Slurm: service()
 * tails each started task's `report` and `output` files (the bytes go to the
 * supervisor's one report parser, exactly as from a local pipe) and ends the
 * task when its `exit` file appears. Slurm is asked once per poll interval
 * for the whole run (one squeue listing every task of the run's job name):
 * that says when a queued task starts, and which tasks vanished without an
 * exit file (scancel behind our back, node failure, preemption, time limit),
 * which end as cancelled / lost / timed out after a short grace for the
 * shared filesystem to show a late exit file.
 *
 * Operator actions are collected per turn and applied in one command per
 * kind (scontrol hold/suspend/release/resume with a job list, scancel with
 * many ids): pausing a thousand queued tasks is a handful of calls.
 *
 * This file runs Slurm's commands, keeps the tasks, opens and closes the
 * executor and serves the loop; slurm-internal.h says which file holds the
 * rest.
 *
 * Ownership: one supervisor thread; tasks are in one doubly linked list.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm-internal.h"

extern char **environ;

/* ---- running Slurm's commands ------------------------------------------ */

/* Starts argv (looked up in PATH, no shell) with stdin /dev/null and
 * stdout and stderr on pipes whose read ends go to *out_fd and *err_fd
 * (CLOEXEC). Returns the pid, or -1 with err filled. */
pid_t slurm_spawn_cmd(char *const *argv, int *out_fd, int *err_fd, char *err, size_t errlen)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return ns_errf(err, errlen, "pipe: %s", strerror(errno)), -1;
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return ns_errf(err, errlen, "pipe: %s", strerror(errno)), -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        ns_errf(err, errlen, "%s: %s", argv[0], strerror(rc));
        return -1;
    }
    *out_fd = po[0];
    *err_fd = pe[0];
    return pid;
}

/* Runs argv to its end: stdout into out (may be NULL), stderr's first line
 * into err. Returns the exit status, or -1 if it could not run or was
 * killed at CMD_TIMEOUT_S. Blocks: for the short commands (sbatch, scontrol,
 * scancel); the per-second squeue runs beside the loop (slurm_poll_begin). */
int slurm_run_cmd(char *const *argv, struct ns_buf *out, char *err, size_t errlen)
{
    int ofd, efd;
    pid_t pid = slurm_spawn_cmd(argv, &ofd, &efd, err, errlen);
    if (pid < 0)
        return -1;
    struct ns_buf eb = NS_BUF_INIT;
    struct pollfd pfd[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
    double deadline = ns_monotonic() + CMD_TIMEOUT_S;
    bool killed = false;
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        int left = (int)((deadline - ns_monotonic()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        if (poll(pfd, 2, left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t r = read(pfd[i].fd, chunk, sizeof chunk);
            if (r > 0) {
                if (i == 0 && out)
                    buf_add(out, chunk, (size_t)r);
                else if (i == 1 && eb.len < 4096)
                    buf_add(&eb, chunk, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0) {
        const char *msg = eb.data ? eb.data : "";
        size_t ml = strcspn(msg, "\n");
        if (killed)
            ns_errf(err, errlen, "%s: no answer in %.0f s", argv[0], CMD_TIMEOUT_S);
        else if (ml)
            ns_errf(err, errlen, "%.*s", (int)ml, msg);
        else
            ns_errf(err, errlen, "%s exited with status %d", argv[0], code);
    }
    buf_release(&eb);
    return code;
}

void slurm_args_add(struct args *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = ns_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = ns_xstrdup(s);
    a->v[a->n] = NULL;
}

void slurm_args_addf(struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct ns_buf b = NS_BUF_INIT;
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    slurm_args_add(a, b.data ? b.data : "");
    buf_release(&b);
}

void slurm_args_release(struct args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- tasks --------------------------------------------------------------- */

static void task_link(struct ns_executor *ex, struct ns_task *t)
{
    t->prev = ex->tail;
    t->next = NULL;
    if (ex->tail)
        ex->tail->next = t;
    else
        ex->head = t;
    ex->tail = t;
}

static void task_count(struct ns_executor *ex, const struct ns_task *t, int delta)
{
    size_t *c = t->state == T_QUEUED      ? &ex->nqueued
                : t->state == T_SUBMITTED ? &ex->nsubmitted
                                          : &ex->nstarted;
    *c = (size_t)((long)*c + delta);
}

void slurm_task_set_state(struct ns_executor *ex, struct ns_task *t, enum tstate s)
{
    task_count(ex, t, -1);
    t->state = s;
    task_count(ex, t, +1);
}

void slurm_task_free(struct ns_executor *ex, struct ns_task *t)
{
    task_count(ex, t, -1);
    if (t->prev)
        t->prev->next = t->next;
    else
        ex->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        ex->tail = t->prev;
    if (t->report_fd >= 0)
        close(t->report_fd);
    if (t->output_fd >= 0)
        close(t->output_fd);
    free(t->dir);
    free(t);
}

/* dir: the attempt's spool directory (taken). */
struct ns_task *slurm_task_new(struct ns_executor *ex, int64_t attempt_id, void *owner, char *dir)
{
    struct ns_task *t = ns_xcalloc(1, sizeof *t);
    t->attempt_id = attempt_id;
    t->owner = owner;
    t->report_fd = t->output_fd = -1;
    t->dir = dir;
    t->state = T_QUEUED;
    task_count(ex, t, +1);
    task_link(ex, t);
    return t;
}
/* ---- open / close -------------------------------------------------------- */

/* mkdir -p with mode 0700 for what we create. Returns 0 or -1 (errno). */
static int mkdirs(const char *path)
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

/* The value of "KEY<spaces>= VALUE" in `scontrol show config` output, into
 * buf (empty when absent). */
static void config_value(const char *out, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t kl = strlen(key);
    for (const char *line = out; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != '='))
            continue;
        const char *v = line + kl;
        while (*v == ' ')
            v++;
        if (*v++ != '=')
            continue;
        while (*v == ' ')
            v++;
        size_t n = strcspn(v, "\n");
        if (n >= len)
            n = len - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
        return;
    }
}

/* Where the jobcomp file starts being read: a restarted runtime looks back
 * this far for tasks that finished while it was down. */
#define JOBCOMP_LOOKBACK (1 << 20)

/* MaxArraySize (the default when Slurm cannot say) and the jobcomp file
 * (JobCompLoc when JobCompType is jobcomp/filetxt) from `scontrol show
 * config`. */
static void read_config(struct ns_executor *ex)
{
    char *argv[] = {(char *)"scontrol", (char *)"show", (char *)"config", NULL};
    struct ns_buf out = NS_BUF_INIT;
    char err[256], v[PATH_MAX];
    ex->max_array = DEFAULT_MAX_ARRAY;
    if (slurm_run_cmd(argv, &out, err, sizeof err) == 0 && out.data) {
        long n;
        config_value(out.data, "MaxArraySize", v, sizeof v);
        if (sscanf(v, "%ld", &n) == 1 && n > 0 && n < 100000000)
            ex->max_array = (int)n;
        config_value(out.data, "JobCompType", v, sizeof v);
        if (strcmp(v, "jobcomp/filetxt") == 0) {
            config_value(out.data, "JobCompLoc", v, sizeof v);
            if (v[0] == '/')
                ex->jobcomp = ns_xstrdup(v);
        }
    }
    buf_release(&out);
    struct stat st;
    if (ex->jobcomp && stat(ex->jobcomp, &st) == 0 && st.st_size > JOBCOMP_LOOKBACK)
        ex->jc_off = (int64_t)st.st_size - JOBCOMP_LOOKBACK; /* a partial first line is skipped */
}

static int slurm_open(const struct ns_exec_config *cfg, struct ns_executor **out, char *err,
                      size_t errlen)
{
    const struct ns_spec_slurm *sl = cfg->backend;
    static const struct ns_spec_slurm none;
    if (!sl)
        sl = &none;
    struct ns_executor *ex = ns_xcalloc(1, sizeof *ex);
    ex->cfg = *cfg;
    ex->sl = sl;
    ex->concurrency = cfg->concurrency > 0 ? cfg->concurrency : 1;
    ex->poll_fd = ex->poll_errfd = -1;
    const char *eq = strchr(cfg->run_token, '=');
    ex->run_key = ns_xstrdup(eq ? eq + 1 : cfg->run_token);
    ex->job_name = ns_xasprintf("nightshift.%s", ex->run_key);
    char *base = sl->spool ? ns_xstrdup(sl->spool) : ns_xasprintf("%s.d/slurm-spool", cfg->db_path);
    ex->spool = ns_xasprintf("%s/%s", base, ex->run_key);
    ex->script = ns_xasprintf("%s/launch.sh", ex->spool);
    char *self = realpath("/proc/self/exe", NULL);
    char *line = self ? ns_xasprintf("#!%s _launch\n", self) : NULL;
    if (mkdirs(ex->spool) != 0 || access(ex->spool, W_OK | X_OK) != 0) {
        ns_errf(err, errlen,
                "slurm.spool: %s: %s (it must be a writable directory on a filesystem the "
                "compute nodes share)",
                base, strerror(errno));
        goto fail;
    }
    if (!line || strlen(line) > 127 || strchr(self, ' ')) {
        ns_errf(err, errlen,
                "slurm: the nightshift binary's path %s cannot be a batch script's #! line "
                "(no spaces, at most 120 characters)",
                self ? self : "(unknown)");
        goto fail;
    }
    if (spool_write_file(ex->spool, "launch.sh", line, strlen(line), err, errlen) != 0 ||
        chmod(ex->script, 0755) != 0)
        goto fail;
    /* Is Slurm there at all? One call: MaxArraySize and the jobcomp file. */
    read_config(ex);
    free(self);
    free(line);
    free(base);
    *out = ex;
    return 0;
fail:
    free(self);
    free(line);
    free(base);
    free(ex->run_key);
    free(ex->job_name);
    free(ex->spool);
    free(ex->script);
    free(ex);
    return -1;
}

static void slurm_close(struct ns_executor *ex)
{
    if (!ex)
        return;
    while (ex->head)
        slurm_task_free(ex, ex->head);
    if (ex->poll_pid > 0 && !ex->poll_reaped) {
        kill(ex->poll_pid, SIGKILL);
        waitpid(ex->poll_pid, NULL, 0);
    }
    if (ex->poll_fd >= 0)
        close(ex->poll_fd);
    if (ex->poll_errfd >= 0)
        close(ex->poll_errfd);
    buf_release(&ex->poll_out);
    free(ex->snap);
    free(ex->arrays);
    free(ex->jobcomp);
    free(ex->run_key);
    free(ex->job_name);
    free(ex->spool);
    free(ex->script);
    free(ex);
}
/* ---- the loop's side ------------------------------------------------------------- */

static size_t slurm_pollfds(struct ns_executor *ex, struct pollfd *pfd, size_t cap)
{
    /* Spool files on a shared filesystem cannot be polled (timers tail
     * them); only the running squeue's pipes can. */
    int fds[] = {ex->poll_fd, ex->poll_errfd};
    size_t n = 0;
    for (size_t i = 0; i < NS_ARRAY_LEN(fds); i++) {
        if (fds[i] < 0)
            continue;
        if (n < cap)
            pfd[n] = (struct pollfd){fds[i], POLLIN, 0};
        n++;
    }
    return n;
}

static double slurm_next_wakeup(const struct ns_executor *ex)
{
    double now = ns_monotonic();
    if (ex->actions_pending)
        return now;
    for (const struct ns_task *t = ex->head; t; t = t->next)
        if (t->failed_submit)
            return now;
    double w = 0;
    if (ex->nsubmitted + ex->nstarted > 0)
        w = ex->next_poll > 0 ? ex->next_poll : now;
    if (ex->nstarted > 0 && ex->next_tail > 0 && (w == 0 || ex->next_tail < w))
        w = ex->next_tail;
    return w;
}

static void slurm_service(struct ns_executor *ex, const struct pollfd *pfd, size_t n,
                          const struct ns_exec_events *ev, void *ctx)
{
    (void)pfd;
    (void)n;
    double now = ns_monotonic();
    if (ex->actions_pending)
        slurm_apply_actions(ex);
    /* Queued tasks whose array could not be submitted end as lost. */
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (!t->failed_submit)
            continue;
        struct ns_exec_end end = {NS_END_LOST, -1, 0, ""};
        snprintf(end.detail, sizeof end.detail, "%s", t->submit_error);
        slurm_end_task(ex, t, &end, ev, ctx);
    }
    /* Ended by us before Slurm ever had it. */
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (t->state == T_QUEUED && t->asked) {
            struct ns_exec_end end = {NS_END_SIGNALLED, -1,
                                      t->asked == NS_EXEC_KILL ? SIGKILL : SIGTERM, ""};
            slurm_end_task(ex, t, &end, ev, ctx);
        }
    }
    if (now >= ex->next_tail) {
        ex->next_tail = now + TAIL_INTERVAL_S;
        for (struct ns_task *t = ex->head, *next; t; t = next) {
            next = t->next;
            if (t->state != T_STARTED)
                continue;
            if (slurm_try_finish(ex, t, ev, ctx, false))
                continue;
            slurm_drain(&t->report_fd, t, t->dir, "report", t->report_off, TURN_BUDGET, ev->report,
                        ctx);
            slurm_drain(&t->output_fd, t, t->dir, "output", t->output_off, TURN_BUDGET, ev->output,
                        ctx);
        }
    }
    if (ex->poll_pid > 0)
        slurm_poll_continue(ex, ev, ctx);
    else if (ex->nsubmitted + ex->nstarted > 0 && now >= ex->next_poll) {
        ex->next_poll = now + POLL_INTERVAL_S;
        slurm_poll_begin(ex);
    }
}
const struct ns_executor_ops ns_exec_slurm = {
    .name = "slurm",
    .caps = NS_EXEC_CAN_PAUSE | NS_EXEC_CAN_ADOPT | NS_EXEC_QUEUES,
    .open = slurm_open,
    .close = slurm_close,
    .start = slurm_start,
    .flush = slurm_flush,
    .control = slurm_control,
    .set_concurrency = slurm_set_concurrency,
    .pollfds = slurm_pollfds,
    .next_wakeup = slurm_next_wakeup,
    .service = slurm_service,
    .child_exited = slurm_child_exited,
    .locator = slurm_locator,
    .recover = slurm_recover,
    .end_strays = slurm_end_strays,
    .is_running = slurm_is_running,
    .describe = slurm_describe,
};
