/*
 * view-run.c - one run: header, partition table, partition map.
 *
 * Header: the runs row (the runtime keeps its counters) plus the last ten
 * minutes of samples for the throughput and running-count sparklines. Table: keyset pages over
 * the partitions primary key (run_id, idx) or partitions_state (run_id,
 * state, idx), filtered by state and text. Map: one cell per partition (one
 * letter), two (half-blocks, colour + UTF-8) or eight (braille, UTF-8) -
 * enough for 10 000s of partitions on one screen; it reads only the states
 * of the partitions it shows, as one primary-key range.
 *
 * Marks (Space, *, v, ~: marks.c) are a sorted array of partition indexes;
 * actions apply to the marked partitions, else to the one under the cursor.
 * The filter (F4), search (/ n N) and sort (o O < >) are find.c's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/control.h"
#include "nightshift/query.h"
#include "tui-internal.h"

enum pstate {
    PS_NONE,
    PS_PENDING,
    PS_RUNNING,
    PS_RETRY,
    PS_PAUSED,
    PS_OK,
    PS_FAILED,
    PS_SKIPPED,
    PS_STRAGGLER, /* not a state: a running partition far past its siblings (query.h) */
    PS_N
};

static const struct {
    const char *word;
    char letter;
    enum tui_color color;
    int severity; /* which state colours a braille cell of several */
} pstates[PS_N] = {
    [PS_NONE] = {"", ' ', TUI_C_DEFAULT, 0},
    [PS_PENDING] = {"pending", '.', TUI_C_PENDING, 0},
    [PS_RUNNING] = {"running", 'R', TUI_C_RUN, 5},
    [PS_RETRY] = {"retry_wait", 'w', TUI_C_WAIT, 4},
    [PS_PAUSED] = {"paused", 'p', TUI_C_PAUSED, 3},
    [PS_OK] = {"succeeded", '+', TUI_C_OK, 1},
    [PS_FAILED] = {"failed", 'F', TUI_C_BAD, 6},
    [PS_SKIPPED] = {"skipped", '-', TUI_C_SKIP, 2},
    [PS_STRAGGLER] = {"straggler", 'S', TUI_C_WAIT, 7},
};

/* pstate is the read model's enum ns_part_state + 1 (0: no partition). */
_Static_assert(PS_STRAGGLER == NS_PS_COUNT + 1, "the map's states follow query.h's");

/* A partition row as the read model gives it, plus its escaped texts. */
struct part_row {
    struct ns_part_row q; /* raw: keys for the next page, numbers */
    char *key, *state, *message;
    int pstate; /* q.state parsed: enum ns_part_state, -1 unknown */
};

/* The filters t cycles through (query.h's, in this order). */
enum { F_ALL, F_RUNNING, F_FAILED, F_WAITING, F_N };
static const enum ns_part_filter filters[F_N] = {[F_ALL] = NS_PF_ALL,
                                                 [F_RUNNING] = NS_PF_RUNNING,
                                                 [F_FAILED] = NS_PF_FAILED,
                                                 [F_WAITING] = NS_PF_WAITING};

/* The header: the read model's run summary, with its texts escaped. */
struct run_head {
    bool found;
    struct ns_run_summary r;
    char *job, *params, *state, *reason, *sla;
    char *blocked; /* why nothing of the run can run ("": nothing blocks it) */
    char *waiting; /* the shared pool its next attempt waits for ("": none) */
    const char *next_what; /* "resume" or "retry" with next, when nothing drives it */
    char *next;            /* the command that does it (control_next_command), or "" */
    char *exit_note;       /* why its runtime stopped, escaped ("": it said nothing) */
};

struct run_view {
    struct tui_view base;
    struct tui *t;
    struct run_head h;
    double *spark; /* partitions/s between samples, oldest first */
    int n_spark;
    double *running; /* partitions running at each sample, oldest first */
    int n_running;
    struct tui_list list;
    int filter;
    struct tui_find find;
    double sort_now; /* the clock of time-dependent sort keys, per load */
    char *signature; /* only failed partitions with this last signature */
    struct tui_marks marks;
    /* map */
    bool map;
    int zoom; /* 0 auto, else 1, 2, 8 partitions per cell */
    int64_t idx_min, idx_max;
    int64_t map_top, map_cur; /* ordinals (idx - idx_min) */
    unsigned char *cells;     /* states of [map_top, map_top + n_cells) */
    int64_t n_cells, cells_from;
    int map_rows, map_w, density;
    double alive_probed;      /* monotonic time of the last lock probe (run_poll) */
    struct part_row cur_part; /* the partition under the map cursor */
    bool cur_loaded;
};

static void part_row_release(void *p)
{
    struct part_row *r = p;
    query_part_row_release(&r->q);
    free(r->key);
    free(r->state);
    free(r->message);
}

static int64_t part_row_idx(const void *p)
{
    return ((const struct part_row *)p)->q.idx;
}

static bool part_row_same(const void *a, const void *b)
{
    return ((const struct part_row *)a)->q.idx == ((const struct part_row *)b)->q.idx;
}

