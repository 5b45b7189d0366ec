/*
 * cmd-set.c - `nightshift set RUN concurrency=N`: change a setting of a
 * live run without restarting it.
 */
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/control-cli.h"
#include "nightshift/util.h"

static const char set_help[] =
    "usage: nightshift set RUN concurrency=N [--db PATH] [--timeout S] [--no-wait]\n"
    "\n"
    "Changes a setting of a running run at once, without a restart:\n"
    "  concurrency=N    at most N attempts at a time (1..1024); lowering it lets\n"
    "                   running attempts finish, raising it dispatches at once.\n"
    "The new value is kept when the run is resumed later. Needs a live runtime.\n"
    "\n" CTL_COMMON_HELP;

static int set_main(int argc, char **argv)
{
    struct ctl c = {.name = "set", .help = set_help, .allowed = CTL_ARGS, .min_rest = 1};
    int rc = ctl_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    static const char prefix[] = "concurrency=";
    if (c.nrest != 1 || strncmp(c.rest[0], prefix, strlen(prefix)) != 0) {
        cli_error("set", "\"%s\": the one setting is concurrency=N",
                  c.nrest > 1 ? c.rest[1] : c.rest[0]);
        return NS_EXIT_USAGE;
    }
    const char *value = c.rest[0] + strlen(prefix);
    int64_t n;
    if (ns_parse_int64(value, &n) != 0 || n < 1 || n > 1024) {
        /* The runtime checks it too (the console sends it as typed). */
        cli_error("set", "concurrency must be a whole number from 1 to 1024 (got \"%s\")", value);
        return NS_EXIT_USAGE;
    }
    struct ns_buf args = NS_BUF_INIT;
    /* Sent as a string: the runtime checks the number and says what was wrong. */
    buf_adds(&args, "{\"concurrency\":");
    buf_add_json_string(&args, value, strlen(value));
    buf_addc(&args, '}');
    rc = ctl_open(&c);
    if (rc == 0)
        rc = ctl_issue(&c, "set", args.data);
    buf_release(&args);
    ctl_close(&c);
    return rc;
}

const struct ns_command cmd_set = {"set",
                                   "RUN concurrency=N [--db PATH] [--timeout S] [--no-wait]",
                                   "change a live run's concurrency",
                                   set_main,
                                   set_help,
                                   "0123", NULL, 0, false};
