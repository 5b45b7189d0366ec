/*
 * runs.h - the supervisor's own rows, as typed calls (runtime/store/runs.c).
 *
 * Everything the supervisor reads from the store, and the few writes it makes
 * outside the journal while it sets a run up (creating the run and its
 * partitions, marking it started), are here, so no SQL lives in
 * runtime/supervisor/. What is read per partition while the loop runs
 * (runs_part_*) goes through statements prepared once (struct ns_runs).
 *
 * Errors: calls that can fail return -1 (or false) and, where they take one,
 * fill err with a sentence. One thread (the supervisor's) uses a struct
 * ns_runs.
 */
#ifndef NIGHTSHIFT_RUNS_H
#define NIGHTSHIFT_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/journal.h"
#include "nightshift/plan.h"
#include "nightshift/store.h"

/* ---- setting a run up (one-shot; the caller's store) ---- */

/* The newest run of job with these canonical params. */
struct ns_run_found {
    int64_t id;
    int state;                                /* enum ns_run_state, -1: a word unknown here */
    char *spec_hash, *plan_hash, *spec_canon; /* owned: runs_found_release */
    int64_t total;
};
/* 1 and *out filled if such a run exists, 0 if none. */
int runs_find(struct ns_store *st, const char *job, const char *params, struct ns_run_found *out);
void runs_found_release(struct ns_run_found *f);
/* True if a run of job with params exists (a twin's, within a transaction). */
bool runs_exists(struct ns_store *st, const char *job, const char *params);

/* A new run's row. */
struct ns_run_new {
    const char *job, *params, *params_json, *spec_path, *spec_canon, *spec_hash, *plan_hash;
    int concurrency;
    int64_t total; /* partitions */
};
/* Inserts the run (state running, a random token). Returns its id, or -1
 * with err. Within the caller's transaction. */
int64_t runs_create(struct ns_store *st, const struct ns_run_new *r, char *err, size_t errlen);

/* Stores a new run's partitions, many rows per statement. */
struct ns_runs_parts;
struct ns_runs_parts *runs_parts_new(struct ns_store *st);
/* Adds one partition (pending); 0, or -1 once a write failed. */
int runs_parts_add(struct ns_runs_parts *w, int64_t run_id, int64_t idx, const char *key,
                   const char *params_json, size_t params_len, int max_attempts);
/* Writes what is batched and frees w. 0, or -1 with err. */
int runs_parts_finish(struct ns_runs_parts *w, bool write, char *err, size_t errlen);

/* The pid recorded as driving run_id (0: none). */
int64_t runs_runtime_pid(struct ns_store *st, int64_t run_id);
/* 1 if the run exists (*token: its random token, NULL for a run from
 * before schema 4; caller frees), 0 if it was deleted. */
int runs_token(struct ns_store *st, int64_t run_id, char **token);
/* The newest command id of the run (0: none). */
int64_t runs_last_command(struct ns_store *st, int64_t run_id);
/* The run's stored concurrency (0: none). */
int runs_concurrency(struct ns_store *st, int64_t run_id);
/* True if the run has ended (finished_at is set). */
bool runs_has_ended(struct ns_store *st, int64_t run_id);
/* Marks the run as driven by pid since now (started_at kept if set,
 * finished_at cleared, runtime_log NULL: none) and returns when it first
 * started in *started_at (0: unknown). 0, or -1 with err. */
int runs_mark_started(struct ns_store *st, int64_t run_id, double now, int pid,
                      const char *runtime_log, double *started_at, char *err, size_t errlen);
/* The SLA deadline a run was given (0: none) and its SLA state (NULL:
 * none; caller frees). */
void runs_sla(struct ns_store *st, int64_t run_id, double *deadline, char **state);

/* ---- the running supervisor's reads (statements prepared once) ---- */

struct ns_runs;
struct ns_runs *runs_open(struct ns_store *st, int64_t run_id);
void runs_close(struct ns_runs *r);