/* Takes q over and escapes its texts for display. */
static void wrap_part(const struct tui *t, struct ns_part_row *q, struct part_row *r)
{
    r->q = *q;
    memset(q, 0, sizeof *q);
    r->key = tui_esc(t, r->q.key, strlen(r->q.key));
    r->state = tui_esc(t, r->q.state, strlen(r->q.state));
    r->pstate = query_part_state_of(r->q.state);
    const char *m = r->q.last_message ? r->q.last_message : "";
    r->message = tui_esc_cause(t, m, strlen(m));
}

static struct ns_part_select selection(const struct run_view *v)
{
    struct ns_part_select sel = {.run_id = v->base.run_id,
                                 .filter = v->signature ? NS_PF_GROUP : filters[v->filter],
                                 .signature = v->signature,
                                 .where = &v->find.filter,
                                 .search = &v->find.search,
                                 .only_hits = v->find.only_hits,
                                 .sort = v->t->sort,
                                 .desc = v->t->sort_desc,
                                 .now = v->sort_now};
    return sel;
}

static int parts_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct run_view *v = ctx;
    const struct part_row *a = anchor;
    struct ns_part_select sel = selection(v);
    struct ns_part_row *q = ns_xcalloc((size_t)(limit > 0 ? limit : 1), sizeof *q);
    char err[256];
    int n = query_partitions(&v->t->st, &sel, a ? &a->q : NULL, dir, limit, q, err, sizeof err);
    struct part_row *rows = out;
    for (int i = 0; i < n; i++)
        wrap_part(v->t, &q[i], &rows[i]);
    free(q);
    if (n < 0)
        tui_status(v->t, term_attr(TUI_C_BAD), "%s", err);
    return n < 0 ? 0 : n;
}

static const struct tui_list_ops parts_list_ops = {
    sizeof(struct part_row),
    part_row_release,
    parts_fetch,
    part_row_same,
};

static void head_release(struct run_head *h)
{
    query_run_summary_release(&h->r);
    free(h->job);
    free(h->params);
    free(h->state);
    free(h->reason);
    free(h->sla);
    free(h->blocked);
    free(h->waiting);
    free(h->next);
    free(h->exit_note);
    memset(h, 0, sizeof *h);
}

static void load_head(struct run_view *v)
{
    struct tui *t = v->t;
    head_release(&v->h);
    struct run_head *h = &v->h;
    char err[256] = "";
    h->found = query_run_summary(&t->st, v->base.run_id, t->now, &h->r, err, sizeof err) == 1;
    if (h->found) {
        h->job = tui_esc(t, h->r.job, strlen(h->r.job));
        h->params = tui_esc_line(t, h->r.params);
        h->state = tui_esc(t, h->r.state, strlen(h->r.state));
        const char *reason = h->r.state_reason ? h->r.state_reason : "";
        h->reason = tui_esc(t, reason, strlen(reason));
        const char *sla = h->r.sla_state ? h->r.sla_state : "";
        h->sla = tui_esc(t, sla, strlen(sla));
        const char *blocked = h->r.blocked_reason ? h->r.blocked_reason : "";
        h->blocked = tui_esc(t, blocked, strlen(blocked));
        const char *waiting = h->r.waiting_for ? h->r.waiting_for : "";
        h->waiting = tui_esc(t, waiting, strlen(waiting));
        char *next = NULL;
        h->next_what = control_next_command(&t->st, h->r.id, h->r.run_state, h->r.alive, &next);
        h->next = next ? tui_esc(t, next, strlen(next)) : ns_xstrdup("");
        free(next);
        const char *note = h->r.exit_note ? h->r.exit_note : "";
        h->exit_note = tui_esc(t, note, strlen(note));
    } else {
        h->job = ns_xstrdup("?");
        h->params = ns_xstrdup("");
        h->state = ns_xstrdup("gone");
        h->reason = ns_xstrdup("");
        h->sla = ns_xstrdup("");
        h->blocked = ns_xstrdup("");
        h->waiting = ns_xstrdup("");
        h->next = ns_xstrdup("");
        h->exit_note = ns_xstrdup("");
    }
    /* Throughput over the last ten minutes, from samples. */
    free(v->spark);
    v->n_spark = query_throughput_series(&t->st, v->base.run_id, t->now - 600, &v->spark);
    free(v->running);
    v->n_running = query_running_series(&t->st, v->base.run_id, t->now - 600, &v->running);
    query_partition_range(&t->st, v->base.run_id, &v->idx_min, &v->idx_max);
}

/* ---- map ---- */

static int64_t map_count(const struct run_view *v)
{
    return v->idx_max - v->idx_min + 1;
}

/* Pixel columns and rows per cell for a density. */
static void density_shape(int d, int *px, int *py)
{
    *px = d == 8 ? 2 : 1;
    *py = d == 8 ? 4 : d;
}

static void map_geometry(struct run_view *v, int rows, int w)
{
    v->map_rows = rows > 1 ? rows : 1;
    v->map_w = w > 1 ? w : 1;
    int64_t cells = (int64_t)v->map_rows * v->map_w;
    int d = v->zoom;
    if (d == 0) {
        if (map_count(v) <= cells || !v->t->utf8)
            d = 1;
        else if (v->t->color && map_count(v) <= cells * 2)
            d = 2;
        else
            d = 8;
    }
    if (d == 2 && !(v->t->color && v->t->utf8))
        d = v->t->utf8 ? 8 : 1;
    if (d == 8 && !v->t->utf8)
        d = 1;
    v->density = d;
}

