/*
 * floor.c - the spawn floor for the benchmarks: run a command N times with at
 * most P at once, using posix_spawn + waitpid and nothing else (no pipes, no
 * logs, no bookkeeping). nightshift's per-partition figures are reported as
 * multiples of this program's wall time on the same machine in the same run.
 *
 *   floor -P 2 -n 2000 true [ARGS...]
 *
 * The command is looked up in PATH (posix_spawnp). Exits 0 when every child
 * exited 0, 1 when one did not, 2 on a usage or spawn error.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    long par = 1, n = 1;
    int opt;
    while ((opt = getopt(argc, argv, "+P:n:")) != -1) {
        if (opt == 'P')
            par = strtol(optarg, NULL, 10);
        else if (opt == 'n')
            n = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (optind >= argc || par < 1 || n < 0) {
        fputs("usage: floor -P CONCURRENCY -n COUNT COMMAND [ARGS...]\n", stderr);
        return 2;
    }
    long started = 0, live = 0;
    int bad = 0;
    while (started < n || live > 0) {
        while (live < par && started < n) {
            pid_t pid;
            int rc = posix_spawnp(&pid, argv[optind], NULL, NULL, argv + optind, environ);
            if (rc != 0) {
                fprintf(stderr, "floor: %s: %s\n", argv[optind], strerror(rc));
                return 2;
            }
            started++;
            live++;
        }
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        live--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad = 1;
    }
    return bad;
}
