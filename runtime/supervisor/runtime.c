/*
 * runtime.c - the supervisor: one poll loop drives one run.
 *
 * Design: a single thread owns all run state (struct rt). It waits in poll()
 * on a signalfd (the runtime's own SIGCHLD, SIGINT, SIGTERM, SIGHUP) and on
 * the descriptors the executor asks for, with a timeout that is the nearest
 * deadline (attempt timeout, kill after stop_grace, a retry coming due, the
 * executor's next wake-up, the command poll). Where and how an attempt runs
 * is the executor's business (executor.h: local processes, Slurm): the
 * supervisor asks for semantic actions (pause, resume, terminate, kill) and
 * gets events (report bytes, output bytes, ended); it names no pid and no
 * signal of a worker. Every turn ends with one commit of what the turn
 * observed (journal.c), so the database always holds a consistent story.
 *
 * Invariants:
 *  - at most one live attempt per partition (part->live), and at most
 *    `concurrency` live attempts;
 *  - a partition's succeeded state is written once, in the turn its worker
 *    was reaped with exit 0; a restarted runtime never dispatches it again;
 *  - before dispatching anything, a restarted runtime ends every process a
 *    dead predecessor left (by pid + start time, then by environment).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime-internal.h"
#include "nightshift/checkpointer.h"
#include "nightshift/escape.h"
#include "nightshift/metrics.h"
#include "nightshift/signature.h"
#include "nightshift/query.h"
#include "nightshift/rowbatch.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

extern char **environ;

#define NS_PSTATE_NAME(e, s) s,
const char *const pstate_names[P_NSTATES] = {NS_PSTATES(NS_PSTATE_NAME)};
#undef NS_PSTATE_NAME

const char *const run_state_names[] = {"running", "paused",    "halted", "stopping",
                                       "stopped", "succeeded", "failed"};

#define PROGRESS_WRITE_S 0.25
#define HEARTBEAT_S 1.0
#define SAMPLE_S 5.0
#define METRICS_S 5.0 /* textfile refresh */
#define TICK_S 0.2
#define COMMIT_DELAY_S 0.02 /* group commit while busy (loop) */
#define MAX_MALFORMED_EVENTS 20

int pstate_from_name(const char *name)
{
    for (int i = 0; i < P_NSTATES; i++)
        if (strcmp(pstate_names[i], name) == 0)
            return i;
    return -1;
}

/* ---- small helpers ------------------------------------------------------ */

static uint64_t rng_next(struct rt *rt)
{
    /* xorshift64*: jitter only, not security. */
    uint64_t x = rt->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rt->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rng_unit(struct rt *rt)
{
    return (double)(rng_next(rt) >> 11) / 9007199254740992.0;
}

int64_t runtime_backoff_ms(const struct ns_spec *spec, int next_attempt, double u)
{
    double d = (double)spec->backoff_ms;
    for (int i = 2; i < next_attempt && d < (double)spec->max_backoff_ms; i++)
        d *= spec->backoff_factor;
    if (d > (double)spec->max_backoff_ms)
        d = (double)spec->max_backoff_ms;
    d *= 1.0 + spec->jitter * (2.0 * u - 1.0);
    return d < 0 ? 0 : (int64_t)llround(d);
}

/* The plan lives in the partitions table, not in memory (flat RSS whatever
 * the partition count): a partition's key and parameters are read back when
 * they are needed, by primary key. */

/* The partition's key; valid until the next call. "?" if it cannot be read. */
static const char *part_key(struct rt *rt, int64_t idx)
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
 * Release with part_unload. */
static int part_load(struct rt *rt, int64_t idx, struct ns_partition *out, char *err,
                     size_t errlen)
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

static void part_unload(struct ns_partition *pp)
{
    for (size_t i = 0; i < pp->params_len; i++) {
        free(pp->params[i].name);
        free(pp->params[i].value);
    }
    free(pp->params);
    memset(pp, 0, sizeof *pp);
}

void rt_event(struct rt *rt, int64_t idx, int64_t attempt_id, const char *kind, const char *fmt,
              ...)
{
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    journal_event(rt->j, idx, attempt_id, kind, "%s", b.data ? b.data : "");
    if (rt->opts->on_event) {
        /* Keys and messages in b come from users and workers. */
        char *safe = escape_dup(b.data ? b.data : "", b.len, 0);
        rt->opts->on_event(rt->opts->ctx, safe);
        free(safe);
    }
    buf_release(&b);
}

/* Replaces *dst with a copy of s; s may be *dst itself (copied first). */
static void set_str(char **dst, const char *s, size_t len)
{
    char *copy = s ? ns_xstrndup(s, len) : NULL;
    free(*dst);
    *dst = copy;
}

void rt_set_state(struct rt *rt, int64_t idx, enum pstate to)
{
    struct part *p = rt_part(rt, idx);
    rt->counts[p->state]--;
    rt->counts[to]++;
    p->state = to;
    rt->pstate[idx] = (uint8_t)to;
    rt->dirty = true;
}

void rt_requeue(struct rt *rt, int64_t idx)
{
    struct part *p = rt_part(rt, idx);
    if (p->queued)
        return;
    if (rt->nrequeue == rt->requeue_cap) {
        rt->requeue_cap = rt->requeue_cap ? rt->requeue_cap * 2 : 64;
        rt->requeue = ns_xrealloc(rt->requeue, rt->requeue_cap * sizeof *rt->requeue);
    }
    rt->requeue[rt->nrequeue++] = idx;
    p->queued = true;
}

void rt_set_run_state(struct rt *rt, enum run_state s, const char *reason)
{
    if (rt->state == s && !reason)
        return;
    enum run_state from = rt->state;
    rt->state = s;
    /* reason may be rt->state_reason itself: use the stored copy from here. */
    set_str(&rt->state_reason, reason, reason ? strlen(reason) : 0);
    reason = rt->state_reason;
    bool final = s == RS_STOPPED || s == RS_SUCCEEDED || s == RS_FAILED;
    journal_run_state(rt->j, run_state_names[s], reason, final);
    rt_event(rt, -1, 0, "run_state", "run %lld: %s -> %s%s%s", (long long)rt->run_id,
             run_state_names[from], run_state_names[s], reason ? ": " : "", reason ? reason : "");
}

void rt_clear_checkpoint(struct rt *rt, int64_t idx)
{
    struct part *p = rt_part(rt, idx);
    free(p->checkpoint);
    p->checkpoint = NULL;
    p->checkpoint_len = 0;
    p->checkpoint_progress = 0;
    p->checkpoint_err_id = 0;
    journal_checkpoint(rt->j, idx, p);
}

/* ---- setup: find or create the run ------------------------------------- */

static char *hex64(uint64_t h)
{
    return ns_xasprintf("%016llx", (unsigned long long)h);
}

/* Lines of a that are not in b, each prefixed; for "what changed". */
static void diff_lines(struct ns_buf *out, const char *a, const char *b, const char *prefix)
{
    const char *line = a;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        bool found = false;
        for (const char *q = b; *q;) {
            const char *qn = strchr(q, '\n');
            size_t ql = qn ? (size_t)(qn - q) : strlen(q);
            if (ql == len && memcmp(q, line, len) == 0) {
                found = true;
                break;
            }
            q += ql + (qn ? 1 : 0);
        }
        if (!found && len) {
            buf_adds(out, prefix);
            buf_add(out, line, len);
            buf_addc(out, '\n');
        }
        line += len + (nl ? 1 : 0);
    }
}

struct store_parts {
    struct rt *rt;
    struct ns_rowbatch *rows;
    struct ns_buf json;
    int rc; /* of the last batch written */
};

/* plan_stream callback: one partition row, written 64 at a time. Non-zero
 * stops the stream. */
static int store_part(void *ctx, const struct ns_partition *pp)
{
    struct store_parts *sp = ctx;
    struct ns_buf *b = &sp->json;
    buf_reset(b);
    plan_partition_json_add(pp, b);
    rowbatch_int(sp->rows, sp->rt->run_id);
    rowbatch_int(sp->rows, pp->index);
    rowbatch_text(sp->rows, pp->key, strlen(pp->key));
    rowbatch_text(sp->rows, b->data, b->len);
    rowbatch_int(sp->rows, sp->rt->spec->retry_attempts);
    if (rowbatch_row_done(sp->rows))
        sp->rc = rowbatch_flush(sp->rows);
    return sp->rc != SQLITE_OK;
}

/* Inserts the run and its partitions. Returns 0, 1 if a run with this
 * identity appeared since the caller looked (nothing written), or -1. */
static int create_run(struct rt *rt, const char *params, const char *spec_canon,
                      const char *spec_hash, const char *plan_hash, char *err, size_t errlen)
{
    char *params_json;
    {
        struct ns_buf b = NS_BUF_INIT;
        buf_addc(&b, '{');
        for (size_t i = 0; i < rt->plan->run_params_len; i++) {
            const struct ns_kv *kv = &rt->plan->run_params[i];
            if (i)
                buf_addc(&b, ',');
            buf_add_json_string(&b, kv->name, strlen(kv->name));
            buf_addc(&b, ':');
            buf_add_json_string(&b, kv->value, strlen(kv->value));
        }
        buf_addc(&b, '}');
        params_json = buf_detach(&b);
    }
    char *abs_spec = realpath(rt->spec->path, NULL);
    int rc = -1;
    ns_crashpoint("create.before");
    if (store_begin(&rt->st, err, errlen) != 0)
        goto out;
    if (!rt->opts->rerun) {
        /* Two `run`s of one command at once: the other may have created the
         * run since we looked. The write lock is ours now; look again. */
        sqlite3_stmt *q =
            store_prepare(&rt->st, "SELECT 1 FROM runs WHERE job = ? AND params = ? LIMIT 1");
        sqlite3_bind_text(q, 1, rt->spec->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, params, -1, SQLITE_STATIC);
        bool exists = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
        if (exists) {
            store_rollback(&rt->st);
            rc = 1;
            goto out;
        }
    }
    double now = ns_now();
    sqlite3_stmt *s = store_prepare(
        &rt->st, "INSERT INTO runs(job, params, params_json, spec_path, spec_canon, spec_hash, "
                 "plan_hash, state, concurrency, total, n_pending, created_at, updated_at, token) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, lower(hex(randomblob(8))))");
    sqlite3_bind_text(s, 1, rt->spec->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, params, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, params_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, abs_spec ? abs_spec : rt->spec->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, spec_canon, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, spec_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, plan_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, rt->spec->concurrency);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)rt->plan->len);
    sqlite3_bind_int64(s, 10, (sqlite3_int64)rt->plan->len);
    sqlite3_bind_double(s, 11, now);
    sqlite3_bind_double(s, 12, now);
    int step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        ns_errf(err, errlen, "%s: cannot create the run: %s", rt->st.path,
                sqlite3_errmsg(rt->st.db));
        store_rollback(&rt->st);
        goto out;
    }
    rt->run_id = sqlite3_last_insert_rowid(rt->st.db);
    struct store_parts sp = {
        rt,
        rowbatch_new(rt->st.db,
                     "INSERT INTO partitions(run_id, idx, key, params_json, state, max_attempts)",
                     "(?, ?, ?, ?, 'pending', ?)"),
        NS_BUF_INIT, SQLITE_OK};
    /* The plan is streamed into the table, never held. It was validated
     * before the runtime began (rt->plan is its summary): one pass here. */
    struct ns_diags diags = {0};
    int stopped = 0;
    int streamed = plan_stream_known(rt->spec, rt->opts->given, rt->opts->ngiven, rt->plan,
                                     store_part, &sp, &diags, &stopped);
    if (streamed == 0 && sp.rc == SQLITE_OK)
        sp.rc = rowbatch_flush(sp.rows);
    if (sp.rc != SQLITE_OK) {
        stopped = 1;
        streamed = -1;
    }
    rowbatch_free(sp.rows);
    buf_release(&sp.json);
    diags_release(&diags);
    if (streamed != 0) {
        if (stopped)
            ns_errf(err, errlen, "%s: cannot store partitions: %s", rt->st.path,
                    sqlite3_errmsg(rt->st.db));
        else
            ns_errf(err, errlen, "the plan changed while the run was being created (a keys file "
                                 "or the files matched changed); try again");
        store_rollback(&rt->st);
        goto out;
    }
    rc = store_commit(&rt->st, err, errlen);
    ns_crashpoint("create.after");