static void map_scroll_to_cursor(struct run_view *v)
{
    int px, py;
    density_shape(v->density, &px, &py);
    int64_t pw = (int64_t)v->map_w * px;        /* partitions per pixel row */
    int64_t per_screen = pw * py * v->map_rows; /* partitions on screen */
    int64_t per_cell_row = pw * py;
    int64_t n = map_count(v);
    if (v->map_cur >= n)
        v->map_cur = n - 1;
    if (v->map_cur < 0)
        v->map_cur = 0;
    if (v->map_cur < v->map_top)
        v->map_top = v->map_cur / per_cell_row * per_cell_row;
    if (v->map_cur >= v->map_top + per_screen)
        v->map_top = (v->map_cur / per_cell_row - v->map_rows + 1) * per_cell_row;
    if (v->map_top < 0)
        v->map_top = 0;
}

static void load_cur_part(struct run_view *v)
{
    if (v->cur_loaded)
        part_row_release(&v->cur_part);
    v->cur_loaded = false;
    struct ns_part_row q;
    char err[256];
    if (query_partition(&v->t->st, v->base.run_id, v->idx_min + v->map_cur, &q, err, sizeof err) ==
        1) {
        wrap_part(v->t, &q, &v->cur_part);
        v->cur_loaded = true;
    }
    query_part_row_release(&q);
}

static void load_map(struct run_view *v)
{
    int px, py;
    density_shape(v->density, &px, &py);
    int64_t want = (int64_t)v->map_w * px * py * v->map_rows;
    if (want != v->n_cells) {
        free(v->cells);
        v->cells = ns_xcalloc((size_t)want, 1);
        v->n_cells = want;
    }
    v->cells_from = v->map_top;
    /* One primary-key range: (run_id, idx) BETWEEN. */
    query_partition_states(&v->t->st, v->base.run_id, v->idx_min + v->map_top, want, v->cells);
    tui_mark_stragglers(v->t, &v->h.r, v->idx_min + v->map_top, v->cells, want, PS_STRAGGLER);
    load_cur_part(v);
}

static void run_load(struct tui_view *vv, struct tui *t)
{
    struct run_view *v = (struct run_view *)vv;
    v->sort_now = t->now;
    load_head(v);
    if (v->map)
        load_map(v);
    else
        list_reload(&v->list);
}

/* ---- drawing ---- */

/* Throughput sparkline, ETA, projected finish against the deadline, on
 * row y. */
static void draw_pace_line(struct run_view *v, int y, int w)
{
    struct tui *t = v->t;
    struct run_head *h = &v->h;
    const struct ns_run_summary *r = &h->r;
    char a[64], b[64], c[64];
    int x;
    /* Before the first two samples there is no sparkline, only blanks: the
     * rate next to it is the runtime's figure either way. */
    char rates[64], eta_s[48], finish[48] = "", dl[64] = "";
    snprintf(rates, sizeof rates, "%s %s rec/s ", tui_fmt_rate(r->throughput, a, sizeof a),
             r->record_rate > 0 ? tui_fmt_count((int64_t)r->record_rate, b, sizeof b) : "-");
    /* Overdue by a fraction of a second (the runtime writes its projection
     * once a second): "0s", as due now. */
    double eta = query_eta_at(r, t->now);
    snprintf(eta_s, sizeof eta_s, " ETA %s", tui_fmt_dur(r->has_eta ? fmax(eta, 0) : -1, a, sizeof a));
    if (r->has_eta)
        snprintf(finish, sizeof finish, "  finish %s", tui_fmt_clock(r->finish_at, b, sizeof b));
    if (r->sla_deadline > 0)
        snprintf(dl, sizeof dl, "  deadline %s ", tui_fmt_clock(r->sla_deadline, c, sizeof c));
    /* The deadline and SLA state are never cut (80 columns): the sparkline
     * shrinks first, then finish and the rates give way, whole. */
    int sw = w / 4 > 40 ? 40 : w / 4;
    if (sw < 8)
        sw = 8;
    int fixed = term_width(eta_s) + term_width(dl) + term_width(h->sla);
    int over = 7 + sw + term_width(rates) + term_width(finish) + fixed - w;
    if (over > 0)
        sw = sw - over >= 4 ? sw - over : 4;
    if (7 + sw + term_width(rates) + term_width(finish) + fixed > w)
        finish[0] = '\0';
    if (7 + sw + term_width(rates) + fixed > w)
        rates[0] = '\0';
    x = term_put(y, 0, w, A_NORMAL, "thrpt ");
    if (v->n_spark > 0)
        tui_sparkline(t, y, x, sw, v->spark, v->n_spark, term_attr(TUI_C_RUN));
    x += sw + 1;
    x += term_put(y, x, w - x, A_NORMAL, rates);
    x += term_put(y, x, w - x, A_BOLD, eta_s);
    x += term_put(y, x, w - x, A_NORMAL, finish);
    if (dl[0]) {
        x += term_put(y, x, w - x, A_NORMAL, dl);
        term_put(y, x, w - x, term_attr(term_state_color(h->sla)) | A_BOLD, h->sla);
    }
}

/* Every figure here is the read model's (query.h), so the header says what
 * `status` says: counts by state, liveness by the lock, the one ETA. */
