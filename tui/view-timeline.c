/*
 * view-timeline.c - a run's attempts in time, as a text Gantt: one row per
 * worker slot, one column per step of time, scrolling and zooming, and in
 * its header a sparkline of how many attempts ran at each moment.
 *
 * Slots: attempts are laid out greedily, oldest start first, each on the
 * lowest slot free at its start - so there are as many rows as attempts
 * ever ran at once. A retry's wait (from the failure to its next start) is
 * drawn before the retry on its slot where that slot is otherwise empty.
 * What held an attempt before its start (a pool, the window, an upstream
 * run: attempts.waited_for) is drawn the same way, up to its start.
 * Every kind has its own glyph, so the picture reads without colour:
 *   = succeeded   > running   X failed   ! killed/interrupted/lost
 *   . a retry's wait   p w u held for a pool, by the window, for an upstream
 * When a cell holds several, the most urgent wins (X ! > = p w u .). An attempt
 * of three columns or more starts with '|', so attempts back to back on a
 * slot (and a retry after its wait) stay apart while short ones keep their
 * glyph.
 *
 * Only the window on screen is read (query_timeline_spans, at most SPANS_MAX), so a
 * million attempts cost what a screenful costs. Following (the default
 * for a live run) keeps "now" at the right edge.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/query.h"
#include "tui-internal.h"

enum { SPANS_MAX = 10000, LABEL_W = 8 };

static const struct {
    char glyph;
    enum tui_color color;
    int urgency; /* which kind a cell of several shows */
    const char *word;
} kinds[] = {
    [NS_TL_RUNNING] = {'>', TUI_C_RUN, 3, "running"},
    [NS_TL_OK] = {'=', TUI_C_OK, 2, "succeeded"},
    [NS_TL_FAILED] = {'X', TUI_C_BAD, 5, "failed"},
    [NS_TL_STOPPED] = {'!', TUI_C_WAIT, 4, "killed/lost"},
    [NS_TL_WAITING] = {'.', TUI_C_PENDING, 0, "retry wait"},
    [NS_TL_HELD_POOL] = {'p', TUI_C_WAIT, 1, "pool"},
    [NS_TL_HELD_WINDOW] = {'w', TUI_C_PAUSED, 1, "window"},
    [NS_TL_HELD_UPSTREAM] = {'u', TUI_C_SKIP, 1, "upstream"},
};

/* A wait (a retry's, or held), drawn before its attempt: not an attempt. */
static bool is_wait(enum ns_tl_kind k)
{
    return k >= NS_TL_WAITING;
}

struct timeline_view {
    struct tui_view base;
    struct tui *t;
    char *job;
    double run_start, run_end; /* run_end 0 while the run goes on */
    double spc;                /* seconds per column */
    double t0;                 /* the left edge (when not following) */
    bool follow;
    int cols;   /* columns of the chart at the last draw */
    int top;    /* first slot shown */
    struct ns_tl_span *spans;
    int *slot; /* per span */
    int n, n_slots;
    bool truncated;
};

/* The right edge: now while following a live run, else t0's window. */
static double window_end(const struct timeline_view *v)
{
    double end = v->run_end > 0 ? v->run_end : v->t->now;
    return v->follow ? end : v->t0 + v->spc * v->cols;
}

static double window_start(const struct timeline_view *v)
{
    return v->follow ? window_end(v) - v->spc * v->cols : v->t0;
}

/* A partition's attempt and its slot, sorted by (idx, start). */
struct last_slot {
    int64_t idx;
    double start;
    int slot;
};

static int last_slot_cmp(const void *pa, const void *pb)
{
    const struct last_slot *a = pa, *b = pb;
    if (a->idx != b->idx)
        return a->idx < b->idx ? -1 : 1;
    return (a->start > b->start) - (a->start < b->start);
}

/* Greedy slots: each attempt on the lowest slot free at its start; a wait
 * on the slot of the attempt it precedes (or, still waiting, of the
 * partition's last attempt). */
