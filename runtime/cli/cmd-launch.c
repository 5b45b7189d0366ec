/*
 * cmd-launch.c - `nightshift _launch BATCHDIR`: the launcher on a Slurm node.
 *
 * A hidden subcommand of the nightshift binary (not a separate program: the
 * one binary that must be reachable from the nodes anyway - workers call
 * `nightshift emit` - also launches them). The batch script Slurm runs is one
 * line, "#!<nightshift> _launch", so the kernel starts
 * `nightshift _launch <script> BATCHDIR`; no shell runs and no user data is
 * in the script. The launcher:
 *
 *   1. finds its attempt: BATCHDIR/$SLURM_ARRAY_TASK_ID -> ../a<ATTEMPT>,
 *      and runs it only if no launch of it came before (launch_once; a
 *      second launch waits for the first and mirrors its status);
 *   2. reads the launch file the runtime wrote there (argv, environment,
 *      workdir) and writes `job` (it runs, and where);
 *   3. takes the partition's fence (below), waiting while an earlier attempt
 *      of the same partition still runs;
 *   4. starts the worker in its own process group with the same contract as
 *      locally: fd 3 is the attempt's `report` file (append-only), stdout
 *      and stderr its `output` file, stdin /dev/null, empty signal mask,
 *      default dispositions, the environment exactly as the runtime built
 *      it plus Slurm's own SLURM_* variables;
 *   5. forwards TERM, INT, HUP, USR1 and USR2 to the worker's group (scancel
 *      --batch --signal=TERM reaches only this process);
 *   6. when the worker has ended, closes the files and writes `exit` last
 *      (temp + rename): "exited N", "signalled S" or "error MESSAGE".
 *
 * Its own exit status mirrors the worker's, so Slurm's records agree.
 *
 * The fence: the run's spool folder holds one lock file per partition,
 * p<PARTITION>.live. Each attempt's launcher write-locks it (an OFD lock)
 * before its worker starts, and the worker inherits the descriptor, so the
 * lock is held until every process of the attempt that kept it is gone -
 * whatever kills them. This is what keeps two attempts of one partition
 * from running at once where the runtime cannot see processes: a task lost
 * with its node's slurmd (slurmstepd keeps the worker running) is retried,
 * and Slurm may start the retry before it kills the old task once slurmd
 * returns. The retry waits here, bounded, and does not start at all when
 * the old attempt outlives the bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/spool.h"
#include "nightshift/util.h"

extern char **environ;

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

/* Writes the exit file; the launcher's last word. Its second line, whose
 * ("task <array job>_<task> <run token>"), says which task of which run
 * wrote it: the runtime believes an exit file only when both are its own. */
