/*
 * runs.c - the supervisor's own rows as typed calls (runs.h): finding or
 * creating its run, storing the partitions, the run's settings and marks,
 * and the reads the running loop makes per partition, per command and per
 * poll.
 *
 * The per-partition reads are on the loop's paths (a partition loaded on
 * demand, a launch, a failure message): their statements are prepared once
 * in runs_open and reset after each use, and read the supervisor's own
 * connection, so they see the turn's uncommitted writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "rowbatch.h"
#include "nightshift/runs.h"
#include "nightshift/util.h"

static char *column_dup(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL
               ? NULL
               : ns_xstrdup((const char *)sqlite3_column_text(s, col));
}

/* ---- setting a run up ---- */

int runs_find(struct ns_store *st, const char *job, const char *params, struct ns_run_found *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s =
        store_prepare(st, "SELECT id, state, spec_hash, plan_hash, spec_canon, total FROM runs "
                          "WHERE job = ? AND params = ? ORDER BY id DESC LIMIT 1");
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, params, -1, SQLITE_STATIC);
    int found = sqlite3_step(s) == SQLITE_ROW;
    if (found) {
        out->id = sqlite3_column_int64(s, 0);
        out->state = query_run_state_of((const char *)sqlite3_column_text(s, 1));
        out->spec_hash = ns_xstrdup((const char *)sqlite3_column_text(s, 2));
        out->plan_hash = ns_xstrdup((const char *)sqlite3_column_text(s, 3));
        out->spec_canon = ns_xstrdup((const char *)sqlite3_column_text(s, 4));
        out->total = sqlite3_column_int64(s, 5);
    }
    sqlite3_finalize(s);
    return found;
}

void runs_found_release(struct ns_run_found *f)
{
    free(f->spec_hash);
    free(f->plan_hash);
    free(f->spec_canon);
    memset(f, 0, sizeof *f);
}

bool runs_exists(struct ns_store *st, const char *job, const char *params)
{
    sqlite3_stmt *q = store_prepare(st, "SELECT 1 FROM runs WHERE job = ? AND params = ? LIMIT 1");
    sqlite3_bind_text(q, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, params, -1, SQLITE_STATIC);
    bool exists = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return exists;
}

int64_t runs_create(struct ns_store *st, const struct ns_run_new *r, char *err, size_t errlen)
{
    double now = ns_now();
    sqlite3_stmt *s = store_prepare(
        st, "INSERT INTO runs(job, params, params_json, spec_path, spec_canon, spec_hash, "
            "plan_hash, state, concurrency, total, n_pending, created_at, updated_at, token) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, lower(hex(randomblob(8))))");
    sqlite3_bind_text(s, 1, r->job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->params, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->params_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->spec_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->spec_canon, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->spec_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, r->plan_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, r->concurrency);
    sqlite3_bind_int64(s, 9, r->total);
    sqlite3_bind_int64(s, 10, r->total);
    sqlite3_bind_double(s, 11, now);
    sqlite3_bind_double(s, 12, now);
    int step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: cannot create the run: %s", st->path,
                sqlite3_errmsg(store_db(st)));
        return -1;
    }
    return sqlite3_last_insert_rowid(store_db(st));
}

struct ns_runs_parts {
    struct ns_store *st;
    struct ns_rowbatch *rows;
    int rc; /* of the last batch written */
};

struct ns_runs_parts *runs_parts_new(struct ns_store *st)
{
    struct ns_runs_parts *w = ns_xcalloc(1, sizeof *w);
    w->st = st;
    w->rows = rowbatch_new(
        store_db(st), "INSERT INTO partitions(run_id, idx, key, params_json, state, max_attempts)",
        "(?, ?, ?, ?, 'pending', ?)");
    w->rc = SQLITE_OK;
    return w;
}

int runs_parts_add(struct ns_runs_parts *w, int64_t run_id, int64_t idx, const char *key,
                   const char *params_json, size_t params_len, int max_attempts)
{
    rowbatch_int(w->rows, run_id);
    rowbatch_int(w->rows, idx);
    rowbatch_text(w->rows, key, strlen(key));
    rowbatch_text(w->rows, params_json, params_len);
    rowbatch_int(w->rows, max_attempts);
    if (rowbatch_row_done(w->rows))
        w->rc = rowbatch_flush(w->rows);
    return w->rc == SQLITE_OK ? 0 : -1;
}

