/*
 * control-cli.c - the one path every operator command file takes
 * (control-cli.h): parse, resolve the run, check whether a runtime drives
 * it, record the command, wait for the verdict and say it.
 *
 * The client never changes job state. When no runtime drives the run, a
 * live-only verb (pause, resume, stop, kill, set) is recorded already
 * refused - the audit log shows the attempt and why it did nothing - and
 * retry/skip stay pending for the next `nightshift run` of the run's spec,
 * which applies them at start-up (or `retry --start` starts that runtime).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"
#include "nightshift/query.h"
#include "nightshift/control.h"

enum {
    OPT_DB = 0x100,
    OPT_TIMEOUT,
    OPT_NO_WAIT,
    OPT_NOW,
    OPT_FAILED,
    OPT_SIGNATURE,
    OPT_FROM_SCRATCH,
    OPT_START,
    OPT_REASON,
};

/* Which enum ctl_opt bit each command-specific option needs. */
static const struct {
    int opt;
    unsigned bit;
    const char *name;
} specific[] = {
    {OPT_NOW, CTL_NOW, "--now"},
    {OPT_FAILED, CTL_FAILED, "--failed"},
    {OPT_SIGNATURE, CTL_SIGNATURE, "--signature"},
    {OPT_FROM_SCRATCH, CTL_FROM_SCRATCH, "--from-scratch"},
    {OPT_START, CTL_START, "--start"},
    {OPT_REASON, CTL_REASON, "--reason"},
};

int ctl_parse(struct ctl *c, int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, OPT_DB},
                                             {"timeout", required_argument, NULL, OPT_TIMEOUT},
                                             {"no-wait", no_argument, NULL, OPT_NO_WAIT},
                                             {"now", no_argument, NULL, OPT_NOW},
                                             {"failed", no_argument, NULL, OPT_FAILED},
                                             {"signature", required_argument, NULL, OPT_SIGNATURE},
                                             {"from-scratch", no_argument, NULL, OPT_FROM_SCRATCH},
                                             {"start", no_argument, NULL, OPT_START},
                                             {"reason", required_argument, NULL, OPT_REASON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    c->timeout_s = 5.0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        for (size_t i = 0; i < NS_ARRAY_LEN(specific); i++) {
            if (specific[i].opt == opt && !(c->allowed & specific[i].bit)) {
                cli_error(c->name, "%s does not apply to %s", specific[i].name, c->name);
                fputs(c->help, stderr);
                return NS_EXIT_USAGE;
            }
        }
        switch (opt) {
        case OPT_DB:
            c->db_opt = optarg;
            break;
        case OPT_TIMEOUT: {
            char *end;
            errno = 0;
            double t = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(t >= 0 && t <= 86400)) {
                cli_error(c->name, "--timeout wants seconds from 0 to 86400 (got \"%s\")", optarg);
                return NS_EXIT_USAGE;
            }
            c->timeout_s = t;
            break;
        }
        case OPT_NO_WAIT:
            c->no_wait = true;
            break;
        case OPT_NOW:
            c->now = true;
            break;
        case OPT_FAILED:
            c->failed = true;
            break;
        case OPT_SIGNATURE:
            c->signature = optarg;
            break;
        case OPT_FROM_SCRATCH:
            c->from_scratch = true;
            break;
        case OPT_START:
            c->start = true;
            break;
        case OPT_REASON:
            c->reason = optarg;
            break;
        case 'h':
            cli_help(cli_find_command(c->name), stdout);
            return NS_EXIT_OK;
        default:
            fputs(c->help, stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error(c->name, "name a run (a run id or a job name)");
        fputs(c->help, stderr);
        return NS_EXIT_USAGE;
    }
    c->run_arg = argv[optind];
    c->rest = argv + optind + 1;
    c->nrest = argc - optind - 1;
    if (c->nrest > 0 && !(c->allowed & CTL_ARGS)) {
        cli_error(c->name, "unexpected argument \"%s\" after the run", c->rest[0]);
        fputs(c->help, stderr);
        return NS_EXIT_USAGE;
    }
    if (c->nrest < c->min_rest) {
        fputs(c->help, stderr);
        return NS_EXIT_USAGE;
    }
    return -1;
}

int ctl_open(struct ctl *c)
{
    if (cli_open_store(c->name, c->db_opt, NS_STORE_CLIENT, &c->st) != 0)
        return NS_EXIT_ERROR;
    c->open = true;
    c->run_id = cli_find_run(c->name, &c->st, c->run_arg);
    if (!c->run_id)
        return NS_EXIT_ERROR;
    struct ns_run_summary r;
    char err[256];
    if (query_run_summary(&c->st, c->run_id, ns_now(), &r, err, sizeof err) == 1)
        c->run_state = ns_xstrdup(r.state);
    query_run_summary_release(&r);
    if (!c->run_state) {
        cli_error(c->name, "run %lld vanished from %s", (long long)c->run_id, c->st.path);
        return NS_EXIT_ERROR;
    }
    return 0;
}

