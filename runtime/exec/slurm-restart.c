/*
 * slurm-restart.c - the `slurm` executor after a restart: the locator an
 * attempt row keeps (JOB_INDEX), finding an attempt's spool folder again,
 * adopting tasks Slurm still runs, ending strays, and describing a task.
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

char *slurm_locator(const struct ns_executor *ex, const struct ns_task *t)
{
    (void)ex;
    return t->job ? ns_xasprintf("%lld_%d", (long long)t->job, t->index) : NULL;
}

/* The spool directory of attempt_id: of the folders its id named (slurm_make_own_dir),
 * the one whose `array` file names the task the locator gives; without a
 * locator, the newest. NULL if there is none. Caller frees. */
static char *find_attempt_dir(const struct ns_executor *ex, int64_t attempt_id, long long job,
                              int index)
{
    char *newest = NULL;
    for (int n = 0; n < OWN_DIR_TRIES; n++) {
        char *dir = n == 0 ? ns_xasprintf("%s/a%lld", ex->spool, (long long)attempt_id)
                           : ns_xasprintf("%s/a%lld.%d", ex->spool, (long long)attempt_id, n);
        struct stat sb;
        if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            free(dir);
            break;
        }
        if (job > 0) {
            char *saved = spool_read_file(dir, "array");
            long long j = 0;
            int i = -1;
            bool match = saved && sscanf(saved, "%lld_%d", &j, &i) == 2 && j == job && i == index;
            free(saved);
            if (match) {
                free(newest);
                return dir;
            }
        }
        free(newest);
        newest = dir;
    }
    /* A locator whose folder has no `array` file (the runtime died right
     * after sbatch): the newest folder is the one made for it. */
    return newest;
}

enum ns_recover slurm_recover(struct ns_executor *ex, const char *locator, int64_t attempt_id,
                              int64_t report_offset, int64_t output_offset, void *owner,
                              struct ns_task **out)
{
    long long job = 0;
    int index = -1;
    if (!locator || sscanf(locator, "%lld_%d", &job, &index) != 2)
        job = 0;
    char *dir = find_attempt_dir(ex, attempt_id, job, index);
    if (!dir)
        return NS_RECOVER_GONE; /* never started here */
    if (job <= 0) {
        char *saved = spool_read_file(dir, "array"); /* written right after sbatch */
        if (!saved || sscanf(saved, "%lld_%d", &job, &index) != 2)
            job = 0;
        free(saved);
    }
    char *exitf = spool_read_file(dir, "exit");
    bool has_exit = exitf != NULL;
    free(exitf);
    if (job <= 0 && !has_exit) {
        free(dir);
        return NS_RECOVER_GONE; /* never submitted (or unknown: end_strays cancels it) */
    }
    if (ns_monotonic() - ex->snap_at > POLL_INTERVAL_S || !ex->snap_ok)
        slurm_take_snapshot(ex);
    const struct slot *s = job > 0 ? slurm_snap_find(ex, job, index) : NULL;
    int si = s ? slurm_state_find(s->state) : -1;
    if (!has_exit && !s && ex->snap_ok) {
        char *jobf = spool_read_file(dir, "job");
        free(jobf);
        if (!jobf) {
            free(dir);
            return NS_RECOVER_GONE; /* Slurm forgot it and it never ran */
        }
    }
    struct ns_task *t = slurm_task_new(ex, attempt_id, owner, dir);
    t->job = job;
    t->index = index;
    if (job > ex->max_job)
        ex->max_job = job;
    t->report_off = report_offset;
    t->output_off = output_offset;
    if (s)
        snprintf(t->slurm_state, sizeof t->slurm_state, "%s", s->state);
    t->slurm_held = s && s->held;
    bool ran = has_exit || (si >= 0 && slurm_states[si].running);
    if (!ran) {
        char *jobf = spool_read_file(dir, "job");
        ran = jobf != NULL;
        free(jobf);
    }
    slurm_task_set_state(ex, t, ran ? T_STARTED : T_SUBMITTED);
    bool have = false;
    for (size_t i = 0; i < ex->narrays && !have; i++)
        have = ex->arrays[i].job == job;
    if (!have && job > 0) {
        ex->arrays = ns_xrealloc(ex->arrays, (ex->narrays + 1) * sizeof *ex->arrays);
        ex->arrays[ex->narrays++] = (struct array){job, -1, false, false, NULL}; /* rebalance sets it */
    }
    if (ex->next_poll == 0)
        ex->next_poll = ns_monotonic();
    *out = t;
    return NS_RECOVER_ADOPTED;
}

int slurm_end_strays(struct ns_executor *ex)
{
    /* The loop is not running (before dispatch, or after the run): what
     * it left in flight no longer matters, and this waits for Slurm. */
    slurm_cmd_kill_all(ex);
    if (slurm_take_snapshot(ex) != 0)
        return 0;
    struct args a = {0};
    slurm_args_add(&a, "scancel");
    int n = 0;
    for (size_t i = 0; i < ex->nsnap; i++) {
        const struct slot *s = &ex->snap[i];
        int si = slurm_state_find(s->state);
        if (si >= 0 && slurm_states[si].over)
            continue;
        bool known = false;
        for (const struct ns_task *t = ex->head; t && !known; t = t->next)
            known = t->job == s->job && t->index == s->index;
        if (known)
            continue;
        if (s->index >= 0)
            slurm_args_addf(&a, "%lld_%d", (long long)s->job, s->index);
        else
            slurm_args_addf(&a, "%lld", (long long)s->job);
        n++;
    }
    if (n > 0) {
        char err[256];
        slurm_run_cmd(a.v, NULL, err, sizeof err);
        /* Never two live attempts of one partition: wait (bounded) until
         * Slurm has ended them before anything new is submitted. */
        double deadline = ns_monotonic() + (double)ex->cfg.stop_grace_ms / 1000.0 + 10;
        while (ns_monotonic() < deadline) {
            if (slurm_take_snapshot(ex) != 0)
                break;
            bool live = false;
            for (int i = 1; i <= n && !live; i++) {
                long long job;
                int index = -1;
                if (sscanf(a.v[i], "%lld_%d", &job, &index) < 1)
                    continue;
                const struct slot *s = slurm_snap_find(ex, job, index);
                int si = s ? slurm_state_find(s->state) : -1;
                live = s && si >= 0 && !slurm_states[si].over;
            }
            if (!live)
                break;
            usleep(200 * 1000);
        }
    }
    slurm_args_release(&a);
    return n;
}

bool slurm_is_running(const struct ns_executor *ex, const struct ns_task *t)
{
    (void)ex;
    return t->state == T_STARTED;
}

void slurm_describe(const struct ns_executor *ex, const struct ns_task *t, char *buf, size_t len)
{
    (void)ex;
    if (t->job)
        snprintf(buf, len, "job %lld_%d%s", (long long)t->job, t->index,
                 t->state == T_SUBMITTED ? " (queued)" : "");
    else
        snprintf(buf, len, "queued for sbatch");
}
