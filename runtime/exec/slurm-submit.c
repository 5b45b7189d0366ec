/*
 * slurm-submit.c - the `slurm` executor's start and flush: start() writes an
 * attempt's launch file into its own spool folder and queues the task;
 * flush() submits everything queued as one `sbatch --array=0-K%N` (more than
 * MaxArraySize tasks become several arrays), gated when older arrays leave
 * no slot (slurm_rebalance).
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

/* Creates a directory that did not exist: SPOOL/<kind><id>, or, if that is
 * there, SPOOL/<kind><id>.1, .2, ... A directory already there is never
 * ours: an attempt id comes round again when a runtime died before its
 * attempt row was committed, and that attempt's task may still write into
 * its own folder. Returns the path (caller frees), or NULL with err. */
char *slurm_make_own_dir(const struct ns_executor *ex, char kind, int64_t id, char *err,
                         size_t errlen)
{
    for (int n = 0; n < OWN_DIR_TRIES; n++) {
        char *dir = n == 0 ? ns_xasprintf("%s/%c%lld", ex->spool, kind, (long long)id)
                           : ns_xasprintf("%s/%c%lld.%d", ex->spool, kind, (long long)id, n);
        if (mkdir(dir, 0755) == 0)
            return dir;
        int e = errno;
        if (e != EEXIST) {
            ns_errf(err, errlen, "%s: %s", dir, strerror(e));
            free(dir);
            return NULL;
        }
        free(dir);
    }
    ns_errf(err, errlen, "%s/%c%lld: %d earlier folders of that name; remove them", ex->spool, kind,
            (long long)id, OWN_DIR_TRIES);
    return NULL;
}

/* Never fails: a spool that cannot take the attempt's folder (removed
 * mid-run, full) is the environment's fault, not the partition's. The spool
 * is made again, or the task waits queued, without a folder, until it can
 * be (slurm_spool_check); its launch is kept in memory either way. */
int slurm_start(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id, void *owner,
                struct ns_task **out, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    char e[512];
    char *dir = slurm_make_own_dir(ex, 'a', attempt_id, e, sizeof e);
    if (dir && spool_write_launch(dir, l, e, sizeof e) != 0) {
        free(dir);
        dir = NULL;
    }
    struct ns_task *t = slurm_task_new(ex, attempt_id, owner, dir);
    t->launch = slurm_launch_pack(l);
    if (!dir)
        slurm_spool_check(ex, !ex->spool_broken);
    *out = t;
    return 0;
}

/* The sbatch argv for one array of n tasks in batch directory bdir. */
static void sbatch_args(const struct ns_executor *ex, struct args *a, const char *bdir, size_t n,
                        int throttle, bool hold)
{
    const struct ns_spec_slurm *sl = ex->sl;
    slurm_args_add(a, "sbatch");
    slurm_args_add(a, "--parsable");
    if (hold)
        slurm_args_add(a, "--hold"); /* queued ahead: released when older arrays leave a slot */
    slurm_args_addf(a, "--array=0-%zu%%%d", n - 1, throttle);
    slurm_args_addf(a, "--job-name=%s", ex->job_name);
    slurm_args_addf(a, "--output=%s/%%a.slurm.out", bdir);
    slurm_args_add(a, "--open-mode=append");
    slurm_args_add(a, "--no-requeue"); /* a rerun is a new attempt, decided by the supervisor */
    /* No --export=NONE: it makes Slurm ~2x slower per task here (measured,
     * tests/bench/slurm.sh); the launcher replaces the environment anyway. */
    slurm_args_addf(a, "--chdir=%s", bdir);
    const struct {
        const char *opt, *value;
    } strs[] = {{"--partition", sl->partition},
                {"--account", sl->account},
                {"--qos", sl->qos},
                {"--mem", sl->mem}};
    for (size_t i = 0; i < NS_ARRAY_LEN(strs); i++)
        if (strs[i].value)
            slurm_args_addf(a, "%s=%s", strs[i].opt, strs[i].value);
    if (sl->time_ms > 0)
        slurm_args_addf(a, "--time=%lld", (long long)((sl->time_ms + 59999) / 60000));
    if (sl->cpus_per_task > 0)
        slurm_args_addf(a, "--cpus-per-task=%d", sl->cpus_per_task);
    for (size_t i = 0; i < sl->extra_args.len; i++)
        slurm_args_add(a, sl->extra_args.items[i].text);
    slurm_args_add(a, ex->script);
    slurm_args_add(a, bdir);
}

/* Removes the array folder's links to its attempts: an sbatch that did
 * not answer may still have queued the array, whose tasks must then find
 * no attempt to run (their partitions are retried as new attempts). */
static void unlink_array(const char *bdir, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char link[PATH_MAX + 32];
        snprintf(link, sizeof link, "%s/%zu", bdir, i);
        unlink(link);
    }
}

/* sbatch's answer, on a later turn: the array's job id, or its tasks end
 * as lost (service) with sbatch's words. */
