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
 *     and `retry|skip --signature` (runtime/supervisor/apply.c).
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

/* Run states (runs.state, docs/json.md's "state" of a run). running,
 * paused and halted are live states a runtime may leave; stopping is on the
 * way to stopped; stopped, succeeded and failed are final. */
#define NS_RUN_STATES(X)                                                                           \
    X(RUNNING, "running")                                                                          \
    X(PAUSED, "paused")                                                                            \
    X(HALTED, "halted")                                                                            \
    X(STOPPING, "stopping")                                                                        \
    X(STOPPED, "stopped")                                                                          \
    X(SUCCEEDED, "succeeded")                                                                      \
    X(FAILED, "failed")

#define NS_RS_ENUM(e, w) NS_RS_##e,
enum ns_run_state { NS_RUN_STATES(NS_RS_ENUM) NS_RS_COUNT };
#undef NS_RS_ENUM

/* The word of a run state ("?" out of range), and back (-1 for an unknown
 * word or NULL). */
const char *query_run_state_word(enum ns_run_state s);
int query_run_state_of(const char *word);

/* True for the final run states (succeeded, failed, stopped); false for
 * -1 (an unknown word). */
bool query_run_state_final(int s);

/* How an ended attempt ended (attempts.outcome; NULL in the store while it
 * is live). Only succeeded is a success; interrupted is never charged to
 * the partition's attempt budget. */
#define NS_ATTEMPT_OUTCOMES(X)                                                                     \
    X(SUCCEEDED, "succeeded")                                                                      \
    X(FAILED, "failed")                                                                            \
    X(SIGNALLED, "signalled")                                                                      \
    X(TIMED_OUT, "timed_out")                                                                      \
    X(KILLED, "killed")                                                                            \
    X(INTERRUPTED, "interrupted")                                                                  \
    X(LOST, "lost")

#define NS_AO_ENUM(e, w) NS_AO_##e,
enum ns_attempt_outcome { NS_ATTEMPT_OUTCOMES(NS_AO_ENUM) NS_AO_COUNT };
#undef NS_AO_ENUM

/* The word of an attempt outcome ("?" out of range), and back (-1 for an
 * unknown word or NULL). */
const char *query_attempt_outcome_word(enum ns_attempt_outcome o);
int query_attempt_outcome_of(const char *word);

/* The states a failure group counts: partitions whose latest attempt
 * failed and that still wait for something - exhausted (failed) or about to
 * try again (retry_wait). One definition, spliced into SQL as
 * "state IN (" NS_FAILURE_GROUP_STATES ")" by status, the console's
 * failures view and drill-down, and `retry|skip --signature`. */
#define NS_FAILURE_GROUP_STATES "'failed', 'retry_wait'"

/* The same definition for code holding a partition in memory (the
 * runtime applying `retry|skip --signature`): true for the states above. */
bool query_in_failure_group(const char *state_word);
/* The same for a state already parsed (enum ns_part_state, or -1). */
bool query_part_in_failure_group(int part_state);

/* Partition counts by state; all of them disjoint, summing to the total.
 * queued is not a state: of the pending partitions, those whose attempt is
 * already in a queueing executor's queue (submitted to Slurm, not running
 * yet); n[NS_PS_RUNNING] counts only attempts that really run. */
struct ns_state_counts {
    int64_t n[NS_PS_COUNT];
    int64_t total;
    int64_t queued; /* <= n[NS_PS_PENDING] */
};

/* succeeded + failed + skipped. */
int64_t query_done(const struct ns_state_counts *c);

/* SQLite's PRAGMA data_version: changes when another connection commits
 * (the console re-reads only then). -1 on error. */
