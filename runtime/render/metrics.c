/*
 * metrics.c - Prometheus text exposition of runs (metrics.h).
 *
 * Names follow Prometheus conventions: a nightshift_ prefix, base units
 * (seconds, ratios 0..1), _total on counters, timestamps as
 * _timestamp_seconds, an enum as one 0/1 series per value, durations as a
 * histogram (aggregatable, unlike quantiles). A figure that is unknown (no
 * ETA yet, no SLA) is left out rather than written as a made-up number.
 * Label values are escaped as the format requires (backslash, double quote,
 * newline).
 *
 * Labels: every sample carries nightshift_job (not job, which is the
 * scraper's own target label and would become exported_job). Series are
 * per job - the figures of the job's newest run - so a job keeps one fixed
 * set of series night after night; only nightshift_run_info carries the run
 * id, one new series per run. Counters restart at 0 with each run, which
 * Prometheus's rate() and increase() read as a counter reset.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/metrics.h"
#include "nightshift/pools.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"

static void label_value(struct ns_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_adds(b, "\\\\");
        else if (*s == '"')
            buf_adds(b, "\\\"");
        else if (*s == '\n')
            buf_adds(b, "\\n");
        else
            buf_addc(b, *s);
    }
}

/* One sample: NAME{nightshift_job="..",EXTRA} VALUE */
static void sample(struct ns_buf *b, const char *name, const struct ns_run_report *r,
                   const char *extra, double v)
{
    buf_addf(b, "%s{nightshift_job=\"", name);
    label_value(b, r->run.job);
    buf_addf(b, "\"%s%s} ", extra ? "," : "", extra ? extra : "");
    if (v == (double)(int64_t)v && v < 1e15 && v > -1e15)
        buf_addf(b, "%lld\n", (long long)v);
    else
        buf_addf(b, "%.15g\n", v); /* timestamps keep their milliseconds */
}

typedef void (*emit_fn)(struct ns_buf *b, const char *name, const struct ns_run_report *r);

/* The one per-run series: which run the job's figures are from. */
static void e_info(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    char l[40];
    snprintf(l, sizeof l, "run=\"%lld\"", (long long)r->run_id);
    sample(b, name, r, l, 1);
}

static void e_run_id(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, (double)r->run_id);
}

/* The run's state as a fixed enum (every state word, 1 for the current one),
 * so a state change moves a value instead of making a series. */
static void e_run_state(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    int now = query_run_state_of(r->run.state);
    for (int s = 0; s < NS_RS_COUNT; s++) {
        char l[40];
        snprintf(l, sizeof l, "state=\"%s\"", query_run_state_word((enum ns_run_state)s));
        sample(b, name, r, l, s == now);
    }
}

/* A finished run is driven by nobody, even while its runtime still waits
 * for end hooks (its own last write of the textfile says 0). */
static void e_up(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, r->run.alive && r->run.finished_at <= 0);
}

static void e_partitions(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    /* The exposition's order (paused before retry_wait), not the enum's. */
    static const enum ns_part_state s[] = {NS_PS_PENDING,    NS_PS_RUNNING,   NS_PS_PAUSED,
                                           NS_PS_RETRY_WAIT, NS_PS_SUCCEEDED, NS_PS_FAILED,
                                           NS_PS_SKIPPED};
    for (size_t i = 0; i < NS_ARRAY_LEN(s); i++) {
        char l[40];
        snprintf(l, sizeof l, "state=\"%s\"", query_part_state_word(s[i]));
        sample(b, name, r, l, (double)r->run.counts.n[s[i]]);
    }
}

static void e_planned(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, (double)r->run.counts.total);
}

static void e_attempts(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    /* In the exposition's order; lost has no figure of its own. */
    const struct {
        enum ns_attempt_outcome outcome;
        int64_t n;
    } s[] = {{NS_AO_SUCCEEDED, r->succeeded_attempts},
             {NS_AO_FAILED, r->failed_attempts},
             {NS_AO_TIMED_OUT, r->timed_out},
             {NS_AO_SIGNALLED, r->signalled},
             {NS_AO_KILLED, r->killed},
             {NS_AO_INTERRUPTED, r->interrupted}};
    for (size_t i = 0; i < NS_ARRAY_LEN(s); i++) {
        char l[40];
        snprintf(l, sizeof l, "outcome=\"%s\"", query_attempt_outcome_word(s[i].outcome));
        sample(b, name, r, l, (double)s[i].n);
    }
}

