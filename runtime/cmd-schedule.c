/*
 * cmd-schedule.c - `nightshift schedule SPEC [-p NAME=VALUE]...
 * [--on-calendar WHEN] [--cron EXPR]`: print a systemd service and timer
 * and a crontab line that run the job - no home-made scheduler.
 *
 * Each start is a plain `nightshift run` with absolute paths (binary, spec,
 * database): relative dates in -p (`yesterday`) are passed as words and
 * resolved by that run, once, when it creates the run. An overlapping start
 * of the same run resumes it or is refused by the run lock, never doubles;
 * the service is Type=oneshot, so systemd does not start it twice either.
 * Text that would need quoting beyond what units and crontabs can carry
 * (control characters) is refused rather than written half-escaped.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char schedule_help[] =
    "usage: nightshift schedule SPEC [-p NAME=VALUE]... [--on-calendar WHEN] [--cron EXPR]\n"
    "                           [--only service|timer|cron] [--db PATH]\n"
    "\n"
    "Prints a systemd service and timer (OnCalendar=WHEN, default *-*-* 01:00:00)\n"
    "and an equivalent crontab line that run `nightshift run SPEC -p ...` with\n"
    "absolute paths. Relative dates in -p (today, yesterday, today-7d) are kept as\n"
    "words: each run resolves them once, when it creates the run, and stores the\n"
    "date, so a resumed run keeps its day. A start that overlaps a live run of the\n"
    "same parameters is refused by the run lock; one after a crash resumes it.\n"
    "\n"
    "  --on-calendar WHEN  systemd calendar expression (see systemd.time(7))\n"
    "  --cron EXPR         the five crontab time fields (default: derived from\n"
    "                      WHEN when it is daily, hourly, weekly or HH:MM)\n"
    "  --only PART         print only the service, the timer or the crontab line\n";

#define DEFAULT_CALENDAR "*-*-* 01:00:00"

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* One argument for ExecStart=: double-quoted; \ and " escaped; % and $ are
 * doubled so systemd takes them literally (specifiers, variables). */
static void add_unit_arg(struct ns_buf *b, const char *s)
{
    buf_addc(b, '"');
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            buf_addc(b, '\\');
        if (*s == '%' || *s == '$')
            buf_addc(b, *s);
        buf_addc(b, *s);
    }
    buf_addc(b, '"');
}

/* One argument for a crontab command (run by /bin/sh): single-quoted, and
 * % escaped (cron turns a bare % into a newline, even inside quotes). */
static void add_cron_arg(struct ns_buf *b, const char *s)
{
    buf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            buf_adds(b, "'\\''");
        else if (*s == '%')
            buf_adds(b, "\\%");
        else
            buf_addc(b, *s);
    }
    buf_addc(b, '\'');
}

/* The crontab time fields for the simple calendar expressions; NULL when
 * there is no exact equivalent. */
static char *cron_from_calendar(const char *when)
{
    static const struct {
        const char *when, *cron;
    } words[] = {{"minutely", "* * * * *"}, {"hourly", "0 * * * *"},  {"daily", "0 0 * * *"},
                 {"weekly", "0 0 * * 1"},   {"monthly", "0 0 1 * *"}, {"yearly", "0 0 1 1 *"}};
    for (size_t i = 0; i < NS_ARRAY_LEN(words); i++)
        if (strcmp(when, words[i].when) == 0)
            return ns_xstrdup(words[i].cron);
    const char *t = strncmp(when, "*-*-* ", 6) == 0 ? when + 6 : when;
    unsigned h, m, s = 0;
    int used = 0;
    if ((sscanf(t, "%2u:%2u:%2u%n", &h, &m, &s, &used) == 3 ||
         sscanf(t, "%2u:%2u%n", &h, &m, &used) == 2) &&
        t[used] == '\0' && h < 24 && m < 60 && s == 0)
        return ns_xasprintf("%u %u * * *", m, h);
    return NULL;
}