static void write_exit(const char *adir, const char *whose, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void write_exit(const char *adir, const char *whose, const char *fmt, ...)
{
    char text[512], err[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, 256, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if (n > 254)
        n = 254;
    n += snprintf(text + n, sizeof text - (size_t)n, "\n%s\n", whose);
    if ((size_t)n >= sizeof text)
        n = (int)sizeof text - 1;
    if (spool_write_file(adir, "exit", text, (size_t)n, err, sizeof err) != 0)
        cli_error("_launch", "%s", err);
}

/* The value of NAME in an environment list, or NULL. */
static const char *env_value(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* The run token the runtime gave the attempt (NIGHTSHIFT_RUN_TOKEN in its
 * launch file); before that file is read, the name of the run's spool
 * directory, which is the same token. */
static const char *run_token_of(char **envp, const char *adir, char *buf, size_t len)
{
    const char *token = env_value(envp, "NIGHTSHIFT_RUN_TOKEN");
    if (token)
        return token;
    snprintf(buf, len, "%s", adir);
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

/* The worker's environment: the runtime's, then SLURM_* entries it lacks. */
static char **merge_env(char **envp)
{
    size_t n = 0, m = 0;
    while (envp[n])
        n++;
    for (char **e = environ; *e; e++)
        m++;
    char **out = ns_xcalloc(n + m + 1, sizeof(*out));
    memcpy(out, envp, n * sizeof(*out));
    size_t given = n;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "SLURM_", 6) != 0)
            continue;
        size_t kl = strcspn(*e, "=");
        bool have = false;
        for (size_t i = 0; i < given && !have; i++)
            have = strncmp(envp[i], *e, kl + 1) == 0;
        if (!have)
            out[n++] = *e;
    }
    return out;
}

/* An attempt runs once. Slurm may launch a task again - a controller that
 * restarted without having saved the task's start, an operator's requeue -
 * but a rerun is a new attempt, which only the runtime decides. The first
 * launch creates `launched` (O_EXCL: one winner, also on NFS). Returns true
 * for it (or when that cannot be told: the launch file decides, as before). */
static bool launch_once(const char *adir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/launched", adir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
    return fd >= 0 || errno != EEXIST;
}

/* A second launch of an attempt runs nothing and touches none of its files
 * (the exit file may hold the real outcome). It stays while the first
 * launch's processes hold the partition's fence - Slurm ending this job
 * would end them too, as it does a job's every process - and then exits
 * with the status the first one recorded, so Slurm's records agree; 125 if
 * it recorded none (ended without a word). */
#define LAUNCHED_BEFORE 125
#define SECOND_STEP_NS 200000000L
static int second_launch(const char *adir, const char *ajob, const char *task)
{
    cli_error("_launch", "%s: task %s_%s was launched before; an attempt runs once (not started)",
              adir, ajob ? ajob : "?", task);
    char fence[PATH_MAX], err[256];
    /* Slurm's record of this job is now this launch's: the runtime must
     * not take its status for the worker's (slurm-queue.c vanished). */
    if (spool_write_file(adir, "relaunched", "", 0, err, sizeof err) != 0)
        cli_error("_launch", "%s", err);
    struct spool_launch l;
    bool fenced = spool_read_launch(adir, &l, err, sizeof err) == 0 &&
                  spool_fence_path(adir, l.envp, fence, sizeof fence) == 0;
    if (fenced)
        spool_launch_release(&l);
    for (;;) {
        char *text = spool_read_file(adir, "exit");
        struct spool_exit x;
        if (text && spool_parse_exit(text, &x) == 0) {
            free(text);
            return x.kind == SPOOL_EXITED ? x.value
                   : x.kind == SPOOL_SIGNALLED ? 128 + x.value
                                               : 127;
        }
        free(text);
        if (!fenced || spool_fence_held(fence) != 1)
            return LAUNCHED_BEFORE;
        struct timespec step = {0, SECOND_STEP_NS};
        nanosleep(&step, NULL);
    }
}

/* How long a retry waits for an earlier attempt of its partition to end
 * (NIGHTSHIFT_FENCE_WAIT_S shortens it in tests). Slurm ends a lost task
 * within seconds once its node's slurmd is back; past this the old attempt
 * is taken to live on (a node cut off for good) and the retry gives up. */
#define FENCE_WAIT_S 120.0
#define FENCE_STEP_NS 50000000L

static double fence_wait_s(void)
{
    const char *e = getenv("NIGHTSHIFT_FENCE_WAIT_S");
    double v;
    return e && sscanf(e, "%lf", &v) == 1 && v >= 0 ? v : FENCE_WAIT_S;
}

/* Takes the fence of the attempt's partition (see the top of this file):
 * returns the locked descriptor, -1 without a fence to take (no partition
 * in the launch file, or a filesystem without locks: the attempt runs
 * unfenced, as before), or -2 with err set when an earlier attempt still
 * held it after the wait. */
static int fence_take(const char *adir, char **envp, double *waited_out, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (spool_fence_path(adir, envp, path, sizeof path) != 0)
        return -1;
    const char *part = env_value(envp, "NIGHTSHIFT_PARTITION");
    int opened = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    /* Above the worker's descriptors 0-3, which exec_worker() fills. */
    int fd = opened >= 0 ? fcntl(opened, F_DUPFD_CLOEXEC, NS_REPORT_FD + 1) : -1;
    if (opened >= 0)
        close(opened);
    if (fd < 0)
        return -1;
    double limit = fence_wait_s(), waited = 0;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        if (errno != EAGAIN && errno != EACCES) {
            close(fd); /* no locks on this filesystem */
            return -1;
        }
        if (waited >= limit) {
            close(fd);
            ns_errf(err, errlen,
                    "an earlier attempt of partition %s still runs (%s stayed locked for %.0f s); "
                    "not started",
                    part, path, limit);
            return -2;
        }
        struct timespec step = {0, FENCE_STEP_NS};
        nanosleep(&step, NULL);
        waited += FENCE_STEP_NS / 1e9;
    }
    *waited_out = waited;
    /* Tells the runtime the lock is this attempt's to hold: once it is
     * free and no exit file came, every process of the attempt is gone. */
    if (spool_write_file(adir, "fenced", "", 0, err, errlen) != 0)
        cli_error("_launch", "%s", err);
    return fd;
}

/* Tells the run's event log (a report line, as a worker's `log` would be)
 * that the attempt waited for an earlier one of its partition. */
static void say_fenced(int report_fd, const char *adir, double waited_s)
{
    char line[160];
    int n = snprintf(line, sizeof line,
                     "log warn waited %.1f s for an earlier attempt of this partition to end "
                     "before starting\n",
                     waited_s);
    if (write(report_fd, line, (size_t)n) != n)
        cli_error("_launch", "%s/report: %s", adir, strerror(errno));
}

/* In the child: the contract, then exec. Reports errno on errpipe. The
 * fence descriptor (if any) stays open: the worker holds the lock too. */
