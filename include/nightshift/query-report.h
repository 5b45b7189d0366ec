/*
 * query-report.h - the reads behind the operator reports: the morning
 * summary, the metrics exposition, the events feed and gc's selection.
 *
 * Beside the read model (query.h): these are the questions only the reports
 * ask - percentiles, the slowest partitions, rework, error groups with an
 * example, audit rows, event pages, runs old enough to collect. Every
 * function reads on the caller's connection and opens no transaction of its
 * own beyond one statement at a time, so a reader never holds WAL back.
 * Texts marked "worker bytes" are raw: the caller escapes them.
 */
#ifndef NIGHTSHIFT_QUERY_REPORT_H
#define NIGHTSHIFT_QUERY_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/query.h"
#include "nightshift/util.h"
#include "nightshift/query-times.h"

struct ns_store;

#define NS_REPORT_SLOWEST 5

/* The upper bounds (seconds) of the partition-duration histogram's buckets,
 * ascending; the +Inf bucket is the count of finished partitions. The
 * metrics exposition and docs/cli.md list the same bounds. */
#define NS_DURATION_NBUCKETS 13
extern const double ns_duration_buckets[NS_DURATION_NBUCKETS];

struct ns_report_part {
    int64_t idx;
    char *key; /* worker-side bytes (from the plan) */
    char *state;
    int64_t attempts;
    double seconds; /* summed over the partition's attempts */
};

struct ns_report_group {
    char *signature;
    int64_t count;
    int64_t example_idx;
    char *example_key;     /* worker bytes */
    char *example_message; /* worker bytes */
};

struct ns_report_skip {
    int64_t idx;
    char *key;
    char *reason; /* the operator's words */
};

struct ns_report_failed {
    int64_t idx;
    char *key;
    int64_t attempts;
    char *message; /* worker bytes: the last failure */
};

struct ns_report_audit {
    int64_t id;
    double issued_at;
    char *user, *source, *verb, *args, *state, *result;
};

/* The figures of one run's morning report. All strings are owned by the
 * report; report_release frees them. Times are Unix seconds, 0 = none. */
struct ns_run_report {
    int64_t run_id;
    /* The run itself as the read model sees it (query.h): state, counts,
     * records, liveness, ETA and SLA, computed there once for every reader. */
    struct ns_run_summary run;
    double now;
    double wall_s; /* first start to finish (or now): query.h's elapsed_s */
    /* Every attempt and partition (no keys), the figures below are read
     * from: the HTML report draws them too. */
    struct ns_run_times times;
    /* attempts */
    int64_t attempts, retries, interrupted, timed_out, signalled, killed, failed_attempts;
    int64_t succeeded_attempts, live_attempts;
    /* rework: records done again because an attempt resumed behind the
     * progress its predecessor had reached */
    int64_t redone, redone_after_crash, resumed_attempts;
    /* partition durations (finished partitions, summed attempt time) */
    int64_t ndurations;
    double p50_s, p95_s, max_s, sum_s;
    /* cumulative: finished partitions that took at most ns_duration_buckets[i] */
    int64_t duration_le[NS_DURATION_NBUCKETS];
    struct ns_report_part slowest[NS_REPORT_SLOWEST];
    size_t nslowest;
    /* error records by signature, biggest first */
    struct ns_report_group *groups;
    size_t ngroups;
    int64_t nsignatures; /* distinct signatures in all */
    struct ns_report_failed *failed_parts;
    size_t nfailed_parts;
    struct ns_report_skip *skips;
    size_t nskips;
    struct ns_report_audit *audit;
    size_t naudit;
    int64_t naudit_total;
    /* checkpoint lag: the oldest checkpoint (or start) among running partitions */
    double checkpoint_lag_s;
    double last_success_at;     /* the last partition that succeeded */
    double job_last_success_at; /* the last run of this job that succeeded */
    /* error budget (halt_when): limit < 0 means none; percent of the
     * partitions (failed) or of the records processed (error records) */
    double budget_failed, budget_errors;
    bool budget_failed_pct, budget_errors_pct;
    /* Where, and what next: this host's name, the database (absolute), and
     * the command that retries or resumes the run (control_next_command;
     * next_what NULL and next_command NULL when there is none). */
    char host[256];
    char *db_path;
    const char *next_what;
    char *next_command;
};

/* Seconds until the run is projected to finish (the read model's ETA,
 * never negative); < 0 when there is none (finished, paused, no runtime). */
double report_eta_seconds(const struct ns_run_report *r);

/* Loads run_id's report: top error groups (at most top), failed partitions
 * and skipped ones (at most list_limit each), the audit trail (at most
 * list_limit rows, the newest). Returns 0, or -1 with a sentence in err (no
 * such run, database error). Release with report_release even on error. */
int report_load(struct ns_store *st, int64_t run_id, int top, int list_limit,
                struct ns_run_report *r, char *err, size_t errlen);
void report_release(struct ns_run_report *r);

/* ---- the night: every run of a period (`summary --since`) ---- */

/* One failure signature across the runs of a period: the partitions that
 * failed or wait to retry (NS_FAILURE_GROUP_STATES) with that last
 * signature, in whichever run. */
struct ns_night_group {
    char *signature; /* NULL: failed without one */
    int64_t partitions;
    int64_t *runs; /* the runs it touches, ascending */
    size_t nruns;
    int64_t example_run, example_idx; /* the first partition of the first run */
    char *example_key;                /* worker bytes */
    char *example_message;            /* worker bytes: its last failure */
};

/* The upstream runs one run waits for (deps.h: the spec's after: and run
 * --after, the run found as its runtime finds it). */
