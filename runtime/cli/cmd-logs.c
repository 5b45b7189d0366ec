/*
 * cmd-logs.c - `nightshift logs RUN PART [--attempt N] [--follow]`: an
 * attempt's output.
 *
 * The log holds whatever the worker wrote: on a terminal it is escaped
 * (newlines kept), into a pipe or file it is copied byte for byte. --follow
 * keeps reading as the log grows, like `tail -f` (waiting for the first
 * attempt and its first byte), and ends when the attempt ends or when no
 * runtime drives the run any more (the log cannot grow then); on a terminal a UTF-8 sequence cut between two reads is held back
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

static const struct cli_option logs_options[] = {
    {.name = "attempt",
     .arg = "N",
     .help = "that attempt (1 is the first; default: the latest)",
     .flags = CLI_NUMBER,
     .min = 1,
     .max = INT64_MAX},
    {.name = "follow",
     .short_name = 'f',
     .help = "keep printing as the log grows, like tail -f (waiting for the first attempt); "
             "end when the attempt ends"},
};

static const char logs_help[] =
    "\n"
    "Prints the stdout and stderr of one attempt of a partition (default: the\n"
    "latest attempt). On a terminal control characters are shown escaped; in a\n"
    "pipe the bytes are copied unchanged. Each attempt keeps at most log_limit\n"
    "bytes (see docs/spec.md); an attempt that printed nothing has no log file\n"
    "(nothing is printed, a note goes to stderr, exit status 0). PART is a\n"
    "partition index or key (`key:TEXT` for a key made of digits).\n"
    "\n"
    "--follow waits for a partition's first attempt and for its first output\n"
    "(saying so on stderr), and ends when the attempt ends, or with exit\n"
    "status 3 and a note when no runtime drives the run any more (the log can\n"
    "no longer grow).\n";

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

/* Where following stands: which attempt, and whether it can still grow. */
struct follow {
    struct ns_store *st;
    long long run;
    int64_t part, n;
};

/* The attempt's state now: 1 live (no outcome, a runtime drives the run),
 * 0 ended, -1 its runtime is gone (the log can no longer grow; said on
 * stderr). The attempt is read before the lock: a runtime that records the
 * end and lets go in between is seen as ended, not dead. */
static int attempt_live(const struct follow *fw)
{
    struct ns_attempt_row now = {0};
    char err[256];
    bool open = query_attempt(fw->st, fw->run, fw->part, fw->n, &now, err, sizeof err) == 1 &&
                !now.outcome;
    query_attempt_row_release(&now);
    if (!open)
        return 0;
    if (query_runtime_alive(fw->st, fw->run))
        return 1;
    cli_error("logs",
              "run %lld: no runtime drives it any more (killed or crashed?): attempt %lld of "
              "partition %lld cannot go on, its log cannot grow",
              fw->run, (long long)fw->n, (long long)fw->part);
    return -1;
}

/* --follow on a partition with no attempt yet: waits for its first while a
 * runtime drives the run. Returns query_attempt's answer for the latest
 * attempt (1 found: *ar filled), 0 when none came. */
static int wait_first_attempt(const struct follow *fw, struct ns_attempt_row *ar, char *err,
                              size_t errlen)
{
    const struct timespec pause = {0, FOLLOW_POLL_NS};
    fprintf(stderr, "partition %lld of run %lld has no attempt yet: waiting for its first\n",
            (long long)fw->part, fw->run);
    for (;;) {
        bool alive = query_runtime_alive(fw->st, fw->run);
        int found = query_attempt(fw->st, fw->run, fw->part, 0, ar, err, errlen);
        if (found != 0 || !alive)
            return found;
        query_attempt_row_release(ar);
        nanosleep(&pause, NULL);
    }
}

/* Where it ran, on stderr (stdout stays the worker's bytes). */
static void say_where(const struct follow *fw)
{
    struct ns_attempt_row row;
    char qerr[256];
    if (query_attempt(fw->st, fw->run, fw->part, fw->n, &row, qerr, sizeof qerr) == 1 &&
        row.executor && strcmp(row.executor, "local") != 0) {
        char *label = cli_escape(row.label ? row.label : "not submitted");
        fprintf(stderr, "attempt %lld ran on %s: %s\n", (long long)fw->n, row.executor, label);
        free(label);
    }
    query_attempt_row_release(&row);
}