out:
    free(params_json);
    free(abs_spec);
    return rc;
}

/* Finds the run to drive. Returns 0 (rt->run_id set, or result->already_succeeded),
 * -1 on error (*refused when it is the user's to fix). */
static int find_or_create_run(struct rt *rt, struct ns_run_result *result, bool *refused, char *err,
                              size_t errlen)
{
    char *params = plan_params_canonical(rt->plan);
    char *canon = spec_canonical(rt->spec);
    char *spec_hash = hex64(ns_hash64(canon, strlen(canon), NS_HASH_SEED));
    char *plan_hash = hex64(rt->plan->hash);
    int rc = -1;

again:
    if (!rt->opts->rerun) {
        sqlite3_stmt *s = store_prepare(
            &rt->st, "SELECT id, state, spec_hash, plan_hash, spec_canon, total FROM runs "
                     "WHERE job = ? AND params = ? ORDER BY id DESC LIMIT 1");
        sqlite3_bind_text(s, 1, rt->spec->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, params, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(s, 0);
            const char *state = (const char *)sqlite3_column_text(s, 1);
            const char *old_spec = (const char *)sqlite3_column_text(s, 2);
            const char *old_plan = (const char *)sqlite3_column_text(s, 3);
            const char *old_canon = (const char *)sqlite3_column_text(s, 4);
            int64_t old_total = sqlite3_column_int64(s, 5);
            result->run_id = id;
            if (strcmp(state, "succeeded") == 0) {
                result->already_succeeded = true;
                snprintf(result->state, sizeof result->state, "succeeded");
                sqlite3_finalize(s);
                rc = 0;
                goto out;
            }
            if (strcmp(old_plan, plan_hash) != 0) {
                struct ns_buf b = NS_BUF_INIT;
                buf_addf(&b,
                         "run %lld: the plan changed since it started (%lld partitions then, "
                         "%zu now, or different keys); finish it with the old spec, or "
                         "start a new run with --rerun",
                         (long long)id, (long long)old_total, rt->plan->len);
                ns_errf(err, errlen, "%s", b.data);
                buf_release(&b);
                *refused = true;
                sqlite3_finalize(s);
                goto out;
            }
            if (strcmp(old_spec, spec_hash) != 0) {
                struct ns_buf b = NS_BUF_INIT;
                diff_lines(&b, old_canon, canon, "  was: ");
                diff_lines(&b, canon, old_canon, "  now: ");
                if (!rt->opts->force) {
                    ns_errf(err, errlen,
                            "run %lld: the spec changed since the run started:\n%s"
                            "resume anyway with --force, or start a new run with --rerun",
                            (long long)id, b.data ? b.data : "");
                    buf_release(&b);
                    *refused = true;
                    sqlite3_finalize(s);
                    goto out;
                }
                /* Written (journal_spec) and recorded once we hold the
                 * lock: a refused run changes nothing. Earlier attempts ran
                 * with the old settings, and the store must say so. */
                rt->forced_changes = buf_detach(&b);
            }
            rt->run_id = id;
            result->resumed = true;
        }
        sqlite3_finalize(s);
    }
    if (!rt->run_id) {
        int created = create_run(rt, params, canon, spec_hash, plan_hash, err, errlen);
        if (created < 0)
            goto out;
        if (created > 0)
            goto again; /* created by a twin meanwhile: resume it (or be refused) */
    }
    result->run_id = rt->run_id;
    rc = 0;
out:
    free(params);
    free(canon);
    free(spec_hash);
    free(plan_hash);
    return rc;
}

static int take_lock(struct rt *rt, bool *refused, char *err, size_t errlen)
{
    char *path = store_lock_path(&rt->st, rt->run_id);
    rt->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (rt->lock_fd < 0) {
        ns_errf(err, errlen, "%s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    free(path);
    if (flock(rt->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        sqlite3_stmt *s = store_prepare(&rt->st, "SELECT runtime_pid FROM runs WHERE id = ?");
        sqlite3_bind_int64(s, 1, rt->run_id);
        long long pid = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_finalize(s);
        ns_errf(err, errlen,
                "run %lld is already being driven by a live runtime (pid %lld); watch it with "
                "'nightshift console %lld'",
                (long long)rt->run_id, pid, (long long)rt->run_id);
        *refused = true;
        return -1;
    }
    return 0;
}

/* The columns part_fill reads, in its order. */
#define PART_COLUMNS                                                                               \
    "idx, state, attempts, attempts_total, progress, total, error_records, checkpoint, "           \
    "checkpoint_progress, checkpoint_err_id, next_attempt_at, started_at, finished_at, "          \
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
    p->attempts = sqlite3_column_int(s, 2);
    p->attempts_total = sqlite3_column_int(s, 3);
    p->max_attempts = rt->spec->retry_attempts;
    p->progress = sqlite3_column_int64(s, 4);
    p->total = sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 5);
    p->errors = sqlite3_column_int64(s, 6);
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
        p->checkpoint_len = (size_t)sqlite3_column_bytes(s, 7);
        p->checkpoint = ns_xstrndup(sqlite3_column_blob(s, 7), p->checkpoint_len);
        p->checkpoint_progress = sqlite3_column_int64(s, 8);
        p->checkpoint_err_id = sqlite3_column_int64(s, 9);
    }
    p->retry_at = sqlite3_column_double(s, 10);
    p->started_at = sqlite3_column_double(s, 11);
    p->finished_at = sqlite3_column_double(s, 12);
    if (sqlite3_column_type(s, 13) != SQLITE_NULL)
        p->last_message = ns_xstrdup((const char *)sqlite3_column_text(s, 13));
    if (sqlite3_column_type(s, 14) != SQLITE_NULL)
        p->last_signature = ns_xstrdup((const char *)sqlite3_column_text(s, 14));
}

static void part_free(struct part *p)
{
    free(p->checkpoint);
    free(p->last_message);
    free(p->last_signature);
    free(p);
}

struct part *rt_part(struct rt *rt, int64_t idx)
{
    struct part *p = part_map_find(&rt->parts, idx);
    if (p)
        return p;
    p = ns_xcalloc(1, sizeof *p);
    p->idx = idx;
    p->state = (enum pstate)rt->pstate[idx];
    p->max_attempts = rt->spec->retry_attempts;
    p->total = -1;
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
    if (p->attempts_total == 0) {
        part_map_insert(&rt->parts, p);
        return p;
    }
    s = rt->part_errors_stmt;
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, rt->run_id);
    sqlite3_bind_int64(s, 2, idx);
    if (sqlite3_step(s) == SQLITE_ROW)
        p->errors = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    part_map_insert(&rt->parts, p);
    return p;
}

/* Drops the partitions that are settled (succeeded, skipped or failed; not
 * live, not queued) once their rows are committed: they are read back if an
 * operator command needs them. Amortised: only when the map has doubled. */
#define EVICT_MIN 4096
static void evict_settled(struct rt *rt)
{
    if (rt->parts.len < rt->evict_at)
        return;
    int64_t *gone = ns_xmalloc(rt->parts.len * sizeof *gone);
    size_t n = 0;
    for (size_t i = 0; i < rt->parts.cap; i++) {
        const struct part *p = rt->parts.slots[i];
        if (p && !p->live && !p->queued &&
            (p->state == P_SUCCEEDED || p->state == P_SKIPPED || p->state == P_FAILED))
            gone[n++] = p->idx;
    }
    for (size_t i = 0; i < n; i++) {
        struct part *p = part_map_find(&rt->parts, gone[i]);
        part_map_remove(&rt->parts, gone[i]);
        part_free(p);
    }
    free(gone);
    rt->evict_at = 2 * rt->parts.len > EVICT_MIN ? 2 * rt->parts.len : EVICT_MIN;
}

/* Reads every partition's state (one byte each in memory) and the run's
 * figures; only the partitions a dead runtime left running or paused, and
 * those waiting to retry, are taken into memory now. */