static int schedule(int argc, char **argv)
{
    static const struct option longopts[] = {{"param", required_argument, NULL, 'p'},
                                             {"db", required_argument, NULL, 'd'},
                                             {"on-calendar", required_argument, NULL, 'c'},
                                             {"cron", required_argument, NULL, 'C'},
                                             {"only", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char **params = ns_xcalloc((size_t)argc + 1, sizeof *params);
    size_t nparams = 0;
    const char *db_opt = NULL, *when = DEFAULT_CALENDAR, *cron = NULL, *only = NULL;
    int rc = NS_EXIT_USAGE, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (!strchr(optarg, '=')) {
                cli_error("schedule", "-p %s: expected NAME=VALUE", optarg);
                goto done;
            }
            params[nparams++] = optarg;
            break;
        case 'd':
            db_opt = optarg;
            break;
        case 'c':
            when = optarg;
            break;
        case 'C':
            cron = optarg;
            break;
        case 'o':
            only = optarg;
            if (strcmp(only, "service") != 0 && strcmp(only, "timer") != 0 &&
                strcmp(only, "cron") != 0) {
                cli_error("schedule", "--only: \"%s\" is not service, timer or cron", only);
                goto done;
            }
            break;
        case 'h':
            cli_help(&cmd_schedule, stdout);
            rc = NS_EXIT_OK;
            goto done;
        default:
            fputs(schedule_help, stderr);
            goto done;
        }
    }
    if (argc - optind != 1) {
        fputs(schedule_help, stderr);
        goto done;
    }
    if (!*when || has_control(when) || (cron && has_control(cron))) {
        cli_error("schedule", "--on-calendar and --cron take one line of text");
        goto done;
    }
    for (size_t i = 0; i < nparams; i++)
        if (has_control(params[i])) {
            cli_error("schedule", "-p: a value with control characters cannot go in a unit");
            goto done;
        }

    /* The spec must load: a schedule for a broken spec would fail nightly. */
    struct ns_spec spec;
    struct ns_diags diags = {0};
    if (spec_load(argv[optind], &spec, &diags) != 0) {
        cli_print_diags(&diags, argv[optind]);
        diags_release(&diags);
        goto done;
    }
    diags_release(&diags);
    char *spec_abs = realpath(argv[optind], NULL);
    char *self = realpath("/proc/self/exe", NULL);
    char *db_rel = store_default_path(db_opt);
    char *db = db_rel[0] == '/' ? ns_xstrdup(db_rel) : NULL;
    if (!db) {
        char *cwd = getcwd(NULL, 0);
        db = ns_xasprintf("%s/%s", cwd ? cwd : ".", db_rel);
        free(cwd);
    }
    free(db_rel);
    char *cron_time = cron ? ns_xstrdup(cron) : cron_from_calendar(when);
    if (!spec_abs || !self || has_control(spec_abs) || has_control(db)) {
        cli_error("schedule", "%s: cannot name it with an absolute path", argv[optind]);
        goto release;
    }
    const char *job = spec.name; /* [A-Za-z0-9._-]: safe in unit names */
    const char *args[] = {self, "run", "--db", db, "--quiet", spec_abs};
    struct ns_buf exec = NS_BUF_INIT, line = NS_BUF_INIT;
    for (size_t i = 0; i < NS_ARRAY_LEN(args); i++) {
        if (i)
            buf_addc(&exec, ' '), buf_addc(&line, ' ');
        add_unit_arg(&exec, args[i]);
        add_cron_arg(&line, args[i]);
    }
    for (size_t i = 0; i < nparams; i++) {
        buf_adds(&exec, " \"-p\" ");
        add_unit_arg(&exec, params[i]);
        buf_adds(&line, " '-p' ");
        add_cron_arg(&line, params[i]);
    }
    bool all = !only;
    if (all)
        printf("# nightshift schedule for job %s. Save the units as\n"
               "#   ~/.config/systemd/user/nightshift-%s.service and .timer (or in\n"
               "#   /etc/systemd/system/), then: systemctl --user enable --now "
               "nightshift-%s.timer\n"
               "# or put the crontab line in `crontab -e`. Overlapping starts of one run\n"
               "# are refused by its lock; a start after a crash resumes it.\n",
               job, job, job);
    if (all || strcmp(only, "service") == 0) {
        if (all)
            printf("\n# ---- nightshift-%s.service ----\n", job);
        printf("[Unit]\n"
               "Description=nightshift job %s\n"
               "Documentation=man:nightshift(1)\n"
               "\n"
               "[Service]\n"
               "Type=oneshot\n"
               "ExecStart=%s\n"
               "# exit 1: partitions failed; 3: could not run; 4: stopped or halted\n",
               job, exec.data);
    }
    if (all || strcmp(only, "timer") == 0) {
        if (all)
            printf("\n# ---- nightshift-%s.timer ----\n", job);
        printf("[Unit]\n"
               "Description=schedule of nightshift job %s\n"
               "\n"
               "[Timer]\n"
               "OnCalendar=%s\n"
               "Persistent=true\n"
               "Unit=nightshift-%s.service\n"
               "\n"
               "[Install]\n"
               "WantedBy=timers.target\n",
               job, when, job);
    }
    if (all || strcmp(only, "cron") == 0) {
        if (all)
            printf("\n# ---- crontab ----\n");
        if (!cron_time)
            printf("# no crontab equivalent of OnCalendar=%s: give --cron 'M H DOM MON DOW'\n",
                   when);
        else /* cron mails what it prints (--quiet: one line) to the owner */
            printf("%s %s\n", cron_time, line.data);
    }
    buf_release(&exec);
    buf_release(&line);
    rc = NS_EXIT_OK;
release:
    free(cron_time);
    free(spec_abs);
    free(self);
    free(db);
    spec_release(&spec);
done:
    free(params);
    return rc;
}

const struct ns_command cmd_schedule = {
    "schedule",
    "SPEC [-p NAME=VALUE]... [--on-calendar WHEN] [--cron EXPR] [--only PART]",
    "print a systemd timer and a crontab line for a job",
    schedule,
    schedule_help,
    "02"};
