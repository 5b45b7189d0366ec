/*
 * supervisor.h - the supervisor's in-memory model of one run (struct rt,
 * part, attempt), shared by the files of runtime/supervisor/ only:
 * supervisor.c (open, the poll loop, finish), model.c (the partition cache),
 * dispatch.c, attempt.c, outcome.c, reconcile.c, periodic.c, apply.c
 * (operator commands), guard.c (error budget, SLA) and hooks.c.
 *
 * Ownership: everything here belongs to the single thread running the poll
 * loop; nothing is shared with other threads.
 */
#ifndef NIGHTSHIFT_SUPERVISOR_H
#define NIGHTSHIFT_SUPERVISOR_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "nightshift/exec.h"
#include "nightshift/executor.h"
#include "nightshift/plan.h"
#include "nightshift/report.h"
#include "nightshift/runtime.h"
#include "nightshift/spec.h"
#include "nightshift/query.h"
#include "nightshift/store.h"

/* Partition states, names as stored: the read model's one list (query.h),
 * so P_X == NS_PS_X and the runtime's counters index ns_state_counts. */
#define NS_PSTATES(X) NS_PART_STATES(X)

#define NS_PSTATE_ENUM(e, s) P_##e,
enum pstate { NS_PSTATES(NS_PSTATE_ENUM) P_NSTATES };
#undef NS_PSTATE_ENUM

extern const char *const pstate_names[P_NSTATES];
int pstate_from_name(const char *name); /* -1 if unknown */

/* How a live attempt is being ended by us, if it is. */
enum ending { END_NONE, END_TIMEOUT, END_KILL, END_STOP };

struct attempt {
    int64_t id; /* attempts.id */
    int64_t idx;
    int n; /* attempts_total ordinal */
    struct ns_task *task; /* the executor's handle; NULL once it ended */
    bool ended;           /* the executor said how it ended (end) */
    struct ns_exec_end end;
    int64_t report_fed, report_offset; /* report bytes fed; fed up to the last whole message */
    int64_t output_fed;
    bool offsets_dirty; /* adoptable executors: offsets to store with this turn */
    bool located;       /* its locator is known (queueing backends learn it at submission) */
    char *locator;      /* where the task runs, and its label for people (executor.h) */
    char label[96];
    bool location_dirty; /* locator/label not stored yet: before the commit, or with the end */
    char *key;           /* the partition's key, for messages; NULL: read it (part_key) */
    bool started;       /* it runs (or ran): a queueing backend's task is queued until `started`;
                           until then its partition stays pending (or paused, if held) */
    struct ns_report_parser parser;
    int log_fd;
    bool log_pending; /* the log is created on the first output byte */
    char *log_path;
    int64_t log_bytes, log_dropped;
    char *cause; /* the worker's last error/warn report this attempt */
    char *tail;  /* ring of the last log_limit/2 bytes beyond the head */
    size_t tail_len, tail_pos;
    int64_t malformed;
    double started_wall, started_mono;
    double deadline_mono;  /* 0: no timeout; moved forward by pauses */
    double paused_at_mono; /* > 0 while SIGSTOPped */
    enum ending ending;
    double kill_at_mono; /* SIGKILL due (after SIGTERM + stop_grace) */
    double progress_written_mono;
    bool progress_dirty;
};

struct part {
    int64_t idx;
    enum pstate state; /* == rt->pstate[idx] */
    int attempts;       /* started within the current budget */
    int attempts_total; /* ever */
    int max_attempts;
    double retry_at; /* wall clock, retry_wait only */
    double started_at, finished_at;
    int64_t progress, total; /* total < 0: unknown */
    int64_t errors;
    char *checkpoint; /* NULL: none */
    size_t checkpoint_len;
    int64_t checkpoint_progress;
    int64_t checkpoint_err_id;
    int64_t last_err_id; /* newest error record of this partition */
    char *last_message;
    char *last_signature;
    bool queued;         /* in the retry queue */
    bool skip_when_done; /* an operator skipped it while it ran */
    bool row_dirty;      /* its launch is not in its row yet: before the commit, or with the end */
    struct attempt *live;
};

/* The partitions held in memory, by index (model.c). */
struct part_map {
    struct part **slots;
    size_t cap, len;
};
struct part *part_map_find(const struct part_map *m, int64_t idx);
void part_map_insert(struct part_map *m, struct part *p);
void part_map_remove(struct part_map *m, int64_t idx);
void part_map_release(struct part_map *m, void (*free_part)(struct part *));

struct journal; /* journal.c */