int64_t query_data_version(struct ns_store *st);

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
    int run_state;                    /* state parsed: enum ns_run_state, -1 unknown */
    char *spec_path, *runtime_log;    /* runtime_log may be NULL */
    char *sla_state;                  /* NULL when the run has no SLA */
    char *executor;                   /* where its attempts run: local, slurm */
    char *blocked_reason;             /* why nothing of it can run, as its executor says
                                         ("node n1 drained: disk"); NULL: nothing blocks it,
                                         or no runtime drives it */
    char *waiting_for;                /* what its next attempt waits for ("waiting for pool
                                         wh (4/4 in use) for 3s": pools_run_waiting), else
                                         what its upstreams hold back ("waiting for extract
                                         2026-11-03 (failed, attempt 3/3)": deps_run_waiting);
                                         NULL: nothing (a pool: or no runtime drives it) */
    char *exit_note; /* why its runtime stopped, in its last words
                        (store_exit_note_read), when no runtime drives the
                        unfinished run and it left one; else NULL */
    int64_t concurrency;
    struct ns_state_counts counts;
    int64_t records_done, records_total, error_records;
    double throughput;  /* partitions/s, recent (the runtime's figure); 0 unless it moves */
    double pool_wait_s, window_wait_s; /* waited for pool slots, outside its window */
    double record_rate; /* records/s over this runtime's own records; 0 unless it moves */
    double created_at, started_at, finished_at, updated_at; /* 0 when NULL */
    double sla_deadline, sla_max_duration;                  /* 0 when NULL */
    int64_t runtime_pid;                                    /* 0 when NULL */
    double heartbeat_at;                                    /* 0 when NULL */
    int64_t commands_pending; /* operator commands no runtime has answered yet */
    double straggler_after;   /* query_straggler_after as the runtime stored it; 0: not yet */
    /* Derived, each by the one function above. */
    bool alive;       /* query_runtime_alive() */
    bool final;       /* succeeded, failed or stopped */
    bool has_eta;     /* query_has_eta(); then: */
    double eta_s;     /* finish_at - now (not clamped) */
    double finish_at; /* the runtime's projected finish */
    double elapsed_s; /* (finished_at, stalled_at or now) - started_at; 0 before the start */
    double stalled_at; /* when an unfinished run stopped moving: paused or halted (its
                          change of state), its runtime gone (the last heartbeat, or
                          the pause before it); 0 while it moves and once final */
    int64_t stragglers; /* query_stragglers() now: 0 unless a runtime drives the run */
};

/* The ETA of a summary at another moment than its read (a screen redrawn
 * every second): finish_at - now when it has one, else -1. And its elapsed
 * time then. Pure; the summary's own eta_s and elapsed_s are these at its
 * read time. */
double query_eta_at(const struct ns_run_summary *s, double now);
double query_elapsed_at(const struct ns_run_summary *s, double now);

/* Reads run run_id at time now, with the figures of a run that does not
 * move (paused, halted, stopping, final, or no runtime) made true: no
 * throughput or record rate, no ETA; with no runtime also nothing running
 * or paused (counted pending: the next runtime restarts them) and an SLA
 * state of "ok" turned "at_risk" once the work left (at the runtime's last
 * projection) cannot be done by the deadline from now, "missed" past it;
 * elapsed time stops at stalled_at. docs/cli.md ("status") says the same.
 * Returns 1 and fills *out, 0 when there is
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

/* ---- stragglers ----
 * A straggler is a running partition whose live attempt has run more than
 * NS_STRAGGLER_FACTOR times the median duration of the run's succeeded
 * attempts, once at least NS_STRAGGLER_MIN_FINISHED of them succeeded, and
 * never before NS_STRAGGLER_MIN_S (docs/console.md, "Stragglers"). The
 * runtime works the threshold out and stores it (runs.straggler_after);
 * it, status, metrics and the console all test a partition with
 * query_is_straggler. */
#define NS_STRAGGLER_FACTOR 3.0
#define NS_STRAGGLER_MIN_FINISHED 5
#define NS_STRAGGLER_MIN_S 1.0

/* The threshold from the median succeeded duration and how many succeeded:
 * 0 (none yet) below NS_STRAGGLER_MIN_FINISHED. Pure. */
double query_straggler_after(double median_s, int64_t finished);
/* True when a partition in part_state (enum ns_part_state) whose live
 * attempt started at live_started_at (0: none) is a straggler at now under
 * the run's threshold straggler_after (0: none yet). Pure. */
bool query_is_straggler(double straggler_after, int part_state, double live_started_at,
                        double now);

struct ns_straggler {
    int64_t idx;
    char *key; /* worker-given bytes: escape before display */
    double started_at, running_s;
};
/* The stragglers of run_id at now under straggler_after, the longest
 * running first, at most max of them into out (max may be 0); returns how
 * many there are in all (over the live attempts only), -1 on a database
 * error. Release the rows with query_stragglers_release(out, n filled). */
