/*
 * marks.c - the partitions an operator marked (Space, *, v, ~): a sorted
 * array of indexes, so "is this row marked" is a binary search while a
 * table of a million rows is drawn, and the set is handed to an action as
 * it is (ascending, no duplicates).
 */
#include <stdlib.h>
#include <string.h>

#include "tui-internal.h"

/* The position of idx, or where it would go. */
static size_t marks_find(const struct tui_marks *m, int64_t idx)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->idx[mid] < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool marks_has(const struct tui_marks *m, int64_t idx)
{
    size_t i = marks_find(m, idx);
    return i < m->n && m->idx[i] == idx;
}

void marks_toggle(struct tui_marks *m, int64_t idx)
{
    size_t i = marks_find(m, idx);
    if (i < m->n && m->idx[i] == idx) {
        memmove(&m->idx[i], &m->idx[i + 1], sizeof *m->idx * (m->n - i - 1));
        m->n--;
        return;
    }
    m->idx = ns_xrealloc(m->idx, sizeof *m->idx * (m->n + 1));
    memmove(&m->idx[i + 1], &m->idx[i], sizeof *m->idx * (m->n - i));
    m->idx[i] = idx;
    m->n++;
}

void marks_clear(struct tui_marks *m)
{
    free(m->idx);
    m->idx = NULL;
    m->n = 0;
}

/* Merges the set with v[0..n): keep (in set, in v) decides each element. */
static size_t marks_merge(struct tui_marks *m, const int64_t *v, size_t n, bool invert)
{
    int64_t *out = ns_xmalloc(sizeof *out * (m->n + n + 1));
    size_t i = 0, j = 0, o = 0, added = 0;
    while (i < m->n || j < n) {
        if (j == n || (i < m->n && m->idx[i] < v[j])) {
            out[o++] = m->idx[i++];
        } else if (i == m->n || v[j] < m->idx[i]) {
            out[o++] = v[j++];
            added++;
        } else { /* in both */
            if (!invert)
                out[o++] = m->idx[i];
            i++;
            j++;
        }
    }
    free(m->idx);
    m->idx = out;
    m->n = o;
    return added;
}

size_t marks_add(struct tui_marks *m, const int64_t *v, size_t n)
{
    return marks_merge(m, v, n, false);
}

void marks_invert(struct tui_marks *m, const int64_t *v, size_t n)
{
    marks_merge(m, v, n, true);
}
