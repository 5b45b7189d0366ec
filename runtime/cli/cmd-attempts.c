/*
 * cmd-attempts.c - `nightshift attempts RUN [--format tsv|jsonl]`: one row
 * per attempt, every partition's, in the order they started - the record a
 * GNU parallel user keeps with --joblog.
 *
 * Pages through the run's attempts by id (keyset), so a run of a million
 * attempts never loads at once. TSV escapes a field's backslash, tab,
 * newline, carriage return and other control bytes (\\ \t \n \r \xHH), so a
 * row is one line and the bytes can be recovered; into a pipe other bytes
 * stay as they are, on a terminal each field is escaped for it. JSONL
 * goes through the JSON encoder (nightshift.attempt/1, docs/json.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/query.h"
#include "nightshift/util.h"

static const struct cli_option attempts_options[] = {
    {.name = "format",
     .arg = "F",
     .help = "tsv (default: a header line, then one line per attempt) or jsonl",
     .complete = "tsv jsonl"},
};

#define ATTEMPTS_PAGE 500

/* The TSV columns, in order (docs/cli.md lists them). */
static const char tsv_header[] =
    "partition\tkey\tattempt\tstart\tend\tduration\toutcome\texit\tsignal\texecutor\twhere\t"
    "log_bytes\n";

/* A field for a TSV line: one line, no tab, reversible (\\ \t \n \r \xHH);
 * on a terminal escaped for it (escape.h, which writes those the same way
 * and escapes what a terminal would act on as well). */
static void tsv_text(struct ns_buf *b, const char *s, bool tty)
{
    if (tty) {
        escape_for_terminal(s ? s : "", s ? strlen(s) : 0, 0, b);
        return;
    }
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        switch (*c) {
        case '\\': buf_adds(b, "\\\\"); break;
        case '\t': buf_adds(b, "\\t"); break;
        case '\n': buf_adds(b, "\\n"); break;
        case '\r': buf_adds(b, "\\r"); break;
        default:
            if (*c < 0x20 || *c == 0x7f)
                buf_addf(b, "\\x%02x", *c);
            else
                buf_addc(b, (char)*c);
        }
    }
}

static void tsv_row(struct ns_buf *b, const struct ns_attempt_row *a, bool tty)
{
    bool ended = a->outcome != NULL;
    buf_addf(b, "%lld\t", (long long)a->idx);
    tsv_text(b, a->key, tty);
    buf_addf(b, "\t%lld\t%.3f\t", (long long)a->n, a->started_at);
    if (ended && a->ended_at > 0)
        buf_addf(b, "%.3f", a->ended_at);
    buf_addc(b, '\t');
    if (ended && a->duration >= 0)
        buf_addf(b, "%.3f", a->duration);
    buf_addc(b, '\t');
    tsv_text(b, a->outcome, tty);
    buf_addc(b, '\t');
    if (ended && a->has_exit)
        buf_addf(b, "%lld", (long long)a->exit_code);
    buf_addc(b, '\t');
    if (ended && a->has_signal)
        buf_addf(b, "%lld", (long long)a->signal);
    buf_addc(b, '\t');
    tsv_text(b, a->executor, tty);
    buf_addc(b, '\t');
    tsv_text(b, a->label, tty);
    buf_addc(b, '\t');
    if (a->log_bytes >= 0)
        buf_addf(b, "%lld", (long long)a->log_bytes);
    buf_addc(b, '\n');
}

static void json_text(struct ns_json *j, const char *key, const char *s)
{
    json_field_bytes(j, key, s, s ? strlen(s) : 0);
}

static void json_row(struct ns_buf *b, const struct ns_attempt_row *a)
{
    bool ended = a->outcome != NULL;
    struct ns_json j;
    json_begin_document(&j, b, "attempt");
    json_field_int(&j, "partition", a->idx);
    json_text(&j, "key", a->key);
    json_field_int(&j, "attempt", a->n);
    json_field_int(&j, "attempt_id", a->id);
    json_field_time(&j, "started_at", a->started_at);
    json_field_time(&j, "ended_at", ended ? a->ended_at : 0);
    if (ended && a->duration >= 0)
        json_field_real(&j, "duration_seconds", a->duration);
    else
        json_field_null(&j, "duration_seconds");
    json_text(&j, "outcome", a->outcome);
    json_field_int_or_null(&j, "exit_code", ended && a->has_exit, a->exit_code);
    json_field_int_or_null(&j, "signal", ended && a->has_signal, a->signal);
    json_text(&j, "executor", a->executor);
    json_text(&j, "where", a->label);
    json_field_int_or_null(&j, "log_bytes", a->log_bytes >= 0, a->log_bytes);
    json_end_document(&j);
}

static int attempts_check(struct cli *c)
{
    const char *f = cli_opt(c, "format");
    if (f && strcmp(f, "tsv") != 0 && strcmp(f, "jsonl") != 0) {
        cli_error("attempts", "--format: \"%s\" is not tsv or jsonl", f);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int attempts(struct cli *c)
{
    const char *f = cli_opt(c, "format");
    bool json = f && strcmp(f, "jsonl") == 0;
    bool tty = !json && isatty(STDOUT_FILENO);
    struct ns_attempt_row rows[ATTEMPTS_PAGE];
    struct ns_buf line = NS_BUF_INIT;
    int64_t after = 0;
    int rc = NS_EXIT_OK;
    if (!json)
        fputs(tsv_header, stdout);
    for (;;) {
        char err[512];
        int n = query_run_attempts(c->st, c->run_id, after, ATTEMPTS_PAGE, rows, err, sizeof err);
        if (n < 0) {
            cli_error("attempts", "%s", err);
            rc = NS_EXIT_ERROR;
            break;
        }
        for (int i = 0; i < n; i++) {
            buf_reset(&line);
            if (json)
                json_row(&line, &rows[i]);
            else
                tsv_row(&line, &rows[i], tty);
            fwrite(line.data, 1, line.len, stdout);
            after = rows[i].id;
            query_attempt_row_release(&rows[i]);
        }
        if (n < ATTEMPTS_PAGE)
            break;
    }
    buf_release(&line);
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = NS_EXIT_ERROR;
    return rc;
}

const struct ns_command cmd_attempts = {
    .name = "attempts",
    .args = "RUN [--format tsv|jsonl] [--db PATH]",
    .summary = "one row per attempt of a run (a job log, as GNU parallel's --joblog)",
    .run = attempts,
    .check = attempts_check,
    .help = "\n"
            "Prints every attempt of RUN, in the order they started: partition, key,\n"
            "attempt (1, 2, ... within the partition), start, end, duration (Unix seconds\n"
            "and seconds), outcome, exit code, signal, executor and where it ran (local:\n"
            "the worker's pid, on the runtime's host; slurm: the job id), log bytes. An\n"
            "attempt still running has no end, outcome, exit or signal yet (empty, or\n"
            "null).\n"
            "TSV has a header line; a field's backslash, tab, newline, carriage return\n"
            "and other control bytes are written \\\\ \\t \\n \\r \\xHH. jsonl: one\n"
            "nightshift.attempt/1 object a line (docs/json.md).\n",
    .exits = "023",
    .options = attempts_options,
    .noptions = NS_ARRAY_LEN(attempts_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
};