static void e_live(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    /* The read model's running count: a paused worker or one whose runtime
     * is gone does not run, although its attempt has not ended. */
    sample(b, name, r, NULL, (double)r->run.counts.n[NS_PS_RUNNING]);
}

static void e_stragglers(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, (double)r->run.stragglers); /* query_stragglers: query.h's rule */
}

static void e_retries(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, (double)r->retries);
}

static void e_errors(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, (double)r->run.error_records);
}

static void e_records(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, (double)r->run.records_done);
}

static void e_redone(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, "cause=\"crash\"", (double)r->redone_after_crash);
    sample(b, name, r, "cause=\"retry\"", (double)(r->redone - r->redone_after_crash));
}

static void e_throughput(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, r->run.finished_at > 0 ? 0 : r->run.throughput);
}

static void e_eta(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    double eta = report_eta_seconds(r);
    if (eta >= 0)
        sample(b, name, r, NULL, eta);
}

static void e_sla(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    static const char *const states[] = {"ok", "at_risk", "missed", "met"};
    if (!r->run.sla_state)
        return;
    for (size_t i = 0; i < NS_ARRAY_LEN(states); i++) {
        char l[40];
        snprintf(l, sizeof l, "state=\"%s\"", states[i]);
        sample(b, name, r, l, strcmp(r->run.sla_state, states[i]) == 0);
    }
}

static void e_deadline(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    if (r->run.sla_deadline > 0)
        sample(b, name, r, NULL, r->run.sla_deadline);
}

static void e_last_part_success(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    if (r->last_success_at > 0)
        sample(b, name, r, NULL, r->last_success_at);
}

static void e_last_run_success(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    if (r->job_last_success_at > 0)
        sample(b, name, r, NULL, r->job_last_success_at);
}

static void e_start(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    if (r->run.started_at > 0)
        sample(b, name, r, NULL, r->run.started_at);
}

static void e_end(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    if (r->run.finished_at > 0)
        sample(b, name, r, NULL, r->run.finished_at);
}

static void e_wall(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, r->wall_s);
}

static void e_success_ratio(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    const int64_t *n = r->run.counts.n;
    if (n[NS_PS_SUCCEEDED] + n[NS_PS_FAILED] > 0)
        sample(b, name, r, NULL,
               (double)n[NS_PS_SUCCEEDED] / (double)(n[NS_PS_SUCCEEDED] + n[NS_PS_FAILED]));
}

static void e_failure_ratio(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    int64_t ended = r->attempts - r->live_attempts;
    if (ended > 0)
        sample(b, name, r, NULL, (double)(ended - r->succeeded_attempts) / (double)ended);
}

static void e_queue(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    const int64_t *n = r->run.counts.n;
    sample(b, name, r, NULL, (double)(n[NS_PS_PENDING] + n[NS_PS_RETRY_WAIT]));
}

static void e_checkpoint_lag(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    sample(b, name, r, NULL, r->checkpoint_lag_s);
}

/* Used share of the halt_when budget: 1 means the run halts. */
static void e_burn(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    if (r->budget_failed > 0) {
        double lim = r->budget_failed_pct ? r->budget_failed / 100.0 * (double)r->run.counts.total
                                          : r->budget_failed;
        if (lim > 0)
            sample(b, name, r, "budget=\"failed_partitions\"",
                   (double)r->run.counts.n[NS_PS_FAILED] / lim);
    }
    if (r->budget_errors > 0) {
        double lim = r->budget_errors_pct
                         ? r->budget_errors / 100.0 *
                               (double)(r->run.records_done > 0 ? r->run.records_done : 0)
                         : r->budget_errors;
        if (lim > 0)
            sample(b, name, r, "budget=\"error_records\"", (double)r->run.error_records / lim);
    }
}