static void lay_out(struct timeline_view *v)
{
    free(v->slot);
    v->slot = ns_xcalloc((size_t)(v->n > 0 ? v->n : 1), sizeof *v->slot);
    double *busy_until = NULL;
    int n_slots = 0;
    for (int i = 0; i < v->n; i++) {
        const struct ns_tl_span *s = &v->spans[i];
        if (is_wait(s->kind))
            continue;
        double end = s->end > 0 ? s->end : INFINITY;
        int k = 0;
        while (k < n_slots && busy_until[k] > s->start)
            k++;
        if (k == n_slots) {
            busy_until = ns_xrealloc(busy_until, sizeof *busy_until * (size_t)(n_slots + 1));
            n_slots++;
        }
        busy_until[k] = end;
        v->slot[i] = k;
    }
    /* A wait before an attempt sits on its attempt's slot: query_timeline_spans
     * gives the waits just before their attempt (retry wait, held, attempt:
     * hence from the end). A partition still waiting sits on the slot of its
     * last attempt, found by a binary search by index. */
    struct last_slot *last = ns_xmalloc(sizeof *last * (size_t)(v->n > 0 ? v->n : 1));
    int n_last = 0;
    for (int i = 0; i < v->n; i++)
        if (!is_wait(v->spans[i].kind))
            last[n_last++] = (struct last_slot){v->spans[i].idx, v->spans[i].start, v->slot[i]};
    qsort(last, (size_t)n_last, sizeof *last, last_slot_cmp);
    for (int i = v->n - 1; i >= 0; i--) {
        const struct ns_tl_span *s = &v->spans[i];
        if (!is_wait(s->kind))
            continue;
        v->slot[i] = -1;
        if (s->n && i + 1 < v->n && v->spans[i + 1].idx == s->idx)
            v->slot[i] = v->slot[i + 1];
        if (s->n)
            continue;
        int lo = 0, hi = n_last; /* the first entry past idx */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (last[mid].idx <= s->idx)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && last[lo - 1].idx == s->idx)
            v->slot[i] = last[lo - 1].slot;
    }
    free(last);
    free(busy_until);
    v->n_slots = n_slots;
}

static void tl_load(struct tui_view *vv, struct tui *t)
{
    struct timeline_view *v = (struct timeline_view *)vv;
    struct ns_run_summary r;
    char err[256];
    if (query_run_summary(&t->st, vv->run_id, t->now, &r, err, sizeof err) == 1) {
        v->run_start = r.started_at;
        v->run_end = r.final ? r.finished_at : 0;
        free(v->job);
        v->job = tui_esc(t, r.job, strlen(r.job));
    }
    query_run_summary_release(&r);
    if (v->spc <= 0) { /* first load: the whole run on one screen */
        double len = (v->run_end > 0 ? v->run_end : t->now) - v->run_start;
        int cols = v->cols > 0 ? v->cols : 60;
        v->spc = len > 0 ? ceil(len / cols) : 1;
        if (v->spc < 1)
            v->spc = 1;
    }
    free(v->spans);
    v->spans = NULL;
    /* From the run's start, so the slots stay put while scrolling; a run
     * with more attempts than that is read from the window's start. */
    int n = query_timeline_spans(&t->st, vv->run_id, v->run_start, window_end(v) + v->spc, SPANS_MAX,
                        &v->spans);
    if (n >= SPANS_MAX - 2) {
        free(v->spans);
        v->spans = NULL;
        n = query_timeline_spans(&t->st, vv->run_id, window_start(v), window_end(v) + v->spc, SPANS_MAX,
                        &v->spans);
    }
    v->n = n > 0 ? n : 0;
    v->truncated = n >= SPANS_MAX - 2;
    lay_out(v);
}

/* The columns [c0, c1] a span covers in a window from t0. */
static bool span_cols(const struct timeline_view *v, const struct ns_tl_span *s, double t0,
                      int *c0, int *c1)
{
    double end = s->end > 0 ? s->end : v->t->now;
    if (end < t0 || s->start >= t0 + v->spc * v->cols)
        return false;
    double a = floor((s->start - t0) / v->spc), b = floor((end - t0) / v->spc);
    *c0 = a < 0 ? 0 : (int)a;
    *c1 = b >= v->cols ? v->cols - 1 : (int)b;
    return *c1 >= *c0;
}

