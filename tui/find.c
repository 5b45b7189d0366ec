/*
 * find.c - the run table's filter (F4, \), search (/, F3, n, N) and sort
 * (o, O, <, >), after htop: the filter keeps only matching rows, the search
 * highlights them and jumps. Both take the read model's expressions
 * (query_part_expr_parse: state:failed key~2026-11 attempts>2
 * err~ECONNRESET), so what the prompt accepts, what is kept, what is
 * highlighted and what is counted are one definition, in SQL.
 *
 * The sort lives in struct tui: every run view of the session uses the one
 * the operator chose last.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui-internal.h"

/* Asks for an expression; parses it into *e / text. */
static bool ask_expr(struct tui *t, const char *label, char *text, size_t textlen,
                     struct ns_part_expr *e)
{
    char typed[256] = "";
    if (!tui_prompt(t, label, typed, sizeof typed)) {
        tui_status(t, A_NORMAL, "cancelled");
        return false;
    }
    struct ns_part_expr parsed;
    char err[256];
    if (query_part_expr_parse(typed, &parsed, err, sizeof err) != 0) {
        char *safe = tui_esc(t, err, strlen(err));
        tui_status(t, term_attr(TUI_C_BAD), "not changed: %s", safe);
        free(safe);
        return false;
    }
    *e = parsed;
    snprintf(text, textlen, "%s", typed);
    return true;
}

bool find_ask_filter(struct tui *t, struct tui_find *f)
{
    /* Starts empty (k9s#713): the current filter is shown, not pre-typed. */
    char label[200];
    if (f->filter_text[0]) {
        char *safe = tui_esc(t, f->filter_text, strlen(f->filter_text));
        snprintf(label, sizeof label, "filter (now %.60s; empty clears): ", safe);
        free(safe);
    } else {
        snprintf(label, sizeof label, "filter (state:failed key~X attempts>2 err~X): ");
    }
    return ask_expr(t, label, f->filter_text, sizeof f->filter_text, &f->filter);
}

bool find_ask_search(struct tui *t, struct tui_find *f)
{
    if (!ask_expr(t, "search (n/N next/previous; empty clears): ", f->search_text,
                  sizeof f->search_text, &f->search))
        return false;
    return f->search.n > 0;
}

/* The letters of the sort chooser, one per column (enum ns_part_sort). */
static const char sort_letters[NS_SORT_COUNT + 1] = "ikspraetxm";

bool find_sort_key(struct tui *t, enum tui_cmd cmd)
{
    int s = (int)t->sort;
    switch (cmd) {
    case TUI_CMD_SORT_REVERSE:
        t->sort_desc = !t->sort_desc;
        break;
    case TUI_CMD_SORT_PREV:
    case TUI_CMD_SORT_NEXT:
        s = (s + (cmd == TUI_CMD_SORT_NEXT ? 1 : NS_SORT_COUNT - 1)) % NS_SORT_COUNT;
        t->sort = (enum ns_part_sort)s;
        t->sort_desc = false;
        break;
    default: {
        int c = tui_choose(t,
                           "sort by: [i]ndex [k]ey [s]tate [p]rogress [r]ec/s [a]ttempts "
                           "[e]lapsed e[t]a errors[x] [m]essage (again: reverse) ",
                           sort_letters);
        if (!c) {
            tui_status(t, A_NORMAL, "cancelled");
            return false;
        }
        int chosen = (int)(strchr(sort_letters, c) - sort_letters);
        if (chosen == s) {
            t->sort_desc = !t->sort_desc;
        } else {
            t->sort = (enum ns_part_sort)chosen;
            t->sort_desc = false;
        }
        break;
    }
    }
    tui_status(t, A_NORMAL, "sorted by %s, %s", query_part_sort_name(t->sort),
               t->sort_desc ? "descending" : "ascending");
    return true;
}

const char *find_sort_title(const struct tui *t, enum ns_part_sort col, const char *title,
                            int width, char *buf, size_t len)
{
    /* The default order (index, ascending) goes without: no news. */
    if (col != t->sort || (col == NS_SORT_IDX && !t->sort_desc))
        return title;
    const char *arrow = t->utf8 ? (t->sort_desc ? "▼" : "▲") : (t->sort_desc ? "v" : "^");
    int room = width - 1; /* titles are ASCII: bytes are columns */
    snprintf(buf, len, "%.*s%s", room > 0 ? room : 0, title, arrow);
    return buf;
}

int find_draw_line(struct tui *t, const struct tui_find *f, bool filter, size_t marked, int y,
                   int x, int w)
{
    int x0 = x;
    if (filter) {
        if (f->filter.n) {
            char *safe = tui_esc(t, f->filter_text, strlen(f->filter_text));
            x += term_put(y, x, w - x, A_NORMAL, " and ");
            x += term_put(y, x, w - x, A_BOLD, safe);
            free(safe);
        }
        return x - x0;
    }
    if (f->search.n) {
        char *safe = tui_esc(t, f->search_text, strlen(f->search_text));
        x += term_put(y, x, w - x, A_NORMAL, "  /");
        x += term_put(y, x, w - x, A_BOLD | A_UNDERLINE, safe);
        x += term_putf(y, x, w - x, A_NORMAL, " %lld hit%s", (long long)f->hits,
                       f->hits == 1 ? "" : "s");
        free(safe);
    }
    if (marked)
        x += term_putf(y, x, w - x, A_BOLD, "  marked %zu", marked);
    if (f->range_on)
        x += term_putf(y, x, w - x, A_BOLD, "  range from #%lld", (long long)f->range_from);
    return x - x0;
}

