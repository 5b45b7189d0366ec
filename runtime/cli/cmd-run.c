/*
 * cmd-run.c - `nightshift run SPEC [-p name=value]...`: run or resume a job.
 *
 * On a terminal it shows one live progress line and prints notable events
 * (failures, retries, state changes) above it; otherwise it prints every
 * event as a plain line. --detach forks a runtime that outlives the terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nightshift/catchup.h"
#include "nightshift/cli.h"
#include "nightshift/plan.h"
#include "nightshift/runtime.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option run_options[] = {
    CLI_PARAM_OPTION,
    {.name = "rerun", .help = "start a new run even if one with these parameters exists"},
    {.name = "force", .help = "resume although the spec changed (not if the plan changed)"},
    {.name = "retry-failed", .help = "on resume, give failed partitions a fresh attempt budget"},
    {.name = "detach",
     .help = "run in the background, detached from the terminal; prints the run id and the "
             "runtime's log file, then returns"},
    {.name = "quiet", .short_name = 'q', .help = "print only the final summary"},
    {.name = "after",
     .arg = "RUN",
     .help = "start partitions only once run RUN (an id, run:N, job:NAME or a job's name: its "
             "newest run, now) succeeded; until then the run waits, and says so"},
    {.name = "only",
     .arg = "WHICH",
     .help = "a catch-up run (a new run): missing runs only the keys no earlier run of the job "
             "ran, failed those and the ones that failed, all every key; keys an earlier run "
             "succeeded are left alone, keys another live run holds are untouched",
     .complete = "missing failed all"},
    {.name = "order",
     .arg = "ORDER",
     .help = "which partitions start first: oldest (plan order) or newest (the last keys first, "
             "when last night is urgent and last month is not); overrides order: in the spec",
     .complete = "oldest newest"},
    {.name = "dry-run",
     .help = "print what --only would run and leave alone, key by key, and run nothing"},
    {.name = "metrics-textfile",
     .arg = "PATH",
     .help = "keep PATH fresh with the run's Prometheus metrics (every 5 s and at the end; "
             "written whole, then renamed), for node_exporter's textfile collector; overrides "
             "metrics.textfile in the spec",
     .complete = "@file"},
};

struct run_view {
    bool tty; /* live line on stderr */
    bool quiet;
    bool line_up; /* a live line is on screen */
};

/* Events worth a line above the live progress line on a terminal. */
static bool notable(const char *line)
{
    static const char *const quiet_words[] = {"attempt 1 started", "started (pid", "succeeded in"};
    for (size_t i = 0; i < NS_ARRAY_LEN(quiet_words); i++)
        if (strstr(line, quiet_words[i]))
            return false;
    return true;
}

static void clear_line(struct run_view *v)
{
    if (v->line_up) {
        fputs("\r\033[K", stderr);
        v->line_up = false;
    }
}

static void on_event(void *ctx, const char *line)
{
    struct run_view *v = ctx;
    if (v->quiet)
        return;
    if (v->tty) {
        if (!notable(line))
            return;
        clear_line(v);
        fprintf(stderr, "%s\n", line);
        return;
    }
    printf("%s\n", line);
    fflush(stdout);
}

/* The terminal's width on stderr: the live line must fit it, or each
 * refresh would leave its wrapped head behind. 80 when unknown. */
static int stderr_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static void on_tick(void *ctx, const struct ns_counts *c)
{
    struct run_view *v = ctx;
    if (!v->tty || v->quiet)
        return;
    char el[32], eta[32], rate[32], paused[48] = "";
    ns_format_duration((int64_t)(c->elapsed_s * 1000), el, sizeof el);
    /* The one projection (query_project): none while not dispatching. */
    if (c->eta_s >= 0)
        ns_format_duration((int64_t)(c->eta_s * 1000), eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "-");
    if (c->rate > 0)
        snprintf(rate, sizeof rate, "%.1f/s", c->rate);
    else
        snprintf(rate, sizeof rate, "-/s");
    if (c->paused)
        snprintf(paused, sizeof paused, ", %lld paused", (long long)c->paused);
    int64_t done = c->succeeded + c->failed + c->skipped;
    /* The long form, else a short one, else the short one cut: one row,
     * never wrapped (the last column stays free: some terminals wrap there). */
    size_t width = (size_t)stderr_columns() - 1;
    char line[512];
    snprintf(line, sizeof line,
             "[%s] %lld/%lld done, %lld running%s, %lld failed, %lld errors, %s, elapsed %s, "
             "ETA %s",
             c->state, (long long)done, (long long)c->total, (long long)c->running, paused,
             (long long)c->failed, (long long)c->error_records, rate, el, eta);
    if (strlen(line) > width)
        snprintf(line, sizeof line, "[%s] %lld/%lld, %lld run, %lld fail, %lld err, %s, %s, ETA %s",
                 c->state, (long long)done, (long long)c->total, (long long)c->running,
                 (long long)c->failed, (long long)c->error_records, rate, el, eta);
    if (strlen(line) > width)
        line[width] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    v->line_up = true;
}

