/*
 * report-charts.c - the HTML report's pictures (html.h): the timeline, the
 * running attempts and the throughput over time, the distribution of
 * partition durations. Inline SVG, styled by the page's CSS classes (so a
 * dark or light browser theme and print restyle them), each mark with an
 * SVG <title> holding its exact numbers.
 *
 * The timeline puts each attempt on a worker slot's row. No slot is
 * stored, so slots are derived by greedy interval packing of the attempts'
 * running time: an attempt takes the lowest-numbered slot free at its
 * start - as many rows as attempts ever ran at once. Above
 * HTML_DETAIL_MAX partitions one bar per attempt would be a picture of
 * noise and megabytes of SVG: rows of slots and time buckets are drawn as
 * cells instead, each coloured by the outcome that took most of its time,
 * its opacity the share of time busy, and the chart says so.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "nightshift/query-report.h"
#include "nightshift/query-times.h"
#include "nightshift/query.h"

#define AGG_COLS 240     /* time buckets of the aggregated timeline */
#define AGG_ROWS 48      /* at most this many rows of slots when aggregated */
#define SERIES_COLS 240  /* at most this many buckets in the charts over time, */
#define SERIES_MIN_S 1.0 /* each at least a second long */

/* The number of buckets of a chart over the axis's time. */
static int series_cols(const struct html_axis *ax)
{
    double n = (ax->t1 - ax->t0) / SERIES_MIN_S;
    return n >= SERIES_COLS ? SERIES_COLS : n < 4 ? 4 : (int)n;
}

/* How much of [a, e) falls in bucket c of n over the axis. */
static double bucket_overlap(const struct html_axis *ax, int n, int c, double a, double e)
{
    double span = (ax->t1 - ax->t0) / n, lo = ax->t0 + c * span, hi = lo + span;
    double ov = (e < hi ? e : hi) - (a > lo ? a : lo);
    return ov > 0 ? ov : 0;
}

/* Adds rate * (the share of [a, e) in each bucket) to v: a quantity spread
 * evenly over its interval. */
static void spread(double *v, int n, const struct html_axis *ax, double a, double e, double amount)
{
    double span = (ax->t1 - ax->t0) / n;
    if (e <= a) {
        int c = (int)((a - ax->t0) / span);
        if (c >= 0 && c < n)
            v[c] += amount / span;
        return;
    }
    int c0 = (int)((a - ax->t0) / span), c1 = (int)((e - ax->t0) / span);
    for (int c = c0 < 0 ? 0 : c0; c <= c1 && c < n; c++)
        v[c] += amount * bucket_overlap(ax, n, c, a, e) / (e - a) / span;
}

/* How an attempt is drawn: a CSS class per kind of end. */
enum look { L_OK, L_FAILED, L_INTERRUPTED, L_LIVE, L_COUNT };
static const char *const look_class[L_COUNT] = {"ok", "failed", "interrupted", "live"};
static const char *const look_words[L_COUNT] = {"succeeded", "failed", "interrupted",
                                                "still running"};

static enum look look_of(int outcome)
{
    if (outcome < 0)
        return L_LIVE;
    if (outcome == NS_AO_SUCCEEDED)
        return L_OK;
    if (outcome == NS_AO_INTERRUPTED)
        return L_INTERRUPTED;
    return L_FAILED;
}

/* An attempt's running interval; a live one runs until now; one ended
 * with no known end (a crash) is drawn as an instant. */
static void run_interval(const struct ns_span *s, double now, double *a, double *b)
{
    *a = query_span_run_start(s);
    *b = s->ended_at > 0 ? s->ended_at : s->outcome < 0 ? now : *a;
    if (*b < *a)
        *b = *a;
}

/* ---- slots by greedy interval packing ----------------------------------- */

struct busy {
    double end;
    int slot;
};

static void heap_push(struct busy *h, size_t *n, struct busy v)
{
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].end > v.end) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static struct busy heap_pop(struct busy *h, size_t *n)
{
    struct busy top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1].end < h[c].end)
            c++;
        if (h[c].end >= last.end)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
    return top;
}