static int load_partitions(struct rt *rt, char *err, size_t errlen)
{
    rt->nparts = rt->plan->len;
    rt->pstate = ns_xcalloc(rt->nparts ? rt->nparts : 1, 1);
    rt->untouched = ns_xcalloc(rt->nparts / 8 + 1, 1);
    rt->evict_at = EVICT_MIN;
    sqlite3_stmt *s = store_prepare(
        &rt->st, "SELECT idx, state, progress, total, " PART_UNTOUCHED
                 " FROM partitions WHERE run_id = ? ORDER BY idx");
    sqlite3_bind_int64(s, 1, rt->run_id);
    size_t seen = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t idx = sqlite3_column_int64(s, 0);
        if (idx < 0 || (size_t)idx >= rt->nparts)
            continue;
        int st = pstate_from_name((const char *)sqlite3_column_text(s, 1));
        enum pstate state = st < 0 ? P_PENDING : (enum pstate)st;
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

static void live_add(struct rt *rt, struct attempt *a);

/* Where an attempt's log lives: run-N/<idx / 1000>/pIIIIII-aA.log, so no
 * directory holds more than a thousand partitions' logs. The path is
 * recorded with the attempt; the file exists only once the worker printed
 * something (open_attempt_log). */
static char *attempt_log_path(const struct rt *rt, int64_t idx, int n)
{
    return ns_xasprintf("%s/%lld/p%06lld-a%d.log", rt->run_dir, (long long)(idx / 1000),
                        (long long)idx, n);
}

/* Opens the attempt's log: created (with its shard directory) when a fresh
 * attempt prints its first byte, appended to when an adopted attempt
 * continues it. Most attempts of a big run print nothing: no file then. */
static void open_attempt_log(struct attempt *a, bool append)
{
    a->log_pending = false;
    /* Never through a symlink planted in its place (ns_create_file). */
    for (int tries = 0; tries < 2; tries++) {
        a->log_fd = append ? open(a->log_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
                           : ns_create_file(a->log_path, 0600);
        if (a->log_fd >= 0 || errno != ENOENT || append)
            return;
        /* The first log of its shard: make the shard directory. */
        char *dir = ns_xstrdup(a->log_path);
        char *slash = strrchr(dir, '/');
        int made = slash ? (*slash = '\0', mkdir(dir, 0700)) : -1;
        free(dir);
        if (made != 0 && errno != EEXIST)
            return;
    }
}

/* Takes a task the executor re-attached to (recover) back into the loop:
 * the partition keeps running (or stays pending while its task is queued),
 * its reports continue where the dead runtime's committed ones stopped. */
static void adopt_attempt(struct rt *rt, struct attempt *a, int64_t report_offset,
                          int64_t output_offset, const char *log_path)
{
    struct part *p = rt_part(rt, a->idx);
    double now = ns_now();
    report_parser_init(&a->parser);
    a->report_fed = a->report_offset = report_offset;
    a->output_fed = output_offset;
    a->log_bytes = output_offset;
    a->log_path = log_path ? ns_xstrdup(log_path) : attempt_log_path(rt, a->idx, a->n);
    open_attempt_log(a, true);
    /* A task still queued in the backend is not running: its partition
     * waits as pending until `started` (and its clocks start then). */
    a->started = !rt->exops->is_running || rt->exops->is_running(rt->ex, a->task);
    a->started_mono = ns_monotonic() - (now - a->started_wall);
    if (rt->spec->timeout_ms > 0 && a->started)
        a->deadline_mono = a->started_mono + (double)rt->spec->timeout_ms / 1000.0;
    p->live = a;
    enum pstate to = a->started ? P_RUNNING : P_PENDING;
    if (p->state != to)
        rt_set_state(rt, a->idx, to);
    journal_partition(rt->j, a->idx, p);
    live_add(rt, a);
    char label[96];
    rt->exops->describe(rt->ex, a->task, label, sizeof label);
    rt_event(rt, a->idx, a->id, "reconcile",
             "partition %lld [%s]: attempt %d was still known to the executor (%s): adopted",
             (long long)a->idx, part_key(rt, a->idx), a->n, label);
}

/* Ends what a dead runtime left behind and puts interrupted partitions back
 * in the queue. Runs before anything is dispatched. */
static void reconcile(struct rt *rt)
{
    sqlite3_stmt *s = store_prepare(
        &rt->st, "SELECT id, idx, n, executor, locator, started_at, report_offset, output_offset, "
                 "log_path FROM attempts WHERE run_id = ? AND outcome IS NULL");
    sqlite3_bind_int64(s, 1, rt->run_id);
    struct {
        int64_t id, idx, n, report_offset, output_offset;
        char *executor, *locator, *log_path;
        double started;
    } *orphans = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        orphans = ns_xrealloc(orphans, (n + 1) * sizeof *orphans);
        orphans[n].id = sqlite3_column_int64(s, 0);
        orphans[n].idx = sqlite3_column_int64(s, 1);
        orphans[n].n = sqlite3_column_int64(s, 2);
        orphans[n].executor = ns_xstrdup((const char *)sqlite3_column_text(s, 3));
        orphans[n].locator = sqlite3_column_type(s, 4) == SQLITE_NULL
                                 ? NULL
                                 : ns_xstrdup((const char *)sqlite3_column_text(s, 4));
        orphans[n].started = sqlite3_column_double(s, 5);
        orphans[n].report_offset = sqlite3_column_int64(s, 6);
        orphans[n].output_offset = sqlite3_column_int64(s, 7);
        orphans[n].log_path = sqlite3_column_type(s, 8) == SQLITE_NULL
                                  ? NULL
                                  : ns_xstrdup((const char *)sqlite3_column_text(s, 8));
        n++;
    }
    sqlite3_finalize(s);
    double now = ns_now();
    for (size_t i = 0; i < n; i++) {
        int64_t idx = orphans[i].idx;
        enum ns_recover r = NS_RECOVER_GONE;
        struct attempt *a = ns_xcalloc(1, sizeof *a);
        a->id = orphans[i].id;
        a->idx = idx;
        a->n = (int)orphans[i].n;
        a->started_wall = orphans[i].started;
        /* An attempt of another executor (the spec changed under --force)
         * cannot be found by this one: it is gone as far as we can tell. */
        if (strcmp(orphans[i].executor, rt->exops->name) == 0 && idx >= 0 &&
            (size_t)idx < rt->nparts && !rt_part(rt, idx)->live)
            r = rt->exops->recover(rt->ex, orphans[i].locator, a->id, orphans[i].report_offset,
                                   orphans[i].output_offset, a, &a->task);
        if (r == NS_RECOVER_ADOPTED) {
            adopt_attempt(rt, a, orphans[i].report_offset, orphans[i].output_offset,
                          orphans[i].log_path);
            a = NULL;
        } else {
            char msg[160];
            snprintf(msg, sizeof msg, "runtime died during the attempt; %s",
                     r == NS_RECOVER_ENDED ? "its worker was still running and was ended on restart"
                                           : "its worker was already gone");
            journal_attempt_end(rt->j, a, rt->exops->name, now, "interrupted", -1, 0, msg);
            rt_event(rt, idx, a->id, "reconcile", "partition %lld [%s]: attempt %d %s",
                     (long long)idx, part_key(rt, idx), a->n, msg);
            /* Queued when the runtime died (its partition still pending):
             * interrupted like a running one, not counted against it. */
            struct part *qp = idx >= 0 && (size_t)idx < rt->nparts ? rt_part(rt, idx) : NULL;
            if (qp && !qp->live && qp->state == P_PENDING && qp->attempts > 0) {
                qp->attempts--;
                journal_partition(rt->j, idx, qp);
            }
            free(a);
        }
        free(orphans[i].executor);
        free(orphans[i].locator);
        free(orphans[i].log_path);
    }
    free(orphans);
    int strays = rt->exops->end_strays(rt->ex);
    if (strays > 0)
        rt_event(rt, -1, 0, "reconcile", "ended %d leftover process%s of run %lld", strays,
                 strays == 1 ? "" : "es", (long long)rt->run_id);
    for (size_t i = 0; i < rt->nparts; i++) {
        enum pstate st = (enum pstate)rt->pstate[i];
        if (st != P_RUNNING && st != P_PAUSED && !(st == P_FAILED && rt->opts->retry_failed))
            continue;
        struct part *p = rt_part(rt, (int64_t)i);
        if (p->live)
            continue; /* adopted: it runs on */
        if (p->state == P_RUNNING || p->state == P_PAUSED) {
            /* Interrupted through no fault of the worker: the attempt does
             * not count against the partition's budget. */
            if (p->attempts > 0)
                p->attempts--;
            rt_set_state(rt, (int64_t)i, P_PENDING);
            journal_partition(rt->j, (int64_t)i, p);
        } else if (p->state == P_FAILED && rt->opts->retry_failed) {
            p->attempts = 0;
            rt_set_state(rt, (int64_t)i, P_PENDING);
            journal_partition(rt->j, (int64_t)i, p);
            rt_event(rt, (int64_t)i, 0, "partition_state",
                     "partition %lld [%s]: failed -> pending (--retry-failed)", (long long)i,
                     part_key(rt, (int64_t)i));
        }
    }
}

/* ---- launching ---------------------------------------------------------- */

static void push_env(char ***env, size_t *n, char *entry)
{
    *env = ns_xrealloc(*env, (*n + 2) * sizeof **env);
    (*env)[(*n)++] = entry;
    (*env)[*n] = NULL;
}

static void free_strv(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* Frees what build_env made (not the shared run part). */
static void free_env(struct rt *rt, char **env)
{
    if (!env)
        return;
    for (char **p = env + rt->nbase_env; *p; p++)
        free(*p);
    free(env);
}

/* The part of every worker's environment that is the same for the whole
 * run, built once: ours without NIGHTSHIFT_* (a worker of a nested run must
 * not inherit the outer run's identity) and without the names the spec's
 * env sets (those replace ours), then the run's contract variables. */
static void build_base_env(struct rt *rt)
{
    char **env = NULL;
    size_t n = 0;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "NIGHTSHIFT_", 11) == 0)
            continue;
        size_t name_len = strcspn(*e, "=");
        bool replaced = false;
        for (size_t i = 0; i < rt->spec->env_len && !replaced; i++)
            replaced = strlen(rt->spec->env[i].name) == name_len &&
                       memcmp(rt->spec->env[i].name, *e, name_len) == 0;
        if (!replaced)
            push_env(&env, &n, ns_xstrdup(*e));
    }
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_RUN_ID=%lld", (long long)rt->run_id));
    push_env(&env, &n, ns_xstrdup(rt->run_token));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_JOB=%s", rt->spec->name));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_REPORT_FD=%d", NS_REPORT_FD));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_BIN=%s", rt->self_exe));
    push_env(&env, &n, ns_xasprintf("NIGHTSHIFT_DB=%s", rt->st.path));
    rt->base_env = env;
    rt->nbase_env = n;
}

#define ATTEMPT_ENV_VARS 5 /* set by build_env below */

/* Builds one attempt's environment: the run's (build_base_env; shared, not
 * copied), the spec's env, then the attempt's own contract variables and
 * parameters. Free with free_env. */
static char **build_env(struct rt *rt, const struct ns_partition *pp, int attempt_n,
                        const struct part *p, char *err, size_t errlen)
{
    if (!rt->base_env)
        build_base_env(rt);
    int64_t idx = pp->index;
    size_t cap = rt->nbase_env + rt->spec->env_len + ATTEMPT_ENV_VARS + pp->params_len + 1;
    char **env = ns_xcalloc(cap, sizeof *env);
    memcpy(env, rt->base_env, rt->nbase_env * sizeof *env);
    size_t n = rt->nbase_env;
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < rt->spec->env_len; i++) {
        buf_reset(&b);
        if (tmpl_expand(rt->spec->env[i].value, pp->params, pp->params_len, &b, err, errlen) != 0) {
            buf_release(&b);
            free_env(rt, env);
            return NULL;
        }
        env[n++] = ns_xasprintf("%s=%s", rt->spec->env[i].name, b.data ? b.data : "");
    }
    buf_release(&b);
    /* Its own token: what escapes the attempt's group is ended with it. */
    env[n++] = ns_xasprintf("NIGHTSHIFT_ATTEMPT_TOKEN=%s.%lld.%d", strchr(rt->run_token, '=') + 1,
                            (long long)idx, attempt_n);
    env[n++] = ns_xasprintf("NIGHTSHIFT_PARTITION=%lld", (long long)idx);
    env[n++] = ns_xasprintf("NIGHTSHIFT_PARTITION_KEY=%s", pp->key);
    env[n++] = ns_xasprintf("NIGHTSHIFT_ATTEMPT=%d", attempt_n);
    env[n++] = ns_xasprintf("NIGHTSHIFT_CHECKPOINT=%s", p->checkpoint ? p->checkpoint : "");
    for (size_t i = 0; i < pp->params_len; i++) {
        struct ns_buf name = NS_BUF_INIT;
        buf_adds(&name, "NIGHTSHIFT_P_");
        for (const char *c = pp->params[i].name; *c; c++)
            buf_addc(&name, (*c >= 'a' && *c <= 'z') ? (char)(*c - 32) : *c);
        env[n++] = ns_xasprintf("%s=%s", name.data, pp->params[i].value);
        buf_release(&name);
    }
    return env;
}

static char **build_argv(struct rt *rt, const struct ns_partition *pp, char *err, size_t errlen)
{
    char **argv = NULL;
    size_t n = 0;
    if (rt->spec->shell) {
        /* No expansion into shell text (injection); parameters are in the
         * environment as NIGHTSHIFT_P_<NAME>. */
        push_env(&argv, &n, ns_xstrdup("/bin/sh"));
        push_env(&argv, &n, ns_xstrdup("-c"));
        push_env(&argv, &n, ns_xstrdup(rt->spec->command.items[0].text));
        return argv;
    }
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < rt->spec->command.len; i++) {
        buf_reset(&b);
        if (tmpl_expand(rt->spec->command.items[i].text, pp->params, pp->params_len, &b, err,
                        errlen) != 0) {
            buf_release(&b);
            free_strv(argv);
            return NULL;
        }
        push_env(&argv, &n, ns_xstrdup(b.data ? b.data : ""));
    }
    buf_release(&b);
    return argv;
}

static char *build_workdir(struct rt *rt, const struct ns_partition *pp)
{
    if (!rt->spec->workdir.text)
        return ns_xstrdup(rt->spec->dir);
    struct ns_buf b = NS_BUF_INIT;
    char err[256];
    if (tmpl_expand(rt->spec->workdir.text, pp->params, pp->params_len, &b, err, sizeof err) != 0) {
        buf_release(&b);
        return ns_xstrdup(rt->spec->dir);
    }
    char *w = buf_detach(&b);
    if (w[0] != '/') {
        char *abs = ns_xasprintf("%s/%s", rt->spec->dir, w);
        free(w);
        w = abs;
    }
    return w;
}

static void live_add(struct rt *rt, struct attempt *a)
{
    if (rt->nlive == rt->live_cap) {
        rt->live_cap = rt->live_cap ? rt->live_cap * 2 : 8;
        rt->live = ns_xrealloc(rt->live, rt->live_cap * sizeof *rt->live);
    }
    rt->live[rt->nlive++] = a;
}

static void finish_attempt(struct rt *rt, struct attempt *a, const char *spawn_error);

/* Frees what the attempt owns (its parser and log are closed by the caller). */
static void attempt_free(struct attempt *a)
{
    free(a->log_path);
    free(a->cause);
    free(a->tail);
    free(a->locator);
    free(a->key);
    free(a);
}

/* Learns where the attempt's task runs (its locator, and its label). It is
 * stored before the turn commits (store_live_rows) or with the attempt's
 * end, whichever comes first: an attempt that starts and ends within one
 * transaction costs one statement fewer, and what is committed always says
 * where each open attempt runs. */
