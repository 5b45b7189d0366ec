/*
 * runtime.h - drive one run of a job to its end.
 *
 * runtime_run finds or creates the run for (job, parameters), takes its lock,
 * reconciles what a dead predecessor left behind, then dispatches partitions
 * to worker processes in one poll loop until nothing is left to do or an
 * operator stops it. It never prints: what happens is reported through the
 * callbacks, and the command file decides what the user sees.
 */
#ifndef NIGHTSHIFT_RUNTIME_H
#define NIGHTSHIFT_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "nightshift/plan.h"
#include "nightshift/query.h"
#include "nightshift/spec.h"

struct ns_executor_ops; /* executor.h */

/* A snapshot of a run's counters, for progress lines. */
struct ns_counts {
    int64_t total, pending, running, retry_wait, paused, succeeded, failed, skipped;
    int64_t records_done, error_records;
    double elapsed_s;  /* since the run first started (status's elapsed) */
    double rate;       /* partitions per second, recent */
    double eta_s;      /* < 0 when unknown */
    const char *state; /* run state word */
};

struct ns_runtime_opts {
    bool rerun;        /* start a new run even if an unfinished one exists */
    bool force;        /* accept a changed spec (not a changed plan) on resume */
    bool retry_failed; /* on resume, give failed partitions a fresh budget */
    const char *metrics_textfile; /* Prometheus textfile (overrides metrics.textfile) */
    /* A line about something that happened (partition finished, retry,
     * state change), already made safe for a terminal. */
    void (*on_event)(void *ctx, const char *line);
    /* Called about 5 times a second with fresh counters. */
    void (*on_tick)(void *ctx, const struct ns_counts *c);
    /* Called once the runtime holds the run's lock, before any work. */
    void (*on_started)(void *ctx, int64_t run_id);
    const char *runtime_log; /* --detach: where the runtime's output goes */
    int64_t after_run;       /* run --after RUN: wait for that run to succeed (0: none) */
    const char *order;       /* run --order oldest|newest (NULL: the spec's order:) */
    int only;                /* run --only (enum ns_only, catchup.h): a new run skips what is not due */
    /* The -p parameters the plan was made with: a new run streams its plan
     * into the partitions table (plan_stream) instead of holding it. */
    char *const *given;
    size_t ngiven;
    /* Where attempts run; NULL: the backend the spec names (executor_find).
     * For tests: a fake backend that runs no processes. */
    const struct ns_executor_ops *executor;
    void *ctx;
};

struct ns_run_result {
    int64_t run_id;
    bool resumed;
    bool already_succeeded;      /* nothing to do: the run had succeeded before */
    char state[16];              /* final run state: its word */
    enum ns_run_state run_state; /* and the state itself */
    struct ns_counts counts;
    /* The command line that resumes the run (control_resume_command), or
     * retries its failures when it failed; NULL when it succeeded or never
     * got a run. Heap: the caller frees it, also after runtime_run's -1. */
    char *next_command;
};

/* Runs spec/plan against the database at db_path. plan may be a summary
 * from plan_stream (parts NULL): the runtime needs only its length, hash
 * and run parameters, and reads partitions back from the database. Returns 0 when the run
 * reached a final state (its state says which), or -1 with a sentence in err
 * (database error, lock held by a live runtime, changed spec, ...);
 * *refused is set when the failure is the user's to fix (changed spec,
 * another runtime) rather than an operational error. */
int runtime_run(const struct ns_spec *spec, const struct ns_plan *plan, const char *db_path,
                const struct ns_runtime_opts *opts, struct ns_run_result *result, bool *refused,
                char *err, size_t errlen);

/* Retry delay in ms before attempt number `next_attempt` (2 = first retry):
 * backoff * factor^(next_attempt-2), capped at max_backoff, then spread by
 * +-jitter using u in [0,1). Pure, for tests. */
int64_t runtime_backoff_ms(const struct ns_spec *spec, int next_attempt, double u);

#endif