enum run_state {
    RS_RUNNING,
    RS_PAUSED,
    RS_HALTED,
    RS_STOPPING,
    RS_STOPPED,
    RS_SUCCEEDED,
    RS_FAILED
};
extern const char *const run_state_names[];

struct rt {
    const struct ns_spec *spec;
    const struct ns_plan *plan;
    const struct ns_runtime_opts *opts;
    struct ns_store st;
    struct journal *j;
    struct ns_checkpointer *checkpointer; /* WAL checkpoints off the loop */
    const struct ns_executor_ops *exops; /* where attempts run */
    struct ns_executor *ex;
    int64_t run_id;
    int lock_fd;
    char *run_dir;
    char *self_exe;
    char **base_env; /* every worker's environment up to the attempt's part */
    size_t nbase_env;
    char *file_token; /* runs.token: random, unique for ever (NULL: a run from before it) */
    char *run_token;  /* "NIGHTSHIFT_RUN_TOKEN=<db hash>.<run id>.<file token>": finds our
                       * processes; its value names the Slurm spool and job */
    uint8_t *pstate;       /* every partition's state (enum pstate), one byte each */
    uint8_t *untouched;    /* a bit per partition: its row is as created, not read yet */
    struct part_map parts; /* the partitions in memory: rt_part() loads on demand */
    size_t evict_at;       /* parts.len at which settled ones are dropped */
    size_t nparts;
    int64_t counts[P_NSTATES];
    int64_t records_done, records_total, error_records;
    int64_t records_at_start; /* records_done when this runtime loaded the run */
    bool dirty; /* counters changed since they were last written */
    struct attempt **live;
    size_t nlive, live_cap;
    int concurrency;
    enum run_state state;
    char *state_reason;
    bool stop_now;
    size_t cursor;                              /* next index to look at for pending work */
    int64_t *requeue;                           /* partitions made pending out of order */
    size_t requeue_head, nrequeue, requeue_cap; /* FIFO: [head, n) */
    int64_t *waiting; /* partitions in retry_wait (may hold stale entries) */
    size_t nwaiting, waiting_cap;
    int sigfd;
    sqlite3_stmt *key_stmt;    /* a partition's key, by idx (part_key) */
    sqlite3_stmt *params_stmt; /* a partition's parameters, by idx (part_load) */
    sqlite3_stmt *part_stmt;   /* a partition's row, by idx (rt_part) */
    sqlite3_stmt *part_errors_stmt;
    char *key_text;            /* part_key's last answer, for key_idx */
    int64_t key_idx;
    int wake_fd;        /* the commands hint FIFO (wake.h), or -1: poll only */
    char *waiters_dir;  /* waiting clients' FIFOs, poked after verdicts are committed */
    bool verdicts;      /* verdicts written in the open transaction */
    double command_poll_s; /* the fallback poll for commands (wake_poll_interval) */
    bool commands_due;     /* a hint came while the journal waited for the lock */
    double start_mono, start_wall;
    double last_heartbeat, last_sample, last_tick, last_cmd_poll, last_metrics;
    char *metrics_path;   /* Prometheus textfile kept fresh (NULL: none) */
    double metrics_every; /* seconds between its refreshes */
    bool metrics_failed; /* the failure was told once */
    int64_t data_version;
    uint64_t rng;
    /* Recent throughput: ring of (time, done) samples. */
    double rate_t[32];
    int64_t rate_done[32];
    int rate_n;
    bool tty_gone;
    int64_t stale_cmd_max; /* commands up to this id predate this runtime */
    char *forced_changes;  /* --force: the was/now lines to record */
    /* Error budget: counts when the operator last resumed a halt. */
    int64_t halt_ack_failed, halt_ack_errors;
    double run_started_at; /* wall clock, first start of the run */
    double sla_deadline;   /* 0: no SLA */
    char *sla_state;
    bool sla_risk_fired;
    double projected_finish;
    struct hook **hooks; /* running hook commands */
    size_t nhooks;
};

/* The partition idx in memory, loaded from its row if it is not (never
 * NULL: a row that cannot be read gives a pending partition and an event). */
struct part *rt_part(struct rt *rt, int64_t idx);

/* journal.c: every write of job state goes through these. Each call joins
 * the current transaction (begun on demand); journal_commit ends it. */
struct journal *journal_new(struct ns_store *st, int64_t run_id);
void journal_free(struct journal *j);
/* Commits the turn's writes, waiting for the write lock if another process
 * holds it (and ending a wait: its queued writes are committed too). */