static void learn_location(struct rt *rt, struct attempt *a, char *locator /* taken */)
{
    free(a->locator);
    a->locator = locator;
    rt->exops->describe(rt->ex, a->task, a->label, sizeof a->label);
    a->located = a->locator != NULL;
    a->location_dirty = true;
}

/* Writes what live attempts deferred (see learn_location, and launch's
 * partition row): before a commit, so what is committed is whole. */
static void store_live_rows(struct rt *rt)
{
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->location_dirty) {
            journal_attempt_locator(rt->j, a->id, rt->exops->name, a->locator,
                                    a->label[0] ? a->label : NULL);
            a->location_dirty = false;
        }
        struct part *p = part_map_find(&rt->parts, a->idx);
        if (p && p->row_dirty) {
            journal_partition(rt->j, a->idx, p);
            p->row_dirty = false;
        }
    }
}

/* After a queueing backend's submission: the locators (Slurm job ids) it
 * has learnt, stored at once, so the console shows them and a restart finds
 * the tasks before they run. */
static void record_new_locators(struct rt *rt)
{
    if (!(rt->exops->caps & NS_EXEC_QUEUES))
        return;
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->located || !a->task)
            continue;
        char *locator = rt->exops->locator(rt->ex, a->task);
        if (locator)
            learn_location(rt, a, locator);
    }
}

static void launch(struct rt *rt, int64_t idx)
{
    struct part *p = rt_part(rt, idx);
    char err[512] = "";
    double now = ns_now();
    int64_t progress_from = p->checkpoint ? p->checkpoint_progress : 0;
    int64_t redone = p->progress > progress_from ? p->progress - progress_from : 0;
    p->attempts++;
    p->attempts_total++;
    /* Resume from the checkpoint: progress and error records past it will be
     * reported again by this attempt, so earlier copies go. */
    /* p->errors counts the partition's stored records: none, nothing to drop. */
    int64_t dropped =
        p->errors > 0
            ? journal_drop_errors_after(rt->j, idx, p->checkpoint ? p->checkpoint_err_id : 0)
            : 0;
    p->errors -= dropped;
    rt->error_records -= dropped;
    if (p->errors < 0)
        p->errors = 0;
    p->last_err_id = p->checkpoint ? p->checkpoint_err_id : 0;
    int64_t new_progress = p->checkpoint ? p->checkpoint_progress : 0;
    rt->records_done += new_progress - p->progress;
    p->progress = new_progress;
    if (!p->checkpoint)
        p->total = p->total >= 0 ? p->total : -1;

    struct attempt *a = ns_xcalloc(1, sizeof *a);
    a->idx = idx;
    a->n = p->attempts_total;
    a->log_fd = -1;
    a->started_wall = now;
    a->started_mono = ns_monotonic();
    report_parser_init(&a->parser);
    a->log_path = attempt_log_path(rt, idx, a->n);
    a->log_pending = true; /* opened on the first output byte */
    a->id = journal_attempt_start(rt->j, idx, a->n, now, a->log_path, p->checkpoint,
                                  p->checkpoint_len, progress_from, redone);
    p->live = a;
    if (!p->started_at)
        p->started_at = now;
    p->finished_at = 0;
    /* A queueing backend's task waits in its queue: the partition stays
     * pending, with its live attempt, until `started`. */
    a->started = !(rt->exops->caps & NS_EXEC_QUEUES);
    if (a->started)
        rt_set_state(rt, idx, P_RUNNING);
    live_add(rt, a);

    struct ns_partition pp;
    char **argv = NULL, **envp = NULL;
    char *workdir = NULL;
    if (part_load(rt, idx, &pp, err, sizeof err) == 0) {
        argv = build_argv(rt, &pp, err, sizeof err);
        envp = argv ? build_env(rt, &pp, a->n, p, err, sizeof err) : NULL;
        workdir = build_workdir(rt, &pp);
        a->key = ns_xstrdup(pp.key);
    }
    part_unload(&pp);
    int rc = -1;
    if (argv && envp) {
        struct ns_launch l = {argv, envp, workdir};
        rc = rt->exops->start(rt->ex, &l, a->id, a, &a->task, err, sizeof err);
    }
    free_strv(argv);
    free_env(rt, envp);
    free(workdir);
    if (rc != 0) {
        a->ended = true;
        finish_attempt(rt, a, err);
        return;
    }
    learn_location(rt, a, rt->exops->locator(rt->ex, a->task));
    if (rt->spec->timeout_ms > 0 && !(rt->exops->caps & NS_EXEC_QUEUES)) /* else on `started` */
        a->deadline_mono = a->started_mono + (double)rt->spec->timeout_ms / 1000.0;
    /* Its row is written before the commit, or with its end if that comes
     * first (one UPDATE for an attempt that starts and ends in one turn). */
    p->row_dirty = true;
    rt_event(rt, idx, a->id, "attempt_start", "partition %lld [%s]: attempt %d started (%s%s)",
             (long long)idx, a->key ? a->key : "?", a->n, a->label,
             p->checkpoint ? ", resuming from checkpoint" : "");
}

/* ---- reports from workers ---------------------------------------------- */

struct report_ctx {
    struct rt *rt;
    struct attempt *a;
    struct part *p; /* a's, looked up once per feed: live parts stay put */
};

static void on_report(void *ctx, const struct ns_report_msg *m)
{
    struct report_ctx *rc = ctx;
    struct rt *rt = rc->rt;
    struct attempt *a = rc->a;
    struct part *p = rc->p;
    switch (m->kind) {
    case NS_REPORT_TOTAL:
        rt->records_total += m->number - (p->total > 0 ? p->total : 0);
        p->total = m->number;
        a->progress_dirty = rt->dirty = true;
        break;
    case NS_REPORT_PROGRESS:
        rt->records_done += m->number - p->progress;
        p->progress = m->number;
        a->progress_dirty = rt->dirty = true;
        break;
    case NS_REPORT_CHECKPOINT:
        set_str(&p->checkpoint, m->text, m->text_len);
        p->checkpoint_len = m->text_len;
        p->checkpoint_progress = p->progress;
        p->checkpoint_err_id = p->last_err_id;
        /* Progress first, so a reader never sees a checkpoint ahead of it. */
        journal_progress(rt->j, a->idx, p);
        journal_checkpoint(rt->j, a->idx, p);
        a->progress_dirty = false;
        a->progress_written_mono = ns_monotonic();
        break;
    case NS_REPORT_ERROR: {
        char sig[SIGNATURE_BUF];
        signature_into(sig, m->text ? m->text : "", m->text_len);
        p->last_err_id = journal_error_record(rt->j, a->idx, a->id, m->key, m->key_len, m->text,
                                              m->text_len, sig, m->payload, m->payload_len);
        p->errors++;
        rt->error_records++;
        a->progress_dirty = rt->dirty = true;
        guard_check_budget(rt); /* a few comparisons: cheap enough per record */
        break;
    }
    case NS_REPORT_LOG: {
        struct ns_buf b = NS_BUF_INIT;
        buf_add(&b, m->key, m->key_len);
        buf_adds(&b, ": ");
        buf_add(&b, m->text, m->text_len);
        set_str(&p->last_message, b.data, b.len);
        a->progress_dirty = true;
        if ((m->key_len == 4 && memcmp(m->key, "warn", 4) == 0) ||
            (m->key_len == 5 && memcmp(m->key, "error", 5) == 0)) {
            journal_event(rt->j, a->idx, a->id, "log", "%s", b.data);
            /* The worker's own words about what went wrong: the failure's
             * cause if the attempt then fails. */
            set_str(&a->cause, m->text, m->text_len > 300 ? 300 : m->text_len);
        }
        buf_release(&b);
        break;
    }
    case NS_REPORT_MALFORMED:
        a->malformed++;
        if (a->malformed <= MAX_MALFORMED_EVENTS) {
            char *raw = escape_dup(m->raw ? m->raw : "", m->raw ? m->raw_len : 0, NS_ESC_ASCII);
            char *why = escape_dup(m->text ? m->text : "", m->text_len, NS_ESC_ASCII);
            journal_event(rt->j, a->idx, a->id, "protocol",
                          "partition %lld attempt %d: ignored a malformed report line (%s): %s",
                          (long long)a->idx, a->n, why, raw);
            free(why);
            free(raw);
            if (a->malformed == MAX_MALFORMED_EVENTS)
                journal_event(rt->j, a->idx, a->id, "protocol",
                              "partition %lld attempt %d: further malformed lines are counted, "
                              "not recorded",
                              (long long)a->idx, a->n);
        }
        break;
    }
}

/* True when the parser holds no part of a message: the bytes fed so far
 * are whole messages, a safe place for an adopted task to resume from. */
static bool parser_at_boundary(const struct ns_report_parser *p)
{
    return p->pending.len == 0 && p->payload_need == 0 && p->skip_payload == 0 &&
           !p->discarding_line;
}

/* Executor event: report bytes from the attempt's worker. */
static void on_report_bytes(void *ctx, void *owner, const char *buf, size_t n)
{
    struct rt *rt = ctx;
    struct attempt *a = owner;
    struct report_ctx rc = {rt, a, rt_part(rt, a->idx)};
    report_parser_feed(&a->parser, buf, n, on_report, &rc);
    a->report_fed += (int64_t)n;
    if (parser_at_boundary(&a->parser))
        a->report_offset = a->report_fed;
    a->offsets_dirty = true;
}

/* Copies worker output into the attempt log. Within log_limit everything is
 * kept; beyond it, the first half goes to the file as it comes and the last
 * half lives in a ring (tail) written when the attempt ends, so the log shows
 * how the worker started and how it ended. Excess is read and counted, never
 * left in the pipe: a flooding worker cannot block. */
static void keep_output(struct rt *rt, struct attempt *a, const char *buf, size_t n)
{
    a->output_fed += (int64_t)n;
    a->offsets_dirty = true;
    int64_t head_cap = rt->spec->log_limit - rt->spec->log_limit / 2;
    size_t tail_cap = (size_t)(rt->spec->log_limit / 2);
    if (n > 0 && a->log_pending)
        open_attempt_log(a, false);
    while (n > 0 && a->log_bytes < head_cap) {
        size_t k = (size_t)(head_cap - a->log_bytes) < n ? (size_t)(head_cap - a->log_bytes) : n;
        if (a->log_fd >= 0) {
            ssize_t w = write(a->log_fd, buf, k);
            (void)w;
        }
        a->log_bytes += (int64_t)k;
        buf += k;
        n -= k;
    }
    if (n == 0 || tail_cap == 0) {
        a->log_dropped += (int64_t)n;
        return;
    }
    if (!a->tail)
        a->tail = ns_xmalloc(tail_cap);
    for (size_t i = 0; i < n; i++) {
        if (a->tail_len == tail_cap)
            a->log_dropped++; /* the oldest tail byte is overwritten */
        else
            a->tail_len++;
        a->tail[a->tail_pos] = buf[i];
        a->tail_pos = (a->tail_pos + 1) % tail_cap;
    }
}

/* Writes the tail ring (oldest first) after the head, with a note if bytes
 * were dropped between them. */
static void flush_tail(struct rt *rt, struct attempt *a)
{
    if (a->log_fd < 0 || !a->tail_len)
        return;
    size_t cap = (size_t)(rt->spec->log_limit / 2);
    if (a->log_dropped > 0) {
        char note[160];
        int m = snprintf(note, sizeof note,
                         "\n[nightshift: %lld bytes of output dropped here: log_limit is %lld "
                         "bytes]\n",
                         (long long)a->log_dropped, (long long)rt->spec->log_limit);
        ssize_t w = write(a->log_fd, note, (size_t)m);
        (void)w;
    }
    size_t start = a->tail_len == cap ? a->tail_pos : 0;
    size_t first = a->tail_len == cap ? cap - start : a->tail_len;
    ssize_t w = write(a->log_fd, a->tail + start, first);
    if (a->tail_len == cap && start > 0)
        w = write(a->log_fd, a->tail, start);
    (void)w;
    a->log_bytes += (int64_t)a->tail_len;
}

