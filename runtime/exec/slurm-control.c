/*
 * slurm-control.c - operator actions on Slurm tasks and the arrays'
 * throttles. Actions are collected per turn and applied in one command per
 * kind (scontrol hold/suspend/release/resume with a job list, scancel with
 * many ids): pausing a thousand queued tasks is a handful of calls.
 *
 * No command is waited for (slurm-cmd.c): each kind runs beside the loop,
 * several at once, and its answer comes on a later turn. So an operator's
 * resume never waits behind a hung scancel, and a command that lands late
 * (after the one that undoes it) is undone again from its answer
 * (action_done). A task Slurm has finished with or no longer knows (the
 * last squeue) is never named: no signal, suspend or hold goes to it.
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

/* An array's command that sets its throttle (beside the action bits). */
#define A_THROTTLE (1u << 16)

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
        t->actions &= ~(unsigned)(A_RESUME | A_RELEASE | A_CONT); /* not sent yet: moot */
        if (running)
            t->actions |= A_SUSPEND, t->suspended = true;
        else
            t->actions |= A_HOLD, t->held = true;
        break;
    case NS_EXEC_RESUME:
        t->actions &= ~(unsigned)(A_SUSPEND | A_HOLD | A_STOP);
        if (t->suspended)
            t->actions |= A_RESUME | A_CONT;
        if (t->held && !array_gated(ex, t->job))
            t->actions |= A_RELEASE; /* a gated array's tasks stay held (slurm_rebalance) */
        t->suspended = t->held = false;
        break;
    case NS_EXEC_TERMINATE:
        t->asked = t->asked ? t->asked : NS_EXEC_TERMINATE;
        if (t->suspended)
            t->actions |= A_RESUME | A_CONT, t->suspended = false;
        t->actions |= running ? A_TERM : A_CANCEL;
        break;
    case NS_EXEC_KILL:
        t->asked = NS_EXEC_KILL;
        if (t->suspended)
            t->actions |= A_RESUME | A_CONT, t->suspended = false;
        t->actions |= running ? A_KILL : A_CANCEL;
        break;
    }
    ex->actions_pending = true;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    const struct slurm_id *x = a, *y = b;
    if (x->job != y->job)
        return x->job < y->job ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* An action's answer, on a later turn. Commands run side by side, so one
 * may land after a later one that undoes it (a hung STOP after resume's
 * CONT): each task it named whose wish has changed since gets the undo.
 * A failed scontrol suspend falls back to SIGSTOP. */
static void action_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok, const char *err,
                        const struct ns_exec_events *ev, void *ctx)
{
    (void)err, (void)ev, (void)ctx;
    for (struct ns_task *t = ex->head; t; t = t->next) {
        struct slurm_id key = {t->job, t->index};
        if (t->job == 0 || !bsearch(&key, c->ids, c->nids, sizeof key, cmp_id))
            continue;
        unsigned undo = 0;
        switch (c->bit) {
        case A_HOLD:
            undo = !t->held && !array_gated(ex, t->job) ? A_RELEASE : 0;
            break;
        case A_RELEASE:
            undo = t->held ? A_HOLD : 0;
            break;
        case A_SUSPEND:
            /* Suspending is for Slurm operators; a plain user can still
             * stop the processes (Slurm's clock then keeps running). */
            if (!ok && t->suspended && t->state == T_STARTED)
                undo = A_STOP;
            else if (ok && !t->suspended)
                undo = A_RESUME | A_CONT;
            break;
        case A_STOP: /* it may have stopped them, whatever it said */
            undo = !t->suspended ? A_CONT : 0;
            break;
        case A_RESUME:
        case A_CONT:
            undo = t->suspended ? A_SUSPEND : 0;
            break;
        }
        if (undo)
            t->actions |= undo, ex->actions_pending = true;
    }
}

/* The tasks an action may name now: in Slurm, and not finished there. A
 * task in an sbatch that has not answered keeps the bit for later. */
static bool action_target(struct ns_task *t, unsigned bit)
{
    if (!(t->actions & bit) || t->state == T_SUBMITTING)
        return false;
    if (t->state == T_QUEUED || !slurm_task_known(t)) {
        t->actions &= ~bit; /* not in Slurm: flush() applies holds; ends are local */
        return false;
    }
    return true;
}

/* One command, beside the loop, for every task with action bit `bit`:
 * argv prefix, then the ids as one comma-separated argument (scontrol) or
 * one argument each. False when no slot is free (the bits stay). */
static bool apply_one(struct ns_executor *ex, unsigned bit, const char *const *prefix, bool comma)
{
    size_t ids = 0;
    for (struct ns_task *t = ex->head; t; t = t->next)
        ids += action_target(t, bit);
    if (ids == 0)
        return true;
    struct slurm_cmd *c = slurm_cmd_slot(ex, false);
    if (!c)
        return false;
    struct args a = {0};
    for (const char *const *p = prefix; *p; p++)
        slurm_args_add(&a, *p);
    struct ns_buf list = NS_BUF_INIT;
    c->ids = ns_xmalloc(ids * sizeof *c->ids);
    for (struct ns_task *t = ex->head; t; t = t->next) {
        if (!action_target(t, bit) || c->nids == ids)
            continue;
        t->actions &= ~bit;
        c->ids[c->nids++] = (struct slurm_id){t->job, t->index};
        if (comma)
            buf_addf(&list, "%s%lld_%d", list.len ? "," : "", (long long)t->job, t->index);
        else
            slurm_args_addf(&a, "%lld_%d", (long long)t->job, t->index);
    }
    qsort(c->ids, c->nids, sizeof *c->ids, cmp_id);
    if (comma)
        slurm_args_add(&a, list.data);
    c->bit = bit;
    char err[512];
    if (slurm_cmd_begin(ex, c, a.v, action_done, err, sizeof err) != 0)
        slurm_note(ex, "slurm: %s", err);
    buf_release(&list);
    slurm_args_release(&a);
    return true;
}