struct start {
    double at;
    size_t span;
};

static int by_start(const void *x, const void *y)
{
    const struct start *a = x, *b = y;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    return a->span < b->span ? -1 : 1;
}

/* slot[i] for every span; returns the number of slots. Free slots are kept
 * as a bitmap scan from the lowest (concurrency is small). */
static int pack_slots(const struct ns_span *spans, size_t n, double now, int *slot)
{
    struct start *order = ns_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = (struct start){query_span_run_start(&spans[i]), i};
    qsort(order, n, sizeof *order, by_start);
    struct busy *heap = ns_xmalloc((n ? n : 1) * sizeof *heap);
    size_t nheap = 0;
    unsigned char *taken = NULL;
    int nslots = 0;
    for (size_t k = 0; k < n; k++) {
        double a, b;
        run_interval(&spans[order[k].span], now, &a, &b);
        while (nheap && heap[0].end <= a)
            taken[heap_pop(heap, &nheap).slot] = 0;
        int s = 0;
        while (s < nslots && taken[s])
            s++;
        if (s == nslots) {
            taken = ns_xrealloc(taken, (size_t)++nslots);
            taken[s] = 0;
        }
        taken[s] = 1;
        slot[order[k].span] = s;
        heap_push(heap, &nheap, (struct busy){b, s});
    }
    free(taken);
    free(heap);
    free(order);
    return nslots;
}

/* ---- the timeline ------------------------------------------------------- */

#define TL_TOP 8.0
#define TL_LEFT 70.0

/* The key of span s's partition when the keys were read (parts and spans
 * are both in partition order: a binary search), else NULL. */
static const char *part_key(const struct ns_run_times *t, const struct ns_span *s)
{
    size_t lo = 0, hi = t->nparts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->parts[mid].idx < s->idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->nparts && t->parts[lo].idx == s->idx ? t->parts[lo].key : NULL;
}

/* What held an attempt before it started (a pool, the window, an upstream
 * run): a thin bar in its own colour up to its start, over a retry's wait. */
static void held_bar(struct ns_buf *b, const struct ns_span *s, const struct html_axis *ax,
                     double y, double rowh)
{
    static const char *const why[NS_WAIT_COUNT] = {
        [NS_WAIT_POOL] = "for pool slots",
        [NS_WAIT_WINDOW] = "by the run's window",
        [NS_WAIT_UPSTREAM] = "for an upstream run"};
    char d[32];
    double hx = html_x(ax, s->started_at - s->waited_s);
    buf_addf(b,
             "<rect class=\"held-%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
             "<title>partition %lld attempt %d: held %s %s before it started</title></rect>\n",
             query_wait_kind_word((enum ns_wait_kind)s->waited_for), hx, y + rowh * 0.72,
             fmax(html_x(ax, s->started_at) - hx, 1), rowh * 0.2, (long long)s->idx, s->n,
             why[s->waited_for], html_dur(s->waited_s, d, sizeof d));
}

