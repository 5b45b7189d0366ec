/*
 * exec.h - local process helpers: start a worker, signal it, find it again.
 *
 * The `local` executor (exec-local.c, behind executor.h) and the hooks stand
 * on these; the supervisor does not call them. Each worker is its own process group
 * (pgid = pid), started with posix_spawn with an empty signal mask, default
 * dispositions and exactly three descriptors besides stdin: stdout and stderr
 * on the log pipe, the report pipe on fd 3. A process is identified by pid
 * AND its start time (field 22 of /proc/PID/stat), so a recycled pid is never
 * mistaken for a worker after a restart. exec_start reads that from the boot
 * clock when it shows the same tick before and after the spawn, and from
 * /proc otherwise. Workers and hooks are started from one thread (the loop).
 */
#ifndef NIGHTSHIFT_EXEC_H
#define NIGHTSHIFT_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NS_REPORT_FD 3

struct ns_launch {
    char *const *argv; /* argv[0] is looked up in PATH if it has no slash */
    char *const *envp;
    const char *workdir; /* NULL: inherit */
};

struct ns_proc {
    pid_t pid;           /* also the process group id */
    uint64_t start_time; /* clock ticks after boot, 0 if unknown */
    int report_fd;       /* read end of the report pipe, non-blocking, CLOEXEC */
    int output_fd;       /* read end of the stdout+stderr pipe, non-blocking, CLOEXEC */
};

/* exec_start's answer when the runtime itself ran out of something (EMFILE,
 * ENFILE, EAGAIN, ENOMEM): the environment's fault, never the partition's. */
#define NS_EXEC_ENV_FAULT (-2)

/* Starts the worker. Returns 0; -1 with err filled (e.g. "./w.sh: No such
 * file or directory" - the exec failure is detected before returning); or
 * NS_EXEC_ENV_FAULT with err filled ("cannot create pipes: Too many open
 * files"). */
int exec_start(const struct ns_launch *l, struct ns_proc *out, char *err, size_t errlen);

/* Raises the process's soft limit on open files to its hard limit (a
 * runtime of 1 024 workers needs 2 048 pipe ends). Returns the soft limit
 * now in force, or -1. */
int exec_raise_fd_limit(void);

/* Sends sig to the whole process group. Returns 0 or -1 (errno set). */
int exec_signal_group(pid_t pgid, int sig);

/* Start time of pid from /proc, 0 if the process does not exist. */
uint64_t exec_start_time(pid_t pid);

/* True if pid is alive and still the process that started at start_time. */
bool exec_same_process(pid_t pid, uint64_t start_time);

/* Ends a worker left behind by a dead runtime: if (pid, start_time) still
 * names it, SIGTERM its group, wait up to grace_ms, then SIGKILL. Returns 1
 * if a process was ended, 0 if it was already gone. */
int exec_end_orphan(pid_t pid, uint64_t start_time, int64_t grace_ms);

/* Finds processes whose environment holds the exact entry `marker` (the
 * runtime gives every worker NIGHTSHIFT_RUN_TOKEN=<database>.<run>, which
 * descendants inherit even when they leave the process group) and ends
 * them: SIGTERM to their groups, grace, SIGKILL. Skips the calling process.
 * Returns how many processes were found. */
int exec_end_run_processes(const char *marker, int64_t grace_ms);

/* Ends, with SIGKILL, what a worker that has exited left in its process
 * group pgid (an ordinary background child: `sleep 30 &`) and waits, at
 * most a second, until it is dead. Returns how many live processes there
 * were (0: the group was empty, the usual case, found without a scan). */
int exec_end_group_leftovers(pid_t pgid);

/* Ends, with SIGKILL at once, the processes of an attempt that outlived it
 * outside its process group (setsid) but kept its token `marker`
 * (NIGHTSHIFT_ATTEMPT_TOKEN=...): called when the attempt ends, so they
 * cannot run beside its partition's next attempt. Cheap when there are none
 * (only our own children are looked at first, and of those not the live
 * workers listed in ours[]). Returns how many were ended. A process that
 * also cleared its environment (env -i) is not found. */
int exec_end_escaped(const char *marker, const pid_t *ours, size_t nours);

/* Runs argv (looked up in PATH) with no input and its output thrown away,
 * and waits at most timeout_ms. Returns its exit status (0..255), -1 when
 * it could not be run or did not exit normally (127: not found), -2 when
 * it took too long (it was killed). For a command's yes/no answer
 * (`systemd-analyze calendar WHEN`). */
int exec_run_quiet(const char *const argv[], int timeout_ms);

/* Reaps every child that has exited (waitpid(-1), not blocking) and offers
 * each to claim(ctx, pid, wait status); unclaimed ones (orphaned
 * grandchildren of a subreaper) are just reaped. */
void exec_reap_children(bool (*claim)(void *ctx, int pid, int status), void *ctx);

/* As a subreaper the runtime inherits orphaned grandchildren; the ones that
 * were killed must not outlive it as zombies (a container's init may never
 * reap them). Reaps until none is left or `seconds` have passed. */
void exec_reap_leftovers(double seconds);

/* Makes the calling process a child subreaper, so orphaned grandchildren
 * are reparented to it and can be reaped. */
void exec_become_subreaper(void);

#endif
