/*
 * cmd-resume.c - `nightshift resume RUN`: SIGCONT the paused attempts and
 * dispatch again; also lifts a halt (error budget crossed).
 */
#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const char resume_help[] =
    "usage: nightshift resume RUN [--db PATH] [--timeout S] [--no-wait]\n"
    "\n"
    "Resumes a paused or halted run: paused attempts get SIGCONT (their timeouts\n"
    "tick again from where they stopped) and the runtime dispatches again. A\n"
    "stopped or killed runtime is resumed with `nightshift run SPEC` instead.\n"
    "Needs a live runtime.\n"
    "\n" CTL_COMMON_HELP;

static int resume_main(int argc, char **argv)
{
    struct ctl c = {.name = "resume", .help = resume_help};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    rc = ctl_open(&c);
    if (rc == 0)
        rc = ctl_issue(&c, "resume", "{}");
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_resume = {"resume",
                                      "RUN [--db PATH] [--timeout S] [--no-wait]",
                                      "resume a paused or halted run",
                                      resume_main,
                                      resume_help,
                                      "0123", NULL, 0, false};
