/*
 * view-run.c - one run: header, partition table, partition map.
 *
 * Header: the runs row (the runtime keeps its counters) plus the last ten
 * minutes of samples for the throughput sparkline. Table: keyset pages over
 * the partitions primary key (run_id, idx) or partitions_state (run_id,
 * state, idx), filtered by state and text. Map: one cell per partition (one
 * letter), two (half-blocks, colour + UTF-8) or eight (braille, UTF-8) -
 * enough for 10 000s of partitions on one screen; it reads only the states
 * of the partitions it shows, as one primary-key range.
 *
 * Marks (Space) are a sorted array of partition indexes; actions apply to
 * the marked partitions, else to the one under the cursor.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
};

static enum pstate pstate_of(const char *s)
{
    for (int i = 1; i < PS_N; i++)
        if (strcmp(s, pstates[i].word) == 0)
            return (enum pstate)i;
    return PS_NONE;
}

struct part_row {
    int64_t idx;
    char *key, *state, *message;
    int64_t progress, total, attempts, max_attempts, errors;
    double started, finished;
    double pfrac; /* the "least progress" sort key, as SQLite computed it */
    bool has_total;
};

enum { F_ALL, F_RUNNING, F_FAILED, F_WAITING, F_N };
static const char *const filter_names[F_N] = {"all", "running", "failed", "waiting"};
static const char *const filter_sql[F_N] = {"1", "state = 'running'", "state = 'failed'",
                                            "state IN ('pending', 'retry_wait', 'paused')"};

/* Sorts. Index and state ride on an index; "least progress" (stragglers
 * first) has none, so SQLite sorts the rows of the current filter - cheap
 * for running/failed/waiting, a scan for "all" (whose re-reads the event
 * loop then rate-limits). */
#define PFRAC "coalesce(CAST(progress AS REAL) / nullif(total, 0), 0.0)"
enum { SORT_IDX, SORT_IDX_DESC, SORT_STATE, SORT_PROGRESS, SORT_N };
static const char *const sort_names[SORT_N] = {"index", "index desc", "state", "least progress"};
static const char *const sort_fwd[SORT_N] = {"idx ASC", "idx DESC", "state ASC, idx ASC",
                                             PFRAC " ASC, idx ASC"};
static const char *const sort_rev[SORT_N] = {"idx DESC", "idx ASC", "state DESC, idx DESC",
                                             PFRAC " DESC, idx DESC"};
static const char *const key_after[SORT_N] = {"idx > ?2", "idx < ?2", "(state, idx) > (?3, ?2)",
                                              "(" PFRAC ", idx) > (?7, ?2)"};
static const char *const key_before[SORT_N] = {"idx < ?2", "idx > ?2", "(state, idx) < (?3, ?2)",
                                               "(" PFRAC ", idx) < (?7, ?2)"};
static const char *const key_at[SORT_N] = {"idx >= ?2", "idx <= ?2", "(state, idx) >= (?3, ?2)",
                                           "(" PFRAC ", idx) >= (?7, ?2)"};

struct run_head {
    bool found;
    char *job, *params, *state, *reason, *sla;
    int64_t total, pending, running, retry, ok, failed, skipped, errors, concurrency, pid;
    int64_t paused; /* runs.n_paused: partitions whose workers are SIGSTOPped */
    int64_t rec_done, rec_total;
    double throughput, record_rate, started, finished, projected, deadline, heartbeat;
};

struct run_view {
    struct tui_view base;
    struct tui *t;
    struct run_head h;
    double *spark; /* partitions/s between samples, oldest first */
    int n_spark;
    struct tui_list list;
    int filter, sort;
    char search[128];
    char *signature; /* only failed partitions with this last signature */
    int64_t *marks;
    size_t n_marks;
    /* map */
    bool map;
    int zoom; /* 0 auto, else 1, 2, 8 partitions per cell */
    int64_t idx_min, idx_max;
    int64_t map_top, map_cur; /* ordinals (idx - idx_min) */
    unsigned char *cells;     /* states of [map_top, map_top + n_cells) */
    int64_t n_cells, cells_from;
    int map_rows, map_w, density;
    struct part_row cur_part; /* the partition under the map cursor */
    bool cur_loaded;
};

