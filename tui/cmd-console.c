/*
 * cmd-console.c - `nightshift console [RUN] [--db PATH] [--read-only]`.
 *
 * cli_dispatch parses the arguments, opens the database and resolves RUN
 * as for every command; this hands both over to tui_run() and prints its
 * error, after the terminal has been restored.
 */
#include <stdio.h>

#include "nightshift/cli.h"
#include "nightshift/tui.h"
#include "nightshift/util.h"
#include "tui-internal.h"

static const struct cli_option console_options[] = {
    {.name = "read-only", .help = "watch only: operator actions are hidden and refused"},
    {.name = "theme",
     .arg = "NAME",
     .help = "colours: default (a dark terminal), light, or monochrome (attributes only); "
             "else $NIGHTSHIFT_THEME; NO_COLOR means monochrome",
     .complete = "default light monochrome"},
};

static int console_main(struct cli *c)
{
    struct tui_options opt = {.store = c->st,
                              .run_id = c->run_id,
                              .read_only = cli_flag(c, "read-only"),
                              .theme = cli_opt(c, "theme")};
    c->st = NULL; /* tui_run closes it */
    char err[1024] = "";
    int rc = tui_run(&opt, err, sizeof err);
    if (err[0])
        cli_error("console", "%s", err);
    return rc;
}

/* nightshift(1)'s list of the console's keys, view by view, from the one
 * key table the help screen (?) and the key bar are made from. */
static void console_man_keys(struct ns_buf *b)
{
    static const struct {
        unsigned scope;
        const char *view;
    } views[] = {
        {TUI_SCOPE_RUNS, "In the runs list"},
        {TUI_SCOPE_RUN, "In a run (its partitions, table or map)"},
        {TUI_SCOPE_PART, "In a partition (its attempts)"},
        {TUI_SCOPE_ERRORS, "In the error records and failure groups"},
        {TUI_SCOPE_TEXT, "In a text (help, a record, a log)"},
        {TUI_SCOPE_POOLS, "In the pools panel"},
        {TUI_SCOPE_NIGHT, "In the night view (N from the runs list)"},
    };
    buf_adds(b, ".PP\nThe console's keys (its help screen, ?, shows those of the view at hand):\n");
    for (size_t i = 0; i < NS_ARRAY_LEN(views); i++) {
        struct ns_buf lines = NS_BUF_INIT;
        keys_lines(views[i].scope, false, &lines);
        buf_addf(b, ".PP\n%s:\n", views[i].view);
        cli_roff_unfilled(b, lines.data ? lines.data : "");
        buf_release(&lines);
    }
}

const struct ns_command cmd_console = {
    .name = "console",
    .args = "[RUN] [--db PATH] [--read-only] [--theme NAME]",
    .summary = "the operations console (ncurses)",
    .run = console_main,
    .man_more = console_man_keys,
    .help = "\n"
            "The operations console: runs, partitions (table and map), attempts, logs,\n"
            "error records, and operator actions (pause, resume, stop, retry, skip, kill).\n"
            "Press ? inside for every key. RUN (a run id or a job name, for its newest\n"
            "run) opens that run at once.\n"
            "\n"
            "Environment: NIGHTSHIFT_CONSOLE_REFRESH_MS refresh period in ms (20-10000,\n"
            "default 250); NIGHTSHIFT_THEME the theme when --theme is not given;\n"
            "NO_COLOR=1 (non-empty) gives the monochrome theme.\n",
    .exits = "023",
    .options = console_options,
    .noptions = NS_ARRAY_LEN(console_options),
    .db = true,
    .target = CLI_TARGET_RUN_OPTIONAL,
    .store = CLI_STORE_READ,
};
