/*
 * cmd-wait.c - `nightshift wait RUN [--timeout D]`: block until the run
 * ends, and exit as `run` would (0 succeeded, 1 failed, 4 stopped), or 5
 * when --timeout passed first. For cron, CI and shell chains.
 *
 * The run's row is the truth; the wait listens on a waiter FIFO in
 * run-N.waiters/ (wake.h), which the runtime pokes when it commits the
 * run's final state, so the end is seen at once; the slow poll behind it
 * covers a lost hint and notices a runtime that died. A run without a
 * runtime is waited for all the same (a timer or an operator may resume
 * it), but never silently: stderr says so, with the command that resumes
 * it, and says again when a runtime drives it anew.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/control.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"
#include "nightshift/wake.h"

static const struct cli_option wait_options[] = {
    {.name = "timeout",
     .arg = "D",
     .help = "give up after D (a duration: 90s, 30m, 2h; a bare number is seconds) and exit 5"},
    {.name = "quiet", .short_name = 'q', .help = "print nothing when the run ends"},
};

static const char wait_help[] =
    "\n"
    "Blocks until RUN (a run id or a job name) ends and exits as `run` would:\n"
    "0 succeeded, 1 failed, 4 stopped; 5 when --timeout passed first. A run\n"
    "that is paused or halted is still unfinished: wait goes on. A run whose\n"
    "runtime died is waited for too (a timer or an operator may resume it), and\n"
    "stderr says so, with the command that resumes it.\n";

static int check_wait(struct cli *c)
{
    const char *t = cli_opt(c, "timeout");
    int64_t ms;
    if (t && ns_parse_duration(t, &ms) != 0) {
        cli_error("wait", "--timeout: \"%s\" is not a duration (examples: 90s, 30m, 2h)", t);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int exit_for(int run_state)
{
    if (run_state == NS_RS_SUCCEEDED)
        return NS_EXIT_OK;
    if (run_state == NS_RS_FAILED)
        return NS_EXIT_FAILED;
    return NS_EXIT_STOPPED;
}

/* Says on stderr that nobody drives the run, or that someone does again. */
static void say_liveness(struct cli *c, const struct ns_run_summary *r)
{
    if (r->alive) {
        fprintf(stderr, "nightshift: wait: run %lld: a runtime drives it again (pid %lld)\n",
                (long long)r->id, (long long)r->runtime_pid);
        return;
    }
    char *how = control_resume_command(c->st, r->id, NULL);
    cli_error("wait",
              "run %lld is %s but no runtime drives it: waiting until one resumes it (`%s`)",
              (long long)r->id, r->state, how);
    free(how);
}

static int wait_run(struct cli *c)
{
    const char *t = cli_opt(c, "timeout");
    int64_t timeout_ms = -1;
    if (t)
        ns_parse_duration(t, &timeout_ms); /* checked by check_wait */
    double deadline = timeout_ms >= 0 ? ns_monotonic() + (double)timeout_ms / 1000.0 : 0;
    /* Listening before the first read: an end committed in between still
     * pokes us. Without a FIFO the poll alone serves. */
    char *dir = wake_path(c->st, c->run_id, WAKE_WAITERS), *fifo = NULL;
    int hint = wake_waiter_new(dir, &fifo);
    free(dir);
    int rc = NS_EXIT_ERROR, said_alive = -1; /* -1: nothing said yet */
    for (;;) {
        struct ns_run_summary r;
        char err[512];
        int found = query_run_summary(c->st, c->run_id, ns_now(), &r, err, sizeof err);
        if (found <= 0) {
            cli_error("wait", "run %lld: %s", (long long)c->run_id,
                      found < 0 ? err : "deleted while waited for (nightshift gc)");
            query_run_summary_release(&r);
            break;
        }
        if (r.final) {
            if (!cli_flag(c, "quiet"))
                cli_say("run %lld %s%s%s", (long long)r.id, r.state, r.state_reason ? ": " : "",
                        r.state_reason ? r.state_reason : "");
            rc = exit_for(r.run_state);
            query_run_summary_release(&r);
            break;
        }
        /* Silence while a runtime drives it; a word when that changes (the
         * first time only if nobody does). */
        if (said_alive < 0 ? !r.alive : r.alive != (said_alive == 1))
            say_liveness(c, &r);
        said_alive = r.alive;
        query_run_summary_release(&r);
        double nap = wake_poll_interval();
        if (deadline > 0) {
            double left = deadline - ns_monotonic();
            if (left <= 0) {
                cli_error("wait", "run %lld had not ended after %s (--timeout)",
                          (long long)c->run_id, t);
                rc = NS_EXIT_TIMEOUT;
                break;
            }
            if (nap > left)
                nap = left;
        }
        struct pollfd pfd = {hint, POLLIN, 0};
        if (poll(&pfd, hint >= 0 ? 1 : 0, (int)(nap * 1000) + 1) > 0)
            wake_drain(hint);
    }
    wake_waiter_free(hint, fifo);
    return rc;
}

const struct ns_command cmd_wait = {
    .name = "wait",
    .args = "RUN [--timeout D] [--quiet] [--db PATH]",
    .summary = "block until a run ends; exit as run would",
    .run = wait_run,
    .check = check_wait,
    .help = wait_help,
    .exits = "01345",
    .options = wait_options,
    .noptions = NS_ARRAY_LEN(wait_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
};
