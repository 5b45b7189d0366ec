/*
 * cmd-stop.c - `nightshift stop [--now] RUN`: graceful (SIGTERM, stop_grace,
 * SIGKILL) or immediate stop; checkpoints are kept and a later run resumes.
 */
#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const struct cli_option stop_options[] = {
    {.name = "now", .help = "SIGKILL the workers at once instead of SIGTERM first"},
    CTL_OPTIONS,
};

static int stop_run(struct cli *c)
{
    return ctl_issue(c, "stop", &(struct ns_control_args){.now = cli_flag(c, "now")}, false);
}

const struct ns_command cmd_stop = {
    .name = "stop",
    .args = "[--now] RUN [--db PATH] [--timeout S] [--no-wait]",
    .summary = "stop a run gracefully (or --now)",
    .run = stop_run,
    .help =
        "\n"
        "Stops a run: the runtime starts nothing new, sends SIGTERM to every running\n"
        "attempt's process group, waits the spec's stop_grace, then SIGKILL. With\n"
        "--now it sends SIGKILL at once. Checkpoints are kept, the run ends in state\n"
        "stopped, and `nightshift run SPEC` later resumes it. Needs a live runtime.\n" CTL_RUN_HELP,
    .options = stop_options,
    .noptions = NS_ARRAY_LEN(stop_options),
    CTL_COMMAND,
};
