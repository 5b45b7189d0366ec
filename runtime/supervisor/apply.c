/*
 * apply.c - the runtime side of operator commands.
 *
 * Pending rows of `commands` for this run are taken in id order. Each one's
 * effect on job state and its verdict (applied / refused, with words) are
 * written in the same transaction by the poll loop's next commit, so after a
 * crash a command is either fully applied and marked, or still pending and
 * applied by the next runtime: never lost, never applied twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor.h"
#include "nightshift/query.h"
#include "nightshift/control.h"
#include "nightshift/util.h"

struct cmd {
    int64_t id;
    const char *verb;
    const char *user;
    const char *source;
    const char *args;
};

/* Partition indexes named by a command: "partitions":[...], "failed":true,
 * or "signature":"..." (matching last_signature). Returns a heap array. */
static int64_t *select_partitions(struct rt *rt, const struct cmd *c, size_t *n_out, char *why,
                                  size_t whylen)
{
    int64_t *out = NULL;
    size_t n = 0;
    bool failed = runs_json_bool(rt->runs, c->args, "$.failed");
    char *signature = runs_json_text(rt->runs, c->args, "$.signature");
    bool has_list = runs_json_has(rt->runs, c->args, "$.partitions");
    if (has_list) {
        out = runs_json_ints(rt->runs, c->args, "$.partitions", &n);
        for (size_t i = 0; i < n; i++) {
            int64_t idx = out[i];
            if (idx < 0 || (size_t)idx >= rt->nparts) {
                ns_errf(why, whylen, "no partition %lld (the run has 0..%zu)", (long long)idx,
                        rt->nparts - 1);
                free(out);
                free(signature);
                return NULL;
            }
        }
    } else if (signature) {
        /* Most partitions are not in memory (model.c): the rows answer, over
         * the signature index, and the in-memory state decides. */
        size_t m = 0;
        int64_t *rows = runs_parts_with_signature(rt->runs, signature, &m);
        for (size_t i = 0; i < m; i++) {
            int64_t idx = rows[i];
            if (idx < 0 || (size_t)idx >= rt->nparts ||
                !query_part_in_failure_group(rt->pstate[idx]))
                continue;
            out = ns_xrealloc(out, (n + 1) * sizeof *out);
            out[n++] = idx;
        }
        free(rows);
    } else if (failed) {
        for (size_t i = 0; i < rt->nparts; i++) {
            if (rt->pstate[i] == P_FAILED) {
                out = ns_xrealloc(out, (n + 1) * sizeof *out);
                out[n++] = (int64_t)i;
            }
        }
    } else {
        ns_errf(why, whylen, "name partitions, --failed or --signature");
        free(signature);
        return NULL;
    }
    free(signature);
    if (n == 0) {
        ns_errf(why, whylen, "no partition matches");
        free(out);
        return NULL;
    }
    *n_out = n;
    return out;
}

/* select_partitions, or NULL with the reason written as the verdict. */
static int64_t *select_or_refuse(struct rt *rt, const struct cmd *c, size_t *n, struct ns_buf *out)
{
    char why[256] = "";
    int64_t *idx = select_partitions(rt, c, n, why, sizeof why);
    if (!idx)
        buf_adds(out, why);
    return idx;
}

static bool run_is_final(const struct rt *rt)
{
    return query_run_state_final(rt->state);
}

/* Each verb: returns true when applied, with its words in out. */
static bool do_pause(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    (void)c;
    if (rt->state == NS_RS_PAUSED) {
        buf_adds(out, "already paused");
        return true;
    }
    if (rt->state != NS_RS_RUNNING && rt->state != NS_RS_HALTED) {
        buf_addf(out, "the run is %s", query_run_state_word(rt->state));
        return false;
    }
    rt_pause_workers(rt, true);
    rt_set_run_state(rt, NS_RS_PAUSED, "paused by the operator");
    buf_addf(out, "paused; %lld worker%s stopped (SIGSTOP)", (long long)rt->counts[P_PAUSED],
             rt->counts[P_PAUSED] == 1 ? "" : "s");
    return true;
}