/* Header: the window, the scale, and the running count as a sparkline. */
static void draw_head(struct timeline_view *v, int y, int w, double t0)
{
    struct tui *t = v->t;
    /* Attempts running at each column's middle (an attempt ending and
     * the next starting within one column count once). */
    double *running = ns_xcalloc((size_t)(v->cols > 0 ? v->cols : 1), sizeof *running);
    for (int i = 0; i < v->n; i++) {
        const struct ns_tl_span *sp = &v->spans[i];
        double end = sp->end > 0 ? sp->end : t->now;
        int c0, c1;
        if (!is_wait(sp->kind) && span_cols(v, sp, t0, &c0, &c1))
            for (int c = c0; c <= c1; c++) {
                double mid = t0 + v->spc * (c + 0.5);
                if (sp->start <= mid && mid < end)
                    running[c]++;
            }
    }
    double max = 0;
    for (int c = 0; c < v->cols; c++)
        max = fmax(max, running[c]);
    char a[32], b[32], d[32];
    int x = term_putf(y, 0, w, A_BOLD, "%s ", v->follow ? "following" : "window");
    x += term_putf(y, x, w - x, A_NORMAL, "%s-%s  %s/col  running ",
                   tui_fmt_clock(t0, a, sizeof a), tui_fmt_clock(t0 + v->spc * v->cols, b, sizeof b),
                   tui_fmt_dur(v->spc, d, sizeof d));
    int sw = w - x - 22;
    if (sw > v->cols)
        sw = v->cols;
    if (sw > 4) {
        /* The sparkline's columns are the chart's last sw columns. */
        tui_sparkline(t, y, x, sw, running, v->cols, term_attr(TUI_C_RUN));
        x += sw;
    }
    term_putf(y, x, w - x, A_NORMAL, " max %.0f%s", max, v->truncated ? " (cut: zoom in)" : "");
    free(running);
}

/* The time axis: a clock every 10 columns. */
static void draw_axis(const struct timeline_view *v, int y, int w, double t0)
{
    char clock[32];
    term_put(y, 0, LABEL_W, A_DIM, "slot");
    for (int c = 0; c + 9 < v->cols; c += 10) {
        term_put(y, LABEL_W + c, 1, A_DIM, "|");
        term_put(y, LABEL_W + c + 1, w - LABEL_W - c - 1 < 9 ? w - LABEL_W - c - 1 : 9, A_DIM,
                 tui_fmt_clock(t0 + v->spc * c, clock, sizeof clock));
    }
}

static void draw_slots(struct timeline_view *v, int y, int rows, double t0)
{
    int n_cells = rows * v->cols;
    signed char *cell = ns_xmalloc((size_t)(n_cells > 0 ? n_cells : 1));
    memset(cell, -1, (size_t)(n_cells > 0 ? n_cells : 1));
    /* An attempt's first column, when it has three or more, is a '|':
     * back-to-back attempts on one slot stay apart without colour. */
    bool *first = ns_xcalloc((size_t)(n_cells > 0 ? n_cells : 1), sizeof *first);
    for (int i = 0; i < v->n; i++) {
        int row = v->slot[i] - v->top, c0, c1;
        if (row < 0 || row >= rows || !span_cols(v, &v->spans[i], t0, &c0, &c1))
            continue;
        enum ns_tl_kind k = v->spans[i].kind;
        for (int c = c0; c <= c1; c++) {
            signed char *p = &cell[row * v->cols + c];
            if (*p < 0 || kinds[k].urgency > kinds[*p].urgency)
                *p = (signed char)k;
        }
        double start_col = (v->spans[i].start - t0) / v->spc;
        if (!is_wait(k) && c1 - c0 >= 2 && start_col >= 0)
            first[row * v->cols + c0] = true;
    }
    for (int r = 0; r < rows && v->top + r < v->n_slots; r++) {
        term_putf(y + r, 0, LABEL_W, A_DIM, "%6d ", v->top + r + 1);
        for (int c = 0; c < v->cols; c++) {
            signed char k = cell[r * v->cols + c];
            if (k < 0)
                continue;
            char g[2] = {first[r * v->cols + c] ? '|' : kinds[k].glyph, 0};
            term_put(y + r, LABEL_W + c, 1, term_attr(kinds[k].color), g);
        }
    }
    free(first);
    free(cell);
}

