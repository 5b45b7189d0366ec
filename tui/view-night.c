/*
 * view-night.c - the night (N from the runs list): every run of a period,
 * by default since 18:00 yesterday (local time), with each run's state,
 * ETA and what it waits on (its upstreams, a pool, its window, a runtime),
 * the shared pools, and one projected finish for the whole set against the
 * latest deadline. N again asks for another period (as `summary --since`
 * takes it); Enter opens the run under the cursor.
 *
 * It reads the morning report's model (report_night_load: the runs of
 * `status --since`, report_run_waits, report_night_finish), so the console
 * and `nightshift summary --since` say the same. Re-read when the database
 * changes (at most every 10x its own cost, the loop's rule) and when a
 * runtime's lock changes (night_poll): a runtime killed -9 writes nothing.
 * Every text it draws is escaped when read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/pools.h"
#include "nightshift/query-report.h"
#include "tui-internal.h"

/* One run's row, escaped. */
struct night_row {
    int64_t id;
    bool alive, final;
    char *job, *state, *waits, *after;
    char done[32], eta[32], sla[16];
    char finish[16];
};

struct night_view {
    struct tui_view base;
    double since;
    char since_text[64]; /* as the operator typed it */
    struct night_row *rows;
    int n, cur, top;
    char summary[256], finish[320]; /* the heading's two lines, our words */
    char **pools;                   /* one line per pool, escaped */
    int npools;
    char error[300];
    double alive_probed;
};

static void night_clear(struct night_view *v)
{
    for (int i = 0; i < v->n; i++) {
        free(v->rows[i].job);
        free(v->rows[i].state);
        free(v->rows[i].waits);
        free(v->rows[i].after);
    }
    free(v->rows);
    v->rows = NULL;
    v->n = 0;
    for (int i = 0; i < v->npools; i++)
        free(v->pools[i]);
    free(v->pools);
    v->pools = NULL;
    v->npools = 0;
    v->error[0] = '\0';
}

static void night_row_fill(struct night_row *row, struct tui *t, const struct ns_run_report *rep,
                           const struct ns_night_after *after)
{
    row->after = report_night_after_list(after);
    const struct ns_run_summary *s = &rep->run;
    row->id = s->id;
    row->alive = s->alive;
    row->final = s->final;
    row->job = tui_esc(t, s->job, strlen(s->job));
    row->state = tui_esc(t, s->state, strlen(s->state));
    char *waits = report_run_waits(s);
    row->waits = tui_esc(t, waits ? waits : "", waits ? strlen(waits) : 0);
    free(waits);
    snprintf(row->done, sizeof row->done, "%lld/%lld", (long long)query_done(&s->counts),
             (long long)s->counts.total);
    tui_fmt_dur(report_eta_seconds(rep), row->eta, sizeof row->eta);
    if (s->final)
        tui_fmt_clock(s->finished_at, row->finish, sizeof row->finish);
    else
        tui_fmt_clock(s->has_eta ? s->finish_at : 0, row->finish, sizeof row->finish);
    snprintf(row->sla, sizeof row->sla, "%s", s->sla_state ? s->sla_state : "-");
}

/* The shared pools, one line each, when there are any. */
static void night_pools(struct night_view *v, struct tui *t)
{
    struct ns_pool_row *pools = NULL;
    char err[256];
    long np = pools_list(&t->st, &pools, err, sizeof err);
    for (long i = 0; i < np; i++) {
        const struct ns_pool_row *p = &pools[i];
        char *name = tui_esc(t, p->name, strlen(p->name));
        v->pools = ns_xrealloc(v->pools, (size_t)(v->npools + 1) * sizeof *v->pools);
        v->pools[v->npools++] =
            ns_xasprintf("pool %s: %d/%d slots used, %d run%s holding, %d waiting", name, p->used,
                         p->slots, p->holders, p->holders == 1 ? "" : "s", p->waiting);
        free(name);
    }
    pools_rows_free(pools, np > 0 ? np : 0);
}

