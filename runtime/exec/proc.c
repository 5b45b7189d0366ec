/*
 * exec.c - the local executor (see exec.h).
 *
 * posix_spawn is used rather than fork+exec: it is safe from a threaded
 * process and glibc implements it with vfork semantics, so spawning is cheap
 * even when the runtime holds a large plan in memory. Exec failures are
 * reported by glibc's posix_spawn as a return value, so a mistyped command is
 * an error at start, not a mysterious exit 127.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/exec.h"
#include "nightshift/util.h"

/* The boot clock in /proc's clock ticks (field 22 of /proc/PID/stat is
 * the kernel's CLOCK_BOOTTIME stamp of the new process, in USER_HZ ticks). */
static uint64_t boot_ticks(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        return 0;
    static long hz;
    if (!hz)
        hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return 0;
    return (uint64_t)ts.tv_sec * (uint64_t)hz +
           (uint64_t)ts.tv_nsec / (uint64_t)(1000000000L / hz);
}

/* The child's start time without reading /proc when the boot clock showed
 * the same tick before and after the spawn (the child was stamped between
 * them): one open and read fewer per attempt. Checked against /proc the
 * first time it can be, so a kernel that counts otherwise only ever costs
 * the read. (Static: the runtime spawns from one thread.) */
static uint64_t child_start_time(pid_t pid, uint64_t before, uint64_t after)
{
    static int clock_matches = -1; /* -1: not checked yet */
    if (before == 0 || before != after || clock_matches == 0)
        return exec_start_time(pid);
    if (clock_matches == 1)
        return before;
    uint64_t st = exec_start_time(pid);
    clock_matches = st == before;
    return st;
}

/* The runtime's own resources ran out, not the worker's doing: too many
 * descriptors, processes or too little memory for one more worker. */
static bool environment_errno(int e)
{
    return e == EMFILE || e == ENFILE || e == EAGAIN || e == ENOMEM;
}

int exec_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t soft = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = soft;
    }
    return rl.rlim_cur > INT32_MAX ? INT32_MAX : (int)rl.rlim_cur;
}

int exec_start(const struct ns_launch *l, struct ns_proc *out, char *err, size_t errlen)
{
    int rep[2] = {-1, -1}, outp[2] = {-1, -1};
    int fault = 0; /* the errno of a failure that is the environment's */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ok = 0, attr_ok = 0, rc;
    memset(out, 0, sizeof *out);
    out->report_fd = out->output_fd = -1;

    if (pipe2(rep, O_CLOEXEC) != 0 || pipe2(outp, O_CLOEXEC) != 0) {
        fault = errno;
        ns_errf(err, errlen, "cannot create pipes: %s", strerror(errno));
        goto fail;
    }
    /* The child's ends must not sit on 0-3 already, or dup2 below would
     * clobber them; pipe2 returns the lowest free fds, and 0-2 are open in
     * any sane runtime, but fd 3 may be one of ours: move it away. */
    for (int i = 0; i < 2; i++) {
        if (rep[i] <= NS_REPORT_FD) {
            int moved = fcntl(rep[i], F_DUPFD_CLOEXEC, NS_REPORT_FD + 1);
            close(rep[i]);
            rep[i] = moved;
        }
        if (outp[i] <= NS_REPORT_FD) {
            int moved = fcntl(outp[i], F_DUPFD_CLOEXEC, NS_REPORT_FD + 1);
            close(outp[i]);
            outp[i] = moved;
        }
    }
    if (rep[0] < 0 || rep[1] < 0 || outp[0] < 0 || outp[1] < 0) {
        fault = errno;
        ns_errf(err, errlen, "cannot move pipe descriptors: %s", strerror(errno));
        goto fail;
    }

    posix_spawn_file_actions_init(&fa);
    fa_ok = 1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 2);
    posix_spawn_file_actions_adddup2(&fa, rep[1], NS_REPORT_FD);
    /* Whatever the runtime inherited without CLOEXEC stays out of workers. */
    posix_spawn_file_actions_addclosefrom_np(&fa, NS_REPORT_FD + 1);
    if (l->workdir)
        posix_spawn_file_actions_addchdir_np(&fa, l->workdir);

    posix_spawnattr_init(&attr);
    attr_ok = 1;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);

    pid_t pid;
    uint64_t ticks_before = boot_ticks();
    rc = posix_spawnp(&pid, l->argv[0], &fa, &attr, l->argv, l->envp);
    if (rc != 0) {
        if (l->workdir && rc == ENOENT && access(l->workdir, X_OK) != 0)
            ns_errf(err, errlen, "workdir %s: %s", l->workdir, strerror(rc));
        else
            ns_errf(err, errlen, "%s: %s", l->argv[0], strerror(rc));
        fault = rc;
        goto fail;
    }
    uint64_t ticks_after = boot_ticks();
    close(rep[1]);
    close(outp[1]);
    /* Fresh pipe ends carry no other status flag (CLOEXEC is a descriptor
     * flag): no F_GETFL first. */
    fcntl(rep[0], F_SETFL, O_NONBLOCK);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    out->pid = pid;
    out->start_time = child_start_time(pid, ticks_before, ticks_after);
    out->report_fd = rep[0];
    out->output_fd = outp[0];
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (rep[i] >= 0)
            close(rep[i]);
        if (outp[i] >= 0)
            close(outp[i]);
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    return environment_errno(fault) ? NS_EXEC_ENV_FAULT : -1;
}

