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
 *   1. finds its attempt: BATCHDIR/$SLURM_ARRAY_TASK_ID -> ../a<ATTEMPT>;
 *   2. reads the launch file the runtime wrote there (argv, environment,
 *      workdir) and writes `job` (it runs, and where);
 *   3. starts the worker in its own process group with the same contract as
 *      locally: fd 3 is the attempt's `report` file (append-only), stdout
 *      and stderr its `output` file, stdin /dev/null, empty signal mask,
 *      default dispositions, the environment exactly as the runtime built
 *      it plus Slurm's own SLURM_* variables;
 *   4. forwards TERM, INT, HUP, USR1 and USR2 to the worker's group (scancel
 *      --batch --signal=TERM reaches only this process);
 *   5. when the worker has ended, closes the files and writes `exit` last
 *      (temp + rename): "exited N", "signalled S" or "error MESSAGE".
 *
 * Its own exit status mirrors the worker's, so Slurm's records agree.
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

/* The run token the runtime gave the attempt (NIGHTSHIFT_RUN_TOKEN in its
 * launch file); before that file is read, the name of the run's spool
 * directory, which is the same token. */
static const char *run_token_of(char **envp, const char *adir, char *buf, size_t len)
{
    static const char var[] = "NIGHTSHIFT_RUN_TOKEN=";
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, var, sizeof var - 1) == 0)
            return *e + sizeof var - 1;
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

/* In the child: the contract, then exec. Reports errno on errpipe. */
static void exec_worker(const struct spool_launch *l, char **env, int report_fd, int output_fd,
                        int errpipe)
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
            if (fd != errpipe)
                close(fd);
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

    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < NS_ARRAY_LEN(forwarded); i++)
        sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    char **env = merge_env(l.envp);
    pid_t pid = fork();
    if (pid == 0)
        exec_worker(&l, env, report_fd, output_fd, errpipe[1]);
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
