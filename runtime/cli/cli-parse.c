/*
 * cli-parse.c - the one parser every command goes through (cli.h's
 * cli_dispatch), as tmux's cmd_entry: the command's descriptor says its
 * options and its target, and this file parses them, checks bounds, opens
 * the database once and resolves RUN once, then calls the command.
 *
 * getopt_long is called here and nowhere else. A command file never reads
 * argv: it reads struct cli (cli_opt, cli_number_opt, c->run_id, ...).
 * RUN is read the same way by every command (cli_find_run): run:N,
 * job:NAME, or a bare word that is refused when it names both a run and
 * another run's job, so a job named "2" can never make `stop 2` act on the
 * wrong run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/check.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static int option_index(const struct ns_command *cmd, const char *name)
{
    for (size_t i = 0; i < cmd->noptions; i++)
        if (strcmp(cmd->options[i].name, name) == 0)
            return (int)i;
    NS_BUG("option --%s is not in %s's table", name, cmd->name);
}

const char *cli_opt(const struct cli *c, const char *name)
{
    return c->value[option_index(c->cmd, name)];
}

bool cli_flag(const struct cli *c, const char *name)
{
    return cli_opt(c, name) != NULL;
}

int64_t cli_number_opt(const struct cli *c, const char *name, int64_t def)
{
    int i = option_index(c->cmd, name);
    return c->value[i] ? c->number[i] : def;
}

double cli_seconds_opt(const struct cli *c, const char *name, double def)
{
    int i = option_index(c->cmd, name);
    return c->value[i] ? c->seconds[i] : def;
}

const char *const *cli_opt_values(const struct cli *c, const char *name, size_t *n)
{
    int i = option_index(c->cmd, name);
    *n = c->n_values[i];
    return c->values[i];
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

/* A CLI_NUMBER or CLI_SECONDS value within its bounds, into slot i. */
static int check_value(struct cli *c, size_t i, const char *v)
{
    const struct cli_option *o = &c->cmd->options[i];
    if (o->flags & CLI_NUMBER) {
        int64_t n;
        if (ns_parse_int64(v, &n) == 0 && n >= o->min && n <= o->max) {
            c->number[i] = n;
            return 0;
        }
        if (o->max == INT64_MAX)
            cli_error(c->cmd->name, "--%s wants a whole number from %lld up (got \"%s\")", o->name,
                      (long long)o->min, v);
        else
            cli_error(c->cmd->name, "--%s wants a whole number from %lld to %lld (got \"%s\")",
                      o->name, (long long)o->min, (long long)o->max, v);
        return -1;
    }
    if (o->flags & CLI_SECONDS) {
        char *end;
        errno = 0;
        double t = strtod(v, &end);
        if (!errno && end != v && !*end && t >= (double)o->min && t <= (double)o->max) {
            c->seconds[i] = t;
            return 0;
        }
        cli_error(c->cmd->name, "--%s wants seconds from %lld to %lld (got \"%s\")", o->name,
                  (long long)o->min, (long long)o->max, v);
        return -1;
    }
    return 0;
}

/* Keeps an option's value; returns -1 (said) for a relative date that
 * cannot be read. */
static int keep_value(struct cli *c, size_t i, const char *v)
{
    const struct cli_option *o = &c->cmd->options[i];
    c->value[i] = v;
    if (o->flags & CLI_REPEAT) {
        c->values[i] = ns_xrealloc(c->values[i], (c->n_values[i] + 1) * sizeof(char *));
        c->values[i][c->n_values[i]++] = v;
    }
    if (o->flags & CLI_DATES) {
        /* A relative date is resolved now, once: the run stores the date. */
        char *resolved;
        if (cli_resolve_date(c->cmd->name, v, &resolved) < 0)
            return -1;
        c->params = ns_xrealloc(c->params, (c->nparams + 1) * sizeof(char *));
        c->params[c->nparams++] = resolved ? resolved : ns_xstrdup(v);
    }
    return 0;
}

static int usage_error(const struct ns_command *cmd)
{
    cli_usage(cmd, stderr);
    fprintf(stderr, "('nightshift help %s' lists the options)\n", cmd->name);
    return NS_EXIT_USAGE;
}

