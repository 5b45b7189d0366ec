/*
 * cmd-skip.c - `nightshift skip RUN PART...|--signature TEXT [--reason TEXT]`:
 * mark poisoned partitions skipped (a running attempt is ended first).
 */
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const struct cli_option skip_options[] = {
    {.name = "signature",
     .arg = "TEXT",
     .help = "every partition whose last failure has this signature"},
    {.name = "reason",
     .arg = "TEXT",
     .help = "why (recorded with the partition and in the audit log)"},
    CTL_OPTIONS,
};

static int skip_check(struct cli *c)
{
    if ((c->nrest > 0) == cli_flag(c, "signature")) {
        cli_error("skip", "name partitions or --signature TEXT (one of them)");
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int skip_run(struct cli *c)
{
    struct ns_control_args a = {.signature = cli_opt(c, "signature"),
                                .reason = cli_opt(c, "reason")};
    int rc = c->nrest > 0 ? ctl_partitions(c, &a) : 0;
    if (rc == 0)
        rc = ctl_issue(c, "skip", &a, false);
    free((int64_t *)a.partitions);
    return rc;
}

const struct ns_command cmd_skip = {
    .name = "skip",
    .args = "RUN PART... [--reason TEXT] [options]\n"
            "RUN --signature TEXT [--reason TEXT] [options]",
    .summary = "mark partitions skipped, with a reason",
    .run = skip_run,
    .check = skip_check,
    .help = "\n"
            "Marks partitions skipped, with a reason that status and the console show:\n"
            "they are not run again and do not make the run fail. A running attempt of\n"
            "a named partition is ended first (SIGTERM, SIGKILL after stop_grace).\n"
            "PART is a partition index or key (`key:TEXT` for a key made of digits);\n"
            "--signature names every unfinished partition whose last failure has that\n"
            "error signature. When no runtime drives the run, the skip is queued and\n"
            "applied when the run is resumed with `nightshift run SPEC -p ...`.\n" CTL_RUN_HELP,
    .options = skip_options,
    .noptions = NS_ARRAY_LEN(skip_options),
    CTL_COMMAND,
    .max_rest = -1,
    .operand = CLI_OPERAND_PARTS,
};