int journal_commit(struct journal *j, char *err, size_t errlen);
/* Writes the error records the journal batched into the open transaction,
 * for a read on the runtime's own connection (events, never read back,
 * wait for the commit). */
void journal_flush(struct journal *j);
/* journal_flush and the batched events too: before the store is read
 * through the query layer (the metrics textfile). */
void journal_flush_all(struct journal *j);
/* Monotonic time the open transaction began (its first write); 0 if none is
 * open, also while writes wait for the lock (journal_waiting). */
double journal_open_since(const struct journal *j);
/* The loop's commit: never waits. While another process holds the write
 * lock the writes stay queued (with their true timestamps) and 0 is
 * returned; they are committed by the first call that gets the lock. */
int journal_try_commit(struct journal *j, char *err, size_t errlen);
/* True while writes are queued for a lock another process holds: the loop
 * dispatches nothing and applies no command (both need rows now), and
 * wakes often to retry. */
bool journal_waiting(const struct journal *j);
/* True if a write now joins a transaction of ours (one is begun if the lock
 * is free); false if another process holds the write lock (the journal then
 * waits, as above). For what needs a row at once (an attempt's start). */
bool journal_ready(struct journal *j);
void journal_event(struct journal *j, int64_t idx, int64_t attempt_id, const char *kind,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void journal_partition(struct journal *j, int64_t idx, const struct part *p);
void journal_progress(struct journal *j, int64_t idx, const struct part *p);
void journal_checkpoint(struct journal *j, int64_t idx, const struct part *p);
/* progress_from: where the attempt resumes (its checkpoint's progress, or
 * 0); redone: what the partition had reached beyond that - records this
 * attempt does again. */
int64_t journal_attempt_start(struct journal *j, int64_t idx, int n, double at,
                              const char *log_path, const char *resumed_from, size_t rlen,
                              int64_t progress_from, int64_t redone);
/* Where the attempt runs: its executor, the locator that finds it again
 * after a restart, and its label ("pid 4121", "job 881_4"). */
void journal_attempt_locator(struct journal *j, int64_t attempt_id, const char *executor,
                             const char *locator, const char *label);
/* Report and output bytes consumed, stored with what they produced (the
 * same transaction), so an adopted task resumes without duplicates. */
void journal_attempt_offsets(struct journal *j, int64_t attempt_id, int64_t report_offset,
                             int64_t output_offset);
/* Deletes the error records of one attempt; returns how many. */
int64_t journal_drop_attempt_errors(struct journal *j, int64_t attempt_id);
void journal_run_executor(struct journal *j, const char *executor);
/* Also stores where it ran (a->locator, a->label on executor) if that is
 * not stored yet (a->location_dirty). */
void journal_attempt_end(struct journal *j, const struct attempt *a, const char *executor,
                         double at, const char *outcome, int exit_code, int sig,
                         const char *message);
int64_t journal_error_record(struct journal *j, int64_t idx, int64_t attempt_id, const char *key,
                             size_t key_len, const char *msg, size_t msg_len, const char *signature,
                             const unsigned char *payload, size_t payload_len);
/* Deletes a partition's error records newer than after_id (0: all); returns
 * how many were deleted. */
int64_t journal_drop_errors_after(struct journal *j, int64_t idx, int64_t after_id);
void journal_run_state(struct journal *j, const char *state, const char *reason, bool finished);
void journal_run_counters(struct journal *j, const struct rt *rt, double rate, double record_rate,
                          double projected_finish);
void journal_heartbeat(struct journal *j, double at, int pid);
void journal_sample(struct journal *j, double at, int64_t done, int64_t records, int64_t failed);
void journal_concurrency(struct journal *j, int concurrency);
/* run --force: the run now records the new spec (spec_path NULL: unchanged). */
void journal_spec(struct journal *j, const char *canon, const char *hash, int concurrency,
                  const char *spec_path);
void journal_skip_reason(struct journal *j, int64_t idx, const char *reason);
/* Marks command id applied (ok) or refused with result. */
void journal_command_result(struct journal *j, int64_t id, bool ok, const char *result);

void journal_sla(struct journal *j, double deadline, double max_duration, const char *state);

/* hooks.c: the spec's hook commands, run beside the loop. */
struct pollfd;
void hooks_fire(struct rt *rt, enum ns_hook_event ev);
size_t hooks_pollfds(struct rt *rt, struct pollfd *pfd);
void hooks_service(struct rt *rt, const struct pollfd *pfd, size_t n);
bool hooks_reaped(struct rt *rt, pid_t pid, int status);
double hooks_next_deadline(const struct rt *rt);
void hooks_wait_all(struct rt *rt);

/* guard.c: error budget and SLA. */
void guard_check_budget(struct rt *rt);
void guard_init_sla(struct rt *rt);
void guard_check_sla(struct rt *rt, double projected_finish, bool final);

/* apply.c: operator commands, pending rows in `commands`. */
void apply_pending_commands(struct rt *rt);

/* Helpers shared across the supervisor's files. */
void rt_set_state(struct rt *rt, int64_t idx, enum pstate to);
void rt_requeue(struct rt *rt, int64_t idx);
void rt_wait_retry(struct rt *rt, int64_t idx);
void rt_event(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));
void rt_set_run_state(struct rt *rt, enum run_state s, const char *reason);
void rt_pause_workers(struct rt *rt, bool pause);
void rt_end_attempt(struct rt *rt, struct attempt *a, enum ending why);
void rt_clear_checkpoint(struct rt *rt, int64_t idx);
void rt_request_stop(struct rt *rt, bool now);

