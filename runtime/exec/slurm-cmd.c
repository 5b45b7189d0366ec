/*
 * slurm-cmd.c - running Slurm's commands (sbatch, scontrol, scancel, squeue,
 * sinfo) for the `slurm` executor.
 *
 * Inside the loop no command is waited for: slurm_cmd_begin starts it in a
 * slot, its pipes join the executor's pollfds, the supervisor reaps it and
 * offers it to child_exited(), and service() hands its answer to the
 * command's done() on a later turn. Each has a deadline (ex->cmd_timeout):
 * past it the command is killed, noted as a run event with its words, and
 * done() hears it failed. At most CMD_SLOTS run at once besides the squeue
 * poll (slot 0), so a hung scancel costs one slot and never the loop, its
 * SQLite lock, or an operator's pause and resume behind it.
 *
 * Invariants: a slot is free iff its pid is 0; done() runs once per begun
 * command, with the slot already free (it may begin the next one), except
 * for commands slurm_cmd_kill_all ends.
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
#include <sys/wait.h>
#include <unistd.h>

#include "slurm-internal.h"

extern char **environ;

/* Starts argv (looked up in PATH, no shell) with stdin /dev/null and
 * stdout and stderr on pipes whose read ends go to *out_fd and *err_fd
 * (CLOEXEC). Returns the pid, or -1 with err filled. */
pid_t slurm_spawn_cmd(char *const *argv, int *out_fd, int *err_fd, char *err, size_t errlen)
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
 * killed at CMD_TIMEOUT_S. It blocks, so it serves only where the loop does
 * not run yet (or any more): open's `scontrol show config`, recover's and
 * end_strays' squeue and scancel before dispatch (and end_strays after the
 * loop). A hung command there delays the start, never a running run. */
