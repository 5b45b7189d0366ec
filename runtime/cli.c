/*
 * cli.c - helpers shared by the command files (cli.h).
 *
 * Kept out of main.c so that unit tests, which link every runtime object but
 * main.o, can link command files too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/store.h"

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

int cli_open_store(const char *name, const char *db_opt, int mode, struct ns_store *st)
{
    char err[1024];
    char *path = store_default_path(db_opt);
    int rc = store_open(st, path, (enum ns_store_mode)mode, err, sizeof err);
    free(path);
    if (rc != 0)
        cli_error(name, "%s", err);
    return rc;
}

long long cli_find_run(const char *name, struct ns_store *st, const char *arg)
{
    char err[512] = "";
    int64_t id = arg ? store_find_run(st, arg, err, sizeof err) : store_latest_run(st);
    if (id < 0)
        cli_error(name, "%s", err);
    else if (id == 0 && arg)
        cli_error(name, "no run \"%s\" in %s (give a run id or a job name; 'nightshift status' "
                        "lists them)",
                  arg, st->path);
    else if (id == 0)
        cli_error(name, "no runs in %s yet", st->path);
    return id > 0 ? id : 0;
}
