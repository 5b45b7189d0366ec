/*
 * slurm-queue.c - what Slurm says: one squeue per poll interval for the
 * whole run (run beside the loop, never waited for), the states it gives and
 * what each means for a task, and the jobcomp file that keeps a finished
 * job's outcome after squeue has forgotten it. A task Slurm no longer runs
 * and that wrote no exit file ends as cancelled / lost / timed out after a
 * short grace for the shared filesystem.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slurm-internal.h"

static int cmp_slot(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->job != y->job)
        return x->job < y->job ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* The squeue that lists every task of the run (filled into argv[7]). */
static void squeue_argv(const struct ns_executor *ex, char *name, size_t len, char **argv)
{
    snprintf(name, len, "--name=%s", ex->job_name);
    char *const v[] = {(char *)"squeue",
                       (char *)"--noheader",
                       (char *)"--array",
                       (char *)"--states=all",
                       name,
                       (char *)"--format=%F|%K|%T|%S|%r",
                       NULL};
    memcpy(argv, v, sizeof v);
}

/* Replaces the snapshot with squeue's answer (lines "job|index|STATE|START|REASON"). */
static void parse_snapshot(struct ns_executor *ex, char *data)
{
    ex->nsnap = 0;
    size_t cap = 0;
    for (char *line = data, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        long long job;
        int index;
        char idx[24], state[24], start[24] = "", reason[64] = "";
        if (sscanf(line, "%lld|%23[^|]|%23[^|]|%23[^|]|%63[^\n]", &job, idx, state, start,
                   reason) < 3)
            continue;
        if (sscanf(idx, "%d", &index) != 1)
            index = -1; /* not an array task ("N/A"): someone's plain job of our name */
        if (ex->nsnap == cap) {
            cap = cap ? cap * 2 : 64;
            ex->snap = ns_xrealloc(ex->snap, cap * sizeof *ex->snap);
        }
        struct slot *s = &ex->snap[ex->nsnap++];
        s->job = job;
        s->index = index;
        snprintf(s->state, sizeof s->state, "%s", state);
        s->held = strcmp(state, "PENDING") == 0 && strstr(reason, "Held") != NULL;
        snprintf(s->reason, sizeof s->reason, "%s", reason);
        snprintf(s->start, sizeof s->start, "%s", start);
    }
    if (ex->nsnap)
        qsort(ex->snap, ex->nsnap, sizeof *ex->snap, cmp_slot);
    ex->snap_ok = true;
}

/* One squeue for every task of the run, waited for (recover, end_strays:
 * before the loop runs). Returns 0, or -1 if Slurm did not answer (nothing
 * is concluded from silence). */
int slurm_take_snapshot(struct ns_executor *ex)
{
    char name[PATH_MAX], *argv[7];
    squeue_argv(ex, name, sizeof name, argv);
    struct ns_buf out = NS_BUF_INIT;
    char err[256];
    ex->snap_at = ns_monotonic();
    int rc = slurm_run_cmd(argv, &out, err, sizeof err);
    if (rc == 0)
        parse_snapshot(ex, out.data);
    else
        ex->snap_ok = false;
    buf_release(&out);
    return rc == 0 ? 0 : -1;
}

const struct slot *slurm_snap_find(const struct ns_executor *ex, int64_t job, int index)
{
    struct slot key = {job, index, "", false, "", "", false};
    return ex->nsnap ? bsearch(&key, ex->snap, ex->nsnap, sizeof *ex->snap, cmp_slot) : NULL;
}

const struct slurm_state slurm_states[] = {
    {"PENDING", false, false, NS_END_LOST},     {"CONFIGURING", false, false, NS_END_LOST},
    {"REQUEUED", false, false, NS_END_LOST},    {"REQUEUE_HOLD", false, false, NS_END_LOST},
    {"RUNNING", true, false, NS_END_LOST},      {"SUSPENDED", true, false, NS_END_LOST},
    {"COMPLETING", true, false, NS_END_LOST},   {"SIGNALING", true, false, NS_END_LOST},
    {"STAGE_OUT", true, false, NS_END_LOST},    {"STOPPED", true, false, NS_END_LOST},
    {"RESIZING", true, false, NS_END_LOST},     {"COMPLETED", true, true, NS_END_LOST},
    {"FAILED", true, true, NS_END_LOST},        {"CANCELLED", false, true, NS_END_CANCELLED},
    {"TIMEOUT", true, true, NS_END_TIMED_OUT},  {"NODE_FAIL", false, true, NS_END_LOST},
    {"PREEMPTED", false, true, NS_END_LOST},    {"BOOT_FAIL", false, true, NS_END_LOST},
    {"DEADLINE", false, true, NS_END_LOST},     {"OUT_OF_MEMORY", true, true, NS_END_LOST},
    {"SPECIAL_EXIT", false, true, NS_END_LOST}, {"REVOKED", false, true, NS_END_LOST},
};