static void draw_header(struct run_view *v, int y, int w)
{
    struct tui *t = v->t;
    struct run_head *h = &v->h;
    const struct ns_run_summary *r = &h->r;
    const int64_t *n = r->counts.n;
    char a[64];
    int64_t done = query_done(&r->counts), total = r->counts.total;
    int64_t failed = n[NS_PS_FAILED];
    int x = 0;
    x += term_put(y, x, w - x, term_attr(term_state_color(h->state)) | A_BOLD, h->state);
    if (h->reason[0]) {
        x += term_put(y, x, w - x, A_NORMAL, " (");
        x += term_put(y, x, w - x > 40 ? 40 : w - x, A_NORMAL, h->reason);
        x += term_put(y, x, w - x, A_NORMAL, ")");
    }
    x += term_putf(y, x, w - x, A_BOLD, "  %lld/%lld done (%.0f%%) ", (long long)done,
                   (long long)total, total ? 100.0 * (double)done / (double)total : 0.0);
    int bw = w - x - 28;
    if (bw > 30)
        bw = 30;
    if (bw > 4) {
        term_bar(y, x, bw, total ? (double)done / (double)total : 0,
                 term_attr(failed ? TUI_C_BAD : TUI_C_OK), t->utf8);
        x += bw + 1;
    }
    x += term_putf(y, x, w - x, failed ? term_attr(TUI_C_BAD) : A_NORMAL, " failed %lld",
                   (long long)failed);
    x += term_putf(y, x, w - x, A_NORMAL, "  errors %s", tui_fmt_count(r->error_records, a, sizeof a));
    tui_put_stragglers(y, x, w, r);

    tui_run_counts_line(t, r, v->running, v->n_running, y + 1, w);

    draw_pace_line(v, y + 2, w);

    /* The runtime: alive or not (the lock, as status and the actions test);
     * elapsed; parameters. */
    x = 0;
    if (!r->final && !r->alive)
        x += term_putf(y + 3, x, w, term_attr(TUI_C_BAD), "no runtime%s%s%s",
                       h->exit_note[0] ? " (stopped: " : "", h->exit_note,
                       h->exit_note[0] ? ")" : "");
    else if (r->alive)
        x += term_putf(y + 3, x, w, term_attr(TUI_C_OK), "runtime pid %lld",
                       (long long)r->runtime_pid);
    /* The executor's word on why none of the pending ones runs (a drained
     * node), as status says it: before elapsed and params, which it may
     * push off a narrow screen, because it is what the operator must act on. */
    if (h->blocked[0])
        x += term_putf(y + 3, x, w - x, term_attr(TUI_C_BAD) | A_BOLD, "  nothing runs: %s",
                       h->blocked);
    /* A shared pool it waits for (P lists the pools): why a pending
     * partition does not start. */
    if (h->waiting[0])
        x += term_putf(y + 3, x, w - x, term_attr(TUI_C_WAIT) | A_BOLD, "  %s", h->waiting);
    x += term_putf(y + 3, x, w - x, A_NORMAL, "%selapsed %s  ", x ? "  " : "",
                   tui_fmt_dur(r->started_at > 0 ? query_elapsed_at(r, t->now) : -1, a, sizeof a));
    /* Nothing drives it: the exact command to type, which names the
     * parameters too (status prints the same one). */
    if (h->next[0]) {
        x += term_putf(y + 3, x, w - x, A_DIM, "%s: ", h->next_what);
        /* A command cut at the screen's edge would be typed wrong: when it
         * does not fit, the key that shows it whole (and yanks it). */
        if (term_width(h->next) <= w - x)
            term_put(y + 3, x, w - x, A_NORMAL, h->next);
        else
            term_putf(y + 3, x, w - x, A_NORMAL, "y %c shows the whole command",
                      strcmp(h->next_what, "retry") == 0 ? 'r' : 'c');
    } else if (h->params[0]) {
        x += term_put(y + 3, x, w - x, A_DIM, "params ");
        term_put(y + 3, x, w - x, A_NORMAL, h->params);
    }
}

enum { P_MARK, P_IDX, P_KEY, P_STATE, P_BAR, P_RATE, P_ATT, P_ELAPSED, P_ETA, P_ERRS, P_MSG, P_N };
static const struct tui_col part_cols[P_N] = {
    [P_MARK] = {"", 1, 0, false, false, 0, false},
    [P_IDX] = {"#", 6, 0, false, true, 0, false},
    [P_KEY] = {"KEY", 14, 1, false, false, 0, false},
    [P_STATE] = {"STATE", 10, 0, false, false, 0, false},
    [P_BAR] = {"PROGRESS", 14, 2, false, false, 0, false},
    [P_RATE] = {"REC/S", 7, 6, false, true, 0, false},
    [P_ATT] = {"ATT", 5, 3, false, true, 0, false},
    [P_ELAPSED] = {"ELAPSED", 7, 4, false, true, 0, false},
    [P_ETA] = {"ETA", 7, 7, false, true, 0, false},
    [P_ERRS] = {"ERRS", 5, 8, false, true, 0, false},
    [P_MSG] = {"LAST MESSAGE", 12, 5, true, false, 0, false},
};

