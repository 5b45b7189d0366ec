/*
 * cli.c - helpers shared by the command files (cli.h).
 *
 * Kept out of main.c so that unit tests, which link every runtime object but
 * main.o, can link command files too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nightshift/cli.h"

void cli_error(const char *subject, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "nightshift: %s: ", subject);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_usage(const struct ns_command *cmd, FILE *f)
{
    fprintf(f, "usage: nightshift %s %s\n", cmd->name, cmd->args);
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}
