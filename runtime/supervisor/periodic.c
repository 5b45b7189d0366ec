/*
 * periodic.c - what the loop writes on a clock rather than on an event:
 * coalesced progress, attempt offsets, the heartbeat, the run's counters and
 * projection, samples, and the metrics textfile; and when that is next due.
 *
 * Invariant: the counters written are rt->counts, which equal the partition
 * rows once the turn commits. Nothing here runs SQL of its own except
 * through the journal (and the metrics textfile's reads, bounded to 5 % of
 * the loop's time).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor.h"
#include "nightshift/util.h"
#include "nightshift/metrics.h"
#include "nightshift/query.h"

#define PROGRESS_WRITE_S 0.25
#define HEARTBEAT_S 1.0
#define SAMPLE_S 5.0
#define METRICS_S 5.0 /* textfile refresh */
#define TICK_S 0.2

int64_t rt_done_count(const struct rt *rt)
{
    return rt->counts[P_SUCCEEDED] + rt->counts[P_FAILED] + rt->counts[P_SKIPPED];
}

/* Recent partitions/s over the last ~30 s of one-second samples. */
static double recent_rate(struct rt *rt, double now_mono, bool sample)
{
    int64_t done = rt_done_count(rt);
    if (sample) {
        if (rt->rate_n == (int)NS_ARRAY_LEN(rt->rate_t)) {
            memmove(rt->rate_t, rt->rate_t + 1, sizeof rt->rate_t - sizeof rt->rate_t[0]);
            memmove(rt->rate_done, rt->rate_done + 1,
                    sizeof rt->rate_done - sizeof rt->rate_done[0]);
            rt->rate_n--;
        }
        rt->rate_t[rt->rate_n] = now_mono;
        rt->rate_done[rt->rate_n] = done;
        rt->rate_n++;
    }
    if (rt->rate_n < 1)
        return 0;
    double dt = now_mono - rt->rate_t[0];
    if (dt < 0.5)
        return 0;
    return (double)(done - rt->rate_done[0]) / dt;
}

/* When the run will end, by the one projection every reader shows
 * (query_project): nothing while it does not dispatch, else from the recent
 * rate, else from the share of work done (running partitions' progress
 * included); with a window, the time it is closed counts too (window.c).
 * 0 when unknown. */
static double projected_finish(const struct rt *rt, double rate, double now)
{
    struct ns_projection_in in = {
        .total = (int64_t)rt->nparts,
        .done = rt_done_count(rt),
        .rate = rt->window ? rt_window_rate(rt, rate) : rate,
        .elapsed_s = now - rt->start_wall,
        .dispatching = rt->state == NS_RS_RUNNING,
    };
    for (size_t i = 0; i < rt->nlive; i++) {
        const struct part *p = part_map_find(&rt->parts, rt->live[i]->idx); /* live: held */
        if (!p)
            continue;
        if (p->row.total > 0)
            in.partial += fmin(1.0, (double)p->row.progress / (double)p->row.total);
    }
    double finish = query_project(&in, now);
    return rt->window ? rt_window_stretch(rt, finish, now) : finish;
}

/* The run's row: its counters (rt->counts), records, rates and projection. */
static void write_figures(struct rt *rt, double rate, double elapsed_s)
{
    double record_rate = query_record_rate(rt->records_done, rt->records_at_start, elapsed_s);
    struct ns_run_figures f = {rt->counts, rt->records_done, rt->records_total, rt->error_records,
                               rate,       record_rate,      rt->projected_finish};
    journal_run_counters(rt->j, &f);
    rt->dirty = false;
}

void rt_write_counters(struct rt *rt)
{
    double now_mono = ns_monotonic(), now = ns_now();
    double rate = recent_rate(rt, now_mono, false);
    rt->projected_finish = projected_finish(rt, rate, now);
    write_figures(rt, rate, now_mono - rt->start_mono);
}

void rt_fill_counts(struct rt *rt, struct ns_counts *c, double rate, double finish, double now)
{
    memset(c, 0, sizeof *c);
    c->total = (int64_t)rt->nparts;
    c->pending = rt->counts[P_PENDING];
    c->running = rt->counts[P_RUNNING];
    c->retry_wait = rt->counts[P_RETRY_WAIT];
    c->paused = rt->counts[P_PAUSED];
    c->succeeded = rt->counts[P_SUCCEEDED];
    c->failed = rt->counts[P_FAILED];
    c->skipped = rt->counts[P_SKIPPED];
    c->records_done = rt->records_done;
    c->error_records = rt->error_records;
    /* Since the run first started, as status and the summary count it: a
     * resumed run's last line must not say 15s where status says 21s. */
    c->elapsed_s = rt->run_started_at > 0 ? now - rt->run_started_at : ns_monotonic() - rt->start_mono;
    c->rate = rt->state == NS_RS_RUNNING ? rate : 0; /* paused, halted: nothing moves */
    c->eta_s = finish > 0 ? finish - now : -1;
    c->state = query_run_state_word(rt->state);
}