/* Executor event: output bytes (stdout and stderr) from the worker. */
static void on_output_bytes(void *ctx, void *owner, const char *buf, size_t n)
{
    keep_output(ctx, owner, buf, n);
}

/* Executor event: a queued attempt now runs (NS_EXEC_QUEUES backends): its
 * partition goes from pending to running, its timeout starts now, and the
 * locator and label (the Slurm job id) are known. */
static void on_started(void *ctx, void *owner)
{
    struct rt *rt = ctx;
    struct attempt *a = owner;
    a->started_mono = ns_monotonic();
    a->started_wall = ns_now(); /* durations count from here, not from the queue */
    if (rt->spec->timeout_ms > 0)
        a->deadline_mono = a->started_mono + (double)rt->spec->timeout_ms / 1000.0;
    if (a->paused_at_mono > 0)
        a->paused_at_mono = a->started_mono; /* held while queued: the clock starts on resume */
    if (a->log_fd < 0 && !a->log_pending) /* a lazy log opens on its first byte */
        open_attempt_log(a, true);
    a->started = true;
    struct part *p = rt_part(rt, a->idx);
    if (p->state == P_PENDING) /* paused (held) ones run on resume */
        rt_set_state(rt, a->idx, P_RUNNING);
    journal_partition(rt->j, a->idx, p);
    if (a->task)
        learn_location(rt, a, rt->exops->locator(rt->ex, a->task));
}

/* Executor event: the attempt ended; the task handle is gone. The loop
 * finishes the attempt after the executor's service() returns. */
static void on_ended(void *ctx, void *owner, const struct ns_exec_end *end)
{
    (void)ctx;
    struct attempt *a = owner;
    a->task = NULL;
    a->ended = true;
    a->end = *end;
}

/* Executor event: words about the backend for the run's events. */
static void on_exec_note(void *ctx, const char *message)
{
    struct rt *rt = ctx;
    rt_event(rt, -1, 0, "executor", "%s", message);
}

static const struct ns_exec_events exec_events = {
    .report = on_report_bytes,
    .output = on_output_bytes,
    .started = on_started,
    .ended = on_ended,
    .note = on_exec_note,
};

/* ---- ending attempts ---------------------------------------------------- */

void rt_end_attempt(struct rt *rt, struct attempt *a, enum ending why)
{
    if (a->ended || a->ending != END_NONE)
        return;
    a->ending = why;
    rt->exops->control(rt->ex, a->task, NS_EXEC_TERMINATE);
    a->paused_at_mono = 0;
    a->kill_at_mono = ns_monotonic() + (double)rt->spec->stop_grace_ms / 1000.0;
}

void rt_pause_workers(struct rt *rt, bool pause)
{
    double now = ns_monotonic();
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->ended || a->ending != END_NONE)
            continue;
        if (pause && a->paused_at_mono == 0) {
            rt->exops->control(rt->ex, a->task, NS_EXEC_PAUSE);
            a->paused_at_mono = now;
            rt_set_state(rt, a->idx, P_PAUSED);
        } else if (!pause && a->paused_at_mono > 0) {
            /* Timeouts do not tick while paused. */
            if (a->deadline_mono > 0)
                a->deadline_mono += now - a->paused_at_mono;
            a->paused_at_mono = 0;
            rt->exops->control(rt->ex, a->task, NS_EXEC_RESUME);
            rt_set_state(rt, a->idx, a->started ? P_RUNNING : P_PENDING); /* released: queued */
        } else {
            continue;
        }
        journal_partition(rt->j, a->idx, rt_part(rt, a->idx));
    }
}

static enum ns_exit_action classify_exit(const struct ns_spec *spec, int code)
{
    for (size_t i = 0; i < spec->on_exit_len; i++)
        if (spec->on_exit[i].code == code)
            return spec->on_exit[i].action;
    return NS_EXIT_RETRY;
}

static void live_remove(struct rt *rt, struct attempt *a)
{
    for (size_t i = 0; i < rt->nlive; i++) {
        if (rt->live[i] == a) {
            rt->live[i] = rt->live[--rt->nlive];
            return;
        }
    }
}

/* The last non-empty line of the worker's output (from the tail ring, or
 * from the head written to the log file when the output was short). */
static char *last_output_line(struct rt *rt, struct attempt *a)
{
    struct ns_buf b = NS_BUF_INIT;
    size_t cap = (size_t)(rt->spec->log_limit / 2);
    if (a->tail_len) {
        size_t start = a->tail_len == cap ? a->tail_pos : 0;
        for (size_t i = 0; i < a->tail_len; i++)
            buf_addc(&b, a->tail[(start + i) % (cap ? cap : 1)]);
    } else if (a->log_path && a->log_bytes > 0) {
        FILE *f = fopen(a->log_path, "rb");
        if (f) {
            long from = a->log_bytes > 4096 ? (long)(a->log_bytes - 4096) : 0;
            char chunk[4096];
            fseek(f, from, SEEK_SET);
            size_t n = fread(chunk, 1, sizeof chunk, f);
            buf_add(&b, chunk, n);
            fclose(f);
        }
    }
    char *line = NULL;
    size_t end = b.len;
    while (end > 0 &&
           (b.data[end - 1] == '\n' || b.data[end - 1] == '\r' || b.data[end - 1] == ' '))
        end--;
    if (end > 0) {
        size_t begin = end;
        while (begin > 0 && b.data[begin - 1] != '\n')
            begin--;
        if (end - begin > 300)
            begin = end - 300;
        line = ns_xstrndup(b.data + begin, end - begin);
    }
    buf_release(&b);
    return line;
}

/* Records why a failed attempt failed, in the partition's last_message and
 * its error signature. The signature keeps the exit code or signal as is
 * (exit 2 and exit 75 are different causes) and adds the masked cause: the
 * worker's last error/warn report, else its last line of output - so
 * "exit 1: connection reset by peer" and "exit 1: disk full" are two groups. */
static void set_failure(struct rt *rt, struct attempt *a, struct part *p, const char *msg, int code,
                        int sig)
{
    char *cause = a->cause ? ns_xstrdup(a->cause) : last_output_line(rt, a);
    struct ns_buf text = NS_BUF_INIT, signature = NS_BUF_INIT;
    buf_adds(&text, msg);
    if (a->ending == END_TIMEOUT || (a->ending == END_NONE && a->end.kind == NS_END_TIMED_OUT))
        buf_adds(&signature, "timed out");
    else if (a->ending == END_NONE &&
             (a->end.kind == NS_END_LOST || a->end.kind == NS_END_CANCELLED))
        buf_adds(&signature, ns_exec_end_name(a->end.kind));
    else if (a->ending == END_KILL)
        buf_adds(&signature, "killed by the operator");
    else if (sig > 0)
        buf_addf(&signature, "signal %d (%s)", sig, strsignal(sig));
    else if (code >= 0)
        buf_addf(&signature, "exit %d", code);
    else
        buf_adds(&signature, "could not start");
    if (cause && *cause) {
        buf_adds(&text, ": ");
        buf_adds(&text, cause);
        /* Workers often name their own partition ("cannot load eu-west"):
         * that is not part of the cause. */
        const char *key = part_key(rt, a->idx);
        size_t klen = strlen(key);
        struct ns_buf unkeyed = NS_BUF_INIT;
        for (const char *c = cause; *c;) {
            bool word_start = c == cause || !isalnum((unsigned char)c[-1]);
            if (klen > 0 && word_start && strncmp(c, key, klen) == 0 &&
                !isalnum((unsigned char)c[klen])) {
                buf_adds(&unkeyed, "<key>");
                c += klen;
            } else {
                buf_addc(&unkeyed, *c++);
            }
        }
        free(cause);
        cause = buf_detach(&unkeyed);
        char *masked = signature_of(cause, strlen(cause));
        buf_adds(&signature, ": ");
        buf_adds(&signature, masked);
        free(masked);
    } else if (code < 0 && sig <= 0 && a->ending == END_NONE) {
        char *masked = signature_of(msg, strlen(msg)); /* spawn errors name the command */
        buf_adds(&signature, ": ");
        buf_adds(&signature, masked);
        free(masked);
    }
    set_str(&p->last_message, text.data, text.len);
    set_str(&p->last_signature, signature.data, signature.len);
    buf_release(&text);
    buf_release(&signature);
    free(cause);
}

static void finish_attempt(struct rt *rt, struct attempt *a, const char *spawn_error)
{
    struct part *p = rt_part(rt, a->idx);
    double now = ns_now();
    char dur[32], msg[512];
    /* The executor delivered everything the worker wrote before `ended`. */
    struct report_ctx ctx = {rt, a, p};
    report_parser_finish(&a->parser, on_report, &ctx);
    report_parser_release(&a->parser);
    if (a->log_fd >= 0) {
        flush_tail(rt, a);
        close(a->log_fd);
    }
    ns_format_duration((int64_t)((now - a->started_wall) * 1000), dur, sizeof dur);

    const char *outcome;
    int code = -1, sig = 0;
    enum ns_exit_action action = NS_EXIT_RETRY;
    bool counts = true; /* against the attempt budget */
    if (spawn_error) {
        outcome = "failed";
        snprintf(msg, sizeof msg, "could not start: %s", spawn_error);
    } else if (a->ending == END_STOP) {
        outcome = "interrupted";
        counts = false;
        snprintf(msg, sizeof msg, "stopped by the operator after %s", dur);
    } else if (a->ending == END_TIMEOUT) {
        outcome = "timed_out";
        char lim[32];
        ns_format_duration(rt->spec->timeout_ms, lim, sizeof lim);
        snprintf(msg, sizeof msg, "timed out after %s", lim);
    } else if (a->ending == END_KILL) {
        outcome = "killed";
        snprintf(msg, sizeof msg, "killed by the operator after %s", dur);
    } else if (a->end.kind == NS_END_EXITED && a->end.code == 0) {
        outcome = "succeeded";
        code = 0;
        snprintf(msg, sizeof msg, "succeeded in %s", dur);
    } else if (a->end.kind == NS_END_EXITED) {
        outcome = "failed";
        code = a->end.code;
        action = classify_exit(rt->spec, code);
        snprintf(msg, sizeof msg, "exit %d after %s", code, dur);
    } else if (a->end.kind == NS_END_SIGNALLED) {
        outcome = "signalled";
        sig = a->end.sig;
        snprintf(msg, sizeof msg, "killed by signal %d (%s) after %s", sig, strsignal(sig), dur);
    } else if (a->end.kind == NS_END_TIMED_OUT) {
        outcome = "timed_out";
        snprintf(msg, sizeof msg, "ended by the executor's time limit after %s%s%s", dur,
                 a->end.detail[0] ? ": " : "", a->end.detail);
    } else {
        /* Cancelled behind our back, node lost, preempted: no outcome of
         * its own; retried per policy from its checkpoint. */
        outcome = "lost";
        snprintf(msg, sizeof msg, "%s after %s%s%s",
                 a->end.kind == NS_END_CANCELLED ? "cancelled outside nightshift" : "lost", dur,
                 a->end.detail[0] ? ": " : "", a->end.detail);
    }
    if (a->ending != END_NONE && a->end.kind == NS_END_EXITED)
        code = a->end.code;
    if (a->ending != END_NONE && a->end.kind == NS_END_SIGNALLED)
        sig = a->end.sig;
    if (a->end.detail[0] && (a->end.kind == NS_END_EXITED || a->end.kind == NS_END_SIGNALLED)) {
        size_t l = strlen(msg); /* what the executor found, e.g. escaped processes it ended */
        snprintf(msg + l, sizeof msg - l, "; %s", a->end.detail);
    }
    if (a->malformed > 0) {
        size_t l = strlen(msg);
        snprintf(msg + l, sizeof msg - l, "; %lld malformed report line%s ignored",
                 (long long)a->malformed, a->malformed == 1 ? "" : "s");
    }
    journal_attempt_end(rt->j, a, rt->exops->name, now, outcome, code, sig, msg);

    bool succeeded = strcmp(outcome, "succeeded") == 0;
    enum pstate to;
    char next[128] = "";
    if (succeeded) {
        to = P_SUCCEEDED;
        p->finished_at = now;
    } else if (p->skip_when_done) {
        to = P_SKIPPED;
        p->finished_at = now;
        snprintf(next, sizeof next, "; partition skipped by the operator");
    } else if (!counts) {
        p->attempts--;
        to = P_PENDING;
    } else {
        set_failure(rt, a, p, msg, code, sig);
        if (action == NS_EXIT_RETRY && p->attempts < p->max_attempts) {
            int64_t delay = runtime_backoff_ms(rt->spec, p->attempts + 1, rng_unit(rt));
            p->retry_at = now + (double)delay / 1000.0;
            to = P_RETRY_WAIT;
            rt_wait_retry(rt, a->idx);
            char d[32];
            snprintf(next, sizeof next, "; retry %d/%d in %s", p->attempts + 1, p->max_attempts,
                     ns_format_duration(delay, d, sizeof d));
        } else {
            to = P_FAILED;
            p->finished_at = now;
            snprintf(next, sizeof next, "; %s",
                     action == NS_EXIT_FAIL   ? "on_exit says fail: partition failed"
                     : action == NS_EXIT_HALT ? "on_exit says halt: partition failed, run halted"
                                              : "no attempts left: partition failed");
        }
    }
    p->live = NULL;
    p->skip_when_done = false;
    rt_set_state(rt, a->idx, to);
    journal_partition(rt->j, a->idx, p);
    p->row_dirty = false;
    rt_event(rt, a->idx, a->id, "attempt_end", "partition %lld [%s]: attempt %d %s%s",
             (long long)a->idx, a->key ? a->key : part_key(rt, a->idx), a->n,
             !succeeded && counts && p->last_message ? p->last_message : msg, next);
    if (to == P_PENDING && rt->state != RS_STOPPING)
        rt_requeue(rt, a->idx);
    if (!succeeded && counts && action == NS_EXIT_HALT && rt->state == RS_RUNNING) {
        char reason[128];
        snprintf(reason, sizeof reason, "partition %lld exited %d, which on_exit maps to halt",
                 (long long)a->idx, code);
        rt_set_run_state(rt, RS_HALTED, reason);
        hooks_fire(rt, NS_HOOK_HALT);
    }
    if (to == P_FAILED)
        guard_check_budget(rt); /* before anything else is dispatched */
    live_remove(rt, a);
    attempt_free(a);
}