/* The options, by the table. Returns -1 to go on, or an exit status. */
static int parse_options(struct cli *c, int argc, char **argv)
{
    const struct ns_command *cmd = c->cmd;
    const struct cli_option *all[CLI_MAX_OPTIONS + 3];
    size_t n = cli_all_options(cmd, all);
    struct option longopts[CLI_MAX_OPTIONS + 4];
    char shorts[2 * CLI_MAX_OPTIONS + 8];
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) {
        longopts[i] = (struct option){all[i]->name, all[i]->arg ? required_argument : no_argument,
                                      NULL, 256 + (int)i};
        if (all[i]->short_name) {
            shorts[ns++] = all[i]->short_name;
            if (all[i]->arg)
                shorts[ns++] = ':';
        }
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        int i = opt >= 256 ? opt - 256 : -1;
        for (size_t k = 0; i < 0 && opt != '?' && opt != ':' && k < n; k++)
            if (all[k]->short_name == opt)
                i = (int)k;
        if (i < 0) /* getopt said what was wrong */
            return usage_error(cmd);
        const struct cli_option *o = all[i];
        if (strcmp(o->name, "help") == 0) {
            cli_help(cmd, stdout);
            return NS_EXIT_OK;
        }
        if ((size_t)i >= cmd->noptions) { /* --db (--version: main's) */
            if (strcmp(o->name, "db") == 0)
                c->db = optarg;
            continue;
        }
        const char *v = o->arg ? optarg : "";
        if (check_value(c, (size_t)i, v) != 0 || keep_value(c, (size_t)i, v) != 0)
            return NS_EXIT_USAGE;
    }
    c->rest = argv + optind;
    c->nrest = argc - optind;
    return -1;
}

/* The target and the operands after it. Returns -1 to go on, or an exit status. */
static int take_operands(struct cli *c)
{
    const struct ns_command *cmd = c->cmd;
    bool run = cmd->target == CLI_TARGET_RUN || cmd->target == CLI_TARGET_RUN_OPTIONAL;
    if (cmd->target == CLI_TARGET_RUN && c->nrest == 0) {
        cli_error(cmd->name, "name a run (a run id or a job name)");
        return usage_error(cmd);
    }
    if (cmd->target == CLI_TARGET_SPEC && c->nrest == 0)
        return usage_error(cmd);
    if (cmd->target != CLI_TARGET_NONE && c->nrest > 0) {
        c->target = c->rest[0];
        c->rest++;
        c->nrest--;
    }
    if (cmd->max_rest >= 0 && c->nrest > cmd->max_rest) {
        if (cmd->target == CLI_TARGET_SPEC)
            cli_error(cmd->name, "one spec at a time (got %s and %s)", c->target, c->rest[0]);
        else if (run && c->target)
            cli_error(cmd->name, "unexpected argument \"%s\" after the run", c->rest[0]);
        else
            return usage_error(cmd);
        return NS_EXIT_USAGE;
    }
    if (c->nrest < cmd->min_rest)
        return usage_error(cmd);
    return -1;
}

/* Opens the database and resolves RUN, for a command that says so. */
static int open_target(struct cli *c, struct ns_store *st)
{
    const struct ns_command *cmd = c->cmd;
    if ((cmd->target != CLI_TARGET_RUN && cmd->target != CLI_TARGET_RUN_OPTIONAL) ||
        cmd->store == CLI_STORE_NONE)
        return -1;
    int mode = cmd->store == CLI_STORE_CLIENT ? NS_STORE_CLIENT : NS_STORE_READ;
    if (cli_open_store(cmd->name, c->db, mode, st) != 0)
        return NS_EXIT_ERROR;
    c->st = st;
    if (!c->target)
        return -1;
    int64_t id = cli_find_run(cmd->name, st, c->target);
    if (id > 0) {
        c->run_id = id;
        return -1;
    }
    return id == -2 ? NS_EXIT_USAGE : NS_EXIT_ERROR;
}

static void cli_release(struct cli *c)
{
    for (size_t i = 0; i < CLI_MAX_OPTIONS; i++)
        free(c->values[i]);
    for (size_t i = 0; i < c->nparams; i++)
        free(c->params[i]);
    free(c->params);
    if (c->st)
        store_close(c->st);
}

int cli_dispatch(const struct ns_command *cmd, int argc, char **argv)
{
    if (cmd->main)
        return cmd->main(argc, argv);
    if (cmd->noptions >= CLI_MAX_OPTIONS || !cmd->run)
        NS_BUG("%s: %zu options (at most %d) or no run function", cmd->name, cmd->noptions,
               CLI_MAX_OPTIONS - 1);
    struct cli c;
    struct ns_store st;
    memset(&c, 0, sizeof c);
    c.cmd = cmd;
    int rc = parse_options(&c, argc, argv);
    if (rc < 0)
        rc = take_operands(&c);
    if (rc < 0 && cmd->check) {
        int k = cmd->check(&c);
        rc = k == 0 ? -1 : k;
    }
    if (rc < 0)
        rc = open_target(&c, &st);
    if (rc < 0)
        rc = cmd->run(&c);
    cli_release(&c);
    return rc;
}

