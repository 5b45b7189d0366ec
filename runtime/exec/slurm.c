/*
 * exec-slurm.c - the `slurm` executor: attempts run as tasks of Slurm job
 * arrays (see executor.h for the contract, spool.h for the files shared with
 * the launcher, docs/cluster.md for the operator's view).
 *
 * start() writes the attempt's launch file into the spool and queues it;
 * flush() submits everything queued as one `sbatch --array=0-K%N` (N =
 * concurrency; more than MaxArraySize tasks become several arrays). sbatch,
 * squeue, scontrol and scancel run with posix_spawnp and an argv we build:
 * no shell, and the batch script is one fixed line naming the launcher.
 *
 * What a task does is read from its spool files, not from Slurm: service()
 * tails each started task's `report` and `output` files (the bytes go to the
 * supervisor's one report parser, exactly as from a local pipe) and ends the
 * task when its `exit` file appears. Slurm is asked once per poll interval
 * for the whole run (one squeue listing every task of the run's job name):
 * that says when a queued task starts, and which tasks vanished without an
 * exit file (scancel behind our back, node failure, preemption, time limit),
 * which end as cancelled / lost / timed out after a short grace for the
 * shared filesystem to show a late exit file.
 *
 * Operator actions are collected per turn and applied in one command per
 * kind (scontrol hold/suspend/release/resume with a job list, scancel with
 * many ids): pausing a thousand queued tasks is a handful of calls.
 *
 * Ownership: one supervisor thread; tasks are in one doubly linked list.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nightshift/executor.h"
#include "nightshift/spec.h"
#include "nightshift/spool.h"
#include "nightshift/util.h"

extern char **environ;

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

/* Actions collected in one turn, applied by apply_actions(). */
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
     * Together they never run more than `concurrency` tasks (rebalance()):
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

/* ---- running Slurm's commands ------------------------------------------ */

/* Starts argv (looked up in PATH, no shell) with stdin /dev/null and
 * stdout and stderr on pipes whose read ends go to *out_fd and *err_fd
 * (CLOEXEC). Returns the pid, or -1 with err filled. */
static pid_t spawn_cmd(char *const *argv, int *out_fd, int *err_fd, char *err, size_t errlen)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0)
        return ns_errf(err, errlen, "pipe: %s", strerror(errno)), -1;
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]);
        close(po[1]);
        return ns_errf(err, errlen, "pipe: %s", strerror(errno)), -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        close(po[0]);
        close(pe[0]);
        ns_errf(err, errlen, "%s: %s", argv[0], strerror(rc));
        return -1;
    }
    *out_fd = po[0];
    *err_fd = pe[0];
    return pid;
}

/* Runs argv to its end: stdout into out (may be NULL), stderr's first line
 * into err. Returns the exit status, or -1 if it could not run or was
 * killed at CMD_TIMEOUT_S. Blocks: for the short commands (sbatch, scontrol,
 * scancel); the per-second squeue runs beside the loop (poll_begin). */