struct ns_night_after {
    int64_t *runs;
    size_t n;
};

/* The runs a wait for as "2,3" ("-" for none); the caller frees. */
char *report_night_after_list(const struct ns_night_after *a);

/* The morning report of a period: each run active in it (created, last
 * written or finished at or after since: the runs list's --since), oldest
 * first, as report_load reads it (without its own lists), and the failure
 * groups across them, biggest first. */
struct ns_night_report {
    double since, now;
    struct ns_run_report *runs;
    struct ns_night_after *after; /* one per run: the runs it waits for */
    size_t nruns;
    struct ns_night_group *groups;
    size_t ngroups;
    int64_t nsignatures;      /* distinct failure signatures in all (listed or not) */
    int64_t group_partitions; /* partitions in every group */
    char host[256];           /* this host, and the database (absolute) */
    char *db_path;
};

/* Loads the period from since (Unix seconds) to now, with at most top
 * failure groups. Returns 0, or -1 with a sentence in err (database error).
 * Release with report_night_release even on error. */
int report_night_load(struct ns_store *st, double since, int top, struct ns_night_report *n,
                      char *err, size_t errlen);
void report_night_release(struct ns_night_report *n);

/* What an unfinished run waits on, in words, from the read model's
 * figures (one phrase for the summary and the console): "no runtime drives
 * it" (and what its upstreams hold back), "paused: REASON", "halted:
 * REASON", "stopped: REASON", its waiting_for (a pool, or its upstreams:
 * "waiting for extract 2026-11-03 (failed, attempt 3/3)"), its window (the
 * running run's state reason), what blocks its executor (blocked_reason),
 * else what it is doing ("nothing: 2 running, 3 pending, 0 waiting to
 * retry"). NULL for a succeeded or failed run. Worker bytes may be in it:
 * the caller escapes. The caller frees. */
char *report_run_waits(const struct ns_run_summary *s);

/* One projected finish for a night's runs against the latest deadline. */
struct ns_night_finish {
    int64_t unfinished;  /* runs not yet succeeded or failed */
    double finish_at;    /* when the last of them is projected to end (the last end
                            when all have ended); 0 when not known: */
    int64_t last_run;    /* the run that ends last (the end of the critical path), or 0 */
    int64_t unknown_run; /* a run whose end cannot be projected, or 0: it does not move,
                            or it waits for a run that cannot end (unknown_upstream) */
    int64_t unknown_upstream; /* that run: failed (its dependants wait for a human's retry)
                                 or with no projection itself; 0: unknown_run's own */
    double deadline;     /* the latest SLA deadline among the runs (each the earlier of
                            its deadline and start + max_duration); 0: none has one */
    int64_t deadline_run;
};
/* The set ends when its last run ends, taken along its dependencies: a
 * run's end is its own projection (query.h's ETA; its end once ended), but
 * no earlier than the end of each run of the set it waits for; a run that
 * waits for a failed one, or for one with no projection, has none. Pure. */
void report_night_finish(const struct ns_night_report *n, struct ns_night_finish *out);

/* The finish as words, for the summary and the console: "projected T (run
 * 6, the last to end)", "all ended, the last at T", "not known: run 3 waits
 * for run 2 (failed)", "not known: run 5 does not move", then "; latest
 * deadline T (run 2): on time | late by D | passed" or "; no run has an
 * SLA". time_of formats a time (Unix seconds) into its buffer. */
void report_night_finish_words(const struct ns_night_report *n, const struct ns_night_finish *f,
                               char *(*time_of)(double t, char *out, size_t len),
                               struct ns_buf *out);

/* One row of the events feed. */
struct ns_report_event {
    int64_t id;
    double at;
    int64_t idx; /* -1: the run itself */
    int64_t attempt_id;
    char *kind;
    char *message; /* may hold worker bytes */
    /* The structured side (NULL / false when the event has none): a state
     * change's two states; the attempt's number within its partition, and
     * once it ended its outcome, exit code and signal. */
    char *from_state, *to_state;
    int64_t attempt; /* 0: no attempt */
    char *outcome;
    int64_t exit_code, signal;
    bool has_exit_code, has_signal;
};

/* Up to limit events of run_id with id > after, oldest first, into a fresh
 * array (*rows, caller frees with report_events_free). Returns the count, or
 * -1 with err. Keyset pagination: pass the last id back as after. */
long report_events(struct ns_store *st, int64_t run_id, int64_t after, int limit,
                   struct ns_report_event **rows, char *err, size_t errlen);
void report_events_free(struct ns_report_event *rows, long n);

/* gc's selection: finished runs (succeeded, failed, stopped) whose end is
 * older than cutoff (Unix seconds), with no live runtime. */
struct ns_gc_run {
    int64_t id;
    char *job;
    char *state;
    double finished_at;
    int64_t partitions, attempts, error_records;
};
/* The finished runs that no runtime drives, finished before cutoff (Unix
 * seconds), but for each job's keep_last newest finished runs (0: none
 * kept). Returns the count and a fresh array in *runs (free with
 * report_gc_free), or -1 with err. */
long report_gc_select(struct ns_store *st, double cutoff, int64_t keep_last,
                      struct ns_gc_run **runs, char *err, size_t errlen);
void report_gc_free(struct ns_gc_run *runs, long n);

/* The newest run of each job (at most limit), newest first, into a fresh
 * array (caller frees). Returns the count. */
long report_latest_per_job(struct ns_store *st, int limit, int64_t **ids);

/* Run names for shell completion: distinct job names, newest first. Returns
 * the count and a fresh array of strings (caller frees each and the array). */
long report_job_names(struct ns_store *st, int limit, char ***names);

#endif
