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
#include <getopt.h>
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

static const char logs_help[] =
    "usage: nightshift logs RUN PARTITION [--attempt N] [--follow] [--db PATH]\n"
    "\n"
    "Prints the stdout and stderr of one attempt of a partition (default: the\n"
    "latest attempt). On a terminal control characters are shown escaped; in a\n"
    "pipe the bytes are copied unchanged. Each attempt keeps at most log_limit\n"
    "bytes (see docs/spec.md); an attempt that printed nothing has no log file\n"
    "(nothing is printed, a note goes to stderr, exit status 0).\n"
    "\n"
    "  --attempt N   that attempt (1 is the first)\n"
    "  --follow, -f  keep printing as the log grows; end when the attempt ends\n";

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
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"attempt", required_argument, NULL, 'a'},
                                             {"follow", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *db_opt = NULL;
    int64_t attempt = 0, part;
    bool follow = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hf", longopts, NULL)) != -1) {
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
        case 'f':
            follow = true;
            break;
        case 'h':
            cli_help(&cmd_logs, stdout);
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
    "logs", "RUN PARTITION [--attempt N] [--follow]", "print one attempt's output", logs, logs_help,
    "023"};
