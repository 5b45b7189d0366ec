/*
 * guard.c - the run's two watchmen: the error budget (halt_when) and the SLA.
 *
 * Error budget: when failed partitions or error records reach their limit
 * (a count, or a percentage of partitions / of records processed), the run
 * halts: nothing new is dispatched, running attempts finish, an event says
 * which limit and by how much, on_halt fires. After the operator resumes,
 * the budget trips again only when the count grows past where it stood.
 *
 * SLA: the deadline is the earlier of `deadline` (next HH:MM local time
 * after the run first started - or, for a start less than 6 h after an
 * HH:MM, that one: a late start is missed at once) and started +
 * max_duration. Each tick the projected finish (now + ETA) is compared with
 * it, once there is evidence (5 % of the partitions finished, at least one,
 * or 10 % of the window run): past it for 5 % of the window (3 s to 10 min)
 * means at_risk, and on_sla_risk fires once per such episode; back on track
 * needs the projection 5 % of the window (at most 30 min) inside the
 * deadline. A deadline passed with work left means missed; at the end it is
 * met, or missed (finished late, or failed). docs/spec.md says the same.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "supervisor.h"
#include "nightshift/util.h"

/* Errors as a share of records need a sample before they mean anything. */
#define ERROR_SHARE_MIN_RECORDS 100
/* The SLA's evidence and hysteresis, as shares of its window (the first
 * start to the deadline); the header comment says why. */
#define SLA_EVIDENCE_SHARE 0.05 /* of the partitions finished */
#define SLA_EVIDENCE_TIME 0.10  /* of the window run */
#define SLA_HOLD 0.05
#define SLA_HOLD_MIN_S 3.0
#define SLA_HOLD_MAX_S 600.0
#define SLA_MARGIN 0.05
#define SLA_MARGIN_MAX_S 1800.0
#define SLA_LATE_START_S (6 * 3600.0)

static double limit_value(const struct ns_limit *l, double whole)
{
    return l->percent ? l->value / 100.0 * whole : l->value;
}

static void describe(char *out, size_t len, const char *what, int64_t count,
                     const struct ns_limit *l, double whole, const char *of)
{
    if (l->percent)
        snprintf(out, len, "%s: %lld = %.1f%% of %.0f %s, limit %g%%", what, (long long)count,
                 whole > 0 ? 100.0 * (double)count / whole : 0.0, whole, of, l->value);
    else
        snprintf(out, len, "%s: %lld, limit %g (over by %lld)", what, (long long)count, l->value,
                 (long long)(count - (int64_t)l->value));
}

void guard_check_budget(struct rt *rt)
{
    if (rt->state != NS_RS_RUNNING)
        return;
    const struct ns_spec *s = rt->spec;
    char reason[256] = "";
    int64_t failed = rt->counts[P_FAILED];
    if (s->halt_failed_partitions.set && failed > rt->halt_ack_failed) {
        double lim = limit_value(&s->halt_failed_partitions, (double)rt->nparts);
        if ((double)failed >= lim && failed > 0)
            describe(reason, sizeof reason, "failed partitions", failed, &s->halt_failed_partitions,
                     (double)rt->nparts, "partitions");
    }
    if (!reason[0] && s->halt_error_records.set && rt->error_records > rt->halt_ack_errors) {
        bool pct = s->halt_error_records.percent;
        double whole = (double)(rt->records_done > 0 ? rt->records_done : 0);
        double lim = limit_value(&s->halt_error_records, whole);
        if ((!pct || rt->records_done >= ERROR_SHARE_MIN_RECORDS) &&
            (double)rt->error_records >= lim && rt->error_records > 0)
            describe(reason, sizeof reason, "error records", rt->error_records,
                     &s->halt_error_records, whole, "records processed");
    }
    if (!reason[0])
        return;
    char full[400];
    snprintf(full, sizeof full,
             "error budget crossed (%s): no new dispatch until an operator "
             "resumes or stops the run",
             reason);
    rt_set_run_state(rt, NS_RS_HALTED, full);
    journal_event(rt->j, -1, 0, "halt", "%s", full);
    hooks_fire(rt, NS_HOOK_HALT);
}

/* The local HH:MM `days` days from the day of `t` (seconds since the
 * epoch), or 0 when hhmm cannot be read. */
static double local_time_on(const char *hhmm, double t, int days)
{
    int h = 0, m = 0;
    if (sscanf(hhmm, "%d:%d", &h, &m) != 2)
        return 0;
    return ns_local_clock_on(t, days, h, m, 0);
}

double rt_next_local_time(const char *hhmm, double after)
{
    for (int day = 0; day < 3; day++) {
        double at = local_time_on(hhmm, after, day);
        if (at > after)
            return at;
    }
    return 0;
}

/* The deadline HH:MM means for a run first started at `start`: the next
 * HH:MM after it - unless the start came less than SLA_LATE_START_S after
 * an HH:MM (a timer that fired late, a start that waited): then that HH:MM,
 * already passed, and *late is set, so the run is flagged at once instead
 * of being given until tomorrow. docs/spec.md says the same. */
