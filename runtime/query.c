/*
 * query.c - the read model (see query.h): the SQL every reader runs, and the
 * figures derived from it, each computed once.
 *
 * Invariants: nothing here writes; statements are finalized before return,
 * so no read transaction outlives a call (WAL checkpoints never starve);
 * columns are read by name through small tables, never by a position that
 * a second SELECT elsewhere could get out of step with.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/query.h"
#include "nightshift/util.h"

#define NS_PS_WORD(e, w) [NS_PS_##e] = w,
static const char *const part_state_words[NS_PS_COUNT] = {NS_PART_STATES(NS_PS_WORD)};
#undef NS_PS_WORD

const char *query_part_state_word(enum ns_part_state s)
{
    return (unsigned)s < NS_PS_COUNT ? part_state_words[s] : "?";
}

int query_part_state_of(const char *word)
{
    for (int i = 0; i < NS_PS_COUNT; i++)
        if (word && strcmp(word, part_state_words[i]) == 0)
            return i;
    return -1;
}

int64_t query_done(const struct ns_state_counts *c)
{
    return c->n[NS_PS_SUCCEEDED] + c->n[NS_PS_FAILED] + c->n[NS_PS_SKIPPED];
}

bool query_in_failure_group(const char *state_word)
{
    return state_word &&
           (strcmp(state_word, "failed") == 0 || strcmp(state_word, "retry_wait") == 0);
}

bool query_runtime_alive(const struct ns_store *st, int64_t run_id)
{
    return store_runtime_alive(st, run_id);
}

double query_project(const struct ns_projection_in *in, double now)
{
    if (!in->dispatching || in->total <= 0)
        return 0;
    int64_t left = in->total - in->done;
    if (left <= 0)
        return now;
    if (in->rate > 0)
        return now + (double)left / in->rate;
    double done = (double)in->done + in->partial;
    if (done >= (double)in->total)
        return now;
    if (done <= 0 || in->elapsed_s < 1.0)
        return 0;
    return now + in->elapsed_s * ((double)in->total - done) / done;
}

bool query_has_eta(const char *state, bool alive)
{
    return alive && state && strcmp(state, "running") == 0;
}

bool query_run_final(const char *state)
{
    return state && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
                     strcmp(state, "stopped") == 0);
}

double query_record_rate(int64_t records_now, int64_t records_at_start, double elapsed_s)
{
    if (elapsed_s <= 0.5)
        return 0;
    int64_t own = records_now - records_at_start;
    return own > 0 ? (double)own / elapsed_s : 0;
}

/* ---- reading columns by name ---- */

enum col_kind { C_TEXT, C_INT, C_REAL };

/* One column of a SELECT and where its value goes; the SELECT list is built
 * from the same table, so names and positions cannot drift. */
struct col {
    const char *sql;
    enum col_kind kind;
    size_t off;
};

static char *col_text(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(s, i);
    int n = sqlite3_column_bytes(s, i);
    return ns_xstrndup(p ? p : "", (size_t)n);
}

static void cols_select(struct ns_buf *b, const struct col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_addf(b, "%s%s", i ? ", " : "", cols[i].sql);
}

static void cols_read(sqlite3_stmt *s, const struct col *cols, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char *at = (char *)base + cols[i].off;
        switch (cols[i].kind) {
        case C_TEXT:
            *(char **)(void *)at = col_text(s, (int)i);
            break;
        case C_INT:
            *(int64_t *)(void *)at = sqlite3_column_int64(s, (int)i);
            break;
        case C_REAL:
            *(double *)(void *)at = sqlite3_column_double(s, (int)i);
            break;
        }
    }
}

/* ---- the run summary ---- */

#define RS(f) offsetof(struct ns_run_summary, f)
static const struct col run_cols[] = {
    {"id", C_INT, RS(id)},
    {"job", C_TEXT, RS(job)},
    {"params", C_TEXT, RS(params)},
    {"params_json", C_TEXT, RS(params_json)},
    {"state", C_TEXT, RS(state)},
    {"state_reason", C_TEXT, RS(state_reason)},
    {"spec_path", C_TEXT, RS(spec_path)},
    {"runtime_log", C_TEXT, RS(runtime_log)},
    {"sla_state", C_TEXT, RS(sla_state)},
    {"concurrency", C_INT, RS(concurrency)},
    {"total", C_INT, RS(counts.total)},
    {"n_pending", C_INT, RS(counts.n[NS_PS_PENDING])},
    {"n_running", C_INT, RS(counts.n[NS_PS_RUNNING])},
    {"n_retry_wait", C_INT, RS(counts.n[NS_PS_RETRY_WAIT])},
    {"n_paused", C_INT, RS(counts.n[NS_PS_PAUSED])},
    {"n_succeeded", C_INT, RS(counts.n[NS_PS_SUCCEEDED])},
    {"n_failed", C_INT, RS(counts.n[NS_PS_FAILED])},
    {"n_skipped", C_INT, RS(counts.n[NS_PS_SKIPPED])},
    {"records_done", C_INT, RS(records_done)},
    {"records_total", C_INT, RS(records_total)},
    {"error_records", C_INT, RS(error_records)},
    {"coalesce(throughput, 0)", C_REAL, RS(throughput)},
    {"coalesce(record_rate, 0)", C_REAL, RS(record_rate)},
    {"created_at", C_REAL, RS(created_at)},
    {"coalesce(started_at, 0)", C_REAL, RS(started_at)},
    {"coalesce(finished_at, 0)", C_REAL, RS(finished_at)},
    {"updated_at", C_REAL, RS(updated_at)},
    {"coalesce(sla_deadline, 0)", C_REAL, RS(sla_deadline)},
    {"coalesce(sla_max_duration, 0)", C_REAL, RS(sla_max_duration)},
    {"coalesce(runtime_pid, 0)", C_INT, RS(runtime_pid)},
    {"coalesce(heartbeat_at, 0)", C_REAL, RS(heartbeat_at)},
    {"coalesce(projected_finish, 0)", C_REAL, RS(finish_at)},
};
#undef RS