/* One bar per attempt, with its retry wait and its queue wait. */
static void detail_bars(struct ns_buf *b, const struct ns_run_report *r, const int *slot,
                        const struct html_axis *ax, double rowh)
{
    const struct ns_run_times *t = &r->times;
    char d1[32], c1[32], c2[32];
    for (size_t i = 0; i < t->nspans; i++) {
        const struct ns_span *s = &t->spans[i];
        double a, e;
        run_interval(s, r->now, &a, &e);
        double y = TL_TOP + slot[i] * rowh, x = html_x(ax, a), w = html_x(ax, e) - x;
        enum look lk = look_of(s->outcome);
        const struct ns_span *prev =
            i > 0 && t->spans[i - 1].idx == s->idx ? &t->spans[i - 1] : NULL;
        if (prev && prev->ended_at > 0 && s->started_at > prev->ended_at) {
            double wx = html_x(ax, prev->ended_at);
            buf_addf(b,
                     "<rect class=\"wait\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                     "<title>partition %lld: retry wait %s before attempt %d</title></rect>\n",
                     wx, y + rowh * 0.72, html_x(ax, s->started_at) - wx, rowh * 0.2,
                     (long long)s->idx, html_dur(s->started_at - prev->ended_at, d1, sizeof d1),
                     s->n);
        }
        if (s->waited_s > 0 && s->waited_for != NS_WAIT_NONE)
            held_bar(b, s, ax, y, rowh);
        if (a > s->started_at + 0.5) {
            double qx = html_x(ax, s->started_at);
            buf_addf(b,
                     "<rect class=\"queued\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                     "<title>partition %lld attempt %d: queued on the executor %s</title>"
                     "</rect>\n",
                     qx, y + rowh * 0.05, x - qx, rowh * 0.2, (long long)s->idx, s->n,
                     html_dur(a - s->started_at, d1, sizeof d1));
        }
        buf_addf(b, "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">",
                 look_class[lk], x, y + rowh * 0.25, w < 1 ? 1 : w, rowh * 0.45);
        const char *key = part_key(t, s);
        buf_addf(b, "<title>partition %lld", (long long)s->idx);
        if (key) {
            buf_adds(b, " [");
            html_text(b, key); /* worker bytes */
            buf_adds(b, "]");
        }
        buf_addf(b, " attempt %d, slot %d: %s, %s (%s to %s)</title></rect>\n", s->n, slot[i] + 1,
                 look_words[lk], html_dur(s->duration >= 0 ? s->duration : e - a, d1, sizeof d1),
                 html_clock(a, 0, c1, sizeof c1),
                 s->ended_at > 0 ? html_clock(s->ended_at, 0, c2, sizeof c2) : "now");
    }
}

/* Cells of rows of slots by time buckets. */
struct agg {
    double sec[AGG_ROWS][AGG_COLS][L_COUNT];
    int64_t ended[AGG_ROWS][AGG_COLS], failed[AGG_ROWS][AGG_COLS];
};

static void agg_add(struct agg *g, int row, const struct html_axis *ax, double a, double e,
                    enum look lk)
{
    double span = (ax->t1 - ax->t0) / AGG_COLS;
    int c0 = (int)((a - ax->t0) / span), c1 = (int)((e - ax->t0) / span);
    for (int c = c0 < 0 ? 0 : c0; c <= c1 && c < AGG_COLS; c++)
        g->sec[row][c][lk] += bucket_overlap(ax, AGG_COLS, c, a, e);
    int ce = (int)((e - ax->t0) / span);
    if (ce >= AGG_COLS)
        ce = AGG_COLS - 1;
    if (lk != L_LIVE && ce >= 0) {
        g->ended[row][ce]++;
        g->failed[row][ce] += lk == L_FAILED;
    }
}

static void aggregate_cells(struct ns_buf *b, const struct ns_run_report *r, const int *slot,
                            int nslots, const struct html_axis *ax, double rowh, int per_row)
{
    const struct ns_run_times *t = &r->times;
    struct agg *g = ns_xcalloc(1, sizeof *g);
    for (size_t i = 0; i < t->nspans; i++) {
        double a, e;
        run_interval(&t->spans[i], r->now, &a, &e);
        agg_add(g, slot[i] / per_row, ax, a, e, look_of(t->spans[i].outcome));
    }
    double span = (ax->t1 - ax->t0) / AGG_COLS, cw = ax->w / AGG_COLS;
    char c1[32], c2[32];
    int rows = (nslots + per_row - 1) / per_row;
    for (int row = 0; row < rows; row++) {
        int in_row = row == rows - 1 ? nslots - row * per_row : per_row;
        for (int c = 0; c < AGG_COLS; c++) {
            double busy = 0, best = 0;
            enum look lk = L_OK;
            for (int k = 0; k < L_COUNT; k++) {
                busy += g->sec[row][c][k];
                if (g->sec[row][c][k] > best) {
                    best = g->sec[row][c][k];
                    lk = (enum look)k;
                }
            }
            if (busy <= 0)
                continue;
            double share = busy / (span * in_row);
            buf_addf(b,
                     "<rect class=\"cell %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"%.1f\" fill-opacity=\"%.2f\"><title>slots %d-%d, %s-%s: %.0f%% "
                     "busy, %lld attempts ended (%lld failed)</title></rect>\n",
                     look_class[lk], html_x(ax, ax->t0 + c * span), TL_TOP + row * rowh, cw,
                     rowh * 0.9,
                     share < 0.15 ? 0.15
                     : share > 1  ? 1
                                  : share,
                     row * per_row + 1, row * per_row + in_row,
                     html_clock(ax->t0 + c * span, 0, c1, sizeof c1),
                     html_clock(ax->t0 + (c + 1) * span, 0, c2, sizeof c2),
                     100 * (share > 1 ? 1 : share), (long long)g->ended[row][c],
                     (long long)g->failed[row][c]);
            /* Failures under a majority of successes stay visible: a strip
             * under the cell, as opaque as failed time's share of the busy. */
            if (lk != L_FAILED && g->sec[row][c][L_FAILED] > 0)
                buf_addf(b,
                         "<rect class=\"failed\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                         "height=\"%.1f\" fill-opacity=\"%.2f\"/>\n",
                         html_x(ax, ax->t0 + c * span), TL_TOP + row * rowh + rowh * 0.65, cw,
                         rowh * 0.25, 0.3 + 0.7 * g->sec[row][c][L_FAILED] / busy);
        }
    }
    free(g);
}

