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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/exec.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option schedule_options[] = {
    {.name = "param",
     .short_name = 'p',
     .arg = "NAME=VALUE",
     .help = "a run parameter, passed to every run (repeatable)",
     .flags = CLI_REPEAT},
    {.name = "on-calendar",
     .arg = "WHEN",
     .help = "systemd calendar expression (systemd.time(7)); default *-*-* 01:00:00"},
    {.name = "cron",
     .arg = "EXPR",
     .help = "the five crontab time fields (default: derived from WHEN when it is daily, "
             "hourly, weekly or HH:MM)"},
    {.name = "only",
     .arg = "PART",
     .help = "print only the service, the timer or the cron line",
     .complete = "service timer cron"},
    {.name = "catch-up",
     .arg = "WHICH",
     .help = "each start is a catch-up run (run --only WHICH): missing or failed - with a "
             "rolling window (-p from=today-7d -p to=yesterday) a failed night is retried by "
             "the next one",
     .complete = "missing failed all"},
};

static const char schedule_help[] =
    "\n"
    "Prints a systemd service and timer (OnCalendar=WHEN) and an equivalent crontab\n"
    "line that run `nightshift run SPEC -p ...` with absolute paths. Relative dates\n"
    "in -p (today, yesterday, today-7d) are kept as words: each run resolves them\n"
    "once, when it creates the run, and stores the date, so a resumed run keeps its\n"
    "day. A start that overlaps a live run of the same parameters is refused by the\n"
    "run lock; one after a crash resumes it.\n";

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

/* A weekday list of systemd.time(7): names (Mon, monday...) joined by ","
 * and "..". */
