/*
 * cmd-run.c - `nightshift run SPEC [-p name=value]...`: run or resume a job.
 *
 * On a terminal it shows one live progress line and prints notable events
 * (failures, retries, state changes) above it; otherwise it prints every
 * event as a plain line. --detach forks a runtime that outlives the terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/plan.h"
#include "nightshift/runtime.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char run_help[] =
    "usage: nightshift run SPEC [-p NAME=VALUE]... [--db PATH] [--rerun] [--force]\n"
    "                      [--retry-failed] [--detach] [--quiet] [--metrics-textfile PATH]\n"
    "\n"
    "Runs the job described by SPEC. A run is identified by the job name and its\n"
    "parameters: running the same command again resumes the unfinished run\n"
    "(finished partitions are not run again, interrupted ones restart from their\n"
    "checkpoint) instead of starting over.\n"
    "\n"
    "  -p NAME=VALUE    a run parameter, usable as {NAME} in the spec\n"
    "  --db PATH        the database (default $NIGHTSHIFT_DB, else\n"
    "                   $XDG_STATE_HOME/nightshift/nightshift.db)\n"
    "  --rerun          start a new run even if one with these parameters exists\n"
    "  --force          resume although the spec changed (not if the plan changed)\n"
    "  --retry-failed   on resume, give failed partitions a fresh attempt budget\n"
    "  --detach         run in the background, detached from the terminal; prints\n"
    "                   the run id and the runtime's log file, then returns\n"
    "  --quiet          print only the final summary\n"
    "  --metrics-textfile PATH\n"
    "                   keep PATH fresh with the run's Prometheus metrics (every 5 s and\n"
    "                   at the end; written whole, then renamed), for node_exporter's\n"
    "                   textfile collector; overrides metrics.textfile in the spec\n"
    "\n"
    "SIGINT or SIGTERM stops the run gracefully (workers get SIGTERM, then SIGKILL\n"
    "after stop_grace); a second one stops it at once. A later `run` resumes it.\n";

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

static void on_tick(void *ctx, const struct ns_counts *c)
{
    struct run_view *v = ctx;
    if (!v->tty || v->quiet)
        return;
    char el[32], eta[32], paused[48] = "";
    ns_format_duration((int64_t)(c->elapsed_s * 1000), el, sizeof el);
    /* The one projection (query_project): none while not dispatching. */
    if (c->eta_s >= 0)
        ns_format_duration((int64_t)(c->eta_s * 1000), eta, sizeof eta);
    else
        snprintf(eta, sizeof eta, "-");
    if (c->paused)
        snprintf(paused, sizeof paused, ", %lld paused", (long long)c->paused);
    int64_t done = c->succeeded + c->failed + c->skipped;
    fprintf(stderr,
            "\r\033[K[%s] %lld/%lld done, %lld running%s, %lld failed, %lld errors, "
            "%.1f/s, elapsed %s, ETA %s",
            c->state, (long long)done, (long long)c->total, (long long)c->running, paused,
            (long long)c->failed, (long long)c->error_records, c->rate, el, eta);
    fflush(stderr);
    v->line_up = true;
}