bool cli_wants_version(const struct ns_command *cmd, int argc, char **argv)
{
    const struct cli_option *all[CLI_MAX_OPTIONS + 3];
    size_t n = cli_all_options(cmd, all);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--version") != 0)
            continue;
        /* Not the value of the option before it (-p --version is a value). */
        bool value = false;
        const char *prev = argv[i - 1];
        for (size_t k = 0; k < n && !value; k++)
            value = all[k]->arg &&
                    ((prev[0] == '-' && prev[1] == '-' && strcmp(prev + 2, all[k]->name) == 0) ||
                     (all[k]->short_name && prev[0] == '-' && prev[1] == all[k]->short_name &&
                      !prev[2]));
        if (!value)
            return true;
    }
    return false;
}

int64_t cli_lookup_run(struct ns_store *st, const char *arg, int64_t *by_id, int64_t *by_job,
                       char *err, size_t errlen)
{
    const char *id_text = NULL, *job = NULL;
    *by_id = *by_job = 0;
    if (strncmp(arg, "run:", 4) == 0) {
        id_text = arg + 4;
        if (!all_digits(id_text))
            return CLI_RUN_MALFORMED;
    } else if (strncmp(arg, "job:", 4) == 0) {
        job = arg + 4;
    } else {
        id_text = all_digits(arg) ? arg : NULL;
        job = arg;
    }
    if (id_text)
        *by_id = store_find_run(st, id_text, err, errlen);
    if (job && *job && *by_id >= 0)
        *by_job = store_find_job_run(st, job, err, errlen);
    if (*by_id < 0 || *by_job < 0)
        return -1;
    if (*by_id > 0 && *by_job > 0 && *by_id != *by_job)
        return CLI_RUN_AMBIGUOUS;
    return *by_id > 0 ? *by_id : *by_job;
}

int64_t cli_find_run(const char *name, struct ns_store *st, const char *arg)
{
    char err[512] = "";
    if (!arg) {
        int64_t id = store_latest_run(st);
        if (!id)
            cli_error(name, "no runs in %s yet", st->path);
        return id;
    }
    int64_t by_id, by_job;
    int64_t id = cli_lookup_run(st, arg, &by_id, &by_job, err, sizeof err);
    if (id == CLI_RUN_MALFORMED) {
        cli_error(name, "%s: run:N wants a run id (job:NAME names a job)", arg);
        return -2;
    }
    if (id == CLI_RUN_AMBIGUOUS) {
        cli_error(name,
                  "\"%s\" is both run %lld and job \"%s\" (whose newest run is %lld): say "
                  "run:%s or job:%s",
                  arg, (long long)by_id, arg, (long long)by_job, arg, arg);
        return -2;
    }
    if (id < 0)
        cli_error(name, "%s", err);
    else if (!id)
        cli_error(name,
                  "no run \"%s\" in %s (give a run id or a job name; 'nightshift status' "
                  "lists them)",
                  arg, st->path);
    return id;
}

int64_t cli_find_partition(const struct cli *c, const char *arg)
{
    bool by_index = all_digits(arg);
    const char *key = strncmp(arg, "key:", 4) == 0 ? arg + 4 : arg;
    const char *name = c->cmd->name;
    int64_t idx = -1;
    if (by_index) {
        struct ns_part_row r = {0};
        char err[256] = "";
        int64_t want;
        int found = ns_parse_int64(arg, &want) == 0
                        ? query_partition(c->st, c->run_id, want, &r, err, sizeof err)
                        : 0;
        if (found == 1)
            idx = r.idx;
        query_part_row_release(&r);
        if (found < 0) {
            cli_error(name, "%s", err);
            return -1;
        }
    } else {
        idx = query_partition_by_key(c->st, c->run_id, key);
    }
    if (idx >= 0)
        return idx;
    if (by_index) {
        int64_t lo = 0, hi = -1;
        query_partition_range(c->st, c->run_id, &lo, &hi);
        cli_error(name,
                  "run %lld has no partition %s (its partitions are %lld to %lld); `key:%s` "
                  "names a key",
                  (long long)c->run_id, arg, (long long)lo, (long long)hi, arg);
    } else {
        cli_error(name,
                  "run %lld has no partition with key \"%s\" (`nightshift status %lld` "
                  "lists them)",
                  (long long)c->run_id, key, (long long)c->run_id);
    }
    return -1;
}