static int exit_for_state(enum ns_run_state state)
{
    if (state == NS_RS_SUCCEEDED)
        return NS_EXIT_OK;
    if (state == NS_RS_FAILED)
        return NS_EXIT_FAILED;
    return NS_EXIT_STOPPED;
}

/* --detach: the child becomes a session leader with its output in a log file
 * beside the database; the parent returns once the runtime holds the run. */
static int detach(const char *db_path, char **log_path_out)
{
    char err[512];
    if (store_make_dirs(db_path, err, sizeof err) != 0) {
        cli_error("run", "--detach: %s", err);
        return -1;
    }
    char *data_dir = store_data_dir(db_path);
    char *log_path =
        ns_xasprintf("%s/runtime-%lld-%d.log", data_dir, (long long)ns_now(), (int)getpid());
    free(data_dir);
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
        cli_error("run", "--detach: %s", strerror(errno));
        free(log_path);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error("run", "--detach: fork: %s", strerror(errno));
        free(log_path);
        return -1;
    }
    if (pid == 0) {
        close(ready[0]);
        setsid();
        int fd =
            open(log_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || nul < 0) {
            dprintf(ready[1], "!%s: %s", log_path, strerror(errno));
            _exit(NS_EXIT_ERROR);
        }
        dup2(nul, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        close(nul);
        /* The write end stays open until runtime_run reports it started
         * (on_started); if the runtime fails first, the parent sees EOF and
         * shows the log, which holds the error. */
        *log_path_out = log_path;
        return ready[1];
    }
    close(ready[1]);
    char buf[600] = "";
    ssize_t n = read(ready[0], buf, sizeof buf - 1);
    close(ready[0]);
    if (n > 0 && buf[0] != '!') {
        buf[n] = '\0';
        printf("run %s started in the background (runtime pid %d)\nlog: %s\n", buf, (int)pid,
               log_path);
        free(log_path);
        exit(NS_EXIT_OK);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (n > 0) {
        buf[n] = '\0';
        cli_error("run", "--detach: %s", buf + 1);
    } else {
        /* The runtime exited before starting the run: its log says why. */
        FILE *f = fopen(log_path, "r");
        if (f) {
            char line[1024];
            while (fgets(line, sizeof line, f))
                fputs(line, stderr);
            fclose(f);
        }
    }
    free(log_path);
    exit(WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : NS_EXIT_ERROR);
}

static int ready_fd = -1;

static void on_started(void *ctx, int64_t run_id)
{
    (void)ctx;
    if (ready_fd < 0)
        return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)run_id);
    ssize_t w = write(ready_fd, buf, (size_t)n);
    (void)w;
    close(ready_fd);
    ready_fd = -1;
}

/* What to type next (the one command every hint prints): retry a failed
 * run's failures, or resume a stopped or abandoned one. */
static void print_next_command(const struct ns_run_result *res)
{
    char *cmd = cli_escape(res->next_command);
    printf("%s: %s\n", res->run_state == NS_RS_FAILED ? "retry the failed ones" : "resume it", cmd);
    free(cmd);
}

/* The last lines: what happened, and what to do about failures. */
static int print_result(const struct ns_run_result *res, const char *job)
{
    if (res->already_succeeded) {
        printf("run %lld of %s already succeeded; nothing to do (--rerun starts a new run)\n",
               (long long)res->run_id, job);
        return NS_EXIT_OK;
    }
    const struct ns_counts *n = &res->counts;
    char el[32];
    ns_format_duration((int64_t)(n->elapsed_s * 1000), el, sizeof el);
    printf("run %lld %s: %lld succeeded, %lld failed, %lld skipped of %lld partition%s; "
           "%lld error record%s; %s\n",
           (long long)res->run_id, res->state, (long long)n->succeeded, (long long)n->failed,
           (long long)n->skipped, (long long)n->total, n->total == 1 ? "" : "s",
           (long long)n->error_records, n->error_records == 1 ? "" : "s", el);
    if (res->next_command)
        print_next_command(res);
    return exit_for_state(res->run_state);
}

