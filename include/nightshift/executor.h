/*
 * executor.h - where an attempt runs, behind one table of semantic operations.
 *
 * The supervisor (runtime.c) decides *what* happens to an attempt: dispatch,
 * retry, backoff, timeouts, checkpoints, the journal. An executor decides
 * *how*: `local` (exec-local.c) runs each attempt as a process group on this
 * machine; `slurm` (exec/slurm*.c) hands attempts to Slurm as job arrays. The
 * supervisor never names a pid, a signal or a job id: it asks for actions
 * (pause, resume, terminate, kill) and receives events (report bytes, output
 * bytes, started, ended).
 *
 * Ownership: one executor belongs to one supervisor thread; nothing here is
 * shared with other threads. A task (one attempt's handle) belongs to the
 * executor; the supervisor holds the pointer from start (or recover) until the
 * `ended` event, after which the executor frees it and the pointer is dead.
 */
#ifndef NIGHTSHIFT_EXECUTOR_H
#define NIGHTSHIFT_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nightshift/exec.h"

struct pollfd;
struct ns_executor; /* one backend instance, opaque */
struct ns_task;     /* one attempt in a backend, opaque */

/* What the supervisor asks of a live task. */
enum ns_exec_action {
    NS_EXEC_PAUSE,     /* stop using CPU, keep state (local: SIGSTOP; slurm: suspend/hold) */
    NS_EXEC_RESUME,    /* undo PAUSE */
    NS_EXEC_TERMINATE, /* ask it to end now, gracefully (local: SIGCONT+SIGTERM) */
    NS_EXEC_KILL,      /* end it now, not gracefully */
};

/* How a task ended, as far as the executor knows. The supervisor adds its
 * own knowledge (it asked for a timeout, a kill, a stop) on top. */
#define NS_EXEC_END_KINDS(X)                                                                       \
    X(EXITED, "exited")                                                                            \
    X(SIGNALLED, "signalled")                                                                      \
    X(TIMED_OUT, "timed_out") /* the backend's own time limit (slurm --time) */                    \
    X(CANCELLED, "cancelled") /* cancelled by the backend, not by us */                            \
    X(LOST, "lost")           /* vanished: node lost, preempted, no outcome */

#define NS_EXEC_END_ENUM(e, s) NS_END_##e,
enum ns_exec_end_kind { NS_EXEC_END_KINDS(NS_EXEC_END_ENUM) NS_END_NKINDS };
#undef NS_EXEC_END_ENUM

/* Name of an end kind ("exited", "lost"...). */
const char *ns_exec_end_name(enum ns_exec_end_kind kind);

struct ns_exec_end {
    enum ns_exec_end_kind kind;
    int code;          /* EXITED: the exit status; else -1 */
    int sig;           /* SIGNALLED: the signal number; else 0 */
    char detail[160];  /* words for the attempt's message ("node n1 lost"), may be empty */
};

/* Capability bits: what the supervisor may rely on. */
enum {
    NS_EXEC_CAN_PAUSE = 1 << 0, /* PAUSE/RESUME really stop the work */
    NS_EXEC_CAN_ADOPT = 1 << 1, /* recover() can re-attach to a task a dead runtime left */
    NS_EXEC_QUEUES = 1 << 2,    /* start() may return before the task runs; `started` follows,
                                   and the backend throttles to `concurrency` itself */
    NS_EXEC_CHILDREN = 1 << 3,  /* tasks are child processes of the runtime (child_exited) */
};

/* Events a backend delivers from service(). owner is the cookie given to
 * start()/recover(). After `ended` returns, the task is freed. */
struct ns_exec_events {
    void (*report)(void *ctx, void *owner, const char *buf, size_t n);
    void (*output)(void *ctx, void *owner, const char *buf, size_t n);
    void (*started)(void *ctx, void *owner); /* NS_EXEC_QUEUES only: it now runs */
    void (*ended)(void *ctx, void *owner, const struct ns_exec_end *end);
    /* Words about the backend for the run's events ("slurm: `scancel ...`
     * gave no answer in 60 s: killed", "nothing can run: node n1 drained:
     * ..."); may be NULL. */
    void (*note)(void *ctx, const char *message);
    /* What keeps every waiting task of the run from running, as the backend
     * sees it ("node n1 drained: disk"), or NULL once tasks run again (or
     * none waits). Once per change, beside the note that says it in words;
     * may be NULL. */
    void (*blocked)(void *ctx, const char *reason);
};

/* What open() needs to know about the run. Strings are borrowed for the
 * executor's life. */
struct ns_exec_config {
    const char *db_path;   /* the store, for paths beside it */
    const char *run_dir;   /* <db>.d/run-N: per-run files */
    const char *run_token; /* "NIGHTSHIFT_RUN_TOKEN=..." every task inherits */
    int64_t run_id;
    int64_t stop_grace_ms; /* TERM -> KILL when ending strays */
    int concurrency;
    const void *backend; /* backend-specific settings (struct ns_spec_slurm *) or NULL */
};

/* Result of recover(). */
enum ns_recover {
    NS_RECOVER_GONE,    /* nothing of it is left; no outcome known */
    NS_RECOVER_ENDED,   /* it was still running and could not be adopted: it was ended */
    NS_RECOVER_ADOPTED, /* *out is a live task again; its reports and output continue
                           from the offsets given, and `ended` follows as usual */
};