void rt_periodic(struct rt *rt, bool force)
{
    double now_mono = ns_monotonic();
    double now = ns_now();
    /* Coalesced progress: a few writes per second per partition at most. */
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->progress_dirty &&
            (force || now_mono - a->progress_written_mono >= PROGRESS_WRITE_S)) {
            journal_progress(rt->j, &rt_part(rt, a->idx)->row);
            a->progress_dirty = false;
            a->progress_written_mono = now_mono;
        }
        /* Every turn, with what they produced: an adopted task must resume
         * exactly after the reports whose records were committed. */
        if (a->offsets_dirty && (rt->exops->caps & NS_EXEC_CAN_ADOPT))
            journal_attempt_offsets(rt->j, a->id, a->report_offset, a->output_fed);
        a->offsets_dirty = false;
    }
    bool beat = force || now_mono - rt->last_heartbeat >= HEARTBEAT_S;
    double rate = recent_rate(rt, now_mono, beat);
    if (beat) {
        rt->last_heartbeat = now_mono;
        journal_heartbeat(rt->j, now, (int)getpid());
    }
    if (force || now_mono - rt->last_tick >= TICK_S) {
        rt->last_tick = now_mono;
        rt->projected_finish = projected_finish(rt, rate, now);
        struct ns_counts c;
        rt_fill_counts(rt, &c, rate, rt->projected_finish, now);
        /* Idle runs (paused, waiting) write once a second, with the beat. */
        if (rt->dirty || beat)
            write_figures(rt, rate, c.elapsed_s);
        guard_check_budget(rt);
        guard_check_sla(rt, rt->projected_finish, false);
        if (rt->window)
            rt_window_check_risk(rt, rate, rt->projected_finish);
        straggle_check(rt, now); /* the live attempts, and the median when it moved */
        if (rt->opts->on_tick && !rt->tty_gone)
            rt->opts->on_tick(rt->opts->ctx, &c);
    }
    if (force || now_mono - rt->last_sample >= SAMPLE_S) {
        rt->last_sample = now_mono;
        journal_sample(rt->j, &(struct ns_sample){now, rt_done_count(rt), rt->records_done,
                                                  rt->counts[P_FAILED], rt->counts[P_RUNNING]});
    }
    if (rt->metrics_path && (force || now_mono - rt->last_metrics >= rt->metrics_every)) {
        rt->last_metrics = now_mono;
        char err[512];
        rt_store_live_rows(rt); /* read back below, as committed rows would say */
        journal_flush_all(rt->j);
        int rc = metrics_write_textfile(&rt->st, rt->run_id, rt->metrics_path, err, sizeof err);
        /* A big run's figures cost more to read: never spend over 5 % of
         * the loop's time on them. */
        rt->metrics_every = fmax(METRICS_S, 20 * (ns_monotonic() - now_mono));
        if (rc != 0) {
            if (!rt->metrics_failed)
                rt_event(rt, -1, 0, "metrics", "metrics textfile not written: %s", err);
            rt->metrics_failed = true;
        } else {
            rt->metrics_failed = false;
        }
    }
}

/* The textfile's path: --metrics-textfile, else metrics.textfile expanded
 * with the run parameters, relative to the spec's directory. */
char *rt_metrics_path(const struct rt *rt)
{
    if (rt->opts->metrics_textfile)
        return ns_xstrdup(rt->opts->metrics_textfile);
    if (!rt->spec->metrics_textfile.text)
        return NULL;
    struct ns_buf b = NS_BUF_INIT;
    char err[256];
    if (tmpl_expand(rt->spec->metrics_textfile.text, rt->plan->run_params, rt->plan->run_params_len,
                    &b, err, sizeof err) != 0) {
        buf_release(&b);
        return NULL; /* validate checked the placeholders */
    }
    char *p = b.data && b.data[0] == '/'
                  ? ns_xstrdup(b.data)
                  : ns_xasprintf("%s/%s", rt->spec->dir, b.data ? b.data : "");
    buf_release(&b);
    return p;
}

/* Seconds until rt_periodic() has work that is due: coalesced progress, the
 * heartbeat, and the counters tick while something runs. An idle runtime
 * (paused, waiting for the operator) wakes only for the heartbeat. */
double rt_periodic_due(const struct rt *rt, double now_mono)
{
    double due = rt->last_heartbeat + HEARTBEAT_S;
    bool active = rt->dirty;
    for (size_t i = 0; i < rt->nlive; i++) {
        const struct attempt *a = rt->live[i];
        if (a->progress_dirty)
            due = fmin(due, a->progress_written_mono + PROGRESS_WRITE_S);
        if (a->paused_at_mono == 0)
            active = true;
    }
    if (active)
        due = fmin(due, rt->last_tick + TICK_S);
    return due - now_mono;
}
