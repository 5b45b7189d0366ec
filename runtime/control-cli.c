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
    sqlite3_stmt *s = store_prepare(&c->st, "SELECT state FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, c->run_id);
    if (sqlite3_step(s) == SQLITE_ROW)
        c->run_state = ns_xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
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
    sqlite3_stmt *s;
    if (by_index) {
        s = store_prepare(&c->st, "SELECT idx FROM partitions WHERE run_id = ? AND idx = ?");
        sqlite3_bind_int64(s, 1, c->run_id);
        sqlite3_bind_int64(s, 2, strtoll(arg, NULL, 10));
    } else {
        s = store_prepare(&c->st, "SELECT idx FROM partitions WHERE run_id = ? AND key = ? "
                                  "ORDER BY idx LIMIT 1");
        sqlite3_bind_int64(s, 1, c->run_id);
        sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    }
    int64_t idx = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    if (idx >= 0)
        return idx;
    s = store_prepare(&c->st, "SELECT count(*) FROM partitions WHERE run_id = ?");
    sqlite3_bind_int64(s, 1, c->run_id);
    long long n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
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

/* Appends s quoted for a POSIX shell when it needs it, so the printed command
 * can be pasted. */
static void add_shell_word(struct ns_buf *b, const char *s)
{
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p))
            plain = false;
    if (plain) {
        buf_adds(b, s);
        return;
    }
    buf_addc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            buf_adds(b, "'\\''");
        else
            buf_addc(b, *p);
    }
    buf_addc(b, '\'');
}

/* The run's spec path and its -p parameters (from runs.params_json, whose
 * values are exact, unlike the escaped canonical lines) as argv words:
 * "SPEC", "-p", "a=1", ... Returns a NULL-terminated heap array of heap
 * strings; NULL if the run row is gone. */
static char **run_words(struct ctl *c)
{
    sqlite3_stmt *s = store_prepare(
        &c->st, "SELECT 0, r.spec_path FROM runs r WHERE r.id = ?1 UNION ALL "
                "SELECT 1, j.key || '=' || j.value FROM runs r, json_each(r.params_json) j "
                "WHERE r.id = ?1 ORDER BY 1");
    sqlite3_bind_int64(s, 1, c->run_id);
    char **w = NULL;
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        w = ns_xrealloc(w, (n + 3) * sizeof *w);
        if (sqlite3_column_int(s, 0) == 1)
            w[n++] = ns_xstrdup("-p");
        w[n++] = ns_xstrdup((const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_finalize(s);
    if (w)
        w[n] = NULL;
    return w;
}

static void free_words(char **w)
{
    for (size_t i = 0; w && w[i]; i++)
        free(w[i]);
    free(w);
}

/* "nightshift run [--db DB] SPEC -p a=1 ..." for messages. Caller frees. */
static char *run_command_line(struct ctl *c)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "nightshift run");
    if (c->db_opt) {
        buf_adds(&b, " --db ");
        add_shell_word(&b, c->st.path);
    }
    char **w = run_words(c);
    for (size_t i = 0; w && w[i]; i++) {
        buf_addc(&b, ' ');
        add_shell_word(&b, w[i]);
    }
    free_words(w);
    return buf_detach(&b);
}

/* retry --start: `nightshift run --detach --db DB SPEC -p ...` for the run,
 * in a child; returns once that runtime holds the run (run --detach returns
 * then). 0 when it started, else an exit status with the message printed. */
static int start_runtime(struct ctl *c)
{
    char **w = run_words(c);
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
    free_words(w);
    return rc;
}

/* Records a refusal decided here and says it; returns the exit status. */
static int refuse_here(struct ctl *c, const char *verb, const char *args, const char *why)
{
    char err[1024];
    int64_t id;
    if (control_submit_refused(&c->st, c->run_id, verb, args, "cli", why, &id, err, sizeof err) !=
        0) {
        cli_error(c->name, "%s", err);
        return NS_EXIT_ERROR;
    }
    cli_error(c->name, "run %lld: %s refused: %s", (long long)c->run_id, verb, why);
    return NS_EXIT_FAILED;
}

static int wait_verdict(struct ctl *c, const char *verb, int64_t id)
{
    char result[2048];
    int v = control_wait(&c->st, id, c->timeout_s, result, sizeof result);
    if (v == 2 && control_needs_live_runtime(verb) && !store_runtime_alive(&c->st, c->run_id)) {
        /* The runtime exited without deciding (the run ended): a pause or
         * stop must not linger and surprise the next runtime. */
        const char *why = "the runtime exited before acting on it";
        int w = control_withdraw(&c->st, id, why);
        if (w == 1) {
            v = 0;
            snprintf(result, sizeof result, "%s", why);
        } else if (w == 0) {
            v = control_wait(&c->st, id, 0, result, sizeof result);
        }
    }
    switch (v) {
    case 1:
        printf("run %lld: %s applied: %s\n", (long long)c->run_id, verb, result);
        return NS_EXIT_OK;
    case 0:
        cli_error(c->name, "run %lld: %s refused: %s", (long long)c->run_id, verb, result);
        return NS_EXIT_FAILED;
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
    int64_t id;
    bool alive = store_runtime_alive(&c->st, c->run_id);
    if (!alive) {
        char *how = run_command_line(c);
        int rc = -1;
        if (control_needs_live_runtime(verb)) {
            char *why = ns_xasprintf("no runtime is driving run %lld (start it with `%s`)",
                                     (long long)c->run_id, how);
            rc = refuse_here(c, verb, args, why);
            free(why);
        } else if (strcmp(c->run_state, "succeeded") == 0) {
            /* `nightshift run` would say "already succeeded" and apply nothing. */
            rc = refuse_here(c, verb, args,
                             "the run succeeded: every partition is done (a new run: "
                             "`nightshift run --rerun ...`)");
        }
        if (rc >= 0) {
            free(how);
            return rc;
        }
        if (control_submit(&c->st, c->run_id, verb, args, "cli", &id, err, sizeof err) != 0) {
            free(how);
            cli_error(c->name, "%s", err);
            return NS_EXIT_ERROR;
        }
        if (!c->start) {
            printf("run %lld: %s queued (command %lld): applied when the run is resumed with "
                   "`%s`\n",
                   (long long)c->run_id, verb, (long long)id, how);
            free(how);
            return NS_EXIT_OK;
        }
        free(how);
        rc = start_runtime(c);
        if (rc != 0)
            return rc;
        if (c->no_wait)
            return NS_EXIT_OK;
        return wait_verdict(c, verb, id);
    }
    if (control_submit(&c->st, c->run_id, verb, args, "cli", &id, err, sizeof err) != 0) {
        cli_error(c->name, "%s", err);
        return NS_EXIT_ERROR;
    }
    if (c->no_wait) {
        printf("run %lld: %s submitted (command %lld)\n", (long long)c->run_id, verb,
               (long long)id);
        return NS_EXIT_OK;
    }
    return wait_verdict(c, verb, id);
}