void html_timeline(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                   const struct html_axis *ax)
{
    const struct ns_run_times *t = &r->times;
    int *slot = ns_xmalloc((t->nspans ? t->nspans : 1) * sizeof *slot);
    int nslots = pack_slots(t->spans, t->nspans, r->now, slot);
    bool detail = t->nparts <= HTML_DETAIL_MAX;
    int per_row = detail || nslots <= AGG_ROWS ? 1 : (nslots + AGG_ROWS - 1) / AGG_ROWS;
    int rows = nslots ? (nslots + per_row - 1) / per_row : 1;
    double rowh = rows * 14.0 > 480 ? 480.0 / rows : 14.0;
    if (rowh < 2)
        rowh = 2;
    double h = TL_TOP + rows * rowh;
    char d[32];
    buf_adds(b, "<figure class=\"timeline\"><figcaption>Timeline: each row a worker slot");
    if (detail)
        buf_addf(b,
                 ", each bar one attempt (%zu attempts on %d slots, slots packed from the "
                 "attempts' times). A thin bar under a retry: its wait (the backoff); a thin bar "
                 "under an attempt in its own colour: how long a pool, the run's window or an "
                 "upstream run held it before it started; a thin bar above an attempt: time "
                 "queued on the executor (Slurm).",
                 t->nspans, nslots);
    else
        buf_addf(b,
                 ": %zu partitions are too many to draw one bar per attempt, so this is an "
                 "aggregate: %zu attempts on %d slots%s, in %d time buckets of %s. Each "
                 "cell is coloured by the outcome that took most of its time; the darker, the "
                 "busier.",
                 t->nparts, t->nspans, nslots, per_row > 1 ? ", several slots to a row" : "",
                 AGG_COLS, html_dur((ax->t1 - ax->t0) / AGG_COLS, d, sizeof d));
    buf_adds(b, "</figcaption>\n");
    buf_addf(b,
             "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
             "aria-label=\"timeline\" data-attempts=\"%zu\" data-slots=\"%d\" data-mode=\"%s\">\n",
             ax->x0 + ax->w + 10, h + 24, t->nspans, nslots, detail ? "attempts" : "aggregate");
    html_time_ticks(b, ax, TL_TOP, h);
    for (int row = 0; row < rows && rows <= 64; row++)
        buf_addf(b, "<text class=\"label\" x=\"%.0f\" y=\"%.1f\">slot %d</text>\n", TL_LEFT - 6,
                 TL_TOP + row * rowh + rowh * 0.7, row * per_row + 1);
    if (detail)
        detail_bars(b, r, slot, ax, rowh);
    else
        aggregate_cells(b, r, slot, nslots, ax, rowh, per_row);
    html_command_marks(b, st, r, ax, TL_TOP, h);
    buf_adds(b, "</svg></figure>\n");
    free(slot);
}