/* ---- the loop ----------------------------------------------------------- */

static int64_t next_dispatchable(struct rt *rt)
{
    while (rt->requeue_head < rt->nrequeue) {
        int64_t idx = rt->requeue[rt->requeue_head++];
        if (rt->requeue_head == rt->nrequeue)
            rt->requeue_head = rt->nrequeue = 0;
        struct part *p = rt_part(rt, idx);
        p->queued = false;
        if (p->state == P_PENDING && !p->live)
            return idx;
    }
    /* Next in line: the state bytes, no struct part until it is chosen. */
    while (rt->cursor < rt->nparts) {
        size_t i = rt->cursor++;
        if (rt->pstate[i] == P_PENDING) {
            const struct part *p = part_map_find(&rt->parts, (int64_t)i);
            if (!p || !p->live)
                return (int64_t)i;
        }
    }
    return -1;
}

/* Partitions in retry_wait are kept in a short list (rt->waiting) so that a
 * run of 100 000 partitions does not scan them all on every turn. Entries
 * whose partition left retry_wait (an operator retried or skipped it) are
 * dropped here. */
void rt_wait_retry(struct rt *rt, int64_t idx)
{
    if (rt->nwaiting == rt->waiting_cap) {
        rt->waiting_cap = rt->waiting_cap ? rt->waiting_cap * 2 : 16;
        rt->waiting = ns_xrealloc(rt->waiting, rt->waiting_cap * sizeof *rt->waiting);
    }
    rt->waiting[rt->nwaiting++] = idx;
}

static void promote_retries(struct rt *rt, double now)
{
    for (size_t i = 0; i < rt->nwaiting;) {
        int64_t idx = rt->waiting[i];
        struct part *p = rt_part(rt, idx);
        if (p->state == P_RETRY_WAIT && p->retry_at > now) {
            i++;
            continue;
        }
        if (p->state == P_RETRY_WAIT) {
            rt_set_state(rt, idx, P_PENDING);
            journal_partition(rt->j, idx, p);
            rt_requeue(rt, idx);
        }
        rt->waiting[i] = rt->waiting[--rt->nwaiting];
    }
}

static double next_retry_at(const struct rt *rt)
{
    double best = 0;
    for (size_t i = 0; i < rt->nwaiting; i++) {
        const struct part *p = part_map_find(&rt->parts, rt->waiting[i]);
        if (p && p->state == P_RETRY_WAIT && (best == 0 || p->retry_at < best))
            best = p->retry_at;
    }
    return best;
}

/* Backends that queue (NS_EXEC_QUEUES: Slurm throttles the arrays itself)
 * get up to QUEUE_AHEAD partitions queued ahead of what runs, the memory
 * bound of what is "next in line". The next ones (more partitions,
 * retries) go out in one submission as soon as fewer than QUEUE_LOW are
 * still queued, so Slurm's queue never runs dry; the executor keeps the
 * arrays together within `concurrency`. */
#define QUEUE_AHEAD 1000
#define QUEUE_LOW (QUEUE_AHEAD / 4)

static void dispatch(struct rt *rt)
{
    if (journal_waiting(rt->j))
        return; /* an attempt needs its row now; the lock is another's */
    size_t limit = (size_t)rt->concurrency;
    if (rt->exops->caps & NS_EXEC_QUEUES) {
        size_t queued = 0;
        for (size_t i = 0; i < rt->nlive; i++)
            queued += !rt->live[i]->started;
        limit = queued < QUEUE_LOW ? rt->nlive - queued + QUEUE_AHEAD : 0;
    }
    while (rt->state == RS_RUNNING && rt->nlive < limit) {
        int64_t idx = next_dispatchable(rt);
        if (idx < 0)
            return;
        if (!journal_ready(rt->j)) {
            rt_requeue(rt, idx); /* launched once another process's write lock frees */
            return;
        }
        launch(rt, idx);
    }
}

/* The runtime's own children: hooks, the executor's (local workers, or the
 * commands a cluster executor runs), and orphaned grandchildren reparented
 * to us as the subreaper. The runtime process reaps them all in one place. */
/* Unclaimed children are orphaned grandchildren: exec_reap_children reaps
 * them all the same. */
static bool claim_child(void *ctx, int pid, int status)
{
    struct rt *rt = ctx;
    if (hooks_reaped(rt, pid, status))
        return true;
    return rt->exops->child_exited && rt->exops->child_exited(rt->ex, pid, status);
}

static void reap(struct rt *rt)
{
    exec_reap_children(claim_child, rt);
}

void rt_request_stop(struct rt *rt, bool now)
{
    if (now) {
        rt->stop_now = true;
        for (size_t i = 0; i < rt->nlive; i++) {
            struct attempt *a = rt->live[i];
            if (a->ending == END_NONE)
                a->ending = END_STOP;
            if (!a->ended)
                rt->exops->control(rt->ex, a->task, NS_EXEC_KILL);
        }
    }
    if (rt->state == RS_STOPPING)
        return;
    rt_set_run_state(rt, RS_STOPPING, now ? "stop now requested" : "graceful stop requested");
    for (size_t i = 0; i < rt->nlive; i++)
        rt_end_attempt(rt, rt->live[i], END_STOP);
}

static void handle_signals(struct rt *rt)
{
    struct signalfd_siginfo si;
    while (read(rt->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            break; /* reap() below */
        case SIGINT:
        case SIGTERM: {
            bool again = rt->state == RS_STOPPING;
            rt_event(rt, -1, 0, "signal", "runtime got %s: %s", strsignal((int)si.ssi_signo),
                     again ? "stopping now (SIGKILL to workers)"
                           : "stopping gracefully (send it again to stop now)");
            rt_request_stop(rt, again);
            break;
        }
        case SIGHUP:
            rt->tty_gone = true;
            journal_event(rt->j, -1, 0, "signal", "terminal hung up; the run goes on");
            break;
        }
    }
    reap(rt);
}

static void check_deadlines(struct rt *rt)
{
    double now = ns_monotonic();
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->ended)
            continue;
        if (a->ending == END_NONE && a->deadline_mono > 0 && a->paused_at_mono == 0 &&
            now >= a->deadline_mono)
            rt_end_attempt(rt, a, END_TIMEOUT);
        if (a->kill_at_mono > 0 && now >= a->kill_at_mono) {
            rt->exops->control(rt->ex, a->task, NS_EXEC_KILL);
            a->kill_at_mono = 0;
        }
    }
}

static int64_t done_count(const struct rt *rt)
{
    return rt->counts[P_SUCCEEDED] + rt->counts[P_FAILED] + rt->counts[P_SKIPPED];
}

/* Recent partitions/s over the last ~30 s of one-second samples. */
static double recent_rate(struct rt *rt, double now_mono, bool sample)
{
    int64_t done = done_count(rt);
    if (sample) {
        if (rt->rate_n == (int)NS_ARRAY_LEN(rt->rate_t)) {
            memmove(rt->rate_t, rt->rate_t + 1, sizeof rt->rate_t - sizeof rt->rate_t[0]);
            memmove(rt->rate_done, rt->rate_done + 1,
                    sizeof rt->rate_done - sizeof rt->rate_done[0]);
            rt->rate_n--;
        }
        rt->rate_t[rt->rate_n] = now_mono;
        rt->rate_done[rt->rate_n] = done;
        rt->rate_n++;
    }
    if (rt->rate_n < 1)
        return 0;
    double dt = now_mono - rt->rate_t[0];
    if (dt < 0.5)
        return 0;
    return (double)(done - rt->rate_done[0]) / dt;
}

/* When the run will end, by the one projection every reader shows
 * (query_project): nothing while it does not dispatch, else from the recent
 * rate, else from the share of work done (running partitions' progress
 * included). 0 when unknown. */
static double projected_finish(const struct rt *rt, double rate, double now)
{
    struct ns_projection_in in = {
        .total = (int64_t)rt->nparts,
        .done = done_count(rt),
        .rate = rate,
        .elapsed_s = now - rt->start_wall,
        .dispatching = rt->state == RS_RUNNING,
    };
    for (size_t i = 0; i < rt->nlive; i++) {
        const struct part *p = part_map_find(&rt->parts, rt->live[i]->idx); /* live: held */
        if (!p)
            continue;
        if (p->total > 0)
            in.partial += fmin(1.0, (double)p->progress / (double)p->total);
    }
    return query_project(&in, now);
}

static void fill_counts(struct rt *rt, struct ns_counts *c, double rate, double finish, double now)
{
    memset(c, 0, sizeof *c);
    c->total = (int64_t)rt->nparts;
    c->pending = rt->counts[P_PENDING];
    c->running = rt->counts[P_RUNNING];
    c->retry_wait = rt->counts[P_RETRY_WAIT];
    c->paused = rt->counts[P_PAUSED];
    c->succeeded = rt->counts[P_SUCCEEDED];
    c->failed = rt->counts[P_FAILED];
    c->skipped = rt->counts[P_SKIPPED];
    c->records_done = rt->records_done;
    c->error_records = rt->error_records;
    c->elapsed_s = ns_monotonic() - rt->start_mono;
    c->rate = rate;
    c->eta_s = finish > 0 ? finish - now : -1;
    c->state = run_state_names[rt->state];
}

