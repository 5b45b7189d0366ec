/*
 * slurm-internal.h - what the files of the `slurm` executor share: the
 * executor's and the task's structs and the helpers each file lends the
 * others. Nobody outside runtime/exec/slurm*.c includes it.
 *
 *   slurm.c          running Slurm's commands, tasks, open/close and
 *                    config, the loop's side, the ops table
 *   slurm-submit.c   start and submit (sbatch arrays)
 *   slurm-control.c  operator actions and the arrays' throttles
 *   slurm-spool.c    reading the spool: tailing, exit files
 *   slurm-queue.c    what Slurm says: the queue snapshot and its states,
 *                    the jobcomp file
 *   slurm-restart.c  after a restart: recover, strays, describe
 *
 * Ownership: one supervisor thread; tasks are in one doubly linked list.
 */
#ifndef NIGHTSHIFT_SLURM_INTERNAL_H
#define NIGHTSHIFT_SLURM_INTERNAL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "nightshift/executor.h"
#include "nightshift/spec.h"
#include "nightshift/spool.h"
#include "nightshift/util.h"

#define POLL_INTERVAL_S 1.0  /* one squeue per second for the whole run */
#define TAIL_INTERVAL_S 0.25 /* started tasks' spool files */
#define EXIT_GRACE_S 3.0     /* a finished task's exit file may lag on a shared filesystem */
#define CMD_TIMEOUT_S 60.0   /* a Slurm command that hangs longer is killed */
#define READ_CHUNK 65536
#define TURN_BUDGET (4 * READ_CHUNK)
#define DEFAULT_MAX_ARRAY 1001

enum tstate {
    T_QUEUED,    /* start()ed, not yet submitted */
    T_SUBMITTED, /* in Slurm, not seen running */
    T_STARTED,   /* seen running (or its files are there) */
};

/* Actions collected in one turn, applied by slurm_apply_actions(). */
enum {
    A_HOLD = 1 << 0,
    A_RELEASE = 1 << 1,
    A_SUSPEND = 1 << 2,
    A_RESUME = 1 << 3,
    A_TERM = 1 << 4,   /* scancel --batch --signal=TERM */
    A_CANCEL = 1 << 5, /* scancel */
    A_KILL = 1 << 6,   /* scancel --full --signal=KILL, then scancel */
};

struct ns_task {
    struct ns_task *prev, *next;
    int64_t attempt_id;
    void *owner;
    char *dir; /* SPOOL/<run>/a<ATTEMPT> */
    enum tstate state;
    int64_t job; /* array job id; 0 before submission */
    int index;   /* array task id */
    unsigned actions;
    bool held, suspended; /* what we did to it */
    int asked;            /* 0, NS_EXEC_TERMINATE or NS_EXEC_KILL: we ended it */
    bool failed_submit;
    char submit_error[160];
    int report_fd, output_fd;
    int64_t report_off, output_off; /* where reading starts when the files open */
    double gone_since;              /* Slurm says finished (or forgot it), no exit file yet */
    char slurm_state[24];           /* last state squeue gave */
    bool slurm_held;                /* and whether it was held */
    /* Its last line in the jobcomp file (jobcomp_read), if any. */
    char jc_state[24];
    int jc_code, jc_sig;
};

struct ns_executor {
    struct ns_exec_config cfg;
    const struct ns_spec_slurm *sl;
    char *run_key;  /* "<db hash>.<run id>": unique per database and run */
    char *job_name; /* "nightshift.<run key>": what squeue filters on */
    char *spool;    /* SPOOL/<run key> */
    char *script;   /* SPOOL/<run key>/launch.sh */
    int concurrency;
    int max_array;
    struct ns_task *head, *tail;
    size_t nqueued, nsubmitted, nstarted;
    double next_poll, next_tail;
    bool actions_pending;
    /* Arrays with tasks in Slurm, oldest first, and the throttle each has.
     * Together they never run more than `concurrency` tasks (slurm_rebalance()):
     * an array the older ones leave no slot gets none - it is held by us
     * (gated) until they do. */
    struct array {
        int64_t job;
        int throttle;
        bool gated; /* submitted --hold (or held by rebalance), not yet released */
    } * arrays;
    size_t narrays;
    /* The last squeue listing, sorted by (job, index), for recover(). */
    struct slot {
        int64_t job;
        int index;
        char state[24];
        bool held; /* pending with a hold (ours: pause, or an array's gate) */
    } * snap;
    size_t nsnap;
    double snap_at;
    bool snap_ok;
    /* The jobcomp/filetxt file (JobCompLoc), read from jc_off on: one
     * key=value line per finished job, the last per job wins. NULL when
     * Slurm keeps no such file. */
    char *jobcomp;
    int64_t jc_off;
    /* The per-second squeue runs beside the loop: its stdout is one of our
     * pollfds, the supervisor reaps it and offers it to child_exited(). */
    pid_t poll_pid; /* 0: none running */
    int poll_fd, poll_errfd;
    bool poll_reaped;
    int poll_status;
    double poll_deadline;
    struct ns_buf poll_out;
};

/* How many names one attempt or array directory may try: a<ID>, a<ID>.1, ... */
#define OWN_DIR_TRIES 100

/* Slurm's job states, and what each means for a task without an exit file
 * (slurm-queue.c; slurm_state_find gives the index). */
struct slurm_state {
    const char *state;
    bool running; /* it has started */
    bool over;    /* it will not run (any more) */
    enum ns_exec_end_kind kind;
};
extern const struct slurm_state slurm_states[];

/* A growing argv for one command. */
struct args {
    char **v;
    size_t n, cap;
};

/* ---- slurm.c --------------------------------------------------------------- */