static void draw_table(struct run_view *v, int y, int h, int w)
{
    struct tui *t = v->t;
    struct tui_col c[P_N];
    memcpy(c, part_cols, sizeof c);
    /* The sort's column title carries its arrow (find.c). */
    static const enum ns_part_sort col_sort[P_N] = {
        [P_MARK] = NS_SORT_COUNT,      [P_IDX] = NS_SORT_IDX,         [P_KEY] = NS_SORT_KEY,
        [P_STATE] = NS_SORT_STATE,     [P_BAR] = NS_SORT_PROGRESS,    [P_RATE] = NS_SORT_RATE,
        [P_ATT] = NS_SORT_ATTEMPTS,    [P_ELAPSED] = NS_SORT_ELAPSED, [P_ETA] = NS_SORT_ETA,
        [P_ERRS] = NS_SORT_ERRORS,     [P_MSG] = NS_SORT_MESSAGE};
    char titles[P_N][32];
    for (int i = 0; i < P_N; i++)
        c[i].title = find_sort_title(t, col_sort[i], c[i].title, c[i].width, titles[i],
                                     sizeof titles[i]);
    cols_layout(c, P_N, w);
    cols_header(c, P_N, y, w, A_BOLD | A_UNDERLINE);
    int rows = h - 1;
    if (rows != v->list.height)
        list_set_height(&v->list, rows);
    for (int i = 0; i < v->list.n && i < rows; i++) {
        struct part_row *r = list_row(&v->list, i);
        int yy = y + 1 + i;
        bool cur = i == v->list.cur;
        attr_t base = cur ? A_REVERSE : A_NORMAL;
        if (cur)
            term_fill(yy, 0, w, base);
        char buf[64];
        const struct ns_part_row *q = &r->q;
        if (marks_has(&v->marks, q->idx))
            cols_cell(&c[P_MARK], yy, base | A_BOLD, "*");
        snprintf(buf, sizeof buf, "%lld", (long long)q->idx);
        cols_cell(&c[P_IDX], yy, base, buf);
        /* A search match: underlined and marked, seen without colour too. */
        attr_t hit = q->hit ? A_UNDERLINE | A_BOLD : 0;
        if (q->hit && !marks_has(&v->marks, q->idx))
            cols_cell(&c[P_MARK], yy, base | A_BOLD, ">");
        cols_cell(&c[P_KEY], yy, base | hit, r->key);
        if (query_is_straggler(v->h.r.straggler_after, r->pstate, q->live_started_at, t->now))
            cols_cell(&c[P_STATE], yy, base | term_attr(TUI_C_WAIT) | A_BOLD, "straggler");
        else
            cols_cell(&c[P_STATE], yy, base | term_attr(term_state_color(r->state)), r->state);
        double frac = -1;
        if (q->total > 0)
            frac = (double)q->progress / (double)q->total;
        else if (r->pstate == NS_PS_SUCCEEDED)
            frac = 1;
        if (c[P_BAR].shown) {
            int bw = c[P_BAR].width - 5;
            if (frac >= 0) {
                term_bar(yy, c[P_BAR].x, bw, frac, base | term_attr(term_state_color(r->state)),
                         t->utf8);
                term_putf(yy, c[P_BAR].x + bw, 5, base, "%4.0f%%", frac > 1 ? 100 : frac * 100);
            } else if (q->progress > 0) {
                term_putf(yy, c[P_BAR].x, c[P_BAR].width, base, "%lld rec", (long long)q->progress);
            }
        }
        /* Time: every attempt's, the live one up to now (across retries). */
        double elapsed = q->attempts_total > 0 ? query_attempts_seconds(q, t->now) : -1;
        double rate = query_part_rate(q, t->now);
        cols_cell(&c[P_RATE], yy, base, rate > 0 ? tui_fmt_rate(rate, buf, sizeof buf) : "-");
        cols_cell(&c[P_ATT], yy, base, query_attempt_label(q, buf, sizeof buf));
        cols_cell(&c[P_ELAPSED], yy, base, tui_fmt_dur(elapsed, buf, sizeof buf));
        cols_cell(&c[P_ETA], yy, base, tui_fmt_dur(query_part_eta(q, t->now), buf, sizeof buf));
        snprintf(buf, sizeof buf, "%lld", (long long)q->errors);
        cols_cell(&c[P_ERRS], yy, base, q->errors ? buf : "");
        cols_cell(&c[P_MSG], yy, base | (cur || hit ? hit : A_DIM), r->message);
    }
    if (v->list.n == 0)
        term_put(y + 2, 2, w - 2, A_DIM, "no partition matches (t: shown, F4: filter)");
}

static void put_cell(int y, int x, attr_t a, const char *glyph)
{
    term_put(y, x, 1, a, glyph);
}

/* The map's two lines under the cells, at screen row ly: the legend (the
 * density, the partitions shown of n, each state's glyph), then the partition
 * under the cursor. */
