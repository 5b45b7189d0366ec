/*
 * cmd-man.c - `nightshift _man`: writes nightshift(1) from the command table
 * (cli.h): the synopsis of every command, its help and its options, and the
 * exit codes from NS_EXITS, so the manual page cannot drift from the
 * parser. docs/nightshift.1 is its output, checked in; tests/e2e/t-man.sh
 * fails when it is stale (regenerate: nightshift _man > docs/nightshift.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/util.h"

static const char head[] =
    ".TH NIGHTSHIFT 1 \"2026-12-06\" \"nightshift " NS_VERSION "\" \"User Commands\"\n"
    ".SH NAME\n"
    "nightshift \\- run partitioned batch jobs, record them in SQLite, steer them\n"
    ".SH SYNOPSIS\n";

static const char description[] =
    ".SH DESCRIPTION\n"
    ".B nightshift\n"
    "runs a job described by a YAML spec: a worker command, and how its work splits\n"
    "into partitions (key lists, numeric ranges, date ranges, file globs). Each\n"
    "partition runs the worker in its own process group with retries, exponential\n"
    "backoff, timeouts and checkpoints. Every state change, progress count,\n"
    "checkpoint and error record is stored in an SQLite database, which the\n"
    "console and the other commands read. A run is identified by its job name and\n"
    "parameters: running the same command again resumes it.\n"
    ".PP\n"
    "Every command that reads or writes runs takes\n"
    ".BI \\-\\-db \" PATH\"\\fR;\n"
    "the default is\n"
    ".BR $NIGHTSHIFT_DB ,\n"
    "else\n"
    ".IR $XDG_STATE_HOME/nightshift/nightshift.db .\n"
    "A\n"
    ".I RUN\n"
    "is a run id or a job name (its newest run); when a job is named with digits,\n"
    ".BI run: N\n"
    "and\n"
    ".BI job: NAME\n"
    "say which (a bare word that names both is refused).\n";

static const char exit_help[] = ".B nightshift help\n"
                                ".I COMMAND\n"
                                "(the same as\n"
                                ".IB COMMAND \" \\-\\-help\" )\n"
                                "lists a command's options and the exit codes it can return;\n"
                                ".B \\-\\-version\n"
                                "works with every command.\n";

static const char tail[] =
    ".SH ENVIRONMENT\n"
    ".TP\n"
    ".B NIGHTSHIFT_DB\n"
    "the database when \\-\\-db is not given\n"
    ".TP\n"
    ".B NO_COLOR\n"
    "the console uses no colour (the monochrome theme)\n"
    ".TP\n"
    ".B NIGHTSHIFT_THEME\n"
    "the console's theme when \\-\\-theme is not given (default, light, monochrome)\n"
    ".TP\n"
    ".B NIGHTSHIFT_CRASHPOINT\n"
    "tests only: NAME:N kills the runtime (SIGKILL) at the Nth hit of a crash\n"
    "point (docs/cli.md lists them)\n"
    ".TP\n"
    ".B NIGHTSHIFT_TEST_NOW\n"
    "tests only: Unix seconds the clock starts at\n"
    ".SH FILES\n"
    ".TP\n"
    ".I DB.d/run\\-N/\n"
    "attempt logs\n"
    ".TP\n"
    ".I DB.d/run\\-N.lock\n"
    "held by the runtime driving run N (DB with its symlinks resolved, so every\n"
    "path to one database shares one lock). A group- or world-writable DB or\n"
    "DB.d is refused.\n"
    ".TP\n"
    ".I DB.d/slurm\\-spool/\n"
    "launch data, reports, output and exit status of Slurm attempts (or the\n"
    "spec's slurm.spool, which must be shared with the compute nodes)\n"
    ".SH SEE ALSO\n"
    ".BR nightshift\\-spec (5),\n"
    ".BR nightshift\\-protocol (7),\n"
    "docs/cli.md, docs/spec.md, docs/protocol.md, docs/control.md,\n"
    "docs/console.md, docs/cluster.md, docs/json.md and docs/store.md in the\n"
    "nightshift sources.\n";

/* One synopsis line per form of cmd: "nightshift NAME" bold, the rest roman. */
static void synopsis(struct ns_buf *b, const struct ns_command *cmd)
{
    const char *form = cmd->args;
    for (;;) {
        size_t len = strcspn(form, "\n");
        char *one = ns_xasprintf("%.*s", (int)len, form);
        buf_addf(b, ".B nightshift %s\n", cmd->name);
        if (*one)
            cli_roff_lines(b, one);
        buf_adds(b, ".br\n");
        free(one);
        if (!form[len])
            break;
        form += len + 1;
    }
}