int slurm_state_find(const char *s)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(slurm_states); i++)
        if (strcmp(slurm_states[i].state, s) == 0)
            return (int)i;
    return -1;
}

/* For a worker that died of a signal we did not send: the end Slurm's state
 * stands for (cancelled, timed out, lost), or NS_END_SIGNALLED when the
 * signal was the worker's own business (FAILED, OUT_OF_MEMORY...). */
enum ns_exec_end_kind slurm_state_overrides(int si)
{
    static const char *const by_slurm[] = {"CANCELLED", "TIMEOUT",   "PREEMPTED", "NODE_FAIL",
                                           "DEADLINE",  "BOOT_FAIL", "REVOKED"};
    if (si < 0)
        return NS_END_SIGNALLED;
    for (size_t i = 0; i < NS_ARRAY_LEN(by_slurm); i++)
        if (strcmp(slurm_states[si].state, by_slurm[i]) == 0)
            return slurm_states[si].kind;
    return NS_END_SIGNALLED;
}

/* ---- the jobcomp file ------------------------------------------------------- */

/* The value of " KEY=" in a jobcomp line (the last occurrence: the array
 * and exit fields come after the free-text ones), or NULL; *len its length. */
static const char *jc_field(const char *line, size_t n, const char *key, bool last, size_t *len)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    for (size_t i = 0; i + kl < n; i++) {
        if ((i == 0 || line[i - 1] == ' ') && memcmp(line + i, key, kl) == 0) {
            found = line + i + kl;
            if (!last)
                break;
        }
    }
    if (!found)
        return NULL;
    *len = 0;
    while (found + *len < line + n && found[*len] != ' ')
        (*len)++;
    return found;
}

/* One jobcomp line: if it is about one of our tasks, remembers its state
 * and ExitCode (a later line of the same task replaces it). */
static void jobcomp_line(struct ns_executor *ex, const char *line, size_t n)
{
    size_t l1, l2, l3, l4, l5 = 0;
    const char *state = jc_field(line, n, "JobState=", false, &l1);
    const char *start = jc_field(line, n, "StartTime=", false, &l5);
    const char *aj = jc_field(line, n, "ArrayJobId=", true, &l2);
    const char *at = jc_field(line, n, "ArrayTaskId=", true, &l3);
    const char *xc = jc_field(line, n, "ExitCode=", true, &l4);
    if (!state || !aj || !at || l1 == 0 || l1 >= sizeof ex->head->jc_state)
        return;
    char num[48];
    long long job;
    int index, code = 0, sig = 0;
    snprintf(num, sizeof num, "%.*s", (int)(l2 < 40 ? l2 : 40), aj);
    if (sscanf(num, "%lld", &job) != 1)
        return;
    snprintf(num, sizeof num, "%.*s", (int)(l3 < 40 ? l3 : 40), at);
    if (sscanf(num, "%d", &index) != 1)
        return;
    if (xc) {
        snprintf(num, sizeof num, "%.*s", (int)(l4 < 40 ? l4 : 40), xc);
        if (sscanf(num, "%d:%d", &code, &sig) != 2)
            code = sig = 0;
    }
    for (struct ns_task *t = ex->head; t; t = t->next) {
        if (t->job != job || t->index != index)
            continue;
        snprintf(t->jc_state, sizeof t->jc_state, "%.*s", (int)l1, state);
        snprintf(t->jc_start, sizeof t->jc_start, "%.*s", start ? (int)l5 : 0, start ? start : "");
        t->jc_code = code;
        t->jc_sig = sig;
    }
}

/* Reads what Slurm appended to the jobcomp file since the last call (whole
 * lines only; at most JOBCOMP_TURN bytes a call). A shorter file than
 * before was rotated: read from its start. */