static double deadline_of(const char *hhmm, double start, bool *late)
{
    *late = false;
    for (int day = -1; day <= 0; day++) {
        double at = local_time_on(hhmm, start, day);
        if (at > 0 && at <= start && start - at < SLA_LATE_START_S) {
            *late = true;
            return at;
        }
    }
    return rt_next_local_time(hhmm, start);
}

/* Records a new SLA state with the sentence "<before><time a><middle><time b>". */
static void set_sla(struct rt *rt, const char *state, const char *before, double a,
                    const char *middle, double b)
{
    if (rt->sla_state && strcmp(rt->sla_state, state) == 0)
        return;
    free(rt->sla_state);
    rt->sla_state = ns_xstrdup(state);
    journal_sla(rt->j, rt->sla_deadline, (double)rt->spec->sla_max_duration_ms / 1000.0, state);
    char da[32], db[32];
    time_t ta = (time_t)a, tb = (time_t)b;
    struct tm tma, tmb;
    localtime_r(&ta, &tma);
    localtime_r(&tb, &tmb);
    strftime(da, sizeof da, "%Y-%m-%d %H:%M:%S", &tma);
    strftime(db, sizeof db, "%Y-%m-%d %H:%M:%S", &tmb);
    rt_event(rt, -1, 0, "sla", "%s%s%s%s", before, da, middle, db);
}

void guard_init_sla(struct rt *rt)
{
    const struct ns_spec *s = rt->spec;
    if (!s->sla_deadline && !s->sla_max_duration_ms)
        return;
    /* Keep the deadline a resumed run was given when it first started. */
    double stored;
    runs_sla(&rt->st, rt->run_id, &stored, &rt->sla_state);
    double deadline = stored;
    bool late = false;
    if (deadline <= 0) {
        if (s->sla_deadline)
            deadline = deadline_of(s->sla_deadline, rt->run_started_at, &late);
        if (s->sla_max_duration_ms) {
            double d2 = rt->run_started_at + (double)s->sla_max_duration_ms / 1000.0;
            deadline = deadline > 0 ? fmin(deadline, d2) : d2;
        }
    }
    rt->sla_deadline = deadline;
    if (!rt->sla_state)
        rt->sla_state = ns_xstrdup("ok");
    journal_sla(rt->j, rt->sla_deadline, (double)s->sla_max_duration_ms / 1000.0, rt->sla_state);
    if (late && deadline == rt->sla_deadline)
        set_sla(rt, "missed", "SLA missed: the run started ", rt->run_started_at,
                ", after its deadline ", deadline);
}

/* Enough evidence for a projection: SLA_EVIDENCE_SHARE of the partitions
 * finished (at least one), or SLA_EVIDENCE_TIME of the SLA's window run by
 * this runtime. Before that a projection is a guess from a few seconds. */
static bool sla_has_evidence(const struct rt *rt, double now, double window)
{
    double need = fmax(1.0, ceil(SLA_EVIDENCE_SHARE * (double)rt->nparts));
    return (double)rt_done_count(rt) >= need || now - rt->start_wall >= SLA_EVIDENCE_TIME * window;
}

void guard_check_sla(struct rt *rt, double projected_finish, bool final)
{
    if (rt->sla_deadline <= 0)
        return;
    double now = ns_now();
    if (final) {
        if (rt->state == NS_RS_FAILED) /* the work was not done: no deadline was met */
            set_sla(rt, "missed", "SLA missed: the run failed at ", now, ", deadline ",
                    rt->sla_deadline);
        else if (now <= rt->sla_deadline)
            set_sla(rt, "met", "SLA met: finished ", now, ", deadline ", rt->sla_deadline);
        else
            set_sla(rt, "missed", "SLA missed: finished ", now, ", deadline was ",
                    rt->sla_deadline);
        return;
    }
    if (now > rt->sla_deadline) {
        set_sla(rt, "missed", "SLA missed: still running at ", now, ", deadline was ",
                rt->sla_deadline);
        return;
    }
    /* Hysteresis: risk must hold SLA_HOLD of the window before it is said,
     * and the all-clear needs the projection SLA_MARGIN of it inside the
     * deadline; each episode of risk fires on_sla_risk once. */
    double window = fmax(1.0, rt->sla_deadline - rt->run_started_at);
    double hold = fmin(SLA_HOLD_MAX_S, fmax(SLA_HOLD_MIN_S, SLA_HOLD * window));
    double margin = fmin(SLA_MARGIN_MAX_S, SLA_MARGIN * window);
    bool at_risk = rt->sla_state && strcmp(rt->sla_state, "at_risk") == 0;
    if (projected_finish <= 0 || !sla_has_evidence(rt, now, window)) {
        rt->sla_risk_since = 0;
        return;
    }
    if (projected_finish > rt->sla_deadline) {
        if (rt->sla_risk_since <= 0)
            rt->sla_risk_since = now;
        if (!at_risk && now - rt->sla_risk_since >= hold) {
            set_sla(rt, "at_risk", "SLA at risk: projected finish ", projected_finish,
                    " is after the deadline ", rt->sla_deadline);
            hooks_fire(rt, NS_HOOK_SLA_RISK);
        }
        return;
    }
    rt->sla_risk_since = 0;
    if (at_risk && projected_finish <= rt->sla_deadline - margin)
        set_sla(rt, "ok", "SLA back on track: projected finish ", projected_finish, ", deadline ",
                rt->sla_deadline);
}