static int run_cmd(char *const *argv, struct ns_buf *out, char *err, size_t errlen)
{
    int ofd, efd;
    pid_t pid = spawn_cmd(argv, &ofd, &efd, err, errlen);
    if (pid < 0)
        return -1;
    struct ns_buf eb = NS_BUF_INIT;
    struct pollfd pfd[2] = {{ofd, POLLIN, 0}, {efd, POLLIN, 0}};
    double deadline = ns_monotonic() + CMD_TIMEOUT_S;
    bool killed = false;
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        int left = (int)((deadline - ns_monotonic()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        if (poll(pfd, 2, left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[8192];
            ssize_t r = read(pfd[i].fd, chunk, sizeof chunk);
            if (r > 0) {
                if (i == 0 && out)
                    buf_add(out, chunk, (size_t)r);
                else if (i == 1 && eb.len < 4096)
                    buf_add(&eb, chunk, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int code = killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0) {
        const char *msg = eb.data ? eb.data : "";
        size_t ml = strcspn(msg, "\n");
        if (killed)
            ns_errf(err, errlen, "%s: no answer in %.0f s", argv[0], CMD_TIMEOUT_S);
        else if (ml)
            ns_errf(err, errlen, "%.*s", (int)ml, msg);
        else
            ns_errf(err, errlen, "%s exited with status %d", argv[0], code);
    }
    buf_release(&eb);
    return code;
}

/* A growing argv for one command. */
struct args {
    char **v;
    size_t n, cap;
};

static void args_add(struct args *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = ns_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = ns_xstrdup(s);
    a->v[a->n] = NULL;
}

static void args_addf(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void args_addf(struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct ns_buf b = NS_BUF_INIT;
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    args_add(a, b.data ? b.data : "");
    buf_release(&b);
}

static void args_release(struct args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- tasks --------------------------------------------------------------- */

static void task_link(struct ns_executor *ex, struct ns_task *t)
{
    t->prev = ex->tail;
    t->next = NULL;
    if (ex->tail)
        ex->tail->next = t;
    else
        ex->head = t;
    ex->tail = t;
}

static void task_count(struct ns_executor *ex, const struct ns_task *t, int delta)
{
    size_t *c = t->state == T_QUEUED      ? &ex->nqueued
                : t->state == T_SUBMITTED ? &ex->nsubmitted
                                          : &ex->nstarted;
    *c = (size_t)((long)*c + delta);
}

static void task_set_state(struct ns_executor *ex, struct ns_task *t, enum tstate s)
{
    task_count(ex, t, -1);
    t->state = s;
    task_count(ex, t, +1);
}

static void task_free(struct ns_executor *ex, struct ns_task *t)
{
    task_count(ex, t, -1);
    if (t->prev)
        t->prev->next = t->next;
    else
        ex->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        ex->tail = t->prev;
    if (t->report_fd >= 0)
        close(t->report_fd);
    if (t->output_fd >= 0)
        close(t->output_fd);
    free(t->dir);
    free(t);
}

/* dir: the attempt's spool directory (taken). */
static struct ns_task *task_new(struct ns_executor *ex, int64_t attempt_id, void *owner, char *dir)
{
    struct ns_task *t = ns_xcalloc(1, sizeof *t);
    t->attempt_id = attempt_id;
    t->owner = owner;
    t->report_fd = t->output_fd = -1;
    t->dir = dir;
    t->state = T_QUEUED;
    task_count(ex, t, +1);
    task_link(ex, t);
    return t;
}

/* ---- open / close -------------------------------------------------------- */

/* mkdir -p with mode 0700 for what we create. Returns 0 or -1 (errno). */
static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return errno = ENAMETOOLONG, -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The value of "KEY<spaces>= VALUE" in `scontrol show config` output, into
 * buf (empty when absent). */
static void config_value(const char *out, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t kl = strlen(key);
    for (const char *line = out; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, kl) != 0 || (line[kl] != ' ' && line[kl] != '='))
            continue;
        const char *v = line + kl;
        while (*v == ' ')
            v++;
        if (*v++ != '=')
            continue;
        while (*v == ' ')
            v++;
        size_t n = strcspn(v, "\n");
        if (n >= len)
            n = len - 1;
        memcpy(buf, v, n);
        buf[n] = '\0';
        return;
    }
}

/* Where the jobcomp file starts being read: a restarted runtime looks back
 * this far for tasks that finished while it was down. */
#define JOBCOMP_LOOKBACK (1 << 20)

/* MaxArraySize (the default when Slurm cannot say) and the jobcomp file
 * (JobCompLoc when JobCompType is jobcomp/filetxt) from `scontrol show
 * config`. */
static void read_config(struct ns_executor *ex)
{
    char *argv[] = {(char *)"scontrol", (char *)"show", (char *)"config", NULL};
    struct ns_buf out = NS_BUF_INIT;
    char err[256], v[PATH_MAX];
    ex->max_array = DEFAULT_MAX_ARRAY;
    if (run_cmd(argv, &out, err, sizeof err) == 0 && out.data) {
        long n;
        config_value(out.data, "MaxArraySize", v, sizeof v);
        if (sscanf(v, "%ld", &n) == 1 && n > 0 && n < 100000000)
            ex->max_array = (int)n;
        config_value(out.data, "JobCompType", v, sizeof v);
        if (strcmp(v, "jobcomp/filetxt") == 0) {
            config_value(out.data, "JobCompLoc", v, sizeof v);
            if (v[0] == '/')
                ex->jobcomp = ns_xstrdup(v);
        }
    }
    buf_release(&out);
    struct stat st;
    if (ex->jobcomp && stat(ex->jobcomp, &st) == 0 && st.st_size > JOBCOMP_LOOKBACK)
        ex->jc_off = (int64_t)st.st_size - JOBCOMP_LOOKBACK; /* a partial first line is skipped */
}

static int slurm_open(const struct ns_exec_config *cfg, struct ns_executor **out, char *err,
                      size_t errlen)
{
    const struct ns_spec_slurm *sl = cfg->backend;
    static const struct ns_spec_slurm none;
    if (!sl)
        sl = &none;
    struct ns_executor *ex = ns_xcalloc(1, sizeof *ex);
    ex->cfg = *cfg;
    ex->sl = sl;
    ex->concurrency = cfg->concurrency > 0 ? cfg->concurrency : 1;
    ex->poll_fd = ex->poll_errfd = -1;
    const char *eq = strchr(cfg->run_token, '=');
    ex->run_key = ns_xstrdup(eq ? eq + 1 : cfg->run_token);
    ex->job_name = ns_xasprintf("nightshift.%s", ex->run_key);
    char *base = sl->spool ? ns_xstrdup(sl->spool) : ns_xasprintf("%s.d/slurm-spool", cfg->db_path);
    ex->spool = ns_xasprintf("%s/%s", base, ex->run_key);
    ex->script = ns_xasprintf("%s/launch.sh", ex->spool);
    char *self = realpath("/proc/self/exe", NULL);
    char *line = self ? ns_xasprintf("#!%s _launch\n", self) : NULL;
    if (mkdirs(ex->spool) != 0 || access(ex->spool, W_OK | X_OK) != 0) {
        ns_errf(err, errlen,
                "slurm.spool: %s: %s (it must be a writable directory on a filesystem the "
                "compute nodes share)",
                base, strerror(errno));
        goto fail;
    }
    if (!line || strlen(line) > 127 || strchr(self, ' ')) {
        ns_errf(err, errlen,
                "slurm: the nightshift binary's path %s cannot be a batch script's #! line "
                "(no spaces, at most 120 characters)",
                self ? self : "(unknown)");
        goto fail;
    }
    if (spool_write_file(ex->spool, "launch.sh", line, strlen(line), err, errlen) != 0 ||
        chmod(ex->script, 0755) != 0)
        goto fail;
    /* Is Slurm there at all? One call: MaxArraySize and the jobcomp file. */
    read_config(ex);
    free(self);
    free(line);
    free(base);
    *out = ex;
    return 0;
fail:
    free(self);
    free(line);
    free(base);
    free(ex->run_key);
    free(ex->job_name);
    free(ex->spool);
    free(ex->script);
    free(ex);
    return -1;
}

static void slurm_close(struct ns_executor *ex)
{
    if (!ex)
        return;
    while (ex->head)
        task_free(ex, ex->head);
    if (ex->poll_pid > 0 && !ex->poll_reaped) {
        kill(ex->poll_pid, SIGKILL);
        waitpid(ex->poll_pid, NULL, 0);
    }
    if (ex->poll_fd >= 0)
        close(ex->poll_fd);
    if (ex->poll_errfd >= 0)
        close(ex->poll_errfd);
    buf_release(&ex->poll_out);
    free(ex->snap);
    free(ex->arrays);
    free(ex->jobcomp);
    free(ex->run_key);
    free(ex->job_name);
    free(ex->spool);
    free(ex->script);
    free(ex);
}

/* ---- start and submit ------------------------------------------------------ */

/* How many names one attempt or array directory may try: a<ID>, a<ID>.1, ... */
#define OWN_DIR_TRIES 100

/* Creates a directory that did not exist: SPOOL/<kind><id>, or, if that is
 * there, SPOOL/<kind><id>.1, .2, ... A directory already there is never
 * ours: an attempt id comes round again when a runtime died before its
 * attempt row was committed, and that attempt's task may still write into
 * its own folder. Returns the path (caller frees), or NULL with err. */
static char *make_own_dir(const struct ns_executor *ex, char kind, int64_t id, char *err,
                          size_t errlen)
{
    for (int n = 0; n < OWN_DIR_TRIES; n++) {
        char *dir = n == 0 ? ns_xasprintf("%s/%c%lld", ex->spool, kind, (long long)id)
                           : ns_xasprintf("%s/%c%lld.%d", ex->spool, kind, (long long)id, n);
        if (mkdir(dir, 0755) == 0)
            return dir;
        int e = errno;
        if (e != EEXIST) {
            ns_errf(err, errlen, "%s: %s", dir, strerror(e));
            free(dir);
            return NULL;
        }
        free(dir);
    }
    ns_errf(err, errlen, "%s/%c%lld: %d earlier folders of that name; remove them", ex->spool,
            kind, (long long)id, OWN_DIR_TRIES);
    return NULL;
}

static int slurm_start(struct ns_executor *ex, const struct ns_launch *l, int64_t attempt_id,
                       void *owner, struct ns_task **out, char *err, size_t errlen)
{
    char *dir = make_own_dir(ex, 'a', attempt_id, err, errlen);
    if (!dir)
        return -1;
    if (spool_write_launch(dir, l, err, errlen) != 0) {
        free(dir);
        return -1;
    }
    *out = task_new(ex, attempt_id, owner, dir);
    return 0;
}

/* The sbatch argv for one array of n tasks in batch directory bdir. */
static void sbatch_args(const struct ns_executor *ex, struct args *a, const char *bdir, size_t n,
                        int throttle, bool hold)
{
    const struct ns_spec_slurm *sl = ex->sl;
    args_add(a, "sbatch");
    args_add(a, "--parsable");
    if (hold)
        args_add(a, "--hold"); /* queued ahead: released when older arrays leave a slot */
    args_addf(a, "--array=0-%zu%%%d", n - 1, throttle);
    args_addf(a, "--job-name=%s", ex->job_name);
    args_addf(a, "--output=%s/%%a.slurm.out", bdir);
    args_add(a, "--open-mode=append");
    args_add(a, "--no-requeue"); /* a rerun is a new attempt, decided by the supervisor */
    /* No --export=NONE: it makes Slurm ~2x slower per task here (measured,
     * tests/bench/slurm.sh); the launcher replaces the environment anyway. */
    args_addf(a, "--chdir=%s", bdir);
    const struct {
        const char *opt, *value;
    } strs[] = {{"--partition", sl->partition},
                {"--account", sl->account},
                {"--qos", sl->qos},
                {"--mem", sl->mem}};
    for (size_t i = 0; i < NS_ARRAY_LEN(strs); i++)
        if (strs[i].value)
            args_addf(a, "%s=%s", strs[i].opt, strs[i].value);
    if (sl->time_ms > 0)
        args_addf(a, "--time=%lld", (long long)((sl->time_ms + 59999) / 60000));
    if (sl->cpus_per_task > 0)
        args_addf(a, "--cpus-per-task=%d", sl->cpus_per_task);
    for (size_t i = 0; i < sl->extra_args.len; i++)
        args_add(a, sl->extra_args.items[i].text);
    args_add(a, ex->script);
    args_add(a, bdir);
}

/* Submits tasks[0..n) as one array. Returns 0 or -1 with err filled. */
static int submit_array(struct ns_executor *ex, struct ns_task **tasks, size_t n, char *err,
                        size_t errlen)
{
    /* A folder of its own: a task of an array sbatch accepted before a
     * crash still finds its own links, never this array's. */
    char *bdir = make_own_dir(ex, 'b', tasks[0]->attempt_id, err, errlen);
    if (!bdir)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char link[PATH_MAX + 32], target[PATH_MAX + 8];
        const char *slash = strrchr(tasks[i]->dir, '/');
        snprintf(link, sizeof link, "%s/%zu", bdir, i);
        snprintf(target, sizeof target, "../%s", slash ? slash + 1 : tasks[i]->dir);
        if (symlink(target, link) != 0) {
            ns_errf(err, errlen, "%s: %s", link, strerror(errno));
            free(bdir);
            return -1;
        }
    }
    /* Tasks of earlier arrays still hold slots: this one gets the rest
     * (rebalance() raises it as they end), or none yet - then it waits in
     * Slurm's queue held, to be released the moment a slot is left. */
    long busy = (long)(ex->nsubmitted + ex->nstarted);
    bool gated = busy >= ex->concurrency;
    int throttle = gated ? ex->concurrency : ex->concurrency - (int)busy;
    struct args a = {0};
    sbatch_args(ex, &a, bdir, n, throttle, gated);
    free(bdir);
    struct ns_buf out = NS_BUF_INIT;
    int rc = run_cmd(a.v, &out, err, errlen);
    args_release(&a);
    long long job = 0;
    if (rc == 0 && (!out.data || sscanf(out.data, "%lld", &job) != 1 || job <= 0)) {
        ns_errf(err, errlen, "sbatch: no job id in its answer");
        rc = -1;
    }
    buf_release(&out);
    if (rc != 0)
        return -1;
    ex->arrays = ns_xrealloc(ex->arrays, (ex->narrays + 1) * sizeof *ex->arrays);
    ex->arrays[ex->narrays++] = (struct array){job, throttle, gated};
    for (size_t i = 0; i < n; i++) {
        struct ns_task *t = tasks[i];
        t->job = job;
        t->index = (int)i;
        task_set_state(ex, t, T_SUBMITTED);
        char line[64], e2[256];
        int len = snprintf(line, sizeof line, "%lld_%zu\n", job, i);
        /* For recover() when the runtime dies before the locator is stored. */
        spool_write_file(t->dir, "array", line, (size_t)len, e2, sizeof e2);
        if (t->held)
            t->actions |= A_HOLD, ex->actions_pending = true;
    }
    return 0;
}

static int slurm_flush(struct ns_executor *ex, char *err, size_t errlen)
{
    if (ex->nqueued == 0)
        return 0;
    size_t cap = (size_t)(ex->max_array > 0 ? ex->max_array : DEFAULT_MAX_ARRAY);
    struct ns_task **batch = ns_xcalloc(cap, sizeof *batch);
    int rc = 0;
    struct ns_task *t = ex->head;
    while (t) {
        size_t n = 0;
        for (; t && n < cap; t = t->next)
            if (t->state == T_QUEUED && !t->failed_submit)
                batch[n++] = t;
        if (n == 0)
            break;
        char e[512] = "";
        if (submit_array(ex, batch, n, e, sizeof e) != 0) {
            rc = -1;
            ns_errf(err, errlen, "%s", e);
            for (size_t i = 0; i < n; i++) {
                batch[i]->failed_submit = true;
                snprintf(batch[i]->submit_error, sizeof batch[i]->submit_error,
                         "not submitted: %.140s", e);
            }
        }
    }
    free(batch);
    if (ex->nsubmitted && ex->next_poll == 0)
        ex->next_poll = ns_monotonic() + POLL_INTERVAL_S;
    return rc;
}

/* ---- control --------------------------------------------------------------- */

static bool array_gated(const struct ns_executor *ex, int64_t job)
{
    for (size_t i = 0; i < ex->narrays; i++)
        if (ex->arrays[i].job == job)
            return ex->arrays[i].gated;
    return false;
}

static int slurm_control(struct ns_executor *ex, struct ns_task *t, enum ns_exec_action action)
{
    bool running = t->state == T_STARTED;
    switch (action) {
    case NS_EXEC_PAUSE:
        if (running)
            t->actions |= A_SUSPEND, t->suspended = true;
        else
            t->actions |= A_HOLD, t->held = true;
        break;
    case NS_EXEC_RESUME:
        if (t->suspended)
            t->actions |= A_RESUME;
        if (t->held && !array_gated(ex, t->job))
            t->actions |= A_RELEASE; /* a gated array's tasks stay held (rebalance) */
        t->suspended = t->held = false;
        break;
    case NS_EXEC_TERMINATE:
        t->asked = t->asked ? t->asked : NS_EXEC_TERMINATE;
        if (t->suspended)
            t->actions |= A_RESUME, t->suspended = false;
        t->actions |= running ? A_TERM : A_CANCEL;
        break;
    case NS_EXEC_KILL:
        t->asked = NS_EXEC_KILL;
        if (t->suspended)
            t->actions |= A_RESUME, t->suspended = false;
        t->actions |= running ? A_KILL : A_CANCEL;
        break;
    }
    ex->actions_pending = true;
    return 0;
}

/* One command for every task with action bit `bit`: argv prefix, then the
 * ids as one comma-separated argument (scontrol) or one argument each. */
static void apply_one(struct ns_executor *ex, unsigned bit, const char *const *prefix, bool comma)
{
    struct args a = {0};
    for (const char *const *p = prefix; *p; p++)
        args_add(&a, *p);
    size_t fixed = a.n, ids = 0;
    struct ns_buf list = NS_BUF_INIT;
    for (struct ns_task *t = ex->head; t; t = t->next) {
        if (!(t->actions & bit))
            continue;
        t->actions &= ~bit;
        if (t->state == T_QUEUED || t->job == 0)
            continue; /* not in Slurm yet: flush() applies holds; ends are local */
        ids++;
        if (comma) {
            buf_addf(&list, "%s%lld_%d", list.len ? "," : "", (long long)t->job, t->index);
        } else {
            args_addf(&a, "%lld_%d", (long long)t->job, t->index);
        }
    }
    if (ids) {
        if (comma)
            args_add(&a, list.data);
        char err[512];
        if (run_cmd(a.v, NULL, err, sizeof err) != 0 && bit == A_SUSPEND) {
            /* Suspending is for Slurm operators; a plain user can still
             * stop the processes (Slurm's clock then keeps running). */
            const char *const stop[] = {"scancel", "--full", "--signal=STOP", NULL};
            args_release(&a);
            for (const char *const *p = stop; *p; p++)
                args_add(&a, *p);
            for (struct ns_task *t = ex->head; t; t = t->next)
                if (t->suspended && t->state == T_STARTED)
                    args_addf(&a, "%lld_%d", (long long)t->job, t->index);
            run_cmd(a.v, NULL, err, sizeof err);
        } else if (bit == A_RESUME) {
            /* Undoes the fallback above (harmless after a real suspend). */
            const char *const cont[] = {"scancel", "--full", "--signal=CONT", NULL};
            struct args c = {0};
            for (const char *const *p = cont; *p; p++)
                args_add(&c, *p);
            for (size_t i = fixed; i < a.n; i++)
                for (char *tok = strtok(a.v[i], ","); tok; tok = strtok(NULL, ","))
                    args_add(&c, tok);
            run_cmd(c.v, NULL, err, sizeof err);
            args_release(&c);
        }
    }
    buf_release(&list);
    args_release(&a);
}

static void apply_actions(struct ns_executor *ex)
{
    static const char *const hold[] = {"scontrol", "hold", NULL};
    static const char *const release[] = {"scontrol", "release", NULL};
    static const char *const suspend[] = {"scontrol", "suspend", NULL};
    static const char *const resume[] = {"scontrol", "resume", NULL};
    static const char *const term[] = {"scancel", "--batch", "--signal=TERM", NULL};
    static const char *const kill9[] = {"scancel", "--full", "--signal=KILL", NULL};
    static const char *const cancel[] = {"scancel", NULL};
    static const struct {
        unsigned bit;
        const char *const *argv;
        bool comma;
        unsigned also; /* a KILL is followed by a cancel, so Slurm ends the job */
    } order[] = {
        {A_RESUME, resume, true, 0},  {A_RELEASE, release, true, 0},
        {A_HOLD, hold, true, 0},      {A_SUSPEND, suspend, true, 0},
        {A_TERM, term, false, 0},     {A_KILL, kill9, false, A_CANCEL},
        {A_CANCEL, cancel, false, 0},
    };
    ex->actions_pending = false;
    for (size_t i = 0; i < NS_ARRAY_LEN(order); i++) {
        if (order[i].also)
            for (struct ns_task *t = ex->head; t; t = t->next)
                if (t->actions & order[i].bit)
                    t->actions |= order[i].also;
        apply_one(ex, order[i].bit, order[i].argv, order[i].comma);
    }
}

/* Keeps the run within `concurrency` across its arrays: array i may run
 * what the tasks of older arrays (queued or running) leave; an array left
 * nothing is held (gated) and released once something is left, its throttle
 * set first. Older arrays only shrink, so a throttle never has to drop
 * below what an array runs and the run never runs more than `concurrency`.
 * Arrays without tasks in Slurm are forgotten. Issues `scontrol` only for
 * changes; a gated array is not released while the operator holds one of
 * its tasks (pause: resume leaves the gate to this). */
static void rebalance(struct ns_executor *ex)
{
    long older = 0;
    size_t kept = 0;
    for (size_t i = 0; i < ex->narrays; i++) {
        struct array *ar = &ex->arrays[i];
        long active = 0;
        bool op_held = false, slurm_held = false;
        for (const struct ns_task *t = ex->head; t; t = t->next) {
            if (t->job != ar->job || t->state == T_QUEUED)
                continue;
            active++;
            op_held |= t->held;
            slurm_held |= t->slurm_held;
        }
        if (active == 0)
            continue;
        int want = older < ex->concurrency ? ex->concurrency - (int)older : 0;
        older += active;
        char jobarg[64], thr[64], err[256];
        snprintf(jobarg, sizeof jobarg, "JobId=%lld", (long long)ar->job);
        if (want == 0 && !ar->gated) {
            char *argv[] = {(char *)"scontrol", (char *)"hold", jobarg + 6, NULL};
            if (run_cmd(argv, NULL, err, sizeof err) == 0)
                ar->gated = true;
        }
        if (want > 0 && want != ar->throttle) {
            snprintf(thr, sizeof thr, "ArrayTaskThrottle=%d", want);
            char *argv[] = {(char *)"scontrol", (char *)"update", jobarg, thr, NULL};
            if (run_cmd(argv, NULL, err, sizeof err) == 0)
                ar->throttle = want;
        }
        /* Released once; squeue says if it is still held (a failed call, or
         * an array a dead runtime left gated): then again. */
        if (want > 0 && (ar->gated || slurm_held) && ar->throttle == want && !op_held) {
            char *argv[] = {(char *)"scontrol", (char *)"release", jobarg + 6, NULL};
            run_cmd(argv, NULL, err, sizeof err); /* "already finished" for some tasks: fine */
            ar->gated = false;
        }
        ex->arrays[kept++] = *ar;
    }
    ex->narrays = kept;
}

static void slurm_set_concurrency(struct ns_executor *ex, int concurrency)
{
    ex->concurrency = concurrency > 0 ? concurrency : 1;
    rebalance(ex);
}

/* ---- reading the spool ------------------------------------------------------ */

static int open_at(const char *dir, const char *name, int64_t off)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && off > 0 && lseek(fd, (off_t)off, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Delivers what is new in one spool file, at most budget bytes (0: all). */
static void drain(int *fd, struct ns_task *t, const char *dir, const char *name, int64_t off,
                  size_t budget, void (*deliver)(void *, void *, const char *, size_t), void *ctx)
{
    if (*fd < 0)
        *fd = open_at(dir, name, off);
    if (*fd < 0)
        return;
    char buf[READ_CHUNK];
    size_t got = 0;
    while (budget == 0 || got < budget) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        deliver(ctx, t->owner, buf, (size_t)r);
    }
}

static void end_task(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_end *end,
                     const struct ns_exec_events *ev, void *ctx)
{
    void *owner = t->owner;
    task_free(ex, t);
    ev->ended(ctx, owner, end);
}

static void deliver_started(struct ns_executor *ex, struct ns_task *t,
                            const struct ns_exec_events *ev, void *ctx)
{
    if (t->state == T_STARTED)
        return;
    task_set_state(ex, t, T_STARTED);
    if (t->held && !t->suspended) {
        /* Held while Slurm was already starting it: suspend it instead
         * (resume then releases and resumes). */
        t->actions |= A_SUSPEND;
        t->suspended = true;
        ex->actions_pending = true;
    }
    if (ev->started)
        ev->started(ctx, t->owner);
}

static int state_find(const char *s);
static enum ns_exec_end_kind state_overrides(int si);

/* Whether an exit file was written by t's own task: the run token it names
 * is this run's, and the Slurm task it names is t's (once t's is known). */
static bool exit_is_ours(const struct ns_executor *ex, const struct ns_task *t,
                         const struct spool_exit *x)
{
    if (strcmp(x->run, ex->run_key) != 0)
        return false;
    if (t->job <= 0)
        return true;
    char mine[48];
    snprintf(mine, sizeof mine, "%lld_%d", (long long)t->job, t->index);
    return strcmp(x->task, mine) == 0;
}

/* If t's exit file is there: delivers the rest of its files and `ended`.
 * Returns true when t is gone. A worker killed by a signal we did not send
 * may have been ended by Slurm (scancel behind our back, its time limit,
 * preemption): unless slurm_over says Slurm has finished with the task, that
 * waits for the next squeue, whose state then decides. */
static bool try_finish(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_events *ev,
                       void *ctx, bool slurm_over)
{
    char *text = spool_read_file(t->dir, "exit");
    if (!text)
        return false;
    struct spool_exit x;
    struct ns_exec_end end = {NS_END_LOST, -1, 0, ""};
    int parsed = spool_parse_exit(text, &x);
    if (parsed == 0 && !exit_is_ours(ex, t, &x)) {
        /* Another task's word (one of an attempt that was never recorded):
         * this task's own exit file, or Slurm's verdict, decides. */
        free(text);
        return false;
    }
    if (parsed == 0 && x.kind == SPOOL_SIGNALLED && !t->asked && !slurm_over) {
        free(text);
        return false;
    }
    deliver_started(ex, t, ev, ctx);
    drain(&t->report_fd, t, t->dir, "report", t->report_off, 0, ev->report, ctx);
    drain(&t->output_fd, t, t->dir, "output", t->output_off, 0, ev->output, ctx);
    enum ns_exec_end_kind by_slurm =
        t->slurm_state[0] ? state_overrides(state_find(t->slurm_state)) : NS_END_SIGNALLED;
    if (parsed != 0) {
        snprintf(end.detail, sizeof end.detail, "unreadable exit file in %s", t->dir);
    } else if (x.kind == SPOOL_EXITED) {
        end = (struct ns_exec_end){NS_END_EXITED, x.value, 0, ""};
    } else if (x.kind == SPOOL_SIGNALLED && !t->asked && by_slurm != NS_END_SIGNALLED) {
        end = (struct ns_exec_end){by_slurm, -1, 0, ""};
        snprintf(end.detail, sizeof end.detail, "Slurm job %lld_%d %s (signal %d)",
                 (long long)t->job, t->index, t->slurm_state, x.value);
    } else if (x.kind == SPOOL_SIGNALLED) {
        end = (struct ns_exec_end){NS_END_SIGNALLED, -1, x.value, ""};
    } else {
        end = (struct ns_exec_end){NS_END_EXITED, 127, 0, ""};
        snprintf(end.detail, sizeof end.detail, "%s", x.message);
        ev->output(ctx, t->owner, x.message, strlen(x.message));
        ev->output(ctx, t->owner, "\n", 1);
    }
    free(text);
    end_task(ex, t, &end, ev, ctx);
    return true;
}

/* ---- what Slurm says ---------------------------------------------------------- */

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
    char *const v[] = {(char *)"squeue",      (char *)"--noheader",        (char *)"--array",
                       (char *)"--states=all", name, (char *)"--format=%F|%K|%T|%r", NULL};
    memcpy(argv, v, sizeof v);
}

/* Replaces the snapshot with squeue's answer (lines "job|index|STATE|REASON"). */
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
        char idx[24], state[24], reason[64] = "";
        if (sscanf(line, "%lld|%23[^|]|%23[^|]|%63s", &job, idx, state, reason) < 3)
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
    }
    if (ex->nsnap)
        qsort(ex->snap, ex->nsnap, sizeof *ex->snap, cmp_slot);
    ex->snap_ok = true;
}

/* One squeue for every task of the run, waited for (recover, end_strays:
 * before the loop runs). Returns 0, or -1 if Slurm did not answer (nothing
 * is concluded from silence). */
static int take_snapshot(struct ns_executor *ex)
{
    char name[PATH_MAX], *argv[7];
    squeue_argv(ex, name, sizeof name, argv);
    struct ns_buf out = NS_BUF_INIT;
    char err[256];
    ex->snap_at = ns_monotonic();
    int rc = run_cmd(argv, &out, err, sizeof err);
    if (rc == 0)
        parse_snapshot(ex, out.data);
    else
        ex->snap_ok = false;
    buf_release(&out);
    return rc == 0 ? 0 : -1;
}

static const struct slot *snap_find(const struct ns_executor *ex, int64_t job, int index)
{
    struct slot key = {job, index, "", false};
    return ex->nsnap ? bsearch(&key, ex->snap, ex->nsnap, sizeof *ex->snap, cmp_slot) : NULL;
}

/* Slurm's job states, and what each means for a task without an exit file. */
static const struct {
    const char *state;
    bool running; /* it has started */
    bool over;    /* it will not run (any more) */
    enum ns_exec_end_kind kind;
} states[] = {
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

static int state_find(const char *s)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(states); i++)
        if (strcmp(states[i].state, s) == 0)
            return (int)i;
    return -1;
}