#define JOBCOMP_TURN (8 << 20)
static void jobcomp_read(struct ns_executor *ex)
{
    if (!ex->jobcomp)
        return;
    int fd = open(ex->jobcomp, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || (int64_t)st.st_size == ex->jc_off) {
        close(fd);
        return;
    }
    if ((int64_t)st.st_size < ex->jc_off)
        ex->jc_off = 0;
    struct ns_buf b = NS_BUF_INIT;
    char chunk[READ_CHUNK];
    ssize_t r;
    while (b.len < JOBCOMP_TURN &&
           (r = pread(fd, chunk, sizeof chunk, (off_t)(ex->jc_off + (int64_t)b.len))) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        buf_add(&b, chunk, (size_t)r);
    }
    close(fd);
    size_t used = 0;
    for (size_t i = 0; i < b.len; i++) {
        if (b.data[i] != '\n')
            continue;
        jobcomp_line(ex, b.data + used, i - used);
        used = i + 1;
    }
    ex->jc_off += (int64_t)used;
    buf_release(&b);
}

/* The end Slurm's jobcomp record gives a task that wrote no exit file:
 * ExitCode code:signal of a job that ran to its end (the launcher's status
 * mirrors the worker's), else what its state stands for. False when the
 * file has no final line of it. */
static bool jobcomp_end(const struct ns_task *t, struct ns_exec_end *end)
{
    int si = slurm_state_find(t->jc_state);
    if (!t->jc_state[0] || si < 0 || !slurm_states[si].over)
        return false; /* none, or PENDING after a requeue */
    if (t->slurm_start[0] && t->jc_start[0] && strcmp(t->slurm_start, t->jc_start) != 0)
        return false; /* another launch's record: a restarted controller's */
    bool ran_out = strcmp(t->jc_state, "COMPLETED") == 0 || strcmp(t->jc_state, "FAILED") == 0;
    if (ran_out && t->jc_sig > 0)
        *end = (struct ns_exec_end){NS_END_SIGNALLED, -1, t->jc_sig, ""};
    else if (ran_out)
        *end = (struct ns_exec_end){NS_END_EXITED, t->jc_code, 0, ""};
    else
        *end = (struct ns_exec_end){slurm_states[si].kind, -1, 0, ""};
    snprintf(end->detail, sizeof end->detail,
             "no exit file; Slurm's jobcomp record: job %lld_%d %s, ExitCode %d:%d",
             (long long)t->job, t->index, t->jc_state, t->jc_code, t->jc_sig);
    return true;
}

/* Ends a task that wrote no exit file, with what its spool files still
 * hold read first (its last reports and output). */
static void end_without_exit(struct ns_executor *ex, struct ns_task *t,
                             const struct ns_exec_end *end, const struct ns_exec_events *ev,
                             void *ctx)
{
    slurm_drain(&t->report_fd, t, t->dir, "report", t->report_off, 0, ev->report, ctx);
    slurm_drain(&t->output_fd, t, t->dir, "output", t->output_off, 0, ev->output, ctx);
    slurm_end_task(ex, t, end, ev, ctx);
}

/* The end of a task Slurm no longer runs and that wrote no exit file. */
static void vanished(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_events *ev,
                     void *ctx)
{
    int si = t->slurm_state[0] ? slurm_state_find(t->slurm_state) : -1;
    struct ns_exec_end end = {si >= 0 ? slurm_states[si].kind : NS_END_LOST, -1, 0, ""};
    if (t->asked == NS_EXEC_KILL)
        end = (struct ns_exec_end){NS_END_SIGNALLED, -1, SIGKILL, ""};
    else if (t->asked == NS_EXEC_TERMINATE)
        end = (struct ns_exec_end){NS_END_SIGNALLED, -1, SIGTERM, ""};
    char again[PATH_MAX + 16];
    snprintf(again, sizeof again, "%s/relaunched", t->dir);
    bool relaunched = access(again, F_OK) == 0; /* the jobcomp line is the second launch's */
    if (!t->asked && !relaunched && jobcomp_end(t, &end))
        ; /* its real outcome, though Slurm may have forgotten the job */
    else if (t->slurm_start[0] && t->jc_start[0] && strcmp(t->slurm_start, t->jc_start) != 0)
        snprintf(end.detail, sizeof end.detail,
                 "Slurm job %lld_%d ended without an exit status; Slurm's record of it is of a "
                 "later launch (started %s, not %s)",
                 (long long)t->job, t->index, t->jc_start, t->slurm_start);
    else if (relaunched)
        snprintf(end.detail, sizeof end.detail,
                 "Slurm job %lld_%d ended without an exit status, and Slurm launched it again",
                 (long long)t->job, t->index);
    else if (t->slurm_state[0])
        snprintf(end.detail, sizeof end.detail, "Slurm job %lld_%d %s, no exit status",
                 (long long)t->job, t->index, t->slurm_state);
    else
        snprintf(end.detail, sizeof end.detail, "Slurm job %lld_%d is gone, no exit status",
                 (long long)t->job, t->index);
    end_without_exit(ex, t, &end, ev, ctx);
}