static void part_row_release(void *p)
{
    struct part_row *r = p;
    free(r->key);
    free(r->state);
    free(r->message);
}

static bool part_row_same(const void *a, const void *b)
{
    return ((const struct part_row *)a)->idx == ((const struct part_row *)b)->idx;
}

#define PART_COLS                                                                                  \
    "idx, key, state, progress, total, attempts, max_attempts, error_records, "                    \
    "coalesce(started_at,0), coalesce(finished_at,0), last_message, " PFRAC

static void read_part(const struct tui *t, sqlite3_stmt *s, struct part_row *r)
{
    r->idx = sqlite3_column_int64(s, 0);
    r->key = tui_esc_col(t, s, 1);
    r->state = tui_esc_col(t, s, 2);
    r->progress = sqlite3_column_int64(s, 3);
    r->has_total = sqlite3_column_type(s, 4) != SQLITE_NULL;
    r->total = sqlite3_column_int64(s, 4);
    r->attempts = sqlite3_column_int64(s, 5);
    r->max_attempts = sqlite3_column_int64(s, 6);
    r->errors = sqlite3_column_int64(s, 7);
    r->started = sqlite3_column_double(s, 8);
    r->finished = sqlite3_column_double(s, 9);
    r->message = tui_esc_col(t, s, 10);
    r->pfrac = sqlite3_column_double(s, 11);
}

static int parts_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct run_view *v = ctx;
    const struct part_row *a = anchor;
    const char *keyset = !a        ? "1"
                         : dir > 0 ? key_after[v->sort]
                         : dir < 0 ? key_before[v->sort]
                                   : key_at[v->sort];
    const char *order = dir < 0 ? sort_rev[v->sort] : sort_fwd[v->sort];
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT " PART_COLS " FROM partitions WHERE run_id = ?1 AND %s AND %s AND "
             "(?5 = '' OR instr(key, ?5) > 0 OR instr(coalesce(last_message,''), ?5) > 0) "
             "ORDER BY %s LIMIT ?4",
             v->signature ? "state = 'failed' AND last_signature = ?6" : filter_sql[v->filter],
             keyset, order);
    sqlite3_stmt *s = store_prepare(&v->t->st, sql);
    sqlite3_bind_int64(s, 1, v->base.run_id);
    if (a) {
        sqlite3_bind_int64(s, 2, a->idx);
        /* a->state is escaped, but state words are plain ASCII: same bytes. */
        sqlite3_bind_text(s, 3, a->state, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 7, a->pfrac);
    }
    sqlite3_bind_int(s, 4, limit);
    sqlite3_bind_text(s, 5, v->search, -1, SQLITE_STATIC);
    if (v->signature)
        sqlite3_bind_text(s, 6, v->signature, -1, SQLITE_STATIC);
    struct part_row *rows = out;
    int n = 0;
    while (n < limit && sqlite3_step(s) == SQLITE_ROW)
        read_part(v->t, s, &rows[n++]);
    sqlite3_finalize(s);
    if (dir < 0)
        for (int i = 0; i < n / 2; i++) {
            struct part_row tmp = rows[i];
            rows[i] = rows[n - 1 - i];
            rows[n - 1 - i] = tmp;
        }
    return n;
}

static const struct tui_list_ops parts_list_ops = {
    sizeof(struct part_row),
    part_row_release,
    parts_fetch,
    part_row_same,
};

static void head_release(struct run_head *h)
{
    free(h->job);
    free(h->params);
    free(h->state);
    free(h->reason);
    free(h->sla);
    memset(h, 0, sizeof *h);
}