struct ns_buf;

struct ns_executor_ops {
    const char *name; /* "local", "slurm": stored per attempt */
    unsigned caps;

    /* Appends the canonical lines of the backend's settings (settings: as
     * executor_settings gives them) to the spec's, for the spec hash and
     * "the spec changed" diffs; NULL: it has none. */
    void (*canonical)(const void *settings, struct ns_buf *out);

    /* Opens the backend. Returns 0, or -1 with err filled. */
    int (*open)(const struct ns_exec_config *cfg, struct ns_executor **out, char *err,
                size_t errlen);
    /* Frees the backend; live tasks are forgotten, not ended. */
    void (*close)(struct ns_executor *ex);

    /* Starts (or, with NS_EXEC_QUEUES, queues) one attempt. attempt_id is
     * the attempts row. Returns 0 with *out set, -1 with err filled
     * ("./w.sh: No such file or directory"), or NS_EXEC_ENV_FAULT (exec.h)
     * with err filled when the runtime's environment is at fault (out of
     * descriptors or processes): the attempt is not the partition's to pay
     * for, and the supervisor holds dispatch for a while. */
    int (*start)(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id,
                 void *owner, struct ns_task **out, char *err, size_t errlen);
    /* Submits what start() queued (one job array per call); a no-op for
     * backends that start at once. It never waits for the cluster: a
     * submission may answer on a later turn (the locator is known from
     * then on), and its failure is a `note`, each of its tasks ending with
     * NS_END_LOST through service(). Returns 0, or -1 with err filled when
     * the submission could not even begin (its tasks end the same way). */
    int (*flush)(struct ns_executor *ex, char *err, size_t errlen);
    /* Applies action to a live task, without waiting for the cluster (a
     * queueing backend sends it on; a hung command never holds the loop).
     * Returns 0, or -1 if the backend could not (the task may have ended
     * already; its `ended` event follows). */
    int (*control)(struct ns_executor *ex, struct ns_task *t, enum ns_exec_action action);
    /* Changes the backend's own throttle (NS_EXEC_QUEUES); may be NULL. */
    void (*set_concurrency)(struct ns_executor *ex, int concurrency);

    /* Fills up to cap pollfds the backend wants watched; returns how many it
     * needs (call again with more room if that is > cap). */
    size_t (*pollfds)(struct ns_executor *ex, struct pollfd *pfd, size_t cap);
    /* Monotonic time of the next wake-up the backend needs (a status poll),
     * 0 if none. */
    double (*next_wakeup)(const struct ns_executor *ex);
    /* Does the backend's work: reads what the pollfds hold (pfd as filled by
     * pollfds, with revents), polls its status when due, and delivers events. */
    void (*service)(struct ns_executor *ex, const struct pollfd *pfd, size_t n,
                    const struct ns_exec_events *ev, void *ctx);
    /* NS_EXEC_CHILDREN: offers a reaped child; true if it was one of ours. */
    bool (*child_exited)(struct ns_executor *ex, int pid, int wstatus);

    /* A string that finds the task again after a restart (stored in
     * attempts.locator); the caller frees it. NULL if not known yet. */
    char *(*locator)(const struct ns_executor *ex, const struct ns_task *t);
    /* Finds the task a dead runtime left (locator may be NULL when the
     * runtime died before it was stored) and adopts or ends it. An adopted
     * task delivers its reports from byte report_offset and its output from
     * output_offset: what the supervisor had consumed and committed (it stores
     * them with what they produced, for NS_EXEC_CAN_ADOPT backends). */
    enum ns_recover (*recover)(struct ns_executor *ex, const char *locator, int64_t attempt_id,
                               int64_t report_offset, int64_t output_offset, void *owner,
                               struct ns_task **out);
    /* Ends everything of this run the backend can find that is not a live
     * or adopted task (grandchildren that escaped, jobs whose submission was
     * never recorded). Returns how many it ended. */
    int (*end_strays)(struct ns_executor *ex);
    /* NS_EXEC_QUEUES: true if the task has started running (an adopted task
     * may still be queued; its `started` event follows). NULL: tasks run
     * from start(). */
    bool (*is_running)(const struct ns_executor *ex, const struct ns_task *t);
    /* Words for the task: "pid 4121", "job 881_4". */
    void (*describe)(const struct ns_executor *ex, const struct ns_task *t, char *buf, size_t len);
};

extern const struct ns_executor_ops ns_exec_local;
extern const struct ns_executor_ops ns_exec_slurm; /* exec/slurm.c */

/* The backend named name ("local", "slurm"), or NULL. */
const struct ns_executor_ops *executor_find(const char *name);

struct ns_spec;
/* The spec's settings for backend ops (for ns_exec_config.backend: struct
 * ns_spec_slurm * for Slurm), or NULL if it has none or is not in the
 * table (a test's fake executor). Points into spec. */
const void *executor_settings(const struct ns_executor_ops *ops, const struct ns_spec *spec);

/* The spec's canonical settings (spec_canonical) followed by those of its
 * backend (ops->canonical): what a run's spec hash is taken over. Caller
 * frees. */
char *executor_canonical(const struct ns_executor_ops *ops, const struct ns_spec *spec);

#endif