/* "partition" or "partitions" for a count: "1 partition kept". */
static const char *parts_word(int64_t n)
{
    return n == 1 ? "partition" : "partitions";
}

/* Marks beyond this many are refused: an action on more is a CLI job
 * (`nightshift retry RUN --failed`, `--signature`). */
enum { MARKS_MAX = 100000 };

/* Jumps to the next (dir > 0) or previous (dir < 0) search match after
 * the cursor, or (dir == 0) the first one from the cursor on; wraps
 * around once. */
static enum tui_result find_jump(struct tui *t, struct tui_find *f,
                                 const struct tui_find_target *tg, int dir)
{
    if (!f->search.n) {
        tui_status(t, A_NORMAL, "no search: / to search");
        return TUI_REDRAW;
    }
    if (!tg->list) {
        tui_status(t, A_NORMAL, "search works in the table (m)");
        return TUI_REDRAW;
    }
    struct tui_list *l = tg->list;
    char *row = ns_xcalloc(1, l->ops->row_size);
    f->only_hits = true;
    void *cur = list_current(l);
    int n = cur ? l->ops->fetch(l->ctx, cur, dir, 1, row) : 0;
    bool wrapped = false;
    if (n == 0) {
        n = l->ops->fetch(l->ctx, NULL, dir < 0 ? -1 : 1, 1, row);
        wrapped = cur != NULL;
    }
    f->only_hits = false;
    if (n > 0) {
        list_goto(l, row);
        /* The partition's index (the table's # column) and the hit count:
         * not "#8 of 200", which read as the 8th of 200 matches. */
        tui_status(t, A_NORMAL, "match: partition #%lld (%lld hit%s)%s",
                   (long long)tg->idx_of(row), (long long)f->hits, f->hits == 1 ? "" : "s",
                   wrapped ? " (search wrapped)" : "");
        if (l->ops->release)
            l->ops->release(row);
    } else {
        tui_status(t, term_attr(TUI_C_WAIT), "no partition matches the search");
    }
    free(row);
    return TUI_REDRAW;
}

/* The indexes the filter keeps, at most MARKS_MAX; -1 (status said why). */
static int64_t kept_indexes(struct tui *t, const struct tui_find_target *tg, int64_t **out)
{
    int64_t n = query_partition_indexes(&t->st, &tg->sel, MARKS_MAX + 1, out);
    if (n < 0) {
        tui_status(t, term_attr(TUI_C_BAD), "cannot read the partitions");
        return -1;
    }
    if (n > MARKS_MAX) {
        free(*out);
        tui_status(t, term_attr(TUI_C_WAIT),
                   "more than %d partitions: filter first, or use the CLI (retry --failed, "
                   "--signature)",
                   MARKS_MAX);
        return -1;
    }
    return n;
}

/* Reads pages of the table from the cursor in direction dir, appending
 * each row's index to *got, until the row `until` (then *found) or
 * MARKS_MAX rows. */
static void page_walk(const struct tui_find_target *tg, int dir, int64_t until, int64_t **got,
                      size_t *k, size_t *cap, bool *found)
{
    enum { PAGE = 256 };
    struct tui_list *l = tg->list;
    size_t rs = l->ops->row_size;
    char *prev = NULL, *page = ns_xcalloc(PAGE, rs);
    int prev_n = 0;
    const void *anchor = list_current(l);
    while (!*found && *k < MARKS_MAX) {
        int m = l->ops->fetch(l->ctx, anchor, dir, PAGE, page);
        if (prev && l->ops->release) /* the anchor was its edge row: done with it */
            for (int i = 0; i < prev_n; i++)
                l->ops->release(prev + (size_t)i * rs);
        free(prev);
        prev = NULL;
        if (m <= 0)
            break;
        /* Display order: backwards, the nearest row is the page's last. */
        for (int j = 0; j < m && !*found && *k < MARKS_MAX; j++) {
            int i = dir > 0 ? j : m - 1 - j;
            if (*k == *cap)
                *got = ns_xrealloc(*got, sizeof **got * (*cap *= 2));
            int64_t idx = tg->idx_of(page + (size_t)i * rs);
            (*got)[(*k)++] = idx;
            *found = idx == until;
        }
        prev = page;
        prev_n = m;
        anchor = page + (size_t)(dir > 0 ? m - 1 : 0) * rs;
        page = ns_xcalloc(PAGE, rs);
    }
    if (prev && l->ops->release)
        for (int i = 0; i < prev_n; i++)
            l->ops->release(prev + (size_t)i * rs);
    free(prev);
    free(page);
}

