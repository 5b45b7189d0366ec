/*
 * query.h - the read model: every question a reader asks of the store, with
 * typed answers.
 *
 * The CLI commands (cmd-*.c), the console views (tui/view-*.c), the morning
 * report and the metrics format what these functions return; they hold no
 * SQL. Each figure is computed in exactly one place here, so two readers
 * asking at the same moment can never disagree:
 *   - liveness: query_runtime_alive() (the run lock probe, never a
 *     heartbeat age);
 *   - counts by state: struct ns_state_counts, from the runtime's counters;
 *   - ETA and projected finish: query_project() computes it (the runtime
 *     calls it for its SLA watch and stores the result), query_has_eta()
 *     says when a reader may show it (a running run with a live runtime);
 *   - failure groups: NS_FAILURE_GROUP_STATES, used by status, the console
 *     and `retry|skip --signature` (runtime/apply.c).
 *
 * Readers never hold a read transaction between calls: each function runs
 * its statements and resets them. Strings in results are the stored bytes
 * (worker text is NOT escaped here: the caller escapes for its output).
 * Results with heap strings have a *_release function.
 */
#ifndef NIGHTSHIFT_QUERY_H
#define NIGHTSHIFT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/store.h"

/* Partition states, in display order (DESIGN.md's vocabulary). */
#define NS_PART_STATES(X)                                                                          \
    X(PENDING, "pending")                                                                          \
    X(RUNNING, "running")                                                                          \
    X(RETRY_WAIT, "retry_wait")                                                                    \
    X(PAUSED, "paused")                                                                            \
    X(SUCCEEDED, "succeeded")                                                                      \
    X(FAILED, "failed")                                                                            \
    X(SKIPPED, "skipped")

#define NS_PS_ENUM(e, w) NS_PS_##e,
enum ns_part_state { NS_PART_STATES(NS_PS_ENUM) NS_PS_COUNT };
#undef NS_PS_ENUM

/* The word of a partition state, and back (-1 for an unknown word). */
const char *query_part_state_word(enum ns_part_state s);
int query_part_state_of(const char *word);

/* The states a failure group counts: partitions whose latest attempt
 * failed and that still wait for something - exhausted (failed) or about to
 * try again (retry_wait). One definition, spliced into SQL as
 * "state IN (" NS_FAILURE_GROUP_STATES ")" by status, the console's
 * failures view and drill-down, and `retry|skip --signature`. */
#define NS_FAILURE_GROUP_STATES "'failed', 'retry_wait'"

/* The same definition for code holding a partition in memory (the
 * runtime applying `retry|skip --signature`): true for the states above. */
bool query_in_failure_group(const char *state_word);

/* Partition counts by state; all of them disjoint, summing to the total. */
struct ns_state_counts {
    int64_t n[NS_PS_COUNT];
    int64_t total;
};

/* succeeded + failed + skipped. */
int64_t query_done(const struct ns_state_counts *c);

/* ---- liveness ---- */

/* True if a runtime holds run_id's lock: the one test of "is a runtime
 * driving this run" for every reader (status, console, control). */
bool query_runtime_alive(const struct ns_store *st, int64_t run_id);

/* ---- ETA and projection ---- */

/* What the projection is computed from (the runtime's live figures). */
struct ns_projection_in {
    int64_t total;    /* partitions */
    int64_t done;     /* succeeded + failed + skipped */
    double partial;   /* sum over live attempts of their reported fraction, 0..1 each */
    double rate;      /* recent partitions per second, 0 if none finished lately */
    double elapsed_s; /* since this runtime started */
    bool dispatching; /* the run is running (not paused, halted, stopping or final) */
};

/* The projected finish time (Unix seconds) at `now`, or 0 when there is
 * none: a run that does not dispatch has no projection; otherwise from the
 * recent rate if partitions are finishing, else from the share of work
 * done so far (partitions plus the progress of running ones) - so a run of
 * a few long partitions gets a projection before the first one ends. This
 * is the runtime's SLA projection and the one every reader shows. Pure. */
double query_project(const struct ns_projection_in *in, double now);

/* True when a reader may show an ETA and a finish time for a run in state
 * `state`: it is running and a runtime drives it. A paused, halted,
 * stopping or final run, or one whose runtime is gone, has none. */
bool query_has_eta(const char *state, bool alive);

/* ---- the run summary ---- */

struct ns_run_summary {
    int64_t id;
    char *job, *params, *params_json; /* params: canonical "name=value\n" lines */
    char *state, *state_reason;       /* state_reason may be NULL */
    char *spec_path, *runtime_log;    /* runtime_log may be NULL */
    char *sla_state;                  /* NULL when the run has no SLA */
    int64_t concurrency;
    struct ns_state_counts counts;
    int64_t records_done, records_total, error_records;
    double throughput;  /* partitions/s, recent (the runtime's figure) */
    double record_rate; /* records/s over this runtime's own records */
    double created_at, started_at, finished_at, updated_at; /* 0 when NULL */
    double sla_deadline, sla_max_duration;                  /* 0 when NULL */
    int64_t runtime_pid;                                    /* 0 when NULL */
    double heartbeat_at;                                    /* 0 when NULL */
    /* Derived, each by the one function above. */
    bool alive;       /* query_runtime_alive() */
    bool final;       /* succeeded, failed or stopped */
    bool has_eta;     /* query_has_eta(); then: */
    double eta_s;     /* finish_at - now (not clamped) */
    double finish_at; /* the runtime's projected finish */
    double elapsed_s; /* (finished_at or now) - started_at; 0 before the start */
};

/* Reads run run_id at time now. Returns 1 and fills *out, 0 when there is
 * no such run, -1 on a database error (err filled). The caller releases
 * *out with query_run_summary_release (also after 0 or -1). */
int query_run_summary(struct ns_store *st, int64_t run_id, double now, struct ns_run_summary *out,
                      char *err, size_t errlen);
void query_run_summary_release(struct ns_run_summary *s);

/* True for the final run states (succeeded, failed, stopped). */
bool query_run_final(const char *state);

/* records/s of one runtime: the records it did itself (records_now minus
 * those done when it started) over its own elapsed time; 0 before half a
 * second. Pure; the runtime stores it as runs.record_rate. */
double query_record_rate(int64_t records_now, int64_t records_at_start, double elapsed_s);

/* ---- failure groups ---- */

struct ns_failure_group {
    char *signature; /* NULL: failed without a signature (not retryable by group) */
    int64_t failed, retry_wait;
    int64_t count;     /* failed + retry_wait */
    int64_t first_idx; /* the lowest partition index in the group */
    char *example;     /* last_message of first_idx (worker bytes), may be NULL */
};

struct ns_failure_groups {
    struct ns_failure_group *g;
    size_t n;
    int64_t partitions; /* sum of counts over every group (not only the listed) */
};

/* The failure groups of run_id, largest first (ties by signature), at most
 * limit of them (limit <= 0: all). Returns 0, or -1 on a database error.
 * The caller releases *out with query_failure_groups_release. */
int query_failure_groups(struct ns_store *st, int64_t run_id, int limit,
                         struct ns_failure_groups *out, char *err, size_t errlen);
void query_failure_groups_release(struct ns_failure_groups *g);

/* How many partitions of run_id the failure group `signature` holds now
 * (what `retry|skip --signature` would touch). -1 on a database error. */
int64_t query_failure_group_count(struct ns_store *st, int64_t run_id, const char *signature);

#endif