int runs_parts_finish(struct ns_runs_parts *w, bool write, char *err, size_t errlen)
{
    if (write && w->rc == SQLITE_OK)
        w->rc = rowbatch_flush(w->rows);
    int rc = w->rc == SQLITE_OK ? 0 : -1;
    if (rc != 0)
        ns_errf(err, errlen, "%s: cannot store partitions: %s", w->st->path,
                sqlite3_errmsg(store_db(w->st)));
    rowbatch_free(w->rows);
    free(w);
    return rc;
}

/* One value of the run's row; fallback if there is none. */
static int64_t run_int(struct ns_store *st, const char *sql, int64_t run_id, int64_t fallback)
{
    sqlite3_stmt *s = store_prepare(st, sql);
    sqlite3_bind_int64(s, 1, run_id);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : fallback;
    sqlite3_finalize(s);
    return v;
}

int64_t runs_runtime_pid(struct ns_store *st, int64_t run_id)
{
    return run_int(st, "SELECT runtime_pid FROM runs WHERE id = ?", run_id, 0);
}

int runs_token(struct ns_store *st, int64_t run_id, char **token)
{
    *token = NULL;
    sqlite3_stmt *q = store_prepare(st, "SELECT token FROM runs WHERE id = ?");
    sqlite3_bind_int64(q, 1, run_id);
    bool exists = sqlite3_step(q) == SQLITE_ROW;
    if (exists && sqlite3_column_type(q, 0) == SQLITE_TEXT)
        *token = ns_xstrdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return exists;
}

int64_t runs_last_command(struct ns_store *st, int64_t run_id)
{
    return run_int(st, "SELECT coalesce(max(id), 0) FROM commands WHERE run_id = ?", run_id, 0);
}

int runs_concurrency(struct ns_store *st, int64_t run_id)
{
    return (int)run_int(st, "SELECT concurrency FROM runs WHERE id = ?", run_id, 0);
}

bool runs_has_ended(struct ns_store *st, int64_t run_id)
{
    return run_int(st, "SELECT finished_at IS NOT NULL FROM runs WHERE id = ?", run_id, 0) != 0;
}

int runs_mark_started(struct ns_store *st, int64_t run_id, double now, int pid,
                      const char *runtime_log, double *started_at, char *err, size_t errlen)
{
    sqlite3_stmt *s = store_prepare(
        st, "UPDATE runs SET started_at = coalesce(started_at, ?1), finished_at = NULL, "
            "runtime_pid = ?2, heartbeat_at = ?1, runtime_log = ?4 WHERE id = ?3");
    sqlite3_bind_double(s, 1, now);
    sqlite3_bind_int(s, 2, pid);
    sqlite3_bind_int64(s, 3, run_id);
    if (runtime_log)
        sqlite3_bind_text(s, 4, runtime_log, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step != SQLITE_DONE)
        ns_errf(err, errlen, "%s: run %lld: cannot mark it started: %s", st->path,
                (long long)run_id, sqlite3_errmsg(store_db(st)));
    sqlite3_finalize(s);
    sqlite3_stmt *q = store_prepare(st, "SELECT started_at FROM runs WHERE id = ?");
    sqlite3_bind_int64(q, 1, run_id);
    *started_at = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_double(q, 0) : 0;
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? 0 : -1;
}

void runs_sla(struct ns_store *st, int64_t run_id, double *deadline, char **state)
{
    *deadline = 0;
    *state = NULL;
    sqlite3_stmt *q = store_prepare(st, "SELECT sla_deadline, sla_state FROM runs WHERE id = ?");
    sqlite3_bind_int64(q, 1, run_id);
    if (sqlite3_step(q) == SQLITE_ROW) {
        *deadline = sqlite3_column_double(q, 0);
        *state = column_dup(q, 1);
    }
    sqlite3_finalize(q);
}

/* ---- the running supervisor's reads ---- */

/* The columns runs_part_read reads, in its order. */
#define RUNS_PART_COLUMNS                                                                          \
    "idx, state, attempts, attempts_total, progress, total, error_records, checkpoint, "           \
    "checkpoint_progress, checkpoint_err_id, next_attempt_at, started_at, finished_at, "           \
    "last_message, last_signature"

/* True for a row as run creation wrote it: what runs_part_read would read
 * from it is what a new struct part starts from, so it need not be read. */
