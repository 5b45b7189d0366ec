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
 * No Slurm command is waited for while the loop runs (slurm-cmd.c): sbatch,
 * scontrol, scancel and squeue run beside it with deadlines and answer on a
 * later turn, so a hung one never holds the loop or the store's lock.
 *
 * This file keeps the tasks, opens and closes the executor and serves the
 * loop; slurm-internal.h says which file holds the rest.
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
#include "nightshift/json.h"

extern char **environ;

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
    size_t *c = t->state == T_QUEUED       ? &ex->nqueued
                : t->state == T_SUBMITTING ? &ex->nsubmitting
                : t->state == T_SUBMITTED  ? &ex->nsubmitted
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
    free(t->launch);
    free(t->fence);
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
    for (size_t i = 0; i < NS_ARRAY_LEN(ex->cmds); i++)
        ex->cmds[i].out_fd = ex->cmds[i].err_fd = -1;
    /* Tests shorten the deadline to see a hung command killed. */
    const char *tmo = getenv("NIGHTSHIFT_SLURM_CMD_TIMEOUT_S");
    ex->cmd_timeout = tmo && atof(tmo) > 0 ? atof(tmo) : CMD_TIMEOUT_S;
    const char *eq = strchr(cfg->run_token, '=');
    ex->run_key = ns_xstrdup(eq ? eq + 1 : cfg->run_token);
    ex->job_name = ns_xasprintf("nightshift.%s", ex->run_key);
    char *base = sl->spool ? ns_xstrdup(sl->spool) : ns_xasprintf("%s.d/slurm-spool", cfg->db_path);
    ex->spool = ns_xasprintf("%s/%s", base, ex->run_key);
    ex->script = ns_xasprintf("%s/launch.sh", ex->spool);
    char *self = realpath("/proc/self/exe", NULL);
    ex->script_line = self ? ns_xasprintf("#!%s _launch\n", self) : NULL;
    if (slurm_mkdirs(ex->spool) != 0 || access(ex->spool, W_OK | X_OK) != 0) {
        ns_errf(err, errlen,
                "slurm.spool: %s: %s (it must be a writable directory on a filesystem the "
                "compute nodes share)",
                base, strerror(errno));
        goto fail;
    }
    if (!self || !ex->script_line || strlen(ex->script_line) > 127 || strchr(self, ' ')) {
        ns_errf(err, errlen,
                "slurm: the nightshift binary's path %s cannot be a batch script's #! line "
                "(no spaces, at most 120 characters)",
                self ? self : "(unknown)");
        goto fail;
    }
    if (slurm_spool_prepare(ex, err, errlen) != 0)
        goto fail;
    /* Is Slurm there at all? One call: MaxArraySize and the jobcomp file. */
    read_config(ex);
    free(self);
    free(base);
    *out = ex;
    return 0;
fail:
    free(self);
    free(base);
    free(ex->script_line);
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
    slurm_cmd_kill_all(ex); /* before the tasks an sbatch in flight names */
    while (ex->head)
        slurm_task_free(ex, ex->head);
    buf_release(&ex->notes);
    free(ex->snap);
    free(ex->suspects);
    for (size_t i = 0; i < ex->narrays; i++)
        free(ex->arrays[i].dir);
    free(ex->arrays);
    free(ex->script_line);
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
     * them); only the pipes of the commands in flight can. */
    return slurm_cmd_pollfds(ex, pfd, cap);
}

/* Earliest of a and b, where 0 means none. */
static double earliest(double a, double b)
{
    return a == 0 ? b : b == 0 ? a : fmin(a, b);
}

static double slurm_next_wakeup(const struct ns_executor *ex)
{
    double now = ns_monotonic();
    /* Pending actions wait for a free slot, not in a busy loop. */
    if ((ex->actions_pending && slurm_cmd_slot((struct ns_executor *)ex, false)) || ex->notes.len)
        return now;
    for (const struct ns_task *t = ex->head; t; t = t->next)
        if (t->failed_submit || (t->state == T_QUEUED && t->asked))
            return now;
    double w = slurm_cmd_next_deadline(ex);
    if (ex->nsubmitted + ex->nstarted > 0)
        w = earliest(w, ex->next_poll > 0 ? ex->next_poll : now);
    if (ex->nstarted > 0 && ex->next_tail > 0)
        w = earliest(w, ex->next_tail);
    if (ex->spool_retry_at > 0 && ex->nqueued > 0)
        w = earliest(w, ex->spool_retry_at);
    return w;
}

