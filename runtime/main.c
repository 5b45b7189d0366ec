/*
 * main.c - the nightshift binary: dispatch to one subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "nightshift/cli.h"

#define NS_COMMAND_ENTRY(n) &cmd_##n,
static const struct ns_command *const commands[] = {NS_COMMANDS(NS_COMMAND_ENTRY)};
static const struct ns_command *const hidden[] = {&cmd_launch};
#undef NS_COMMAND_ENTRY

static void usage(FILE *f)
{
    fputs("usage: nightshift COMMAND [ARGS...]\n\n"
          "Runs partitioned batch jobs, records everything in SQLite, and lets an\n"
          "operator watch and steer them. Commands:\n\n",
          f);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n'nightshift COMMAND --help' describes one command; docs/cli.md has them all.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NS_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return NS_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("nightshift " NS_VERSION);
        return NS_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i]->name) == 0)
            return commands[i]->main(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
        if (strcmp(argv[1], hidden[i]->name) == 0)
            return hidden[i]->main(argc - 1, argv + 1);
    cli_error(argv[1], "unknown command (see 'nightshift --help')");
    return NS_EXIT_USAGE;
}