static bool do_resume(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    int w = rt->window ? rt_window_resume(rt, runs_json_bool(rt->runs, c->args, "$.force"), out)
                       : -1;
    if (w >= 0)
        return w == 1; /* outside the run's window: --force or nothing */
    if (rt->state == NS_RS_RUNNING) {
        buf_adds(out, "already running");
        return true;
    }
    if (rt->state != NS_RS_PAUSED && rt->state != NS_RS_HALTED) {
        buf_addf(out, "the run is %s", query_run_state_word(rt->state));
        return false;
    }
    bool was_halted = rt->state == NS_RS_HALTED;
    rt_pause_workers(rt, false);
    rt_set_run_state(rt, NS_RS_RUNNING,
                     was_halted ? "resumed by the operator after a halt"
                                : "resumed by the operator");
    rt->halt_ack_failed = rt->counts[P_FAILED];
    rt->halt_ack_errors = rt->error_records;
    buf_adds(out, was_halted ? "resumed after the halt" : "resumed");
    return true;
}

static bool do_stop(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    bool now = runs_json_bool(rt->runs, c->args, "$.now");
    if (run_is_final(rt)) {
        buf_addf(out, "the run is %s", query_run_state_word(rt->state));
        return false;
    }
    if (rt->state == NS_RS_STOPPING && !now) {
        buf_adds(out, "already stopping");
        return true;
    }
    rt_request_stop(rt, now);
    buf_addf(out, "%s; %zu worker%s signalled", now ? "stopping now" : "stopping gracefully",
             rt->nlive, rt->nlive == 1 ? "" : "s");
    return true;
}

static bool do_set(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    char *v = runs_json_text(rt->runs, c->args, "$.concurrency");
    int64_t n;
    if (!v || ns_parse_int64(v, &n) != 0 || n < 1 || n > 1024) {
        buf_addf(out, "concurrency must be a whole number from 1 to 1024%s%s%s", v ? " (got " : "",
                 v ? v : "", v ? ")" : "");
        free(v);
        return false;
    }
    free(v);
    int old = rt->concurrency;
    rt->concurrency = (int)n;
    journal_concurrency(rt->j, rt->concurrency);
    if (rt->exops->set_concurrency) /* a queueing backend's own throttle */
        rt->exops->set_concurrency(rt->ex, rt->concurrency);
    buf_addf(out, "concurrency %d -> %d%s", old, rt->concurrency,
             rt->concurrency < (int)rt->nlive ? " (running attempts finish first)" : "");
    return true;
}

static bool do_retry(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    size_t n = 0;
    int64_t *idx = select_or_refuse(rt, c, &n, out);
    if (!idx)
        return false;
    bool scratch = runs_json_bool(rt->runs, c->args, "$.from_scratch");
    size_t done = 0, skipped = 0;
    struct ns_buf notes = NS_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        struct part *p = rt_part(rt, idx[i]);
        /* A live attempt may be queued in the executor (its partition
         * pending): it is not retried under it, from scratch or not. */
        if (p->live || p->row.state == P_RUNNING || p->row.state == P_PAUSED ||
            p->row.state == P_SUCCEEDED || (p->row.state == P_PENDING && !scratch)) {
            if (skipped++ < 5)
                buf_addf(&notes, "%s%lld is %s", skipped > 1 ? ", " : "", (long long)idx[i],
                         p->live && p->row.state == P_PENDING ? "queued"
                                                              : pstate_names[p->row.state]);
            continue;
        }
        if (scratch)
            rt_clear_checkpoint(rt, idx[i]);
        p->row.attempts = 0;
        p->row.finished_at = 0;
        if (p->row.state != P_PENDING)
            rt_set_state(rt, idx[i], P_PENDING);
        journal_partition(rt->j, &p->row);
        if (rt->state != NS_RS_STOPPING)
            rt_requeue(rt, idx[i]);
        done++;
    }
    free(idx);
    if (done == 0) {
        buf_addf(out, "nothing to retry: %s", notes.data ? notes.data : "");
        buf_release(&notes);
        return false;
    }
    buf_addf(out, "retrying %zu partition%s %s", done, done == 1 ? "" : "s",
             scratch ? "from scratch" : done == 1 ? "from its checkpoint" : "from their checkpoints");
    if (skipped)
        buf_addf(out, "; left %zu alone (%s%s)", skipped, notes.data, skipped > 5 ? ", ..." : "");
    if (rt->state == NS_RS_HALTED || rt->state == NS_RS_PAUSED)
        buf_addf(out, "; the run is %s: resume it to dispatch them",
                 query_run_state_word(rt->state));
    buf_release(&notes);
    return true;
}

