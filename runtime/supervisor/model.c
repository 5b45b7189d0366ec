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

int pstate_from_name(const char *name)
{
    for (int i = 0; i < P_NSTATES; i++)
        if (strcmp(pstate_names[i], name) == 0)
            return i;
    return -1;
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
    rt->key_text = NULL;
    sqlite3_stmt *s = rt->key_stmt;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, rt->run_id);
    sqlite3_bind_int64(s, 2, idx);
    if (sqlite3_step(s) == SQLITE_ROW)
        rt->key_text = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    rt->key_idx = idx;
    if (!rt->key_text)
        rt->key_text = ns_xstrdup("?");
    return rt->key_text;
}

/* Loads one partition as the planner made it (index, key, parameters in
 * order) from its stored params_json. Returns 0, or -1 with err filled.
 * Release with rt_part_unload. */
int rt_part_load(struct rt *rt, int64_t idx, struct ns_partition *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = rt->params_stmt;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, rt->run_id);
    sqlite3_bind_int64(s, 2, idx);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->params_len == cap) {
            cap = cap ? cap * 2 : 16;
            out->params = ns_xrealloc(out->params, cap * sizeof *out->params);
        }
        struct ns_kv *kv = &out->params[out->params_len++];
        kv->name = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
        kv->value = ns_xstrdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    out->index = idx;
    out->key = out->params_len > 1 ? out->params[1].value : NULL;
    if (rc != SQLITE_DONE || !out->key) {
        ns_errf(err, errlen, "partition %lld: cannot read its parameters: %s", (long long)idx,
                rc != SQLITE_DONE ? sqlite3_errmsg(rt->st.db) : "not stored");
        return -1;
    }
    return 0;
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

/* The columns part_fill reads, in its order. */
#define PART_COLUMNS                                                                               \
    "idx, state, attempts, attempts_total, progress, total, error_records, checkpoint, "           \
    "checkpoint_progress, checkpoint_err_id, next_attempt_at, started_at, finished_at, "           \
    "last_message, last_signature"

/* True for a row as run creation wrote it: what part_fill would read from
 * it is what rt_part starts from, so it need not be read. */
#define PART_UNTOUCHED                                                                             \
    "(attempts = 0 AND attempts_total = 0 AND progress = 0 AND total IS NULL AND "                 \
    "error_records = 0 AND checkpoint IS NULL AND next_attempt_at IS NULL AND "                    \
    "started_at IS NULL AND finished_at IS NULL AND last_message IS NULL AND "                     \
    "last_signature IS NULL)"

/* One partitions row (PART_COLUMNS) into p; the state is rt->pstate's. */
static void part_fill(struct rt *rt, struct part *p, sqlite3_stmt *s)
{
    p->row.attempts = sqlite3_column_int(s, 2);
    p->row.attempts_total = sqlite3_column_int(s, 3);
    p->row.max_attempts = rt->spec->retry_attempts;
    p->row.progress = sqlite3_column_int64(s, 4);
    p->row.total = sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 5);
    p->row.errors = sqlite3_column_int64(s, 6);
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
        p->row.checkpoint_len = (size_t)sqlite3_column_bytes(s, 7);
        p->row.checkpoint = ns_xstrndup(sqlite3_column_blob(s, 7), p->row.checkpoint_len);
        p->row.checkpoint_progress = sqlite3_column_int64(s, 8);
        p->row.checkpoint_err_id = sqlite3_column_int64(s, 9);
    }
    p->row.retry_at = sqlite3_column_double(s, 10);
    p->row.started_at = sqlite3_column_double(s, 11);
    p->row.finished_at = sqlite3_column_double(s, 12);
    if (sqlite3_column_type(s, 13) != SQLITE_NULL)
        p->row.last_message = ns_xstrdup((const char *)sqlite3_column_text(s, 13));
    if (sqlite3_column_type(s, 14) != SQLITE_NULL)
        p->row.last_signature = ns_xstrdup((const char *)sqlite3_column_text(s, 14));
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
        /* Untouched since the start (PART_UNTOUCHED); from now on changes
         * go through this struct, and its row once it is evicted. */
        rt->untouched[idx / 8] &= (uint8_t)~bit;
        part_map_insert(&rt->parts, p);
        return p;
    }
    /* The same connection: the row includes this turn's uncommitted writes
     * (batched error records too, once flushed). */
    journal_flush(rt->j);
    sqlite3_stmt *s = rt->part_stmt;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, rt->run_id);
    sqlite3_bind_int64(s, 2, idx);
    if (sqlite3_step(s) == SQLITE_ROW)
        part_fill(rt, p, s);
    sqlite3_reset(s);
    /* Error counters on rows are coalesced and may lag after a crash; the
     * records themselves are the truth. A partition that never started has
     * none (an attempt's records commit with or after its start, which
     * counts it in the row). */
    if (p->row.attempts_total == 0) {
        part_map_insert(&rt->parts, p);
        return p;
    }
    s = rt->part_errors_stmt;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, rt->run_id);
    sqlite3_bind_int64(s, 2, idx);
    if (sqlite3_step(s) == SQLITE_ROW)
        p->row.errors = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
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

