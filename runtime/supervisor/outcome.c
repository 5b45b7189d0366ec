/*
 * outcome.c - how an attempt ended and what its partition does next:
 * classify the end (exit code, signal, timeout, operator), record the
 * failure's cause and signature, then succeed, retry after a backoff, fail,
 * halt the run, or go back to pending; and the queues that hold the
 * partitions waiting to go again (requeue, retry_wait).
 *
 * Invariants: a partition's succeeded state is written once, in the turn its
 * attempt ended with exit 0; an attempt ended by a stop does not count
 * against the partition's budget.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "supervisor.h"
#include "nightshift/util.h"
#include "nightshift/signature.h"

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

static enum ns_exit_action classify_exit(const struct ns_spec *spec, int code)
{
    for (size_t i = 0; i < spec->on_exit_len; i++)
        if (spec->on_exit[i].code == code)
            return spec->on_exit[i].action;
    return NS_EXIT_RETRY;
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

#define SPAWN_FAILED "could not start: " /* msg of an attempt that did not start */

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
         * that is not part of the cause; nor a word that happens to be
         * another partition's key ("peer"), or the groups would split. */
        char *unkeyed = signature_unkey(cause, rt_part_key(rt, a->idx), rt_is_run_key, rt);
        free(cause);
        cause = unkeyed;
        char *masked = signature_of(cause, strlen(cause));
        buf_adds(&signature, ": ");
        buf_adds(&signature, masked);
        free(masked);
    } else if (code < 0 && sig <= 0 && a->ending == END_NONE) {
        /* Spawn errors name the command; msg says "could not start: "
         * already, which the signature has just said. */
        const char *why = msg;
        if (strncmp(why, SPAWN_FAILED, strlen(SPAWN_FAILED)) == 0)
            why += strlen(SPAWN_FAILED);
        char *masked = signature_of(why, strlen(why));
        buf_adds(&signature, ": ");
        buf_adds(&signature, masked);
        free(masked);
    }
    rt_set_str(&p->row.last_message, text.data, text.len);
    rt_set_str(&p->row.last_signature, signature.data, signature.len);
    buf_release(&text);
    buf_release(&signature);
    free(cause);
}

/* What an attempt's end means for its partition. */
struct ending_verdict {
    int code, sig;
    enum ns_exit_action action;
    bool counts; /* against the attempt budget */
};

/* How an attempt ended: its outcome as stored (returned), its message (msg),
 * and the verdict: exit code and signal as far as known, what on_exit says,
 * whether it counts against the partition's budget. */
static enum ns_attempt_outcome classify_end(const struct rt *rt, const struct attempt *a,
                                            const char *spawn_error, const char *dur, char *msg,
                                            size_t msgsz, struct ending_verdict *v)
{
    enum ns_attempt_outcome outcome;
    v->code = -1;
    v->sig = 0;
    v->action = NS_EXIT_RETRY;
    v->counts = true;
    if (spawn_error && a->env_fault) {
        outcome = NS_AO_INTERRUPTED;
        v->counts = false;
        snprintf(msg, msgsz, "not started: %s (the runtime's limit, not charged)", spawn_error);
    } else if (spawn_error) {
        outcome = NS_AO_FAILED;
        snprintf(msg, msgsz, SPAWN_FAILED "%s", spawn_error);
    } else if (a->ending == END_STOP) {
        outcome = NS_AO_INTERRUPTED;
        v->counts = false;
        snprintf(msg, msgsz, "stopped by the operator after %s", dur);
    } else if (a->ending == END_TIMEOUT) {
        outcome = NS_AO_TIMED_OUT;
        char lim[32];
        ns_format_duration(rt->spec->timeout_ms, lim, sizeof lim);
        snprintf(msg, msgsz, "timed out after %s", lim);
    } else if (a->ending == END_KILL) {
        outcome = NS_AO_KILLED;
        snprintf(msg, msgsz, "killed by the operator after %s", dur);
    } else if (a->end.kind == NS_END_EXITED && a->end.code == 0) {
        outcome = NS_AO_SUCCEEDED;
        v->code = 0;
        snprintf(msg, msgsz, "succeeded in %s", dur);
    } else if (a->end.kind == NS_END_EXITED) {
        outcome = NS_AO_FAILED;
        v->code = a->end.code;
        v->action = classify_exit(rt->spec, v->code);
        snprintf(msg, msgsz, "exit %d after %s", v->code, dur);
    } else if (a->end.kind == NS_END_SIGNALLED) {
        outcome = NS_AO_SIGNALLED;
        v->sig = a->end.sig;
        snprintf(msg, msgsz, "killed by signal %d (%s) after %s", v->sig, strsignal(v->sig), dur);
    } else if (a->end.kind == NS_END_TIMED_OUT) {
        outcome = NS_AO_TIMED_OUT;
        snprintf(msg, msgsz, "ended by the executor's time limit after %s%s%s", dur,
                 a->end.detail[0] ? ": " : "", a->end.detail);
    } else {
        /* Cancelled behind our back, node lost, preempted: no outcome of
         * its own; retried per policy from its checkpoint. */
        outcome = NS_AO_LOST;
        snprintf(msg, msgsz, "%s after %s%s%s",
                 a->end.kind == NS_END_CANCELLED ? "cancelled outside nightshift" : "lost", dur,
                 a->end.detail[0] ? ": " : "", a->end.detail);
    }
    if (a->ending != END_NONE && a->end.kind == NS_END_EXITED)
        v->code = a->end.code;
    if (a->ending != END_NONE && a->end.kind == NS_END_SIGNALLED)
        v->sig = a->end.sig;
    if (a->end.detail[0] && (a->end.kind == NS_END_EXITED || a->end.kind == NS_END_SIGNALLED)) {
        size_t l = strlen(msg); /* what the executor found, e.g. escaped processes it ended */
        snprintf(msg + l, msgsz - l, "; %s", a->end.detail);
    }
    if (a->malformed > 0) {
        size_t l = strlen(msg);
        snprintf(msg + l, msgsz - l, "; %lld malformed report line%s ignored",
                 (long long)a->malformed, a->malformed == 1 ? "" : "s");
    }
    return outcome;
}

