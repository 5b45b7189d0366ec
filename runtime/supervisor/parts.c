/*
 * parts.c - the partitions the supervisor holds in memory, by index.
 *
 * Memory holds what is live or next in line, never the whole plan: a run of
 * a million partitions keeps one state byte per partition (rt->pstate) and a
 * struct part only for the partitions it is working with - live attempts,
 * retries coming due, partitions an operator command or the dispatcher just
 * touched. Others are loaded from their row on demand (rt_part in
 * runtime.c) and dropped again once they are settled and committed
 * (rt_evict_settled). This file is the map: open addressing with linear
 * probing over a power-of-two table, deletion by backward shift (no
 * tombstones), so lookups stay short however many come and go.
 *
 * Owned by the poll loop's thread, like everything in struct rt.
 */
#include <stdlib.h>

#include "runtime-internal.h"
#include "nightshift/util.h"

static size_t slot_of(const struct part_map *m, int64_t idx)
{
    uint64_t h = (uint64_t)idx * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (m->cap - 1);
}

struct part *part_map_find(const struct part_map *m, int64_t idx)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, idx);; i = (i + 1) & (m->cap - 1)) {
        struct part *p = m->slots[i];
        if (!p)
            return NULL;
        if (p->idx == idx)
            return p;
    }
}

static void put(struct part_map *m, struct part *p)
{
    size_t i = slot_of(m, p->idx);
    while (m->slots[i])
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = p;
}

void part_map_insert(struct part_map *m, struct part *p)
{
    if ((m->len + 1) * 4 > m->cap * 3) { /* load <= 3/4 */
        size_t old_cap = m->cap;
        struct part **old = m->slots;
        m->cap = old_cap ? old_cap * 2 : 64;
        m->slots = ns_xcalloc(m->cap, sizeof *m->slots);
        for (size_t i = 0; i < old_cap; i++)
            if (old[i])
                put(m, old[i]);
        free(old);
    }
    put(m, p);
    m->len++;
}

void part_map_remove(struct part_map *m, int64_t idx)
{
    if (!m->cap)
        return;
    size_t i = slot_of(m, idx);
    while (m->slots[i] && m->slots[i]->idx != idx)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i])
        return;
    m->slots[i] = NULL;
    m->len--;
    /* Backward shift: re-place the rest of the cluster. */
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1)) {
        struct part *q = m->slots[j];
        m->slots[j] = NULL;
        put(m, q);
    }
}

void part_map_release(struct part_map *m, void (*free_part)(struct part *))
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i])
            free_part(m->slots[i]);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}
