/*
 * stragglers.c - the console's part of the long tail (query.h's rule):
 * the run view's map marks the partitions that are stragglers now. Kept
 * apart from view-run.c, which only asks; the figures are the read model's.
 */
#include "nightshift/query.h"
#include "tui-internal.h"

/* At most this many are marked on one screen of the map (the longest
 * running first); the header's count is exact either way. */
#define MARKED_MAX 512

void tui_put_stragglers(int y, int x, int w, const struct ns_run_summary *r)
{
    if (r->stragglers > 0)
        term_putf(y, x, w - x, term_attr(TUI_C_WAIT) | A_BOLD, "  %lld straggler%s",
                  (long long)r->stragglers, r->stragglers == 1 ? "" : "s");
}

void tui_mark_stragglers(struct tui *t, const struct ns_run_summary *r, int64_t from,
                         unsigned char *cells, int64_t n, unsigned char mark)
{
    if (!cells || n <= 0 || r->stragglers <= 0)
        return;
    static struct ns_straggler rows[MARKED_MAX];
    int64_t all = query_stragglers(&t->st, r->id, r->straggler_after, t->now, rows, MARKED_MAX);
    int64_t got = all < 0 ? 0 : all < MARKED_MAX ? all : MARKED_MAX;
    for (int64_t i = 0; i < got; i++)
        if (rows[i].idx >= from && rows[i].idx < from + n && cells[rows[i].idx - from])
            cells[rows[i].idx - from] = mark;
    query_stragglers_release(rows, (size_t)got);
}