void ctl_close(struct ctl *c)
{
    if (c->open)
        store_close(&c->st);
    c->open = false;
    free(c->run_state);
    c->run_state = NULL;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Index of the partition named by arg, or -1 (message printed). */
static int64_t resolve_partition(struct ctl *c, const char *arg)
{
    bool by_index = all_digits(arg);
    const char *key = strncmp(arg, "key:", 4) == 0 ? arg + 4 : arg;
    int64_t idx = -1;
    if (by_index) {
        struct ns_part_row r;
        char err[256];
        if (query_partition(&c->st, c->run_id, strtoll(arg, NULL, 10), &r, err, sizeof err) == 1)
            idx = r.idx;
        query_part_row_release(&r);
    } else {
        idx = query_partition_by_key(&c->st, c->run_id, key);
    }
    if (idx >= 0)
        return idx;
    struct ns_part_select all = {.run_id = c->run_id, .filter = NS_PF_ALL};
    long long n = query_partition_count(&c->st, &all);
    if (by_index)
        cli_error(c->name, "run %lld has no partition %s (indexes 0..%lld; `key:%s` names a key)",
                  (long long)c->run_id, arg, n - 1, arg);
    else
        cli_error(c->name,
                  "run %lld has no partition with key \"%s\" (`nightshift status %lld` "
                  "lists them)",
                  (long long)c->run_id, key, (long long)c->run_id);
    return -1;
}

int ctl_partitions_json(struct ctl *c, struct ns_buf *out)
{
    buf_addc(out, '[');
    for (int i = 0; i < c->nrest; i++) {
        int64_t idx = resolve_partition(c, c->rest[i]);
        if (idx < 0)
            return NS_EXIT_USAGE;
        buf_addf(out, "%s%lld", i ? "," : "", (long long)idx);
    }
    buf_addc(out, ']');
    return 0;
}

/* The database to name in a printed command: only one given with --db. */
static const char *db_shown(const struct ctl *c)
{
    return c->db_opt ? c->st.path : NULL;
}

/* retry --start: `nightshift run --detach --db DB SPEC -p ...` for the run,
 * in a child; returns once that runtime holds the run (run --detach returns
 * then). 0 when it started, else an exit status with the message printed. */
static int start_runtime(struct ctl *c)
{
    char **w = query_resume_args(&c->st, c->run_id);
    if (!w) {
        cli_error(c->name, "run %lld: cannot read its spec path", (long long)c->run_id);
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
    argv[a++] = c->st.path;
    for (size_t i = 0; i < n; i++)
        argv[a++] = w[i];
    argv[a] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only exec here: the SQLite connection is never used after fork. */
        execv("/proc/self/exe", (char *const *)argv);
        fprintf(stderr, "nightshift: %s: cannot start the runtime: %s\n", c->name, strerror(errno));
        _exit(NS_EXIT_ERROR);
    }
    int status = 0;
    int rc = NS_EXIT_ERROR;
    if (pid < 0) {
        cli_error(c->name, "fork: %s", strerror(errno));
    } else if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == NS_EXIT_OK) {
        rc = 0;
    } else {
        cli_error(c->name, "run %lld: the runtime did not start (the command stays queued)",
                  (long long)c->run_id);
    }
    free(argv);
    for (size_t i = 0; w[i]; i++)
        free(w[i]);
    free(w);
    return rc;
}

static int wait_verdict(struct ctl *c, const char *verb, int64_t id)
{
    char result[2048];
    int v = control_verdict(&c->st, c->run_id, id, verb, db_shown(c), c->timeout_s, result,
                            sizeof result);
    switch (v) {
    case 1:
        cli_say("run %lld: %s applied: %s", (long long)c->run_id, verb, result);
        return NS_EXIT_OK;
    case 0:
        cli_error(c->name, "run %lld: %s refused: %s", (long long)c->run_id, verb, result);
        return NS_EXIT_FAILED;
    case 3:
        cli_say("run %lld: %s queued (command %lld): %s", (long long)c->run_id, verb,
                (long long)id, result);
        return NS_EXIT_OK;
    case 2:
        cli_error(c->name,
                  "run %lld: %s not decided after %gs; command %lld stays pending "
                  "(`nightshift audit %lld` shows its fate)",
                  (long long)c->run_id, verb, c->timeout_s, (long long)id, (long long)c->run_id);
        return NS_EXIT_ERROR;
    default:
        cli_error(c->name, "%s: %s", c->st.path, result);
        return NS_EXIT_ERROR;
    }
}

int ctl_issue(struct ctl *c, const char *verb, const char *args)
{
    char err[1024];
    struct ns_submit sub;
    if (control_issue(&c->st, c->run_id, verb, args, "cli", db_shown(c), &sub, err, sizeof err) !=
        0) {
        cli_error(c->name, "%s", err);
        return NS_EXIT_ERROR;
    }
    switch (sub.outcome) {
    case NS_SUBMIT_REFUSED:
        cli_error(c->name, "run %lld: %s refused: %s", (long long)c->run_id, verb, sub.why);
        return NS_EXIT_FAILED;
    case NS_SUBMIT_QUEUED: {
        if (!c->start) {
            cli_say("run %lld: %s queued (command %lld): %s", (long long)c->run_id, verb,
                    (long long)sub.cmd_id, sub.why);
            return NS_EXIT_OK;
        }
        int rc = start_runtime(c);
        if (rc != 0)
            return rc;
        if (c->no_wait)
            return NS_EXIT_OK;
        return wait_verdict(c, verb, sub.cmd_id);
    }
    case NS_SUBMIT_SENT:
    default:
        if (c->no_wait) {
            printf("run %lld: %s submitted (command %lld)\n", (long long)c->run_id, verb,
                   (long long)sub.cmd_id);
            return NS_EXIT_OK;
        }
        return wait_verdict(c, verb, sub.cmd_id);
    }
}
