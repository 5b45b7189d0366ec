/*
 * slurm-control.c - operator actions on Slurm tasks and the arrays'
 * throttles. Actions are collected per turn and applied in one command per
 * kind (scontrol hold/suspend/release/resume with a job list, scancel with
 * many ids): pausing a thousand queued tasks is a handful of calls.
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

static bool array_gated(const struct ns_executor *ex, int64_t job)
{
    for (size_t i = 0; i < ex->narrays; i++)
        if (ex->arrays[i].job == job)
            return ex->arrays[i].gated;
    return false;
}

int slurm_control(struct ns_executor *ex, struct ns_task *t, enum ns_exec_action action)
{
    bool running = t->state == T_STARTED;
    switch (action) {
    case NS_EXEC_PAUSE:
        if (running)
            t->actions |= A_SUSPEND, t->suspended = true;
        else
            t->actions |= A_HOLD, t->held = true;
        break;
    case NS_EXEC_RESUME:
        if (t->suspended)
            t->actions |= A_RESUME;
        if (t->held && !array_gated(ex, t->job))
            t->actions |= A_RELEASE; /* a gated array's tasks stay held (slurm_rebalance) */
        t->suspended = t->held = false;
        break;
    case NS_EXEC_TERMINATE:
        t->asked = t->asked ? t->asked : NS_EXEC_TERMINATE;
        if (t->suspended)
            t->actions |= A_RESUME, t->suspended = false;
        t->actions |= running ? A_TERM : A_CANCEL;
        break;
    case NS_EXEC_KILL:
        t->asked = NS_EXEC_KILL;
        if (t->suspended)
            t->actions |= A_RESUME, t->suspended = false;
        t->actions |= running ? A_KILL : A_CANCEL;
        break;
    }
    ex->actions_pending = true;
    return 0;
}

/* One command for every task with action bit `bit`: argv prefix, then the
 * ids as one comma-separated argument (scontrol) or one argument each. */
static void apply_one(struct ns_executor *ex, unsigned bit, const char *const *prefix, bool comma)
{
    struct args a = {0};
    for (const char *const *p = prefix; *p; p++)
        slurm_args_add(&a, *p);
    size_t fixed = a.n, ids = 0;
    struct ns_buf list = NS_BUF_INIT;
    for (struct ns_task *t = ex->head; t; t = t->next) {
        if (!(t->actions & bit))
            continue;
        t->actions &= ~bit;
        if (t->state == T_QUEUED || t->job == 0)
            continue; /* not in Slurm yet: flush() applies holds; ends are local */
        ids++;
        if (comma) {
            buf_addf(&list, "%s%lld_%d", list.len ? "," : "", (long long)t->job, t->index);
        } else {
            slurm_args_addf(&a, "%lld_%d", (long long)t->job, t->index);
        }
    }
    if (ids) {
        if (comma)
            slurm_args_add(&a, list.data);
        char err[512];
        if (slurm_run_cmd(a.v, NULL, err, sizeof err) != 0 && bit == A_SUSPEND) {
            /* Suspending is for Slurm operators; a plain user can still
             * stop the processes (Slurm's clock then keeps running). */
            const char *const stop[] = {"scancel", "--full", "--signal=STOP", NULL};
            slurm_args_release(&a);
            for (const char *const *p = stop; *p; p++)
                slurm_args_add(&a, *p);
            for (struct ns_task *t = ex->head; t; t = t->next)
                if (t->suspended && t->state == T_STARTED)
                    slurm_args_addf(&a, "%lld_%d", (long long)t->job, t->index);
            slurm_run_cmd(a.v, NULL, err, sizeof err);
        } else if (bit == A_RESUME) {
            /* Undoes the fallback above (harmless after a real suspend). */
            const char *const cont[] = {"scancel", "--full", "--signal=CONT", NULL};
            struct args c = {0};
            for (const char *const *p = cont; *p; p++)
                slurm_args_add(&c, *p);
            for (size_t i = fixed; i < a.n; i++)
                for (char *tok = strtok(a.v[i], ","); tok; tok = strtok(NULL, ","))
                    slurm_args_add(&c, tok);
            slurm_run_cmd(c.v, NULL, err, sizeof err);
            slurm_args_release(&c);
        }
    }
    buf_release(&list);
    slurm_args_release(&a);
}