static void e_durations(struct ns_buf *b, const char *name, const struct ns_run_report *r)
{
    struct ns_buf n = NS_BUF_INIT;
    buf_addf(&n, "%s_bucket", name);
    for (size_t i = 0; i < NS_DURATION_NBUCKETS; i++) {
        char l[40];
        snprintf(l, sizeof l, "le=\"%g\"", ns_duration_buckets[i]);
        sample(b, n.data, r, l, (double)r->duration_le[i]);
    }
    sample(b, n.data, r, "le=\"+Inf\"", (double)r->ndurations);
    buf_reset(&n);
    buf_addf(&n, "%s_sum", name);
    sample(b, n.data, r, NULL, r->sum_s);
    buf_reset(&n);
    buf_addf(&n, "%s_count", name);
    sample(b, n.data, r, NULL, (double)r->ndurations);
    buf_release(&n);
}

static const struct family {
    const char *name, *type, *help;
    emit_fn emit;
} families[] = {
    {"nightshift_run_info", "gauge",
     "The job's newest run, its id as a label (always 1; the one series per run).", e_info},
    {"nightshift_run_id", "gauge", "The id of the job's newest run.", e_run_id},
    {"nightshift_run_state", "gauge", "The run's state (1 for the current state).", e_run_state},
    {"nightshift_runtime_up", "gauge", "1 while a runtime drives the unfinished run.", e_up},
    {"nightshift_partitions", "gauge", "Partitions by state.", e_partitions},
    {"nightshift_partitions_planned", "gauge", "Partitions in the run's plan.", e_planned},
    {"nightshift_attempts_total", "counter", "Ended attempts by outcome.", e_attempts},
    {"nightshift_attempts_running", "gauge", "Attempts running now.", e_live},
    {"nightshift_stragglers", "gauge",
     "Running partitions past 3x the median duration of the run's succeeded attempts.",
     e_stragglers},
    {"nightshift_retries_total", "counter", "Attempts beyond the first of each partition.",
     e_retries},
    {"nightshift_error_records", "gauge",
     "Error records (skipped input) kept; those past a checkpoint go when a partition resumes.",
     e_errors},
    {"nightshift_records_done_total", "counter", "Records processed, as the workers reported.",
     e_records},
    {"nightshift_records_redone_total", "counter",
     "Records processed again because an attempt resumed behind the progress reached (reprocess "
     "volume).",
     e_redone},
    {"nightshift_partitions_per_second", "gauge", "Partitions finished per second, recent.",
     e_throughput},
    {"nightshift_eta_seconds", "gauge", "Seconds until the run is projected to finish.", e_eta},
    {"nightshift_sla_state", "gauge", "SLA state of the run (1 for the current state).", e_sla},
    {"nightshift_sla_deadline_timestamp_seconds", "gauge", "When the run must have finished.",
     e_deadline},
    {"nightshift_last_partition_success_timestamp_seconds", "gauge",
     "When the run's latest partition succeeded.", e_last_part_success},
    {"nightshift_job_last_success_timestamp_seconds", "gauge",
     "When the latest successful run of this job finished.", e_last_run_success},
    {"nightshift_run_start_timestamp_seconds", "gauge", "When the run first started.", e_start},
    {"nightshift_run_end_timestamp_seconds", "gauge", "When the run finished.", e_end},
    {"nightshift_run_duration_seconds", "gauge", "Wall time from first start to finish (or now).",
     e_wall},
    {"nightshift_partition_success_ratio", "gauge",
     "Succeeded partitions over finished (succeeded + failed) ones.", e_success_ratio},
    {"nightshift_attempt_failure_ratio", "gauge",
     "Ended attempts that did not succeed over all ended attempts (task failure rate).",
     e_failure_ratio},
    {"nightshift_queue_depth", "gauge", "Partitions waiting to run (pending and retry_wait).",
     e_queue},
    {"nightshift_checkpoint_lag_seconds", "gauge",
     "Age of the oldest running partition's last checkpoint (or of its attempt's start).",
     e_checkpoint_lag},
    {"nightshift_error_budget_burn_ratio", "gauge",
     "Share of the halt_when error budget used (1: the run halts).", e_burn},
    {"nightshift_partition_duration_seconds", "histogram",
     "Time of finished partitions, summed over their attempts.", e_durations},
};