int query_run_summary(struct ns_store *st, int64_t run_id, double now, struct ns_run_summary *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT ");
    cols_select(&sql, run_cols, NS_ARRAY_LEN(run_cols));
    buf_adds(&sql, " FROM runs WHERE id = ?");
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql.data, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading run %lld: %s", (long long)run_id, sqlite3_errmsg(st->db));
        buf_release(&sql);
        return -1;
    }
    buf_release(&sql);
    sqlite3_bind_int64(s, 1, run_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            ns_errf(err, errlen, "reading run %lld: %s", (long long)run_id, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? 0 : -1;
    }
    cols_read(s, run_cols, NS_ARRAY_LEN(run_cols), out);
    sqlite3_finalize(s);
    if (!out->job)
        out->job = ns_xstrdup("");
    if (!out->params)
        out->params = ns_xstrdup("");
    if (!out->params_json)
        out->params_json = ns_xstrdup("{}");
    if (!out->state)
        out->state = ns_xstrdup("?");
    if (!out->spec_path)
        out->spec_path = ns_xstrdup("");
    out->alive = query_runtime_alive(st, run_id);
    out->final = query_run_final(out->state);
    out->has_eta = query_has_eta(out->state, out->alive) && out->finish_at > 0;
    if (out->has_eta)
        out->eta_s = out->finish_at - now;
    else
        out->eta_s = out->finish_at = 0;
    if (out->started_at > 0)
        out->elapsed_s = (out->finished_at > 0 ? out->finished_at : now) - out->started_at;
    return 1;
}

void query_run_summary_release(struct ns_run_summary *s)
{
    free(s->job);
    free(s->params);
    free(s->params_json);
    free(s->state);
    free(s->state_reason);
    free(s->spec_path);
    free(s->runtime_log);
    free(s->sla_state);
    memset(s, 0, sizeof *s);
}

/* ---- failure groups ---- */

int query_failure_groups(struct ns_store *st, int64_t run_id, int limit,
                         struct ns_failure_groups *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT g.sig, g.failed, g.waiting, g.first, "
                      " (SELECT last_message FROM partitions WHERE run_id = ?1 AND idx = g.first), "
                      " sum(g.failed + g.waiting) OVER () "
                      "FROM (SELECT last_signature AS sig, sum(state = 'failed') AS failed, "
                      "  sum(state = 'retry_wait') AS waiting, min(idx) AS first FROM partitions "
                      "  WHERE run_id = ?1 AND state IN (" NS_FAILURE_GROUP_STATES ") "
                      "  GROUP BY last_signature) g "
                      "ORDER BY g.failed + g.waiting DESC, g.sig IS NULL, g.sig LIMIT ?2";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        ns_errf(err, errlen, "reading failure groups: %s", sqlite3_errmsg(st->db));
        return -1;
    }
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 8;
            out->g = ns_xrealloc(out->g, cap * sizeof *out->g);
        }
        struct ns_failure_group *g = &out->g[out->n++];
        g->signature = col_text(s, 0);
        g->failed = sqlite3_column_int64(s, 1);
        g->retry_wait = sqlite3_column_int64(s, 2);
        g->count = g->failed + g->retry_wait;
        g->first_idx = sqlite3_column_int64(s, 3);
        g->example = col_text(s, 4);
        out->partitions = sqlite3_column_int64(s, 5);
    }
    if (rc != SQLITE_DONE) {
        ns_errf(err, errlen, "reading failure groups: %s", sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        query_failure_groups_release(out);
        return -1;
    }
    sqlite3_finalize(s);
    return 0;
}

void query_failure_groups_release(struct ns_failure_groups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->g[i].signature);
        free(g->g[i].example);
    }
    free(g->g);
    memset(g, 0, sizeof *g);
}

int64_t query_failure_group_count(struct ns_store *st, int64_t run_id, const char *signature)
{
    sqlite3_stmt *s =
        store_prepare(st, "SELECT count(*) FROM partitions WHERE run_id = ? AND "
                          "last_signature = ? AND state IN (" NS_FAILURE_GROUP_STATES ")");
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_text(s, 2, signature, -1, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
}