/* For a worker that died of a signal we did not send: the end Slurm's state
 * stands for (cancelled, timed out, lost), or NS_END_SIGNALLED when the
 * signal was the worker's own business (FAILED, OUT_OF_MEMORY...). */
static enum ns_exec_end_kind state_overrides(int si)
{
    static const char *const by_slurm[] = {"CANCELLED", "TIMEOUT",   "PREEMPTED", "NODE_FAIL",
                                           "DEADLINE",  "BOOT_FAIL", "REVOKED"};
    if (si < 0)
        return NS_END_SIGNALLED;
    for (size_t i = 0; i < NS_ARRAY_LEN(by_slurm); i++)
        if (strcmp(states[si].state, by_slurm[i]) == 0)
            return states[si].kind;
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
    size_t l1, l2, l3, l4;
    const char *state = jc_field(line, n, "JobState=", false, &l1);
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
    int si = state_find(t->jc_state);
    if (!t->jc_state[0] || si < 0 || !states[si].over)
        return false; /* none, or PENDING after a requeue */
    bool ran_out = strcmp(t->jc_state, "COMPLETED") == 0 || strcmp(t->jc_state, "FAILED") == 0;
    if (ran_out && t->jc_sig > 0)
        *end = (struct ns_exec_end){NS_END_SIGNALLED, -1, t->jc_sig, ""};
    else if (ran_out)
        *end = (struct ns_exec_end){NS_END_EXITED, t->jc_code, 0, ""};
    else
        *end = (struct ns_exec_end){states[si].kind, -1, 0, ""};
    snprintf(end->detail, sizeof end->detail,
             "no exit file; Slurm's jobcomp record: job %lld_%d %s, ExitCode %d:%d",
             (long long)t->job, t->index, t->jc_state, t->jc_code, t->jc_sig);
    return true;
}