void finish_attempt(struct rt *rt, struct attempt *a, const char *spawn_error)
{
    struct part *p = rt_part(rt, a->idx);
    double now = ns_now();
    char dur[32], msg[512];
    /* The executor delivered everything the worker wrote before `ended`. */
    attempt_finish_reports(rt, a, p);
    ns_format_duration((int64_t)((now - a->started_wall) * 1000), dur, sizeof dur);
    struct ending_verdict v;
    enum ns_attempt_outcome outcome = classify_end(rt, a, spawn_error, dur, msg, sizeof msg, &v);
    int code = v.code, sig = v.sig;
    enum ns_exit_action action = v.action;
    bool counts = v.counts;
    struct ns_attempt_image row = attempt_row(rt, a);
    journal_attempt_end(rt->j, &row, now, outcome, code, sig, msg);
    rt->last_end_wall = now; /* a slot free from now on (rt_dispatch's waits) */
    if (rt->pools)
        rt_pools_release(rt, a); /* with its end, in one transaction */

    bool succeeded = outcome == NS_AO_SUCCEEDED;
    enum ns_part_state from = p->row.state, to;
    char next[128] = "";
    if (succeeded) {
        to = P_SUCCEEDED;
        p->row.finished_at = now;
        straggle_succeeded(rt, now - a->started_wall);
    } else if (p->skip_when_done) {
        to = P_SKIPPED;
        p->row.finished_at = now;
        snprintf(next, sizeof next, "; partition skipped by the operator");
    } else if (!counts) {
        p->row.attempts--;
        to = P_PENDING;
    } else {
        set_failure(rt, a, p, msg, code, sig);
        if (action == NS_EXIT_RETRY && p->row.attempts < p->row.max_attempts) {
            int64_t delay = runtime_backoff_ms(rt->spec, p->row.attempts + 1, rng_unit(rt));
            p->row.retry_at = now + (double)delay / 1000.0;
            to = P_RETRY_WAIT;
            rt_wait_retry(rt, a->idx);
            char d[32];
            snprintf(next, sizeof next, "; retry %d/%d in %s", p->row.attempts + 1,
                     p->row.max_attempts, ns_format_duration(delay, d, sizeof d));
        } else {
            to = P_FAILED;
            p->row.finished_at = now;
            snprintf(next, sizeof next, "; %s",
                     action == NS_EXIT_FAIL   ? "on_exit says fail: partition failed"
                     : action == NS_EXIT_HALT ? "on_exit says halt: partition failed, run halted"
                                              : "no attempts left: partition failed");
        }
    }
    p->live = NULL;
    p->skip_when_done = false;
    rt_set_state(rt, a->idx, to);
    journal_partition(rt->j, &p->row);
    p->row_dirty = false;
    rt_event_change(rt, a->idx, a->id, "attempt_end", query_part_state_word(from),
                    query_part_state_word(to), "partition %lld [%s]: attempt %d %s%s",
                    (long long)a->idx, a->key ? a->key : rt_part_key(rt, a->idx), a->n,
                    !succeeded && counts && p->row.last_message ? p->row.last_message : msg, next);
    if (to == P_PENDING && rt->state != NS_RS_STOPPING)
        rt_requeue(rt, a->idx);
    if (!succeeded && counts && action == NS_EXIT_HALT && rt->state == NS_RS_RUNNING) {
        char reason[128];
        snprintf(reason, sizeof reason, "partition %lld exited %d, which on_exit maps to halt",
                 (long long)a->idx, code);
        rt_set_run_state(rt, NS_RS_HALTED, reason);
        hooks_fire(rt, NS_HOOK_HALT);
    }
    if (to == P_FAILED)
        guard_check_budget(rt); /* before anything else is dispatched */
    rt_live_remove(rt, a);
    attempt_free(a);
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

void rt_promote_retries(struct rt *rt, double now)
{
    for (size_t i = 0; i < rt->nwaiting;) {
        int64_t idx = rt->waiting[i];
        struct part *p = rt_part(rt, idx);
        if (p->row.state == P_RETRY_WAIT && p->row.retry_at > now) {
            i++;
            continue;
        }
        if (p->row.state == P_RETRY_WAIT) {
            rt_set_state(rt, idx, P_PENDING);
            journal_partition(rt->j, &p->row);
            rt_requeue(rt, idx);
        }
        rt->waiting[i] = rt->waiting[--rt->nwaiting];
    }
}

double rt_next_retry_at(const struct rt *rt)
{
    double best = 0;
    for (size_t i = 0; i < rt->nwaiting; i++) {
        const struct part *p = part_map_find(&rt->parts, rt->waiting[i]);
        if (p && p->row.state == P_RETRY_WAIT && (best == 0 || p->row.retry_at < best))
            best = p->row.retry_at;
    }
    return best;
}