/* Each partition's state as runs_load_states reads it. */
struct ns_part_state_row {
    int64_t idx;
    int state; /* enum ns_part_state, or -1: a word this binary does not know */
    int64_t progress;
    int64_t total;  /* <= 0: unknown */
    bool untouched; /* the row is as run creation wrote it */
};
/* Calls each for every partition row, in idx order; returns how many, or
 * -1 with err on a database error. */
int64_t runs_load_states(struct ns_runs *r,
                         void (*each)(void *ctx, const struct ns_part_state_row *), void *ctx,
                         char *err, size_t errlen);
/* The run's partitions by state, as the rows say (counts[enum
 * ns_part_state]): for the invariant "the run's counters equal its rows",
 * checked at commits in checked builds. 0, or -1 if they cannot be read. */
int runs_count_states(struct ns_runs *r, int64_t counts[NS_PS_COUNT]);
/* The run's error records (0 on error). */
int64_t runs_error_count(struct ns_runs *r);

/* ns_hash64 (NS_HASH_SEED) of every partition key of the run, sorted, to
 * ask "is this a key of the run" without a key index (8 bytes a
 * partition). The caller frees; NULL with *n 0 for none. */
uint64_t *runs_key_hashes(struct ns_runs *r, size_t *n);
/* Calls each(ctx, seconds) with the duration of every succeeded attempt of
 * the run (the stragglers' median, after a restart). */
void runs_succeeded_durations(struct ns_runs *r, void (*each)(void *ctx, double seconds), void *ctx);

/* A partition's key; caller frees; NULL if it cannot be read. */
char *runs_part_key(struct ns_runs *r, int64_t idx);
/* A partition's parameters (name, value in order) as the planner made
 * them. 0, or -1 with err. Release with plan_partition_release-like
 * freeing of out->params (the caller's). */
int runs_part_params(struct ns_runs *r, int64_t idx, struct ns_partition *out, char *err,
                     size_t errlen);
/* Reads the partition's row into img (its strings newly allocated); false
 * if there is none. img->max_attempts is not stored per row here: left. */
bool runs_part_read(struct ns_runs *r, int64_t idx, struct ns_part_image *img);
/* The partition's error records (the truth its row's counter may lag);
 * -1 if they cannot be counted. */
int64_t runs_part_errors(struct ns_runs *r, int64_t idx);
/* PRAGMA data_version: changes only when another connection commits. */
int64_t runs_data_version(struct ns_runs *r);

/* The attempts still open (no outcome): a dead runtime's. *rows owned:
 * runs_attempts_free. Returns how many. */
size_t runs_open_attempts(struct ns_runs *r, struct ns_attempt_image **rows);
void runs_attempts_free(struct ns_attempt_image *rows, size_t n);

/* A pending operator command. */
struct ns_pending_command {
    int64_t id;
    char *verb, *user, *source, *args;
};
/* The run's pending commands, in id order (*rows owned: runs_commands_free). */
size_t runs_pending_commands(struct ns_runs *r, struct ns_pending_command **rows);
void runs_commands_free(struct ns_pending_command *rows, size_t n);
/* Partitions whose last_signature is sig, in idx order (caller frees). */
int64_t *runs_parts_with_signature(struct ns_runs *r, const char *sig, size_t *n);

/* Command arguments are JSON, read with SQLite's JSON functions. */
bool runs_json_bool(struct ns_runs *r, const char *json, const char *path);
/* The value at path as text, NULL if absent (caller frees). */
char *runs_json_text(struct ns_runs *r, const char *json, const char *path);
/* True if path names something (of any JSON type). */
bool runs_json_has(struct ns_runs *r, const char *json, const char *path);
/* The integers of the array at path (caller frees; NULL with *n 0 if none). */
int64_t *runs_json_ints(struct ns_runs *r, const char *json, const char *path, size_t *n);

#endif