#define RUNS_PART_UNTOUCHED                                                                        \
    "(attempts = 0 AND attempts_total = 0 AND progress = 0 AND total IS NULL AND "                 \
    "error_records = 0 AND checkpoint IS NULL AND next_attempt_at IS NULL AND "                    \
    "started_at IS NULL AND finished_at IS NULL AND last_message IS NULL AND "                     \
    "last_signature IS NULL)"

struct ns_runs {
    struct ns_store *st;
    int64_t run_id;
    sqlite3_stmt *key;         /* a partition's key, by idx */
    sqlite3_stmt *params;      /* a partition's parameters, by idx */
    sqlite3_stmt *part;        /* a partition's row, by idx */
    sqlite3_stmt *part_errors; /* a partition's error records, counted */
    sqlite3_stmt *data_version;
};

struct ns_runs *runs_open(struct ns_store *st, int64_t run_id)
{
    struct ns_runs *r = ns_xcalloc(1, sizeof *r);
    r->st = st;
    r->run_id = run_id;
    r->key = store_prepare(st, "SELECT key FROM partitions WHERE run_id = ?1 AND idx = ?2");
    r->part = store_prepare(st, "SELECT " RUNS_PART_COLUMNS " FROM partitions "
                                "WHERE run_id = ?1 AND idx = ?2");
    r->part_errors =
        store_prepare(st, "SELECT count(*) FROM error_records WHERE run_id = ?1 AND idx = ?2");
    r->params = store_prepare(st, "SELECT j.key, j.value FROM partitions p, "
                                  "json_each(p.params_json) j "
                                  "WHERE p.run_id = ?1 AND p.idx = ?2 ORDER BY j.id");
    r->data_version = store_prepare(st, "PRAGMA data_version");
    return r;
}

void runs_close(struct ns_runs *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->key);
    sqlite3_finalize(r->params);
    sqlite3_finalize(r->part);
    sqlite3_finalize(r->part_errors);
    sqlite3_finalize(r->data_version);
    free(r);
}

int64_t runs_load_states(struct ns_runs *r,
                         void (*each)(void *ctx, const struct ns_part_state_row *), void *ctx,
                         char *err, size_t errlen)
{
    sqlite3_stmt *s =
        store_prepare(r->st, "SELECT idx, state, progress, total, " RUNS_PART_UNTOUCHED
                             " FROM partitions WHERE run_id = ? ORDER BY idx");
    sqlite3_bind_int64(s, 1, r->run_id);
    int64_t seen = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct ns_part_state_row row = {
            .idx = sqlite3_column_int64(s, 0),
            .state = query_part_state_of((const char *)sqlite3_column_text(s, 1)),
            .progress = sqlite3_column_int64(s, 2),
            .total = sqlite3_column_type(s, 3) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 3),
            .untouched = sqlite3_column_int(s, 4) != 0,
        };
        each(ctx, &row);
        seen++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "%s", sqlite3_errmsg(store_db(r->st)));
        return -1;
    }
    return seen;
}