/* --dry-run: each key of the plan, what earlier runs did with it and what
 * --only does with it now (catchup_classify and catchup_words, as the run
 * applies them). */
struct dry_run {
    struct ns_store *st; /* NULL: no database yet, every key is new */
    const char *job, *spec_path;
    enum ns_only only;
    int64_t total, runs;
};

static int dry_run_key(void *ctx, const struct ns_partition *p)
{
    struct dry_run *d = ctx;
    int64_t run = 0;
    enum ns_key_past past =
        d->st ? catchup_classify(d->st, d->job, d->spec_path, 0, p->key, &run) : NS_KEY_NEW;
    char words[160];
    catchup_words(d->only, past, run, words, sizeof words);
    char *key = cli_escape(p->key);
    printf("%-10s %-24s %s\n", catchup_past_word(past), key, words);
    free(key);
    d->total++;
    d->runs += catchup_runs(d->only, past);
    return 0;
}

static int dry_run(struct cli *c, const struct ns_spec *spec, const struct ns_plan *plan,
                   const char *db_path, enum ns_only only)
{
    struct ns_store st;
    char err[512];
    char *spec_path = realpath(spec->path, NULL);
    struct dry_run d = {.job = spec->name, .spec_path = spec_path ? spec_path : spec->path,
                        .only = only};
    struct stat sb;
    if (stat(db_path, &sb) == 0) {
        if (store_open(&st, db_path, NS_STORE_READ, err, sizeof err) != 0) {
            cli_error("run", "%s", err);
            free(spec_path);
            return NS_EXIT_ERROR;
        }
        d.st = &st;
    }
    struct ns_diags diags = {0};
    int stopped = 0;
    int rc = plan_stream_known(spec, c->params, c->nparams, plan, dry_run_key, &d, &diags,
                               &stopped);
    if (rc != 0)
        cli_print_diags(&diags, spec->path);
    else
        printf("dry run: %lld of %lld partition%s would run%s%s; nothing was run\n",
               (long long)d.runs, (long long)d.total, d.total == 1 ? "" : "s",
               only ? " (--only " : "",
               only == NS_ONLY_MISSING ? "missing)" : only == NS_ONLY_FAILED ? "failed)"
                                                   : only == NS_ONLY_ALL ? "all)" : "");
    diags_release(&diags);
    if (d.st)
        store_close(&st);
    free(spec_path);
    return rc != 0 ? NS_EXIT_USAGE : NS_EXIT_OK;
}

/* --metrics-textfile as an absolute path: the runtime may outlive this
 * directory's meaning (--detach). The caller frees. */
static char *absolute_path(const char *path)
{
    char *cwd = getcwd(NULL, 0);
    char *abs = path[0] == '/' || !cwd ? ns_xstrdup(path) : ns_xasprintf("%s/%s", cwd, path);
    free(cwd);
    return abs;
}