/* v: the first press starts a range, the second marks it (by the table's
 * order: from one end, rows are read until the other). */
static void mark_range(struct tui *t, struct tui_find *f, const struct tui_find_target *tg)
{
    if (tg->cursor_idx < 0)
        return;
    if (!f->range_on) {
        f->range_on = true;
        f->range_from = tg->cursor_idx;
        tui_status(t, A_NORMAL, "range from #%lld: move, then v again",
                   (long long)tg->cursor_idx);
        return;
    }
    f->range_on = false;
    int64_t *v = NULL;
    size_t n = 0;
    if (!tg->list) { /* the map: a range of indexes */
        int64_t a = f->range_from, b = tg->cursor_idx;
        if (a > b) {
            int64_t x = a;
            a = b;
            b = x;
        }
        if (b - a >= MARKS_MAX) {
            tui_status(t, term_attr(TUI_C_WAIT), "a range of at most %d partitions", MARKS_MAX);
            return;
        }
        n = (size_t)(b - a + 1);
        v = ns_xmalloc(sizeof *v * n);
        for (size_t i = 0; i < n; i++)
            v[i] = a + (int64_t)i;
    } else {
        /* Pages from the cursor, one way then the other, until the range's
         * start: the rows between are the table's, in its order. */
        for (int dir = 1; dir >= -1 && !n; dir -= 2) {
            size_t k = 0, cap = 64;
            int64_t *got = ns_xmalloc(sizeof *got * cap);
            got[k++] = tg->cursor_idx;
            bool found = f->range_from == tg->cursor_idx;
            page_walk(tg, dir, f->range_from, &got, &k, &cap, &found);
            if (found) {
                v = got;
                n = k;
            } else {
                free(got);
            }
        }
        if (!n) {
            tui_status(t, term_attr(TUI_C_WAIT), "the range's start is no longer shown");
            return;
        }
        /* ascending, for marks_add */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                int64_t x = v[j];
                v[j] = v[j - 1];
                v[j - 1] = x;
            }
    }
    size_t added = marks_add(tg->marks, v, n);
    tui_status(t, A_NORMAL, "marked %zu %s of the range (%zu new); %zu marked", n,
               parts_word((int64_t)n), added,
               tg->marks->n);
    free(v);
}

enum tui_result find_key(struct tui *t, struct tui_find *f, const struct tui_find_target *tg,
                         enum tui_cmd cmd)
{
    int64_t *v = NULL, n;
    switch (cmd) {
    case TUI_CMD_SEARCH: {
        if (!find_ask_search(t, f)) {
            if (!f->search_text[0]) {
                f->search.n = 0; /* empty: cleared */
                tui_status(t, A_NORMAL, "search cleared");
            }
            return TUI_RELOAD;
        }
        struct ns_part_select sel = tg->sel;
        sel.search = &f->search;
        sel.only_hits = true;
        f->hits = query_partition_count(&t->st, &sel);
        return find_jump(t, f, tg, 0);
    }
    case TUI_CMD_NEXT_MATCH:
    case TUI_CMD_PREV_MATCH:
        return find_jump(t, f, tg, cmd == TUI_CMD_NEXT_MATCH ? 1 : -1);
    case TUI_CMD_FILTER:
        if (find_ask_filter(t, f)) {
            if (tg->list)
                list_reset(tg->list);
            struct ns_part_select sel = tg->sel;
            sel.where = &f->filter;
            int64_t kept = query_partition_count(&t->st, &sel);
            tui_status(t, A_NORMAL, "%lld %s kept", (long long)kept, parts_word(kept));
        }
        return TUI_RELOAD;
    case TUI_CMD_SORT:
    case TUI_CMD_SORT_REVERSE:
    case TUI_CMD_SORT_PREV:
    case TUI_CMD_SORT_NEXT:
        if (find_sort_key(t, cmd) && tg->list)
            list_reset(tg->list);
        return TUI_RELOAD;
    case TUI_CMD_MARK_ALL:
        if ((n = kept_indexes(t, tg, &v)) >= 0) {
            size_t added = marks_add(tg->marks, v, (size_t)n);
            tui_status(t, A_NORMAL, "marked %lld %s (%zu new); %zu marked", (long long)n,
                       parts_word(n), added, tg->marks->n);
            free(v);
        }
        return TUI_REDRAW;
    case TUI_CMD_MARK_INVERT:
        if ((n = kept_indexes(t, tg, &v)) >= 0) {
            marks_invert(tg->marks, v, (size_t)n);
            tui_status(t, A_NORMAL, "marks inverted over %lld %s; %zu marked",
                       (long long)n, parts_word(n), tg->marks->n);
            free(v);
        }
        return TUI_REDRAW;
    case TUI_CMD_MARK_RANGE:
        mark_range(t, f, tg);
        return TUI_REDRAW;
    case TUI_CMD_UNMARK:
        tui_status(t, A_NORMAL, "%zu marks cleared", tg->marks->n);
        marks_clear(tg->marks);
        return TUI_REDRAW;
    default:
        return TUI_OK;
    }
}