int slurm_run_cmd(char *const *argv, struct ns_buf *out, char *err, size_t errlen)
{
    int ofd, efd;
    pid_t pid = slurm_spawn_cmd(argv, &ofd, &efd, err, errlen);
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

void slurm_args_add(struct args *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = ns_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = ns_xstrdup(s);
    a->v[a->n] = NULL;
}

void slurm_args_addf(struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct ns_buf b = NS_BUF_INIT;
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    slurm_args_add(a, b.data ? b.data : "");
    buf_release(&b);
}

void slurm_args_release(struct args *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- beside the loop --------------------------------------------------------- */

struct slurm_cmd *slurm_cmd_slot(struct ns_executor *ex, bool poll)
{
    if (poll)
        return ex->cmds[0].pid == 0 ? &ex->cmds[0] : NULL;
    for (size_t i = 1; i < NS_ARRAY_LEN(ex->cmds); i++)
        if (ex->cmds[i].pid == 0)
            return &ex->cmds[i];
    return NULL;
}

/* The command line as words for an event, cut with "..." when long. */
static void cmd_words(char *buf, size_t len, char *const *argv)
{
    size_t at = 0;
    buf[0] = '\0';
    for (char *const *a = argv; *a && at < len; a++) {
        int n = snprintf(buf + at, len - at, "%s%s", a == argv ? "" : " ", *a);
        if (n < 0 || (size_t)n >= len - at) {
            if (len > 4)
                memcpy(buf + len - 4, "...", 4);
            return;
        }
        at += (size_t)n;
    }
}

static void cmd_close_fds(struct slurm_cmd *c)
{
    if (c->out_fd >= 0)
        close(c->out_fd);
    if (c->err_fd >= 0)
        close(c->err_fd);
    c->out_fd = c->err_fd = -1;
}

/* Frees what the caller hung on the slot and marks it free. */
static void cmd_release(struct slurm_cmd *c)
{
    cmd_close_fds(c);
    buf_release(&c->out);
    buf_release(&c->err);
    free(c->tasks);
    free(c->ids);
    free(c->dir);
    memset(c, 0, sizeof *c);
    c->out_fd = c->err_fd = -1;
}

int slurm_cmd_begin(struct ns_executor *ex, struct slurm_cmd *c, char *const *argv,
                    slurm_cmd_done *done, char *err, size_t errlen)
{
    int ofd, efd;
    pid_t pid = slurm_spawn_cmd(argv, &ofd, &efd, err, errlen);
    if (pid < 0) {
        cmd_release(c);
        return -1;
    }
    fcntl(ofd, F_SETFL, O_NONBLOCK);
    fcntl(efd, F_SETFL, O_NONBLOCK);
    c->pid = pid;
    c->out_fd = ofd;
    c->err_fd = efd;
    c->reaped = c->killed = false;
    c->began = ns_monotonic();
    c->deadline = c->began + ex->cmd_timeout;
    c->done = done;
    cmd_words(c->words, sizeof c->words, argv);
    return 0;
}

/* Reads what is there on both pipes; closes each at EOF. */
static void cmd_read(struct slurm_cmd *c)
{
    int *fds[] = {&c->out_fd, &c->err_fd};
    for (size_t i = 0; i < NS_ARRAY_LEN(fds); i++) {
        char chunk[READ_CHUNK];
        ssize_t r = 0;
        while (*fds[i] >= 0 && (r = read(*fds[i], chunk, sizeof chunk)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                break;
            if (i == 0)
                buf_add(&c->out, chunk, (size_t)r);
            else if (c->err.len < 4096)
                buf_add(&c->err, chunk, (size_t)r);
        }
        if (*fds[i] >= 0 && !(r < 0 && errno == EAGAIN)) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
}

/* The ended command's answer: ok, or why not into err. */
static bool cmd_outcome(const struct ns_executor *ex, const struct slurm_cmd *c, char *err,
                        size_t errlen)
{
    if (c->killed) {
        ns_errf(err, errlen, "%.60s: no answer in %.0f s", c->words, ex->cmd_timeout);
        return false;
    }
    if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
        return true;
    const char *msg = c->err.data ? c->err.data : "";
    size_t ml = strcspn(msg, "\n");
    if (ml)
        ns_errf(err, errlen, "%.*s", (int)ml, msg);
    else if (WIFEXITED(c->status))
        ns_errf(err, errlen, "%.60s exited with status %d", c->words, WEXITSTATUS(c->status));
    else
        ns_errf(err, errlen, "%.60s ended by signal %d", c->words, WTERMSIG(c->status));
    return false;
}

void slurm_cmd_service(struct ns_executor *ex, const struct ns_exec_events *ev, void *ctx)
{
    double now = ns_monotonic();
    for (size_t i = 0; i < NS_ARRAY_LEN(ex->cmds); i++) {
        struct slurm_cmd *c = &ex->cmds[i];
        if (c->pid == 0)
            continue;
        cmd_read(c);
        if (!c->reaped && !c->killed && now > c->deadline) {
            /* Reaped as usual; its pipes may stay open in a grandchild, so
             * they are not waited for any more. */
            kill(c->pid, SIGKILL);
            c->killed = true;
            slurm_note(ex, "slurm: `%s` gave no answer in %.0f s: killed", c->words,
                       ex->cmd_timeout);
        }
        if (c->killed && c->reaped)
            cmd_close_fds(c);
        if (c->out_fd >= 0 || c->err_fd >= 0 || !c->reaped)
            continue;
        /* Ended: the slot is free before done() runs, which may begin the
         * next command in it. */
        struct slurm_cmd ended = *c;
        memset(c, 0, sizeof *c);
        c->out_fd = c->err_fd = -1;
        char err[512] = "";
        bool ok = cmd_outcome(ex, &ended, err, sizeof err);
        ended.done(ex, &ended, ok, err, ev, ctx);
        cmd_release(&ended);
    }
}

size_t slurm_cmd_pollfds(const struct ns_executor *ex, struct pollfd *pfd, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < NS_ARRAY_LEN(ex->cmds); i++) {
        const struct slurm_cmd *c = &ex->cmds[i];
        if (c->pid == 0)
            continue;
        int fds[] = {c->out_fd, c->err_fd};
        for (size_t k = 0; k < NS_ARRAY_LEN(fds); k++) {
            if (fds[k] < 0)
                continue;
            if (n < cap)
                pfd[n] = (struct pollfd){fds[k], POLLIN, 0};
            n++;
        }
    }
    return n;
}

double slurm_cmd_next_deadline(const struct ns_executor *ex)
{
    double w = 0;
    for (size_t i = 0; i < NS_ARRAY_LEN(ex->cmds); i++) {
        const struct slurm_cmd *c = &ex->cmds[i];
        if (c->pid != 0 && !c->killed && (w == 0 || c->deadline < w))
            w = c->deadline;
    }
    return w;
}

bool slurm_child_exited(struct ns_executor *ex, int pid, int wstatus)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(ex->cmds); i++) {
        struct slurm_cmd *c = &ex->cmds[i];
        if (c->pid > 0 && !c->reaped && c->pid == pid) {
            c->reaped = true;
            c->status = wstatus;
            return true;
        }
    }
    return false;
}

void slurm_cmd_kill_all(struct ns_executor *ex)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(ex->cmds); i++) {
        struct slurm_cmd *c = &ex->cmds[i];
        if (c->pid > 0 && !c->reaped) {
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR) {
            }
        }
        if (c->pid > 0)
            cmd_release(c);
    }
}

void slurm_note(struct ns_executor *ex, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&ex->notes, fmt, ap);
    va_end(ap);
    buf_add(&ex->notes, "", 1); /* NUL-separated */
}
