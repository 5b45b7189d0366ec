/*
 * store.c - open the SQLite store, create and migrate its schema.
 *
 * Invariants: WAL mode, foreign keys on, PRAGMA user_version is the schema
 * version; migrations only move forward, one transaction each. The file is
 * created 0600 inside a 0700 directory because run parameters, keys and
 * payloads may be private.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "nightshift/check.h"
#include "nightshift/store.h"
#include "store-internal.h"
#include "nightshift/util.h"

/* Schema version 13 (version 1, the executor columns of migrations[1], the rework columns of
 * migrations[2], the run token of migrations[3], the blocked reason of migrations[4], the events'
 * states of migrations[5], the pools of migrations[6], the counts by signature of
 * migrations[7], the waits of migrations[8], the upstreams of migrations[9],
 * the straggler threshold of migrations[10], the samples' running count of migrations[11],
 * the attempts' waits of migrations[12]).
 * Times are Unix
 * seconds (REAL); states are the words of DESIGN.md. Counters on runs are maintained by the
 * runtime so a runs list never scans partitions; error_signatures and error_signature_parts
 * likewise, so grouping a million error records reads a handful of rows (the journal writes them
 * with the records). */
/* One SQL line per C line: tests/console/make-fixture.sh reads them. */
/* clang-format off */
const char *const store_schema_sql =
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  job TEXT NOT NULL,\n"
    "  params TEXT NOT NULL,            -- canonical 'name=value\\n' lines, sorted\n"
    "  params_json TEXT NOT NULL,\n"
    "  spec_path TEXT NOT NULL,         -- absolute path of the spec\n"
    "  spec_canon TEXT NOT NULL,        -- canonical settings, to say what changed\n"
    "  spec_hash TEXT NOT NULL,\n"
    "  plan_hash TEXT NOT NULL,\n"
    "  state TEXT NOT NULL,             -- running paused halted stopping stopped succeeded failed\n"
    "  state_reason TEXT,\n"
    "  concurrency INTEGER NOT NULL,\n"
    "  total INTEGER NOT NULL,          -- partitions\n"
    "  n_pending INTEGER NOT NULL DEFAULT 0,\n"
    "  n_paused INTEGER NOT NULL DEFAULT 0,   -- running partitions whose workers are SIGSTOPped\n"
    "  n_running INTEGER NOT NULL DEFAULT 0,\n"
    "  n_retry_wait INTEGER NOT NULL DEFAULT 0,\n"
    "  n_succeeded INTEGER NOT NULL DEFAULT 0,\n"
    "  n_failed INTEGER NOT NULL DEFAULT 0,\n"
    "  n_skipped INTEGER NOT NULL DEFAULT 0,\n"
    "  records_done INTEGER NOT NULL DEFAULT 0,\n"
    "  records_total INTEGER NOT NULL DEFAULT 0,\n"
    "  error_records INTEGER NOT NULL DEFAULT 0,\n"
    "  created_at REAL NOT NULL,\n"
    "  started_at REAL,                 -- first start of a runtime for this run\n"
    "  finished_at REAL,\n"
    "  updated_at REAL NOT NULL,\n"
    "  runtime_pid INTEGER,\n"
    "  heartbeat_at REAL,               -- refreshed every second by a live runtime\n"
    "  throughput REAL,                 -- partitions finished per second, recent\n"
    "  record_rate REAL,                -- records per second, recent\n"
    "  projected_finish REAL,\n"
    "  sla_deadline REAL,\n"
    "  sla_max_duration REAL,\n"
    "  sla_state TEXT,                  -- NULL (no SLA), ok, at_risk, missed, met\n"
    "  runtime_log TEXT,\n"
    "  executor TEXT NOT NULL DEFAULT 'local', -- where its attempts run: local, slurm\n"
    "  token TEXT,                      -- random, given at creation: names its files for ever\n"
    "  blocked_reason TEXT,             -- why nothing of it can run, from its executor (NULL: none)\n"
    "  pool_wait_s REAL NOT NULL DEFAULT 0,   -- seconds its runtimes waited for pool slots\n"
    "  window_wait_s REAL NOT NULL DEFAULT 0, -- seconds it waited outside its window\n"
    "  straggler_after REAL             -- an attempt running longer is a straggler (NULL: not yet)\n"
    ");\n"
    "CREATE INDEX runs_identity ON runs(job, params, id);\n"
    "CREATE TABLE partitions (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL,\n"
    "  key TEXT NOT NULL,\n"
    "  params_json TEXT NOT NULL,\n"
    "  state TEXT NOT NULL,             -- pending running retry_wait paused succeeded failed skipped\n"
    "  attempts INTEGER NOT NULL DEFAULT 0,       -- started within the current budget\n"
    "  attempts_total INTEGER NOT NULL DEFAULT 0, -- ever started\n"
    "  max_attempts INTEGER NOT NULL,\n"
    "  progress INTEGER NOT NULL DEFAULT 0,\n"
    "  total INTEGER,                  -- records, when the worker reported it\n"
    "  checkpoint BLOB,\n"
    "  checkpoint_at REAL,\n"
    "  checkpoint_progress INTEGER,\n"
    "  checkpoint_err_id INTEGER,      -- error_records.id high-water mark at checkpoint\n"
    "  error_records INTEGER NOT NULL DEFAULT 0,\n"
    "  last_message TEXT,              -- worker bytes: escape before display\n"
    "  last_signature TEXT,            -- signature of the last failure\n"
    "  next_attempt_at REAL,           -- retry_wait: not before\n"
    "  started_at REAL,\n"
    "  finished_at REAL,\n"
    "  updated_at REAL,\n"
    "  skip_reason TEXT,\n"
    "  PRIMARY KEY (run_id, idx)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX partitions_state ON partitions(run_id, state, idx);\n"
    "CREATE INDEX partitions_signature ON partitions(run_id, last_signature, idx)\n"
    "  WHERE last_signature IS NOT NULL;\n"
    "CREATE TABLE attempts (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL,             -- 1-based over the partition's life\n"
    "  pid INTEGER,\n"
    "  pid_start INTEGER,              -- start time in clock ticks since boot (/proc/PID/stat)\n"
    "  pgid INTEGER,\n"
    "  started_at REAL NOT NULL,\n"
    "  ended_at REAL,\n"
    "  outcome TEXT,                   -- NULL while live; succeeded failed signalled timed_out killed interrupted\n"
    "  exit_code INTEGER,\n"
    "  signal INTEGER,\n"
    "  duration REAL,\n"
    "  log_path TEXT,\n"
    "  log_bytes INTEGER,\n"
    "  log_dropped INTEGER,\n"
    "  message TEXT,                   -- what happened, in words\n"
    "  resumed_from BLOB,              -- checkpoint handed to this attempt\n"
    "  executor TEXT NOT NULL DEFAULT 'local',  -- the backend that ran it\n"
    "  locator TEXT,                   -- the backend's way to find it again after a restart\n"
    "  label TEXT,                     -- the backend's words for it: pid 4121, job 881_4\n"
    "  report_offset INTEGER NOT NULL DEFAULT 0,  -- report bytes consumed (adoptable backends)\n"
    "  output_offset INTEGER NOT NULL DEFAULT 0,  -- output bytes consumed (adoptable backends)\n"
    "  progress_from INTEGER,          -- progress it resumed at (its checkpoint's, or 0)\n"
    "  redone INTEGER,                 -- progress reached before it beyond that: records done again\n"
    "  waited_s REAL,                  -- how long it was held before it started (NULL: not held)\n"
    "  waited_for TEXT                 -- what held it: pool window upstream\n"
    ");\n"
    "CREATE INDEX attempts_partition ON attempts(run_id, idx, n);\n"
    "CREATE INDEX attempts_live ON attempts(run_id) WHERE outcome IS NULL;\n"
    "CREATE TABLE error_records (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL,\n"
    "  attempt_id INTEGER NOT NULL,\n"
    "  at REAL NOT NULL,\n"
    "  key TEXT NOT NULL,              -- worker bytes\n"
    "  message TEXT NOT NULL,          -- worker bytes\n"
    "  signature TEXT NOT NULL,\n"
    "  payload BLOB                    -- raw bytes, exact\n"
    ");\n"
    "CREATE INDEX error_records_run ON error_records(run_id, id);\n"
    "CREATE INDEX error_records_partition ON error_records(run_id, idx, id);\n"
    "CREATE INDEX error_records_signature ON error_records(run_id, signature, id);\n"
    "CREATE TABLE error_signatures (   -- error records by signature: the running counts\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  signature TEXT NOT NULL,\n"
    "  records INTEGER NOT NULL,        -- error records with this signature (0: none left)\n"
    "  partitions INTEGER NOT NULL,     -- partitions with at least one of them\n"
    "  PRIMARY KEY (run_id, signature)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE error_signature_parts ( -- the same per partition (no row: none)\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL,\n"
    "  signature TEXT NOT NULL,\n"
    "  records INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, idx, signature)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX error_signature_parts_first ON error_signature_parts(run_id, signature, idx);\n"
    "CREATE TABLE events (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER,\n"
    "  attempt_id INTEGER,\n"
    "  at REAL NOT NULL,\n"
    "  kind TEXT NOT NULL,             -- run_state partition_state attempt_start attempt_end\n"
    "                                  -- log protocol command hook sla halt reconcile\n"
    "  message TEXT NOT NULL,\n"
    "  from_state TEXT,                -- a state change's states (run or partition), else NULL\n"
    "  to_state TEXT\n"
    ");\n"
    "CREATE INDEX events_run ON events(run_id, id);\n"
    "CREATE TABLE commands (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  issued_at REAL NOT NULL,\n"
    "  user TEXT NOT NULL,\n"
    "  uid INTEGER NOT NULL,\n"
    "  source TEXT NOT NULL,           -- cli, console\n"
    "  verb TEXT NOT NULL,\n"
    "  args TEXT NOT NULL,             -- JSON object\n"
    "  state TEXT NOT NULL DEFAULT 'pending', -- pending applied refused\n"
    "  result TEXT,\n"
    "  applied_at REAL\n"
    ");\n"
    "CREATE INDEX commands_pending ON commands(run_id, id) WHERE state = 'pending';\n"
    "CREATE INDEX commands_run ON commands(run_id, id);\n"
    "CREATE TABLE samples (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  at REAL NOT NULL,\n"
    "  done INTEGER NOT NULL,          -- partitions finished (succeeded+failed+skipped)\n"
    "  records INTEGER NOT NULL,       -- records done\n"
    "  failed INTEGER NOT NULL,\n"
    "  running INTEGER,                -- attempts live then (NULL: written before version 12)\n"
    "  PRIMARY KEY (run_id, at)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE pools (\n"
    "  name TEXT PRIMARY KEY,\n"
    "  slots INTEGER NOT NULL,\n"
    "  rate_n INTEGER NOT NULL DEFAULT 0,    -- at most rate_n starts per rate_per seconds (0: no limit)\n"
    "  rate_per REAL NOT NULL DEFAULT 1,\n"
    "  next_start_at REAL NOT NULL DEFAULT 0, -- the start rate: no start before this\n"
    "  set_by TEXT NOT NULL DEFAULT 'spec',  -- spec (a default) or operator (nightshift pool set)\n"
    "  updated_at REAL NOT NULL\n"
    ");\n"
    "CREATE TABLE pool_holds (          -- one per live attempt and pool it uses\n"
    "  pool TEXT NOT NULL,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  attempt_id INTEGER NOT NULL,\n"
    "  weight INTEGER NOT NULL,\n"
    "  since REAL NOT NULL,\n"
    "  PRIMARY KEY (pool, attempt_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX pool_holds_run ON pool_holds(run_id);\n"
    "CREATE TABLE pool_waiters (        -- a run whose next attempt waits for a pool\n"
    "  pool TEXT NOT NULL,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  weight INTEGER NOT NULL,\n"
    "  since REAL NOT NULL,             -- oldest first: the order slots are given in\n"
    "  why TEXT NOT NULL,               -- slots or rate\n"
    "  priority INTEGER NOT NULL DEFAULT 0, -- the spec's priority: higher first, then oldest\n"
    "  PRIMARY KEY (pool, run_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX pool_waiters_run ON pool_waiters(run_id);\n"
    "CREATE TABLE pool_commands (       -- the audit of nightshift pool set\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  pool TEXT NOT NULL,\n"
    "  issued_at REAL NOT NULL,\n"
    "  user TEXT NOT NULL,\n"
    "  uid INTEGER NOT NULL,\n"
    "  source TEXT NOT NULL,            -- cli, console\n"
    "  verb TEXT NOT NULL,              -- set\n"
    "  args TEXT NOT NULL,              -- JSON object\n"
    "  result TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE run_after (          -- what a run waits for (after:, run --after)\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL,           -- its place in after: (--after RUN last)\n"
    "  job TEXT NOT NULL,              -- the upstream job\n"
    "  partitions TEXT NOT NULL,       -- same-key all\n"
    "  on_failure TEXT NOT NULL,       -- wait skip fail\n"
    "  missing TEXT NOT NULL,          -- error ignore\n"
    "  upstream_run INTEGER,           -- the run waited for; NULL: none exists yet\n"
    "  pinned INTEGER NOT NULL DEFAULT 0, -- named by --after RUN\n"
    "  PRIMARY KEY (run_id, pos)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX run_after_upstream ON run_after(upstream_run);\n";