/* The end of a task Slurm no longer runs and that wrote no exit file. */
static void vanished(struct ns_executor *ex, struct ns_task *t, const struct ns_exec_events *ev,
                     void *ctx)
{
    int si = t->slurm_state[0] ? state_find(t->slurm_state) : -1;
    struct ns_exec_end end = {si >= 0 ? states[si].kind : NS_END_LOST, -1, 0, ""};
    if (t->asked == NS_EXEC_KILL)
        end = (struct ns_exec_end){NS_END_SIGNALLED, -1, SIGKILL, ""};
    else if (t->asked == NS_EXEC_TERMINATE)
        end = (struct ns_exec_end){NS_END_SIGNALLED, -1, SIGTERM, ""};
    if (!t->asked && jobcomp_end(t, &end))
        ; /* its real outcome, though Slurm may have forgotten the job */
    else if (t->slurm_state[0])
        snprintf(end.detail, sizeof end.detail, "Slurm job %lld_%d %s, no exit status",
                 (long long)t->job, t->index, t->slurm_state);
    else
        snprintf(end.detail, sizeof end.detail, "Slurm job %lld_%d is gone, no exit status",
                 (long long)t->job, t->index);
    drain(&t->report_fd, t, t->dir, "report", t->report_off, 0, ev->report, ctx);
    drain(&t->output_fd, t, t->dir, "output", t->output_off, 0, ev->output, ctx);
    (void)ex;
    end_task(ex, t, &end, ev, ctx);
}