int runs_count_states(struct ns_runs *r, int64_t counts[NS_PS_COUNT])
{
    for (int i = 0; i < NS_PS_COUNT; i++)
        counts[i] = 0;
    sqlite3_stmt *s = store_prepare(
        r->st, "SELECT state, count(*) FROM partitions WHERE run_id = ? GROUP BY state");
    sqlite3_bind_int64(s, 1, r->run_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int state = query_part_state_of((const char *)sqlite3_column_text(s, 0));
        if (state >= 0)
            counts[state] = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t runs_error_count(struct ns_runs *r)
{
    return run_int(r->st, "SELECT count(*) FROM error_records WHERE run_id = ?", r->run_id, 0);
}

char *runs_part_key(struct ns_runs *r, int64_t idx)
{
    sqlite3_stmt *s = r->key;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int64(s, 2, idx);
    char *key = NULL;
    if (sqlite3_step(s) == SQLITE_ROW)
        key = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return key;
}

int runs_part_params(struct ns_runs *r, int64_t idx, struct ns_partition *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = r->params;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int64(s, 2, idx);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->params_len == cap) {
            cap = cap ? cap * 2 : 16;
            out->params = ns_xrealloc(out->params, cap * sizeof *out->params);
        }
        struct ns_kv *kv = &out->params[out->params_len++];
        kv->name = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
        kv->value = ns_xstrdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    out->index = idx;
    out->key = out->params_len > 1 ? out->params[1].value : NULL;
    if (rc != SQLITE_DONE || !out->key) {
        ns_errf(err, errlen, "partition %lld: cannot read its parameters: %s", (long long)idx,
                rc != SQLITE_DONE ? sqlite3_errmsg(store_db(r->st)) : "not stored");
        return -1;
    }
    return 0;
}

bool runs_part_read(struct ns_runs *r, int64_t idx, struct ns_part_image *img)
{
    sqlite3_stmt *s = r->part;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int64(s, 2, idx);
    bool found = sqlite3_step(s) == SQLITE_ROW;
    if (found) {
        img->attempts = sqlite3_column_int(s, 2);
        img->attempts_total = sqlite3_column_int(s, 3);
        img->progress = sqlite3_column_int64(s, 4);
        img->total = sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 5);
        img->errors = sqlite3_column_int64(s, 6);
        if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
            img->checkpoint_len = (size_t)sqlite3_column_bytes(s, 7);
            img->checkpoint = ns_xstrndup(sqlite3_column_blob(s, 7), img->checkpoint_len);
            img->checkpoint_progress = sqlite3_column_int64(s, 8);
            img->checkpoint_err_id = sqlite3_column_int64(s, 9);
        }
        img->retry_at = sqlite3_column_double(s, 10);
        img->started_at = sqlite3_column_double(s, 11);
        img->finished_at = sqlite3_column_double(s, 12);
        img->last_message = column_dup(s, 13);
        img->last_signature = column_dup(s, 14);
    }
    sqlite3_reset(s);
    return found;
}

int64_t runs_part_errors(struct ns_runs *r, int64_t idx)
{
    sqlite3_stmt *s = r->part_errors;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_int64(s, 2, idx);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}

int64_t runs_data_version(struct ns_runs *r)
{
    sqlite3_stmt *s = r->data_version;
    sqlite3_reset(s);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return v;
}

size_t runs_open_attempts(struct ns_runs *r, struct ns_attempt_image **rows)
{
    sqlite3_stmt *s = store_prepare(
        r->st, "SELECT id, idx, n, executor, locator, started_at, report_offset, output_offset, "
               "log_path, (SELECT CASE WHEN p.progress > coalesce(a.progress_from, 0) THEN "
               "p.updated_at END FROM partitions p WHERE p.run_id = a.run_id AND p.idx = a.idx) "
               "FROM attempts a WHERE run_id = ? AND outcome IS NULL");
    sqlite3_bind_int64(s, 1, r->run_id);
    struct ns_attempt_image *out = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        out = ns_xrealloc(out, (n + 1) * sizeof *out);
        out[n] = (struct ns_attempt_image){
            .id = sqlite3_column_int64(s, 0),
            .idx = sqlite3_column_int64(s, 1),
            .n = (int)sqlite3_column_int64(s, 2),
            .executor = ns_xstrdup((const char *)sqlite3_column_text(s, 3)),
            .locator = column_dup(s, 4),
            .started_at = sqlite3_column_double(s, 5),
            .report_offset = sqlite3_column_int64(s, 6),
            .output_offset = sqlite3_column_int64(s, 7),
            .log_path = column_dup(s, 8),
            .last_report_at = sqlite3_column_double(s, 9),
        };
        n++;
    }
    sqlite3_finalize(s);
    *rows = out;
    return n;
}

void runs_attempts_free(struct ns_attempt_image *rows, size_t n)
{
    /* The strings were made by runs_open_attempts: ours to free. */
    for (size_t i = 0; i < n; i++) {
        free((char *)rows[i].executor);
        free((char *)rows[i].locator);
        free((char *)rows[i].label);
        free((char *)rows[i].log_path);
    }
    free(rows);
}

