/*
 * cmd-resume.c - `nightshift resume RUN`: SIGCONT the paused attempts and
 * dispatch again; also lifts a halt (error budget crossed).
 */
#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const struct cli_option resume_options[] = {
    CTL_OPTIONS,
    {.name = "force", .help = "start partitions even outside the run's window (audited)"},
};

static int resume_run(struct cli *c)
{
    return ctl_issue(c, "resume", &(struct ns_control_args){.force = cli_flag(c, "force")}, false);
}

const struct ns_command cmd_resume = {
    .name = "resume",
    .args = "RUN [--force] [--db PATH] [--timeout S] [--no-wait]",
    .summary = "resume a paused or halted run",
    .run = resume_run,
    .help = "\n"
            "Resumes a paused or halted run: paused attempts get SIGCONT (their timeouts\n"
            "tick again from where they stopped) and the runtime dispatches again. A\n"
            "stopped or killed runtime is resumed with `nightshift run SPEC` instead.\n"
            "A run waiting for its window (spec window:) is refused unless --force: it\n"
            "then starts partitions until the window's next change.\n"
            "Needs a live runtime.\n" CTL_RUN_HELP,
    .options = resume_options,
    .noptions = NS_ARRAY_LEN(resume_options),
    CTL_COMMAND,
};