static void night_load(struct tui_view *vv, struct tui *t)
{
    struct night_view *v = (struct night_view *)vv;
    int64_t keep = vv->run_id;
    night_clear(v);
    struct ns_night_report r;
    char err[256];
    if (report_night_load(&t->st, v->since, 0, &r, err, sizeof err) != 0) {
        char *e = tui_esc(t, err, strlen(err));
        snprintf(v->error, sizeof v->error, "cannot read the runs: %s", e);
        free(e);
    }
    struct ns_night_finish f;
    report_night_finish(&r, &f);
    v->rows = ns_xcalloc(r.nruns + 1, sizeof *v->rows);
    size_t piles[3] = {0};
    for (size_t i = 0; i < r.nruns; i++) {
        night_row_fill(&v->rows[v->n++], t, &r.runs[i], r.after ? &r.after[i] : NULL);
        int st = r.runs[i].run.run_state;
        piles[st == NS_RS_SUCCEEDED ? 0 : st == NS_RS_FAILED ? 1 : 2]++;
    }
    char since[40];
    tui_fmt_clock(v->since, since, sizeof since);
    snprintf(v->summary, sizeof v->summary,
             "The night since %s (%s): %zu runs: %zu succeeded, %zu failed, %zu unfinished",
             v->since_text, since, r.nruns, piles[0], piles[1], piles[2]);
    struct ns_buf fb = NS_BUF_INIT;
    report_night_finish_words(&r, &f, tui_fmt_clock, &fb);
    snprintf(v->finish, sizeof v->finish, "finish: %s", fb.data);
    buf_release(&fb);
    report_night_release(&r);
    night_pools(v, t);
    /* The cursor stays on its run. */
    v->cur = v->n > 0 ? v->n - 1 : 0;
    for (int i = 0; i < v->n; i++)
        if (v->rows[i].id == keep)
            v->cur = i;
    vv->run_id = v->n > 0 ? v->rows[v->cur].id : 0;
}

/* A runtime killed -9 changes no row, only its lock: the unfinished runs
 * are probed once a second, as the runs list does. */
static bool night_poll(struct tui_view *vv, struct tui *t)
{
    struct night_view *v = (struct night_view *)vv;
    double now = ns_monotonic();
    if (now - v->alive_probed < 1.0)
        return false;
    v->alive_probed = now;
    for (int i = 0; i < v->n; i++)
        if (!v->rows[i].final && query_runtime_alive(&t->st, v->rows[i].id) != v->rows[i].alive) {
            night_load(vv, t);
            return true;
        }
    return false;
}

enum { C_RUN, C_JOB, C_STATE, C_DONE, C_ETA, C_FINISH, C_SLA, C_AFTER, C_WAITS, C_N };

static void night_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct night_view *v = (struct night_view *)vv;
    (void)t;
    vv->height = h;
    /* The period and the finish are read whole: at 80 columns they wrap
     * at spaces (up to 3 rows each) and push the table down. */
    size_t starts[3], lens[3];
    int hy = y;
    int n = wrap_text(v->summary, w, starts, lens, 3);
    hy += term_put_wrapped(hy + n - 1, w, n, A_BOLD, false, v->summary, NULL);
    const char *fin = v->error[0] ? v->error : v->finish;
    n = wrap_text(fin, w, starts, lens, 3);
    hy += term_put_wrapped(hy + n - 1, w, n, v->error[0] ? term_attr(TUI_C_BAD) : A_NORMAL, false,
                           fin, NULL);
    int extra = hy - (y + 2);
    y += extra;
    h -= extra;
    struct tui_col c[C_N] = {
        {"RUN", 6, 0, false, true, 0, false},       {"JOB", 14, 0, false, false, 0, false},
        {"STATE", 10, 0, false, false, 0, false},   {"DONE", 11, 1, false, true, 0, false},
        {"ETA", 8, 2, false, true, 0, false},       {"FINISH", 8, 2, false, true, 0, false},
        {"SLA", 8, 3, false, false, 0, false},      {"AFTER", 6, 1, false, false, 0, false},
        {"WAITING ON", 20, 0, true, false, 0, false},
    };
    cols_layout(c, C_N, w);
    cols_header(c, C_N, y + 3, w, A_BOLD | A_UNDERLINE);
    int rows = h - 5 - (v->npools ? v->npools + 1 : 0);
    if (rows < 1)
        rows = 1;
    if (v->cur < v->top)
        v->top = v->cur;
    if (v->cur >= v->top + rows)
        v->top = v->cur - rows + 1;
    char id[24];
    for (int i = 0; i < rows && v->top + i < v->n; i++) {
        const struct night_row *r = &v->rows[v->top + i];
        int yy = y + 4 + i;
        attr_t base = v->top + i == v->cur ? A_REVERSE : A_NORMAL;
        term_fill(yy, 0, w, base);
        snprintf(id, sizeof id, "%lld", (long long)r->id);
        cols_cell(&c[C_RUN], yy, base, id);
        cols_cell(&c[C_JOB], yy, base, r->job);
        char state[48];
        snprintf(state, sizeof state, "%s%s", r->state, r->final || r->alive ? "" : "?");
        cols_cell(&c[C_STATE], yy, base | term_attr(term_state_color(r->state)), state);
        cols_cell(&c[C_DONE], yy, base, r->done);
        cols_cell(&c[C_ETA], yy, base, r->eta);
        cols_cell(&c[C_FINISH], yy, base, r->finish);
        cols_cell(&c[C_SLA], yy, base | term_attr(term_state_color(r->sla)), r->sla);
        cols_cell(&c[C_AFTER], yy, base, r->after);
        cols_cell(&c[C_WAITS], yy, base, r->waits);
    }
    if (v->n == 0)
        term_put(y + 4, 2, w - 2, A_DIM, "no run in this period (N chooses another)");
    for (int i = 0; i < v->npools; i++)
        term_put(y + h - 1 - v->npools + i, 0, w, term_attr(TUI_C_WAIT), v->pools[i]);
    term_put(y + h - 1, 0, w, A_DIM,
             "Enter opens the run  N chooses the period  state? = no runtime drives it");
}

