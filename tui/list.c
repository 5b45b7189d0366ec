/*
 * list.c - a cursor over a keyset-paginated list.
 *
 * The list holds only the visible window (height rows). Moving past either
 * edge asks the view's fetch() for the rows just after the last (or just
 * before the first) row of the window, so every read is "WHERE key > ?
 * ORDER BY key LIMIT n" over an index: jumping to the end of a million rows
 * costs the same as showing the first page. No OFFSET anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "tui-internal.h"

void list_init(struct tui_list *l, const struct tui_list_ops *ops, void *ctx)
{
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->ctx = ctx;
    l->height = 1;
}

static void release_rows(const struct tui_list *l, char *rows, int n)
{
    if (l->ops->release)
        for (int i = 0; i < n; i++)
            l->ops->release(rows + (size_t)i * l->ops->row_size);
}

void list_release(struct tui_list *l)
{
    release_rows(l, l->rows, l->n);
    free(l->rows);
    l->rows = NULL;
    l->n = l->cur = 0;
}

void *list_row(const struct tui_list *l, int i)
{
    return l->rows + (size_t)i * l->ops->row_size;
}

void *list_current(const struct tui_list *l)
{
    return l->n > 0 ? list_row(l, l->cur) : NULL;
}

static char *alloc_rows(const struct tui_list *l, int n)
{
    return ns_xcalloc((size_t)(n > 0 ? n : 1), l->ops->row_size);
}

/* Replaces the window by rows[0..n) (taking ownership). */
static void set_window(struct tui_list *l, char *rows, int n)
{
    list_release(l);
    l->rows = rows;
    l->n = n;
}

static void clamp(struct tui_list *l)
{
    if (l->cur >= l->n)
        l->cur = l->n - 1;
    if (l->cur < 0)
        l->cur = 0;
}

static void load_first(struct tui_list *l)
{
    char *rows = alloc_rows(l, l->height);
    int n = l->ops->fetch(l->ctx, NULL, 1, l->height, rows);
    set_window(l, rows, n);
    l->cur = 0;
}

static void load_last(struct tui_list *l)
{
    char *rows = alloc_rows(l, l->height);
    int n = l->ops->fetch(l->ctx, NULL, -1, l->height, rows);
    set_window(l, rows, n);
    l->cur = n - 1;
    clamp(l);
}

void list_reset(struct tui_list *l)
{
    load_first(l);
}

void list_reload(struct tui_list *l)
{
    if (l->n == 0) {
        load_first(l);
        return;
    }
    size_t rs = l->ops->row_size;
    /* Remember the cursor's item: fetch() may return it at another place. */
    char *keep = ns_xmalloc(rs);
    memcpy(keep, list_row(l, l->cur), rs); /* l->n > 0: there is a current row */
    int old_cur = l->cur;

    char *rows = alloc_rows(l, l->height);
    int n = l->ops->fetch(l->ctx, list_row(l, 0), 0, l->height, rows);
    if (n < l->height) {
        /* Near the end (or rows vanished): show the last full page. */
        release_rows(l, rows, n);
        n = l->ops->fetch(l->ctx, NULL, -1, l->height, rows);
    }
    int cur = -1;
    if (l->ops->same)
        for (int i = 0; i < n && cur < 0; i++)
            if (l->ops->same(rows + (size_t)i * rs, keep))
                cur = i;
    free(keep); /* a shallow copy: the old window still owns its strings */
    set_window(l, rows, n);
    l->cur = cur >= 0 ? cur : old_cur;
    clamp(l);
}

void list_set_height(struct tui_list *l, int height)
{
    if (height < 1)
        height = 1;
    if (height == l->height && l->rows)
        return;
    l->height = height;
    if (l->rows)
        list_reload(l);
    else
        load_first(l);
}

