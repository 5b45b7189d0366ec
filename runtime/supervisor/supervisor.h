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

#include <stdbool.h>
#include <stdint.h>

#include "nightshift/exec.h"
#include "nightshift/executor.h"
#include "nightshift/journal.h"
#include "nightshift/runs.h"
#include "nightshift/plan.h"
#include "nightshift/report.h"
#include "nightshift/runtime.h"
#include "nightshift/spec.h"
#include "nightshift/query.h"
#include "nightshift/store.h"

/* Partition states, names as stored: the read model's one list (query.h).
 * P_X == NS_PS_X, so the runtime's counters index ns_state_counts, and a
 * partition's state is an enum ns_part_state, as its row image holds it. */
#define NS_PSTATES(X) NS_PART_STATES(X)

#define P_PENDING NS_PS_PENDING
#define P_RUNNING NS_PS_RUNNING
#define P_RETRY_WAIT NS_PS_RETRY_WAIT
#define P_PAUSED NS_PS_PAUSED
#define P_SUCCEEDED NS_PS_SUCCEEDED
#define P_FAILED NS_PS_FAILED
#define P_SKIPPED NS_PS_SKIPPED
#define P_NSTATES NS_PS_COUNT

extern const char *const pstate_names[P_NSTATES];

/* How a live attempt is being ended by us, if it is. */
enum ending { END_NONE, END_TIMEOUT, END_KILL, END_STOP };

