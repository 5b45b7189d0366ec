/*
 * cmd-skip.c - `nightshift skip RUN PART...|--signature TEXT [--reason TEXT]`:
 * mark poisoned partitions skipped (a running attempt is ended first).
 */
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const char skip_help[] =
    "usage: nightshift skip RUN PART... [--reason TEXT] [options]\n"
    "       nightshift skip RUN --signature TEXT [--reason TEXT] [options]\n"
    "\n"
    "Marks partitions skipped, with a reason that status and the console show:\n"
    "they are not run again and do not make the run fail. A running attempt of\n"
    "a named partition is ended first (SIGTERM, SIGKILL after stop_grace).\n"
    "PART is a partition index or key (`key:TEXT` for a key made of digits);\n"
    "--signature names every unfinished partition whose last failure has that\n"
    "error signature. When no runtime drives the run, the skip is queued and\n"
    "applied when the run is resumed with `nightshift run SPEC -p ...`.\n"
    "\n"
    "  --signature TEXT every partition whose last failure has this signature\n"
    "  --reason TEXT    why (recorded with the partition and in the audit log)\n" CTL_COMMON_HELP;

static int skip_main(int argc, char **argv)
{
    struct ctl c = {
        .name = "skip", .help = skip_help, .allowed = CTL_ARGS | CTL_SIGNATURE | CTL_REASON};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    if ((c.nrest > 0) == (c.signature != NULL)) {
        cli_error("skip", "name partitions or --signature TEXT (one of them)");
        return NS_EXIT_USAGE;
    }
    struct ns_buf args = NS_BUF_INIT;
    rc = ctl_open(&c);
    if (rc == 0) {
        buf_addc(&args, '{');
        if (c.nrest > 0) {
            buf_adds(&args, "\"partitions\":");
            rc = ctl_partitions_json(&c, &args);
        } else {
            buf_adds(&args, "\"signature\":");
            buf_add_json_string(&args, c.signature, strlen(c.signature));
        }
        if (c.reason) {
            buf_adds(&args, ",\"reason\":");
            buf_add_json_string(&args, c.reason, strlen(c.reason));
        }
        buf_addc(&args, '}');
    }
    if (rc == 0)
        rc = ctl_issue(&c, "skip", args.data);
    buf_release(&args);
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_skip = {"skip",
                                    "RUN PART...|--signature TEXT [--reason TEXT]",
                                    "mark partitions skipped, with a reason",
                                    skip_main,
                                    skip_help,
                                    "0123", NULL, 0, false};
