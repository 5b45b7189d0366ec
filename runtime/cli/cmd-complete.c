/*
 * cmd-complete.c - `nightshift _complete runs [--db PATH]`: the run names
 * (job names, newest first) for shell completion (completion/nightshift.bash).
 * Prints nothing, and exits 0, when there is no database yet: a completion
 * must never print an error into the user's command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"

static int complete_main(int argc, char **argv)
{
    const char *db_opt = NULL;
    if (argc < 2 || strcmp(argv[1], "runs") != 0) {
        cli_usage(&cmd_complete, stderr);
        return NS_EXIT_USAGE;
    }
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--db") == 0)
            db_opt = argv[i + 1];
    struct ns_store st;
    char err[512];
    char *path = store_default_path(db_opt);
    int rc = store_open(&st, path, NS_STORE_READ, err, sizeof err);
    free(path);
    if (rc != 0)
        return NS_EXIT_OK;
    char **names = NULL;
    long n = report_job_names(&st, 200, &names);
    for (long i = 0; i < n; i++) {
        /* Job names are [A-Za-z0-9._-] by the spec's rules; escape anyway. */
        char *e = escape_dup(names[i], strlen(names[i]), NS_ESC_ASCII);
        puts(e);
        free(e);
        free(names[i]);
    }
    free(names);
    store_close(&st);
    return NS_EXIT_OK;
}

const struct ns_command cmd_complete = {"_complete",
                                        "runs [--db PATH]",
                                        "(internal) words for shell completion",
                                        complete_main,
                                        NULL,
                                        NULL,
                                        NULL,
                                        0,
                                        false};
