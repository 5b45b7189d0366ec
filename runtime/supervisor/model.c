/*
 * model.c - the supervisor's partition cache: the partitions it holds in
 * memory, by index, and the small writes that keep them and the counters in
 * step.
 *
 * Memory holds what is live or next in line, never the whole plan: a run of
 * a million partitions keeps one state byte per partition (rt->pstate) and a
 * struct part only for the partitions it is working with - live attempts,
 * retries coming due, partitions an operator command or the dispatcher just
 * touched. Others are loaded from their row on demand (rt_part) and dropped
 * again once they are settled and committed (rt_evict_settled). The map is
 * open addressing with linear probing over a power-of-two table, deletion by
 * backward shift (no tombstones), so lookups stay short however many come
 * and go.
 *
 * Invariants: rt->pstate[idx] == rt_part(rt, idx)->row.state for every partition
 * in memory, and rt->counts[s] is the number of partitions in state s (both
 * changed only by rt_set_state). Owned by the poll loop's thread, like
 * everything in struct rt.
 */
#include <stdlib.h>
#include <string.h>

#include "supervisor.h"
#include "nightshift/util.h"

#define NS_PSTATE_NAME(e, s) s,
const char *const pstate_names[P_NSTATES] = {NS_PSTATES(NS_PSTATE_NAME)};
#undef NS_PSTATE_NAME

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
        if (p->row.idx == idx)
            return p;
    }
}