int64_t query_stragglers(struct ns_store *st, int64_t run_id, double straggler_after, double now,
                         struct ns_straggler *out, size_t max);
void query_stragglers_release(struct ns_straggler *rows, size_t n);

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

/* ---- pages ----
 * Every list is read by keyset: the caller passes the row it has (anchor,
 * NULL for an end) and a direction, as the console's list cursor asks:
 *   dir > 0: rows after anchor (from the first row if anchor is NULL);
 *   dir < 0: the rows just before anchor (the last rows if NULL);
 *   dir == 0: rows from anchor inclusive.
 * Rows come back in display order, at most limit of them; the return is
 * their count, or -1 on a database error (err filled). Rows hold heap
 * strings: release each with its *_release. */

/* Runs, newest first, whose job or parameters contain text ("" = all);
 * each row a full summary (liveness and ETA included). */
int query_runs(struct ns_store *st, const char *text, const struct ns_run_summary *anchor, int dir,
               int limit, double now, struct ns_run_summary *rows, char *err, size_t errlen);

/* Which runs a list shows (status's filters); zero values filter nothing. */
struct ns_run_filter {
    const char *text;  /* job or parameters contain it */
    const char *job;   /* exactly this job */
    unsigned states;   /* bit 1 << enum ns_run_state per state wanted; 0: any */
    double since;      /* active since (Unix seconds): created, last written or
                          finished at or after it */
};
/* query_runs with a filter: runs that pass all of f's tests. */
int query_runs_filtered(struct ns_store *st, const struct ns_run_filter *f,
                        const struct ns_run_summary *anchor, int dir, int limit, double now,
                        struct ns_run_summary *rows, char *err, size_t errlen);

/* Which partitions a page shows. */
#define NS_PART_FILTERS(X)                                                                         \
    X(ALL, "all", "1")                                                                             \
    X(RUNNING, "running", "state = 'running'")                                                     \
    X(FAILED, "failed", "state = 'failed'")                                                        \
    X(WAITING, "waiting", "state IN ('pending', 'retry_wait', 'paused')")                          \
    X(UNFINISHED, "unfinished", "state NOT IN ('pending', 'succeeded')")                           \
    X(GROUP, "failure group", "state IN (" NS_FAILURE_GROUP_STATES ") AND last_signature = ?6")
#define NS_PF_ENUM(e, name, sql) NS_PF_##e,
enum ns_part_filter { NS_PART_FILTERS(NS_PF_ENUM) NS_PF_COUNT };
#undef NS_PF_ENUM
const char *query_part_filter_name(enum ns_part_filter f);

/* Orders of a partition page: one per column of the console's table, each
 * ascending or descending (ns_part_select.desc), ties broken by idx. Index
 * and state ride on an index; every other key has none, so SQLite sorts
 * the rows of the filter - cheap for running/failed/waiting, a scan for
 * "all". rate, elapsed and eta depend on the clock: ns_part_select.now. */
#define NS_PART_SORTS(X)                                                                           \
    X(IDX, "index")                                                                                \
    X(KEY, "key")                                                                                  \
    X(STATE, "state")                                                                              \
    X(PROGRESS, "progress")                                                                        \
    X(RATE, "rec/s")                                                                               \
    X(ATTEMPTS, "attempts")                                                                        \
    X(ELAPSED, "elapsed")                                                                          \
    X(ETA, "eta")                                                                                  \
    X(ERRORS, "errors")                                                                            \
    X(MESSAGE, "message")
#define NS_SORT_ENUM(e, name) NS_SORT_##e,
enum ns_part_sort { NS_PART_SORTS(NS_SORT_ENUM) NS_SORT_COUNT };
#undef NS_SORT_ENUM
const char *query_part_sort_name(enum ns_part_sort s);

/* A filter or search over partitions, parsed from what an operator types:
 * terms combined with AND, each `FIELD OP VALUE` or a bare word (key or
 * last message contains it), `-` or `!` in front negates one. Fields:
 * state (: = != ~), key (: = != ~), err (~ : = contain in the last
 * message or signature, != does not), attempts, errors, idx, progress (%)
 * with = : != > < >= <=. Text matches ignore ASCII case; a value may be
 * "quoted" to hold spaces. */