int exec_signal_group(pid_t pgid, int sig)
{
    if (pgid <= 1)
        return -1; /* never signal init's group or "every process" */
    return kill(-pgid, sig);
}

/* Reads /proc/PID/stat into buf; returns a pointer just past the ")" that
 * ends the command name (which may itself contain spaces and parentheses). */
static const char *read_stat(pid_t pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp ? rp + 1 : NULL;
}

uint64_t exec_start_time(pid_t pid)
{
    char buf[1024];
    const char *p = read_stat(pid, buf, sizeof buf);
    if (!p)
        return 0;
    /* After ")" each field is preceded by one space: field 3 (state) ...
     * field 22 (starttime). */
    int field = 2;
    while (*p && field < 22) {
        if (*p == ' ')
            field++;
        p++;
    }
    return strtoull(p, NULL, 10);
}

bool exec_same_process(pid_t pid, uint64_t start_time)
{
    if (pid <= 1)
        return false;
    uint64_t st = exec_start_time(pid);
    return st != 0 && st == start_time;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps pid if it is our child (non-blocking); true once it is gone. */
static bool gone(pid_t pid, uint64_t start_time)
{
    waitpid(pid, NULL, WNOHANG);
    if (!exec_same_process(pid, start_time))
        return true;
    /* A zombie still has its /proc entry; treat it as gone. */
    char buf[1024];
    const char *p = read_stat(pid, buf, sizeof buf);
    return !p || (p[0] == ' ' && p[1] == 'Z');
}

static bool group_gone(pid_t pgid)
{
    return kill(-pgid, 0) != 0 && errno == ESRCH;
}

/* Live (not zombie) processes whose process group is pgid; a scan of /proc
 * only when the group is not empty (kill says so for free). */
static int group_live(pid_t pgid)
{
    if (group_gone(pgid))
        return 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end, buf[1024];
        long pid = strtol(e->d_name, &end, 10);
        const char *p = *end || pid <= 1 ? NULL : read_stat((pid_t)pid, buf, sizeof buf);
        char state;
        int ppid, pgrp;
        if (p && sscanf(p, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid && state != 'Z')
            n++;
    }
    closedir(d);
    return n;
}

int exec_end_group_leftovers(pid_t pgid)
{
    if (pgid <= 1)
        return 0;
    int left = group_live(pgid);
    exec_signal_group(pgid, SIGKILL);
    /* Dead before anyone looks for escapees, so none is taken for one. */
    double deadline = ns_monotonic() + 1.0;
    while (left > 0 && group_live(pgid) > 0 && ns_monotonic() < deadline)
        sleep_ms(5);
    return left;
}

int exec_end_orphan(pid_t pid, uint64_t start_time, int64_t grace_ms)
{
    if (!exec_same_process(pid, start_time))
        return 0;
    exec_signal_group(pid, SIGCONT); /* a paused group cannot act on SIGTERM */
    exec_signal_group(pid, SIGTERM);
    double deadline = ns_monotonic() + (double)grace_ms / 1000.0;
    while (ns_monotonic() < deadline && !(gone(pid, start_time) && group_gone(pid)))
        sleep_ms(20);
    exec_signal_group(pid, SIGKILL);
    if (exec_same_process(pid, start_time))
        kill(pid, SIGKILL);
    return 1;
}

/* True if /proc/PID/environ holds the exact entry needle. */
static bool environ_has(pid_t pid, const char *needle, size_t nlen)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    /* Entries are NUL-separated; read in chunks, keeping a tail for matches
     * that straddle a chunk boundary. */
    char buf[8192 + 256];
    size_t keep = 0;
    bool found = false;
    for (;;) {
        ssize_t n = read(fd, buf + keep, sizeof buf - keep - 1);
        if (n <= 0)
            break;
        size_t len = keep + (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < len; i++) {
            if (buf[i] != '\0')
                continue;
            if (i - start == nlen && memcmp(buf + start, needle, nlen) == 0) {
                found = true;
                break;
            }
            start = i + 1;
        }
        if (found)
            break;
        keep = len - start;
        if (keep > 256)
            keep = 0; /* an entry longer than any needle: drop it */
        else
            memmove(buf, buf + start, keep);
    }
    if (!found && keep == nlen && memcmp(buf, needle, nlen) == 0)
        found = true;
    close(fd);
    return found;
}