static void tl_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct timeline_view *v = (struct timeline_view *)vv;
    int cols = w - LABEL_W;
    if (h < 5 || cols < 10) {
        term_put(y, 0, w, A_BOLD, "terminal too small");
        return;
    }
    if (cols != v->cols) {
        if (v->cols == 0)
            v->spc = 0; /* the first draw: fit the run to the real width */
        v->cols = cols;
        tl_load(vv, t); /* the window's width changed */
    }
    double t0 = window_start(v);
    draw_head(v, y, w, t0);
    draw_axis(v, y + 1, w, t0);
    int rows = h - 3;
    if (v->top > v->n_slots - 1)
        v->top = v->n_slots > 0 ? v->n_slots - 1 : 0;
    draw_slots(v, y + 2, rows, t0);
    if (v->n == 0)
        term_put(y + 3, LABEL_W, w - LABEL_W, A_DIM, "no attempt in this window");
    /* The legend: glyphs first, so it reads without colour; a kind of
     * hold only when one is in the window (80 columns). */
    bool shown[NS_ARRAY_LEN(kinds)] = {false};
    for (int i = 0; i < v->n; i++)
        shown[v->spans[i].kind] = true;
    int x = 0;
    for (size_t k = 0; k < NS_ARRAY_LEN(kinds) && x < w; k++) {
        if (k >= NS_TL_HELD_POOL && !shown[k])
            continue;
        char g[2] = {kinds[k].glyph, 0};
        x += term_put(y + h - 1, x, w - x, term_attr(kinds[k].color) | A_BOLD, g);
        x += term_putf(y + h - 1, x, w - x, A_NORMAL, " %s  ", kinds[k].word);
    }
    const char *hint = "h/l scroll +/- zoom End now";
    if (term_width(hint) <= w - x)
        term_put(y + h - 1, w - term_width(hint), term_width(hint), A_DIM, hint);
}

static enum tui_result tl_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct timeline_view *v = (struct timeline_view *)vv;
    (void)ch;
    double t0 = window_start(v);
    int step = v->cols / 4 > 0 ? v->cols / 4 : 1;
    switch (cmd) {
    case TUI_CMD_BACK:
        return TUI_POP;
    case TUI_CMD_LEFT:
    case TUI_CMD_RIGHT:
        v->follow = false;
        v->t0 = t0 + (cmd == TUI_CMD_LEFT ? -step : step) * v->spc;
        if (v->t0 + v->spc * v->cols >= (v->run_end > 0 ? v->run_end : t->now))
            v->follow = true; /* scrolled to now: follow again */
        return TUI_RELOAD;
    case TUI_CMD_ZOOM_IN:
    case TUI_CMD_ZOOM_OUT: {
        /* Keep the middle of the window where it is (following: now stays
         * at the right edge). */
        double mid = t0 + v->spc * v->cols / 2;
        v->spc = cmd == TUI_CMD_ZOOM_IN ? fmax(v->spc / 2, 0.25) : fmin(v->spc * 2, 86400);
        v->t0 = mid - v->spc * v->cols / 2;
        char d[32];
        tui_status(t, A_NORMAL, "%s per column", tui_fmt_dur(v->spc, d, sizeof d));
        return TUI_RELOAD;
    }
    case TUI_CMD_HOME:
        v->follow = false;
        v->t0 = v->run_start;
        return TUI_RELOAD;
    case TUI_CMD_END:
        v->follow = true;
        return TUI_RELOAD;
    case TUI_CMD_UP:
    case TUI_CMD_PGUP:
        v->top -= cmd == TUI_CMD_UP ? 1 : 10;
        if (v->top < 0)
            v->top = 0;
        return TUI_REDRAW;
    case TUI_CMD_DOWN:
    case TUI_CMD_PGDN:
        v->top += cmd == TUI_CMD_DOWN ? 1 : 10;
        return TUI_REDRAW;
    default:
        return TUI_OK;
    }
}

static void tl_crumb(struct tui_view *vv, struct ns_buf *out)
{
    (void)vv;
    buf_adds(out, "timeline");
}

static void tl_free(struct tui_view *vv)
{
    struct timeline_view *v = (struct timeline_view *)vv;
    free(v->spans);
    free(v->slot);
    free(v->job);
    free(v);
}

static const struct tui_view_ops timeline_ops = {
    "timeline", TUI_SCOPE_TIMELINE, tl_free, tl_load, NULL, tl_draw, tl_key, tl_crumb,
};

struct tui_view *view_timeline_new(struct tui *t, int64_t run_id)
{
    struct timeline_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &timeline_ops;
    v->base.run_id = run_id;
    v->t = t;
    v->follow = true;
    return &v->base;
}