/* What the fresh snapshot means for each task in Slurm. */
static void apply_snapshot(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx)
{
    double now = ns_monotonic();
    bool jobcomp_done = false; /* read at most once per poll, for the whole run */
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (t->state == T_QUEUED)
            continue;
        const struct slot *s = snap_find(ex, t->job, t->index);
        int si = s ? state_find(s->state) : -1;
        if (s)
            snprintf(t->slurm_state, sizeof t->slurm_state, "%s", s->state);
        t->slurm_held = s && s->held;
        if (si >= 0 && states[si].running)
            deliver_started(ex, t, ev, ctx);
        if (s && (si < 0 || !states[si].over)) {
            t->gone_since = 0;
            continue;
        }
        /* Finished or forgotten: its exit file says how, else it vanished. */
        if (try_finish(ex, t, ev, ctx, true))
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

/* Starts the per-second squeue without waiting for it. */
static void poll_begin(struct ns_executor *ex)
{
    char name[PATH_MAX], *argv[7], err[256];
    squeue_argv(ex, name, sizeof name, argv);
    pid_t pid = spawn_cmd(argv, &ex->poll_fd, &ex->poll_errfd, err, sizeof err);
    if (pid < 0)
        return; /* tried again next interval */
    fcntl(ex->poll_fd, F_SETFL, O_NONBLOCK);
    fcntl(ex->poll_errfd, F_SETFL, O_NONBLOCK);
    ex->poll_pid = pid;
    ex->poll_reaped = false;
    ex->poll_deadline = ns_monotonic() + CMD_TIMEOUT_S;
    buf_reset(&ex->poll_out);
}

/* Reads what squeue wrote; at EOF on both pipes and once it was reaped,
 * applies the answer (a failed squeue changes nothing). */
static void poll_continue(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx)
{
    int *fds[] = {&ex->poll_fd, &ex->poll_errfd};
    for (size_t i = 0; i < NS_ARRAY_LEN(fds); i++) {
        char chunk[READ_CHUNK];
        ssize_t r = 0;
        while (*fds[i] >= 0 && (r = read(*fds[i], chunk, sizeof chunk)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && errno == EAGAIN)
                break;
            if (r < 0)
                break;
            if (i == 0)
                buf_add(&ex->poll_out, chunk, (size_t)r); /* stderr: drained, not kept */
        }
        if (*fds[i] >= 0 && r <= 0 && !(r < 0 && errno == EAGAIN)) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
    if (!ex->poll_reaped && ns_monotonic() > ex->poll_deadline)
        kill(ex->poll_pid, SIGKILL); /* reaped as usual; the answer is dropped */
    if (ex->poll_fd >= 0 || ex->poll_errfd >= 0 || !ex->poll_reaped)
        return;
    ex->poll_pid = 0;
    ex->snap_at = ns_monotonic();
    if (WIFEXITED(ex->poll_status) && WEXITSTATUS(ex->poll_status) == 0) {
        parse_snapshot(ex, ex->poll_out.data);
        apply_snapshot(ex, ev, ctx);
        rebalance(ex);
    }
    buf_reset(&ex->poll_out);
}

static bool slurm_child_exited(struct ns_executor *ex, int pid, int wstatus)
{
    if (ex->poll_pid <= 0 || pid != ex->poll_pid)
        return false;
    ex->poll_reaped = true;
    ex->poll_status = wstatus;
    return true;
}

/* ---- the loop's side ------------------------------------------------------------- */

static size_t slurm_pollfds(struct ns_executor *ex, struct pollfd *pfd, size_t cap)
{
    /* Spool files on a shared filesystem cannot be polled (timers tail
     * them); only the running squeue's pipes can. */
    int fds[] = {ex->poll_fd, ex->poll_errfd};
    size_t n = 0;
    for (size_t i = 0; i < NS_ARRAY_LEN(fds); i++) {
        if (fds[i] < 0)
            continue;
        if (n < cap)
            pfd[n] = (struct pollfd){fds[i], POLLIN, 0};
        n++;
    }
    return n;
}

static double slurm_next_wakeup(const struct ns_executor *ex)
{
    double now = ns_monotonic();
    if (ex->actions_pending)
        return now;
    for (const struct ns_task *t = ex->head; t; t = t->next)
        if (t->failed_submit)
            return now;
    double w = 0;
    if (ex->nsubmitted + ex->nstarted > 0)
        w = ex->next_poll > 0 ? ex->next_poll : now;
    if (ex->nstarted > 0 && ex->next_tail > 0 && (w == 0 || ex->next_tail < w))
        w = ex->next_tail;
    return w;
}

static void slurm_service(struct ns_executor *ex, const struct pollfd *pfd, size_t n,
                          const struct ns_exec_events *ev, void *ctx)
{
    (void)pfd;
    (void)n;
    double now = ns_monotonic();
    if (ex->actions_pending)
        apply_actions(ex);
    /* Queued tasks whose array could not be submitted end as lost. */
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (!t->failed_submit)
            continue;
        struct ns_exec_end end = {NS_END_LOST, -1, 0, ""};
        snprintf(end.detail, sizeof end.detail, "%s", t->submit_error);
        end_task(ex, t, &end, ev, ctx);
    }
    /* Ended by us before Slurm ever had it. */
    for (struct ns_task *t = ex->head, *next; t; t = next) {
        next = t->next;
        if (t->state == T_QUEUED && t->asked) {
            struct ns_exec_end end = {NS_END_SIGNALLED, -1,
                                      t->asked == NS_EXEC_KILL ? SIGKILL : SIGTERM, ""};
            end_task(ex, t, &end, ev, ctx);
        }
    }
    if (now >= ex->next_tail) {
        ex->next_tail = now + TAIL_INTERVAL_S;
        for (struct ns_task *t = ex->head, *next; t; t = next) {
            next = t->next;
            if (t->state != T_STARTED)
                continue;
            if (try_finish(ex, t, ev, ctx, false))
                continue;
            drain(&t->report_fd, t, t->dir, "report", t->report_off, TURN_BUDGET, ev->report, ctx);
            drain(&t->output_fd, t, t->dir, "output", t->output_off, TURN_BUDGET, ev->output, ctx);
        }
    }
    if (ex->poll_pid > 0)
        poll_continue(ex, ev, ctx);
    else if (ex->nsubmitted + ex->nstarted > 0 && now >= ex->next_poll) {
        ex->next_poll = now + POLL_INTERVAL_S;
        poll_begin(ex);
    }
}

/* ---- after a restart ---------------------------------------------------------------- */

static char *slurm_locator(const struct ns_executor *ex, const struct ns_task *t)
{
    (void)ex;
    return t->job ? ns_xasprintf("%lld_%d", (long long)t->job, t->index) : NULL;
}

/* The spool directory of attempt_id: of the folders its id named (make_own_dir),
 * the one whose `array` file names the task the locator gives; without a
 * locator, the newest. NULL if there is none. Caller frees. */
static char *find_attempt_dir(const struct ns_executor *ex, int64_t attempt_id, long long job,
                              int index)
{
    char *newest = NULL;
    for (int n = 0; n < OWN_DIR_TRIES; n++) {
        char *dir = n == 0 ? ns_xasprintf("%s/a%lld", ex->spool, (long long)attempt_id)
                           : ns_xasprintf("%s/a%lld.%d", ex->spool, (long long)attempt_id, n);
        struct stat sb;
        if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            free(dir);
            break;
        }
        if (job > 0) {
            char *saved = spool_read_file(dir, "array");
            long long j = 0;
            int i = -1;
            bool match = saved && sscanf(saved, "%lld_%d", &j, &i) == 2 && j == job && i == index;
            free(saved);
            if (match) {
                free(newest);
                return dir;
            }
        }
        free(newest);
        newest = dir;
    }
    /* A locator whose folder has no `array` file (the runtime died right
     * after sbatch): the newest folder is the one made for it. */
    return newest;
}

