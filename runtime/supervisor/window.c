/*
 * window.c - run windows (spec `window:`): partitions start only between
 * the window's start and end, local times of day. Outside it dispatch is
 * closed; when it closes with attempts running, on_close says what
 * happens to them: drain (they finish), pause (SIGSTOP, SIGCONT when it
 * opens) or stop (gracefully; a later `run` resumes the run).
 *
 * Durable by construction: whether the window is open is decided from the
 * clock (ns_now, so NIGHTSHIFT_TEST_NOW moves it in tests), never from
 * memory, so a runtime restarted at 05:59 or at 06:01 does what one that
 * never died would. An operator's `resume --force` opens dispatch until
 * the window's next change (audited as every command).
 *
 * Only a run whose spec has a window has rt->window; the hooks in dispatch
 * and the loop are behind that pointer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "supervisor.h"
#include "nightshift/util.h"

struct rt_window {
    int start_min, end_min;  /* minutes of the day */
    const char *start, *end; /* the spec's "HH:MM" */
    bool open;
    double next_change;  /* wall clock: the next open or close */
    bool override;       /* resume --force: dispatch until next_change */
    bool paused_by_it;   /* on_close: pause paused the run */
    bool risk_said;     /* this opening's at-risk warning was given */
    double closed_since; /* monotonic: the wait outside the window began (0: none) */
    double open_rate;    /* partitions/s last measured while open (the ETA's, closed) */
    char reason[128];    /* what status shows while closed */
};

static int minutes_of(const char *hhmm)
{
    return hhmm ? ((hhmm[0] - '0') * 10 + (hhmm[1] - '0')) * 60 + (hhmm[3] - '0') * 10 +
                      (hhmm[4] - '0')
                : 0;
}

/* Decides open and next_change from the clock alone. */
static void look(struct rt_window *w, double now)
{
    time_t t = (time_t)now;
    struct tm tm;
    localtime_r(&t, &tm);
    int m = tm.tm_hour * 60 + tm.tm_min;
    w->open = w->start_min < w->end_min ? m >= w->start_min && m < w->end_min
                                        : m >= w->start_min || m < w->end_min;
    w->next_change = rt_next_local_time(w->open ? w->end : w->start, now);
    if (w->next_change <= 0)
        w->next_change = now + 86400; /* not reached: the spec checked both times */
}

void rt_window_open(struct rt *rt)
{
    const struct ns_window *sw = &rt->spec->window;
    if (!sw->start)
        return;
    if (sw->tz) {
        /* The window's zone is the runtime's local time (its only user of
         * local time besides sla.deadline, which then reads it too). */
        setenv("TZ", sw->tz, 1);
        tzset();
    }
    struct rt_window *w = ns_xcalloc(1, sizeof *w);
    w->start_min = minutes_of(sw->start);
    w->end_min = minutes_of(sw->end);
    w->start = sw->start;
    w->end = sw->end;
    look(w, ns_now());
    snprintf(w->reason, sizeof w->reason, "waiting for window (opens %s)", sw->start);
    rt->window = w;
    if (!w->open)
        w->closed_since = ns_monotonic();
    if (!w->open && rt->state == NS_RS_RUNNING) {
        rt_set_run_state(rt, NS_RS_RUNNING, w->reason);
        rt_event(rt, -1, 0, "window",
                 "run %lld: outside its window %s-%s: nothing starts before %s",
                 (long long)rt->run_id, sw->start, sw->end, sw->start);
    }
}

void rt_window_close(struct rt *rt)
{
    free(rt->window);
    rt->window = NULL;
}

/* The window closed: what on_close says, to a run that is running. The
 * reason (status, the console, the morning summary) says how many
 * partitions are left and when it resumes. */
static void closed(struct rt *rt)
{
    struct rt_window *w = rt->window;
    const struct ns_window *sw = &rt->spec->window;
    w->override = false;
    w->closed_since = ns_monotonic();
    if (rt->state != NS_RS_RUNNING)
        return;
    size_t live = rt->nlive;
    long long left = (long long)rt->nparts - (long long)rt_done_count(rt);
    char why[200];
    if (strcmp(sw->on_close, "pause") == 0 && live > 0) {
        rt_pause_workers(rt, true);
        w->paused_by_it = true;
        snprintf(why, sizeof why,
                 "window closed at %s (on_close: pause) with %lld partitions left; resumes %s",
                 sw->end, left, sw->start);
        rt_set_run_state(rt, NS_RS_PAUSED, why);
    } else if (strcmp(sw->on_close, "stop") == 0) {
        rt_request_stop(rt, false);
        snprintf(why, sizeof why,
                 "window closed at %s (on_close: stop) with %lld partitions left; a later run "
                 "resumes it from %s",
                 sw->end, left, sw->start);
        rt_set_run_state(rt, NS_RS_STOPPING, why);
    } else {
        snprintf(why, sizeof why, "%s: window closed at %s with %lld partitions left", w->reason,
                 sw->end, left);
        rt_set_run_state(rt, NS_RS_RUNNING, why);
    }
    rt_event(rt, -1, 0, "window",
             "run %lld: window closed at %s with %lld partitions left (on_close: %s, %zu "
             "attempt%s running); resumes %s",
             (long long)rt->run_id, sw->end, left, sw->on_close, live, live == 1 ? "" : "s",
             sw->start);
}