/* How often a task Slurm lists as running has its fence looked at, and how
 * long the fence must stay free (Slurm takes a moment, an epilog maybe, to
 * see a batch script's end: the exit file or its record decides then). */
#define FENCE_CHECK_S 2.0
#define GONE_UNSEEN_S 10.0

/* For a task Slurm lists as running: true when its processes are all gone
 * though no exit file came - its launcher said it holds the partition's
 * fence, and the fence has been free for GONE_UNSEEN_S. Slurm can go on
 * listing such a task as running for good (a controller that restarted
 * without having saved the task's start launched it again, and slurmd's
 * refusal ended the first launch); the attempt then ends as lost, and the
 * stray sweep cancels what Slurm still lists. */
static bool gone_unseen(struct ns_task *t, double now)
{
    if (t->asked || now < t->next_fence_check)
        return false;
    t->next_fence_check = now + FENCE_CHECK_S;
    if (!t->fence) {
        char path[PATH_MAX], err[256];
        struct spool_launch l = {0};
        char *const *envp = t->launch ? t->launch->envp : NULL;
        if (!envp && spool_read_launch(t->dir, &l, err, sizeof err) == 0)
            envp = l.envp;
        t->fence = ns_xstrdup(spool_fence_path(t->dir, envp, path, sizeof path) == 0 ? path : "");
        spool_launch_release(&l);
    }
    char marker[PATH_MAX + 16];
    snprintf(marker, sizeof marker, "%s/fenced", t->dir);
    if (!t->fence[0] || access(marker, F_OK) != 0 || spool_fence_held(t->fence) != 0) {
        t->fence_free_since = 0;
        return false;
    }
    if (t->fence_free_since == 0)
        t->fence_free_since = now;
    return now - t->fence_free_since >= GONE_UNSEEN_S;
}

/* What the fresh snapshot means for each task in Slurm. */
static void apply_snapshot(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx)
{
    double now = ns_monotonic();
    bool jobcomp_done = false; /* read at most once per poll, for the whole run */
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (t->state == T_QUEUED || t->state == T_SUBMITTING)
            continue;
        const struct slot *s = slurm_snap_find(ex, t->job, t->index);
        int si = s ? slurm_state_find(s->state) : -1;
        if (s)
            snprintf(t->slurm_state, sizeof t->slurm_state, "%s", s->state);
        t->slurm_held = s && s->held;
        /* A task missing from a squeue that began before sbatch answered
         * may just be too new to be listed. */
        t->slurm_gone = s ? si >= 0 && slurm_states[si].over : ex->snap_begun > t->submitted_at;
        if (si >= 0 && slurm_states[si].running) {
            if (!t->slurm_start[0] && strcmp(s->start, "N/A") != 0)
                snprintf(t->slurm_start, sizeof t->slurm_start, "%s", s->start);
            slurm_deliver_started(ex, t, ev, ctx);
        }
        if (s && (si < 0 || !slurm_states[si].over)) {
            t->gone_since = 0;
            if (si >= 0 && slurm_states[si].running && gone_unseen(t, now) &&
                !slurm_try_finish(ex, t, ev, ctx, true)) {
                struct ns_exec_end end = {NS_END_LOST, -1, 0, ""};
                snprintf(end.detail, sizeof end.detail,
                         "Slurm lists job %lld_%d as %s, but no process of the attempt is left "
                         "and it wrote no exit status",
                         (long long)t->job, t->index, s->state);
                end_without_exit(ex, t, &end, ev, ctx);
            }
            continue;
        }
        /* Finished or forgotten: its exit file says how, else it vanished. */
        if (slurm_try_finish(ex, t, ev, ctx, true))
            continue;
        if (t->asked && t->state == T_SUBMITTED) {
            vanished(ex, t, ev, ctx); /* cancelled by us before it ran: nothing to wait for */
            continue;
        }
        if (t->gone_since == 0) {
            t->gone_since = now;
        } else if (now - t->gone_since >= EXIT_GRACE_S) {
            if (!jobcomp_done)
                jobcomp_read(ex);
            jobcomp_done = true;
            vanished(ex, t, ev, ctx);
        }
    }
}