#define NS_PART_EXPR_MAX 12
enum ns_part_field {
    NS_PFIELD_ANY,
    NS_PFIELD_STATE,
    NS_PFIELD_KEY,
    NS_PFIELD_ERR,
    NS_PFIELD_ATTEMPTS,
    NS_PFIELD_ERRORS,
    NS_PFIELD_IDX,
    NS_PFIELD_PROGRESS,
};
enum ns_part_op { NS_POP_EQ, NS_POP_NE, NS_POP_HAS, NS_POP_GT, NS_POP_LT, NS_POP_GE, NS_POP_LE };
struct ns_part_term {
    enum ns_part_field field;
    enum ns_part_op op;
    bool neg;
    char text[128]; /* the value as typed (text fields) */
    double num;     /* numeric fields */
};
struct ns_part_expr {
    int n; /* 0: matches every partition */
    struct ns_part_term t[NS_PART_EXPR_MAX];
};

/* Parses text into *e. Returns 0, or -1 with a sentence in err ("unknown
 * field \"foo\" (state, key, err, attempts, errors, idx, progress)"). */
int query_part_expr_parse(const char *text, struct ns_part_expr *e, char *err, size_t errlen);

struct ns_part_select {
    int64_t run_id;
    enum ns_part_filter filter;
    const char *state;     /* one state word instead of the filter, or NULL */
    const char *signature; /* NS_PF_GROUP: the failure group */
    const char *text;      /* key or last message contains it; NULL or "" = any */
    const struct ns_part_expr *where;  /* and every term of it (NULL: no more) */
    const struct ns_part_expr *search; /* rows matching it come with hit set */
    bool only_hits;                    /* keep only the rows matching search */
    enum ns_part_sort sort;
    bool desc;  /* the sort descending */
    double now; /* the clock of the rate, elapsed and eta sort keys */
};

struct ns_part_row {
    int64_t idx;
    char *key, *state, *params_json;
    char *last_message, *last_signature, *skip_reason; /* may be NULL */
    char *checkpoint;                                  /* bytes, NULL if none */
    size_t checkpoint_len;
    int64_t progress, total; /* total < 0: not reported */
    int64_t attempts;        /* started within the current budget */
    int64_t attempts_total;  /* started ever (retries by an operator included) */
    int64_t max_attempts;    /* the budget */
    int64_t errors, checkpoint_progress;
    double started_at, finished_at, checkpoint_at, next_attempt_at, updated_at; /* 0: NULL */
    double attempts_time;   /* the sum of every ended attempt's duration */
    double live_started_at; /* when the live attempt started; 0 if none */
    double live_until;      /* when it stopped moving: paused, or its run's runtime gone
                               (the last heartbeat); 0 while it moves. Rows of a run no
                               runtime drives say pending, not running or paused. */
    double pfrac;           /* progress / total */
    double sort_num;        /* the row's sort key (query_partitions), number */
    char *sort_text;        /* or text, for the key, state and message orders */
    bool hit;               /* matches the selection's search */
};

int query_partitions(struct ns_store *st, const struct ns_part_select *sel,
                     const struct ns_part_row *anchor, int dir, int limit, struct ns_part_row *rows,
                     char *err, size_t errlen);
/* Attempts used of those allowed so far: every attempt started, of the
 * earlier budgets' attempts plus this budget ("4/6" after a retry of a
 * partition that had used its 3). Time spent: the ended attempts plus the
 * live one up to now (without attempt durations: first start to finish).
 * Pure. */
int64_t query_attempts_allowed(const struct ns_part_row *r);
/* The one "attempt i/n" every reader prints (status, the console's ATT
 * column and header): i = attempts started, so the number of the latest
 * (NIGHTSHIFT_ATTEMPT, the attempts list), interrupted ones included; n =
 * query_attempts_allowed. Writes "i/n" into buf; returns buf. Pure. */
const char *query_attempt_label(const struct ns_part_row *r, char *buf, size_t len);
/* A partition's records/s over its live attempt (0 when none is live, it
 * does not move - live_until - or it reported nothing), and the ETA of a running one with a reported total
 * from that rate (-1 when unknown). Pure. */
double query_part_rate(const struct ns_part_row *r, double now);
double query_part_eta(const struct ns_part_row *r, double now);
double query_attempts_seconds(const struct ns_part_row *r, double now);