/* The command's help text as it prints, unfilled, then its options. */
static void command(struct ns_buf *b, const struct ns_command *cmd)
{
    buf_addf(b, ".SS %s\n", cmd->name);
    char *summary = ns_xasprintf("%s.", cmd->summary);
    cli_roff_lines(b, summary);
    free(summary);
    if (cmd->help && cmd->help[strspn(cmd->help, "\n")]) {
        buf_adds(b, ".PP\n");
        cli_roff_unfilled(b, cmd->help + strspn(cmd->help, "\n"));
    }
    const struct cli_option *all[CLI_MAX_OPTIONS + 3];
    size_t n = cli_all_options(cmd, all);
    for (size_t i = 0; i < n; i++) {
        const struct cli_option *o = all[i];
        if (strcmp(o->name, "help") == 0 || strcmp(o->name, "version") == 0)
            continue;
        buf_adds(b, ".TP\n.B ");
        if (o->short_name)
            buf_addf(b, "\\-%c, ", o->short_name);
        buf_adds(b, "\\-\\-");
        cli_roff(b, o->name);
        if (o->arg) {
            buf_adds(b, " \\fI");
            cli_roff(b, o->arg);
            buf_adds(b, "\\fR");
        }
        buf_addc(b, '\n');
        cli_roff_lines(b, o->help);
    }
    if (cmd->man_more)
        cmd->man_more(b);
    if (cmd->exits) {
        buf_adds(b, ".PP\nExit status:");
        for (const char *e = cmd->exits; *e; e++)
            buf_addf(b, " %c%s", *e, e[1] ? "," : ".\n");
    }
}

static const struct {
    int code;
    const char *text;
} exits[] = {
#define NS_EXIT_ROW(name, code, text) {code, text},
    NS_EXITS(NS_EXIT_ROW)
#undef NS_EXIT_ROW
};

static int man_main(struct cli *c)
{
    (void)c;
    size_t n;
    const struct ns_command *const *cmds = cli_commands(&n);
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, head);
    for (size_t i = 0; i < n; i++)
        synopsis(&b, cmds[i]);
    b.len -= 4; /* no .br before a section */
    b.data[b.len] = '\0';
    buf_adds(&b, description);
    buf_adds(&b, ".SH COMMANDS\n");
    for (size_t i = 0; i < n; i++)
        command(&b, cmds[i]);
    buf_adds(&b, ".SH EXIT STATUS\n");
    for (size_t i = 0; i < NS_ARRAY_LEN(exits); i++) {
        buf_addf(&b, ".TP\n.B %d\n", exits[i].code);
        cli_roff_lines(&b, exits[i].text);
    }
    buf_adds(&b, ".PP\n");
    buf_adds(&b, exit_help);
    buf_adds(&b, tail);
    fwrite(b.data, 1, b.len, stdout);
    buf_release(&b);
    return ferror(stdout) ? NS_EXIT_ERROR : NS_EXIT_OK;
}

const struct ns_command cmd_man = {
    .name = "_man",
    .args = "",
    .summary = "(internal) write the nightshift(1) manual page",
    .run = man_main,
};