/* ---- strays --------------------------------------------------------------------- */

static int cmp_suspect(const void *a, const void *b)
{
    const struct suspect *x = a, *y = b;
    if (x->job != y->job)
        return x->job < y->job ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* scancel's answer: a stray it could not end is tried again only if Slurm
 * lists it on (its suspect stays cancelled: one scancel each), so say so. */
static void stray_cancel_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok,
                              const char *err, const struct ns_exec_events *ev, void *ctx)
{
    (void)c, (void)ev, (void)ctx;
    if (!ok)
        slurm_note(ex, "slurm executor: could not cancel tasks Slurm runs again: %s", err);
}

/* Marks the snapshot's rows that are live tasks of ours, then cancels the
 * rows no attempt waits for that Slurm keeps running or queued for
 * STRAY_AFTER_S: a controller restarted without having saved their start
 * launches them again (its node then drains, "Duplicate jobid"), and left
 * alone they hold the node and hide why nothing else runs. A rerun is a new
 * attempt, which only the supervisor decides (the launcher refuses to run an
 * attempt twice, cmd-launch.c); this ends Slurm's side of it. */
static void sweep_strays(struct ns_executor *ex)
{
    for (size_t i = 0; i < ex->nsnap; i++)
        ex->snap[i].ours = false;
    for (const struct ns_task *t = ex->head; t; t = t->next) {
        struct slot *s = t->job > 0 ? (struct slot *)slurm_snap_find(ex, t->job, t->index) : NULL;
        if (s)
            s->ours = true;
    }
    double now = ns_monotonic();
    struct slurm_cmd *c = slurm_cmd_slot(ex, false); /* none free: cancel on a later poll */
    struct suspect *next = NULL;
    size_t n = 0;
    struct args a = {0};
    slurm_args_add(&a, "scancel");
    struct ns_buf ids = NS_BUF_INIT;
    int ncancel = 0;
    for (size_t i = 0; i < ex->nsnap; i++) {
        const struct slot *s = &ex->snap[i];
        int si = slurm_state_find(s->state);
        if (s->ours || s->index < 0 || s->job > ex->max_job || (si >= 0 && slurm_states[si].over))
            continue;
        struct suspect key = {s->job, s->index, now, false};
        const struct suspect *was =
            ex->nsuspects ? bsearch(&key, ex->suspects, ex->nsuspects, sizeof key, cmp_suspect)
                          : NULL;
        if (was)
            key = *was;
        if (c && !key.cancelled && now - key.since >= STRAY_AFTER_S) {
            key.cancelled = true;
            slurm_args_addf(&a, "%lld_%d", (long long)s->job, s->index);
            buf_addf(&ids, "%s%lld_%d", ncancel ? " " : "", (long long)s->job, s->index);
            ncancel++;
        }
        next = ns_xrealloc(next, (n + 1) * sizeof *next);
        next[n++] = key; /* the snapshot is sorted: so is the list */
    }
    free(ex->suspects);
    ex->suspects = next;
    ex->nsuspects = n;
    if (ncancel) {
        char err[256];
        slurm_note(ex,
                   "cancelling %d task%s Slurm still runs or queues after %s attempt ended (a "
                   "controller that restarted without having saved %s start): %s",
                   ncancel, ncancel == 1 ? "" : "s", ncancel == 1 ? "its" : "each one's",
                   ncancel == 1 ? "its" : "their", ids.data);
        slurm_cmd_begin(ex, c, a.v, stray_cancel_done, err, sizeof err);
    }
    buf_release(&ids);
    slurm_args_release(&a);
}

/* ---- why nothing runs --------------------------------------------------------- */

/* A pending reason that is the run's own doing (throttle, holds) or Slurm's
 * ordinary course: no event of its own unless a node is out. */
static bool reason_ordinary(const char *r)
{
    static const char *const ordinary[] = {"None",        "JobArrayTaskLimit", "JobHeldUser",
                                           "JobHeldAdmin", "Priority",          "Resources",
                                           "BeginTime",   ""};
    for (size_t i = 0; i < NS_ARRAY_LEN(ordinary); i++)
        if (strcmp(r, ordinary[i]) == 0)
            return true;
    return false;
}

/* sinfo's answer (lines "node|state|reason"): the nodes Slurm keeps out of
 * service, with its reason, noted once per change of what blocks the run. */