/* Hands the notes kept since the last turn to the run's events, then what
 * blocks the run if that changed (its note says it in words). */
static void deliver_notes(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx)
{
    for (size_t at = 0; at < ex->notes.len; at += strlen(ex->notes.data + at) + 1)
        if (ev->note)
            ev->note(ctx, ex->notes.data + at);
    buf_reset(&ex->notes);
    if (ex->blocked_changed && ev->blocked)
        ev->blocked(ctx, ex->blocked[0] ? ex->blocked : NULL);
    ex->blocked_changed = false;
}

/* Tasks that end without Slurm: their array could not be submitted, or
 * they were ended by us before Slurm ever had them. */
static void end_unsubmitted(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx)
{
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (t->failed_submit && !t->asked) {
            struct ns_exec_end end = {NS_END_LOST, -1, 0, ""};
            snprintf(end.detail, sizeof end.detail, "%s", t->submit_error);
            slurm_end_task(ex, t, &end, ev, ctx);
        } else if ((t->state == T_QUEUED || t->failed_submit) && t->asked) {
            struct ns_exec_end end = {NS_END_SIGNALLED, -1,
                                      t->asked == NS_EXEC_KILL ? SIGKILL : SIGTERM, ""};
            slurm_end_task(ex, t, &end, ev, ctx);
        }
    }
}

static void slurm_service(struct ns_executor *ex, const struct pollfd *pfd, size_t n,
                          const struct ns_exec_events *ev, void *ctx)
{
    (void)pfd;
    (void)n;
    double now = ns_monotonic();
    slurm_cmd_service(ex, ev, ctx); /* answers first: they may ask for actions */
    if (ex->actions_pending)
        slurm_apply_actions(ex);
    end_unsubmitted(ex, ev, ctx);
    slurm_spool_check(ex, false); /* once per poll interval: is the spool still there? */
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
    if (ex->cmds[0].pid == 0 && ex->nsubmitted + ex->nstarted > 0 && now >= ex->next_poll) {
        ex->next_poll = now + POLL_INTERVAL_S;
        slurm_poll_begin(ex);
    }
    deliver_notes(ex, ev, ctx);
}
static void add_json_or_null(struct ns_buf *b, const char *s)
{
    if (s)
        json_add_string(b, s, strlen(s));
    else
        buf_adds(b, "null");
}

/* The settings of `slurm:` in the spec's canonical form (the spec hash):
 * "slurm: partition=... time=...ms cpus_per_task=N extra_args=[...]". */
static void slurm_canonical(const void *settings, struct ns_buf *b)
{
    static const struct ns_spec_slurm none;
    const struct ns_spec_slurm *sl = settings ? settings : &none;
    buf_adds(b, "slurm:");
    const struct {
        const char *name, *value;
    } strs[] = {{"partition", sl->partition},
                {"account", sl->account},
                {"qos", sl->qos},
                {"mem", sl->mem},
                {"spool", sl->spool}};
    for (size_t i = 0; i < NS_ARRAY_LEN(strs); i++) {
        buf_addf(b, " %s=", strs[i].name);
        add_json_or_null(b, strs[i].value);
    }
    buf_addf(b, " time=%lldms cpus_per_task=%d extra_args=[", (long long)sl->time_ms,
             sl->cpus_per_task);
    for (size_t i = 0; i < sl->extra_args.len; i++) {
        if (i)
            buf_adds(b, ", ");
        add_json_or_null(b, sl->extra_args.items[i].text);
    }
    buf_adds(b, "]\n");
}

const struct ns_executor_ops ns_exec_slurm = {
    .name = "slurm",
    .caps = NS_EXEC_CAN_PAUSE | NS_EXEC_CAN_ADOPT | NS_EXEC_QUEUES,
    .canonical = slurm_canonical,
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