static void exec_worker(const struct spool_launch *l, char **env, int report_fd, int output_fd,
                        int errpipe, int fence_fd)
{
    setpgid(0, 0);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null = open("/dev/null", O_RDONLY);
    int ok = null >= 0 && dup2(null, 0) == 0 && dup2(output_fd, 1) == 1 &&
             dup2(output_fd, 2) == 2 && dup2(report_fd, NS_REPORT_FD) == NS_REPORT_FD;
    if (ok) {
        /* dup2 onto itself keeps FD_CLOEXEC: clear it on the four we pass. */
        for (int fd = 0; fd <= NS_REPORT_FD; fd++)
            fcntl(fd, F_SETFD, 0);
        for (int fd = NS_REPORT_FD + 1; fd < 1024; fd++)
            if (fd != errpipe && fd != fence_fd)
                close(fd);
        if (fence_fd >= 0)
            fcntl(fence_fd, F_SETFD, 0);
        if (l->workdir && chdir(l->workdir) != 0)
            ok = 0;
    }
    if (ok) {
        environ = env;
        execvp(l->argv[0], l->argv);
    }
    int e = errno;
    ssize_t w = write(errpipe, &e, sizeof e);
    (void)w;
    _exit(127);
}

static int launch_main(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("_launch", "usage: nightshift _launch BATCHDIR (run by Slurm, not by hand)");
        return 2;
    }
    const char *batch = argv[argc - 1];
    const char *task = getenv("SLURM_ARRAY_TASK_ID");
    if (!task) {
        cli_error("_launch", "SLURM_ARRAY_TASK_ID is not set (run by Slurm, not by hand)");
        return 2;
    }
    char link[PATH_MAX], adir[PATH_MAX], err[1024];
    snprintf(link, sizeof link, "%s/%s", batch, task);
    if (!realpath(link, adir)) {
        cli_error("_launch", "%s: %s", link, strerror(errno));
        return 2;
    }
    const char *ajob = getenv("SLURM_ARRAY_JOB_ID"), *job = getenv("SLURM_JOB_ID");
    if (!launch_once(adir))
        return second_launch(adir, ajob, task);
    char whose[PATH_MAX + 128], dirbuf[PATH_MAX];
    struct spool_launch l;
    int read_rc = spool_read_launch(adir, &l, err, sizeof err);
    snprintf(whose, sizeof whose, "task %s_%s %s", ajob ? ajob : "?", task,
             run_token_of(read_rc == 0 ? l.envp : NULL, adir, dirbuf, sizeof dirbuf));
    if (read_rc != 0) {
        write_exit(adir, whose, "error %s", err);
        return 127;
    }
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    char *jobline = ns_xasprintf("%s_%s %s %s %d\n", ajob ? ajob : "?", task, job ? job : "?", host,
                                 (int)getpid());
    int rc = spool_write_file(adir, "job", jobline, strlen(jobline), err, sizeof err);
    free(jobline);
    if (rc != 0) {
        cli_error("_launch", "%s", err);
        spool_launch_release(&l);
        return 127;
    }

    double fenced_s = 0;
    int fence_fd = fence_take(adir, l.envp, &fenced_s, err, sizeof err);
    if (fence_fd == -2) {
        write_exit(adir, whose, "error %s", err);
        spool_launch_release(&l);
        return 127;
    }

    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/report", adir);
    int report_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    snprintf(path, sizeof path, "%s/output", adir);
    int output_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int errpipe[2];
    if (report_fd < 0 || output_fd < 0 || pipe2(errpipe, O_CLOEXEC) != 0) {
        write_exit(adir, whose, "error %s: %s", path, strerror(errno));
        spool_launch_release(&l);
        return 127;
    }
    if (fenced_s > 0)
        say_fenced(report_fd, adir, fenced_s);

    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < NS_ARRAY_LEN(forwarded); i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    char **env = merge_env(l.envp);
    pid_t pid = fork();
    if (pid == 0)
        exec_worker(&l, env, report_fd, output_fd, errpipe[1], fence_fd);
    close(errpipe[1]);
    if (pid < 0) {
        write_exit(adir, whose, "error fork: %s", strerror(errno));
        spool_launch_release(&l);
        free(env);
        return 127;
    }
    setpgid(pid, pid); /* both sides: whichever runs first */
    int child_errno = 0;
    ssize_t got;
    while ((got = read(errpipe[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    close(errpipe[0]);

    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        int sig = sigwaitinfo(&set, NULL);
        if (sig > 0 && sig != SIGCHLD)
            kill(-pid, sig);
    }
    close(report_fd);
    close(output_fd);
    if (got == (ssize_t)sizeof child_errno) {
        write_exit(adir, whose, "error %s: %s", l.argv[0], strerror(child_errno));
        rc = 127;
    } else if (WIFEXITED(status)) {
        write_exit(adir, whose, "exited %d", WEXITSTATUS(status));
        rc = WEXITSTATUS(status);
    } else {
        write_exit(adir, whose, "signalled %d", WTERMSIG(status));
        rc = 128 + WTERMSIG(status);
    }
    spool_launch_release(&l);
    free(env);
    return rc;
}

const struct ns_command cmd_launch = {
    .name = "_launch",
    .args = "BATCHDIR",
    .summary = "(internal) run one Slurm array task's worker",
    .main = launch_main, /* run by Slurm on a node: its argv is the batch script's */
};
