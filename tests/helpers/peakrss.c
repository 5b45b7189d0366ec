/*
 * peakrss.c - run a command and report its peak resident set size.
 *
 *   peakrss [-o FILE] COMMAND [ARGS...]
 *
 * Forks, execs COMMAND, waits with wait4() and prints ru_maxrss (KiB) on a
 * line of its own to FILE (default stderr). Linux folds the peak of every
 * descendant the command waited for into that figure, so for `nightshift run`
 * it is max(runtime, largest worker); with tiny workers (`true`) that is the
 * runtime. Exits with the command's status (128+N if killed by signal N),
 * 127 if it could not be started. Used by tests/bench/run.sh.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(void)
{
    fputs("usage: peakrss [-o FILE] COMMAND [ARGS...]\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out_path = NULL;
    int i = 1;
    if (i < argc && strcmp(argv[i], "-o") == 0) {
        if (i + 1 >= argc)
            usage();
        out_path = argv[i + 1];
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc)
        usage();

    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "peakrss: fork: %s\n", strerror(errno));
        return 127;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "peakrss: %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }

    /* Let the child take SIGINT/SIGTERM sent to the group; we only wait. */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);

    int status;
    struct rusage ru;
    pid_t r;
    do
        r = wait4(pid, &status, 0, &ru);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        fprintf(stderr, "peakrss: wait4: %s\n", strerror(errno));
        return 127;
    }

    FILE *f = stderr;
    if (out_path && !(f = fopen(out_path, "w"))) {
        fprintf(stderr, "peakrss: %s: %s\n", out_path, strerror(errno));
        return 127;
    }
    fprintf(f, "%ld\n", ru.ru_maxrss);
    if (f != stderr && fclose(f) != 0) {
        fprintf(stderr, "peakrss: %s: %s\n", out_path, strerror(errno));
        return 127;
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