/* One partition: 1 found, 0 none, -1 database error. */
int query_partition(struct ns_store *st, int64_t run_id, int64_t idx, struct ns_part_row *out,
                    char *err, size_t errlen);
void query_part_row_release(struct ns_part_row *r);
/* Number of partitions a selection holds (what an action on it touches). */
int64_t query_partition_count(struct ns_store *st, const struct ns_part_select *sel);
/* The indexes of up to max partitions of a selection, ascending, into
 * *out (the caller frees). Returns the count (more may exist when it is
 * max), or -1 on a database error. */
int64_t query_partition_indexes(struct ns_store *st, const struct ns_part_select *sel, int64_t max,
                                int64_t **out);
/* The lowest and highest partition index of run_id; *lo > *hi when none. */
void query_partition_range(struct ns_store *st, int64_t run_id, int64_t *lo, int64_t *hi);
/* The states of partitions [from, from + n) as enum ns_part_state + 1
 * (0 where there is no partition), one primary-key range. */
void query_partition_states(struct ns_store *st, int64_t run_id, int64_t from, int64_t n,
                            unsigned char *cells);
/* The partition whose key is key (or -1): for `PART` arguments. */
int64_t query_partition_by_key(struct ns_store *st, int64_t run_id, const char *key);

/* ---- attempts ---- */

struct ns_attempt_row {
    int64_t id, idx, n, pid, exit_code, signal;
    int64_t log_bytes; /* output written to its log; -1 unknown */
    char *key;         /* its partition's key (worker-side bytes) */
    bool has_exit, has_signal;
    double started_at, ended_at, duration; /* ended_at 0 while live; duration < 0 unknown */
    char *outcome;                         /* NULL while live */
    char *log_path; /* as stored (relative to the data directory or absolute) */
    char *message;  /* may be NULL */
    char *executor; /* the backend that ran it: local, slurm */
    char *locator;  /* the backend's handle (pid and start time, a job id); may be NULL */
    char *label;    /* the backend's words for it ("pid 4121", "job 881_4"); may be NULL */
};

/* The attempts of one partition, newest first, at most limit. Returns the
 * count or -1 (err filled). */
int query_attempts(struct ns_store *st, int64_t run_id, int64_t idx, int limit,
                   struct ns_attempt_row *rows, char *err, size_t errlen);
/* Attempt number n of a partition (n == 0: its latest). 1 found, 0 none, -1 error. */
int query_attempt(struct ns_store *st, int64_t run_id, int64_t idx, int64_t n,
                  struct ns_attempt_row *out, char *err, size_t errlen);
void query_attempt_row_release(struct ns_attempt_row *r);
/* A page of a run's attempts, every partition's, in the order they started
 * (by attempt id), those with an id above after_id, at most limit (keyset
 * pagination: pass the last id back). Returns the count or -1 (err). */
int query_run_attempts(struct ns_store *st, int64_t run_id, int64_t after_id, int limit,
                       struct ns_attempt_row *rows, char *err, size_t errlen);

/* ---- error records ---- */

struct ns_error_select {
    int64_t run_id;
    int64_t idx;           /* one partition, or -1 */
    const char *signature; /* one signature, or NULL */
    const char *text;      /* message or key contains it; NULL or "" = any */
};

struct ns_error_row {
    int64_t id, idx, attempt_id;
    double at;
    char *partition_key;
    char *key, *message, *signature; /* worker bytes (may hold NULs: use the lengths) */
    size_t key_len, message_len;
    void *payload; /* NULL when the record has none */
    size_t payload_len;
};

/* A page of error records by id; with_payload reads the payloads too. */
int query_errors(struct ns_store *st, const struct ns_error_select *sel,
                 const struct ns_error_row *anchor, int dir, int limit, bool with_payload,
                 struct ns_error_row *rows, char *err, size_t errlen);
/* One record of run_id with its payload: 1 found, 0 none, -1 error. */
int query_error(struct ns_store *st, int64_t run_id, int64_t id, struct ns_error_row *out,
                char *err, size_t errlen);
void query_error_row_release(struct ns_error_row *r);
/* How many records a selection holds: exact for the whole run or one
 * partition (the counters), -1 for a filtered selection (not counted). */
int64_t query_error_count(struct ns_store *st, const struct ns_error_select *sel);

