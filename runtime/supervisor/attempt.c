/*
 * attempt.c - one live attempt as the loop sees it: the executor's events
 * (report bytes, output bytes, started, ended), the worker reports they feed,
 * the attempt's log (head, tail ring), where it runs, and the semantic
 * controls (end, pause, resume) the loop asks of the executor.
 *
 * Invariants: an attempt is in rt->live from its launch (or adoption) until
 * finish_attempt; its partition's part->live points to it for that time, and
 * a live partition is never evicted from the cache. The report offset moves
 * only on whole messages, so an adopted task resumes without duplicates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor.h"
#include "nightshift/util.h"
#include "nightshift/escape.h"
#include "nightshift/signature.h"

#define MAX_MALFORMED_EVENTS 20

/* Where an attempt's log lives: run-N/<idx / 1000>/pIIIIII-aA.log, so no
 * directory holds more than a thousand partitions' logs. The path is
 * recorded with the attempt; the file exists only once the worker printed
 * something (open_attempt_log). */
char *attempt_log_path(const struct rt *rt, int64_t idx, int n)
{
    return ns_xasprintf("%s/%lld/p%06lld-a%d.log", rt->run_dir, (long long)(idx / 1000),
                        (long long)idx, n);
}

/* Opens the attempt's log: created (with its shard directory) when a fresh
 * attempt prints its first byte, appended to when an adopted attempt
 * continues it. Most attempts of a big run print nothing: no file then. */
void attempt_open_log(struct attempt *a, bool append)
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

void rt_live_add(struct rt *rt, struct attempt *a)
{
    if (rt->nlive == rt->live_cap) {
        rt->live_cap = rt->live_cap ? rt->live_cap * 2 : 8;
        rt->live = ns_xrealloc(rt->live, rt->live_cap * sizeof *rt->live);
    }
    rt->live[rt->nlive++] = a;
}

void rt_live_remove(struct rt *rt, struct attempt *a)
{
    for (size_t i = 0; i < rt->nlive; i++) {
        if (rt->live[i] == a) {
            rt->live[i] = rt->live[--rt->nlive];
            return;
        }
    }
}

/* Frees what the attempt owns (its parser and log are closed by the caller). */
void attempt_free(struct attempt *a)
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
void attempt_learn_location(struct rt *rt, struct attempt *a, char *locator /* taken */)
{
    free(a->locator);
    a->locator = locator;
    rt->exops->describe(rt->ex, a->task, a->label, sizeof a->label);
    a->located = a->locator != NULL;
    a->location_dirty = true;
}

struct ns_attempt_image attempt_row(const struct rt *rt, const struct attempt *a)
{
    struct ns_attempt_image r = {
        .id = a->id,
        .idx = a->idx,
        .n = a->n,
        .started_at = a->started_wall,
        .log_path = a->log_path,
        .report_offset = a->report_offset,
        .output_offset = a->output_fed,
        .log_bytes = a->log_bytes,
        .log_dropped = a->log_dropped,
    };
    if (a->location_dirty) { /* else it is stored already, or unknown */
        r.executor = rt->exops->name;
        r.locator = a->locator;
        r.label = a->label[0] ? a->label : NULL;
    }
    return r;
}

/* Writes what live attempts deferred (see learn_location, and launch's
 * partition row): before a commit, so what is committed is whole. */
void rt_store_live_rows(struct rt *rt)
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
            journal_partition(rt->j, &p->row);
            p->row_dirty = false;
        }
    }
}

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
        rt->records_total =
            ns_add_sat(rt->records_total, m->number - (p->row.total > 0 ? p->row.total : 0));
        p->row.total = m->number;
        a->progress_dirty = rt->dirty = true;
        break;
    case NS_REPORT_PROGRESS:
        rt->records_done = ns_add_sat(rt->records_done, m->number - p->row.progress);
        p->row.progress = m->number;
        a->progress_dirty = rt->dirty = true;
        break;
    case NS_REPORT_CHECKPOINT:
        rt_set_str(&p->row.checkpoint, m->text, m->text_len);
        p->row.checkpoint_len = m->text_len;
        p->row.checkpoint_progress = p->row.progress;
        p->row.checkpoint_err_id = p->last_err_id;
        /* Progress first, so a reader never sees a checkpoint ahead of it. */
        journal_progress(rt->j, &p->row);
        journal_checkpoint(rt->j, &p->row);
        a->progress_dirty = false;
        a->progress_written_mono = ns_monotonic();
        break;
    case NS_REPORT_ERROR: {
        char sig[SIGNATURE_BUF];
        signature_into(sig, m->text ? m->text : "", m->text_len);
        p->last_err_id = journal_error_record(rt->j, a->idx, a->id, m->key, m->key_len, m->text,
                                              m->text_len, sig, m->payload, m->payload_len);
        p->row.errors++;
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
        rt_set_str(&p->row.last_message, b.data, b.len);
        a->progress_dirty = true;
        if ((m->key_len == 4 && memcmp(m->key, "warn", 4) == 0) ||
            (m->key_len == 5 && memcmp(m->key, "error", 5) == 0)) {
            journal_event(rt->j, a->idx, a->id, "log", "%s", b.data);
            /* The worker's own words about what went wrong: the failure's
             * cause if the attempt then fails. */
            rt_set_str(&a->cause, m->text, m->text_len > 300 ? 300 : m->text_len);
        }
        buf_release(&b);
        break;
    }
    case NS_REPORT_MALFORMED:
        a->malformed++;
        if (a->malformed <= MAX_MALFORMED_EVENTS) {
            /* Stored as the worker wrote it, escaped when shown (once). */
            char *raw = escape_nuls_dup(m->raw ? m->raw : "", m->raw ? m->raw_len : 0);
            char *why = escape_nuls_dup(m->text ? m->text : "", m->text_len);
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
        attempt_open_log(a, false);
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

void attempt_finish_reports(struct rt *rt, struct attempt *a, struct part *p)
{
    struct report_ctx ctx = {rt, a, p};
    report_parser_finish(&a->parser, on_report, &ctx);
    report_parser_release(&a->parser);
    if (a->log_fd >= 0) {
        flush_tail(rt, a);
        close(a->log_fd);
    }
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
    if (a->log_fd < 0 && !a->log_pending)    /* a lazy log opens on its first byte */
        attempt_open_log(a, true);
    a->started = true;
    struct part *p = rt_part(rt, a->idx);
    if (p->row.state == P_PENDING) /* paused (held) ones run on resume */
        rt_set_state(rt, a->idx, P_RUNNING);
    journal_partition(rt->j, &p->row);
    if (a->task)
        attempt_learn_location(rt, a, rt->exops->locator(rt->ex, a->task));
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

/* Kept in the run's row (runs.blocked_reason) for status and the console. */
static void on_exec_blocked(void *ctx, const char *reason)
{
    struct rt *rt = ctx;
    journal_run_blocked(rt->j, reason);
}

const struct ns_exec_events rt_exec_events = {
    .report = on_report_bytes,
    .output = on_output_bytes,
    .started = on_started,
    .ended = on_ended,
    .note = on_exec_note,
    .blocked = on_exec_blocked,
};

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
        journal_partition(rt->j, &rt_part(rt, a->idx)->row);
    }
}