void slurm_apply_actions(struct ns_executor *ex)
{
    static const char *const hold[] = {"scontrol", "hold", NULL};
    static const char *const release[] = {"scontrol", "release", NULL};
    static const char *const suspend[] = {"scontrol", "suspend", NULL};
    static const char *const resume[] = {"scontrol", "resume", NULL};
    static const char *const term[] = {"scancel", "--batch", "--signal=TERM", NULL};
    static const char *const kill9[] = {"scancel", "--full", "--signal=KILL", NULL};
    static const char *const cancel[] = {"scancel", NULL};
    static const struct {
        unsigned bit;
        const char *const *argv;
        bool comma;
        unsigned also; /* a KILL is followed by a cancel, so Slurm ends the job */
    } order[] = {
        {A_RESUME, resume, true, 0},  {A_RELEASE, release, true, 0},
        {A_HOLD, hold, true, 0},      {A_SUSPEND, suspend, true, 0},
        {A_TERM, term, false, 0},     {A_KILL, kill9, false, A_CANCEL},
        {A_CANCEL, cancel, false, 0},
    };
    ex->actions_pending = false;
    for (size_t i = 0; i < NS_ARRAY_LEN(order); i++) {
        if (order[i].also)
            for (struct ns_task *t = ex->head; t; t = t->next)
                if (t->actions & order[i].bit)
                    t->actions |= order[i].also;
        apply_one(ex, order[i].bit, order[i].argv, order[i].comma);
    }
}

/* Keeps the run within `concurrency` across its arrays: array i may run
 * what the tasks of older arrays (queued or running) leave; an array left
 * nothing is held (gated) and released once something is left, its throttle
 * set first. Older arrays only shrink, so a throttle never has to drop
 * below what an array runs and the run never runs more than `concurrency`.
 * Arrays without tasks in Slurm are forgotten. Issues `scontrol` only for
 * changes; a gated array is not released while the operator holds one of
 * its tasks (pause: resume leaves the gate to this). */
void slurm_rebalance(struct ns_executor *ex)
{
    long older = 0;
    size_t kept = 0;
    for (size_t i = 0; i < ex->narrays; i++) {
        struct array *ar = &ex->arrays[i];
        long active = 0;
        bool op_held = false, slurm_held = false;
        for (const struct ns_task *t = ex->head; t; t = t->next) {
            if (t->job != ar->job || t->state == T_QUEUED)
                continue;
            active++;
            op_held |= t->held;
            slurm_held |= t->slurm_held;
        }
        if (active == 0)
            continue;
        int want = older < ex->concurrency ? ex->concurrency - (int)older : 0;
        older += active;
        char jobarg[64], thr[64], err[256];
        snprintf(jobarg, sizeof jobarg, "JobId=%lld", (long long)ar->job);
        if (want == 0 && !ar->gated) {
            char *argv[] = {(char *)"scontrol", (char *)"hold", jobarg + 6, NULL};
            if (slurm_run_cmd(argv, NULL, err, sizeof err) == 0)
                ar->gated = true;
        }
        if (want > 0 && want != ar->throttle) {
            snprintf(thr, sizeof thr, "ArrayTaskThrottle=%d", want);
            char *argv[] = {(char *)"scontrol", (char *)"update", jobarg, thr, NULL};
            if (slurm_run_cmd(argv, NULL, err, sizeof err) == 0)
                ar->throttle = want;
        }
        /* Released once; squeue says if it is still held (a failed call, or
         * an array a dead runtime left gated): then again. */
        if (want > 0 && (ar->gated || slurm_held) && ar->throttle == want && !op_held) {
            char *argv[] = {(char *)"scontrol", (char *)"release", jobarg + 6, NULL};
            slurm_run_cmd(argv, NULL, err,
                          sizeof err); /* "already finished" for some tasks: fine */
            ar->gated = false;
        }
        ex->arrays[kept++] = *ar;
    }
    ex->narrays = kept;
}

void slurm_set_concurrency(struct ns_executor *ex, int concurrency)
{
    ex->concurrency = concurrency > 0 ? concurrency : 1;
    slurm_rebalance(ex);
}