/* clang-format on */

char *store_default_path(const char *db_opt)
{
    if (db_opt && *db_opt)
        return ns_xstrdup(db_opt);
    const char *env = getenv("NIGHTSHIFT_DB");
    if (env && *env)
        return ns_xstrdup(env);
    const char *state = getenv("XDG_STATE_HOME");
    if (state && *state == '/')
        return ns_xasprintf("%s/nightshift/nightshift.db", state);
    const char *home = getenv("HOME");
    return ns_xasprintf("%s/.local/state/nightshift/nightshift.db", home && *home ? home : ".");
}

/* mkdir -p with mode for each created component. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ns_xstrdup(".");
    if (slash == path)
        return ns_xstrdup("/");
    return ns_xstrndup(path, (size_t)(slash - path));
}

/* The database file's identity as a path: symlinks in it resolved, so that
 * every spelling of one file ("real.db", "link.db" -> real.db, "./x/../real.db")
 * names one data directory and so one set of run locks. A file that does not
 * exist yet resolves through its directory. */
static char *resolve_db_path(const char *path)
{
    char *real = realpath(path, NULL);
    if (real)
        return real;
    char *dir = dir_of(path);
    char *rdir = realpath(dir, NULL);
    free(dir);
    if (!rdir)
        return ns_xstrdup(path);
    const char *slash = strrchr(path, '/');
    char *out = ns_xasprintf("%s/%s", strcmp(rdir, "/") == 0 ? "" : rdir, slash ? slash + 1 : path);
    free(rdir);
    return out;
}