static void sinfo_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok, const char *err,
                       const struct ns_exec_events *ev, void *ctx)
{
    (void)err, (void)ev, (void)ctx;
    if (!ex->blocked_since)
        return; /* something ran meanwhile */
    struct ns_buf why = NS_BUF_INIT;
    for (char *line = ok ? c->out.data : NULL, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char node[128], state[48], reason[160] = "";
        if (sscanf(line, "%127[^|]|%47[^|]|%159[^\n]", node, state, reason) < 2)
            continue;
        bool out = strncmp(state, "drain", 5) == 0 || strncmp(state, "down", 4) == 0 ||
                   strncmp(state, "fail", 4) == 0 || strncmp(state, "inval", 5) == 0;
        if (!out || (why.data && strstr(why.data, node))) /* -N lists a node per partition */
            continue;
        buf_addf(&why, "%snode %s %s%s%s", why.len ? "; " : "", node, state,
                 reason[0] && strcmp(reason, "none") != 0 ? ": " : "",
                 strcmp(reason, "none") != 0 ? reason : "");
    }
    if (!why.len && c->dir && !reason_ordinary(c->dir))
        buf_addf(&why, "Slurm says %s", c->dir);
    if (why.len && strcmp(why.data, ex->blocked) != 0) {
        snprintf(ex->blocked, sizeof ex->blocked, "%s", why.data);
        slurm_note(ex, "nothing can run: %s", ex->blocked);
        ex->blocked_changed = true;
    }
    buf_release(&why);
}

/* After each squeue: when tasks of the run wait and none runs (for
 * BLOCKED_AFTER_S), asks sinfo which nodes are out and notes why nothing
 * can run, once per change; notes again when tasks run. */
#define BLOCKED_AFTER_S 2.0
#define SINFO_INTERVAL_S 5.0
void slurm_watch_blocked(struct ns_executor *ex)
{
    const char *reason = NULL;
    bool runs = false;
    for (size_t i = 0; i < ex->nsnap && !runs; i++) {
        const struct slot *s = &ex->snap[i];
        if (!s->ours)
            continue; /* a stray (or not yet ours): says nothing of the run's tasks */
        int si = slurm_state_find(s->state);
        runs = si >= 0 && slurm_states[si].running && !slurm_states[si].over;
        if (si >= 0 && !slurm_states[si].running && !slurm_states[si].over && !s->held)
            reason = s->reason;
    }
    double now = ns_monotonic();
    if (runs || !reason) {
        if (ex->blocked[0]) {
            slurm_note(ex, "tasks run again on Slurm (was: %s)", ex->blocked);
            ex->blocked_changed = true;
        }
        ex->blocked[0] = '\0';
        ex->blocked_since = 0;
        return;
    }
    if (ex->blocked_since == 0)
        ex->blocked_since = now;
    if (now - ex->blocked_since < BLOCKED_AFTER_S || now < ex->next_sinfo)
        return;
    struct slurm_cmd *c = slurm_cmd_slot(ex, false);
    if (!c)
        return;
    ex->next_sinfo = now + SINFO_INTERVAL_S;
    c->dir = ns_xstrdup(reason);
    char *argv[] = {(char *)"sinfo", (char *)"--noheader", (char *)"--Node",
                    (char *)"--format=%N|%T|%E", NULL};
    char err[256];
    slurm_cmd_begin(ex, c, argv, sinfo_done, err, sizeof err);
}

bool slurm_task_known(const struct ns_task *t)
{
    return t->job > 0 && !t->slurm_gone;
}

/* squeue's answer, on a later turn: what it means for each task, then the
 * arrays' throttles and whether anything can run at all. */
static void poll_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok, const char *err,
                      const struct ns_exec_events *ev, void *ctx)
{
    (void)err;
    ex->snap_at = ns_monotonic();
    if (!ok)
        return; /* nothing is concluded from silence */
    ex->snap_begun = c->began;
    parse_snapshot(ex, c->out.data);
    apply_snapshot(ex, ev, ctx);
    slurm_rebalance(ex);
    sweep_strays(ex);
    slurm_watch_blocked(ex);
}

/* Starts the per-second squeue beside the loop. */
void slurm_poll_begin(struct ns_executor *ex)
{
    char name[PATH_MAX], *argv[7], err[256];
    struct slurm_cmd *c = slurm_cmd_slot(ex, true);
    if (!c)
        return;
    squeue_argv(ex, name, sizeof name, argv);
    slurm_cmd_begin(ex, c, argv, poll_done, err, sizeof err); /* tried again next interval */
}
