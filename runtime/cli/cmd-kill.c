/*
 * cmd-kill.c - `nightshift kill RUN PART...`: end running attempts; each
 * counts as a failed attempt (outcome killed) and follows the retry policy.
 */
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const char kill_help[] =
    "usage: nightshift kill RUN PART... [--db PATH] [--timeout S] [--no-wait]\n"
    "\n"
    "Ends the running attempt of each named partition: SIGTERM to its process\n"
    "group, SIGKILL after stop_grace. The attempt's outcome is `killed` and it\n"
    "counts as a failed attempt: the partition is retried if its attempt budget\n"
    "allows, else it is failed. PART is a partition index or key (`key:TEXT` for\n"
    "a key made of digits). Needs a live runtime.\n"
    "\n" CTL_COMMON_HELP;

static int kill_main(int argc, char **argv)
{
    struct ctl c = {.name = "kill", .help = kill_help, .allowed = CTL_ARGS, .min_rest = 1};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    struct ns_buf args = NS_BUF_INIT;
    rc = ctl_open(&c);
    if (rc == 0) {
        buf_adds(&args, "{\"partitions\":");
        rc = ctl_partitions_json(&c, &args);
        buf_addc(&args, '}');
    }
    if (rc == 0)
        rc = ctl_issue(&c, "kill", args.data);
    buf_release(&args);
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_kill = {"kill",
                                    "RUN PART... [--db PATH] [--timeout S] [--no-wait]",
                                    "end running attempts (a failed attempt each)",
                                    kill_main,
                                    kill_help,
                                    "0123", NULL, 0, false};