/* model.c: the partition cache. */
/* The partition's key; valid until the next call. "?" if it cannot be read. */
const char *rt_part_key(struct rt *rt, int64_t idx);
/* Loads one partition as the planner made it (index, key, parameters in
 * order) from its stored params_json. Returns 0, or -1 with err filled.
 * Release with rt_part_unload. */
int rt_part_load(struct rt *rt, int64_t idx, struct ns_partition *out, char *err, size_t errlen);
void rt_part_unload(struct ns_partition *pp);
/* Replaces *dst with a copy of s (len bytes); s may be *dst itself. */
void rt_set_str(char **dst, const char *s, size_t len);
void rt_part_free(struct part *p);
/* Drops settled partitions whose rows are committed (amortised). */
void rt_evict_settled(struct rt *rt);
/* Reads every partition's state and the run's figures at the start, and
 * prepares the cache's statements. Returns 0, or -1 with err. */
int rt_load_partitions(struct rt *rt, char *err, size_t errlen);
/* Frees the cache (rt_load_partitions's, and every struct part). */
void rt_model_release(struct rt *rt);

/* dispatch.c: starting attempts. */
void strv_free(char **v);
/* After a queueing backend's submission: store the locators it learnt. */
void rt_record_new_locators(struct rt *rt);
/* Launches pending partitions up to the concurrency limit. */
void rt_dispatch(struct rt *rt);

/* attempt.c: live attempts and the executor's events. */
extern const struct ns_exec_events rt_exec_events;
char *attempt_log_path(const struct rt *rt, int64_t idx, int n);
void attempt_open_log(struct attempt *a, bool append);
void rt_live_add(struct rt *rt, struct attempt *a);
void rt_live_remove(struct rt *rt, struct attempt *a);
/* Frees what the attempt owns (its parser and log are closed by the caller). */
void attempt_free(struct attempt *a);
/* Learns where the attempt's task runs; locator is taken. */
void attempt_learn_location(struct rt *rt, struct attempt *a, char *locator);
/* Writes what live attempts deferred, before a commit. */
void rt_store_live_rows(struct rt *rt);
/* The attempt ended: feeds the reports still in its parser, releases it,
 * and completes and closes its log. */
void attempt_finish_reports(struct rt *rt, struct attempt *a, struct part *p);

/* outcome.c: ending attempts, retries. */
/* Records how the attempt ended and moves its partition on; frees a.
 * spawn_error: the attempt could not start (NULL: it ran). */
void finish_attempt(struct rt *rt, struct attempt *a, const char *spawn_error);
/* Partitions whose retry came due go back to pending. */
void rt_promote_retries(struct rt *rt, double now);
/* Wall-clock time of the next retry due, 0 if none. */
double rt_next_retry_at(const struct rt *rt);

/* reconcile.c: before anything is dispatched on a resumed run. */
void rt_reconcile(struct rt *rt);

/* periodic.c: what the loop writes on a clock. */
int64_t rt_done_count(const struct rt *rt);
void rt_fill_counts(struct rt *rt, struct ns_counts *c, double rate, double finish, double now);
/* force: write everything now (the end of the run). */
void rt_periodic(struct rt *rt, bool force);
/* The metrics textfile's path, or NULL: none. Caller frees. */
char *rt_metrics_path(const struct rt *rt);
/* Seconds until rt_periodic has work that is due. */
double rt_periodic_due(const struct rt *rt, double now_mono);

#endif