/* ---- charts over time --------------------------------------------------- */

/* A line chart of v[0..n) (one value per bucket of the axis), its hover
 * text per bucket "label: value unit". */
static void series_chart(struct ns_buf *b, const struct html_axis *ax, const double *v, int n,
                         const char *cls, const char *unit, double height)
{
    double max = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    double top = 8, base = top + height, span = (ax->t1 - ax->t0) / n, cw = ax->w / n;
    double scale = max > 0 ? height / max : 0;
    html_time_ticks(b, ax, top, base);
    buf_addf(b,
             "<text class=\"label\" x=\"%.0f\" y=\"%.0f\">%.3g</text>"
             "<text class=\"label\" x=\"%.0f\" y=\"%.0f\">0</text>\n",
             ax->x0 - 6, top + 8, max, ax->x0 - 6, base);
    buf_addf(b, "<path class=\"area %s\" d=\"M%.1f %.1f", cls, ax->x0, base);
    for (int i = 0; i < n; i++)
        buf_addf(b, " L%.1f %.1f L%.1f %.1f", ax->x0 + i * cw, base - v[i] * scale,
                 ax->x0 + (i + 1) * cw, base - v[i] * scale);
    buf_addf(b, " L%.1f %.1f Z\"/>\n", ax->x0 + ax->w, base);
    char c1[32], c2[32];
    for (int i = 0; i < n; i++)
        buf_addf(b,
                 "<rect class=\"hover\" x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\">"
                 "<title>%s-%s: %.4g %s</title></rect>\n",
                 ax->x0 + i * cw, top, cw, height, html_clock(ax->t0 + i * span, 0, c1, sizeof c1),
                 html_clock(ax->t0 + (i + 1) * span, 0, c2, sizeof c2), v[i], unit);
}

void html_running_chart(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                        const struct html_axis *ax)
{
    const struct ns_run_times *t = &r->times;
    int n = series_cols(ax);
    double v[SERIES_COLS] = {0}, span = (ax->t1 - ax->t0) / n;
    char d[32];
    for (size_t i = 0; i < t->nspans; i++) {
        double a, e;
        run_interval(&t->spans[i], r->now, &a, &e);
        spread(v, n, ax, a, e, e - a); /* attempt-seconds per second: attempts running */
    }
    buf_addf(b,
             "<figure class=\"running\"><figcaption>Attempts running over time (the average "
             "over each of %d buckets of %s; operator commands marked)</figcaption>\n"
             "<svg class=\"chart\" viewBox=\"0 0 %.0f 150\" role=\"img\" "
             "aria-label=\"running attempts\">\n",
             n, html_dur(span, d, sizeof d), ax->x0 + ax->w + 10);
    series_chart(b, ax, v, n, "running", "attempts running on average", 110);
    html_command_marks(b, st, r, ax, 8, 118);
    buf_adds(b, "</svg></figure>\n");
}

void html_throughput_chart(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                           const struct html_axis *ax)
{
    const struct ns_run_times *t = &r->times;
    int n = series_cols(ax);
    double parts[SERIES_COLS] = {0}, recs[SERIES_COLS] = {0};
    double span = (ax->t1 - ax->t0) / n;
    /* partitions/s: each partition counted when it finished */
    for (size_t i = 0; i < t->nparts; i++) {
        const struct ns_part_time *p = &t->parts[i];
        if (p->state != NS_PS_SUCCEEDED && p->state != NS_PS_FAILED)
            continue;
        double at = p->finished_at;
        if (at <= 0 && p->nspans)
            at = t->spans[p->first_span + (size_t)p->nspans - 1].ended_at;
        if (at > 0)
            spread(parts, n, ax, at < ax->t1 ? at : ax->t1 - span / 2, 0, 1);
    }
    /* records/s: the runtime's samples of records done, each interval's
     * records spread evenly over it */
    struct ns_sample *sm = NULL;
    char err[256], d[32];
    long ns = query_run_samples(st, r->run_id, &sm, err, sizeof err);
    for (long i = 1; i < ns; i++) {
        double dr = (double)(sm[i].records - sm[i - 1].records);
        if (sm[i].at > sm[i - 1].at && dr > 0)
            spread(recs, n, ax, sm[i - 1].at, sm[i].at, dr);
    }
    free(sm);
    buf_addf(b,
             "<figure class=\"throughput\"><figcaption>Throughput: partitions finished per "
             "second, and records per second (from the runtime's %ld samples), each over "
             "buckets of %s</figcaption>\n<svg class=\"chart\" viewBox=\"0 0 %.0f 120\" "
             "role=\"img\" aria-label=\"partitions per second\">\n",
             ns > 0 ? ns : 0, html_dur(span, d, sizeof d), ax->x0 + ax->w + 10);
    series_chart(b, ax, parts, n, "parts", "partitions/s", 80);
    buf_addf(b,
             "</svg>\n<svg class=\"chart\" viewBox=\"0 0 %.0f 120\" role=\"img\" "
             "aria-label=\"records per second\">\n",
             ax->x0 + ax->w + 10);
    series_chart(b, ax, recs, n, "records", "records/s", 80);
    buf_adds(b, "</svg></figure>\n");
}