static void load_head(struct run_view *v)
{
    struct tui *t = v->t;
    head_release(&v->h);
    sqlite3_stmt *s = store_prepare(
        &t->st,
        "SELECT job, params, state, coalesce(state_reason,''), coalesce(sla_state,''), total, "
        "n_pending, n_running, n_retry_wait, n_succeeded, n_failed, n_skipped, error_records, "
        "concurrency, coalesce(runtime_pid,0), records_done, records_total, "
        "coalesce(throughput,0), coalesce(record_rate,0), coalesce(started_at,0), "
        "coalesce(finished_at,0), coalesce(projected_finish,0), coalesce(sla_deadline,0), "
        "coalesce(heartbeat_at,0), n_paused FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, v->base.run_id);
    struct run_head *h = &v->h;
    if (sqlite3_step(s) == SQLITE_ROW) {
        h->found = true;
        h->job = tui_esc_col(t, s, 0);
        h->params = tui_esc_col_line(t, s, 1);
        h->state = tui_esc_col(t, s, 2);
        h->reason = tui_esc_col(t, s, 3);
        h->sla = tui_esc_col(t, s, 4);
        int64_t *ints[] = {&h->total,       &h->pending, &h->running,  &h->retry,
                           &h->ok,          &h->failed,  &h->skipped,  &h->errors,
                           &h->concurrency, &h->pid,     &h->rec_done, &h->rec_total};
        for (int i = 0; i < 12; i++)
            *ints[i] = sqlite3_column_int64(s, 5 + i);
        double *dbl[] = {&h->throughput, &h->record_rate, &h->started,  &h->finished,
                         &h->projected,  &h->deadline,    &h->heartbeat};
        for (int i = 0; i < 7; i++)
            *dbl[i] = sqlite3_column_double(s, 17 + i);
        h->paused = sqlite3_column_int64(s, 24);
    }
    sqlite3_finalize(s);
    if (!h->found) {
        h->job = ns_xstrdup("?");
        h->params = ns_xstrdup("");
        h->state = ns_xstrdup("gone");
        h->reason = ns_xstrdup("");
        h->sla = ns_xstrdup("");
    }

    /* Throughput over the last ten minutes, from samples (PK run_id, at). */
    free(v->spark);
    v->spark = NULL;
    v->n_spark = 0;
    s = store_prepare(&t->st, "SELECT at, done FROM samples WHERE run_id = ? AND at >= ? "
                              "ORDER BY at LIMIT 2000");
    sqlite3_bind_int64(s, 1, v->base.run_id);
    sqlite3_bind_double(s, 2, t->now - 600);
    double pat = 0, pdone = 0;
    int cap = 0;
    bool first = true;
    while (sqlite3_step(s) == SQLITE_ROW) {
        double at = sqlite3_column_double(s, 0), done = sqlite3_column_double(s, 1);
        if (!first && at > pat) {
            if (v->n_spark == cap) {
                cap = cap ? cap * 2 : 64;
                v->spark = ns_xrealloc(v->spark, sizeof *v->spark * (size_t)cap);
            }
            v->spark[v->n_spark++] = (done - pdone) / (at - pat);
        }
        first = false;
        pat = at;
        pdone = done;
    }
    sqlite3_finalize(s);

    s = store_prepare(&t->st, "SELECT min(idx), max(idx) FROM partitions WHERE run_id = ?");
    sqlite3_bind_int64(s, 1, v->base.run_id);
    v->idx_min = v->idx_max = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        v->idx_min = sqlite3_column_int64(s, 0);
        v->idx_max = sqlite3_column_int64(s, 1);
    } else {
        v->idx_max = -1;
    }
    sqlite3_finalize(s);
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
    sqlite3_stmt *s = store_prepare(&v->t->st, "SELECT " PART_COLS
                                               " FROM partitions WHERE run_id = ? AND idx = ?");
    sqlite3_bind_int64(s, 1, v->base.run_id);
    sqlite3_bind_int64(s, 2, v->idx_min + v->map_cur);
    if (sqlite3_step(s) == SQLITE_ROW) {
        read_part(v->t, s, &v->cur_part);
        v->cur_loaded = true;
    }
    sqlite3_finalize(s);
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
    } else if (v->cells) {
        memset(v->cells, 0, (size_t)want);
    }
    v->cells_from = v->map_top;
    /* One primary-key range: (run_id, idx) BETWEEN. */
    sqlite3_stmt *s = store_prepare(&v->t->st, "SELECT idx, state FROM partitions WHERE "
                                               "run_id = ? AND idx >= ? AND idx < ? ORDER BY idx");
    sqlite3_bind_int64(s, 1, v->base.run_id);
    sqlite3_bind_int64(s, 2, v->idx_min + v->map_top);
    sqlite3_bind_int64(s, 3, v->idx_min + v->map_top + want);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t o = sqlite3_column_int64(s, 0) - v->idx_min - v->map_top;
        const char *st = (const char *)sqlite3_column_text(s, 1);
        if (o >= 0 && o < want && st)
            v->cells[o] = (unsigned char)pstate_of(st);
    }
    sqlite3_finalize(s);
    load_cur_part(v);
}