static void put(struct part_map *m, struct part *p)
{
    size_t i = slot_of(m, p->row.idx);
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
    while (m->slots[i] && m->slots[i]->row.idx != idx)
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

/* The plan lives in the partitions table, not in memory (flat RSS whatever
 * the partition count): a partition's key and parameters are read back when
 * they are needed, by primary key. */

/* The partition's key; valid until the next call. "?" if it cannot be read. */
const char *rt_part_key(struct rt *rt, int64_t idx)
{
    if (rt->key_text && rt->key_idx == idx)
        return rt->key_text;
    free(rt->key_text);
    rt->key_text = runs_part_key(rt->runs, idx);
    rt->key_idx = idx;
    if (!rt->key_text)
        rt->key_text = ns_xstrdup("?");
    return rt->key_text;
}

bool rt_is_run_key(void *ctx, const char *s, size_t n)
{
    struct rt *rt = ctx;
    if (!rt->key_hashes_read) {
        rt->key_hashes = runs_key_hashes(rt->runs, &rt->nkey_hashes);
        rt->key_hashes_read = true;
    }
    uint64_t h = ns_hash64(s, n, NS_HASH_SEED);
    size_t lo = 0, hi = rt->nkey_hashes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rt->key_hashes[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rt->nkey_hashes && rt->key_hashes[lo] == h;
}

/* Loads one partition as the planner made it (index, key, parameters in
 * order) from its stored params_json. Returns 0, or -1 with err filled.
 * Release with rt_part_unload. */
int rt_part_load(struct rt *rt, int64_t idx, struct ns_partition *out, char *err, size_t errlen)
{
    return runs_part_params(rt->runs, idx, out, err, errlen);
}

void rt_part_unload(struct ns_partition *pp)
{
    for (size_t i = 0; i < pp->params_len; i++) {
        free(pp->params[i].name);
        free(pp->params[i].value);
    }
    free(pp->params);
    memset(pp, 0, sizeof *pp);
}

/* Replaces *dst with a copy of s; s may be *dst itself (copied first). */
void rt_set_str(char **dst, const char *s, size_t len)
{
    char *copy = s ? ns_xstrndup(s, len) : NULL;
    free(*dst);
    *dst = copy;
}

void rt_set_state(struct rt *rt, int64_t idx, enum ns_part_state to)
{
    struct part *p = rt_part(rt, idx);
    rt->counts[p->row.state]--;
    rt->counts[to]++;
    p->row.state = to;
    rt->pstate[idx] = (uint8_t)to;
    rt->settled |= to >= P_SUCCEEDED; /* runs waiting for ours look again (upstream.c) */
    rt->dirty = true;
}

void rt_clear_checkpoint(struct rt *rt, int64_t idx)
{
    struct part *p = rt_part(rt, idx);
    free(p->row.checkpoint);
    p->row.checkpoint = NULL;
    p->row.checkpoint_len = 0;
    p->row.checkpoint_progress = 0;
    p->row.checkpoint_err_id = 0;
    journal_checkpoint(rt->j, &p->row);
}

void rt_part_free(struct part *p)
{
    free(p->row.checkpoint);
    free(p->row.last_message);
    free(p->row.last_signature);
    free(p);
}

struct part *rt_part(struct rt *rt, int64_t idx)
{
    struct part *p = part_map_find(&rt->parts, idx);
    if (p)
        return p;
    p = ns_xcalloc(1, sizeof *p);
    p->row.idx = idx;
    p->row.state = (enum ns_part_state)rt->pstate[idx];
    p->row.max_attempts = rt->spec->retry_attempts;
    p->row.total = -1;
    uint8_t bit = (uint8_t)(1u << (idx % 8));
    if (rt->untouched[idx / 8] & bit) {
        /* Untouched since the start (runs.c: RUNS_PART_UNTOUCHED); from now on changes
         * go through this struct, and its row once it is evicted. */
        rt->untouched[idx / 8] &= (uint8_t)~bit;
        part_map_insert(&rt->parts, p);
        return p;
    }
    /* The same connection: the row includes this turn's uncommitted writes
     * (batched error records too, once flushed). */
    journal_flush(rt->j);
    runs_part_read(rt->runs, idx, &p->row);
    /* Error counters on rows are coalesced and may lag after a crash; the
     * records themselves are the truth. A partition that never started has
     * none (an attempt's records commit with or after its start, which
     * counts it in the row). */
    if (p->row.attempts_total == 0) {
        part_map_insert(&rt->parts, p);
        return p;
    }
    int64_t errors = runs_part_errors(rt->runs, idx);
    if (errors >= 0)
        p->row.errors = errors;
    part_map_insert(&rt->parts, p);
    return p;
}

/* Drops the partitions that are settled (succeeded, skipped or failed; not
 * live, not queued) once their rows are committed: they are read back if an
 * operator command needs them. Amortised: only when the map has doubled. */
#define EVICT_MIN 4096
void rt_evict_settled(struct rt *rt)
{
    if (rt->parts.len < rt->evict_at)
        return;
    int64_t *gone = ns_xmalloc(rt->parts.len * sizeof *gone);
    size_t n = 0;
    for (size_t i = 0; i < rt->parts.cap; i++) {
        const struct part *p = rt->parts.slots[i];
        if (p && !p->live && !p->queued &&
            (p->row.state == P_SUCCEEDED || p->row.state == P_SKIPPED || p->row.state == P_FAILED))
            gone[n++] = p->row.idx;
    }
    for (size_t i = 0; i < n; i++) {
        struct part *p = part_map_find(&rt->parts, gone[i]);
        part_map_remove(&rt->parts, gone[i]);
        rt_part_free(p);
    }
    free(gone);
    rt->evict_at = 2 * rt->parts.len > EVICT_MIN ? 2 * rt->parts.len : EVICT_MIN;
}

struct load_ctx {
    struct rt *rt;
    size_t seen;
};

/* runs_load_states callback: one partition's state byte and figures. */
static void load_state(void *ctx, const struct ns_part_state_row *row)
{
    struct load_ctx *lc = ctx;
    struct rt *rt = lc->rt;
    int64_t idx = row->idx;
    if (idx < 0 || (size_t)idx >= rt->nparts)
        return;
    enum ns_part_state state = row->state < 0 ? P_PENDING : (enum ns_part_state)row->state;
    rt->pstate[idx] = (uint8_t)state;
    rt->counts[state]++;
    rt->records_done = ns_add_sat(rt->records_done, row->progress);
    if (row->total > 0)
        rt->records_total = ns_add_sat(rt->records_total, row->total);
    if (row->untouched)
        rt->untouched[idx / 8] |= (uint8_t)(1u << (idx % 8));
    if (state == P_RUNNING || state == P_PAUSED || state == P_RETRY_WAIT) {
        rt_part(rt, idx);
        if (state == P_RETRY_WAIT)
            rt_wait_retry(rt, idx);
    }
    lc->seen++;
}

/* Reads every partition's state (one byte each in memory) and the run's
 * figures; only the partitions a dead runtime left running or paused, and
 * those waiting to retry, are taken into memory now. */
int rt_load_partitions(struct rt *rt, char *err, size_t errlen)
{
    rt->nparts = rt->plan->len;
    rt->pstate = ns_xcalloc(rt->nparts ? rt->nparts : 1, 1);
    rt->untouched = ns_xcalloc(rt->nparts / 8 + 1, 1);
    rt->evict_at = EVICT_MIN;
    rt->runs = runs_open(&rt->st, rt->run_id);
    struct load_ctx lc = {rt, 0};
    char why[256] = "";
    int64_t rows = runs_load_states(rt->runs, load_state, &lc, why, sizeof why);
    rt->error_records = runs_error_count(rt->runs);
    rt->records_at_start = rt->records_done; /* records/s counts this runtime's own */
    if (rows < 0 || lc.seen != rt->nparts) {
        ns_errf(err, errlen, "%s: run %lld: expected %zu partitions, found %zu%s%s", rt->st.path,
                (long long)rt->run_id, rt->nparts, lc.seen, rows < 0 ? ": " : "", why);
        return -1;
    }
    return 0;
}

void rt_model_release(struct rt *rt)
{
    part_map_release(&rt->parts, rt_part_free);
    free(rt->pstate);
    free(rt->untouched);
    free(rt->key_text);
    free(rt->key_hashes);
    straggle_release(rt);
    runs_close(rt->runs);
}