void slurm_apply_actions(struct ns_executor *ex)
{
    static const char *const hold[] = {"scontrol", "hold", NULL};
    static const char *const release[] = {"scontrol", "release", NULL};
    static const char *const suspend[] = {"scontrol", "suspend", NULL};
    static const char *const resume[] = {"scontrol", "resume", NULL};
    static const char *const stop[] = {"scancel", "--full", "--signal=STOP", NULL};
    static const char *const cont[] = {"scancel", "--full", "--signal=CONT", NULL};
    static const char *const term[] = {"scancel", "--batch", "--signal=TERM", NULL};
    static const char *const kill9[] = {"scancel", "--full", "--signal=KILL", NULL};
    static const char *const cancel[] = {"scancel", NULL};
    /* Each kind is one command, all side by side; the operator's resume
     * goes first, so it takes a slot before anything that may hang. */
    static const struct {
        unsigned bit;
        const char *const *argv;
        bool comma;
        unsigned also; /* a KILL is followed by a cancel, so Slurm ends the job */
    } order[] = {
        {A_RESUME, resume, true, 0}, {A_CONT, cont, false, 0},  {A_RELEASE, release, true, 0},
        {A_HOLD, hold, true, 0},     {A_SUSPEND, suspend, true, 0}, {A_STOP, stop, false, 0},
        {A_TERM, term, false, 0},    {A_KILL, kill9, false, A_CANCEL}, {A_CANCEL, cancel, false, 0},
    };
    ex->actions_pending = false;
    for (size_t i = 0; i < NS_ARRAY_LEN(order); i++) {
        if (order[i].also)
            for (struct ns_task *t = ex->head; t; t = t->next)
                if (t->actions & order[i].bit)
                    t->actions |= order[i].also;
        if (!apply_one(ex, order[i].bit, order[i].argv, order[i].comma))
            ex->actions_pending = true; /* no slot: when one frees */
    }
}

static struct array *array_find(struct ns_executor *ex, int64_t job)
{
    for (size_t i = 0; i < ex->narrays; i++)
        if (ex->arrays[i].job == job)
            return &ex->arrays[i];
    return NULL;
}

/* An array's scontrol answered: what it did is known, and the next step
 * (release after the throttle is set) follows at once. */
static void array_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok, const char *err,
                       const struct ns_exec_events *ev, void *ctx)
{
    (void)err, (void)ev, (void)ctx;
    struct array *ar = array_find(ex, c->job);
    if (!ar)
        return; /* forgotten meanwhile: nothing of it is left in Slurm */
    ar->busy = false;
    if (c->bit == A_HOLD && ok)
        ar->gated = true;
    else if (c->bit == A_THROTTLE && ok)
        ar->throttle = c->value;
    else if (c->bit == A_RELEASE)
        ar->gated = false; /* "already finished" for some tasks: fine */
    if (ok && c->bit != A_RELEASE)
        slurm_rebalance(ex);
}

/* Starts one scontrol for array ar beside the loop; false if no slot. */
static bool array_cmd(struct ns_executor *ex, struct array *ar, unsigned what, int throttle)
{
    struct slurm_cmd *c = slurm_cmd_slot(ex, false);
    if (!c)
        return false;
    char jobarg[64], thr[64], err[256];
    snprintf(jobarg, sizeof jobarg, "JobId=%lld", (long long)ar->job);
    snprintf(thr, sizeof thr, "ArrayTaskThrottle=%d", throttle);
    char *hold[] = {(char *)"scontrol", (char *)"hold", jobarg + 6, NULL};
    char *update[] = {(char *)"scontrol", (char *)"update", jobarg, thr, NULL};
    char *release[] = {(char *)"scontrol", (char *)"release", jobarg + 6, NULL};
    c->job = ar->job;
    c->bit = what;
    c->value = throttle;
    char **argv = what == A_HOLD ? hold : what == A_RELEASE ? release : update;
    if (slurm_cmd_begin(ex, c, argv, array_done, err, sizeof err) != 0)
        return false;
    ar->busy = true;
    return true;
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
        if (active == 0) {
            free(ar->dir);
            continue;
        }
        int want = older < ex->concurrency ? ex->concurrency - (int)older : 0;
        older += active;
        /* One scontrol per array at a time; its answer calls this again. */
        if (ar->busy)
            ;
        else if (want == 0 && !ar->gated)
            array_cmd(ex, ar, A_HOLD, 0);
        else if (want > 0 && want != ar->throttle)
            array_cmd(ex, ar, A_THROTTLE, want);
        /* Released once; squeue says if it is still held (a failed call, or
         * an array a dead runtime left gated): then again. */
        else if (want > 0 && (ar->gated || slurm_held) && !op_held)
            array_cmd(ex, ar, A_RELEASE, want);
        ex->arrays[kept++] = *ar;
    }
    ex->narrays = kept;
}

void slurm_set_concurrency(struct ns_executor *ex, int concurrency)
{
    ex->concurrency = concurrency > 0 ? concurrency : 1;
    slurm_rebalance(ex);
}
