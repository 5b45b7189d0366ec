/*
 * cmd-stop.c - `nightshift stop [--now] RUN`: graceful (SIGTERM, stop_grace,
 * SIGKILL) or immediate stop; checkpoints are kept and a later run resumes.
 */
#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const char stop_help[] =
    "usage: nightshift stop [--now] RUN [--db PATH] [--timeout S] [--no-wait]\n"
    "\n"
    "Stops a run: the runtime starts nothing new, sends SIGTERM to every running\n"
    "attempt's process group, waits the spec's stop_grace, then SIGKILL. With\n"
    "--now it sends SIGKILL at once. Checkpoints are kept, the run ends in state\n"
    "stopped, and `nightshift run SPEC` later resumes it. Needs a live runtime.\n"
    "\n"
    "  --now            SIGKILL the workers at once instead of SIGTERM first\n" CTL_COMMON_HELP;

static int stop_main(int argc, char **argv)
{
    struct ctl c = {.name = "stop", .help = stop_help, .allowed = CTL_NOW};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    rc = ctl_open(&c);
    if (rc == 0)
        rc = ctl_issue(&c, "stop", c.now ? "{\"now\":true}" : "{\"now\":false}");
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_stop = {"stop",
                                    "[--now] RUN [--db PATH] [--timeout S] [--no-wait]",
                                    "stop a run gracefully (or --now)",
                                    stop_main,
                                    stop_help,
                                    "0123", NULL, 0, false};