static bool weekdays_ok(const char *tok)
{
    static const char *const days[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    while (*tok) {
        size_t n = strcspn(tok, ",.");
        bool ok = false;
        for (size_t i = 0; i < NS_ARRAY_LEN(days) && !ok; i++)
            ok = (n == 3 || n == strlen(days[i])) && strncasecmp(tok, days[i], n) == 0;
        if (!ok)
            return false;
        tok += n;
        tok += strspn(tok, ",.");
    }
    return true;
}

/* Without systemd-analyze: the shape of a calendar expression, by its
 * characters - a shorthand word, or [WEEKDAYS] [DATE] [TIME] [TIMEZONE]. */
static bool calendar_shape_ok(const char *when)
{
    static const char *const words[] = {"minutely", "hourly",    "daily",       "weekly",
                                        "monthly",  "yearly",    "annually",    "quarterly",
                                        "semiannually"};
    for (size_t i = 0; i < NS_ARRAY_LEN(words); i++)
        if (strcasecmp(when, words[i]) == 0)
            return true;
    char *copy = ns_xstrdup(when), *save = NULL;
    int seen = 0; /* 1 weekdays, 2 date, 4 time, 8 timezone */
    bool ok = true;
    for (char *t = strtok_r(copy, " ", &save); t && ok; t = strtok_r(NULL, " ", &save)) {
        size_t n = strlen(t);
        int part = strchr(t, ':')                                 ? 4
                   : strchr("0123456789*", t[0])                  ? 2
                   : !(seen & 6) && !(seen & 1) && weekdays_ok(t) ? 1
                                                                  : 8;
        if (part == 4)
            ok = strspn(t, "0123456789*/,.:~") == n;
        else if (part == 2)
            ok = strspn(t, "0123456789*/,.~-") == n;
        else if (part == 8)
            ok = (seen & 6) && (strcmp(t, "UTC") == 0 || strchr(t, '/'));
        ok = ok && !(seen & part) && seen < part * 2; /* each once, in order */
        seen |= part;
    }
    free(copy);
    return ok && (seen & 7);
}

/* 1 when WHEN is a calendar expression systemd takes, 0 when not: asked of
 * `systemd-analyze calendar` where it runs, else by calendar_shape_ok. */
static int calendar_ok(const char *when, bool *checked_by_systemd)
{
    const char *const argv[] = {"systemd-analyze", "calendar", "--", when, NULL};
    int rc = exec_run_quiet(argv, 5000);
    *checked_by_systemd = rc >= 0;
    if (rc >= 0)
        return rc == 0;
    return calendar_shape_ok(when);
}

/* Refuses what cannot go into a unit or a crontab, before the spec is read. */
static int schedule_check(struct cli *c)
{
    size_t nparams;
    const char *const *params = cli_opt_values(c, "param", &nparams);
    const char *only = cli_opt(c, "only"), *cron = cli_opt(c, "cron");
    const char *when = cli_opt(c, "on-calendar") ? cli_opt(c, "on-calendar") : DEFAULT_CALENDAR;
    for (size_t i = 0; i < nparams; i++) {
        char *resolved = NULL;
        if (!strchr(params[i], '=')) {
            cli_error("schedule", "-p %s: expected NAME=VALUE", params[i]);
            return NS_EXIT_USAGE;
        }
        /* The word is kept (each start resolves its own day), but one that
         * no start could read is refused now, not at 3 a.m. */
        if (cli_resolve_date("schedule", params[i], &resolved) < 0)
            return NS_EXIT_USAGE;
        free(resolved);
    }
    if (only && strcmp(only, "service") != 0 && strcmp(only, "timer") != 0 &&
        strcmp(only, "cron") != 0) {
        cli_error("schedule", "--only: \"%s\" is not service, timer or cron", only);
        return NS_EXIT_USAGE;
    }
    const char *catch_up = cli_opt(c, "catch-up");
    if (catch_up && strcmp(catch_up, "missing") != 0 && strcmp(catch_up, "failed") != 0 &&
        strcmp(catch_up, "all") != 0) {
        cli_error("schedule", "--catch-up: \"%s\" is not missing, failed or all", catch_up);
        return NS_EXIT_USAGE;
    }
    if (!*when || has_control(when) || (cron && has_control(cron))) {
        cli_error("schedule", "--on-calendar and --cron take one line of text");
        return NS_EXIT_USAGE;
    }
    bool by_systemd;
    if (!calendar_ok(when, &by_systemd)) {
        char *shown = cli_escape(when);
        cli_error("schedule",
                  "--on-calendar \"%s\" is not a calendar expression%s (examples: daily, "
                  "\"*-*-* 02:30:00\", \"Mon..Fri 06:00\"; systemd.time(7))",
                  shown, by_systemd ? " systemd-analyze calendar accepts" : "");
        free(shown);
        return NS_EXIT_USAGE;
    }
    for (size_t i = 0; i < nparams; i++)
        if (has_control(params[i])) {
            cli_error("schedule", "-p: a value with control characters cannot go in a unit");
            return NS_EXIT_USAGE;
        }
    return 0;
}

/* What the units and the crontab line say. */
struct schedule_text {
    const char *job, *when, *only, *cron_time;
    const char *exec, *line; /* the command, quoted for ExecStart= and for cron */
};

static void print_schedule(const struct schedule_text *t)
{
    const char *job = t->job, *only = t->only;
    bool all = !only;
    if (all)
        printf("# nightshift schedule for job %s. Save the units as\n"
               "#   ~/.config/systemd/user/nightshift-%s.service and .timer (or in\n"
               "#   /etc/systemd/system/), then: systemctl --user enable --now "
               "nightshift-%s.timer\n"
               "# or put the crontab line in `crontab -e`. A user timer runs only while\n"
               "# you are logged in unless systemd keeps your user manager running:\n"
               "#   loginctl enable-linger $USER (once). Overlapping starts of one run\n"
               "# are refused by its lock; a start after a crash resumes it.\n",
               job, job, job);
    if (all || strcmp(only, "service") == 0) {
        if (all)
            printf("\n# ---- nightshift-%s.service ----\n", job);
        printf("[Unit]\n"
               "Description=nightshift job %s\n"
               "Documentation=man:nightshift(1)\n"
               "# To be told when a night fails, start a unit of yours that alerts\n"
               "# (mail, chat) - %%n is this unit's name:\n"
               "#OnFailure=alert@%%n.service\n"
               "\n"
               "[Service]\n"
               "Type=oneshot\n"
               "ExecStart=%s\n"
               "# exit 1: partitions failed; 3: could not run; 4: stopped or halted\n",
               job, t->exec);
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
               job, t->when, job);
    }
    if (all || strcmp(only, "cron") == 0) {
        if (all)
            printf("\n# ---- crontab ----\n");
        if (!t->cron_time)
            printf("# no crontab equivalent of OnCalendar=%s: give --cron 'M H DOM MON DOW'\n",
                   t->when);
        else /* cron mails what it prints (--quiet: one line) to the owner */
            printf("%s %s\n", t->cron_time, t->line);
    }
}

