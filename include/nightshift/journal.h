/*
 * journal.h - the one writer of a run's job state (runtime/store/journal.c).
 *
 * The supervisor hands the journal row images - a partition's row, an
 * attempt's row, the run's figures - never its own structures: the writer
 * knows the tables, not the loop it serves. The same images are what the
 * store reads back (runs.h), so one struct serves the row read and the row
 * written.
 *
 * Every call joins the current transaction (begun on demand, BEGIN
 * IMMEDIATE); journal_commit or journal_try_commit ends it. One thread (the
 * supervisor's) uses a journal.
 */
#ifndef NIGHTSHIFT_JOURNAL_H
#define NIGHTSHIFT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/query-times.h"
#include "nightshift/query.h"
#include "nightshift/store.h"

/* A partitions row as the supervisor holds it (the columns the store
 * reads back, RUNS_PART_COLUMNS in runs.c). Strings are owned by whoever
 * holds the image. */
struct ns_part_image {
    int64_t idx;
    enum ns_part_state state;
    int attempts;       /* started within the current budget */
    int attempts_total; /* ever */
    int max_attempts;
    double retry_at;                /* next_attempt_at: wall clock, retry_wait only */
    double started_at, finished_at; /* 0: not yet */
    int64_t progress, total;        /* total < 0: unknown */
    int64_t errors;                 /* error_records */
    char *checkpoint;               /* NULL: none */
    size_t checkpoint_len;
    int64_t checkpoint_progress;
    int64_t checkpoint_err_id;
    char *last_message;
    char *last_signature;
};

/* An attempts row: what an attempt's end writes, and what the store reads
 * back of an attempt still open (a dead runtime's, to reconcile). Strings
 * are borrowed when written; when read, owned by the reader's list. */
struct ns_attempt_image {
    int64_t id, idx;
    int n;
    double started_at;
    const char *executor, *locator, *label; /* where it runs (NULL: unknown) */
    const char *log_path;
    int64_t report_offset, output_offset; /* bytes consumed, for an adopter */
    int64_t log_bytes, log_dropped;
    double last_report_at; /* runs_open_attempts: when its partition's row took its last
                              progress report (0: it reported none) */
};

/* The run's figures, as its row's counters say them. */
struct ns_run_figures {
    const int64_t *counts; /* partitions by state, NS_PS_COUNT of them */
    int64_t records_done, records_total, error_records;
    double rate, record_rate; /* partitions/s recently, records/s */
    double projected_finish;  /* wall clock; 0: unknown */
};

struct journal;

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
 * lock (or is before us in line at the write gate) the writes stay queued
 * (with their true timestamps) and 0 is returned. The call that gets the
 * lock replays them and returns 1 with the transaction still open: the loop
 * dispatches and applies commands in it on its next turn, then commits (a
 * runtime that had to wait for its turn would otherwise spend every turn it
 * gets on the queue and never start work). 0 once committed, -1 on error. */
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
/* An event that is a state change (a run's or a partition's): from and to
 * are the state words (either may be NULL), stored beside the sentence so
 * readers get them as fields. */
void journal_event_change(struct journal *j, int64_t idx, int64_t attempt_id, const char *kind,
                          const char *from, const char *to, const char *message);
/* The partition's row as r says (every column of struct ns_part_image but the
 * checkpoint's; updated_at now). */
void journal_partition(struct journal *j, const struct ns_part_image *r);
/* Only its progress, total, error count and last message (coalesced
 * progress reports). */
void journal_progress(struct journal *j, const struct ns_part_image *r);
/* Only its checkpoint (r->checkpoint NULL: cleared). */
void journal_checkpoint(struct journal *j, const struct ns_part_image *r);
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
/* The run's executor is `executor` (a runtime starts: what blocked the
 * run under the last one is forgotten). */
void journal_run_executor(struct journal *j, const char *executor);
/* Why nothing of the run can run, as its executor says it (a Slurm node
 * drained); NULL: tasks run again or none waits. A final run state clears
 * it too. */
void journal_run_blocked(struct journal *j, const char *reason);
/* The attempt r->id ended at `at` (0: when is not known - its end and
 * duration are stored as NULL, never guessed): its outcome, exit code (< 0:
 * none), signal (0: none), message, duration (from r->started_at), log sizes; and
 * where it ran (r->executor, r->locator, r->label) if r->executor is set
 * (NULL: what is stored stays). */
void journal_attempt_end(struct journal *j, const struct ns_attempt_image *r, double at,
                         enum ns_attempt_outcome outcome, int exit_code, int sig,
                         const char *message);
int64_t journal_error_record(struct journal *j, int64_t idx, int64_t attempt_id, const char *key,
                             size_t key_len, const char *msg, size_t msg_len, const char *signature,
                             const unsigned char *payload, size_t payload_len);
/* runs.straggler_after: how long an attempt may run before it is a
 * straggler (query_straggler_after); 0 writes NULL (not known yet). */
void journal_straggler_after(struct journal *j, double seconds);
/* Deletes a partition's error records newer than after_id (0: all); returns
 * how many were deleted. */
int64_t journal_drop_errors_after(struct journal *j, int64_t idx, int64_t after_id);
/* The run is in `state` now, for `reason` (NULL: none); a final state
 * also stamps the run's finish time. */
void journal_run_state(struct journal *j, enum ns_run_state state, const char *reason);
void journal_run_counters(struct journal *j, const struct ns_run_figures *f);
void journal_heartbeat(struct journal *j, double at, int pid);
/* One sample of the run's progress: partitions done, records, failed, and
 * the partitions running at that moment. */
void journal_sample(struct journal *j, const struct ns_sample *m);
void journal_concurrency(struct journal *j, int concurrency);
/* run --force: the run now records the new spec (spec_path NULL: unchanged). */
void journal_spec(struct journal *j, const char *canon, const char *hash, int concurrency,
                  const char *spec_path);
void journal_skip_reason(struct journal *j, int64_t idx, const char *reason);
/* Marks command id applied (ok) or refused with result. */
void journal_command_result(struct journal *j, int64_t id, bool ok, const char *result);

/* The attempt's pool slots are given back (pools.h): in the transaction that
 * writes its end. */
void journal_pool_release(struct journal *j, int64_t attempt_id);
/* The run waits for no pool any more (paused, stopping, ended). */
void journal_pool_withdraw(struct journal *j);
/* A wait ended: seconds waited for pool slots / for the run's window, added
 * to the run's totals (the morning report's). */
void journal_run_waited(struct journal *j, double pool_s, double window_s);

void journal_sla(struct journal *j, double deadline, double max_duration, const char *state);

#endif