struct ns_error_group {
    char *signature;
    int64_t records, partitions, first_idx;
    char *example; /* the message of the group's earliest record */
};
/* Error records grouped by signature, top causes first, at most limit
 * (<= 0: all). A whole run's groups (no partition, no text) come from the
 * running counts the runtime keeps, so they cost the same at a million
 * records as at ten. Returns the count or -1; the caller frees with
 * query_error_groups_release(rows, n). */
int query_error_groups(struct ns_store *st, const struct ns_error_select *sel, int limit,
                       struct ns_error_group **rows, char *err, size_t errlen);
void query_error_groups_release(struct ns_error_group *rows, int n);
/* A number that changes when the groups may have changed. */
int64_t query_groups_version(struct ns_store *st, int64_t run_id);

/* ---- events, samples, commands ---- */

struct ns_event_row {
    int64_t id, idx, attempt_id; /* idx, attempt_id -1 when NULL */
    double at;
    char *kind, *message;
};
/* The latest limit events of run_id except attempt starts, oldest first. */
int query_events_tail(struct ns_store *st, int64_t run_id, int limit, struct ns_event_row *rows,
                      char *err, size_t errlen);
void query_event_row_release(struct ns_event_row *r);

/* Partitions finished per second between the samples taken since `since`,
 * oldest first (at most 2000). *rates is heap (caller frees); count returned. */
int query_throughput_series(struct ns_store *st, int64_t run_id, double since, double **rates);
/* Partitions running at each sample taken since `since`, oldest first (at
 * most 2000; samples from before schema version 12 have none and are left
 * out). *counts is heap (caller frees); count returned. */
int query_running_series(struct ns_store *st, int64_t run_id, double since, double **counts);

struct ns_command_row {
    int64_t id, run_id, uid;
    double issued_at, applied_at;                       /* applied_at 0 while pending */
    char *user, *source, *verb, *args, *state, *result; /* result NULL while pending */
};
/* Operator commands of run_id with id > after, oldest first, at most limit
 * (< 0: all). Returns the count or -1; *rows is heap, released with
 * query_command_rows_release(rows, n). */
int query_commands(struct ns_store *st, int64_t run_id, int64_t after, int64_t limit,
                   struct ns_command_row **rows, char *err, size_t errlen);
void query_command_rows_release(struct ns_command_row *rows, int n);
/* The commands of run_id still pending (no verdict yet), oldest first, at
 * most limit; as query_commands. */
int query_pending_commands(struct ns_store *st, int64_t run_id, int64_t limit,
                           struct ns_command_row **rows, char *err, size_t errlen);

/* The spec path and the "-p name=value" arguments that resume run_id:
 * argv-ready words, spec first, NULL-terminated; NULL if no such run.
 * The caller frees each word and the array. */
char **query_resume_args(struct ns_store *st, int64_t run_id);

/* ---- the timeline (query-timeline.c) ---- */

enum ns_tl_kind {
    NS_TL_RUNNING,   /* a live attempt (end: now) */
    NS_TL_OK,        /* succeeded */
    NS_TL_FAILED,    /* failed, signalled, timed_out */
    NS_TL_STOPPED,   /* killed, interrupted, lost: ended by an operator or the world */
    NS_TL_WAITING,   /* a retry's backoff: from the failure to the next start */
    /* Held before it started (attempts.waited_for), up to its start; every
     * kind from NS_TL_WAITING on is a wait, not an attempt. */
    NS_TL_HELD_POOL,
    NS_TL_HELD_WINDOW,
    NS_TL_HELD_UPSTREAM,
};

struct ns_tl_span {
    int64_t idx, n;      /* partition, attempt (0 for a wait not followed yet) */
    double start, end;   /* end 0: still going */
    enum ns_tl_kind kind;
};

/* The attempts of run_id that overlap [from, to), oldest start first, and
 * the waits between a failed attempt and its retry (or, for a partition
 * in retry_wait now, until its retry), and what held an attempt before its
 * start (each wait just before its attempt: retry wait, held, attempt), at
 * most max spans in all (a cut list holds at least max - 2). Returns
 * the count into *out (the caller frees), or -1 on a database error. */
int query_timeline_spans(struct ns_store *st, int64_t run_id, double from, double to, int max,
                struct ns_tl_span **out);

#endif