/* Scrolls by up to k rows in direction dir; returns the rows moved. */
static int list_scroll(struct tui_list *l, int dir, int k)
{
    if (l->n == 0)
        return 0;
    size_t rs = l->ops->row_size;
    char *more = alloc_rows(l, k);
    const void *anchor = dir > 0 ? list_row(l, l->n - 1) : list_row(l, 0);
    int m = l->ops->fetch(l->ctx, anchor, dir, k, more);
    if (m == 0) {
        free(more);
        return 0;
    }
    int total = l->n + m;
    char *all = alloc_rows(l, total);
    if (dir > 0) {
        memcpy(all, l->rows, (size_t)l->n * rs);
        memcpy(all + (size_t)l->n * rs, more, (size_t)m * rs);
    } else {
        memcpy(all, more, (size_t)m * rs);
        memcpy(all + (size_t)m * rs, l->rows, (size_t)l->n * rs);
    }
    free(more);
    free(l->rows); /* ownership of the strings moved into all */
    l->rows = NULL;
    l->n = 0;
    int keep = total < l->height ? total : l->height;
    int from = dir > 0 ? total - keep : 0;
    char *win = alloc_rows(l, keep);
    memcpy(win, all + (size_t)from * rs, (size_t)keep * rs);
    release_rows(l, dir > 0 ? all : all + (size_t)keep * rs, total - keep);
    free(all);
    l->rows = win;
    l->n = keep;
    return m;
}

bool list_navigate(struct tui_list *l, enum tui_cmd cmd)
{
    switch (cmd) {
    case TUI_CMD_DOWN:
        if (l->cur < l->n - 1)
            l->cur++;
        else
            list_scroll(l, 1, 1);
        break;
    case TUI_CMD_UP:
        if (l->cur > 0)
            l->cur--;
        else
            list_scroll(l, -1, 1);
        break;
    case TUI_CMD_PGDN:
        if (list_scroll(l, 1, l->height) == 0)
            l->cur = l->n - 1;
        break;
    case TUI_CMD_PGUP:
        if (list_scroll(l, -1, l->height) == 0)
            l->cur = 0;
        break;
    case TUI_CMD_HOME:
        load_first(l);
        break;
    case TUI_CMD_END:
        load_last(l);
        break;
    default:
        return false;
    }
    clamp(l);
    return true;
}

void cols_layout(struct tui_col *c, int n, int w)
{
    for (int i = 0; i < n; i++)
        c[i].shown = false;
    int used = 0;
    /* Take columns by priority while they fit (one space between). */
    for (;;) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!c[i].shown && c[i].width > 0 && (best < 0 || c[i].prio < c[best].prio))
                best = i;
        if (best < 0 || used + c[best].width + (used ? 1 : 0) > w)
            break;
        used += c[best].width + (used ? 1 : 0);
        c[best].shown = true;
    }
    int extra = w - used, x = 0;
    for (int i = 0; i < n; i++) {
        if (!c[i].shown)
            continue;
        c[i].x = x;
        int width = c[i].width;
        if (c[i].flex && extra > 0) {
            width += extra;
            extra = 0;
        }
        /* Stash the real width in the title-independent field. */
        c[i].width = width;
        x += width + 1;
    }
}

void cols_header(const struct tui_col *c, int n, int y, int w, attr_t attr)
{
    term_fill(y, 0, w, attr);
    for (int i = 0; i < n; i++)
        if (c[i].shown)
            cols_cell(&c[i], y, attr, c[i].title);
}

void cols_cell(const struct tui_col *c, int y, attr_t attr, const char *text)
{
    if (!c->shown)
        return;
    int x = c->x;
    if (c->right) {
        int tw = term_width(text);
        if (tw < c->width)
            x += c->width - tw;
    }
    term_put(y, x, c->width - (x - c->x), attr, text);
}

void list_goto(struct tui_list *l, const void *anchor)
{
    size_t rs = l->ops->row_size;
    char *rows = alloc_rows(l, l->height);
    int n = l->ops->fetch(l->ctx, anchor, 0, l->height, rows);
    if (n < l->height) {
        /* Near the end: the last full page, as a reload shows it. */
        release_rows(l, rows, n);
        n = l->ops->fetch(l->ctx, NULL, -1, l->height, rows);
    }
    int cur = 0;
    if (l->ops->same)
        for (int i = 0; i < n; i++)
            if (l->ops->same(rows + (size_t)i * rs, anchor))
                cur = i;
    set_window(l, rows, n);
    l->cur = cur;
    clamp(l);
}