void metrics_render(const struct ns_run_report *const *reports, size_t n, struct ns_buf *out)
{
    for (size_t f = 0; f < NS_ARRAY_LEN(families); f++) {
        buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
                 families[f].name, families[f].type);
        for (size_t i = 0; i < n; i++)
            families[f].emit(out, families[f].name, reports[i]);
    }
}

int metrics_render_runs(struct ns_store *st, const int64_t *ids, size_t n, struct ns_buf *out,
                        char *err, size_t errlen)
{
    struct ns_run_report *r = ns_xcalloc(n ? n : 1, sizeof *r);
    const struct ns_run_report **p = ns_xcalloc(n ? n : 1, sizeof *p);
    int rc = 0;
    size_t loaded = 0;
    for (; loaded < n; loaded++) {
        p[loaded] = &r[loaded];
        if (report_load(st, ids[loaded], 0, 0, &r[loaded], err, errlen) != 0) {
            rc = -1;
            loaded++;
            break;
        }
    }
    if (rc == 0)
        metrics_render(p, n, out);
    for (size_t i = 0; i < loaded; i++)
        report_release(&r[i]);
    free(p);
    free(r);
    return rc;
}

int metrics_prepare_textfile(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        !slash ? ns_xstrdup(".") : ns_xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
    int rc = 0;
    if (ns_make_dirs(dir, 0755) != 0) {
        ns_errf(err, errlen, "metrics textfile %s: cannot create its directory %s: %s", path, dir,
                strerror(errno));
        rc = -1;
    } else if (access(dir, W_OK | X_OK) != 0) {
        ns_errf(err, errlen, "metrics textfile %s: cannot write in %s: %s", path, dir,
                strerror(errno));
        rc = -1;
    }
    free(dir);
    return rc;
}

int metrics_write_textfile(struct ns_store *st, int64_t run_id, const char *path, char *err,
                           size_t errlen)
{
    struct ns_buf b = NS_BUF_INIT;
    int rc = metrics_render_runs(st, &run_id, 1, &b, err, errlen);
    if (rc == 0)
        rc = ns_write_file_atomic(path, b.data, b.len, err, errlen);
    buf_release(&b);
    return rc;
}

/* The pools of the database: one series per pool and family, labelled
 * pool (not per job: a pool belongs to every run that uses it). */
int metrics_render_pools(struct ns_store *st, struct ns_buf *out, char *err, size_t errlen)
{
    struct ns_pool_row *rows;
    long n = pools_list(st, &rows, err, errlen);
    if (n < 0)
        return -1;
    static const struct {
        const char *name, *help;
    } fam[] = {
        {"nightshift_pool_slots", "Size of the shared pool (slots)."},
        {"nightshift_pool_slots_used", "Slots of the pool held by live attempts."},
        {"nightshift_pool_runs_waiting", "Runs whose next attempt waits for the pool."},
        {"nightshift_pool_start_rate_per_second",
         "The pool's start rate limit, in starts per second (absent without one)."},
    };
    for (size_t f = 0; f < NS_ARRAY_LEN(fam); f++) {
        buf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", fam[f].name, fam[f].help, fam[f].name);
        for (long i = 0; i < n; i++) {
            const struct ns_pool_row *r = &rows[i];
            double v = f == 0 ? r->slots : f == 1 ? r->used : f == 2 ? r->waiting : 0;
            if (f == 3) {
                if (r->rate_n <= 0)
                    continue;
                v = r->rate_n / r->rate_per;
            }
            buf_addf(out, "%s{pool=\"", fam[f].name);
            label_value(out, r->name);
            buf_addf(out, "\"} %.15g\n", v);
        }
    }
    pools_rows_free(rows, n);
    return 0;
}
