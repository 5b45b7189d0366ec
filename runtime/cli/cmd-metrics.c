/*
 * cmd-metrics.c - `nightshift metrics [RUN]`: Prometheus text exposition on
 * stdout (metrics.h renders it).
 */
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/metrics.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"

static const char metrics_help[] =
    "\n"
    "Prints RUN's figures (default: the newest run of every job) in the Prometheus\n"
    "text format: partitions by state, attempts by outcome, retries, error records,\n"
    "records/s, ETA, SLA state, last success, and the batch SLIs (success ratio,\n"
    "attempt failure ratio, records redone, checkpoint lag, error-budget burn, queue\n"
    "depth, partition duration quantiles). For node_exporter's textfile collector,\n"
    "`nightshift run --metrics-textfile PATH` keeps a file fresh while it runs.\n";

static int metrics(int argc, char **argv)
{
    struct cli_args a;
    int parsed = cli_parse(&cmd_metrics, argc, argv, &a);
    if (parsed != 0)
        return parsed > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
    int rc = NS_EXIT_USAGE;
    if (a.nrest > 1) {
        cli_usage(&cmd_metrics, stderr);
        goto done;
    }
    struct ns_store st;
    rc = NS_EXIT_ERROR;
    if (cli_open_store("metrics", a.db, NS_STORE_READ, &st) != 0)
        goto done;
    int64_t one = 0, *ids = NULL;
    long n = 0;
    if (a.nrest) {
        one = cli_find_run("metrics", &st, a.rest[0]);
        ids = &one;
        n = one ? 1 : -1;
    } else {
        n = report_latest_per_job(&st, 1000, &ids);
    }
    if (n >= 0) {
        struct ns_buf b = NS_BUF_INIT;
        char err[512];
        if (metrics_render_runs(&st, ids, (size_t)n, &b, err, sizeof err) != 0) {
            cli_error("metrics", "%s", err);
        } else {
            fwrite(b.data, 1, b.len, stdout);
            rc = NS_EXIT_OK;
        }
        buf_release(&b);
    }
    if (ids != &one)
        free(ids);
    store_close(&st);
done:
    cli_args_release(&a);
    return rc;
}

const struct ns_command cmd_metrics = {
    .name = "metrics",
    .args = "[RUN] [--db PATH]",
    .summary = "Prometheus metrics of runs on stdout",
    .main = metrics,
    .help = metrics_help,
    .exits = "023",
    .db = true,
};
