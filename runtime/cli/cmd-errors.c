/*
 * cmd-errors.c - `nightshift errors RUN`: the error records of a run.
 *
 * The listing is the one export writer (export.h, shared with the
 * console's w): text escaped for the terminal, jsonl and csv with the
 * payload as base64 so its bytes survive exactly; --raw writes one payload's bytes
 * as they are, but never to a terminal. Listing pages with keyset
 * pagination (--after ID), so a million records never load at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/export.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option errors_options[] = {
    {.name = "partition",
     .arg = "N",
     .help = "only the records of partition N (an index or a key)",
     .complete = "@parts"},
    {.name = "signature", .arg = "TEXT", .help = "only the records with this error signature"},
    {.name = "after",
     .arg = "ID",
     .help = "only records with an id above ID (to page)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
    {.name = "limit",
     .arg = "N",
     .help = "at most N records (default 0: all)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
    {.name = "format",
     .arg = "F",
     .help = "text (default), jsonl or csv",
     .complete = "text jsonl csv"},
    {.name = "group", .help = "count the records by error signature, the top causes first"},
    {.name = "raw",
     .arg = "ID",
     .help = "write the payload bytes of record ID unchanged (not to a terminal)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
};

static int raw_payload(struct ns_store *st, long long run, long long rec)
{
    if (isatty(STDOUT_FILENO)) {
        cli_error("errors", "--raw writes raw bytes: redirect it to a file or a pipe");
        return NS_EXIT_USAGE;
    }
    struct ns_error_row r;
    char err[256] = "";
    int found = query_error(st, run, rec, &r, err, sizeof err);
    int rc = NS_EXIT_OK;
    if (found == 1) {
        if (r.payload_len && fwrite(r.payload, 1, r.payload_len, stdout) != r.payload_len)
            rc = NS_EXIT_ERROR;
    } else {
        if (found == 0)
            cli_error("errors", "run %lld has no error record %lld", run, rec);
        else
            cli_error("errors", "%s", err);
        rc = NS_EXIT_ERROR;
    }
    query_error_row_release(&r);
    return rc;
}

static int group(struct ns_store *st, long long run, long long part)
{
    struct ns_error_select sel = {.run_id = run, .idx = part};
    struct ns_error_group *g;
    char err[256] = "";
    int n = query_error_groups(st, &sel, 0, &g, err, sizeof err);
    if (n < 0) {
        cli_error("errors", "%s", err);
        return NS_EXIT_ERROR;
    }
    printf("%8s %10s  %s\n", "RECORDS", "PARTITIONS", "SIGNATURE (example message)");
    for (int i = 0; i < n; i++) {
        char *esig = escape_dup(g[i].signature, strlen(g[i].signature), 0);
        char *eex = escape_dup(g[i].example ? g[i].example : "",
                               g[i].example ? strlen(g[i].example) : 0, 0);
        printf("%8lld %10lld  %s\n%20s(e.g. %s)\n", (long long)g[i].records,
               (long long)g[i].partitions, esig, "", eex);
        free(esig);
        free(eex);
    }
    query_error_groups_release(g, n);
    return NS_EXIT_OK;
}

static int list(struct ns_store *st, long long run, long long part, const char *signature,
                long long after, long long limit, enum ns_export_format fmt)
{
    struct ns_error_select sel = {.run_id = run, .idx = part, .signature = signature};
    char err[256] = "";
    int64_t n = 0;
    if (export_errors(st, &sel, after, limit, fmt, stdout, &n, err, sizeof err) != 0) {
        cli_error("errors", "%s", err);
        return NS_EXIT_ERROR;
    }
    return NS_EXIT_OK;
}

static int errors_check(struct cli *c)
{
    const char *f = cli_opt(c, "format");
    if (f && export_format_of(f) < 0) {
        cli_error("errors", "--format: \"%s\" is not text, jsonl or csv", f);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int errors(struct cli *c)
{
    int64_t part = -1;
    const char *f = cli_opt(c, "format");
    if (cli_opt(c, "partition")) {
        part = cli_find_partition(c, cli_opt(c, "partition"));
        if (part < 0)
            return NS_EXIT_USAGE; /* as retry, kill and skip say of an unknown partition */
    }
    if (cli_opt(c, "raw"))
        return raw_payload(c->st, c->run_id, cli_number_opt(c, "raw", 0));
    if (cli_flag(c, "group"))
        return group(c->st, c->run_id, part);
    return list(c->st, c->run_id, part, cli_opt(c, "signature"), cli_number_opt(c, "after", 0),
                cli_number_opt(c, "limit", 0),
                f ? (enum ns_export_format)export_format_of(f) : NS_EXPORT_TEXT);
}

const struct ns_command cmd_errors = {
    .name = "errors",
    .args = "RUN [--partition N] [--signature TEXT] [--after ID] [--limit N] "
            "[--format text|jsonl|csv] [--db PATH]\n"
            "RUN --group\n"
            "RUN --raw ID > FILE",
    .summary = "list a run's error records",
    .run = errors,
    .check = errors_check,
    .help = "\n"
            "Lists the error records (bad input records a worker skipped) of RUN, oldest\n"
            "first. Text output escapes control characters; jsonl and csv carry each\n"
            "payload base64-encoded (payload_b64) so its bytes are exact. --group counts\n"
            "records by error signature (numbers, ids and hex masked), the top causes\n"
            "first. --raw writes the payload bytes of record ID unchanged (not to a\n"
            "terminal). --limit defaults to all records (0 = no limit).\n",
    .exits = "023",
    .options = errors_options,
    .noptions = NS_ARRAY_LEN(errors_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
};
