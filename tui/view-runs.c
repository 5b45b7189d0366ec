/*
 * view-runs.c - every run in the database, newest first.
 *
 * Read with keyset pagination over the runs primary key; the figures come
 * from the counters the runtime keeps on each runs row, so this view never
 * scans partitions however large the runs are.
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/query.h"
#include "tui-internal.h"

/* A runs row: the read model's summary, with its texts escaped. */
struct run_row {
    struct ns_run_summary r;
    int64_t id;
    char *job, *params, *state, *sla;
};

struct runs_view {
    struct tui_view base;
    struct tui *t;
    struct tui_list list;
    char search[128];
    double alive_probed; /* monotonic time of the last lock probe (runs_poll) */
};

static void run_row_release(void *p)
{
    struct run_row *r = p;
    query_run_summary_release(&r->r);
    free(r->job);
    free(r->params);
    free(r->state);
    free(r->sla);
}

static bool run_row_same(const void *a, const void *b)
{
    return ((const struct run_row *)a)->id == ((const struct run_row *)b)->id;
}

static int runs_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct runs_view *v = ctx;
    const struct run_row *a = anchor;
    struct ns_run_summary *q = ns_xcalloc((size_t)(limit > 0 ? limit : 1), sizeof *q);
    char err[256];
    int n = query_runs(&v->t->st, v->search, a ? &a->r : NULL, dir, limit, v->t->now, q, err,
                       sizeof err);
    struct run_row *rows = out;
    for (int i = 0; i < n; i++) {
        struct run_row *r = &rows[i];
        r->r = q[i];
        r->id = r->r.id;
        /* A run that does not execute locally says where: "backfill @slurm". */
        const char *ex = r->r.executor;
        char *job = ex && strcmp(ex, "local") != 0 ? ns_xasprintf("%s @%s", r->r.job, ex)
                                                   : ns_xstrdup(r->r.job);
        r->job = tui_esc(v->t, job, strlen(job));
        free(job);
        r->params = tui_esc_line(v->t, r->r.params);
        r->state = tui_esc(v->t, r->r.state, strlen(r->r.state));
        const char *sla = r->r.sla_state ? r->r.sla_state : "";
        r->sla = tui_esc(v->t, sla, strlen(sla));
    }
    free(q);
    if (n < 0)
        tui_status(v->t, term_attr(TUI_C_BAD), "%s", err);
    return n < 0 ? 0 : n;
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
        const struct ns_run_summary *q = &r->r;
        /* No runtime drives an unfinished run: the lock, as status says. */
        bool orphan = !q->final && !q->alive;
        snprintf(buf, sizeof buf, "%s%s", r->state, orphan ? "?" : "");
        cols_cell(&c[C_STATE], yy, base | term_attr(term_state_color(r->state)), buf);
        int64_t done = query_done(&q->counts), total = q->counts.total;
        int64_t failed = q->counts.n[NS_PS_FAILED];
        snprintf(buf, sizeof buf, "%lld/%lld", (long long)done, (long long)total);
        cols_cell(&c[C_DONE], yy, base, buf);
        if (c[C_BAR].shown)
            term_bar(yy, c[C_BAR].x, c[C_BAR].width, total > 0 ? (double)done / (double)total : 0,
                     base | term_attr(failed ? TUI_C_BAD : TUI_C_OK), t->utf8);
        snprintf(buf, sizeof buf, "%lld", (long long)failed);
        cols_cell(&c[C_FAILED], yy, base | (failed ? term_attr(TUI_C_BAD) : 0), buf);
        cols_cell(&c[C_ERRS], yy, base, tui_fmt_count(q->error_records, buf, sizeof buf));
        cols_cell(&c[C_THR], yy, base, tui_fmt_rate(q->throughput, buf, sizeof buf));
        cols_cell(&c[C_ELAPSED], yy, base,
                  tui_fmt_dur(q->started_at > 0 ? q->elapsed_s : -1, buf, sizeof buf));
        cols_cell(&c[C_ETA], yy, base, tui_fmt_dur(q->has_eta ? q->eta_s : -1, b2, sizeof b2));
        cols_cell(&c[C_SLA], yy, base | term_attr(term_state_color(r->sla)),
                  r->sla[0] ? r->sla : "-");
    }
    if (v->list.n == 0)
        term_put(y + 2, 2, w - 2, A_DIM,
                 v->search[0] ? "no run matches the filter (/ to change it)"
                              : "no runs yet: start one with nightshift run SPEC");
    char foot[300];
    snprintf(foot, sizeof foot, "%s%s%s  state? = no runtime drives it (Enter shows the command that resumes it)",
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
    } else if (cmd == TUI_CMD_NIGHT) {
        t->pushed = view_night_new(t);
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

/* As run_poll (view-run.c): a runtime killed -9 changes no row, only its
 * lock; the visible unfinished runs are probed once a second. */
static bool runs_poll(struct tui_view *vv, struct tui *t)
{
    struct runs_view *v = (struct runs_view *)vv;
    double now = ns_monotonic();
    if (now - v->alive_probed < 1.0)
        return false;
    v->alive_probed = now;
    for (int i = 0; i < v->list.n; i++) {
        const struct run_row *r = list_row(&v->list, i);
        if (!r->r.final && query_runtime_alive(&t->st, r->id) != r->r.alive) {
            list_reload(&v->list);
            return true;
        }
    }
    return false;
}

static const struct tui_view_ops runs_ops = {
    "runs",    TUI_SCOPE_RUNS, runs_free, runs_load_and_track,
    runs_poll, runs_draw,      runs_key,  runs_crumb,
};

struct tui_view *view_runs_new(struct tui *t)
{
    struct runs_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &runs_ops;
    v->t = t;
    list_init(&v->list, &runs_list_ops, v);
    return &v->base;
}
