/* cmd-emit.c - placeholder until the owner of this command lands it. */
#include <stdio.h>

#include "nightshift/cli.h"

static int emit(int argc, char **argv)
{
    (void)argc;
    cli_error(argv[0], "not implemented yet");
    return NS_EXIT_ERROR;
}

const struct ns_command cmd_emit = {"emit", "", "(not implemented yet)", emit};