static bool is_marked(const struct run_view *v, int64_t idx)
{
    size_t lo = 0, hi = v->n_marks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->marks[mid] == idx)
            return true;
        if (v->marks[mid] < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void toggle_mark(struct run_view *v, int64_t idx)
{
    size_t i = 0;
    while (i < v->n_marks && v->marks[i] < idx)
        i++;
    if (i < v->n_marks && v->marks[i] == idx) {
        memmove(&v->marks[i], &v->marks[i + 1], sizeof *v->marks * (v->n_marks - i - 1));
        v->n_marks--;
        return;
    }
    v->marks = ns_xrealloc(v->marks, sizeof *v->marks * (v->n_marks + 1));
    memmove(&v->marks[i + 1], &v->marks[i], sizeof *v->marks * (v->n_marks - i));
    v->marks[i] = idx;
    v->n_marks++;
}

static void run_load(struct tui_view *vv, struct tui *t)
{
    struct run_view *v = (struct run_view *)vv;
    (void)t;
    load_head(v);
    if (v->map)
        load_map(v);
    else
        list_reload(&v->list);
}

/* ---- drawing ---- */

static void draw_header(struct run_view *v, int y, int w)
{
    struct tui *t = v->t;
    struct run_head *h = &v->h;
    char a[64], b[64], c[64];
    int64_t done = h->ok + h->failed + h->skipped;
    int64_t paused = h->paused;
    int x = 0;
    x += term_put(y, x, w - x, term_attr(term_state_color(h->state)) | A_BOLD, h->state);
    if (h->reason[0]) {
        x += term_put(y, x, w - x, A_NORMAL, " (");
        x += term_put(y, x, w - x > 40 ? 40 : w - x, A_NORMAL, h->reason);
        x += term_put(y, x, w - x, A_NORMAL, ")");
    }
    x += term_putf(y, x, w - x, A_BOLD, "  %lld/%lld done (%.0f%%) ", (long long)done,
                   (long long)h->total, h->total ? 100.0 * (double)done / (double)h->total : 0.0);
    int bw = w - x - 28;
    if (bw > 30)
        bw = 30;
    if (bw > 4) {
        term_bar(y, x, bw, h->total ? (double)done / (double)h->total : 0,
                 term_attr(h->failed ? TUI_C_BAD : TUI_C_OK), t->utf8);
        x += bw + 1;
    }
    x += term_putf(y, x, w - x, h->failed ? term_attr(TUI_C_BAD) : A_NORMAL, " failed %lld",
                   (long long)h->failed);
    term_putf(y, x, w - x, A_NORMAL, "  errors %s", tui_fmt_count(h->errors, a, sizeof a));

    /* Counts by state, each in its colour. */
    x = 0;
    struct {
        const char *name;
        int64_t n;
        enum tui_color c;
    } counts[] = {{"pending", h->pending, TUI_C_PENDING}, {"running", h->running, TUI_C_RUN},
                  {"retry_wait", h->retry, TUI_C_WAIT},   {"paused", paused, TUI_C_PAUSED},
                  {"succeeded", h->ok, TUI_C_OK},         {"failed", h->failed, TUI_C_BAD},
                  {"skipped", h->skipped, TUI_C_SKIP}};
    for (size_t i = 0; i < NS_ARRAY_LEN(counts); i++) {
        x += term_putf(y + 1, x, w - x, term_attr(counts[i].c), "%s %lld", counts[i].name,
                       (long long)counts[i].n);
        x += term_put(y + 1, x, w - x, A_NORMAL, "  ");
    }
    term_putf(y + 1, x, w - x, A_DIM, "conc %lld", (long long)h->concurrency);

    /* Throughput sparkline, ETA, projected finish against the deadline. */
    x = term_put(y + 2, 0, w, A_NORMAL, "thrpt ");
    int sw = w / 4 > 40 ? 40 : w / 4;
    if (sw < 8)
        sw = 8;
    if (v->n_spark > 0)
        tui_sparkline(t, y + 2, x, sw, v->spark, v->n_spark, term_attr(TUI_C_RUN));
    else
        term_put(y + 2, x, sw, A_DIM, "(no samples)");
    x += sw + 1;
    x += term_putf(y + 2, x, w - x, A_NORMAL, "%s %s rec/s ",
                   tui_fmt_rate(h->throughput, a, sizeof a),
                   tui_fmt_count((int64_t)h->record_rate, b, sizeof b));
    bool active = strcmp(h->state, "running") == 0 || strcmp(h->state, "paused") == 0 ||
                  strcmp(h->state, "stopping") == 0 || strcmp(h->state, "halted") == 0;
    double eta = active && h->projected > 0 ? h->projected - t->now : -1;
    x += term_putf(y + 2, x, w - x, A_BOLD, " ETA %s", tui_fmt_dur(eta, a, sizeof a));
    if (h->projected > 0 && active)
        x += term_putf(y + 2, x, w - x, A_NORMAL, "  finish %s",
                       tui_fmt_clock(h->projected, b, sizeof b));
    if (h->deadline > 0) {
        x += term_putf(y + 2, x, w - x, A_NORMAL, "  deadline %s ",
                       tui_fmt_clock(h->deadline, c, sizeof c));
        term_put(y + 2, x, w - x, term_attr(term_state_color(h->sla)) | A_BOLD,
                 h->sla[0] ? h->sla : "");
    }

    /* The runtime: alive or not; elapsed; parameters. */
    x = 0;
    double end = h->finished > 0 ? h->finished : t->now;
    if (active && t->now - h->heartbeat > 5) {
        x +=
            term_putf(y + 3, x, w, term_attr(TUI_C_BAD), "runtime not running (heartbeat %s ago)",
                      h->heartbeat > 0 ? tui_fmt_dur(t->now - h->heartbeat, a, sizeof a) : "never");
    } else if (active) {
        x += term_putf(y + 3, x, w, term_attr(TUI_C_OK), "runtime pid %lld", (long long)h->pid);
    }
    x += term_putf(y + 3, x, w - x, A_NORMAL, "%selapsed %s  ", x ? "  " : "",
                   tui_fmt_dur(h->started > 0 ? end - h->started : -1, a, sizeof a));
    if (h->params[0]) {
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
        if (is_marked(v, r->idx))
            cols_cell(&c[P_MARK], yy, base | A_BOLD, "*");
        snprintf(buf, sizeof buf, "%lld", (long long)r->idx);
        cols_cell(&c[P_IDX], yy, base, buf);
        cols_cell(&c[P_KEY], yy, base, r->key);
        cols_cell(&c[P_STATE], yy, base | term_attr(term_state_color(r->state)), r->state);
        double frac = -1;
        if (r->has_total && r->total > 0)
            frac = (double)r->progress / (double)r->total;
        else if (strcmp(r->state, "succeeded") == 0)
            frac = 1;
        if (c[P_BAR].shown) {
            int bw = c[P_BAR].width - 5;
            if (frac >= 0) {
                term_bar(yy, c[P_BAR].x, bw, frac, base | term_attr(term_state_color(r->state)),
                         t->utf8);
                term_putf(yy, c[P_BAR].x + bw, 5, base, "%4.0f%%", frac > 1 ? 100 : frac * 100);
            } else if (r->progress > 0) {
                term_putf(yy, c[P_BAR].x, c[P_BAR].width, base, "%lld rec", (long long)r->progress);
            }
        }
        bool live = strcmp(r->state, "running") == 0;
        double end = r->finished > 0 ? r->finished : live ? t->now : -1;
        double elapsed = r->started > 0 && end > 0 ? end - r->started : -1;
        double rate = elapsed > 0 ? (double)r->progress / elapsed : 0;
        cols_cell(&c[P_RATE], yy, base, rate > 0 ? tui_fmt_rate(rate, buf, sizeof buf) : "-");
        snprintf(buf, sizeof buf, "%lld/%lld", (long long)r->attempts, (long long)r->max_attempts);
        cols_cell(&c[P_ATT], yy, base, buf);
        cols_cell(&c[P_ELAPSED], yy, base, tui_fmt_dur(elapsed, buf, sizeof buf));
        double eta = -1;
        if (strcmp(r->state, "running") == 0 && rate > 0 && r->has_total)
            eta = (double)(r->total - r->progress) / rate;
        cols_cell(&c[P_ETA], yy, base, tui_fmt_dur(eta, buf, sizeof buf));
        snprintf(buf, sizeof buf, "%lld", (long long)r->errors);
        cols_cell(&c[P_ERRS], yy, base, r->errors ? buf : "");
        cols_cell(&c[P_MSG], yy, base | (cur ? 0 : A_DIM), r->message);
    }
    if (v->list.n == 0)
        term_put(y + 2, 2, w - 2, A_DIM, "no partition matches (t: filter, /: text)");
}

static void put_cell(int y, int x, attr_t a, const char *glyph)
{
    term_put(y, x, 1, a, glyph);
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
                if (is_marked(v, v->idx_min + ords[0]))
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
    /* Legend and the partition under the cursor. */
    int ly = y + rows;
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
        x = term_putf(ly + 1, 0, w, A_BOLD, "#%lld ", (long long)r->idx);
        x += term_put(ly + 1, x, w - x > 24 ? 24 : w - x, A_NORMAL, r->key);
        x += term_put(ly + 1, x, w - x, A_NORMAL, " ");
        x += term_put(ly + 1, x, w - x, term_attr(term_state_color(r->state)), r->state);
        if (r->has_total && r->total > 0)
            x += term_putf(ly + 1, x, w - x, A_NORMAL, " %lld/%lld", (long long)r->progress,
                           (long long)r->total);
        x += term_putf(ly + 1, x, w - x, A_NORMAL, " att %lld/%lld ", (long long)r->attempts,
                       (long long)r->max_attempts);
        term_put(ly + 1, x, w - x, A_DIM, r->message);
    }
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
        x += term_putf(yy, x, w - x, A_NORMAL, "filter %s  sort %s", filter_names[v->filter],
                       sort_names[v->sort]);
    }
    if (v->search[0] && !v->map) {
        x += term_put(yy, x, w - x, A_NORMAL, "  /");
        char *safe = tui_esc(t, v->search, strlen(v->search));
        x += term_put(yy, x, w - x, A_BOLD, safe);
        free(safe);
    }
    if (v->n_marks)
        x += term_putf(yy, x, w - x, A_BOLD, "  marked %zu", v->n_marks);
    term_put(yy, x, w - x, A_DIM,
             v->map ? "  m:table z:zoom arrows/hjkl Enter" : "  t:filter o:sort m:map Space:mark");
    if (v->map)
        draw_map(v, yy + 1, h - 5, w);
    else
        draw_table(v, yy + 1, h - 5, w);
}

