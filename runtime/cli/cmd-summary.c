/*
 * cmd-summary.c - `nightshift summary [RUN] [--format text|markdown|json]`:
 * the morning report of one run (summary.h renders it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"
#include "nightshift/summary.h"
#include "nightshift/util.h"

enum { OPT_FORMAT, OPT_TOP };
static const struct cli_option summary_options[] = {
    [OPT_FORMAT] = {"format", 0, "F",
                    "text (default), markdown (for a mail or a wiki) or json (one object, "
                    "schema nightshift.summary/1, docs/cli.md)",
                    false},
    [OPT_TOP] = {"top", 0, "N", "error signatures to list (default 5)", false},
};

static const char summary_help[] =
    "\n"
    "The morning report of RUN (a run id or a job name; default: the newest run):\n"
    "wall time, partitions by outcome, partition durations (p50, p95, max) and the\n"
    "slowest five, attempts and retries, records redone after crashes, error records\n"
    "by signature with an example, failed and skipped partitions (with the\n"
    "operator's reason), the audit trail and the SLA outcome.\n";

static int summary(int argc, char **argv)
{
    struct cli_args a;
    int parsed = cli_parse(&cmd_summary, argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    int rc = NS_EXIT_USAGE;
    int format =
        a.value[OPT_FORMAT] ? summary_format_from_name(a.value[OPT_FORMAT]) : NS_SUMMARY_TEXT;
    int64_t top = NS_SUMMARY_TOP;
    if (format < 0) {
        cli_error("summary", "--format: \"%s\" is not text, markdown or json", a.value[OPT_FORMAT]);
        goto done;
    }
    if (cli_number("summary", "top", a.value[OPT_TOP], 0, 1000, &top) != 0)
        goto done;
    if (a.nrest > 1) {
        cli_usage(&cmd_summary, stderr);
        goto done;
    }
    struct ns_store st;
    rc = NS_EXIT_ERROR;
    if (cli_open_store("summary", a.db, NS_STORE_READ, &st) != 0)
        goto done;
    long long id = cli_find_run("summary", &st, a.nrest ? a.rest[0] : NULL);
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
done:
    cli_args_release(&a);
    return rc;
}

const struct ns_command cmd_summary = {
    .name = "summary",
    .args = "[RUN] [--format text|markdown|json] [--top N] [--db PATH]",
    .summary = "the morning report of a run",
    .main = summary,
    .help = summary_help,
    .exits = "023",
    .options = summary_options,
    .noptions = NS_ARRAY_LEN(summary_options),
    .db = true,
};