static int exit_for_state(const char *state)
{
    if (strcmp(state, "succeeded") == 0)
        return NS_EXIT_OK;
    if (strcmp(state, "failed") == 0)
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
        int fd = open(log_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC,
                      0600);
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

static void free_params(char **params, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(params[i]);
    free(params);
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {{"param", required_argument, NULL, 'p'},
                                             {"db", required_argument, NULL, 'd'},
                                             {"rerun", no_argument, NULL, 'r'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"retry-failed", no_argument, NULL, 'R'},
                                             {"detach", no_argument, NULL, 'D'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"metrics-textfile", required_argument, NULL, 'M'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char **params = NULL;
    size_t nparams = 0;
    const char *db_opt = NULL;
    bool want_detach = false;
    struct ns_runtime_opts opts = {0};
    struct run_view view = {0};
    const char *metrics_opt = NULL;
    char *metrics_abs = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:hq", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': {
            /* A relative date is resolved now, once: the run stores the date. */
            char *resolved = cli_resolve_date(optarg);
            params = ns_xrealloc(params, (nparams + 1) * sizeof *params);
            params[nparams++] = resolved ? resolved : ns_xstrdup(optarg);
            break;
        }
        case 'd':
            db_opt = optarg;
            break;
        case 'r':
            opts.rerun = true;
            break;
        case 'f':
            opts.force = true;
            break;
        case 'R':
            opts.retry_failed = true;
            break;
        case 'D':
            want_detach = true;
            break;
        case 'q':
            view.quiet = true;
            break;
        case 'M':
            metrics_opt = optarg;
            break;
        case 'h':
            cli_help(&cmd_run, stdout);
            free_params(params, nparams);
            return NS_EXIT_OK;
        default:
            fputs(run_help, stderr);
            free_params(params, nparams);
            return NS_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(run_help, stderr);
        free_params(params, nparams);
        return NS_EXIT_USAGE;
    }
    const char *spec_path = argv[optind];
    struct ns_spec spec;
    struct ns_plan plan;
    struct ns_diags diags = {0};
    int rc = NS_EXIT_USAGE;
    if (spec_load(spec_path, &spec, &diags) != 0) {
        cli_print_diags(&diags, spec_path);
        diags_release(&diags);
        free_params(params, nparams);
        return NS_EXIT_USAGE;
    }
    /* Validated and summarised here (len, hash); the runtime streams the
     * partitions into the database itself, so no plan is ever held. */
    int stopped = 0;
    if (plan_stream(&spec, params, nparams, NULL, NULL, NULL, &plan, &diags, &stopped) != 0) {
        cli_print_diags(&diags, spec_path);
        diags_release(&diags);
        spec_release(&spec);
        free_params(params, nparams);
        return NS_EXIT_USAGE;
    }
    char *db_path = store_default_path(db_opt);
    char *log_path = NULL;
    if (want_detach) {
        ready_fd = detach(db_path, &log_path);
        if (ready_fd < 0) {
            rc = NS_EXIT_ERROR;
            goto out;
        }
        view.quiet = false;
    }
    view.tty = !want_detach && isatty(STDERR_FILENO);
    opts.on_event = on_event;
    opts.on_tick = on_tick;
    opts.on_started = on_started;
    if (metrics_opt) {
        /* The runtime may outlive this directory's meaning (--detach). */
        char *cwd = getcwd(NULL, 0);
        metrics_abs = metrics_opt[0] == '/' || !cwd ? ns_xstrdup(metrics_opt)
                                                    : ns_xasprintf("%s/%s", cwd, metrics_opt);
        free(cwd);
        opts.metrics_textfile = metrics_abs;
    }
    opts.runtime_log = log_path;
    opts.given = params;
    opts.ngiven = nparams;
    opts.ctx = &view;

    struct ns_run_result res;
    bool refused = false;
    char err[2048];
    if (runtime_run(&spec, &plan, db_path, &opts, &res, &refused, err, sizeof err) != 0) {
        clear_line(&view);
        cli_error("run", "%s", err);
        rc = NS_EXIT_ERROR;
        goto out;
    }
    clear_line(&view);
    if (res.already_succeeded) {
        printf("run %lld of %s already succeeded; nothing to do (--rerun starts a new run)\n",
               (long long)res.run_id, spec.name);
        rc = NS_EXIT_OK;
        goto out;
    }
    char el[32];
    ns_format_duration((int64_t)(res.counts.elapsed_s * 1000), el, sizeof el);
    printf("run %lld %s: %lld succeeded, %lld failed, %lld skipped of %lld partition%s; "
           "%lld error record%s; %s\n",
           (long long)res.run_id, res.state, (long long)res.counts.succeeded,
           (long long)res.counts.failed, (long long)res.counts.skipped, (long long)res.counts.total,
           res.counts.total == 1 ? "" : "s", (long long)res.counts.error_records,
           res.counts.error_records == 1 ? "" : "s", el);
    if (res.counts.failed > 0)
        printf("see the failures: nightshift status %lld; retry them: nightshift retry %lld "
               "--failed, then run again\n",
               (long long)res.run_id, (long long)res.run_id);
    rc = exit_for_state(res.state);
out:
    free(metrics_abs);
    free(log_path);
    free(db_path);
    plan_release(&plan);
    spec_release(&spec);
    diags_release(&diags);
    free_params(params, nparams);
    return rc;
}

const struct ns_command cmd_run = {"run",
                                   "SPEC [-p NAME=VALUE]... [--db PATH] [--rerun] [--detach]",
                                   "run or resume a job",
                                   run,
                                   run_help,
                                   "01234", NULL, 0, false};
