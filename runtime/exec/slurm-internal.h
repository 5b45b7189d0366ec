/*
 * slurm-internal.h - what the files of the `slurm` executor share: the
 * executor's and the task's structs and the helpers each file lends the
 * others. Nobody outside runtime/exec/slurm*.c includes it.
 *
 *   slurm.c          tasks, open/close and config, the loop's side, the
 *                    ops table
 *   slurm-cmd.c      running Slurm's commands: beside the loop (with
 *                    deadlines, answers on a later turn) or, before the
 *                    loop runs, waited for
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
#define STRAY_AFTER_S 15.0   /* a task Slurm still runs this long after its attempt ended */
#define CMD_TIMEOUT_S 60.0   /* a Slurm command that hangs longer is killed */
#define CMD_SLOTS 4          /* commands in flight at once, besides the squeue poll */
#define READ_CHUNK 65536
#define TURN_BUDGET (4 * READ_CHUNK)
#define DEFAULT_MAX_ARRAY 1001

enum tstate {
    T_QUEUED,     /* start()ed, not yet submitted */
    T_SUBMITTING, /* in an sbatch that has not answered yet: never freed meanwhile */
    T_SUBMITTED,  /* in Slurm, not seen running */
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
    A_STOP = 1 << 7,   /* scancel --full --signal=STOP: when scontrol suspend fails */
    A_CONT = 1 << 8,   /* scancel --full --signal=CONT: undoes A_STOP with a resume */
};

/* A task of an array, as a command names it ("881_4"). */
struct slurm_id {
    int64_t job;
    int index;
};

struct slurm_cmd;
/* What a command beside the loop does with its answer: ok when it exited 0,
 * else err says why ("scontrol: Invalid job id", "no answer in 60 s"). */
typedef void slurm_cmd_done(struct ns_executor *ex, struct slurm_cmd *c, bool ok,
                            const char *err, const struct ns_exec_events *ev, void *ctx);

