/*
 * cmd-retry.c - `nightshift retry RUN PART...|--failed|--signature TEXT`:
 * give partitions a fresh attempt budget, from their checkpoint or from
 * scratch. Against a run no runtime drives, the retry is queued and the next
 * `nightshift run` of the run's spec applies it (--start starts that run).
 */
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const struct cli_option retry_options[] = {
    {.name = "failed", .help = "every failed partition"},
    {.name = "signature",
     .arg = "TEXT",
     .help = "every partition whose last failure has this signature"},
    {.name = "from-scratch", .help = "drop the checkpoint: the next attempt starts afresh"},
    {.name = "start", .help = "no runtime? start one in the background for the run"},
    CTL_OPTIONS,
};

static int retry_check(struct cli *c)
{
    int selectors = (c->nrest > 0) + cli_flag(c, "failed") + cli_flag(c, "signature");
    if (selectors != 1) {
        cli_error("retry", "name partitions, or --failed, or --signature TEXT (one of them)");
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int retry_run(struct cli *c)
{
    struct ns_control_args a = {.failed = cli_flag(c, "failed"),
                                .signature = cli_opt(c, "signature"),
                                .from_scratch = cli_flag(c, "from-scratch")};
    int rc = c->nrest > 0 ? ctl_partitions(c, &a) : 0;
    if (rc == 0)
        rc = ctl_issue(c, "retry", &a, cli_flag(c, "start"));
    free((int64_t *)a.partitions);
    return rc;
}

const struct ns_command cmd_retry = {
    .name = "retry",
    .args = "RUN PART... [--from-scratch] [--start] [options]\n"
            "RUN --failed [--from-scratch] [--start] [options]\n"
            "RUN --signature TEXT [--from-scratch] [--start] [options]",
    .summary = "retry partitions (from their checkpoint)",
    .run = retry_run,
    .check = retry_check,
    .help = "\n"
            "Gives the named partitions a fresh attempt budget and runs them again, from\n"
            "their last checkpoint unless --from-scratch. PART is a partition index or\n"
            "key (`key:TEXT` for a key made of digits); --failed names every failed\n"
            "partition; --signature every unfinished partition whose last failure has\n"
            "that error signature (`nightshift errors RUN --group`, `status` show them).\n"
            "Running and succeeded partitions are left alone.\n"
            "\n"
            "When no runtime drives the run (it finished, failed, was stopped or\n"
            "killed), the retry is queued and applied when the run is resumed by\n"
            "`nightshift run SPEC -p ...` with the run's spec and parameters (printed);\n"
            "--start does that at once, in the background (`run --detach`).\n" CTL_RUN_HELP,
    .options = retry_options,
    .noptions = NS_ARRAY_LEN(retry_options),
    CTL_COMMAND,
    .max_rest = -1,
    .operand = CLI_OPERAND_PARTS,
};
