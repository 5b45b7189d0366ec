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

int slurm_start(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id, void *owner,
                struct ns_task **out, char *err, size_t errlen)
{
    char *dir = slurm_make_own_dir(ex, 'a', attempt_id, err, errlen);
    if (!dir)
        return -1;
    if (spool_write_launch(dir, l, err, errlen) != 0) {
        free(dir);
        return -1;
    }
    *out = slurm_task_new(ex, attempt_id, owner, dir);
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

/* Submits tasks[0..n) as one array. Returns 0 or -1 with err filled. */
static int submit_array(struct ns_executor *ex, struct ns_task **tasks, size_t n, char *err,
                        size_t errlen)
{
    /* A folder of its own: a task of an array sbatch accepted before a
     * crash still finds its own links, never this array's. */
    char *bdir = slurm_make_own_dir(ex, 'b', tasks[0]->attempt_id, err, errlen);
    if (!bdir)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char link[PATH_MAX + 32], target[PATH_MAX + 8];
        const char *slash = strrchr(tasks[i]->dir, '/');
        snprintf(link, sizeof link, "%s/%zu", bdir, i);
        snprintf(target, sizeof target, "../%s", slash ? slash + 1 : tasks[i]->dir);
        if (symlink(target, link) != 0) {
            ns_errf(err, errlen, "%s: %s", link, strerror(errno));
            free(bdir);
            return -1;
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
    free(bdir);
    struct ns_buf out = NS_BUF_INIT;
    int rc = slurm_run_cmd(a.v, &out, err, errlen);
    slurm_args_release(&a);
    long long job = 0;
    if (rc == 0 && (!out.data || sscanf(out.data, "%lld", &job) != 1 || job <= 0)) {
        ns_errf(err, errlen, "sbatch: no job id in its answer");
        rc = -1;
    }
    buf_release(&out);
    if (rc != 0)
        return -1;
    ex->arrays = ns_xrealloc(ex->arrays, (ex->narrays + 1) * sizeof *ex->arrays);
    ex->arrays[ex->narrays++] = (struct array){job, throttle, gated};
    for (size_t i = 0; i < n; i++) {
        struct ns_task *t = tasks[i];
        t->job = job;
        t->index = (int)i;
        slurm_task_set_state(ex, t, T_SUBMITTED);
        char line[64], e2[256];
        int len = snprintf(line, sizeof line, "%lld_%zu\n", job, i);
        /* For recover() when the runtime dies before the locator is stored. */
        spool_write_file(t->dir, "array", line, (size_t)len, e2, sizeof e2);
        if (t->held)
            t->actions |= A_HOLD, ex->actions_pending = true;
    }
    return 0;
}

int slurm_flush(struct ns_executor *ex, char *err, size_t errlen)
{
    if (ex->nqueued == 0)
        return 0;
    size_t cap = (size_t)(ex->max_array > 0 ? ex->max_array : DEFAULT_MAX_ARRAY);
    struct ns_task **batch = ns_xcalloc(cap, sizeof *batch);
    int rc = 0;
    struct ns_task *t = ex->head;
    while (t) {
        size_t n = 0;
        for (; t && n < cap; t = t->next)
            if (t->state == T_QUEUED && !t->failed_submit)
                batch[n++] = t;
        if (n == 0)
            break;
        char e[512] = "";
        if (submit_array(ex, batch, n, e, sizeof e) != 0) {
            rc = -1;
            ns_errf(err, errlen, "%s", e);
            for (size_t i = 0; i < n; i++) {
                batch[i]->failed_submit = true;
                snprintf(batch[i]->submit_error, sizeof batch[i]->submit_error,
                         "not submitted: %.140s", e);
            }
        }
    }
    free(batch);
    if (ex->nsubmitted && ex->next_poll == 0)
        ex->next_poll = ns_monotonic() + POLL_INTERVAL_S;
    return rc;
}