static enum tui_result night_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct night_view *v = (struct night_view *)vv;
    (void)ch;
    int page = vv->height > 6 ? vv->height - 6 : 1;
    switch (cmd) {
    case TUI_CMD_UP:
        v->cur = v->cur > 0 ? v->cur - 1 : 0;
        break;
    case TUI_CMD_DOWN:
        v->cur = v->cur + 1 < v->n ? v->cur + 1 : v->cur;
        break;
    case TUI_CMD_PGUP:
        v->cur = v->cur > page ? v->cur - page : 0;
        break;
    case TUI_CMD_PGDN:
        v->cur = v->cur + page < v->n ? v->cur + page : (v->n > 0 ? v->n - 1 : 0);
        break;
    case TUI_CMD_HOME:
        v->cur = 0;
        break;
    case TUI_CMD_END:
        v->cur = v->n > 0 ? v->n - 1 : 0;
        break;
    case TUI_CMD_OPEN:
        if (v->n == 0)
            return TUI_OK;
        t->pushed = view_run_new(t, v->rows[v->cur].id);
        return TUI_PUSH;
    case TUI_CMD_NIGHT: {
        char text[64];
        snprintf(text, sizeof text, "%s", v->since_text);
        if (!tui_prompt(t, "since (18:00, yesterday 18:00, 24h, 2026-11-03 18:00): ", text,
                        sizeof text))
            return TUI_REDRAW;
        double since;
        if (ns_parse_since(text, t->now, &since) != 0) {
            tui_status(t, term_attr(TUI_C_BAD), "not a time: 18:00, yesterday 18:00, 24h, "
                                                "2026-11-03 18:00");
            return TUI_REDRAW;
        }
        v->since = since;
        snprintf(v->since_text, sizeof v->since_text, "%s", text);
        return TUI_RELOAD;
    }
    case TUI_CMD_BACK:
        return TUI_POP;
    default:
        return TUI_OK;
    }
    vv->run_id = v->n > 0 ? v->rows[v->cur].id : 0;
    return TUI_REDRAW;
}

static void night_crumb(struct tui_view *vv, struct ns_buf *out)
{
    (void)vv;
    buf_adds(out, "night");
}

static void night_free(struct tui_view *vv)
{
    struct night_view *v = (struct night_view *)vv;
    night_clear(v);
    free(v);
}

static const struct tui_view_ops night_ops = {
    "night", TUI_SCOPE_NIGHT, night_free, night_load, night_poll, night_draw, night_key, night_crumb,
};

struct tui_view *view_night_new(struct tui *t)
{
    struct night_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &night_ops;
    snprintf(v->since_text, sizeof v->since_text, "yesterday 18:00");
    if (ns_parse_since(v->since_text, t->now, &v->since) != 0)
        v->since = t->now - 86400; /* a clock mktime cannot place: the last day */
    return &v->base;
}
