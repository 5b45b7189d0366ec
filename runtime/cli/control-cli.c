/*
 * control-cli.c - the one path every operator command file takes
 * (control-cli.h), after cli_dispatch parsed it and resolved the run: check
 * whether a runtime drives it, record the command, wait for the verdict
 * and say it.
 *
 * The client never changes job state. When no runtime drives the run, a
 * live-only verb (pause, resume, stop, kill, set) is recorded already
 * refused - the audit log shows the attempt and why it did nothing - and
 * retry/skip stay pending for the next `nightshift run` of the run's spec,
 * which applies them at start-up (or `retry --start` starts that runtime).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"
#include "nightshift/query.h"
#include "nightshift/control.h"

int ctl_partitions(struct cli *c, struct ns_control_args *a)
{
    int64_t *idx = ns_xcalloc((size_t)c->nrest + 1, sizeof *idx);
    for (int i = 0; i < c->nrest; i++) {
        idx[i] = cli_find_partition(c, c->rest[i]);
        if (idx[i] < 0) {
            free(idx);
            return NS_EXIT_USAGE;
        }
    }
    a->partitions = idx;
    a->npartitions = (size_t)c->nrest;
    return 0;
}

/* retry --start: `nightshift run --detach --db DB SPEC -p ...` for the run,
 * in a child; returns once that runtime holds the run (run --detach returns
 * then). 0 when it started, else an exit status with the message printed. */
static int start_runtime(struct cli *c)
{
    char **w = query_resume_args(c->st, c->run_id);
    if (!w) {
        cli_error(c->cmd->name, "run %lld: cannot read its spec path", (long long)c->run_id);
        return NS_EXIT_ERROR;
    }
    size_t n = 0;
    while (w[n])
        n++;
    const char **argv = ns_xcalloc(n + 6, sizeof *argv);
    size_t a = 0;
    argv[a++] = "nightshift";
    argv[a++] = "run";
    argv[a++] = "--detach";
    argv[a++] = "--db";
    argv[a++] = c->st->path;
    for (size_t i = 0; i < n; i++)
        argv[a++] = w[i];
    argv[a] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only exec here: the SQLite connection is never used after fork. */
        execv("/proc/self/exe", (char *const *)argv);
        fprintf(stderr, "nightshift: %s: cannot start the runtime: %s\n", c->cmd->name,
                strerror(errno));
        _exit(NS_EXIT_ERROR);
    }
    int status = 0;
    int rc = NS_EXIT_ERROR;
    if (pid < 0) {
        cli_error(c->cmd->name, "fork: %s", strerror(errno));
    } else if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == NS_EXIT_OK) {
        rc = 0;
    } else {
        cli_error(c->cmd->name, "run %lld: the runtime did not start (the command stays queued)",
                  (long long)c->run_id);
    }
    free(argv);
    for (size_t i = 0; w[i]; i++)
        free(w[i]);
    free(w);
    return rc;
}

static int wait_verdict(struct cli *c, const char *verb, int64_t id)
{
    char result[2048];
    int v = control_verdict(c->st, c->run_id, id, verb,
                            cli_seconds_opt(c, "timeout", 5.0), result, sizeof result);
    switch (v) {
    case 1:
        cli_say("run %lld: %s applied: %s", (long long)c->run_id, verb, result);
        return NS_EXIT_OK;
    case 0:
        cli_error(c->cmd->name, "run %lld: %s refused: %s", (long long)c->run_id, verb, result);
        return NS_EXIT_FAILED;
    case 3:
        cli_say("run %lld: %s queued (command %lld): %s", (long long)c->run_id, verb, (long long)id,
                result);
        return NS_EXIT_OK;
    case 2:
        cli_error(c->cmd->name,
                  "run %lld: %s not decided after %gs; command %lld stays pending "
                  "(`nightshift audit %lld` shows its fate)",
                  (long long)c->run_id, verb, cli_seconds_opt(c, "timeout", 5.0), (long long)id,
                  (long long)c->run_id);
        return NS_EXIT_ERROR;
    default:
        cli_error(c->cmd->name, "%s: %s", c->st->path, result);
        return NS_EXIT_ERROR;
    }
}

int ctl_issue(struct cli *c, const char *verb, const struct ns_control_args *a, bool start)
{
    char err[1024];
    struct ns_submit sub;
    struct ns_buf json = NS_BUF_INIT;
    control_args_json(verb, a, &json);
    int rc =
        control_issue(c->st, c->run_id, verb, json.data, "cli", &sub, err, sizeof err);
    buf_release(&json);
    if (rc != 0) {
        cli_error(c->cmd->name, "%s", err);
        return NS_EXIT_ERROR;
    }
    switch (sub.outcome) {
    case NS_SUBMIT_REFUSED:
        cli_error(c->cmd->name, "run %lld: %s refused: %s", (long long)c->run_id, verb, sub.why);
        return NS_EXIT_FAILED;
    case NS_SUBMIT_QUEUED: {
        if (!start) {
            cli_say("run %lld: %s queued (command %lld): %s", (long long)c->run_id, verb,
                    (long long)sub.cmd_id, sub.why);
            return NS_EXIT_OK;
        }
        rc = start_runtime(c);
        if (rc != 0)
            return rc;
        if (cli_flag(c, "no-wait"))
            return NS_EXIT_OK;
        return wait_verdict(c, verb, sub.cmd_id);
    }
    case NS_SUBMIT_SENT:
    default:
        if (cli_flag(c, "no-wait")) {
            printf("run %lld: %s submitted (command %lld)\n", (long long)c->run_id, verb,
                   (long long)sub.cmd_id);
            return NS_EXIT_OK;
        }
        return wait_verdict(c, verb, sub.cmd_id);
    }
}
