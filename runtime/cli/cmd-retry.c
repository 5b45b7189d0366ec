/*
 * cmd-retry.c - `nightshift retry RUN PART...|--failed|--signature TEXT`:
 * give partitions a fresh attempt budget, from their checkpoint or from
 * scratch. Against a run no runtime drives, the retry is queued and the next
 * `nightshift run` of the run's spec applies it (--start starts that run).
 */
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"

static const char retry_help[] =
    "usage: nightshift retry RUN PART... [--from-scratch] [--start] [options]\n"
    "       nightshift retry RUN --failed [--from-scratch] [--start] [options]\n"
    "       nightshift retry RUN --signature TEXT [--from-scratch] [--start] [options]\n"
    "\n"
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
    "--start does that at once, in the background (`run --detach`).\n"
    "\n"
    "  --failed         every failed partition\n"
    "  --signature TEXT every partition whose last failure has this signature\n"
    "  --from-scratch   drop the checkpoint: the next attempt starts afresh\n"
    "  --start          no runtime? start one in the background for the run\n" CTL_COMMON_HELP;

static int retry_main(int argc, char **argv)
{
    struct ctl c = {.name = "retry",
                    .help = retry_help,
                    .allowed =
                        CTL_ARGS | CTL_FAILED | CTL_SIGNATURE | CTL_FROM_SCRATCH | CTL_START};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    int selectors = (c.nrest > 0) + c.failed + (c.signature != NULL);
    if (selectors != 1) {
        cli_error("retry", "name partitions, or --failed, or --signature TEXT (one of them)");
        return NS_EXIT_USAGE;
    }
    struct ns_buf args = NS_BUF_INIT;
    rc = ctl_open(&c);
    if (rc == 0) {
        buf_addc(&args, '{');
        if (c.nrest > 0) {
            buf_adds(&args, "\"partitions\":");
            rc = ctl_partitions_json(&c, &args);
        } else if (c.failed) {
            buf_adds(&args, "\"failed\":true");
        } else {
            buf_adds(&args, "\"signature\":");
            buf_add_json_string(&args, c.signature, strlen(c.signature));
        }
        buf_adds(&args, c.from_scratch ? ",\"from_scratch\":true}" : ",\"from_scratch\":false}");
    }
    if (rc == 0)
        rc = ctl_issue(&c, "retry", args.data);
    buf_release(&args);
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_retry = {"retry",
                                     "RUN PART...|--failed|--signature TEXT [--from-scratch] "
                                     "[--start]",
                                     "retry partitions (from their checkpoint)",
                                     retry_main,
                                     retry_help,
                                     "0123", NULL, 0, false};
