/*
 * cmd-console.c - `nightshift console [RUN] [--db PATH] [--read-only]`.
 *
 * Parses the arguments and hands over to tui_run(); errors are printed here,
 * after the terminal has been restored.
 */
#include <stdio.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/tui.h"

static const char console_help[] =
    "usage: nightshift console [RUN] [--db PATH] [--read-only]\n"
    "\n"
    "The operations console: runs, partitions (table and map), attempts, logs,\n"
    "error records, and operator actions (pause, resume, stop, retry, skip, kill).\n"
    "Press ? inside for every key.\n\n"
    "  RUN            open this run (id, or job name for its newest run)\n"
    "  --db PATH      database (default $NIGHTSHIFT_DB, else\n"
    "                 $XDG_STATE_HOME/nightshift/nightshift.db)\n"
    "  --read-only    watch only: operator actions are hidden and refused\n\n"
    "Environment: NIGHTSHIFT_CONSOLE_REFRESH_MS refresh period in ms (20-10000,\n"
    "default 250); NO_COLOR=1 uses attributes instead of colours.\n";

static int console_main(int argc, char **argv)
{
    struct tui_options opt = {NULL, NULL, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            cli_help(&cmd_console, stdout);
            return NS_EXIT_OK;
        } else if (strcmp(a, "--read-only") == 0) {
            opt.read_only = true;
        } else if (strcmp(a, "--db") == 0 && i + 1 < argc) {
            opt.db_path = argv[++i];
        } else if (strncmp(a, "--db=", 5) == 0) {
            opt.db_path = a + 5;
        } else if (a[0] == '-' && a[1]) {
            cli_error("console", "unknown option %s", a);
            cli_usage(&cmd_console, stderr);
            return NS_EXIT_USAGE;
        } else if (!opt.run) {
            opt.run = a;
        } else {
            cli_error("console", "one run at a time (got %s and %s)", opt.run, a);
            return NS_EXIT_USAGE;
        }
    }
    char err[1024] = "";
    int rc = tui_run(&opt, err, sizeof err);
    if (err[0])
        cli_error("console", "%s", err);
    return rc;
}

const struct ns_command cmd_console = {"console",
                                       "[RUN] [--db PATH] [--read-only]",
                                       "the operations console (ncurses)",
                                       console_main,
                                       console_help,
                                       "023", NULL, 0, false};