static enum ns_recover slurm_recover(struct ns_executor *ex, const char *locator,
                                     int64_t attempt_id, int64_t report_offset,
                                     int64_t output_offset, void *owner, struct ns_task **out)
{
    long long job = 0;
    int index = -1;
    if (!locator || sscanf(locator, "%lld_%d", &job, &index) != 2)
        job = 0;
    char *dir = find_attempt_dir(ex, attempt_id, job, index);
    if (!dir)
        return NS_RECOVER_GONE; /* never started here */
    if (job <= 0) {
        char *saved = spool_read_file(dir, "array"); /* written right after sbatch */
        if (!saved || sscanf(saved, "%lld_%d", &job, &index) != 2)
            job = 0;
        free(saved);
    }
    char *exitf = spool_read_file(dir, "exit");
    bool has_exit = exitf != NULL;
    free(exitf);
    if (job <= 0 && !has_exit) {
        free(dir);
        return NS_RECOVER_GONE; /* never submitted (or unknown: end_strays cancels it) */
    }
    if (ns_monotonic() - ex->snap_at > POLL_INTERVAL_S || !ex->snap_ok)
        take_snapshot(ex);
    const struct slot *s = job > 0 ? snap_find(ex, job, index) : NULL;
    int si = s ? state_find(s->state) : -1;
    if (!has_exit && !s && ex->snap_ok) {
        char *jobf = spool_read_file(dir, "job");
        free(jobf);
        if (!jobf) {
            free(dir);
            return NS_RECOVER_GONE; /* Slurm forgot it and it never ran */
        }
    }
    struct ns_task *t = task_new(ex, attempt_id, owner, dir);
    t->job = job;
    t->index = index;
    t->report_off = report_offset;
    t->output_off = output_offset;
    if (s)
        snprintf(t->slurm_state, sizeof t->slurm_state, "%s", s->state);
    t->slurm_held = s && s->held;
    bool ran = has_exit || (si >= 0 && states[si].running);
    if (!ran) {
        char *jobf = spool_read_file(dir, "job");
        ran = jobf != NULL;
        free(jobf);
    }
    task_set_state(ex, t, ran ? T_STARTED : T_SUBMITTED);
    bool have = false;
    for (size_t i = 0; i < ex->narrays && !have; i++)
        have = ex->arrays[i].job == job;
    if (!have && job > 0) {
        ex->arrays = ns_xrealloc(ex->arrays, (ex->narrays + 1) * sizeof *ex->arrays);
        ex->arrays[ex->narrays++] = (struct array){job, -1, false}; /* rebalance() sets it */
    }
    if (ex->next_poll == 0)
        ex->next_poll = ns_monotonic();
    *out = t;
    return NS_RECOVER_ADOPTED;
}

