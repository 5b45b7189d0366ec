/*
 * cmd-logs.c - `nightshift logs RUN PART [--attempt N]`: an attempt's output.
 *
 * The log holds whatever the worker wrote: on a terminal it is escaped
 * (newlines kept), into a pipe or file it is copied byte for byte.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char logs_help[] =
    "usage: nightshift logs RUN PARTITION [--attempt N] [--db PATH]\n"
    "\n"
    "Prints the stdout and stderr of one attempt of a partition (default: the\n"
    "latest attempt). On a terminal control characters are shown escaped; in a\n"
    "pipe the bytes are copied unchanged. Each attempt keeps at most log_limit\n"
    "bytes (see docs/spec.md); an attempt that printed nothing has no log file\n"
    "(nothing is printed, a note goes to stderr, exit status 0).\n";

static int logs(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"attempt", required_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *db_opt = NULL;
    int64_t attempt = 0, part;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_opt = optarg;
            break;
        case 'a':
            if (ns_parse_int64(optarg, &attempt) != 0 || attempt < 1) {
                cli_error("logs", "--attempt: \"%s\" is not an attempt number", optarg);
                return NS_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(logs_help, stdout);
            return NS_EXIT_OK;
        default:
            fputs(logs_help, stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || ns_parse_int64(argv[optind + 1], &part) != 0) {
        fputs(logs_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("logs", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    long long run = cli_find_run("logs", &st, argv[optind]);
    int rc = NS_EXIT_ERROR;
    if (!run)
        goto out;
    sqlite3_stmt *s = store_prepare(
        &st, "SELECT n, log_path FROM attempts WHERE run_id = ? AND idx = ? AND (? = 0 OR n = ?) "
             "ORDER BY n DESC LIMIT 1");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, part);
    sqlite3_bind_int64(s, 3, attempt);
    sqlite3_bind_int64(s, 4, attempt);
    if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_type(s, 1) == SQLITE_NULL) {
        cli_error("logs", "run %lld partition %lld has no %s", run, (long long)part,
                  attempt ? "such attempt" : "attempt yet");
        sqlite3_finalize(s);
        goto out;
    }
    char *path = ns_xstrdup((const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT) {
        /* The log is created on the worker's first byte of output. */
        cli_error("logs", "%s: no log file: the attempt printed nothing (or its log was removed)",
                  path);
        free(path);
        rc = NS_EXIT_OK;
        goto out;
    }
    if (!f) {
        cli_error("logs", "%s: cannot open the log (removed?)", path);
        free(path);
        goto out;
    }
    bool tty = isatty(STDOUT_FILENO);
    char buf[65536];
    size_t n;
    struct ns_buf out = NS_BUF_INIT;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (tty) {
            buf_reset(&out);
            escape_for_terminal(buf, n, NS_ESC_NEWLINES, &out);
            fwrite(out.data, 1, out.len, stdout);
        } else {
            fwrite(buf, 1, n, stdout);
        }
    }
    buf_release(&out);
    fclose(f);
    free(path);
    rc = NS_EXIT_OK;
out:
    store_close(&st);
    return rc;
}

const struct ns_command cmd_logs = {"logs", "RUN PARTITION [--attempt N]",
                                    "print one attempt's output", logs};
