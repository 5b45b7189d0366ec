/*
 * view-runs.c - every run in the database, newest first.
 *
 * Read with keyset pagination over the runs primary key; the figures come
 * from the counters the runtime keeps on each runs row, so this view never
 * scans partitions however large the runs are.
 */
#include <stdlib.h>
#include <string.h>

#include "tui-internal.h"

struct run_row {
    int64_t id;
    char *job, *params, *state, *sla;
    int64_t total, done, failed, errors, running;
    double throughput, started, finished, projected, heartbeat;
};

struct runs_view {
    struct tui_view base;
    struct tui *t;
    struct tui_list list;
    char search[128];
};

static void run_row_release(void *p)
{
    struct run_row *r = p;
    free(r->job);
    free(r->params);
    free(r->state);
    free(r->sla);
}

static bool run_row_same(const void *a, const void *b)
{
    return ((const struct run_row *)a)->id == ((const struct run_row *)b)->id;
}

/* A run that does not execute locally says where: "backfill @slurm". */
#define RUN_COLS                                                                                   \
    "id, CASE executor WHEN 'local' THEN job ELSE job || ' @' || executor END, params, state, "    \
    "coalesce(sla_state,''), total, n_succeeded + n_failed + n_skipped, "                          \
    "n_failed, error_records, n_running, coalesce(throughput,0), coalesce(started_at,0), "         \
    "coalesce(finished_at,0), coalesce(projected_finish,0), coalesce(heartbeat_at,0)"

static int runs_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct runs_view *v = ctx;
    const struct run_row *a = anchor;
    /* Display order is id descending. */
    const char *cond = !a ? "1" : dir > 0 ? "id < ?1" : dir < 0 ? "id > ?1" : "id <= ?1";
    const char *order = (dir < 0) ? "ASC" : "DESC";
    char sql[700];
    snprintf(sql, sizeof sql,
             "SELECT " RUN_COLS " FROM runs WHERE %s AND (?2 = '' OR instr(job, ?2) > 0 OR "
             "instr(params, ?2) > 0) ORDER BY id %s LIMIT ?3",
             cond, order);
    sqlite3_stmt *s = store_prepare(&v->t->st, sql);
    if (a)
        sqlite3_bind_int64(s, 1, a->id);
    sqlite3_bind_text(s, 2, v->search, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, limit);
    struct run_row *rows = out;
    int n = 0;
    while (n < limit && sqlite3_step(s) == SQLITE_ROW) {
        struct run_row *r = &rows[n++];
        r->id = sqlite3_column_int64(s, 0);
        r->job = tui_esc_col(v->t, s, 1);
        r->params = tui_esc_col_line(v->t, s, 2);
        r->state = tui_esc_col(v->t, s, 3);
        r->sla = tui_esc_col(v->t, s, 4);
        r->total = sqlite3_column_int64(s, 5);
        r->done = sqlite3_column_int64(s, 6);
        r->failed = sqlite3_column_int64(s, 7);
        r->errors = sqlite3_column_int64(s, 8);
        r->running = sqlite3_column_int64(s, 9);
        r->throughput = sqlite3_column_double(s, 10);
        r->started = sqlite3_column_double(s, 11);
        r->finished = sqlite3_column_double(s, 12);
        r->projected = sqlite3_column_double(s, 13);
        r->heartbeat = sqlite3_column_double(s, 14);
    }
    sqlite3_finalize(s);
    if (dir < 0) /* fetched ascending: reverse into display order */
        for (int i = 0; i < n / 2; i++) {
            struct run_row tmp = rows[i];
            rows[i] = rows[n - 1 - i];
            rows[n - 1 - i] = tmp;
        }
    return n;
}

static const struct tui_list_ops runs_list_ops = {
    sizeof(struct run_row),
    run_row_release,
    runs_fetch,
    run_row_same,
};

static void runs_load(struct tui_view *vv, struct tui *t)
{
    struct runs_view *v = (struct runs_view *)vv;
    (void)t;
    list_reload(&v->list);
}

static bool run_active(const char *state)
{
    return strcmp(state, "running") == 0 || strcmp(state, "paused") == 0 ||
           strcmp(state, "stopping") == 0 || strcmp(state, "halted") == 0;
}

enum {
    C_ID,
    C_JOB,
    C_PARAMS,
    C_STATE,
    C_DONE,
    C_BAR,
    C_FAILED,
    C_ERRS,
    C_THR,
    C_ELAPSED,
    C_ETA,
    C_SLA,
    C_N
};

static const struct tui_col runs_cols[C_N] = {
    [C_ID] = {"ID", 4, 0, false, true, 0, false},
    [C_JOB] = {"JOB", 12, 1, true, false, 0, false},
    [C_PARAMS] = {"PARAMS", 14, 9, false, false, 0, false},
    [C_STATE] = {"STATE", 10, 2, false, false, 0, false},
    [C_DONE] = {"DONE/TOTAL", 13, 3, false, true, 0, false},
    [C_BAR] = {"PROGRESS", 10, 5, false, false, 0, false},
    [C_FAILED] = {"FAILED", 6, 4, false, true, 0, false},
    [C_ERRS] = {"ERRORS", 6, 6, false, true, 0, false},
    [C_THR] = {"THRPT", 7, 10, false, true, 0, false},
    [C_ELAPSED] = {"ELAPSED", 7, 8, false, true, 0, false},
    [C_ETA] = {"ETA", 7, 7, false, true, 0, false},
    [C_SLA] = {"SLA", 7, 8, false, false, 0, false},
};