static int slurm_end_strays(struct ns_executor *ex)
{
    if (take_snapshot(ex) != 0)
        return 0;
    struct args a = {0};
    args_add(&a, "scancel");
    int n = 0;
    for (size_t i = 0; i < ex->nsnap; i++) {
        const struct slot *s = &ex->snap[i];
        int si = state_find(s->state);
        if (si >= 0 && states[si].over)
            continue;
        bool known = false;
        for (const struct ns_task *t = ex->head; t && !known; t = t->next)
            known = t->job == s->job && t->index == s->index;
        if (known)
            continue;
        if (s->index >= 0)
            args_addf(&a, "%lld_%d", (long long)s->job, s->index);
        else
            args_addf(&a, "%lld", (long long)s->job);
        n++;
    }
    if (n > 0) {
        char err[256];
        run_cmd(a.v, NULL, err, sizeof err);
        /* Never two live attempts of one partition: wait (bounded) until
         * Slurm has ended them before anything new is submitted. */
        double deadline = ns_monotonic() + (double)ex->cfg.stop_grace_ms / 1000.0 + 10;
        while (ns_monotonic() < deadline) {
            if (take_snapshot(ex) != 0)
                break;
            bool live = false;
            for (int i = 1; i <= n && !live; i++) {
                long long job;
                int index = -1;
                if (sscanf(a.v[i], "%lld_%d", &job, &index) < 1)
                    continue;
                const struct slot *s = snap_find(ex, job, index);
                int si = s ? state_find(s->state) : -1;
                live = s && si >= 0 && !states[si].over;
            }
            if (!live)
                break;
            usleep(200 * 1000);
        }
    }
    args_release(&a);
    return n;
}