/* Reads every partition's state (one byte each in memory) and the run's
 * figures; only the partitions a dead runtime left running or paused, and
 * those waiting to retry, are taken into memory now. */
int rt_load_partitions(struct rt *rt, char *err, size_t errlen)
{
    rt->nparts = rt->plan->len;
    rt->pstate = ns_xcalloc(rt->nparts ? rt->nparts : 1, 1);
    rt->untouched = ns_xcalloc(rt->nparts / 8 + 1, 1);
    rt->evict_at = EVICT_MIN;
    rt->key_stmt =
        store_prepare(&rt->st, "SELECT key FROM partitions WHERE run_id = ?1 AND idx = ?2");
    rt->part_stmt = store_prepare(&rt->st, "SELECT " PART_COLUMNS " FROM partitions "
                                           "WHERE run_id = ?1 AND idx = ?2");
    rt->part_errors_stmt =
        store_prepare(&rt->st, "SELECT count(*) FROM error_records WHERE run_id = ?1 AND idx = ?2");
    rt->params_stmt = store_prepare(
        &rt->st, "SELECT j.key, j.value FROM partitions p, json_each(p.params_json) j "
                 "WHERE p.run_id = ?1 AND p.idx = ?2 ORDER BY j.id");
    sqlite3_stmt *s = store_prepare(&rt->st, "SELECT idx, state, progress, total, " PART_UNTOUCHED
                                             " FROM partitions WHERE run_id = ? ORDER BY idx");
    sqlite3_bind_int64(s, 1, rt->run_id);
    size_t seen = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(s, 0);
        if (idx < 0 || (size_t)idx >= rt->nparts)
            continue;
        int st = pstate_from_name((const char *)sqlite3_column_text(s, 1));
        enum ns_part_state state = st < 0 ? P_PENDING : (enum ns_part_state)st;
        rt->pstate[idx] = (uint8_t)state;
        rt->counts[state]++;
        rt->records_done += sqlite3_column_int64(s, 2);
        if (sqlite3_column_type(s, 3) != SQLITE_NULL && sqlite3_column_int64(s, 3) > 0)
            rt->records_total += sqlite3_column_int64(s, 3);
        if (sqlite3_column_int(s, 4))
            rt->untouched[idx / 8] |= (uint8_t)(1u << (idx % 8));
        if (state == P_RUNNING || state == P_PAUSED || state == P_RETRY_WAIT) {
            rt_part(rt, idx);
            if (state == P_RETRY_WAIT)
                rt_wait_retry(rt, idx);
        }
        seen++;
    }
    sqlite3_finalize(s);
    s = store_prepare(&rt->st, "SELECT count(*) FROM error_records WHERE run_id = ?");
    sqlite3_bind_int64(s, 1, rt->run_id);
    if (sqlite3_step(s) == SQLITE_ROW)
        rt->error_records = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    rt->records_at_start = rt->records_done; /* records/s counts this runtime's own */
    if (rc != SQLITE_DONE || seen != rt->nparts) {
        ns_errf(err, errlen, "%s: run %lld: expected %zu partitions, found %zu%s%s", rt->st.path,
                (long long)rt->run_id, rt->nparts, seen, rc != SQLITE_DONE ? ": " : "",
                rc != SQLITE_DONE ? sqlite3_errmsg(rt->st.db) : "");
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
    sqlite3_finalize(rt->key_stmt);
    sqlite3_finalize(rt->params_stmt);
    sqlite3_finalize(rt->part_stmt);
    sqlite3_finalize(rt->part_errors_stmt);
}