int exec_end_run_processes(const char *marker, int64_t grace_ms)
{
    const char *needle = marker;
    size_t nlen = strlen(marker);
    pid_t self = getpid();
    pid_t *found = NULL;
    size_t nfound = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == self)
            continue;
        if (environ_has((pid_t)pid, needle, nlen)) {
            found = ns_xrealloc(found, (nfound + 1) * sizeof *found);
            found[nfound++] = (pid_t)pid;
        }
    }
    closedir(d);
    for (size_t i = 0; i < nfound; i++) {
        pid_t pgid = getpgid(found[i]);
        if (pgid > 1 && pgid != getpgrp()) {
            exec_signal_group(pgid, SIGCONT);
            exec_signal_group(pgid, SIGTERM);
        }
        kill(found[i], SIGCONT);
        kill(found[i], SIGTERM);
    }
    if (nfound) {
        double deadline = ns_monotonic() + (double)grace_ms / 1000.0;
        for (;;) {
            bool any = false;
            for (size_t i = 0; i < nfound; i++) {
                waitpid(found[i], NULL, WNOHANG);
                if (kill(found[i], 0) == 0) {
                    char buf[1024];
                    const char *p = read_stat(found[i], buf, sizeof buf);
                    if (p && !(p[0] == ' ' && p[1] == 'Z'))
                        any = true;
                }
            }
            if (!any || ns_monotonic() >= deadline)
                break;
            sleep_ms(20);
        }
        for (size_t i = 0; i < nfound; i++) {
            kill(found[i], SIGKILL);
            waitpid(found[i], NULL, WNOHANG);
        }
    }
    free(found);
    return (int)nfound;
}

/* True if pid, one of our children, is not a live worker listed in ours[]
 * (their environments hold their own tokens) and holds marker. */
static bool stray_child(long pid, const char *marker, size_t nlen, const pid_t *ours, size_t nours)
{
    if (pid <= 1)
        return false;
    for (size_t i = 0; i < nours; i++)
        if (ours[i] == (pid_t)pid)
            return false;
    return environ_has((pid_t)pid, marker, nlen);
}

/* True if one of our children is a stray_child; -1 if the kernel cannot
 * list children. The main thread's list (/proc/self/task/PID/children,
 * "PID PID ... ") is all of them: workers and hooks are started from the
 * loop, and the kernel hands orphans to a subreaper's first live thread.
 * The file stays open: a read from offset 0 lists the children anew (one
 * open and close fewer per ended attempt). */
static int child_has(const char *marker, size_t nlen, const pid_t *ours, size_t nours)
{
    static int fd = -1; /* the runtime's loop is the one caller */
    if (fd < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -1;
    }
    int found = 0;
    char buf[4096];
    size_t have = 0; /* a pid cut at the end of the last read is kept */
    off_t at = 0;
    for (bool eof = false; !found && !eof;) {
        ssize_t n = pread(fd, buf + have, sizeof buf - 1 - have, at);
        if (n < 0) {
            close(fd);
            fd = -1;
            return -1;
        }
        eof = n == 0;
        at += n;
        have += (size_t)n;
        buf[have] = '\0';
        char *p = buf, *end;
        for (long pid; !found && (pid = strtol(p, &end, 10), end != p); p = end) {
            if (*end == '\0' && !eof)
                break; /* maybe cut: read on */
            found = stray_child(pid, marker, nlen, ours, nours);
        }
        have = strlen(p);
        memmove(buf, p, have + 1);
        if (have == sizeof buf - 1)
            have = 0; /* no pid is that long */
    }
    return found;
}

int exec_end_escaped(const char *marker, const pid_t *ours, size_t nours)
{
    /* Cheap first: an escapee whose parent (the worker) has exited was
     * reparented to us, the subreaper; only then scan every process, which
     * also finds its descendants. */
    if (child_has(marker, strlen(marker), ours, nours) == 0)
        return 0;
    return exec_end_run_processes(marker, 0);
}

void exec_become_subreaper(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

void exec_reap_children(bool (*claim)(void *ctx, int pid, int status), void *ctx)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (claim)
            claim(ctx, (int)pid, status);
}

void exec_reap_leftovers(double seconds)
{
    double deadline = ns_monotonic() + seconds;
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid > 0)
            continue;
        if (pid < 0 || ns_monotonic() >= deadline)
            return; /* ECHILD: none left */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int exec_run_quiet(const char *const argv[], int timeout_ms)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd <= 2; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    pid_t pid;
    extern char **environ;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    double deadline = ns_monotonic() + timeout_ms / 1000.0;
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
        if (ns_monotonic() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -2;
        }
        sleep_ms(5);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
        return -1; /* posix_spawnp's child could not exec it, or it died */
    return WEXITSTATUS(status);
}