size_t runs_pending_commands(struct ns_runs *r, struct ns_pending_command **rows)
{
    sqlite3_stmt *s = store_prepare(r->st, "SELECT id, verb, user, source, args FROM commands "
                                           "WHERE run_id = ? AND state = 'pending' ORDER BY id");
    sqlite3_bind_int64(s, 1, r->run_id);
    struct ns_pending_command *cmds = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        cmds = ns_xrealloc(cmds, (n + 1) * sizeof *cmds);
        cmds[n].id = sqlite3_column_int64(s, 0);
        cmds[n].verb = ns_xstrdup((const char *)sqlite3_column_text(s, 1));
        cmds[n].user = ns_xstrdup((const char *)sqlite3_column_text(s, 2));
        cmds[n].source = ns_xstrdup((const char *)sqlite3_column_text(s, 3));
        cmds[n].args = ns_xstrdup((const char *)sqlite3_column_text(s, 4));
        n++;
    }
    sqlite3_finalize(s);
    *rows = cmds;
    return n;
}

void runs_commands_free(struct ns_pending_command *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].verb);
        free(rows[i].user);
        free(rows[i].source);
        free(rows[i].args);
    }
    free(rows);
}

/* Steps s to its end, collecting column 0 of each row - as an integer, or
 * (hashed) the ns_hash64 of its text; finalizes s. The caller frees the
 * array (NULL when there is no row). */
static int64_t *collect_column(sqlite3_stmt *s, size_t *n_out, bool hashed)
{
    int64_t *out = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            out = ns_xrealloc(out, cap * sizeof *out);
        }
        out[n++] = hashed ? (int64_t)ns_hash64(sqlite3_column_text(s, 0),
                                               (size_t)sqlite3_column_bytes(s, 0), NS_HASH_SEED)
                          : sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    *n_out = n;
    return out;
}

static int64_t *collect_ints(sqlite3_stmt *s, size_t *n_out)
{
    return collect_column(s, n_out, false);
}

int64_t *runs_parts_with_signature(struct ns_runs *r, const char *sig, size_t *n_out)
{
    sqlite3_stmt *s = store_prepare(r->st, "SELECT idx FROM partitions WHERE run_id = ?1 AND "
                                           "last_signature = ?2 ORDER BY idx");
    sqlite3_bind_int64(s, 1, r->run_id);
    sqlite3_bind_text(s, 2, sig, -1, SQLITE_STATIC);
    return collect_ints(s, n_out);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t *runs_key_hashes(struct ns_runs *r, size_t *n_out)
{
    sqlite3_stmt *s = store_prepare(r->st, "SELECT key FROM partitions WHERE run_id = ?1");
    sqlite3_bind_int64(s, 1, r->run_id);
    uint64_t *h = (uint64_t *)collect_column(s, n_out, true);
    if (*n_out)
        qsort(h, *n_out, sizeof *h, cmp_u64);
    return h;
}

void runs_succeeded_durations(struct ns_runs *r, void (*each)(void *ctx, double seconds), void *ctx)
{
    sqlite3_stmt *s = store_prepare(r->st, "SELECT duration FROM attempts WHERE run_id = ?1 AND "
                                           "outcome = 'succeeded' AND duration IS NOT NULL");
    sqlite3_bind_int64(s, 1, r->run_id);
    while (sqlite3_step(s) == SQLITE_ROW)
        each(ctx, sqlite3_column_double(s, 0));
    sqlite3_finalize(s);
}

/* SELECT json_extract(json, path) (or json_type) stepped once. */
static sqlite3_stmt *json_at(struct ns_runs *r, const char *fn, const char *json, const char *path)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %s(?1, ?2)", fn);
    sqlite3_stmt *s = store_prepare(r->st, sql);
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

bool runs_json_bool(struct ns_runs *r, const char *json, const char *path)
{
    sqlite3_stmt *s = json_at(r, "json_extract", json, path);
    bool v = s && sqlite3_column_int(s, 0) != 0;
    sqlite3_finalize(s);
    return v;
}

char *runs_json_text(struct ns_runs *r, const char *json, const char *path)
{
    sqlite3_stmt *s = json_at(r, "json_extract", json, path);
    char *v = s ? column_dup(s, 0) : NULL;
    sqlite3_finalize(s);
    return v;
}

bool runs_json_has(struct ns_runs *r, const char *json, const char *path)
{
    sqlite3_stmt *s = json_at(r, "json_type", json, path);
    bool v = s && sqlite3_column_type(s, 0) != SQLITE_NULL;
    sqlite3_finalize(s);
    return v;
}

int64_t *runs_json_ints(struct ns_runs *r, const char *json, const char *path, size_t *n_out)
{
    sqlite3_stmt *s = store_prepare(r->st, "SELECT value FROM json_each(?1, ?2)");
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
    return collect_ints(s, n_out);
}