char *store_data_dir(const char *path)
{
    char *real = resolve_db_path(path);
    char *data = ns_xasprintf("%s.d", real);
    free(real);
    return data;
}

/* State others could rewrite is not trusted: a group- or world-writable
 * database lets any local user forge job state (or plant a trigger), a
 * writable or foreign "<db>.d" lets them plant symlinks where the runtime
 * creates logs and locks. A directory must also belong to us and be a real
 * directory (lstat: a symlink is refused). A missing one is fine. */
static int check_private(const char *path, bool dir, char *err, size_t errlen)
{
    struct stat sb;
    if ((dir ? lstat(path, &sb) : stat(path, &sb)) != 0)
        return errno == ENOENT ? 0 : (ns_errf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    if (dir && !S_ISDIR(sb.st_mode)) {
        ns_errf(err, errlen, "%s: not a directory (a symlink or a file is not trusted); remove it",
                path);
        return -1;
    }
    if (dir && sb.st_uid != geteuid()) {
        ns_errf(err, errlen, "%s: belongs to uid %u, not to you (uid %u); not trusted", path,
                (unsigned)sb.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        ns_errf(err, errlen,
                "%s: group- or world-writable (mode %04o): anyone could rewrite job state; "
                "fix it with chmod go-w, then check its contents",
                path, (unsigned)(sb.st_mode & 07777));
        return -1;
    }
    return 0;
}

static bool on_read_only_fs(const char *path)
{
    struct statvfs vfs;
    return statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

/* A WAL database on a read-only filesystem cannot be opened the usual way
 * (readers need "<db>-shm"). Nothing can change it there, so a reader opens
 * it immutable - unless its -wal still holds commits the file lacks. Writers
 * and clients are refused: they would record nothing. */
static int read_only_uri(const char *path, enum ns_store_mode mode, char **uri, char *err,
                         size_t errlen)
{
    if (mode != NS_STORE_READ) {
        ns_errf(err, errlen,
                "%s: on a read-only filesystem: nothing can be recorded there (runs and "
                "operator commands need a writable database)",
                path);
        return -1;
    }
    char *wal = ns_xasprintf("%s-wal", path);
    struct stat sb;
    bool pending = stat(wal, &sb) == 0 && sb.st_size > 0;
    free(wal);
    if (pending) {
        ns_errf(err, errlen,
                "%s: on a read-only filesystem, with commits still in its write-ahead log "
                "(-wal); copy the database with its -wal file to a writable place to read it",
                path);
        return -1;
    }
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (isalnum(*p) || strchr("/._-~", *p))
            buf_addc(&b, (char)*p);
        else
            buf_addf(&b, "%%%02X", *p);
    }
    buf_adds(&b, "?immutable=1");
    *uri = buf_detach(&b);
    return 0;
}

int store_make_dirs(const char *path, char *err, size_t errlen)
{
    char *dir = dir_of(path);
    char *data = store_data_dir(path);
    int rc = 0;
    if (ns_make_dirs(dir, 0700) != 0) {
        ns_errf(err, errlen, "%s: cannot create it: %s", dir, strerror(errno));
        rc = -1;
    } else if (ns_make_dirs(data, 0700) != 0) {
        ns_errf(err, errlen, "%s: cannot create it: %s", data, strerror(errno));
        rc = -1;
    } else {
        rc = check_private(data, true, err, errlen);
    }
    free(dir);
    free(data);
    return rc;
}

int store_exec(struct ns_store *st, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(store_db(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
        ns_errf(err, errlen, "%s: %s", st->path, msg ? msg : sqlite3_errmsg(store_db(st)));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *store_prepare(struct ns_store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &stmt, NULL) != SQLITE_OK) {
        /* Our own SQL text: one that does not prepare is a bug. */
        NS_BUG("cannot prepare SQL: %s\n%s", sqlite3_errmsg(store_db(st)), sql);
    }
    return stmt;
}

/* How long a blocking begin waits for its turn at the gate before it leaves
 * the rest to SQLite's busy timeout (a writer that is not nightshift). */
#define GATE_WAIT_S 5.0

int store_begin(struct ns_store *st, char *err, size_t errlen)
{
    gate_enter(&st->gate, GATE_WAIT_S);
    if (store_exec(st, "BEGIN IMMEDIATE", err, errlen) != 0) {
        gate_leave(&st->gate);
        return -1;
    }
    return 0;
}

int store_step_write(struct ns_store *st, sqlite3_stmt *s)
{
    gate_enter(&st->gate, GATE_WAIT_S);
    int rc = sqlite3_step(s);
    gate_leave(&st->gate);
    return rc;
}

int store_commit(struct ns_store *st, char *err, size_t errlen)
{
    if (store_exec(st, "COMMIT", err, errlen) != 0) {
        store_rollback(st);
        return -1;
    }
    gate_leave(&st->gate);
    return 0;
}

void store_rollback(struct ns_store *st)
{
    if (!sqlite3_get_autocommit(store_db(st)))
        sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    gate_leave(&st->gate);
}

/* An integer PRAGMA's value, -1 if it gives none. */
static int pragma_int(struct ns_store *st, const char *sql)
{
    sqlite3_stmt *s = store_prepare(st, sql);
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
}

static int user_version(struct ns_store *st)
{
    return pragma_int(st, "PRAGMA user_version");
}

int store_page_size(struct ns_store *st)
{
    int v = pragma_int(st, "PRAGMA page_size");
    return v > 0 ? v : 4096;
}

/* Forward migrations: entry i takes the schema from version i to i+1. */
static const char *const migrations[] = {
    NULL, /* 0 -> latest is store_schema_sql itself */
    /* 1 -> 2: attempts know their executor and how to find them again; the
     * local locator of an old attempt is its pid and start time. */
    "ALTER TABLE runs ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';\n"
    "ALTER TABLE attempts ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';\n"
    "ALTER TABLE attempts ADD COLUMN locator TEXT;\n"
    "ALTER TABLE attempts ADD COLUMN label TEXT;\n"
    "ALTER TABLE attempts ADD COLUMN report_offset INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE attempts ADD COLUMN output_offset INTEGER NOT NULL DEFAULT 0;\n"
    "UPDATE attempts SET locator = printf('pid=%d start=%d', pid, coalesce(pid_start, 0)),\n"
    "  label = printf('pid %d', pid) WHERE pid IS NOT NULL;\n",
    /* 2 -> 3: where each attempt started and how much it had to redo (the
     * morning report's rework after crashes and retries). */
    "ALTER TABLE attempts ADD COLUMN progress_from INTEGER;\n"
    "ALTER TABLE attempts ADD COLUMN redone INTEGER;\n",
    /* 3 -> 4: a run's random token, in the names of its files (spool, logs,
     * Slurm job name, the escapee token), which run ids alone are not: SQLite
     * hands an id out again after gc deleted the newest run, and a database
     * made anew at the same path starts at 1. Old runs keep NULL (their
     * files keep the names they have). */
    "ALTER TABLE runs ADD COLUMN token TEXT;\n",
    /* 4 -> 5: why nothing of the run can run (a Slurm node drained), as its
     * runtime's executor last said it, for status and the console; NULL
     * while tasks run. */
    "ALTER TABLE runs ADD COLUMN blocked_reason TEXT;\n",
    /* 5 -> 6: a state change's two states beside its sentence, so
     * `events --json` gives them as fields (issue 22 item 8). Old events
     * keep NULL. */
    "ALTER TABLE events ADD COLUMN from_state TEXT;\n"
    "ALTER TABLE events ADD COLUMN to_state TEXT;\n",
    /* 6 -> 7: pools shared by the runs of the database (issue 19): the
     * tables at the end of store_schema_sql, without their comments. */
    "CREATE TABLE pools (name TEXT PRIMARY KEY, slots INTEGER NOT NULL,\n"
    "  rate_n INTEGER NOT NULL DEFAULT 0, rate_per REAL NOT NULL DEFAULT 1,\n"
    "  next_start_at REAL NOT NULL DEFAULT 0, set_by TEXT NOT NULL DEFAULT 'spec',\n"
    "  updated_at REAL NOT NULL);\n"
    "CREATE TABLE pool_holds (pool TEXT NOT NULL,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  attempt_id INTEGER NOT NULL, weight INTEGER NOT NULL, since REAL NOT NULL,\n"
    "  PRIMARY KEY (pool, attempt_id)) WITHOUT ROWID;\n"
    "CREATE INDEX pool_holds_run ON pool_holds(run_id);\n"
    "CREATE TABLE pool_waiters (pool TEXT NOT NULL,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  weight INTEGER NOT NULL, since REAL NOT NULL, why TEXT NOT NULL,\n"
    "  PRIMARY KEY (pool, run_id)) WITHOUT ROWID;\n"
    "CREATE INDEX pool_waiters_run ON pool_waiters(run_id);\n"
    "CREATE TABLE pool_commands (id INTEGER PRIMARY KEY, pool TEXT NOT NULL,\n"
    "  issued_at REAL NOT NULL, user TEXT NOT NULL, uid INTEGER NOT NULL,\n"
    "  source TEXT NOT NULL, verb TEXT NOT NULL, args TEXT NOT NULL, result TEXT NOT NULL);\n",
    /* 7 -> 8: running counts of error records by signature (the console's
     * groups read them instead of grouping every record), backfilled from
     * the records. */
    "CREATE TABLE error_signatures (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE "
    "CASCADE, signature TEXT NOT NULL, records INTEGER NOT NULL, partitions INTEGER NOT NULL, "
    "PRIMARY KEY (run_id, signature)) WITHOUT ROWID;\n"
    "CREATE TABLE error_signature_parts (run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE "
    "CASCADE, idx INTEGER NOT NULL, signature TEXT NOT NULL, records INTEGER NOT NULL, "
    "PRIMARY KEY (run_id, idx, signature)) WITHOUT ROWID;\n"
    "CREATE INDEX error_signature_parts_first ON error_signature_parts(run_id, signature, idx);\n"
    "INSERT INTO error_signature_parts(run_id, idx, signature, records) SELECT run_id, idx, "
    "signature, count(*) FROM error_records GROUP BY run_id, idx, signature;\n"
    "INSERT INTO error_signatures(run_id, signature, records, partitions) SELECT run_id, "
    "signature, sum(records), count(*) FROM error_signature_parts GROUP BY run_id, signature;\n",
    /* 8 -> 9: how long a run waited for pool slots and for its window
     * (issue 19), for the morning report. */
    "ALTER TABLE runs ADD COLUMN pool_wait_s REAL NOT NULL DEFAULT 0;\n"
    "ALTER TABLE runs ADD COLUMN window_wait_s REAL NOT NULL DEFAULT 0;\n",
    /* 9 -> 10: what a run waits for (after:, run --after RUN), issue 20. */
    "CREATE TABLE run_after (          -- what a run waits for (after:, run --after)\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL,           -- its place in after: (--after RUN last)\n"
    "  job TEXT NOT NULL,              -- the upstream job\n"
    "  partitions TEXT NOT NULL,       -- same-key all\n"
    "  on_failure TEXT NOT NULL,       -- wait skip fail\n"
    "  missing TEXT NOT NULL,          -- error ignore\n"
    "  upstream_run INTEGER,           -- the run waited for; NULL: none exists yet\n"
    "  pinned INTEGER NOT NULL DEFAULT 0, -- named by --after RUN\n"
    "  PRIMARY KEY (run_id, pos)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX run_after_upstream ON run_after(upstream_run);\n",
    /* 10 -> 11: how long an attempt may run before it is a straggler
     * (query_straggler_after), as the runtime last worked it out. */
    "ALTER TABLE runs ADD COLUMN straggler_after REAL;\n",
    /* 11 -> 12: how many attempts ran at each sample (the console run
     * view's running-count sparkline); old samples keep NULL. */
    "ALTER TABLE samples ADD COLUMN running INTEGER;\n",
    /* 12 -> 13: how long an attempt was held before it started, and by what
     * (a pool, the window, an upstream run): the report's timeline shades
     * it. Old attempts keep NULL. */
    "ALTER TABLE attempts ADD COLUMN waited_s REAL;\n"
    "ALTER TABLE attempts ADD COLUMN waited_for TEXT;\n",
    /* 13 -> 14: a pool waiter's priority (spec priority:, issue 19): higher
     * first, then oldest first. */
    "ALTER TABLE pool_waiters ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;\n",
};

static int migrate(struct ns_store *st, char *err, size_t errlen)
{
    if (store_begin(st, err, errlen) != 0)
        return -1;
    int v = user_version(st);
    if (v > NS_SCHEMA_VERSION) {
        store_rollback(st);
        snprintf(err, errlen,
                 "%s: schema version %d is newer than this nightshift knows (%d); upgrade it",
                 st->path, v, NS_SCHEMA_VERSION);
        return -1;
    }
    for (; v < NS_SCHEMA_VERSION; v = v == 0 ? NS_SCHEMA_VERSION : v + 1) {
        const char *sql = v == 0 ? store_schema_sql : migrations[v];
        ns_crashpoint("migrate.before");
        if (store_exec(st, sql, err, errlen) != 0) {
            store_rollback(st);
            return -1;
        }
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", NS_SCHEMA_VERSION);
    if (store_exec(st, pragma, err, errlen) != 0) {
        store_rollback(st);
        return -1;
    }
    int rc = store_commit(st, err, errlen);
    ns_crashpoint("migrate.after");
    return rc;
}

/* Puts a writer's connection in WAL mode. On a new database file several
 * runtimes started at once all convert it, and SQLite answers SQLITE_BUSY
 * at once (no busy handler: two connections each holding the lock the
 * other waits for) to all but one: they try again, within the same 5 s a
 * busy statement is given, until the file is in WAL mode. */
#define WAL_TRY_NS 10000000L
static int set_wal(struct ns_store *st, char *err, size_t errlen)
{
    for (int tries = 0;; tries++) {
        if (store_exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", err, errlen) == 0)
            return 0;
        if ((sqlite3_errcode(store_db(st)) & 0xff) != SQLITE_BUSY || tries >= 500)
            return -1;
        struct timespec pause = {0, WAL_TRY_NS};
        nanosleep(&pause, NULL);
    }
}

int store_open(struct ns_store *st, const char *path, enum ns_store_mode mode, char *err,
               size_t errlen)
{
    memset(st, 0, sizeof *st);
    st->path = ns_xstrdup(path);
    if (mode == NS_STORE_WRITER) {
        char *dir = dir_of(path);
        int rc = ns_make_dirs(dir, 0700);
        free(dir);
        if (rc != 0) {
            ns_errf(err, errlen, "%s: cannot create its directory: %s", path, strerror(errno));
            goto fail;
        }
        /* Create the file ourselves so it is 0600 whatever the umask. */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            ns_errf(err, errlen, "%s: %s", path, strerror(errno));
            goto fail;
        }
        close(fd);
        st->data_dir = store_data_dir(path);
        if (ns_make_dirs(st->data_dir, 0700) != 0) {
            ns_errf(err, errlen, "%s: %s", st->data_dir, strerror(errno));
            goto fail;
        }
    } else if (access(path, F_OK) != 0) {
        ns_errf(err, errlen, "%s: no such database; nothing has run here yet (or pass --db)", path);
        goto fail;
    } else {
        st->data_dir = store_data_dir(path);
    }
    if (check_private(path, false, err, errlen) != 0 ||
        check_private(st->data_dir, true, err, errlen) != 0)
        goto fail;
    if (mode != NS_STORE_READ) /* readers never write: no turn to take */
        gate_open(&st->gate, st->data_dir, mode == NS_STORE_WRITER);
    int flags = mode == NS_STORE_READ ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    char *uri = NULL;
    if (on_read_only_fs(path)) {
        if (read_only_uri(path, mode, &uri, err, errlen) != 0)
            goto fail;
        flags |= SQLITE_OPEN_URI;
    }
    /* SQLite's memory statistics take a global mutex on every allocation;
     * nothing here reads them. Only possible before the first open. */
    static bool configured;
    if (!configured) {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        /* A multi-row INSERT keeps a statement journal (the pages it may
         * have to undo alone). Past 64 KiB SQLite moves it to a temporary
         * file, and an error-record flood then wrote every page a third
         * time, to /var/tmp: up to 4 MiB stays in memory, freed as each
         * statement ends. */
        sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 4 << 20);
        configured = true;
    }
    /* A writer's connection may be shared with the journal's error-record
     * thread (rowqueue.h): serialized. Everyone else's has one thread. */
    flags |= mode == NS_STORE_WRITER ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX;
    sqlite3 *db = NULL;
    int orc = sqlite3_open_v2(uri ? uri : path, &db, flags, NULL);
    st->db = (struct ns_store_conn *)(void *)db;
    free(uri);
    if (orc != SQLITE_OK) {
        ns_errf(err, errlen, "%s: %s", path,
                store_db(st) ? sqlite3_errmsg(store_db(st)) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(store_db(st), 5000);
    sqlite3_extended_result_codes(store_db(st), 1);
    if (mode == NS_STORE_WRITER) {
        /* SQLite's default 4 KiB pages: 16 KiB ones took a fifth off
         * SQLite's CPU per error record in a flood, but the whole run gained
         * only ~4 % and operator commands got slower (docs/benchmarks.md,
         * fifth round). */
        if (set_wal(st, err, errlen) != 0)
            goto fail;
    }
    if (store_exec(st, "PRAGMA foreign_keys=ON", err, errlen) != 0)
        goto fail;
    if (mode == NS_STORE_WRITER) {
        if (migrate(st, err, errlen) != 0)
            goto fail;
    } else {
        int v = user_version(st);
        if (v == 0) {
            ns_errf(err, errlen, "%s: not a nightshift database", path);
            goto fail;
        }
        if (v != NS_SCHEMA_VERSION) {
            ns_errf(err, errlen, "%s: schema version %d, this nightshift knows %d (%s)", path, v,
                    NS_SCHEMA_VERSION,
                    v > NS_SCHEMA_VERSION ? "upgrade nightshift" : "a run with it migrates it");
            goto fail;
        }
    }
    return 0;
fail:
    store_close(st);
    return -1;
}

void store_close(struct ns_store *st)
{
    gate_close(&st->gate);
    if (store_db(st))
        sqlite3_close(store_db(st));
    free(st->path);
    free(st->data_dir);
    memset(st, 0, sizeof *st);
}

int64_t store_find_run(struct ns_store *st, const char *run_or_job, char *err, size_t errlen)
{
    int64_t id;
    if (ns_parse_int64(run_or_job, &id) != 0)
        return store_find_job_run(st, run_or_job, err, errlen);
    sqlite3_stmt *s = store_prepare(st, "SELECT id FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int64_t found = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        found = -1;
    }
    sqlite3_finalize(s);
    return found;
}

int64_t store_find_job_run(struct ns_store *st, const char *job, char *err, size_t errlen)
{
    sqlite3_stmt *s =
        store_prepare(st, "SELECT id FROM runs WHERE job = ? ORDER BY id DESC LIMIT 1");
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int64_t found = 0;
    if (rc == SQLITE_ROW) {
        found = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: %s", st->path, sqlite3_errmsg(store_db(st)));
        found = -1;
    }
    sqlite3_finalize(s);
    return found;
}

int64_t store_latest_run(struct ns_store *st)
{
    sqlite3_stmt *s = store_prepare(st, "SELECT max(id) FROM runs");
    int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return id;
}

char *store_make_run_dir(const struct ns_store *st, int64_t run_id, const char *fresh_token,
                         char *err, size_t errlen)
{
    char *dir = ns_xasprintf("%s/run-%lld", st->data_dir, (long long)run_id);
    if (fresh_token && check_private(dir, true, err, errlen) == 0) {
        /* A new run whose id an earlier run had (gc deleted the newest run,
         * or the database was made anew beside its old data directory):
         * what is there is not ours. Kept aside, never reused. */
        char *aside = ns_xasprintf("%s.orphan-%s", dir, fresh_token);
        int moved = rename(dir, aside);
        free(aside);
        if (moved != 0 && errno != ENOENT) {
            ns_errf(err, errlen, "%s: cannot move an earlier run's files aside: %s", dir,
                    strerror(errno));
            free(dir);
            return NULL;
        }
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ns_errf(err, errlen, "%s: %s", dir, strerror(errno));
        free(dir);
        return NULL;
    }
    if (check_private(dir, true, err, errlen) != 0) {
        free(dir);
        return NULL;
    }
    return dir;
}

static char *exit_note_path(const struct ns_store *st, int64_t run_id)
{
    return ns_xasprintf("%s/run-%lld.exit", st->data_dir, (long long)run_id);
}

void store_exit_note_remove(const struct ns_store *st, int64_t run_id)
{
    char *path = exit_note_path(st, run_id);
    unlink(path);
    free(path);
}

int store_exit_note_reserve(const struct ns_store *st, int64_t run_id)
{
    char *path = exit_note_path(st, run_id);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    free(path);
    if (fd < 0)
        return -1;
    char blank[NS_EXIT_NOTE_MAX];
    memset(blank, ' ', sizeof blank);
    if (pwrite(fd, blank, sizeof blank, 0) != (ssize_t)sizeof blank || fsync(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void store_exit_note_write(int fd, const char *why)
{
    char note[NS_EXIT_NOTE_MAX];
    memset(note, ' ', sizeof note);
    size_t n = strcspn(why, "\n");
    if (n > sizeof note)
        n = sizeof note;
    memcpy(note, why, n);
    /* Over the reserved blocks: no new space is needed, even on a full disk. */
    if (pwrite(fd, note, sizeof note, 0) == (ssize_t)sizeof note)
        (void)fdatasync(fd);
}

char *store_exit_note_read(const struct ns_store *st, int64_t run_id)
{
    char *path = exit_note_path(st, run_id);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    if (fd < 0)
        return NULL;
    char note[NS_EXIT_NOTE_MAX + 1];
    ssize_t got = pread(fd, note, NS_EXIT_NOTE_MAX, 0);
    close(fd);
    if (got <= 0)
        return NULL;
    size_t n = (size_t)got;
    while (n > 0 && (note[n - 1] == ' ' || note[n - 1] == '\0'))
        n--;
    return n > 0 ? ns_xstrndup(note, n) : NULL;
}

char *store_lock_path(const struct ns_store *st, int64_t run_id)
{
    return ns_xasprintf("%s/run-%lld.lock", st->data_dir, (long long)run_id);
}

bool store_runtime_alive(const struct ns_store *st, int64_t run_id)
{
    char *path = store_lock_path(st, run_id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return false;
    /* The runtime holds an exclusive flock for its whole life; the kernel
     * drops it when the process dies, however it dies. */
    bool alive = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return alive;
}