static void draw_map_legend(struct run_view *v, int ly, int w, int64_t n)
{
    int x = term_putf(
        ly, 0, w, A_DIM, "%d/cell  %lld-%lld of %lld  ", v->density,
        (long long)(v->idx_min + v->map_top),
        (long long)(v->idx_min + (v->map_top + v->n_cells < n ? v->map_top + v->n_cells : n) - 1),
        (long long)n);
    for (int s = 1; s < PS_N && x < w; s++) {
        char g[24];
        snprintf(g, sizeof g, "%c %s ", v->density == 1 ? pstates[s].letter : '#', pstates[s].word);
        if (v->density == 1) {
            x += term_put(ly, x, w - x, term_attr(pstates[s].color), g);
        } else {
            /* The swatch is drawn like a map cell, so it matches exactly. */
            if (s == PS_PENDING)
                x += term_put(ly, x, w - x, A_DIM, v->density == 2 ? "·" : "⣿");
            else
                x += term_put(ly, x, w - x, term_cell_attr(pstates[s].color, (int)pstates[s].color),
                              "▀");
            x += term_put(ly, x, w - x, A_NORMAL, g + 1);
        }
    }
    if (v->cur_loaded) {
        struct part_row *r = &v->cur_part;
        const struct ns_part_row *q = &r->q;
        x = term_putf(ly + 1, 0, w, A_BOLD, "#%lld ", (long long)q->idx);
        x += term_put(ly + 1, x, w - x > 24 ? 24 : w - x, A_NORMAL, r->key);
        x += term_put(ly + 1, x, w - x, A_NORMAL, " ");
        x += term_put(ly + 1, x, w - x, term_attr(term_state_color(r->state)), r->state);
        if (q->total > 0)
            x += term_putf(ly + 1, x, w - x, A_NORMAL, " %lld/%lld", (long long)q->progress,
                           (long long)q->total);
        char att[48];
        x += term_putf(ly + 1, x, w - x, A_NORMAL, " att %s ",
                       query_attempt_label(q, att, sizeof att));
        term_put(ly + 1, x, w - x, A_DIM, r->message);
    }
}

static void draw_map(struct run_view *v, int y, int h, int w)
{
    int rows = h - 2;
    if (rows < 1)
        rows = 1;
    int old_rows = v->map_rows, old_w = v->map_w, old_d = v->density;
    map_geometry(v, rows, w);
    if (rows != old_rows || w != old_w || v->density != old_d || !v->cells) {
        map_scroll_to_cursor(v);
        load_map(v);
    }
    int px, py;
    density_shape(v->density, &px, &py);
    int64_t pw = (int64_t)w * px, n = map_count(v);
    for (int r = 0; r < rows; r++) {
        for (int cx = 0; cx < w; cx++) {
            /* The partitions of this cell: pixel (pcol, prow) -> ordinal. */
            int states[8];
            int64_t ords[8];
            int k = 0;
            for (int dy = 0; dy < py; dy++)
                for (int dx = 0; dx < px; dx++) {
                    int64_t o = ((int64_t)r * py + dy) * pw + (int64_t)cx * px + dx;
                    ords[k] = v->map_top + o;
                    states[k] = (o < v->n_cells && v->map_top + o < n) ? v->cells[o] : -1;
                    k++;
                }
            bool cursor = false;
            for (int i = 0; i < k; i++)
                cursor = cursor || ords[i] == v->map_cur;
            if (k == 0 || states[0] < 0) /* k >= 1: density_shape gives px, py >= 1 */
                continue;
            int yy = y + r;
            if (v->density == 1) {
                int s = states[0];
                char g[2] = {pstates[s].letter, 0};
                if (marks_has(&v->marks, v->idx_min + ords[0]))
                    g[0] = '*';
                /* Colour: a coloured block that still shows its letter. */
                attr_t a = term_attr(pstates[s].color) | (v->t->color ? A_REVERSE : 0);
                if (cursor)
                    a = v->t->color ? (A_BOLD | A_UNDERLINE) : (A_REVERSE | A_BOLD);
                put_cell(yy, cx, a, g);
            } else if (v->density == 2) {
                /* Half-blocks: the top partition in the foreground, the
                 * bottom one in the background; pending halves stay empty
                 * (a dim dot when both are), so what has run stands out. */
                int top = states[0], bot = states[1];
                bool tp = top == PS_PENDING, bp = bot < 0 || bot == PS_PENDING;
                int tc = (int)pstates[top].color, bc = bot < 0 ? -1 : (int)pstates[bot].color;
                if (cursor)
                    put_cell(yy, cx, A_REVERSE | A_BOLD, "◆");
                else if (tp && bp)
                    put_cell(yy, cx, A_DIM, "·");
                else if (tp)
                    put_cell(yy, cx, term_cell_attr(bc, -1), "▄");
                else if (bp)
                    put_cell(yy, cx, term_cell_attr(tc, -1), "▀");
                else
                    put_cell(yy, cx, term_cell_attr(tc, bc), "▀");
            } else {
                /* Braille: a dot per started or finished partition; the cell
                 * takes the colour of its most urgent state; a cell of only
                 * pending partitions is all dots, dim. */
                static const int bit[4][2] = {
                    {0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
                int bits = 0, worst = PS_PENDING, sev = -1;
                for (int dy = 0; dy < 4; dy++)
                    for (int dx = 0; dx < 2; dx++) {
                        int s = states[dy * 2 + dx];
                        if (s <= 0)
                            continue;
                        if (s != PS_PENDING)
                            bits |= bit[dy][dx];
                        if (pstates[s].severity > sev) {
                            sev = pstates[s].severity;
                            worst = s;
                        }
                    }
                if (bits == 0)
                    bits = 0xff;
                unsigned cp = 0x2800u + (unsigned)bits;
                char g[4] = {(char)(0xe0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3f)),
                             (char)(0x80 | (cp & 0x3f)), 0};
                attr_t a = term_attr(pstates[worst].color);
                put_cell(yy, cx, cursor ? (A_REVERSE | A_BOLD) : a, g);
            }
        }
    }
    draw_map_legend(v, y + rows, w, n);
}

static void run_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct run_view *v = (struct run_view *)vv;
    (void)t;
    if (h < 6) {
        term_put(y, 0, w, A_BOLD, "terminal too small");
        return;
    }
    draw_header(v, y, w);
    int x = 0;
    int yy = y + 4;
    x += term_putf(yy, x, w, A_BOLD, "%s", v->map ? "[map] " : "[table] ");
    if (v->signature) {
        x += term_put(yy, x, w - x, A_NORMAL, "failed with: ");
        char *safe = tui_esc(t, v->signature, strlen(v->signature));
        x += term_put(yy, x, w - x > 40 ? 40 : w - x, term_attr(TUI_C_BAD), safe);
        free(safe);
    } else if (!v->map) {
        x += term_putf(yy, x, w - x, A_NORMAL, "filter %s",
                       query_part_filter_name(filters[v->filter]));
        x += find_draw_line(t, &v->find, true, v->marks.n, yy, x, w);
        x += term_putf(yy, x, w - x, A_NORMAL, "  sort %s%s", query_part_sort_name(t->sort),
                       t->sort_desc ? " desc" : "");
    }
    x += find_draw_line(t, &v->find, false, v->marks.n, yy, x, w);
    const char *hint =
        v->map ? "  m:table z:zoom arrows/hjkl Enter" : "  F4:filter /:search o:sort Space:mark";
    if (term_width(hint) <= w - x) /* whole or not at all */
        term_put(yy, x, w - x, A_DIM, hint);
    if (v->map)
        draw_map(v, yy + 1, h - 5, w);
    else
        draw_table(v, yy + 1, h - 5, w);
}