/* ---- durations ---------------------------------------------------------- */

#define HIST_BINS 40

void html_duration_histogram(struct ns_buf *b, const struct ns_run_report *r)
{
    const struct ns_run_times *t = &r->times;
    int64_t bins[HIST_BINS] = {0}, peak = 0;
    double max = r->max_s > 0 ? r->max_s : 1, bw = max / HIST_BINS;
    for (size_t i = 0; i < t->nparts; i++) {
        const struct ns_part_time *p = &t->parts[i];
        if ((p->state != NS_PS_SUCCEEDED && p->state != NS_PS_FAILED) || !p->timed_wholly)
            continue;
        int k = (int)(p->seconds / bw);
        bins[k < HIST_BINS ? k : HIST_BINS - 1]++;
    }
    for (int k = 0; k < HIST_BINS; k++)
        if (bins[k] > peak)
            peak = bins[k];
    double x0 = 70, w = 880, h = 110, top = 8, cw = w / HIST_BINS;
    char d1[32], d2[32], d3[32];
    buf_addf(b,
             "<figure class=\"durations\"><figcaption>Partition durations: %lld finished "
             "partitions in %d bins of %s (p50 %s, p95 %s marked)</figcaption>\n"
             "<svg class=\"chart\" viewBox=\"0 0 960 150\" role=\"img\" "
             "aria-label=\"durations\">\n",
             (long long)r->ndurations, HIST_BINS, html_dur(bw, d1, sizeof d1),
             html_dur(r->p50_s, d2, sizeof d2), html_dur(r->p95_s, d3, sizeof d3));
    for (int k = 0; k < HIST_BINS; k++) {
        double bh = peak ? h * (double)bins[k] / (double)peak : 0;
        buf_addf(b,
                 "<rect class=\"hist\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                 "<title>%s to %s: %lld partitions</title></rect>\n",
                 x0 + k * cw, top + h - bh, cw - 1, bh < 0.5 && bins[k] ? 0.5 : bh,
                 html_dur(k * bw, d1, sizeof d1), html_dur((k + 1) * bw, d2, sizeof d2),
                 (long long)bins[k]);
    }
    const double marks[2] = {r->p50_s, r->p95_s};
    const char *names[2] = {"p50", "p95"};
    for (int m = 0; m < 2 && r->ndurations; m++) {
        double x = x0 + w * marks[m] / max;
        buf_addf(b,
                 "<line class=\"pmark\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/>"
                 "<text class=\"label\" x=\"%.1f\" y=\"%.0f\">%s</text>\n",
                 x, x, top, top + h, x + 14, top + 10, names[m]);
    }
    buf_addf(b,
             "<text class=\"label\" x=\"%.0f\" y=\"%.0f\">0</text><text class=\"label\" "
             "x=\"%.0f\" y=\"%.0f\">%s</text>\n",
             x0, top + h + 16, x0 + w, top + h + 16, html_dur(max, d1, sizeof d1));
    buf_adds(b, "</svg></figure>\n");
}
