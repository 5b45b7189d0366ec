/*
 * main.c - the nightshift binary: dispatch to one subcommand.
 *
 * The conventions every command shares are handled here, once: `help CMD`
 * (the same text as `CMD --help`, from the command's descriptor) and
 * `--version` anywhere among a command's options (not as an option's value,
 * by the command's table). Everything else is cli_dispatch's. A worker's `emit` keeps
 * its arguments as they are (they are data: only a first --version counts),
 * as does the internal _launch.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nightshift/cli.h"

static void usage(FILE *f)
{
    size_t n;
    const struct ns_command *const *commands = cli_commands(&n);
    fputs("usage: nightshift COMMAND [ARGS...]\n\n"
          "Runs partitioned batch jobs, records everything in SQLite, and lets an\n"
          "operator watch and steer them. Commands:\n\n",
          f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n'nightshift help COMMAND' (or 'nightshift COMMAND --help') describes one\n"
          "command; --version prints the version. The manuals: nightshift(1) (every\n"
          "command, the console's keys), nightshift-spec(5) (the job spec) and\n"
          "nightshift-protocol(7) (what a worker gets and reports): man nightshift.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0 && argc > 2) {
        const struct ns_command *cmd = cli_find_command(argv[2]);
        if (!cmd || argc > 3) {
            cli_error("help", "%s: unknown command (see 'nightshift --help')",
                      argc > 3 ? argv[3] : argv[2]);
            return NS_EXIT_USAGE;
        }
        cli_help(cmd, stdout);
        return NS_EXIT_OK;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NS_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("nightshift " NS_VERSION);
        return NS_EXIT_OK;
    }
    const struct ns_command *cmd = cli_find_command(argv[1]);
    if (!cmd) {
        cli_error(argv[1], "unknown command (see 'nightshift --help')");
        return NS_EXIT_USAGE;
    }
    bool version = cmd == &cmd_emit ? argc > 2 && strcmp(argv[2], "--version") == 0
                                    : cmd != &cmd_launch && cli_wants_version(cmd, argc, argv);
    if (version) {
        puts("nightshift " NS_VERSION);
        return NS_EXIT_OK;
    }
    return cli_dispatch(cmd, argc - 1, argv + 1);
}