/* The partitions an action applies to: the marked ones, else the current. */
static size_t marked_or_current(struct run_view *v, int64_t **out)
{
    if (v->marks.n) {
        *out = ns_xmalloc(sizeof **out * v->marks.n);
        memcpy(*out, v->marks.idx, sizeof **out * v->marks.n);
        return v->marks.n;
    }
    *out = ns_xmalloc(sizeof **out);
    if (v->map) {
        (*out)[0] = v->idx_min + v->map_cur;
        return map_count(v) > 0 ? 1 : 0;
    }
    struct part_row *r = list_current(&v->list);
    if (!r)
        return 0;
    (*out)[0] = r->q.idx;
    return 1;
}

static enum tui_result map_key(struct run_view *v, enum tui_cmd cmd)
{
    int px, py;
    density_shape(v->density, &px, &py);
    int64_t pw = (int64_t)v->map_w * px;
    int64_t screen = pw * py * v->map_rows;
    switch (cmd) {
    case TUI_CMD_LEFT:
        v->map_cur--;
        break;
    case TUI_CMD_RIGHT:
        v->map_cur++;
        break;
    case TUI_CMD_UP:
        v->map_cur -= pw;
        break;
    case TUI_CMD_DOWN:
        v->map_cur += pw;
        break;
    case TUI_CMD_PGUP:
        v->map_cur -= screen;
        break;
    case TUI_CMD_PGDN:
        v->map_cur += screen;
        break;
    case TUI_CMD_HOME:
        v->map_cur = 0;
        break;
    case TUI_CMD_END:
        v->map_cur = map_count(v) - 1;
        break;
    default:
        return TUI_OK;
    }
    int64_t old_top = v->map_top;
    map_scroll_to_cursor(v);
    if (old_top != v->map_top)
        load_map(v);
    else
        load_cur_part(v);
    return TUI_REDRAW;
}