/* The database as an absolute path (a timer's working directory is not ours). */
static char *absolute_db(const char *db_opt)
{
    char *db_rel = store_default_path(db_opt);
    if (db_rel[0] == '/')
        return db_rel;
    char *cwd = getcwd(NULL, 0);
    char *db = ns_xasprintf("%s/%s", cwd ? cwd : ".", db_rel);
    free(cwd);
    free(db_rel);
    return db;
}

static int schedule(struct cli *c)
{
    size_t nparams;
    const char *const *params = cli_opt_values(c, "param", &nparams);
    const char *spec_file = c->target, *cron = cli_opt(c, "cron");
    const char *when = cli_opt(c, "on-calendar") ? cli_opt(c, "on-calendar") : DEFAULT_CALENDAR;
    /* The spec must load: a schedule for a broken spec would fail nightly. */
    struct ns_spec spec;
    struct ns_diags diags = {0};
    if (spec_load(spec_file, &spec, &diags) != 0) {
        cli_print_diags(&diags, spec_file);
        diags_release(&diags);
        return NS_EXIT_USAGE;
    }
    diags_release(&diags);
    int rc = NS_EXIT_USAGE;
    char *spec_abs = realpath(spec_file, NULL);
    char *self = realpath("/proc/self/exe", NULL);
    char *db = absolute_db(c->db);
    char *cron_time = cron ? ns_xstrdup(cron) : cron_from_calendar(when);
    if (!spec_abs || !self || has_control(spec_abs) || has_control(db)) {
        cli_error("schedule", "%s: cannot name it with an absolute path", spec_file);
        goto release;
    }
    const char *catch_up = cli_opt(c, "catch-up");
    const char *args[] = {self, "run", "--db", db, "--quiet", spec_abs, "--only", catch_up};
    size_t nargs = NS_ARRAY_LEN(args) - (catch_up ? 0 : 2);
    struct ns_buf exec = NS_BUF_INIT, line = NS_BUF_INIT;
    for (size_t i = 0; i < nargs; i++) {
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
    /* spec.name is [A-Za-z0-9._-]: safe in unit names. */
    print_schedule(&(struct schedule_text){spec.name, when, cli_opt(c, "only"), cron_time,
                                           exec.data, line.data});
    buf_release(&exec);
    buf_release(&line);
    rc = NS_EXIT_OK;
release:
    free(cron_time);
    free(spec_abs);
    free(self);
    free(db);
    spec_release(&spec);
    return rc;
}

const struct ns_command cmd_schedule = {
    .name = "schedule",
    .args = "SPEC [-p NAME=VALUE]... [--on-calendar WHEN] [--cron EXPR] [--only PART]"
            " [--catch-up WHICH]",
    .summary = "print a systemd timer and a crontab line for a job",
    .run = schedule,
    .check = schedule_check,
    .help = schedule_help,
    .exits = "02",
    .options = schedule_options,
    .noptions = NS_ARRAY_LEN(schedule_options),
    .db = true,
    .target = CLI_TARGET_SPEC,
};
