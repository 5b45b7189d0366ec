/*
 * cmd-kill.c - `nightshift kill RUN PART...`: end running attempts; each
 * counts as a failed attempt (outcome killed) and follows the retry policy.
 */
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const struct cli_option kill_options[] = {CTL_OPTIONS};

static int kill_run(struct cli *c)
{
    struct ns_control_args a = {0};
    int rc = ctl_partitions(c, &a);
    if (rc == 0)
        rc = ctl_issue(c, "kill", &a, false);
    free((int64_t *)a.partitions);
    return rc;
}

const struct ns_command cmd_kill = {
    .name = "kill",
    .args = "RUN PART... [--db PATH] [--timeout S] [--no-wait]",
    .summary = "end running attempts (a failed attempt each)",
    .run = kill_run,
    .help = "\n"
            "Ends the running attempt of each named partition: SIGTERM to its process\n"
            "group, SIGKILL after stop_grace. The attempt's outcome is `killed` and it\n"
            "counts as a failed attempt: the partition is retried if its attempt budget\n"
            "allows, else it is failed. PART is a partition index or key (`key:TEXT` for\n"
            "a key made of digits). Needs a live runtime.\n" CTL_RUN_HELP,
    .options = kill_options,
    .noptions = NS_ARRAY_LEN(kill_options),
    CTL_COMMAND,
    .min_rest = 1,
    .max_rest = -1,
    .operand = CLI_OPERAND_PARTS,
};
