/*
 * spool.h - the files a queued attempt and its launcher share (executor: slurm).
 *
 * The runtime and the launcher (`nightshift _launch`, on a compute node) meet
 * only in the spool directory, which both must see (a shared filesystem).
 * Per run, SPOOL/<run key>/ holds (the run key is "<db hash>.<run id>.<run
 * token>", the token random: no two runs ever share a folder; a<ATTEMPT> and
 * b<FIRST> are made with mkdir, never reused: a taken name gets ".1", ".2"):
 *
 *   launch.sh        "#!<nightshift> _launch\n" - the batch script, no user data
 *   a<ATTEMPT>/      one directory per attempt:
 *     launch         argv, environment and workdir (written by the runtime)
 *     array          "<array job id>_<task id>\n" (runtime, after sbatch)
 *     job            "<array job>_<task> <job id> <host> <pid>\n" (launcher, when it starts)
 *     report         the worker's fd 3: report protocol bytes, as written
 *     output         the worker's stdout and stderr
 *     launched       empty: the attempt's first launch (O_EXCL; a second one runs nothing)
 *     fenced         empty: its launcher holds the partition's fence (below)
 *     relaunched     empty: Slurm launched the attempt again (Slurm's record of
 *                    the job is then that launch's, not the worker's)
 *     exit           "exited N" / "signalled S" / "error MESSAGE", then
 *                    "task <array job>_<task> <run key>" (launcher, last)
 *   p<PARTITION>.live   the partition's fence: an OFD write lock held by the
 *                    launcher of the partition's running attempt and every
 *                    process of it that kept the descriptor (cmd-launch.c)
 *   b<FIRST>/        one directory per job array (FIRST = its first attempt id):
 *     <TASK> -> ../a<ATTEMPT>   the array task's attempt
 *     <TASK>.slurm.out          what Slurm itself caught (launcher errors)
 *
 * Every file the other side waits for (launch, array, job, exit) is written
 * to a temporary name and renamed, so it is seen whole or not at all. The
 * launch file is length-prefixed ("A 5\nhello\n"), so any byte (newlines in
 * environment values) survives. These functions never print.
 */
#ifndef NIGHTSHIFT_SPOOL_H
#define NIGHTSHIFT_SPOOL_H

#include <stddef.h>

#include "nightshift/exec.h"

/* Writes text to dir/name through dir/.name.tmp and rename. Returns 0 or -1
 * with err filled ("PATH: Permission denied"). */
int spool_write_file(const char *dir, const char *name, const char *text, size_t len, char *err,
                     size_t errlen);

/* Reads dir/name (at most 64 KiB) into a NUL-terminated heap string; the
 * caller frees. NULL if it does not exist or cannot be read. */
char *spool_read_file(const char *dir, const char *name);

/* Writes the launch data of l into dir/launch. Returns 0 or -1 with err filled. */
int spool_write_launch(const char *dir, const struct ns_launch *l, char *err, size_t errlen);

/* A launch read back: argv and envp NULL-terminated; workdir may be NULL. */
struct spool_launch {
    char **argv;
    char **envp;
    char *workdir;
};

/* Reads dir/launch. Returns 0, or -1 with err filled (missing, malformed). */
int spool_read_launch(const char *dir, struct spool_launch *out, char *err, size_t errlen);
void spool_launch_release(struct spool_launch *l);

/* How the launcher's worker ended, as the exit file says, and who wrote it. */
struct spool_exit {
    enum { SPOOL_EXITED, SPOOL_SIGNALLED, SPOOL_ERROR } kind;
    int value;         /* exit code or signal number */
    char message[160]; /* SPOOL_ERROR: why the worker could not start */
    /* The second line, "task <array job>_<task> <run token>": the task that
     * wrote it. Empty when the file has no such line (it then proves
     * nothing about whose it is). */
    char task[48];
    char run[128];
};

/* Parses an exit file's text. Returns 0, or -1 if it is not one. */
int spool_parse_exit(const char *text, struct spool_exit *out);

/* The fence of the partition an attempt folder's launch is for:
 * <adir's parent>/p<PARTITION>.live, PARTITION taken from the launch
 * environment's NIGHTSHIFT_PARTITION. Returns 0, or -1 when envp names no
 * partition. */
int spool_fence_path(const char *adir, char *const *envp, char *out, size_t len);

/* Whether a process holds the fence at path (without taking it): 1 held,
 * 0 free, -1 cannot tell (no such file, a filesystem without locks). */
int spool_fence_held(const char *path);

#endif