/* Starts argv (looked up in PATH, no shell) with stdin /dev/null and
 * stdout and stderr on pipes whose read ends go to *out_fd and *err_fd
 * (CLOEXEC). Returns the pid, or -1 with err filled. */
pid_t slurm_spawn_cmd(char *const *argv, int *out_fd, int *err_fd, char *err, size_t errlen);

/* Runs argv to its end: stdout into out (may be NULL), stderr's first line
 * into err. Returns the exit status, or -1 if it could not run or was
 * killed at CMD_TIMEOUT_S. Blocks: for the short commands (sbatch, scontrol,
 * scancel); the per-second squeue runs beside the loop (poll_begin). */
int slurm_run_cmd(char *const *argv, struct ns_buf *out, char *err, size_t errlen);

void slurm_args_add(struct args *a, const char *s);

void slurm_args_addf(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void slurm_args_release(struct args *a);

void slurm_task_set_state(struct ns_executor *ex, struct ns_task *t, enum tstate s);

void slurm_task_free(struct ns_executor *ex, struct ns_task *t);

/* dir: the attempt's spool directory (taken). */
struct ns_task *slurm_task_new(struct ns_executor *ex, int64_t attempt_id, void *owner, char *dir);

/* ---- slurm-submit.c -------------------------------------------------------- */

/* Creates a directory that did not exist: SPOOL/<kind><id>, or, if that is
 * there, SPOOL/<kind><id>.1, .2, ... A directory already there is never
 * ours: an attempt id comes round again when a runtime died before its
 * attempt row was committed, and that attempt's task may still write into
 * its own folder. Returns the path (caller frees), or NULL with err. */
char *slurm_make_own_dir(const struct ns_executor *ex, char kind, int64_t id, char *err,
                         size_t errlen);

/* The ops (executor.h: struct ns_executor_ops) live in the file of their
 * section; slurm.c gathers them into ns_exec_slurm. */
int slurm_start(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id, void *owner,
                struct ns_task **out, char *err, size_t errlen);

int slurm_flush(struct ns_executor *ex, char *err, size_t errlen);

/* ---- slurm-control.c ------------------------------------------------------- */

int slurm_control(struct ns_executor *ex, struct ns_task *t, enum ns_exec_action action);

/* Applies the actions collected this turn, one command per kind. */
void slurm_apply_actions(struct ns_executor *ex);

/* Keeps the run within `concurrency` across its arrays: array i may run
 * what the tasks of older arrays (queued or running) leave; an array left
 * nothing is held (gated) and released once something is left, its throttle
 * set first. Older arrays only shrink, so a throttle never has to drop
 * below what an array runs and the run never runs more than `concurrency`.
 * Arrays without tasks in Slurm are forgotten. Issues `scontrol` only for
 * changes; a gated array is not released while the operator holds one of
 * its tasks (pause: resume leaves the gate to this). */
void slurm_rebalance(struct ns_executor *ex);

void slurm_set_concurrency(struct ns_executor *ex, int concurrency);

/* ---- slurm-spool.c --------------------------------------------------------- */

/* Delivers what is new in one spool file, at most budget bytes (0: all). */
void slurm_drain(int *fd, struct ns_task *t, const char *dir, const char *name, int64_t off,
                 size_t budget, void (*deliver)(void *, void *, const char *, size_t), void *ctx);

void slurm_end_task(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_end *end,
                    const struct ns_exec_events *ev, void *ctx);

void slurm_deliver_started(struct ns_executor *ex, struct ns_task *t,
                           const struct ns_exec_events *ev, void *ctx);

/* If t's exit file is there: delivers the rest of its files and `ended`.
 * Returns true when t is gone. A worker killed by a signal we did not send
 * may have been ended by Slurm (scancel behind our back, its time limit,
 * preemption): unless slurm_over says Slurm has finished with the task, that
 * waits for the next squeue, whose state then decides. */
bool slurm_try_finish(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_events *ev,
                      void *ctx, bool slurm_over);

/* ---- slurm-queue.c --------------------------------------------------------- */

/* One squeue for every task of the run, waited for (recover, end_strays:
 * before the loop runs). Returns 0, or -1 if Slurm did not answer (nothing
 * is concluded from silence). */
int slurm_take_snapshot(struct ns_executor *ex);

/* The last snapshot's slot of task job_index, or NULL. */
const struct slot *slurm_snap_find(const struct ns_executor *ex, int64_t job, int index);

/* The index of Slurm state s in slurm_states, or -1. */
int slurm_state_find(const char *s);

/* For a worker that died of a signal we did not send: the end Slurm's state
 * stands for (cancelled, timed out, lost), or NS_END_SIGNALLED when the
 * signal was the worker's own business (FAILED, OUT_OF_MEMORY...). */
enum ns_exec_end_kind slurm_state_overrides(int si);

/* Starts the per-second squeue without waiting for it. */
void slurm_poll_begin(struct ns_executor *ex);

/* Reads what squeue wrote; at EOF on both pipes and once it was reaped,
 * applies the answer (a failed squeue changes nothing). */
void slurm_poll_continue(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx);

bool slurm_child_exited(struct ns_executor *ex, int pid, int wstatus);

/* ---- slurm-restart.c ------------------------------------------------------- */

char *slurm_locator(const struct ns_executor *ex, const struct ns_task *t);

enum ns_recover slurm_recover(struct ns_executor *ex, const char *locator, int64_t attempt_id,
                              int64_t report_offset, int64_t output_offset, void *owner,
                              struct ns_task **out);

int slurm_end_strays(struct ns_executor *ex);

bool slurm_is_running(const struct ns_executor *ex, const struct ns_task *t);

void slurm_describe(const struct ns_executor *ex, const struct ns_task *t, char *buf, size_t len);

#endif