static void periodic(struct rt *rt, bool force)
{
    double now_mono = ns_monotonic();
    double now = ns_now();
    /* Coalesced progress: a few writes per second per partition at most. */
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        if (a->progress_dirty &&
            (force || now_mono - a->progress_written_mono >= PROGRESS_WRITE_S)) {
            journal_progress(rt->j, a->idx, rt_part(rt, a->idx));
            a->progress_dirty = false;
            a->progress_written_mono = now_mono;
        }
        /* Every turn, with what they produced: an adopted task must resume
         * exactly after the reports whose records were committed. */
        if (a->offsets_dirty && (rt->exops->caps & NS_EXEC_CAN_ADOPT))
            journal_attempt_offsets(rt->j, a->id, a->report_offset, a->output_fed);
        a->offsets_dirty = false;
    }
    bool beat = force || now_mono - rt->last_heartbeat >= HEARTBEAT_S;
    double rate = recent_rate(rt, now_mono, beat);
    if (beat) {
        rt->last_heartbeat = now_mono;
        journal_heartbeat(rt->j, now, (int)getpid());
    }
    if (force || now_mono - rt->last_tick >= TICK_S) {
        rt->last_tick = now_mono;
        rt->projected_finish = projected_finish(rt, rate, now);
        struct ns_counts c;
        fill_counts(rt, &c, rate, rt->projected_finish, now);
        double record_rate = query_record_rate(rt->records_done, rt->records_at_start, c.elapsed_s);
        /* Idle runs (paused, waiting) write once a second, with the beat. */
        if (rt->dirty || beat) {
            journal_run_counters(rt->j, rt, rate, record_rate, rt->projected_finish);
            rt->dirty = false;
        }
        guard_check_budget(rt);
        guard_check_sla(rt, rt->projected_finish, false);
        if (rt->opts->on_tick && !rt->tty_gone)
            rt->opts->on_tick(rt->opts->ctx, &c);
    }
    if (force || now_mono - rt->last_sample >= SAMPLE_S) {
        rt->last_sample = now_mono;
        journal_sample(rt->j, now, done_count(rt), rt->records_done, rt->counts[P_FAILED]);
    }
    if (rt->metrics_path && (force || now_mono - rt->last_metrics >= rt->metrics_every)) {
        rt->last_metrics = now_mono;
        char err[512];
        store_live_rows(rt); /* read back below, as committed rows would say */
        journal_flush_all(rt->j);
        int rc = metrics_write_textfile(&rt->st, rt->run_id, rt->metrics_path, err, sizeof err);
        /* A big run's figures cost more to read: never spend over 5 % of
         * the loop's time on them. */
        rt->metrics_every = fmax(METRICS_S, 20 * (ns_monotonic() - now_mono));
        if (rc != 0) {
            if (!rt->metrics_failed)
                rt_event(rt, -1, 0, "metrics", "metrics textfile not written: %s", err);
            rt->metrics_failed = true;
        } else {
            rt->metrics_failed = false;
        }
    }
}

/* The textfile's path: --metrics-textfile, else metrics.textfile expanded
 * with the run parameters, relative to the spec's directory. */
static char *metrics_path(const struct rt *rt)
{
    if (rt->opts->metrics_textfile)
        return ns_xstrdup(rt->opts->metrics_textfile);
    if (!rt->spec->metrics_textfile.text)
        return NULL;
    struct ns_buf b = NS_BUF_INIT;
    char err[256];
    if (tmpl_expand(rt->spec->metrics_textfile.text, rt->plan->run_params, rt->plan->run_params_len,
                    &b, err, sizeof err) != 0) {
        buf_release(&b);
        return NULL; /* validate checked the placeholders */
    }
    char *p = b.data && b.data[0] == '/'
                  ? ns_xstrdup(b.data)
                  : ns_xasprintf("%s/%s", rt->spec->dir, b.data ? b.data : "");
    buf_release(&b);
    return p;
}

static bool finished(struct rt *rt)
{
    if (rt->nlive > 0)
        return false;
    if (rt->state == RS_STOPPING)
        return true;
    if (rt->state != RS_RUNNING)
        return false; /* paused or halted: wait for the operator */
    return rt->counts[P_PENDING] == 0 && rt->counts[P_RETRY_WAIT] == 0;
}

/* Seconds until periodic() has work that is due: coalesced progress, the
 * heartbeat, and the counters tick while something runs. An idle runtime
 * (paused, waiting for the operator) wakes only for the heartbeat. */
static double periodic_due(const struct rt *rt, double now_mono)
{
    double due = rt->last_heartbeat + HEARTBEAT_S;
    bool active = rt->dirty;
    for (size_t i = 0; i < rt->nlive; i++) {
        const struct attempt *a = rt->live[i];
        if (a->progress_dirty)
            due = fmin(due, a->progress_written_mono + PROGRESS_WRITE_S);
        if (a->paused_at_mono == 0)
            active = true;
    }
    if (active)
        due = fmin(due, rt->last_tick + TICK_S);
    return due - now_mono;
}

/* Ends the turn's transaction; verdicts in it are then announced (wake.h).
 * wait: if another process holds the write lock, wait for it (the end of
 * the run); else the writes stay queued until a later turn (the loop). */
static int commit_turn(struct rt *rt, bool wait, char *err, size_t errlen)
{
    store_live_rows(rt);
    if ((wait ? journal_commit : journal_try_commit)(rt->j, err, errlen) != 0)
        return -1;
    if (journal_waiting(rt->j))
        return 0; /* the verdicts are announced once committed */
    if (rt->verdicts && rt->waiters_dir)
        wake_poke_all(rt->waiters_dir);
    rt->verdicts = false;
    evict_settled(rt); /* their rows are committed now */
    return 0;
}

static void poll_commands(struct rt *rt, bool force)
{
    if (journal_waiting(rt->j)) {
        /* A verdict must be committed before the command is seen again; a
         * hint that came meanwhile is kept for when the lock is ours. */
        rt->commands_due |= force;
        return;
    }
    force |= rt->commands_due;
    rt->commands_due = false;
    double now = ns_monotonic();
    if (!force && now - rt->last_cmd_poll < rt->command_poll_s)
        return;
    rt->last_cmd_poll = now;
    /* data_version changes only when another connection commits: a cheap
     * test before looking at the commands table. */
    sqlite3_stmt *s = store_prepare(&rt->st, "PRAGMA data_version");
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (!force && v == rt->data_version)
        return;
    rt->data_version = v;
    apply_pending_commands(rt);
}

static int loop(struct rt *rt, char *err, size_t errlen)
{
    struct pollfd *pfd = NULL;
    size_t pfd_cap = 0;
    bool quiet = true; /* the last poll timed out: nothing is pouring in */
    for (;;) {
        promote_retries(rt, ns_now());
        dispatch(rt);
        if (rt->exops->flush(rt->ex, err, errlen) != 0)
            rt_event(rt, -1, 0, "executor", "%s executor: %s", rt->exops->name, err);
        record_new_locators(rt);
        periodic(rt, false);
        /* Group commit: while events pour in, turns share one transaction
         * for up to COMMIT_DELAY_S (one commit, not one per finished
         * attempt); a quiet turn, a verdict a client waits for, or the end
         * commits at once. Each transaction is still all or nothing, so a
         * crash loses at most that much recent work, which runs again. */
        bool done = finished(rt);
        if (done && journal_waiting(rt->j)) {
            done = false; /* end only once the turn's writes are ours (and looked at) */
        } else if (done) {
            /* A command that came since the last look (a retry) may give
             * the run more to do: one last look before it ends. */
            poll_commands(rt, true);
            done = finished(rt);
        }
        double since = journal_open_since(rt->j);
        if (done || quiet || rt->verdicts || journal_waiting(rt->j) ||
            (since > 0 && ns_monotonic() - since >= COMMIT_DELAY_S)) {
            if (commit_turn(rt, false, err, errlen) != 0)
                goto fail;
        }
        if (done)
            break;

        /* Wait for the nearest of: a pipe, a signal, a hint, a deadline. */
        size_t ex_n = rt->exops->pollfds(rt->ex, NULL, 0);
        size_t need = 2 + ex_n + rt->nhooks;
        if (need > pfd_cap) {
            pfd_cap = need * 2;
            pfd = ns_xrealloc(pfd, pfd_cap * sizeof *pfd);
        }
        size_t n = 0;
        pfd[n++] = (struct pollfd){rt->sigfd, POLLIN, 0};
        size_t ex_at = n;
        n += rt->exops->pollfds(rt->ex, pfd + ex_at, ex_n);
        size_t wake_at = n;
        pfd[n++] = (struct pollfd){rt->wake_fd, POLLIN, 0}; /* fd -1: ignored */
        size_t hook_at = n;
        n += hooks_pollfds(rt, pfd + hook_at);
        double now_mono = ns_monotonic();
        double wait = fmin(rt->command_poll_s, periodic_due(rt, now_mono));
        double ex_wake = rt->exops->next_wakeup(rt->ex);
        if (ex_wake > 0)
            wait = fmin(wait, ex_wake - now_mono);
        since = journal_open_since(rt->j);
        if (since > 0)
            wait = fmin(wait, since + COMMIT_DELAY_S - now_mono);
        double hook_deadline = hooks_next_deadline(rt);
        if (hook_deadline > 0)
            wait = fmin(wait, hook_deadline - now_mono);
        for (size_t i = 0; i < rt->nlive; i++) {
            struct attempt *a = rt->live[i];
            if (a->deadline_mono > 0 && a->paused_at_mono == 0 && a->ending == END_NONE)
                wait = fmin(wait, a->deadline_mono - now_mono);
            if (a->kill_at_mono > 0)
                wait = fmin(wait, a->kill_at_mono - now_mono);
        }
        if (journal_waiting(rt->j))
            wait = fmin(wait, 0.05); /* retry the write lock soon */
        double retry = next_retry_at(rt);
        if (retry > 0)
            wait = fmin(wait, retry - ns_now());
        int timeout_ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
        int rc = poll(pfd, n, timeout_ms);
        quiet = rc == 0;
        if (rc < 0 && errno != EINTR) {
            ns_errf(err, errlen, "poll: %s", strerror(errno));
            goto fail;
        }
        if (rc < 0)
            for (size_t i = 0; i < n; i++)
                pfd[i].revents = 0;
        if (rc > 0 && pfd[0].revents)
            handle_signals(rt);
        reap(rt);
        rt->exops->service(rt->ex, pfd + ex_at, wake_at - ex_at, &exec_events, rt);
        hooks_service(rt, pfd + hook_at, rc > 0 ? n - hook_at : 0);
        for (size_t i = 0; i < rt->nlive;) {
            if (rt->live[i]->ended)
                finish_attempt(rt, rt->live[i], NULL); /* swaps the last into i */
            else
                i++;
        }
        check_deadlines(rt);
        bool hinted = rc > 0 && pfd[wake_at].revents;
        if (hinted)
            wake_drain(rt->wake_fd);
        poll_commands(rt, hinted);
    }
    free(pfd);
    return 0;
fail:
    free(pfd);
    return -1;
}

/* ---- entry point --------------------------------------------------------- */


/* The store failed for good (disk full, I/O error): nothing more can be
 * recorded, so no worker may go on unrecorded. Each is ended (SIGTERM, then
 * SIGKILL after stop_grace, its group and everything with the run token);
 * their attempts stay open in the store, and the next `run` reconciles
 * them as interrupted and resumes from the last committed checkpoints. */
static void abandon_workers(struct rt *rt, char *err, size_t errlen)
{
    size_t n = rt->nlive;
    for (size_t i = 0; i < rt->nlive; i++)
        rt->exops->control(rt->ex, rt->live[i]->task, NS_EXEC_TERMINATE);
    rt->exops->end_strays(rt->ex); /* waits stop_grace, then kills */
    for (size_t i = 0; i < rt->nlive; i++) {
        struct attempt *a = rt->live[i];
        rt->exops->control(rt->ex, a->task, NS_EXEC_KILL);
        report_parser_release(&a->parser);
        if (a->log_fd >= 0)
            close(a->log_fd);
        attempt_free(a);
    }
    rt->nlive = 0;
    exec_reap_leftovers(2.0); /* bounded: everything of the run was killed already */
    size_t len = strlen(err);
    if (n > 0 && len + 1 < errlen)
        snprintf(err + len, errlen - len,
                 "\nthe run's %zu running attempt%s ended first; 'nightshift run' again "
                 "resumes from the last committed checkpoints",
                 n, n == 1 ? " was" : "s were");
}