static enum tui_result run_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct run_view *v = (struct run_view *)vv;
    (void)ch;
    if (v->map) {
        enum tui_result r = map_key(v, cmd);
        if (r != TUI_OK)
            return r;
    } else {
        if (cmd == TUI_CMD_LEFT)
            cmd = TUI_CMD_BACK;
        if (cmd == TUI_CMD_RIGHT)
            cmd = TUI_CMD_OPEN;
        if (list_navigate(&v->list, cmd))
            return TUI_REDRAW;
    }
    struct part_row *cur = list_current(&v->list);
    struct tui_find_target tg = {
        .list = v->map ? NULL : &v->list,
        .marks = &v->marks,
        .idx_of = part_row_idx,
        .sel = selection(v),
        .cursor_idx = v->map ? (map_count(v) > 0 ? v->idx_min + v->map_cur : -1)
                      : cur  ? cur->q.idx
                             : -1};
    enum tui_result found = find_key(t, &v->find, &tg, cmd);
    if (found != TUI_OK)
        return found;
    switch (cmd) {
    case TUI_CMD_BACK:
        return TUI_POP;
    case TUI_CMD_OPEN:
    case TUI_CMD_LOG: {
        int64_t idx;
        if (v->map) {
            if (map_count(v) <= 0)
                return TUI_OK;
            idx = v->idx_min + v->map_cur;
        } else {
            struct part_row *r = list_current(&v->list);
            if (!r)
                return TUI_OK;
            idx = r->q.idx;
        }
        t->pushed = cmd == TUI_CMD_LOG ? view_log_new(t, vv->run_id, idx, 0)
                                       : view_partition_new(t, vv->run_id, idx);
        return t->pushed ? TUI_PUSH : TUI_REDRAW;
    }
    case TUI_CMD_MAP:
        v->map = !v->map;
        if (v->map) {
            struct part_row *r = list_current(&v->list);
            if (r)
                v->map_cur = r->q.idx - v->idx_min;
            free(v->cells);
            v->cells = NULL;
            v->n_cells = 0;
        }
        return TUI_RELOAD;
    case TUI_CMD_ZOOM: {
        static const int next[] = {1, 2, 8, 0};
        int i = v->zoom == 0 ? 0 : v->zoom == 1 ? 1 : v->zoom == 2 ? 2 : 3;
        v->zoom = next[i];
        free(v->cells);
        v->cells = NULL;
        v->n_cells = 0;
        tui_status(t, A_NORMAL, "map density: %s", v->zoom ? "fixed" : "auto");
        return TUI_REDRAW;
    }
    case TUI_CMD_SHOW:
        if (v->signature) {
            free(v->signature);
            v->signature = NULL;
        } else {
            v->filter = (v->filter + 1) % F_N;
        }
        list_reset(&v->list);
        return TUI_REDRAW;
    case TUI_CMD_MARK: {
        if (v->map) {
            marks_toggle(&v->marks, v->idx_min + v->map_cur);
            return map_key(v, TUI_CMD_RIGHT);
        }
        struct part_row *r = list_current(&v->list);
        if (r)
            marks_toggle(&v->marks, r->q.idx);
        list_navigate(&v->list, TUI_CMD_DOWN);
        return TUI_REDRAW;
    }
    case TUI_CMD_ERRORS:
    case TUI_CMD_FAILURES:
        t->pushed = view_errors_new(t, vv->run_id, -1, cmd == TUI_CMD_FAILURES);
        return TUI_PUSH;
    case TUI_CMD_TIMELINE:
        t->pushed = view_timeline_new(t, vv->run_id);
        return TUI_PUSH;
    case TUI_CMD_YANK: {
        int64_t *sel;
        size_t n = marked_or_current(v, &sel);
        enum tui_result r = tui_yank(t, vv->run_id, sel, n);
        free(sel);
        return r;
    }
    case TUI_CMD_RETRY:
    case TUI_CMD_RETRY_SCRATCH:
    case TUI_CMD_KILL:
    case TUI_CMD_SKIP: {
        int64_t *sel;
        size_t n = marked_or_current(v, &sel);
        unsigned before = t->submitted;
        tui_partition_action(t, vv->run_id, cmd, sel, n, NULL);
        free(sel);
        if (v->marks.n && cmd != TUI_CMD_KILL && t->submitted != before) /* not if cancelled */
            marks_clear(&v->marks);
        return TUI_RELOAD;
    }
    default:
        return TUI_OK;
    }
}

static void run_crumb(struct tui_view *vv, struct ns_buf *out)
{
    struct run_view *v = (struct run_view *)vv;
    buf_addf(out, "run %lld %s", (long long)vv->run_id, v->h.job ? v->h.job : "");
}

static void run_free(struct tui_view *vv)
{
    struct run_view *v = (struct run_view *)vv;
    list_release(&v->list);
    head_release(&v->h);
    if (v->cur_loaded)
        part_row_release(&v->cur_part);
    free(v->spark);
    free(v->running);
    free(v->cells);
    marks_clear(&v->marks);
    free(v->signature);
    free(v);
}

/* A runtime dies without a commit (kill -9): the database does not change,
 * the lock does. Once a second the lock is probed again - an open and a
 * flock, nothing read - and the header re-read when the answer changed. */
static bool run_poll(struct tui_view *vv, struct tui *t)
{
    struct run_view *v = (struct run_view *)vv;
    double now = ns_monotonic();
    if (!v->h.found || v->h.r.final || now - v->alive_probed < 1.0)
        return false;
    v->alive_probed = now;
    bool alive = query_runtime_alive(&t->st, vv->run_id);
    if (alive != v->h.r.alive) {
        run_load(vv, t); /* the rows change too: with no runtime nothing runs */
        return true;
    }
    if (alive)
        return false;
    /* Nobody drives it, so no row changes; but its SLA moves with the clock
     * (the read model turns it at risk once the work left says so). */
    load_head(v);
    return true;
}

static const struct tui_view_ops run_ops = {
    "run", TUI_SCOPE_RUN, run_free, run_load, run_poll, run_draw, run_key, run_crumb,
};

struct tui_view *view_run_new(struct tui *t, int64_t run_id)
{
    struct run_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &run_ops;
    v->base.run_id = run_id;
    v->t = t;
    list_init(&v->list, &parts_list_ops, v);
    load_head(v);
    return &v->base;
}

struct tui_view *view_run_new_signature(struct tui *t, int64_t run_id, const char *signature)
{
    struct tui_view *vv = view_run_new(t, run_id);
    struct run_view *v = (struct run_view *)vv;
    v->signature = ns_xstrdup(signature); /* the failure group: NS_PF_GROUP */
    v->filter = F_FAILED;                 /* when the group is dropped */
    return vv;
}
