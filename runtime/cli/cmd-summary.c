/*
 * cmd-summary.c - `nightshift summary [RUN] [--format text|markdown|json|html]`:
 * the morning report of one run (summary.h renders it; report-html.h the
 * self-contained HTML page), or with `--since WHEN` of every run of the
 * period (summary.h, text, markdown or json).
 */
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/query-report.h"
#include "nightshift/report-html.h"
#include "nightshift/store.h"
#include "nightshift/summary.h"
#include "nightshift/util.h"

static const struct cli_option summary_options[] = {
    {.name = "format",
     .arg = "F",
     .help = "text (default), markdown (for a mail or a wiki), json (one object, "
             "schema nightshift.summary/1, docs/cli.md) or html (one self-contained page "
             "with a timeline and charts: summary RUN --format html > report.html)",
     .complete = "text markdown json html"},
    {.name = "since",
     .arg = "WHEN",
     .help = "the report of every run active since WHEN instead of one run: 18:00 (the "
             "last 18:00), yesterday 18:00, 24h, 2026-11-03 18:00"},
    {.name = "top",
     .arg = "N",
     .help = "error signatures to list (default 5; with --since, failure signatures)",
     .flags = CLI_NUMBER,
     .max = 1000},
};

static const char summary_help[] =
    "\n"
    "The morning report of RUN (a run id or a job name; default: the newest run):\n"
    "wall time, partitions by outcome, partition durations (p50, p95, max) and the\n"
    "slowest five, attempts and retries, records redone after crashes, error records\n"
    "by signature with an example, failed and skipped partitions (with the\n"
    "operator's reason), the audit trail and the SLA outcome.\n"
    "\n"
    "With --since WHEN: one report for every run active in the period (created,\n"
    "written or finished since WHEN): what succeeded, what failed and why\n"
    "(failure signatures across runs, with an example), what still runs or waits\n"
    "and on what, one projected finish against the latest deadline, each run's\n"
    "SLA, and the commands that retry or resume each failed or unfinished run.\n"
    "\n"
    "--format html writes one self-contained page (inline CSS and SVG, nothing\n"
    "fetched): the figures, a timeline of every attempt on its worker slot, charts\n"
    "over time, durations, failure groups and the comparison with the job's last\n"
    "successful run; with --since, that for each run of the period.\n";

static int summary_check(struct cli *c)
{
    const char *f = cli_opt(c, "format");
    if (f && summary_format_from_name(f) < 0) {
        cli_error("summary", "--format: \"%s\" is not text, markdown, json or html", f);
        return NS_EXIT_USAGE;
    }
    if (cli_opt(c, "since") && c->target) {
        cli_error("summary", "--since reports every run of the period: leave RUN out");
        return NS_EXIT_USAGE;
    }
    return 0;
}

/* The report of every run since WHEN. */
static int summary_night(struct cli *c, enum ns_summary_format format)
{
    const char *when = cli_opt(c, "since");
    double since;
    if (ns_parse_since(when, ns_now(), &since) != 0) {
        cli_error("summary",
                  "--since: \"%s\" is not a time (examples: 18:00, yesterday 18:00, 24h, "
                  "2026-11-03 18:00)",
                  when);
        return NS_EXIT_USAGE;
    }
    struct ns_night_report n;
    char err[512];
    int rc = NS_EXIT_ERROR;
    if (report_night_load(c->st, since, (int)cli_number_opt(c, "top", NS_SUMMARY_TOP), &n, err,
                          sizeof err) != 0) {
        cli_error("summary", "%s", err);
    } else {
        struct ns_buf b = NS_BUF_INIT;
        if (format != NS_SUMMARY_HTML)
            summary_render_night(&n, format, &b);
        if (format == NS_SUMMARY_HTML &&
            report_html_render_night(c->st, &n, &b, err, sizeof err) != 0) {
            cli_error("summary", "%s", err);
        } else {
            fwrite(b.data, 1, b.len, stdout);
            rc = NS_EXIT_OK;
        }
        buf_release(&b);
    }
    report_night_release(&n);
    return rc;
}

static int summary(struct cli *c)
{
    const char *f = cli_opt(c, "format");
    int format = f ? summary_format_from_name(f) : NS_SUMMARY_TEXT;
    if (cli_opt(c, "since"))
        return summary_night(c, (enum ns_summary_format)format);
    int64_t id = c->run_id ? c->run_id : cli_find_run("summary", c->st, NULL);
    if (id <= 0)
        return NS_EXIT_ERROR;
    struct ns_run_report r;
    char err[512];
    int rc = NS_EXIT_ERROR;
    if (report_load(c->st, id, (int)cli_number_opt(c, "top", NS_SUMMARY_TOP), NS_SUMMARY_LIST, &r,
                    err, sizeof err) != 0) {
        cli_error("summary", "%s", err);
    } else {
        struct ns_buf b = NS_BUF_INIT;
        if (format != NS_SUMMARY_HTML)
            summary_render(&r, (enum ns_summary_format)format, &b);
        if (format == NS_SUMMARY_HTML && report_html_render(c->st, &r, &b, err, sizeof err) != 0) {
            cli_error("summary", "%s", err);
        } else {
            fwrite(b.data, 1, b.len, stdout);
            rc = NS_EXIT_OK;
        }
        buf_release(&b);
    }
    report_release(&r);
    return rc;
}

const struct ns_command cmd_summary = {
    .name = "summary",
    .args = "[RUN | --since WHEN] [--format text|markdown|json|html] [--top N] [--db PATH]",
    .summary = "the morning report of a run",
    .run = summary,
    .check = summary_check,
    .help = summary_help,
    .exits = "023",
    .options = summary_options,
    .noptions = NS_ARRAY_LEN(summary_options),
    .db = true,
    .target = CLI_TARGET_RUN_OPTIONAL,
    .store = CLI_STORE_READ,
};
