/*
 * cmd-pause.c - `nightshift pause RUN`: dispatch nothing new and SIGSTOP the
 * running attempts' process groups (their timeouts stop ticking).
 */
#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const struct cli_option pause_options[] = {CTL_OPTIONS};

static int pause_run(struct cli *c)
{
    return ctl_issue(c, "pause", &(struct ns_control_args){0}, false);
}

const struct ns_command cmd_pause = {
    .name = "pause",
    .args = "RUN [--db PATH] [--timeout S] [--no-wait]",
    .summary = "pause a run (SIGSTOP its workers)",
    .run = pause_run,
    .help = "\n"
            "Pauses a running run: the runtime starts no new attempt and stops every\n"
            "running attempt's process group with SIGSTOP; timeouts do not tick while\n"
            "paused. `nightshift resume RUN` continues. Needs a live runtime.\n" CTL_RUN_HELP,
    .options = pause_options,
    .noptions = NS_ARRAY_LEN(pause_options),
    CTL_COMMAND,
};
