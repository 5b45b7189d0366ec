/*
 * cmd-set.c - `nightshift set RUN concurrency=N`: change a setting of a
 * live run without restarting it.
 */
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"
#include "nightshift/util.h"

static const struct cli_option set_options[] = {CTL_OPTIONS};

static const char prefix[] = "concurrency=";

static int set_check(struct cli *c)
{
    if (c->nrest != 1 || strncmp(c->rest[0], prefix, strlen(prefix)) != 0) {
        cli_error("set", "\"%s\": the one setting is concurrency=N",
                  c->nrest > 1 ? c->rest[1] : c->rest[0]);
        return NS_EXIT_USAGE;
    }
    const char *value = c->rest[0] + strlen(prefix);
    int64_t n;
    if (ns_parse_int64(value, &n) != 0 || n < 1 || n > 1024) {
        /* The runtime checks it too (the console sends what was typed). */
        cli_error("set", "concurrency must be a whole number from 1 to 1024 (got \"%s\")", value);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int set_run(struct cli *c)
{
    struct ns_control_args a = {0};
    ns_parse_int64(c->rest[0] + strlen(prefix), &a.concurrency); /* set_check read it */
    return ctl_issue(c, "set", &a, false);
}

const struct ns_command cmd_set = {
    .name = "set",
    .args = "RUN concurrency=N [--db PATH] [--timeout S] [--no-wait]",
    .summary = "change a live run's concurrency",
    .run = set_run,
    .check = set_check,
    .help =
        "\n"
        "Changes a setting of a running run at once, without a restart:\n"
        "  concurrency=N    at most N attempts at a time (1..1024); lowering it lets\n"
        "                   running attempts finish, raising it dispatches at once.\n"
        "The new value is kept when the run is resumed later. Needs a live runtime.\n" CTL_RUN_HELP,
    .options = set_options,
    .noptions = NS_ARRAY_LEN(set_options),
    CTL_COMMAND,
    .min_rest = 1,
    .max_rest = -1,
    .operand = CLI_OPERAND_WORDS,
};