struct attempt {
    int64_t id; /* attempts.id */
    int64_t idx;
    int n;                /* attempts_total ordinal */
    struct ns_task *task; /* the executor's handle; NULL once it ended */
    bool ended;           /* the executor said how it ended (end) */
    bool env_fault;       /* it could not start for the runtime's own want (start said
                             NS_EXEC_ENV_FAULT): not charged to the partition */
    struct ns_exec_end end;
    int64_t report_fed, report_offset; /* report bytes fed; fed up to the last whole message */
    int64_t output_fed;
    bool offsets_dirty; /* adoptable executors: offsets to store with this turn */
    bool located;       /* its locator is known (queueing backends learn it at submission) */
    char *locator;      /* where the task runs, and its label for people (executor.h) */
    char label[96];
    bool location_dirty; /* locator/label not stored yet: before the commit, or with the end */
    char *key;           /* the partition's key, for messages; NULL: read it (part_key) */
    bool started;        /* it runs (or ran): a queueing backend's task is queued until `started`;
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

/* A partition the supervisor works with: its row image (journal.h; what
 * journal_partition writes and rt_part reads back) and what only memory
 * knows. */
struct part {
    struct ns_part_image row; /* row.state == rt->pstate[row.idx] */
    int64_t last_err_id;      /* newest error record of this partition */
    bool queued;              /* in the retry queue */
    bool skip_when_done;      /* an operator skipped it while it ran */
    bool row_dirty; /* its launch is not in its row yet: before the commit, or with the end */
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

/* straggle.c's figures: the succeeded attempts' durations in log-spaced
 * buckets, the threshold they give, a bit per partition already told. */
struct straggle {
    uint32_t *buckets;
    int64_t n, n_seen; /* durations counted; n when the threshold was last worked out */
    double median, after;
    uint8_t *told;
};

struct rt {
    const struct ns_spec *spec;
    const struct ns_plan *plan;
    const struct ns_runtime_opts *opts;
    struct ns_store st;
    struct journal *j;
    struct ns_checkpointer *checkpointer; /* WAL checkpoints off the loop */
    const struct ns_executor_ops *exops;  /* where attempts run */
    struct ns_executor *ex;
    int64_t run_id;
    int lock_fd;
    char *run_dir;
    char *self_exe;
    char **base_env; /* every worker's environment up to the attempt's part */
    size_t nbase_env;
    char *file_token;      /* runs.token: random, unique for ever (NULL: a run from before it) */
    char *run_token;       /* "NIGHTSHIFT_RUN_TOKEN=<db hash>.<run id>.<file token>": finds our
                            * processes; its value names the Slurm spool and job */
    uint8_t *pstate;       /* every partition's state (enum ns_part_state), one byte each */
    uint8_t *untouched;    /* a bit per partition: its row is as created, not read yet */
    struct part_map parts; /* the partitions in memory: rt_part() loads on demand */
    size_t evict_at;       /* parts.len at which settled ones are dropped */
    size_t nparts;
    int64_t counts[P_NSTATES];
    int64_t records_done, records_total, error_records;
    int64_t records_at_start; /* records_done when this runtime loaded the run */
    bool dirty;               /* counters changed since they were last written */
    struct attempt **live;
    size_t nlive, live_cap;
    int concurrency;
    /* Environment faults (EMFILE, EAGAIN ...) hold dispatch: nothing more
     * starts while at least env_hold_nlive attempts live, until
     * env_hold_until (monotonic); said once per run (env_fault_said). */
    size_t env_hold_nlive;
    double env_hold_until;
    bool env_fault_said;
    enum ns_run_state state;
    char *state_reason;
    bool stop_now;
    size_t cursor;                              /* next index to look at for pending work */
    int64_t *requeue;                           /* partitions made pending out of order */
    size_t requeue_head, nrequeue, requeue_cap; /* FIFO: [head, n) */
    int64_t *waiting; /* partitions in retry_wait (may hold stale entries) */
    size_t nwaiting, waiting_cap;
    int sigfd;
    struct ns_runs *runs; /* the run's rows read back (runs.h) */
    char *key_text;       /* part_key's last answer, for key_idx */
    int64_t key_idx;
    uint64_t *key_hashes; /* every key of the run (runs_key_hashes), read at the first need */
    size_t nkey_hashes;
    bool key_hashes_read;
    int wake_fd;           /* the commands hint FIFO (wake.h), or -1: poll only */
    int exit_note_fd;      /* the run's reserved last words (store_exit_note_reserve), or -1 */
    char *waiters_dir;     /* waiting clients' FIFOs, poked after verdicts are committed */
    bool verdicts;         /* verdicts written in the open transaction */
    bool finishing;        /* the run has ended; its runtime waits for its end hooks: every
                              command is refused at once with that reason (apply.c) */
    double command_poll_s; /* the fallback poll for commands (wake_poll_interval) */
    bool commands_due;     /* a hint came while the journal waited for the lock */
    double start_mono, start_wall;
    double last_heartbeat, last_sample, last_tick, last_cmd_poll, last_metrics;
    char *metrics_path;   /* Prometheus textfile kept fresh (NULL: none) */
    double metrics_every; /* seconds between its refreshes */
    bool metrics_failed;  /* the failure was told once */
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
    double sla_risk_since; /* wall clock: the projection has been past the deadline since;
                              0 when it is not (guard.c's hysteresis) */
    double projected_finish;
    struct upstream *upstream; /* after: what the run waits for (upstream.c); NULL: nothing */
    bool settled;              /* partitions settled in the open turn: poke the waiters */
    bool newest_first;         /* order: newest - the cursor runs from the last partition */
    struct hook **hooks; /* running hook commands */
    size_t nhooks;
    struct rt_pools *pools; /* pools.c: NULL when the spec uses no pool */
    struct rt_window *window; /* window.c: NULL when the spec has no window */
    /* A partition could have started but a pool, the window or an upstream
     * held it: since when (wall clock; 0: nothing held), and by what. The
     * attempts the next dispatch starts carry the wait (attempts.waited_s). */
    double held_since;
    const char *held_for;
    int pass_launches;    /* attempts launched in the current rt_dispatch */
    double last_end_wall; /* wall clock of the last attempt's end (0: none yet) */
    struct straggle straggle;
};

/* The partition idx in memory, loaded from its row if it is not (never
 * NULL: a row that cannot be read gives a pending partition and an event). */
struct part *rt_part(struct rt *rt, int64_t idx);

/* hooks.c: the spec's hook commands, run beside the loop. */
struct pollfd;
void hooks_fire(struct rt *rt, enum ns_hook_event ev);
/* What a partition's hook (on_straggler) is about: its environment says it. */
struct hook_part {
    int64_t idx;
    const char *key;
    double running_s, median_s;
};
/* hooks_fire for a partition's event: no summary file (it fires mid-run). */
void hooks_fire_part(struct rt *rt, enum ns_hook_event ev, const struct hook_part *part);
size_t hooks_pollfds(struct rt *rt, struct pollfd *pfd);
void hooks_service(struct rt *rt, const struct pollfd *pfd, size_t n);
bool hooks_reaped(struct rt *rt, pid_t pid, int status);
double hooks_next_deadline(const struct rt *rt);
/* Waits for the end hooks (each bounded by hooks.timeout); meanwhile
 * serve(rt, hinted) is called every turn (hinted: the commands FIFO had a
 * hint), so operator commands are still answered. */
void hooks_wait_all(struct rt *rt, void (*serve)(struct rt *rt, bool hinted));

/* straggle.c: stragglers (query.h's rule). init reads the run's succeeded
 * durations back (after rt_load_partitions); succeeded counts one more;
 * check (once a second) stores the threshold when it moves and tells of
 * each new straggler once: an event and the on_straggler hook. */
void straggle_init(struct rt *rt);
void straggle_release(struct rt *rt);
void straggle_succeeded(struct rt *rt, double seconds);
void straggle_check(struct rt *rt, double now);

/* guard.c: error budget and SLA. */
void guard_check_budget(struct rt *rt);
void guard_init_sla(struct rt *rt);
void guard_check_sla(struct rt *rt, double projected_finish, bool final);
/* The next local time of day hhmm ("HH:MM") strictly after `after` (seconds
 * since the epoch); 0 if hhmm is not a time. */
double rt_next_local_time(const char *hhmm, double after);

/* apply.c: operator commands, pending rows in `commands`. */
void apply_pending_commands(struct rt *rt);

/* Helpers shared across the supervisor's files. */
void rt_set_state(struct rt *rt, int64_t idx, enum ns_part_state to);
void rt_requeue(struct rt *rt, int64_t idx);
void rt_wait_retry(struct rt *rt, int64_t idx);
void rt_event(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind, const char *fmt,
              ...) __attribute__((format(printf, 5, 6)));
/* An event that is a state change: the two state words are stored beside
 * the sentence (events --json gives them as fields). */
void rt_event_change(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind,
                     const char *from, const char *to, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void rt_set_run_state(struct rt *rt, enum ns_run_state s, const char *reason);
void rt_pause_workers(struct rt *rt, bool pause);
void rt_end_attempt(struct rt *rt, struct attempt *a, enum ending why);
void rt_clear_checkpoint(struct rt *rt, int64_t idx);
void rt_request_stop(struct rt *rt, bool now);

/* model.c: the partition cache. */
/* The partition's key; valid until the next call. "?" if it cannot be read. */
const char *rt_part_key(struct rt *rt, int64_t idx);
/* True if s[0..n) is the key of a partition of the run (signature_unkey's
 * question; ctx is the rt). */
bool rt_is_run_key(void *rt, const char *s, size_t n);
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
/* The attempt's row image as its end writes it: where it runs only if
 * that is not stored yet (a->location_dirty). Strings are a's. */
struct ns_attempt_image attempt_row(const struct rt *rt, const struct attempt *a);
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

/* pools.c: shared pools (only with rt->pools, the spec has uses:). */
/* Writes the spec's pool defaults; sets rt->pools if the spec uses pools. */
int rt_pools_open(struct rt *rt, char *err, size_t errlen);
void rt_pools_close(struct rt *rt);
/* True if dispatch may ask for slots now (not before a refused ask's retry
 * time, a hint, or one of our attempts' end). */
bool rt_pools_may_ask(struct rt *rt);
/* Asks for one attempt's slots (in the journal's open transaction):
 * true if granted (launch it now, in this transaction). */
bool rt_pools_grant(struct rt *rt);
/* The run waits for no pool (nothing to start, or not running). */
void rt_pools_withdraw(struct rt *rt);
/* a's slots are held (its start) / given back (its end). */
void rt_pools_hold(struct rt *rt, const struct attempt *a);
void rt_pools_release(struct rt *rt, const struct attempt *a);
/* A wake hint came: ask again now. */
void rt_pools_hinted(struct rt *rt);
/* Seconds until the next ask is due (INFINITY: none). */
double rt_pools_wait(const struct rt *rt, double now_mono);
/* True when the turn's writes should be committed at once, not after the
 * group delay: slots given back wait for the commit that hands them to
 * another run, we asked for slots, or another runtime waits in line for the
 * write lock (it may be giving back or taking the pool's slots). */
bool rt_pools_handoff_due(const struct rt *rt);
/* After each commit: poke the runs waiting for what we gave back. */
void rt_pools_committed(struct rt *rt);

/* window.c: run windows (only with rt->window, the spec has window:). */
/* Sets rt->window if the spec has one, decided from the clock; a run
 * started outside it says it waits. After rt_start. */
void rt_window_open(struct rt *rt);
void rt_window_close(struct rt *rt);
/* True if partitions may start now; applies on_close / the opening when
 * the window changed since the last call. */
bool rt_window_allows(struct rt *rt);
/* Flags the run at risk (its reason, an event; once per opening) when at
 * the recent rate it cannot finish before the window closes, with about
 * how many partitions will be left. */
void rt_window_check_risk(struct rt *rt, double rate, double projected_finish);
/* The rate the ETA projects with: the recent rate while the window is
 * open; while it is closed (nothing finishes) the last one measured open. */
double rt_window_rate(const struct rt *rt, double rate);
/* A projected finish (wall clock) that counts only open time, made one
 * that counts the closed time too: the work left after the close waits for
 * the next opening. 0 (unknown) stays 0. */
double rt_window_stretch(const struct rt *rt, double finish, double now);
/* Seconds until the window's next change. */
double rt_window_wait(const struct rt *rt);
/* resume while the window is closed: refused without force (0, words in
 * out), applied with it (1); -1: the window has nothing to say (an
 * ordinary resume). */
int rt_window_resume(struct rt *rt, bool force, struct ns_buf *out);
/* upstream.c: a run that waits for other runs (after:, run --after). */
/* Declares the run's upstreams, refuses a cycle, finds the upstream runs
 * and links our wake FIFO to them; nothing when the run waits for nothing.
 * Returns 0, or -1 with err (a database error, no run --after names). */
int upstream_open(struct rt *rt, char *err, size_t errlen);
/* Before the run is found or made: refuses an after: chain that comes back
 * to this job ("after: a cycle, refused: load -> extract -> load"), as the
 * newest runs of the jobs declare it. Returns 0, or -1 with err. */
int upstream_refuse_cycle(struct rt *rt, char *err, size_t errlen);
/* Dispatch asks (only when rt->upstream): may pending partition idx start
 * now? false: it is held until the next hint, or skipped/failed as its
 * dependency's on_failure and missing say. */
bool upstream_admits(struct rt *rt, int64_t idx);
/* Partitions are held for an upstream now (they left the dispatch order). */
bool upstream_holds(const struct rt *rt);
/* Each loop turn: on a hint (or every poll interval) the upstreams are
 * looked at again and held partitions go back in line. */
void upstream_service(struct rt *rt, bool hinted);
void upstream_close(struct rt *rt);
/* Pokes the runs waiting for a run of this job that did not exist when they
 * started (they look again at once); nothing when none waits. */
void upstream_announce(struct rt *rt);
/* A pending partition settled without an attempt (upstream.c): failed or
 * skipped, with why as its message (and skip reason), and an event. */
void rt_settle_partition(struct rt *rt, int64_t idx, enum ns_part_state to, const char *why);

/* only.c: run --only missing|failed|all. On a new run, skips the
 * partitions that are not due (catchup.h), each with the dry run's words. */
void rt_apply_only(struct rt *rt);

/* reconcile.c: before anything is dispatched on a resumed run. */
void rt_reconcile(struct rt *rt);

/* periodic.c: what the loop writes on a clock. */
int64_t rt_done_count(const struct rt *rt);
void rt_fill_counts(struct rt *rt, struct ns_counts *c, double rate, double finish, double now);
/* Writes the run's counters and projection into the turn now: a verdict
 * is committed with the counters its effect changed (control.md). */
void rt_write_counters(struct rt *rt);
/* force: write everything now (the end of the run). */
void rt_periodic(struct rt *rt, bool force);
/* The metrics textfile's path, or NULL: none. Caller frees. */
char *rt_metrics_path(const struct rt *rt);
/* Seconds until rt_periodic has work that is due. */
double rt_periodic_due(const struct rt *rt, double now_mono);

#endif