/* The partitions an action applies to: the marked ones, else the current. */
static size_t selection(struct run_view *v, int64_t **out)
{
    if (v->n_marks) {
        *out = ns_xmalloc(sizeof **out * v->n_marks);
        memcpy(*out, v->marks, sizeof **out * v->n_marks);
        return v->n_marks;
    }
    *out = ns_xmalloc(sizeof **out);
    if (v->map) {
        (*out)[0] = v->idx_min + v->map_cur;
        return map_count(v) > 0 ? 1 : 0;
    }
    struct part_row *r = list_current(&v->list);
    if (!r)
        return 0;
    (*out)[0] = r->idx;
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
    switch (cmd) {
    case TUI_CMD_BACK:
        return TUI_POP;
    case TUI_CMD_OPEN: {
        int64_t idx;
        if (v->map) {
            if (map_count(v) <= 0)
                return TUI_OK;
            idx = v->idx_min + v->map_cur;
        } else {
            struct part_row *r = list_current(&v->list);
            if (!r)
                return TUI_OK;
            idx = r->idx;
        }
        t->pushed = view_partition_new(t, vv->run_id, idx);
        return TUI_PUSH;
    }
    case TUI_CMD_MAP:
        v->map = !v->map;
        if (v->map) {
            struct part_row *r = list_current(&v->list);
            if (r)
                v->map_cur = r->idx - v->idx_min;
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
    case TUI_CMD_FILTER:
        if (v->signature) {
            free(v->signature);
            v->signature = NULL;
        } else {
            v->filter = (v->filter + 1) % F_N;
        }
        list_reset(&v->list);
        return TUI_REDRAW;
    case TUI_CMD_SORT:
        v->sort = (v->sort + 1) % SORT_N;
        list_reset(&v->list);
        return TUI_REDRAW;
    case TUI_CMD_SEARCH:
        tui_prompt(t, "filter partitions (key or message): ", v->search, sizeof v->search);
        list_reset(&v->list);
        return TUI_REDRAW;
    case TUI_CMD_MARK: {
        int64_t *sel;
        size_t n;
        if (v->map) {
            toggle_mark(v, v->idx_min + v->map_cur);
            return map_key(v, TUI_CMD_RIGHT);
        }
        struct part_row *r = list_current(&v->list);
        (void)sel;
        (void)n;
        if (r)
            toggle_mark(v, r->idx);
        list_navigate(&v->list, TUI_CMD_DOWN);
        return TUI_REDRAW;
    }
    case TUI_CMD_UNMARK:
        free(v->marks);
        v->marks = NULL;
        v->n_marks = 0;
        return TUI_REDRAW;
    case TUI_CMD_ERRORS:
    case TUI_CMD_FAILURES:
        t->pushed = view_errors_new(t, vv->run_id, -1, cmd == TUI_CMD_FAILURES);
        return TUI_PUSH;
    case TUI_CMD_RETRY:
    case TUI_CMD_RETRY_SCRATCH:
    case TUI_CMD_KILL:
    case TUI_CMD_SKIP: {
        int64_t *sel;
        size_t n = selection(v, &sel);
        tui_partition_action(t, vv->run_id, cmd, sel, n, NULL);
        free(sel);
        if (v->n_marks && cmd != TUI_CMD_KILL) {
            free(v->marks);
            v->marks = NULL;
            v->n_marks = 0;
        }
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
    free(v->cells);
    free(v->marks);
    free(v->signature);
    free(v);
}

static const struct tui_view_ops run_ops = {
    "run", TUI_SCOPE_RUN, run_free, run_load, NULL, run_draw, run_key, run_crumb,
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
    v->signature = ns_xstrdup(signature);
    v->filter = F_FAILED;
    return vv;
}
