/*
 * cmd-pause.c - `nightshift pause RUN`: dispatch nothing new and SIGSTOP the
 * running attempts' process groups (their timeouts stop ticking).
 */
#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const char pause_help[] =
    "usage: nightshift pause RUN [--db PATH] [--timeout S] [--no-wait]\n"
    "\n"
    "Pauses a running run: the runtime starts no new attempt and stops every\n"
    "running attempt's process group with SIGSTOP; timeouts do not tick while\n"
    "paused. `nightshift resume RUN` continues. Needs a live runtime.\n"
    "\n" CTL_COMMON_HELP;

static int pause_main(int argc, char **argv)
{
    struct ctl c = {.name = "pause", .help = pause_help};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    rc = ctl_open(&c);
    if (rc == 0)
        rc = ctl_issue(&c, "pause", "{}");
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_pause = {"pause",
                                     "RUN [--db PATH] [--timeout S] [--no-wait]",
                                     "pause a run (SIGSTOP its workers)",
                                     pause_main,
                                     pause_help,
                                     "0123", NULL, 0, false};