static void sbatch_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok, const char *err,
                        const struct ns_exec_events *ev, void *ctx)
{
    (void)ev, (void)ctx;
    ex->submitting = false;
    long long job = 0;
    char why[512];
    snprintf(why, sizeof why, "%s", err);
    if (ok && (!c->out.data || sscanf(c->out.data, "%lld", &job) != 1 || job <= 0)) {
        snprintf(why, sizeof why, "sbatch: no job id in its answer");
        ok = false;
    }
    if (!ok) {
        unlink_array(c->dir, c->ntasks);
        slurm_note(ex, "slurm executor: %s", why);
        for (size_t i = 0; i < c->ntasks; i++) {
            struct ns_task *t = c->tasks[i];
            slurm_task_set_state(ex, t, T_QUEUED);
            t->failed_submit = true;
            snprintf(t->submit_error, sizeof t->submit_error, "not submitted: %.140s", why);
        }
        return;
    }
    ex->arrays = ns_xrealloc(ex->arrays, (ex->narrays + 1) * sizeof *ex->arrays);
    ex->arrays[ex->narrays++] = (struct array){job, c->value, c->flag, false, c->dir};
    if (job > ex->max_job)
        ex->max_job = job;
    c->dir = NULL; /* the array's now */
    double now = ns_monotonic();
    for (size_t i = 0; i < c->ntasks; i++) {
        struct ns_task *t = c->tasks[i];
        t->job = job;
        t->index = (int)i;
        t->submitted_at = now;
        slurm_task_set_state(ex, t, T_SUBMITTED);
        char line[64], e2[256];
        int len = snprintf(line, sizeof line, "%lld_%zu\n", job, i);
        /* For recover() when the runtime dies before the locator is stored. */
        spool_write_file(t->dir, "array", line, (size_t)len, e2, sizeof e2);
        if (t->held)
            t->actions |= A_HOLD;
        if (t->actions) /* asked for while sbatch ran: a hold, a cancel */
            ex->actions_pending = true;
    }
    if (ex->next_poll == 0)
        ex->next_poll = now + POLL_INTERVAL_S;
}

/* Starts the sbatch of tasks[0..n) as one array, beside the loop (its
 * answer: sbatch_done). Returns 0; 1 with err filled when the spool could
 * not take the array's folder (the tasks wait); -1 when sbatch could not
 * start. */
static int submit_array(struct ns_executor *ex, struct slurm_cmd *c, struct ns_task **tasks,
                        size_t n, char *err, size_t errlen)
{
    /* A folder of its own: a task of an array sbatch accepted before a
     * crash still finds its own links, never this array's. */
    char *bdir = slurm_make_own_dir(ex, 'b', tasks[0]->attempt_id, err, errlen);
    if (!bdir)
        return 1;
    for (size_t i = 0; i < n; i++) {
        char link[PATH_MAX + 32], target[PATH_MAX + 8];
        const char *slash = strrchr(tasks[i]->dir, '/');
        snprintf(link, sizeof link, "%s/%zu", bdir, i);
        snprintf(target, sizeof target, "../%s", slash ? slash + 1 : tasks[i]->dir);
        if (symlink(target, link) != 0) {
            ns_errf(err, errlen, "%s: %s", link, strerror(errno));
            free(bdir);
            return 1;
        }
    }
    /* Tasks of earlier arrays still hold slots: this one gets the rest
     * (slurm_rebalance() raises it as they end), or none yet - then it waits in
     * Slurm's queue held, to be released the moment a slot is left. */
    long busy = (long)(ex->nsubmitted + ex->nstarted);
    bool gated = busy >= ex->concurrency;
    int throttle = gated ? ex->concurrency : ex->concurrency - (int)busy;
    struct args a = {0};
    sbatch_args(ex, &a, bdir, n, throttle, gated);
    c->tasks = ns_xmalloc(n * sizeof *c->tasks);
    memcpy(c->tasks, tasks, n * sizeof *tasks);
    c->ntasks = n;
    c->value = throttle;
    c->flag = gated;
    c->dir = bdir;
    int rc = slurm_cmd_begin(ex, c, a.v, sbatch_done, err, errlen);
    slurm_args_release(&a);
    if (rc != 0)
        return -1; /* the slot freed bdir; its links lead nowhere once the tasks end */
    ex->submitting = true;
    for (size_t i = 0; i < n; i++)
        slurm_task_set_state(ex, tasks[i], T_SUBMITTING);
    return 0;
}

int slurm_flush(struct ns_executor *ex, char *err, size_t errlen)
{
    /* One sbatch at a time, so arrays keep their order; the next goes out
     * on the turn after it answered. */
    if (ex->nqueued == 0 || ex->submitting)
        return 0;
    slurm_spool_check(ex, false);
    if (ex->spool_broken && ns_monotonic() < ex->spool_retry_at)
        return 0; /* the tasks wait for the spool, uncharged */
    struct slurm_cmd *c = slurm_cmd_slot(ex, false);
    if (!c)
        return 0; /* every slot busy: a later turn */
    size_t cap = (size_t)(ex->max_array > 0 ? ex->max_array : DEFAULT_MAX_ARRAY);
    struct ns_task **batch = ns_xcalloc(cap, sizeof *batch);
    size_t n = 0;
    for (struct ns_task *t = ex->head; t && n < cap; t = t->next)
        if (t->state == T_QUEUED && !t->failed_submit && !t->asked && t->dir)
            batch[n++] = t;
    int rc = 0, sub = 0;
    char e[512] = "";
    if (n > 0 && (sub = submit_array(ex, c, batch, n, e, sizeof e)) > 0) {
        if (!ex->spool_broken)
            slurm_note(ex, "slurm.spool: %s; the run's tasks wait for it (no attempt is charged)", e);
        ex->spool_broken = true;
        ex->spool_retry_at = ns_monotonic() + POLL_INTERVAL_S;
        slurm_spool_check(ex, true); /* gone: made again at once */
    } else if (sub == 0 && n > 0 && ex->spool_broken) {
        ex->spool_broken = false;
    } else if (sub < 0) {
        rc = -1;
        ns_errf(err, errlen, "%s", e);
        for (size_t i = 0; i < n; i++) {
            batch[i]->failed_submit = true;
            snprintf(batch[i]->submit_error, sizeof batch[i]->submit_error,
                     "not submitted: %.140s", e);
        }
    }
    free(batch);
    return rc;
}