/* The time outside the window ends (it opened, or an operator forced it). */
static void count_wait(struct rt *rt)
{
    struct rt_window *w = rt->window;
    if (w->closed_since > 0)
        journal_run_waited(rt->j, 0, ns_monotonic() - w->closed_since);
    w->closed_since = 0;
}

static void opened(struct rt *rt)
{
    struct rt_window *w = rt->window;
    const struct ns_window *sw = &rt->spec->window;
    w->override = false;
    w->risk_said = false;
    count_wait(rt);
    rt_event(rt, -1, 0, "window", "run %lld: window opened at %s", (long long)rt->run_id,
             sw->start);
    if (w->paused_by_it && rt->state == NS_RS_PAUSED) {
        rt_pause_workers(rt, false);
        rt_set_run_state(rt, NS_RS_RUNNING, "window opened");
    } else if (rt->state == NS_RS_RUNNING) {
        rt_set_run_state(rt, NS_RS_RUNNING, "window opened");
    }
    w->paused_by_it = false;
}

bool rt_window_allows(struct rt *rt)
{
    struct rt_window *w = rt->window;
    double now = ns_now();
    if (now >= w->next_change) {
        bool was = w->open;
        look(w, now);
        if (was && !w->open)
            closed(rt);
        else if (!was && w->open)
            opened(rt);
    }
    return w->open || w->override;
}

double rt_window_wait(const struct rt *rt)
{
    return fmax(0, rt->window->next_change - ns_now());
}

int rt_window_resume(struct rt *rt, bool force, struct ns_buf *out)
{
    struct rt_window *w = rt->window;
    if (w->open || w->override)
        return -1; /* an ordinary resume */
    if (rt->state != NS_RS_RUNNING && !(w->paused_by_it && rt->state == NS_RS_PAUSED))
        return -1;
    if (!force) {
        buf_addf(out, "the run waits for its window (opens %s): resume --force starts it now",
                 rt->spec->window.start);
        return 0;
    }
    w->override = true;
    count_wait(rt);
    if (w->paused_by_it) {
        rt_pause_workers(rt, false);
        w->paused_by_it = false;
    }
    rt_set_run_state(rt, NS_RS_RUNNING, "resumed by the operator outside its window (--force)");
    buf_addf(out, "resumed outside its window (--force): it dispatches until the window's next "
                  "change");
    return 1;
}

void rt_window_check_risk(struct rt *rt, double rate, double projected_finish)
{
    struct rt_window *w = rt->window;
    if (!w->open || w->override || w->risk_said || rt->state != NS_RS_RUNNING ||
        projected_finish <= 0 || projected_finish <= w->next_change)
        return;
    double until_close = w->next_change - ns_now();
    long long remaining = (long long)rt->nparts - (long long)rt_done_count(rt);
    long long doable = rate > 0 && until_close > 0 ? (long long)(rate * until_close) : 0;
    long long left = remaining - doable;
    if (left < 1)
        return;
    w->risk_said = true;
    const struct ns_window *sw = &rt->spec->window;
    char why[200];
    snprintf(why, sizeof why,
             "at risk: about %lld of %lld partitions will be left when the window closes at %s",
             left, remaining, sw->end);
    rt_set_run_state(rt, NS_RS_RUNNING, why);
    rt_event(rt, -1, 0, "window",
             "run %lld %s (at %.2f partitions/s; on_close: %s, it resumes %s)",
             (long long)rt->run_id, why, rate, sw->on_close, sw->start);
}

double rt_window_rate(const struct rt *rt, double rate)
{
    struct rt_window *w = rt->window;
    if (w->open || w->override) {
        if (rate > 0)
            w->open_rate = rate;
        return rate;
    }
    return w->open_rate > 0 ? w->open_rate : rate;
}

double rt_window_stretch(const struct rt *rt, double finish, double now)
{
    const struct rt_window *w = rt->window;
    if (finish <= now)
        return finish; /* unknown (0), or done */
    struct rt_window at = *w;
    look(&at, now); /* w may be a turn behind the clock */
    bool open = at.open;
    double change = at.next_change, t = now, work = finish - now;
    if (!open && w->override && now < w->next_change) {
        open = true; /* forced open until the opening, then open as usual */
        change = rt_next_local_time(w->end, change);
    }
    /* Work is done only while open: walk the openings until it fits (a
     * year of days at most: a projection, not a promise). */
    for (int n = 0; n < 800 && change > t; n++) {
        if (open && t + work <= change)
            return t + work;
        if (open)
            work -= change - t;
        t = change;
        open = !open;
        change = rt_next_local_time(open ? w->end : w->start, t);
    }
    return t + work;
}