static bool slurm_is_running(const struct ns_executor *ex, const struct ns_task *t)
{
    (void)ex;
    return t->state == T_STARTED;
}

static void slurm_describe(const struct ns_executor *ex, const struct ns_task *t, char *buf,
                           size_t len)
{
    (void)ex;
    if (t->job)
        snprintf(buf, len, "job %lld_%d%s", (long long)t->job, t->index,
                 t->state == T_SUBMITTED ? " (queued)" : "");
    else
        snprintf(buf, len, "queued for sbatch");
}

const struct ns_executor_ops ns_exec_slurm = {
    .name = "slurm",
    .caps = NS_EXEC_CAN_PAUSE | NS_EXEC_CAN_ADOPT | NS_EXEC_QUEUES,
    .open = slurm_open,
    .close = slurm_close,
    .start = slurm_start,
    .flush = slurm_flush,
    .control = slurm_control,
    .set_concurrency = slurm_set_concurrency,
    .pollfds = slurm_pollfds,
    .next_wakeup = slurm_next_wakeup,
    .service = slurm_service,
    .child_exited = slurm_child_exited,
    .locator = slurm_locator,
    .recover = slurm_recover,
    .end_strays = slurm_end_strays,
    .is_running = slurm_is_running,
    .describe = slurm_describe,
};
