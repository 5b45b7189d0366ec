/*
 * cmd-errors.c - `nightshift errors RUN`: the error records of a run.
 *
 * The listing is the one export writer (export.h, shared with the
 * console's w): text escaped for the terminal, jsonl and csv with the
 * payload as base64 so its bytes survive exactly; --raw writes one payload's bytes
 * as they are, but never to a terminal. Listing pages with keyset
 * pagination (--after ID), so a million records never load at once.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/export.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char errors_help[] =
    "usage: nightshift errors RUN [--partition N] [--signature TEXT] [--after ID]\n"
    "                         [--limit N] [--format text|jsonl|csv] [--db PATH]\n"
    "       nightshift errors RUN --group\n"
    "       nightshift errors RUN --raw ID > FILE\n"
    "\n"
    "Lists the error records (bad input records a worker skipped) of RUN, oldest\n"
    "first. Text output escapes control characters; jsonl and csv carry each\n"
    "payload base64-encoded (payload_b64) so its bytes are exact. --group counts\n"
    "records by error signature (numbers, ids and hex masked), the top causes\n"
    "first. --raw writes the payload bytes of record ID unchanged (not to a\n"
    "terminal). --limit defaults to all records (0 = no limit).\n";

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

static int errors(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"partition", required_argument, NULL, 'P'},
                                             {"signature", required_argument, NULL, 's'},
                                             {"after", required_argument, NULL, 'a'},
                                             {"limit", required_argument, NULL, 'l'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"group", no_argument, NULL, 'g'},
                                             {"raw", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *db_opt = NULL, *signature = NULL;
    int64_t part = -1, after = 0, limit = 0, raw = -1;
    bool grouped = false;
    enum ns_export_format fmt = NS_EXPORT_TEXT;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int64_t *target = NULL;
        switch (c) {
        case 'd':
            db_opt = optarg;
            break;
        case 'P':
            target = &part;
            break;
        case 'a':
            target = &after;
            break;
        case 'l':
            target = &limit;
            break;
        case 'r':
            target = &raw;
            break;
        case 's':
            signature = optarg;
            break;
        case 'g':
            grouped = true;
            break;
        case 'f':
            if (export_format_of(optarg) < 0) {
                cli_error("errors", "--format: \"%s\" is not text, jsonl or csv", optarg);
                return NS_EXIT_USAGE;
            }
            fmt = (enum ns_export_format)export_format_of(optarg);
            break;
        case 'h':
            cli_help(&cmd_errors, stdout);
            return NS_EXIT_OK;
        default:
            fputs(errors_help, stderr);
            return NS_EXIT_USAGE;
        }
        if (target && (ns_parse_int64(optarg, target) != 0 || *target < 0)) {
            cli_error("errors", "\"%s\" is not a non-negative number", optarg);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs(errors_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("errors", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    long long run = cli_find_run("errors", &st, argv[optind]);
    int rc = NS_EXIT_ERROR;
    struct ns_part_row prow;
    char qerr[256] = "";
    int found = run && part >= 0 ? query_partition(&st, run, part, &prow, qerr, sizeof qerr) : 1;
    if (found > 0 && run && part >= 0)
        query_part_row_release(&prow);
    if (found < 0) {
        cli_error("errors", "%s", qerr);
    } else if (found == 0) {
        cli_error("errors", "run %lld has no partition %lld", run, (long long)part);
        rc = NS_EXIT_USAGE; /* as retry, kill and skip say of an unknown partition */
    } else if (run) {
        if (raw >= 0)
            rc = raw_payload(&st, run, raw);
        else if (grouped)
            rc = group(&st, run, part);
        else
            rc = list(&st, run, part, signature, after, limit, fmt);
    }
    store_close(&st);
    return rc;
}

const struct ns_command cmd_errors = {"errors",
                                      "RUN [--partition N] [--format text|jsonl|csv]",
                                      "list a run's error records",
                                      errors,
                                      errors_help,
                                      "023", NULL, 0, false};