static bool do_skip(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    size_t n = 0;
    int64_t *idx = select_or_refuse(rt, c, &n, out);
    if (!idx)
        return false;
    char *reason = runs_json_text(rt->runs, c->args, "$.reason");
    size_t done = 0, killed = 0;
    for (size_t i = 0; i < n; i++) {
        struct part *p = rt_part(rt, idx[i]);
        if (p->row.state == P_SUCCEEDED || p->row.state == P_SKIPPED)
            continue;
        char *note =
            ns_xasprintf("skipped by %s: %s", c->user, reason ? reason : "no reason given");
        free(p->row.last_message);
        p->row.last_message = note;
        if (p->live) {
            /* Poisoned and still running: end it; finish_attempt skips it. */
            p->skip_when_done = true;
            rt_end_attempt(rt, p->live, END_KILL);
            killed++;
        } else {
            p->row.finished_at = ns_now();
            rt_set_state(rt, idx[i], P_SKIPPED);
            journal_partition(rt->j, &p->row);
        }
        journal_skip_reason(rt->j, idx[i], reason ? reason : "no reason given");
        done++;
    }
    free(idx);
    free(reason);
    if (done == 0) {
        buf_adds(out, "nothing to skip: every named partition has succeeded or is skipped");
        return false;
    }
    buf_addf(out, "skipped %zu partition%s", done, done == 1 ? "" : "s");
    if (killed)
        buf_addf(out, " (%zu live attempt%s ended)", killed, killed == 1 ? "" : "s");
    return true;
}

static bool do_kill(struct rt *rt, const struct cmd *c, struct ns_buf *out)
{
    size_t n = 0;
    int64_t *idx = select_or_refuse(rt, c, &n, out);
    if (!idx)
        return false;
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        struct part *p = rt_part(rt, idx[i]);
        if (p->live && p->live->ending == END_NONE && !p->live->ended) {
            rt_end_attempt(rt, p->live, END_KILL);
            done++;
        }
    }
    free(idx);
    if (done == 0) {
        buf_adds(out, "no running attempt among the named partitions");
        return false;
    }
    buf_addf(out,
             "ending %zu attempt%s (SIGTERM, SIGKILL after stop_grace); it counts as a "
             "failed attempt",
             done, done == 1 ? "" : "s");
    return true;
}

static const struct {
    const char *verb;
    bool (*apply)(struct rt *rt, const struct cmd *c, struct ns_buf *out);
} handlers[] = {
    {"pause", do_pause}, {"resume", do_resume}, {"stop", do_stop}, {"set", do_set},
    {"retry", do_retry}, {"skip", do_skip},     {"kill", do_kill},
};

void apply_pending_commands(struct rt *rt)
{
    struct ns_pending_command *rows;
    size_t n = runs_pending_commands(rt->runs, &rows);
    struct cmd *cmds = ns_xcalloc(n ? n : 1, sizeof *cmds);
    for (size_t i = 0; i < n; i++)
        cmds[i] =
            (struct cmd){rows[i].id, rows[i].verb, rows[i].user, rows[i].source, rows[i].args};
    for (size_t i = 0; i < n; i++) {
        struct cmd *c = &cmds[i];
        struct ns_buf out = NS_BUF_INIT;
        bool ok = false;
        bool known = false;
        if (rt->finishing) {
            /* The loop is over: nothing could act on it. Said now, not
             * left pending for a runtime that is not coming. */
            buf_addf(&out, "the run has ended (%s) and its runtime is running its end hook; "
                           "nothing applied%s", query_run_state_word(rt->state),
                     control_needs_live_runtime(c->verb) ? ""
                                                         : " (send it again once the runtime "
                                                           "has exited: it is then queued for "
                                                           "the next `nightshift run`)");
            known = true;
        } else if (c->id <= rt->stale_cmd_max && control_needs_live_runtime(c->verb)) {
            /* Sent to a runtime that died before deciding: a pause or stop
             * meant for it must not ambush the runtime that resumes the run. */
            buf_adds(&out, "the runtime it was sent to is gone; not applied after the restart");
            known = true;
        }
        for (size_t h = 0; !known && h < NS_ARRAY_LEN(handlers); h++) {
            if (strcmp(handlers[h].verb, c->verb) == 0) {
                known = true;
                ok = handlers[h].apply(rt, c, &out);
                break;
            }
        }
        if (!known)
            buf_addf(&out, "unknown command \"%s\"", c->verb);
        journal_command_result(rt->j, c->id, ok, out.data ? out.data : "");
        rt->verdicts = true; /* the loop pokes the verdict hint after the commit */
        rt_event(rt, -1, 0, "command", "command %lld by %s (%s): %s %s: %s", (long long)c->id,
                 c->user, c->source, c->verb, ok ? "applied" : "refused", out.data ? out.data : "");
        buf_release(&out);
    }
    free(cmds);
    runs_commands_free(rows, n);
}