/* One Slurm command running beside the loop (slurm-cmd.c). */
struct slurm_cmd {
    pid_t pid; /* 0: the slot is free */
    int out_fd, err_fd;
    bool reaped, killed;
    int status;
    double began, deadline;
    struct ns_buf out, err;
    char words[200]; /* the command line, for events */
    slurm_cmd_done *done;
    /* What done() needs to know, as the caller set it. */
    unsigned bit;             /* an action's bit */
    int64_t job;              /* an array's command: its job id */
    int value;                /* sbatch: the throttle; scontrol update: the throttle set */
    bool flag;                /* sbatch: submitted --hold (gated) */
    struct ns_task **tasks;   /* sbatch: the tasks it submits (T_SUBMITTING) */
    size_t ntasks;
    struct slurm_id *ids;     /* an action: the tasks it names, sorted */
    size_t nids;
    char *dir;                /* sbatch: the array's folder */
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
    double submitted_at; /* monotonic time sbatch answered (0: adopted) */
    bool slurm_gone;     /* the last squeue (begun after submission) says Slurm is done
                            with it or no longer knows it: no command names it again */
    struct ns_launch *launch; /* what its launch file says (one block), kept so the
                                 spool can be made again if it is removed */
    int report_fd, output_fd;
    int64_t report_off, output_off; /* where reading starts when the files open */
    double gone_since;              /* Slurm says finished (or forgot it), no exit file yet */
    char slurm_state[24];           /* last state squeue gave */
    bool slurm_held;                /* and whether it was held */
    /* Its partition's fence (spool.h): NULL until looked up, "" when it has
     * none. When its launcher said it holds the fence (`fenced`) and the
     * fence is free with no exit file, the attempt's processes are gone,
     * whatever Slurm lists (slurm-queue.c gone_unseen). */
    char *fence;
    double fence_free_since, next_fence_check;
    /* When Slurm first listed it as running (squeue's StartTime): a
     * jobcomp record with another start is of another launch of the task
     * (a restarted controller's), not of the one that ran its worker. */
    char slurm_start[24];
    /* Its last line in the jobcomp file (jobcomp_read), if any. */
    char jc_start[24];
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
    char *script_line; /* what launch.sh holds: "#!<nightshift> _launch" */
    int concurrency;
    int max_array;
    struct ns_task *head, *tail;
    size_t nqueued, nsubmitting, nsubmitted, nstarted;
    double next_poll, next_tail;
    bool actions_pending;
    double cmd_timeout; /* CMD_TIMEOUT_S, or NIGHTSHIFT_SLURM_CMD_TIMEOUT_S (tests) */
    /* Commands beside the loop: cmds[0] is the squeue poll's, the others
     * anything else. One sbatch at a time, so arrays stay in order. */
    struct slurm_cmd cmds[1 + CMD_SLOTS];
    bool submitting;
    /* Words for the run's events, delivered by the next service() (notes
     * arise where no event sink is at hand: flush, control). */
    struct ns_buf notes;
    /* The spool's run folder was found gone and could not be re-created:
     * queued tasks wait, and it is tried again then (slurm-submit.c). */
    double spool_retry_at; /* while it cannot be re-created: when to try again */
    bool spool_broken;     /* noted; cleared (and noted) when it works again */
    double next_spool_check;
    /* Why nothing runs, as Slurm says it (slurm-queue.c watch_blocked). */
    char blocked[256];     /* the last reason noted ("" none) */
    bool blocked_changed;  /* blocked changed since service() last said it */
    double blocked_since;  /* monotonic time nothing of ours ran with tasks pending */
    double next_sinfo;     /* sinfo is asked at most every SINFO_INTERVAL_S */
    /* Arrays with tasks in Slurm, oldest first, and the throttle each has.
     * Together they never run more than `concurrency` tasks (slurm_rebalance()):
     * an array the older ones leave no slot gets none - it is held by us
     * (gated) until they do. */
    struct array {
        int64_t job;
        int throttle;
        bool gated; /* submitted --hold (or held by rebalance), not yet released */
        bool busy;  /* an scontrol for it is in flight (one at a time) */
        char *dir;  /* its folder b<FIRST> (NULL when adopted) */
    } * arrays;
    size_t narrays;
    /* The last squeue listing, sorted by (job, index), for recover(). */
    struct slot {
        int64_t job;
        int index;
        char state[24];
        bool held; /* pending with a hold (ours: pause, or an array's gate) */
        char reason[64]; /* squeue's %r: why it waits */
        char start[24];  /* squeue's %S: when it started (the controller's clock) */
        bool ours;       /* a live task of ours is this one (slurm_sweep_strays) */
    } * snap;
    size_t nsnap;
    double snap_at;
    double snap_begun; /* when the squeue behind the snapshot started */
    bool snap_ok;
    /* The jobcomp/filetxt file (JobCompLoc), read from jc_off on: one
     * key=value line per finished job, the last per job wins. NULL when
     * Slurm keeps no such file. */
    char *jobcomp;
    int64_t jc_off;
    /* Strays: tasks of ours Slurm runs or queues though no attempt waits
     * for them (a controller that restarted without having saved their
     * start launches them again). max_job is the newest job id sbatch gave
     * us (or recover found): a listed task above it may be an sbatch whose
     * answer is still on its way, never a stray. Suspects are sorted by
     * (job, index); one that stays listed STRAY_AFTER_S is cancelled. */
    int64_t max_job;
    struct suspect {
        int64_t job;
        int index;
        double since;
        bool cancelled;
    } * suspects;
    size_t nsuspects;
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

/* ---- slurm-cmd.c ----------------------------------------------------------- */

/* Starts argv (looked up in PATH, no shell) with stdin /dev/null and
 * stdout and stderr on pipes whose read ends go to *out_fd and *err_fd
 * (CLOEXEC). Returns the pid, or -1 with err filled. */
pid_t slurm_spawn_cmd(char *const *argv, int *out_fd, int *err_fd, char *err, size_t errlen);

/* Runs argv to its end: stdout into out (may be NULL), stderr's first line
 * into err. Returns the exit status, or -1 if it could not run or was
 * killed at CMD_TIMEOUT_S. Blocks the caller: only for when the loop does
 * not run (open: scontrol show config; recover and end_strays, before
 * dispatch or after the loop). Inside the loop, slurm_cmd_begin. */
int slurm_run_cmd(char *const *argv, struct ns_buf *out, char *err, size_t errlen);

/* A free slot for a command beside the loop (the squeue poll's own when
 * poll), or NULL when CMD_SLOTS are in flight: try again on a later turn. */
struct slurm_cmd *slurm_cmd_slot(struct ns_executor *ex, bool poll);

/* Starts argv in slot c (from slurm_cmd_slot, its context fields already
 * set) without waiting: done(c) runs from a later service() with its
 * answer, or with ok false once it failed or was killed at its deadline
 * (ex->cmd_timeout; the kill is noted with the command's words). Returns 0,
 * or -1 with err filled: then c is free again and done is not called. */
int slurm_cmd_begin(struct ns_executor *ex, struct slurm_cmd *c, char *const *argv,
                    slurm_cmd_done *done, char *err, size_t errlen);

/* Reads what the commands wrote, kills those past their deadline, and runs
 * done() for each that has ended (read to EOF and reaped). */
void slurm_cmd_service(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx);

size_t slurm_cmd_pollfds(const struct ns_executor *ex, struct pollfd *pfd, size_t cap);

/* The nearest deadline of a command in flight, 0 if none. */
double slurm_cmd_next_deadline(const struct ns_executor *ex);

bool slurm_child_exited(struct ns_executor *ex, int pid, int wstatus);

/* Kills and reaps every command in flight, without their done() (close;
 * end_strays, when the loop no longer runs). */
void slurm_cmd_kill_all(struct ns_executor *ex);

/* Keeps words for the run's events; the next service() delivers them. */
void slurm_note(struct ns_executor *ex, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void slurm_args_add(struct args *a, const char *s);

void slurm_args_addf(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void slurm_args_release(struct args *a);

/* ---- slurm.c --------------------------------------------------------------- */

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

/* mkdir -p (0755). Returns 0 or -1 (errno). */
int slurm_mkdirs(const char *path);

/* The run's spool folder and launch.sh, made if missing. Returns 0 or -1
 * with err filled. */
int slurm_spool_prepare(struct ns_executor *ex, char *err, size_t errlen);

/* When the run's spool folder is gone (a tmp cleaner, an operator's rm):
 * makes it again with launch.sh, every live task's folder (launch and
 * array files) and every array's links, notes it, and gives deferred
 * tasks their folders. While that fails, tasks wait queued and their
 * attempts are not charged: it is an environment fault, noted once and
 * tried again every SPOOL_RETRY_S. Cheap when the spool is there (one
 * access(2) at most once per poll interval). */
void slurm_spool_check(struct ns_executor *ex, bool now);

/* A copy of l in one heap block (free() frees it). */
struct ns_launch *slurm_launch_pack(const struct ns_launch *l);

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

/* Starts the per-second squeue beside the loop; its answer is applied on
 * a later turn (a failed squeue changes nothing). */
void slurm_poll_begin(struct ns_executor *ex);

/* After each squeue: notes why nothing of the run can run (a node Slurm
 * drained, with its reason), once per change, and when tasks run again. */
void slurm_watch_blocked(struct ns_executor *ex);

/* Whether a command may still name t: Slurm has it and has not finished
 * with it, as far as the last squeue knows. */
bool slurm_task_known(const struct ns_task *t);

/* ---- slurm-restart.c ------------------------------------------------------- */

char *slurm_locator(const struct ns_executor *ex, const struct ns_task *t);

enum ns_recover slurm_recover(struct ns_executor *ex, const char *locator, int64_t attempt_id,
                              int64_t report_offset, int64_t output_offset, void *owner,
                              struct ns_task **out);

int slurm_end_strays(struct ns_executor *ex);

bool slurm_is_running(const struct ns_executor *ex, const struct ns_task *t);

void slurm_describe(const struct ns_executor *ex, const struct ns_task *t, char *buf, size_t len);

#endif