static void rt_release(struct rt *rt)
{
    part_map_release(&rt->parts, part_free);
    free(rt->pstate);
    free(rt->untouched);
    free(rt->live);
    free(rt->requeue);
    free(rt->waiting);
    free(rt->run_dir);
    free(rt->metrics_path);
    free(rt->waiters_dir);
    free(rt->key_text);
    sqlite3_finalize(rt->key_stmt);
    sqlite3_finalize(rt->params_stmt);
    sqlite3_finalize(rt->part_stmt);
    sqlite3_finalize(rt->part_errors_stmt);
    if (rt->wake_fd >= 0)
        close(rt->wake_fd);
    free_strv(rt->base_env);
    free(rt->self_exe);
    free(rt->run_token);
    free(rt->file_token);
    free(rt->forced_changes);
    free(rt->state_reason);
    free(rt->sla_state);
    free(rt->hooks);
    checkpointer_stop(rt->checkpointer);
    journal_free(rt->j);
    if (rt->ex)
        rt->exops->close(rt->ex);
    if (rt->sigfd >= 0)
        close(rt->sigfd);
    if (rt->lock_fd >= 0)
        close(rt->lock_fd);
    store_close(&rt->st);
}

int runtime_run(const struct ns_spec *spec, const struct ns_plan *plan, const char *db_path,
                const struct ns_runtime_opts *opts, struct ns_run_result *result, bool *refused,
                char *err, size_t errlen)
{
    struct rt rt_storage = {0}, *rt = &rt_storage;
    int rc = -1;
    memset(result, 0, sizeof *result);
    *refused = false;
    rt->spec = spec;
    rt->plan = plan;
    rt->opts = opts;
    rt->lock_fd = rt->sigfd = rt->wake_fd = -1;
    rt->concurrency = spec->concurrency;
    rt->exops = executor_find(spec->executor);
    rt->start_mono = ns_monotonic();
    rt->start_wall = ns_now();
    rt->rng = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(rt->start_wall * 1e6);
    if (!rt->rng)
        rt->rng = 1;
    rt->self_exe = realpath("/proc/self/exe", NULL);
    if (!rt->self_exe)
        rt->self_exe = ns_xstrdup("nightshift");

    if (store_open(&rt->st, db_path, NS_STORE_WRITER, err, errlen) != 0)
        goto out;
    if (spec->durability_full && store_exec(&rt->st, "PRAGMA synchronous=FULL", err, errlen) != 0)
        goto out;
    if (find_or_create_run(rt, result, refused, err, errlen) != 0)
        goto out;
    if (result->already_succeeded) {
        rc = 0;
        goto out;
    }
    if (take_lock(rt, refused, err, errlen) != 0)
        goto out;
    rt->checkpointer = checkpointer_start(&rt->st);
    {
        /* `gc` deletes a finished run under its lock: one it took between
         * our lookup and our lock is gone now. */
        sqlite3_stmt *q = store_prepare(&rt->st, "SELECT token FROM runs WHERE id = ?");
        sqlite3_bind_int64(q, 1, rt->run_id);
        bool exists = sqlite3_step(q) == SQLITE_ROW;
        if (exists && sqlite3_column_type(q, 0) == SQLITE_TEXT)
            rt->file_token = ns_xstrdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
        if (!exists) {
            ns_errf(err, errlen, "run %lld was deleted (nightshift gc) as it was resumed; run again",
                    (long long)rt->run_id);
            *refused = true;
            goto out;
        }
    }
    {
        /* Commands recorded before we held the lock were meant for a runtime
         * that is gone; clients that saw us alive write ids above this. */
        sqlite3_stmt *q =
            store_prepare(&rt->st, "SELECT coalesce(max(id), 0) FROM commands WHERE run_id = ?");
        sqlite3_bind_int64(q, 1, rt->run_id);
        rt->stale_cmd_max = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_finalize(q);
    }
    {
        /* Run ids repeat across databases, and within one (gc of the
         * newest run, a database made anew at the same path): the token
         * names the database, the run and the run's random token. Only a
         * run made before schema 4 has none. */
        char *real = realpath(rt->st.path, NULL);
        const char *p = real ? real : rt->st.path;
        rt->run_token = ns_xasprintf("NIGHTSHIFT_RUN_TOKEN=%016llx.%lld%s%s",
                                     (unsigned long long)ns_hash64(p, strlen(p), NS_HASH_SEED),
                                     (long long)rt->run_id, rt->file_token ? "." : "",
                                     rt->file_token ? rt->file_token : "");
        free(real);
    }
    rt->run_dir = store_make_run_dir(&rt->st, rt->run_id, result->resumed ? NULL : rt->file_token,
                                     err, errlen);
    if (!rt->run_dir)
        goto out;
    rt->metrics_path = metrics_path(rt);
    rt->key_stmt =
        store_prepare(&rt->st, "SELECT key FROM partitions WHERE run_id = ?1 AND idx = ?2");
    rt->part_stmt = store_prepare(&rt->st, "SELECT " PART_COLUMNS " FROM partitions "
                                           "WHERE run_id = ?1 AND idx = ?2");
    rt->part_errors_stmt = store_prepare(
        &rt->st, "SELECT count(*) FROM error_records WHERE run_id = ?1 AND idx = ?2");
    rt->params_stmt = store_prepare(
        &rt->st, "SELECT j.key, j.value FROM partitions p, json_each(p.params_json) j "
                 "WHERE p.run_id = ?1 AND p.idx = ?2 ORDER BY j.id");
    if (load_partitions(rt, err, errlen) != 0)
        goto out;
    {
        /* Hints (wake.h); without them the command poll still works. */
        char *wake = wake_path(&rt->st, rt->run_id, WAKE_COMMANDS);
        rt->wake_fd = wake_listen(wake);
        /* Commands arrive with a hint; the poll only covers a lost one. */
        rt->command_poll_s = wake_poll_interval();
        free(wake);
        rt->waiters_dir = wake_path(&rt->st, rt->run_id, WAKE_WAITERS);
    }

    /* Signals become readable events; children get a clean mask (exec.c). */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    rt->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (rt->sigfd < 0) {
        ns_errf(err, errlen, "signalfd: %s", strerror(errno));
        goto out;
    }
    exec_become_subreaper();

    rt->j = journal_new(&rt->st, rt->run_id);
    if (rt->forced_changes) {
        char *canon = spec_canonical(spec);
        char *hash = hex64(ns_hash64(canon, strlen(canon), NS_HASH_SEED));
        char *abs_spec = realpath(spec->path, NULL);
        journal_spec(rt->j, canon, hash, spec->concurrency, abs_spec); /* the new spec's */
        free(abs_spec);
        free(hash);
        free(canon);
    } else {
        sqlite3_stmt *s = store_prepare(&rt->st, "SELECT concurrency FROM runs WHERE id = ?");
        sqlite3_bind_int64(s, 1, rt->run_id);
        if (result->resumed && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) > 0)
            rt->concurrency = sqlite3_column_int(s, 0); /* an operator's `set` survives */
        sqlite3_finalize(s);
    }
    bool ended_before = false; /* its end hooks fired when it ended */
    {
        sqlite3_stmt *q =
            store_prepare(&rt->st, "SELECT finished_at IS NOT NULL FROM runs WHERE id = ?");
        sqlite3_bind_int64(q, 1, rt->run_id);
        ended_before = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    {
        struct ns_exec_config cfg = {
            .db_path = rt->st.path,
            .run_dir = rt->run_dir,
            .run_token = rt->run_token,
            .run_id = rt->run_id,
            .stop_grace_ms = spec->stop_grace_ms,
            .concurrency = rt->concurrency,
            .backend = rt->exops == &ns_exec_slurm ? &spec->slurm : NULL,
        };
        if (rt->exops->open(&cfg, &rt->ex, err, errlen) != 0)
            goto out;
        journal_run_executor(rt->j, rt->exops->name);
    }
    sqlite3_stmt *s = store_prepare(
        &rt->st, "UPDATE runs SET started_at = coalesce(started_at, ?1), finished_at = NULL, "
                 "runtime_pid = ?2, heartbeat_at = ?1, runtime_log = ?4 WHERE id = ?3");
    sqlite3_bind_double(s, 1, rt->start_wall);
    sqlite3_bind_int(s, 2, (int)getpid());
    sqlite3_bind_int64(s, 3, rt->run_id);
    if (opts->runtime_log)
        sqlite3_bind_text(s, 4, opts->runtime_log, -1, SQLITE_STATIC);
    sqlite3_step(s);
    sqlite3_finalize(s);
    if (opts->on_started)
        opts->on_started(opts->ctx, rt->run_id);
    {
        sqlite3_stmt *q = store_prepare(&rt->st, "SELECT started_at FROM runs WHERE id = ?");
        sqlite3_bind_int64(q, 1, rt->run_id);
        rt->run_started_at = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_double(q, 0) : 0;
        sqlite3_finalize(q);
        if (rt->run_started_at <= 0)
            rt->run_started_at = rt->start_wall;
    }
    if (rt->forced_changes) {
        char *safe = escape_dup(rt->forced_changes, strlen(rt->forced_changes), NS_ESC_ASCII);
        rt_event(rt, -1, 0, "spec_changed", "run %lld resumed with --force; the spec changed:\n%s",
                 (long long)rt->run_id, safe);
        free(safe);
    }
    if (result->resumed)
        reconcile(rt);
    guard_init_sla(rt);
    rt->state = RS_RUNNING;
    journal_run_state(rt->j, "running", NULL, false);
    rt_event(rt, -1, 0, "run_state",
             "run %lld: runtime %d %s (%zu partition%s: %lld done, %lld to do)",
             (long long)rt->run_id, (int)getpid(), result->resumed ? "resumed it" : "started it",
             rt->nparts, rt->nparts == 1 ? "" : "s", (long long)done_count(rt),
             (long long)(rt->nparts - (size_t)done_count(rt)));
    if (result->resumed && spec->restore_paused)
        rt_set_run_state(rt, RS_PAUSED, "on_restore: pause - resume it when ready");
    poll_commands(rt, true); /* retries and skips queued while no runtime ran */
    bool idle_resume = ended_before && rt->nlive == 0 && rt->counts[P_PENDING] == 0 &&
                       rt->counts[P_RETRY_WAIT] == 0 && rt->counts[P_RUNNING] == 0;

    if (loop(rt, err, errlen) != 0) {
        abandon_workers(rt, err, errlen);
        goto out;
    }

    int strays = rt->exops->end_strays(rt->ex);
    if (strays > 0)
        rt_event(rt, -1, 0, "cleanup", "ended %d leftover process%s of the run", strays,
                 strays == 1 ? "" : "es");
    if (rt->state == RS_STOPPING)
        rt_set_run_state(rt, RS_STOPPED, rt->state_reason);
    else if (rt->counts[P_FAILED] > 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "%lld of %zu partitions failed",
                 (long long)rt->counts[P_FAILED], rt->nparts);
        rt_set_run_state(rt, RS_FAILED, reason);
    } else {
        rt_set_run_state(rt, RS_SUCCEEDED, NULL);
    }
    if (rt->state != RS_STOPPED)
        guard_check_sla(rt, 0, true);
    periodic(rt, true);
    if (idle_resume && (rt->state == RS_SUCCEEDED || rt->state == RS_FAILED))
        rt_event(rt, -1, 0, "hook", "end hooks not run again: the resumed run had nothing to do");
    else if (rt->state == RS_SUCCEEDED)
        hooks_fire(rt, NS_HOOK_SUCCESS);
    else if (rt->state == RS_FAILED)
        hooks_fire(rt, NS_HOOK_FAILURE);
    if (commit_turn(rt, true, err, errlen) != 0)
        goto out;
    hooks_wait_all(rt); /* each bounded by hooks.timeout */
    exec_reap_leftovers(2.0); /* bounded: everything of the run was killed already */
    if (commit_turn(rt, true, err, errlen) != 0)
        goto out;
    snprintf(result->state, sizeof result->state, "%s", run_state_names[rt->state]);
    fill_counts(rt, &result->counts, 0, 0, ns_now());
    rc = 0;
out:
    rt_release(rt);
    return rc;
}
