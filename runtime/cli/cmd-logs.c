/*
 * cmd-logs.c - `nightshift logs RUN PART [--attempt N] [--follow]`: an
 * attempt's output.
 *
 * The log holds whatever the worker wrote: on a terminal it is escaped
 * (newlines kept), into a pipe or file it is copied byte for byte. --follow
 * keeps reading as the log grows, like `tail -f`, and ends when the attempt
 * ends; on a terminal a UTF-8 sequence cut between two reads is held back
 * until it is complete, so it is not shown as two invalid bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

enum { OPT_ATTEMPT, OPT_FOLLOW };
static const struct cli_option logs_options[] = {
    [OPT_ATTEMPT] = {"attempt", 0, "N", "that attempt (1 is the first; default: the latest)",
                     false},
    [OPT_FOLLOW] = {"follow", 'f', NULL,
                    "keep printing as the log grows, like tail -f; end when the attempt ends",
                    false},
};

static const char logs_help[] =
    "\n"
    "Prints the stdout and stderr of one attempt of a partition (default: the\n"
    "latest attempt). On a terminal control characters are shown escaped; in a\n"
    "pipe the bytes are copied unchanged. Each attempt keeps at most log_limit\n"
    "bytes (see docs/spec.md); an attempt that printed nothing has no log file\n"
    "(nothing is printed, a note goes to stderr, exit status 0).\n";

#define FOLLOW_POLL_NS 100000000L /* 100 ms between looks at a growing log */

struct out {
    bool tty;
    struct ns_buf esc, carry;
};

/* Writes n bytes of the log; on a terminal escaped, holding back an
 * unfinished UTF-8 sequence unless this is the end (last). */
static void out_write(struct out *o, const char *buf, size_t n, bool last)
{
    if (!o->tty) {
        fwrite(buf, 1, n, stdout);
        return;
    }
    buf_add(&o->carry, buf, n);
    size_t ok = last ? o->carry.len : escape_stream_prefix(o->carry.data, o->carry.len);
    buf_reset(&o->esc);
    escape_for_terminal(o->carry.data, ok, NS_ESC_NEWLINES, &o->esc);
    fwrite(o->esc.data, 1, o->esc.len, stdout);
    memmove(o->carry.data, o->carry.data + ok, o->carry.len - ok);
    o->carry.len -= ok;
}

static void drain(FILE *f, struct out *o)
{
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out_write(o, buf, n, false);
    clearerr(f); /* EOF now; the file may grow */
    fflush(stdout);
}

static int logs(int argc, char **argv)
{
    struct cli_args a;
    int parsed = cli_parse(&cmd_logs, argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    int64_t attempt = 0, part = 0;
    bool follow = a.value[OPT_FOLLOW] != NULL;
    const char *db_opt = a.db, *run_arg = a.nrest == 2 ? a.rest[0] : NULL;
    bool ok = cli_number("logs", "attempt", a.value[OPT_ATTEMPT], 1, INT64_MAX, &attempt) == 0;
    if (ok && (!run_arg || ns_parse_int64(a.rest[1], &part) != 0)) {
        cli_usage(&cmd_logs, stderr);
        ok = false;
    }
    cli_args_release(&a);
    if (!ok)
        return NS_EXIT_USAGE;
    struct ns_store st;
    if (cli_open_store("logs", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    long long run = cli_find_run("logs", &st, run_arg);
    int rc = NS_EXIT_ERROR;
    char *path = NULL;
    FILE *f = NULL;
    struct out o = {isatty(STDOUT_FILENO), NS_BUF_INIT, NS_BUF_INIT};
    if (!run)
        goto out;
    char err[512];
    struct ns_part_row pr = {0};
    int has = query_partition(&st, run, part, &pr, err, sizeof err);
    query_part_row_release(&pr);
    if (has <= 0) {
        int64_t lo, hi;
        query_partition_range(&st, run, &lo, &hi);
        if (has < 0)
            cli_error("logs", "%s", err);
        else
            cli_error("logs", "run %lld has no partition %lld (its partitions are %lld to %lld)",
                      run, (long long)part, (long long)lo, (long long)hi);
        goto out;
    }
    struct ns_attempt_row ar = {0};
    int found = query_attempt(&st, run, part, attempt, &ar, err, sizeof err);
    int64_t n = ar.n;
    bool live = found == 1 && !ar.outcome;
    path = found == 1 && ar.log_path ? ns_xstrdup(ar.log_path) : NULL;
    query_attempt_row_release(&ar);
    if (found <= 0 || !path) {
        if (found < 0)
            cli_error("logs", "%s", err);
        else if (attempt)
            cli_error("logs", "run %lld partition %lld has no attempt %lld", run, (long long)part,
                      (long long)attempt);
        else
            cli_error("logs", "run %lld partition %lld has no attempt yet", run, (long long)part);
        goto out;
    }
    {
        /* Where it ran, on stderr: stdout stays the worker's bytes. */
        struct ns_attempt_row row;
        char qerr[256];
        if (query_attempt(&st, run, part, n, &row, qerr, sizeof qerr) == 1 && row.executor &&
            strcmp(row.executor, "local") != 0) {
            char *label = cli_escape(row.label ? row.label : "not submitted");
            fprintf(stderr, "attempt %lld ran on %s: %s\n", (long long)n, row.executor, label);
            free(label);
        }
        query_attempt_row_release(&row);
    }
    const struct timespec pause = {0, FOLLOW_POLL_NS};
    f = fopen(path, "rb");
    /* The log is created on the worker's first byte of output: a live
     * attempt may still make it; one that ended without it printed nothing. */
    while (!f && errno == ENOENT && follow && live) {
        nanosleep(&pause, NULL);
        struct ns_attempt_row now = {0};
        live = query_attempt(&st, run, part, n, &now, err, sizeof err) == 1 && !now.outcome;
        query_attempt_row_release(&now);
        f = fopen(path, "rb");
    }
    if (!f && errno == ENOENT) {
        cli_error("logs", "%s: no log file: the attempt printed nothing (or its log was removed)",
                  path);
        rc = NS_EXIT_OK;
        goto out;
    }
    if (!f) {
        cli_error("logs", "%s: cannot open the log (removed?)", path);
        goto out;
    }
    drain(f, &o);
    while (follow && live) {
        nanosleep(&pause, NULL);
        /* Look at the attempt before reading, so what it wrote before it
         * ended is read in the last round. */
        struct ns_attempt_row now = {0};
        live = query_attempt(&st, run, part, n, &now, err, sizeof err) == 1 && !now.outcome;
        query_attempt_row_release(&now);
        drain(f, &o);
    }
    out_write(&o, "", 0, true);
    fflush(stdout);
    rc = NS_EXIT_OK;
out:
    if (f)
        fclose(f);
    buf_release(&o.esc);
    buf_release(&o.carry);
    free(path);
    store_close(&st);
    return rc;
}

const struct ns_command cmd_logs = {
    .name = "logs",
    .args = "RUN PARTITION [--attempt N] [--follow] [--db PATH]",
    .summary = "print one attempt's output",
    .main = logs,
    .help = logs_help,
    .exits = "023",
    .options = logs_options,
    .noptions = NS_ARRAY_LEN(logs_options),
    .db = true,
};
