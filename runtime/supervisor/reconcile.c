/*
 * reconcile.c - taking over a run a dead runtime left: each attempt still
 * open in the store is adopted (the executor found its task alive and can
 * reattach) or closed as interrupted, leftover processes are ended, and
 * interrupted partitions go back to pending without counting against their
 * budget.
 *
 * Invariant: runs before anything is dispatched, so no partition ever has
 * two live attempts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor.h"
#include "nightshift/util.h"

/* Takes a task the executor re-attached to (recover) back into the loop:
 * the partition keeps running (or stays pending while its task is queued),
 * its reports continue where the dead runtime's committed ones stopped. */
static void adopt_attempt(struct rt *rt, struct attempt *a, int64_t report_offset,
                          int64_t output_offset, const char *log_path)
{
    struct part *p = rt_part(rt, a->idx);
    double now = ns_now();
    report_parser_init(&a->parser);
    a->report_fed = a->report_offset = report_offset;
    a->output_fed = output_offset;
    a->log_bytes = output_offset;
    a->log_path = log_path ? ns_xstrdup(log_path) : attempt_log_path(rt, a->idx, a->n);
    attempt_open_log(a, true);
    /* A task still queued in the backend is not running: its partition
     * waits as pending until `started` (and its clocks start then). */
    a->started = !rt->exops->is_running || rt->exops->is_running(rt->ex, a->task);
    a->started_mono = ns_monotonic() - (now - a->started_wall);
    if (rt->spec->timeout_ms > 0 && a->started)
        a->deadline_mono = a->started_mono + (double)rt->spec->timeout_ms / 1000.0;
    p->live = a;
    enum ns_part_state to = a->started ? P_RUNNING : P_PENDING;
    if (p->row.state != to)
        rt_set_state(rt, a->idx, to);
    journal_partition(rt->j, &p->row);
    rt_live_add(rt, a);
    char label[96];
    rt->exops->describe(rt->ex, a->task, label, sizeof label);
    rt_event(rt, a->idx, a->id, "reconcile",
             "partition %lld [%s]: attempt %d was still known to the executor (%s): adopted",
             (long long)a->idx, rt_part_key(rt, a->idx), a->n, label);
}

/* One attempt a dead runtime left open (o): adopted if the executor finds
 * its task alive, else closed as interrupted. */
static void reconcile_attempt(struct rt *rt, const struct ns_attempt_image *o, double now)
{
    int64_t idx = o->idx;
    enum ns_recover r = NS_RECOVER_GONE;
    struct attempt *a = ns_xcalloc(1, sizeof *a);
    a->id = o->id;
    a->idx = idx;
    a->n = o->n;
    a->started_wall = o->started_at;
    /* An attempt of another executor (the spec changed under --force)
     * cannot be found by this one: it is gone as far as we can tell. */
    if (strcmp(o->executor, rt->exops->name) == 0 && idx >= 0 && (size_t)idx < rt->nparts &&
        !rt_part(rt, idx)->live)
        r = rt->exops->recover(rt->ex, o->locator, a->id, o->report_offset, o->output_offset, a,
                               &a->task);
    if (r == NS_RECOVER_ADOPTED) {
        adopt_attempt(rt, a, o->report_offset, o->output_offset, o->log_path);
        return;
    }
    /* Its real end: now for a worker ended now; for one already gone, its
     * last progress report (it lived at least that long), else unknown -
     * never the time of this restart, which would time the crash gap as work. */
    double end = now;
    const char *timed = "";
    if (r != NS_RECOVER_ENDED) {
        bool reported = o->last_report_at > o->started_at && o->last_report_at <= now;
        end = reported ? o->last_report_at : 0;
        timed = reported ? " (timed to its last progress report)" : " (when it ended is unknown)";
    }
    char msg[200];
    snprintf(msg, sizeof msg, "runtime died during the attempt; %s%s",
             r == NS_RECOVER_ENDED ? "its worker was still running and was ended on restart"
                                   : "its worker was already gone",
             timed);
    struct ns_attempt_image row = attempt_row(rt, a);
    journal_attempt_end(rt->j, &row, end, NS_AO_INTERRUPTED, -1, 0, msg);
    rt_event(rt, idx, a->id, "reconcile", "partition %lld [%s]: attempt %d %s", (long long)idx,
             rt_part_key(rt, idx), a->n, msg);
    /* Queued when the runtime died (its partition still pending):
     * interrupted like a running one, not counted against it. */
    struct part *qp = idx >= 0 && (size_t)idx < rt->nparts ? rt_part(rt, idx) : NULL;
    if (qp && !qp->live && qp->row.state == P_PENDING && qp->row.attempts > 0) {
        qp->row.attempts--;
        journal_partition(rt->j, &qp->row);
    }
    free(a);
}

/* Ends what a dead runtime left behind and puts interrupted partitions back
 * in the queue. Runs before anything is dispatched. */
void rt_reconcile(struct rt *rt)
{
    struct ns_attempt_image *orphans;
    size_t n = runs_open_attempts(rt->runs, &orphans);
    double now = ns_now();
    for (size_t i = 0; i < n; i++)
        reconcile_attempt(rt, &orphans[i], now);
    runs_attempts_free(orphans, n);
    int strays = rt->exops->end_strays(rt->ex);
    if (strays > 0)
        rt_event(rt, -1, 0, "reconcile", "ended %d leftover process%s of run %lld", strays,
                 strays == 1 ? "" : "es", (long long)rt->run_id);
    for (size_t i = 0; i < rt->nparts; i++) {
        enum ns_part_state st = (enum ns_part_state)rt->pstate[i];
        if (st != P_RUNNING && st != P_PAUSED && !(st == P_FAILED && rt->opts->retry_failed))
            continue;
        struct part *p = rt_part(rt, (int64_t)i);
        if (p->live)
            continue; /* adopted: it runs on */
        if (p->row.state == P_RUNNING || p->row.state == P_PAUSED) {
            /* Interrupted through no fault of the worker: the attempt does
             * not count against the partition's budget. */
            if (p->row.attempts > 0)
                p->row.attempts--;
            rt_set_state(rt, (int64_t)i, P_PENDING);
            journal_partition(rt->j, &p->row);
        } else if (p->row.state == P_FAILED && rt->opts->retry_failed) {
            p->row.attempts = 0;
            rt_set_state(rt, (int64_t)i, P_PENDING);
            journal_partition(rt->j, &p->row);
            rt_event_change(rt, (int64_t)i, 0, "partition_state", "failed", "pending",
                            "partition %lld [%s]: failed -> pending (--retry-failed)",
                            (long long)i, rt_part_key(rt, (int64_t)i));
        }
    }
}