/* Opens the log. The log is created on the worker's first byte of output: a
 * live attempt may still make it (followed: said once on stderr, then
 * waited for); one that ended without it printed nothing. *live is updated.
 * Returns the open log, or NULL with *rc set. */
static FILE *open_log(const struct follow *fw, const char *path, bool follow, int *live, int *rc)
{
    const struct timespec pause = {0, FOLLOW_POLL_NS};
    FILE *f = fopen(path, "rb");
    if (!f && errno == ENOENT && follow && *live > 0)
        fprintf(stderr, "attempt %lld of partition %lld has printed nothing yet: following\n",
                (long long)fw->n, (long long)fw->part);
    while (!f && errno == ENOENT && follow && *live > 0) {
        nanosleep(&pause, NULL);
        *live = attempt_live(fw);
        f = fopen(path, "rb");
    }
    if (f)
        return f;
    if (errno == ENOENT && *live >= 0) {
        cli_error("logs", "%s: no log file: the attempt printed nothing (or its log was removed)",
                  path);
        *rc = NS_EXIT_OK;
    } else if (errno != ENOENT) {
        cli_error("logs", "%s: cannot open the log (removed?)", path);
    }
    return NULL;
}

static int logs(struct cli *c)
{
    int64_t attempt = cli_number_opt(c, "attempt", 0);
    bool follow = cli_flag(c, "follow");
    struct follow fw = {.st = c->st, .run = c->run_id};
    int rc = NS_EXIT_ERROR;
    char *path = NULL;
    FILE *f = NULL;
    struct out o = {isatty(STDOUT_FILENO), NS_BUF_INIT, NS_BUF_INIT};
    char err[512];
    fw.part = cli_find_partition(c, c->rest[0]);
    if (fw.part < 0)
        goto out;
    struct ns_attempt_row ar = {0};
    int found = query_attempt(fw.st, fw.run, fw.part, attempt, &ar, err, sizeof err);
    if (found == 0 && follow && !attempt) {
        query_attempt_row_release(&ar);
        found = wait_first_attempt(&fw, &ar, err, sizeof err);
    }
    fw.n = ar.n;
    path = found == 1 && ar.log_path ? ns_xstrdup(ar.log_path) : NULL;
    query_attempt_row_release(&ar);
    if (found <= 0 || !path) {
        if (found < 0)
            cli_error("logs", "%s", err);
        else if (attempt)
            cli_error("logs", "run %lld partition %lld has no attempt %lld", fw.run,
                      (long long)fw.part, (long long)attempt);
        else
            cli_error("logs", "run %lld partition %lld has no attempt yet%s", fw.run,
                      (long long)fw.part, follow ? " and no runtime drives the run" : "");
        goto out;
    }
    say_where(&fw);
    int live = follow ? attempt_live(&fw) : 0;
    f = open_log(&fw, path, follow, &live, &rc);
    if (!f)
        goto out;
    drain(f, &o);
    const struct timespec pause = {0, FOLLOW_POLL_NS};
    while (live > 0) {
        nanosleep(&pause, NULL);
        /* Look at the attempt before reading, so what it wrote before it
         * ended is read in the last round. */
        live = attempt_live(&fw);
        drain(f, &o);
    }
    out_write(&o, "", 0, true);
    fflush(stdout);
    rc = live < 0 ? NS_EXIT_ERROR : NS_EXIT_OK;
out:
    if (f)
        fclose(f);
    buf_release(&o.esc);
    buf_release(&o.carry);
    free(path);
    return rc;
}

const struct ns_command cmd_logs = {
    .name = "logs",
    .args = "RUN PART [--attempt N] [--follow] [--db PATH]",
    .summary = "print one attempt's output",
    .run = logs,
    .help = logs_help,
    .exits = "023",
    .options = logs_options,
    .noptions = NS_ARRAY_LEN(logs_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
    .min_rest = 1,
    .max_rest = 1,
    .operand = CLI_OPERAND_PARTS,
};
