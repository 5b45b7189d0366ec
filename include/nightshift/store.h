/*
 * store.h - the SQLite store: schema, opening, and small shared queries.
 *
 * One database holds many runs. The runtime driving a run is the only writer
 * of that run's job state (runs, partitions, attempts, error_records, events,
 * samples); clients (CLI, console) only read those and insert rows into
 * `commands`. Every write transaction starts with BEGIN IMMEDIATE. Readers
 * must not hold a read transaction between refreshes (WAL checkpoints would
 * starve). docs/store.md describes every table for readers.
 */
#ifndef NIGHTSHIFT_STORE_H
#define NIGHTSHIFT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "nightshift/gate.h"

#define NS_SCHEMA_VERSION 14

/* The SQL that creates the current schema (for docs and tests). */
extern const char *const store_schema_sql;

enum ns_store_mode {
    NS_STORE_READ,   /* console, status: never writes */
    NS_STORE_CLIENT, /* control CLI: inserts commands; creates nothing */
    NS_STORE_WRITER, /* the runtime: creates and migrates the schema */
};

struct ns_store {
    struct ns_store_conn *db; /* the connection: the store wing's own (store-internal.h) */
    char *path;               /* database file */
    char *data_dir;           /* store_data_dir(path): attempt logs, run locks, runtime logs */
    struct ns_gate gate;      /* every write transaction's fair turn (gate.h) */
};

/* The database path: db_opt if given, else $NIGHTSHIFT_DB, else
 * $XDG_STATE_HOME/nightshift/nightshift.db (~/.local/state/...). Caller frees. */
char *store_default_path(const char *db_opt);

/* Opens the store. WRITER creates the file 0600 in a 0700 directory and
 * migrates the schema; READ and CLIENT refuse a missing file or a schema
 * newer than this binary knows. Every mode refuses a group- or
 * world-writable database and a data directory that is not a directory of
 * ours or is group- or world-writable. Returns 0, or -1 with a sentence in err. */
int store_open(struct ns_store *st, const char *path, enum ns_store_mode mode, char *err,
               size_t errlen);
void store_close(struct ns_store *st);

/* The data directory of the database at path: "<resolved path>.d", where
 * symlinks are resolved so that every path to one file names one directory
 * (and so one run lock per run). Caller frees. */
char *store_data_dir(const char *path);

/* Creates the database's directory (0700, with its parents) and its data
 * directory "<path>.d" without opening the database. 0, or -1 with err. */
int store_make_dirs(const char *path, char *err, size_t errlen);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK; 0 or -1 (err filled). */
int store_begin(struct ns_store *st, char *err, size_t errlen);
int store_commit(struct ns_store *st, char *err, size_t errlen);
void store_rollback(struct ns_store *st);

/* Runs a statement with no result rows; -1 with err on failure. */
int store_exec(struct ns_store *st, const char *sql, char *err, size_t errlen);

/* The runtime only, inside the journal's open transaction, right after the
 * attempt's row was inserted: attempt_id was held waited_s seconds before it
 * started, by why ("pool", "window" or "upstream": a static string). */
void store_attempt_waited(struct ns_store *st, int64_t attempt_id, double waited_s,
                          const char *why);

/* The database's page size in bytes. */
int store_page_size(struct ns_store *st);

/* Finds a run by id ("12") or by job name (the newest run of that job).
 * Returns the run id, 0 if none matches, -1 on a database error. */
int64_t store_find_run(struct ns_store *st, const char *run_or_job, char *err, size_t errlen);

/* The newest run of the job named job (digits too: job "2" is not run 2).
 * Returns its id, 0 if the job has no run, -1 on a database error. */
int64_t store_find_job_run(struct ns_store *st, const char *job, char *err, size_t errlen);

/* The newest run id in the database, 0 if there is none. */
int64_t store_latest_run(struct ns_store *st);

/* Creates (0700) and checks the directory for one run's attempt logs,
 * "<data_dir>/run-<id>": it must be a real directory of ours that nobody
 * else can write. fresh_token is the token of a run just created (NULL on a
 * resume): a directory already there then belongs to an earlier run that had
 * the same id, and is moved aside to "run-<id>.orphan-<token>" so no attempt
 * of the new run finds its logs. Returns the path (caller frees), or NULL
 * with err. */
char *store_make_run_dir(const struct ns_store *st, int64_t run_id, const char *fresh_token,
                         char *err, size_t errlen);

/* A runtime's last words: why it stopped when it could not say so in the
 * database (disk full, a database error). store_exit_note_reserve makes
 * "<data dir>/run-N.exit" blank, with room for NS_EXIT_NOTE_MAX bytes taken
 * now, so that store_exit_note_write later needs no new disk space; it
 * returns the open fd (the caller closes it), or -1. The write puts why
 * (its first line, cut to fit) over the blanks. store_exit_note_read gives
 * the note of run_id, or NULL when it is blank or missing (a runtime that
 * stopped cleanly, or was killed and said nothing); the caller frees. */
#define NS_EXIT_NOTE_MAX 512
int store_exit_note_reserve(const struct ns_store *st, int64_t run_id);
void store_exit_note_write(int fd, const char *why);
char *store_exit_note_read(const struct ns_store *st, int64_t run_id);
/* Removes it (gc, with the run). */
void store_exit_note_remove(const struct ns_store *st, int64_t run_id);

/* Path of the lock file held by the runtime driving run_id. Caller frees. */
char *store_lock_path(const struct ns_store *st, int64_t run_id);

/* True if some process holds run_id's runtime lock (the runtime is alive). */
bool store_runtime_alive(const struct ns_store *st, int64_t run_id);

#endif