static int run(struct cli *c)
{
    const char *spec_path = c->target, *metrics_opt = cli_opt(c, "metrics-textfile");
    bool want_detach = cli_flag(c, "detach");
    struct ns_runtime_opts opts = {.rerun = cli_flag(c, "rerun"),
                                   .force = cli_flag(c, "force"),
                                   .retry_failed = cli_flag(c, "retry-failed"),
                                   .after_run = 0};
    struct run_view view = {.quiet = cli_flag(c, "quiet")};
    struct ns_spec spec;
    struct ns_plan plan;
    struct ns_diags diags = {0};
    if (spec_load(spec_path, &spec, &diags) != 0) {
        cli_print_diags(&diags, spec_path);
        diags_release(&diags);
        return NS_EXIT_USAGE;
    }
    if (cli_resolve_default_dates(c, &spec) != 0) {
        spec_release(&spec);
        return NS_EXIT_USAGE;
    }
    /* Validated and summarised here (len, hash); the runtime streams the
     * partitions into the database itself, so no plan is ever held. */
    int stopped = 0;
    if (plan_stream(&spec, c->params, c->nparams, NULL, NULL, NULL, &plan, &diags, &stopped) != 0) {
        cli_print_diags(&diags, spec_path);
        diags_release(&diags);
        spec_release(&spec);
        return NS_EXIT_USAGE;
    }
    int rc = NS_EXIT_ERROR;
    char *db_path = store_default_path(c->db);
    char *log_path = NULL, *metrics_abs = NULL;
    int only = catchup_only_of(cli_opt(c, "only"));
    if (only < 0) {
        cli_error("run", "--only: \"%s\" is not missing, failed or all", cli_opt(c, "only"));
        rc = NS_EXIT_USAGE;
        goto out;
    }
    if (cli_flag(c, "dry-run")) {
        rc = dry_run(c, &spec, &plan, db_path, (enum ns_only)only);
        goto out;
    }
    const char *order = cli_opt(c, "order");
    if (order && strcmp(order, "oldest") != 0 && strcmp(order, "newest") != 0) {
        cli_error("run", "--order: \"%s\" is not oldest or newest", order);
        rc = NS_EXIT_USAGE;
        goto out;
    }
    opts.order = order;
    if (cli_opt(c, "after")) {
        /* RUN as every command reads it, resolved once, now. */
        struct ns_store st;
        if (cli_open_store("run", c->db, NS_STORE_READ, &st) != 0)
            goto out;
        int64_t id = cli_find_run("run", &st, cli_opt(c, "after"));
        store_close(&st);
        if (id <= 0) {
            rc = id == -2 ? NS_EXIT_USAGE : NS_EXIT_ERROR;
            goto out;
        }
        opts.after_run = id;
    }
    opts.only = only;
    opts.rerun |= only != NS_ONLY_NONE; /* a catch-up is a new run */
    metrics_abs = metrics_opt ? absolute_path(metrics_opt) : NULL;
    if (want_detach) {
        ready_fd = detach(db_path, &log_path);
        if (ready_fd < 0)
            goto out;
        view.quiet = false;
    }
    view.tty = !want_detach && isatty(STDERR_FILENO);
    opts.on_event = on_event;
    opts.on_tick = on_tick;
    opts.on_started = on_started;
    opts.metrics_textfile = metrics_abs;
    opts.runtime_log = log_path;
    opts.given = c->params;
    opts.ngiven = c->nparams;
    opts.ctx = &view;
    struct ns_run_result res;
    bool refused = false;
    char err[2048];
    int failed = runtime_run(&spec, &plan, db_path, &opts, &res, &refused, err, sizeof err);
    clear_line(&view);
    if (failed) {
        cli_error("run", "%s", err);
        if (res.next_command && !refused) {
            fflush(stdout);
            char *cmd = cli_escape(res.next_command);
            fprintf(stderr, "resume it: %s\n", cmd);
            free(cmd);
        }
    } else {
        rc = print_result(&res, spec.name);
    }
    free(res.next_command);
out:
    free(metrics_abs);
    free(log_path);
    free(db_path);
    plan_release(&plan);
    spec_release(&spec);
    diags_release(&diags);
    return rc;
}

const struct ns_command cmd_run = {
    .name = "run",
    .args = "SPEC [-p NAME=VALUE]... [--db PATH] [--rerun] [--force] [--retry-failed] [--detach]"
            " [--quiet] [--metrics-textfile PATH] [--after RUN] [--order ORDER]\n"
            "SPEC [-p NAME=VALUE]... --only missing|failed|all [--dry-run] [--db PATH]",
    .summary = "run or resume a job",
    .run = run,
    .help = "\n"
            "Runs the job described by SPEC. A run is identified by the job name and its\n"
            "parameters: running the same command again resumes the unfinished run\n"
            "(finished partitions are not run again, interrupted ones restart from their\n"
            "checkpoint) instead of starting over.\n"
            "\n"
            "SIGINT or SIGTERM stops the run gracefully (workers get SIGTERM, then SIGKILL\n"
            "after stop_grace); a second one stops it at once. A later `run` resumes it.\n",
    .exits = "01234",
    .options = run_options,
    .noptions = NS_ARRAY_LEN(run_options),
    .db = true,
    .target = CLI_TARGET_SPEC,
};
