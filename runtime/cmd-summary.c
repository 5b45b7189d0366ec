/*
 * cmd-summary.c - `nightshift summary [RUN] [--format text|markdown|json]`:
 * the morning report of one run (summary.h renders it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"
#include "nightshift/summary.h"
#include "nightshift/util.h"

static const char summary_help[] =
    "usage: nightshift summary [RUN] [--format text|markdown|json] [--top N] [--db PATH]\n"
    "\n"
    "The morning report of RUN (a run id or a job name; default: the newest run):\n"
    "wall time, partitions by outcome, partition durations (p50, p95, max) and the\n"
    "slowest five, attempts and retries, records redone after crashes, error records\n"
    "by signature with an example, failed and skipped partitions (with the\n"
    "operator's reason), the audit trail and the SLA outcome.\n"
    "\n"
    "  --format F   text (default), markdown (for a mail or a wiki) or json\n"
    "               (one object, \"schema\": 1; fields in docs/cli.md)\n"
    "  --top N      error signatures to list (default 5)\n";

static int summary(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"top", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *db_opt = NULL;
    int format = NS_SUMMARY_TEXT;
    int64_t top = NS_SUMMARY_TOP;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_opt = optarg;
            break;
        case 'f':
            format = summary_format_from_name(optarg);
            if (format < 0) {
                cli_error("summary", "--format: \"%s\" is not text, markdown or json", optarg);
                return NS_EXIT_USAGE;
            }
            break;
        case 't':
            if (ns_parse_int64(optarg, &top) != 0 || top < 0 || top > 1000) {
                cli_error("summary", "--top wants a number from 0 to 1000 (got \"%s\")", optarg);
                return NS_EXIT_USAGE;
            }
            break;
        case 'h':
            cli_help(&cmd_summary, stdout);
            return NS_EXIT_OK;
        default:
            fputs(summary_help, stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(summary_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("summary", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    int rc = NS_EXIT_ERROR;
    long long id = cli_find_run("summary", &st, optind < argc ? argv[optind] : NULL);
    if (id) {
        struct ns_run_report r;
        char err[512];
        if (report_load(&st, id, (int)top, NS_SUMMARY_LIST, &r, err, sizeof err) != 0) {
            cli_error("summary", "%s", err);
        } else {
            struct ns_buf b = NS_BUF_INIT;
            summary_render(&r, (enum ns_summary_format)format, &b);
            fwrite(b.data, 1, b.len, stdout);
            buf_release(&b);
            rc = NS_EXIT_OK;
        }
        report_release(&r);
    }
    store_close(&st);
    return rc;
}

const struct ns_command cmd_summary = {"summary",
                                       "[RUN] [--format text|markdown|json] [--top N]",
                                       "the morning report of a run",
                                       summary,
                                       summary_help,
                                       "023"};