static void runs_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct runs_view *v = (struct runs_view *)vv;
    struct tui_col c[C_N];
    memcpy(c, runs_cols, sizeof c);
    cols_layout(c, C_N, w);
    cols_header(c, C_N, y, w, A_BOLD | A_UNDERLINE);
    int rows = h - 2;
    if (rows < 1)
        rows = 1;
    if (rows != v->list.height)
        list_set_height(&v->list, rows);
    for (int i = 0; i < v->list.n && i < rows; i++) {
        struct run_row *r = list_row(&v->list, i);
        int yy = y + 1 + i;
        bool cur = i == v->list.cur;
        attr_t base = cur ? A_REVERSE : A_NORMAL;
        if (cur)
            term_fill(yy, 0, w, base);
        char buf[64], b2[32];
        snprintf(buf, sizeof buf, "%lld", (long long)r->id);
        cols_cell(&c[C_ID], yy, base, buf);
        cols_cell(&c[C_JOB], yy, base | A_BOLD, r->job);
        cols_cell(&c[C_PARAMS], yy, base, r->params);
        bool stale = run_active(r->state) && t->now - r->heartbeat > 5;
        snprintf(buf, sizeof buf, "%s%s", r->state, stale ? "?" : "");
        cols_cell(&c[C_STATE], yy, base | term_attr(term_state_color(r->state)), buf);
        snprintf(buf, sizeof buf, "%lld/%lld", (long long)r->done, (long long)r->total);
        cols_cell(&c[C_DONE], yy, base, buf);
        if (c[C_BAR].shown)
            term_bar(yy, c[C_BAR].x, c[C_BAR].width,
                     r->total > 0 ? (double)r->done / (double)r->total : 0,
                     base | term_attr(r->failed ? TUI_C_BAD : TUI_C_OK), t->utf8);
        snprintf(buf, sizeof buf, "%lld", (long long)r->failed);
        cols_cell(&c[C_FAILED], yy, base | (r->failed ? term_attr(TUI_C_BAD) : 0), buf);
        cols_cell(&c[C_ERRS], yy, base, tui_fmt_count(r->errors, buf, sizeof buf));
        cols_cell(&c[C_THR], yy, base, tui_fmt_rate(r->throughput, buf, sizeof buf));
        double end = r->finished > 0 ? r->finished : t->now;
        cols_cell(&c[C_ELAPSED], yy, base,
                  tui_fmt_dur(r->started > 0 ? end - r->started : -1, buf, sizeof buf));
        double eta = -1;
        if (run_active(r->state) && r->projected > 0)
            eta = r->projected - t->now;
        cols_cell(&c[C_ETA], yy, base, tui_fmt_dur(eta, b2, sizeof b2));
        cols_cell(&c[C_SLA], yy, base | term_attr(term_state_color(r->sla)),
                  r->sla[0] ? r->sla : "-");
    }
    if (v->list.n == 0)
        term_put(y + 2, 2, w - 2, A_DIM,
                 v->search[0] ? "no run matches the filter (/ to change it)"
                              : "no runs yet: start one with nightshift run SPEC");
    char foot[300];
    snprintf(foot, sizeof foot, "%s%s%s  state? = runtime not running (stale heartbeat)",
             v->search[0] ? "filter: " : "", v->search, v->search[0] ? "" : "");
    term_put(y + h - 1, 0, w, A_DIM, foot);
}

static enum tui_result runs_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct runs_view *v = (struct runs_view *)vv;
    (void)ch;
    enum tui_result res = TUI_REDRAW;
    if (list_navigate(&v->list, cmd)) {
        /* nothing more */
    } else if (cmd == TUI_CMD_OPEN) {
        struct run_row *r = list_current(&v->list);
        if (!r)
            return TUI_OK;
        t->pushed = view_run_new(t, r->id);
        return TUI_PUSH;
    } else if (cmd == TUI_CMD_ERRORS || cmd == TUI_CMD_FAILURES) {
        struct run_row *r = list_current(&v->list);
        if (!r)
            return TUI_OK;
        t->pushed = view_errors_new(t, r->id, -1, cmd == TUI_CMD_FAILURES);
        return TUI_PUSH;
    } else if (cmd == TUI_CMD_SEARCH) {
        tui_prompt(t, "filter runs (job or params): ", v->search, sizeof v->search);
        list_reset(&v->list);
    } else if (cmd == TUI_CMD_BACK) {
        return TUI_POP; /* from the runs list: quit */
    } else {
        res = TUI_OK;
    }
    struct run_row *r = list_current(&v->list);
    vv->run_id = r ? r->id : 0;
    return res;
}

static void runs_crumb(struct tui_view *vv, struct ns_buf *out)
{
    (void)vv;
    buf_adds(out, "Runs");
}

static void runs_free(struct tui_view *vv)
{
    struct runs_view *v = (struct runs_view *)vv;
    list_release(&v->list);
    free(v);
}

static void runs_load_and_track(struct tui_view *vv, struct tui *t)
{
    runs_load(vv, t);
    struct runs_view *v = (struct runs_view *)vv;
    struct run_row *r = list_current(&v->list);
    vv->run_id = r ? r->id : 0;
}

static const struct tui_view_ops runs_ops = {
    "runs", TUI_SCOPE_RUNS, runs_free, runs_load_and_track, NULL, runs_draw, runs_key, runs_crumb,
};

struct tui_view *view_runs_new(struct tui *t)
{
    struct runs_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &runs_ops;
    v->t = t;
    list_init(&v->list, &runs_list_ops, v);
    return &v->base;
}
