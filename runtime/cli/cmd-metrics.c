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
    "text format: partitions by state, attempts by outcome, retries, records and\n"
    "error records, ETA, SLA state, last success, and the batch SLIs (success ratio,\n"
    "attempt failure ratio, records redone, checkpoint lag, error-budget burn, queue\n"
    "depth, a partition duration histogram). Series are labelled nightshift_job, one\n"
    "set per job; only nightshift_run_info names the run. The shared pools follow,\n"
    "labelled pool: size, slots used, runs waiting, start rate. For node_exporter's\n"
    "textfile collector, `nightshift run --metrics-textfile PATH` keeps a file fresh\n"
    "while it runs.\n";

static int metrics(struct cli *c)
{
    int rc = NS_EXIT_ERROR;
    int64_t one = c->run_id, *ids = &one;
    long n = 1;
    if (!c->target)
        n = report_latest_per_job(c->st, 1000, &ids);
    struct ns_buf b = NS_BUF_INIT;
    char err[512];
    if (metrics_render_runs(c->st, ids, (size_t)n, &b, err, sizeof err) != 0 ||
        metrics_render_pools(c->st, &b, err, sizeof err) != 0) {
        cli_error("metrics", "%s", err);
    } else {
        fwrite(b.data, 1, b.len, stdout);
        rc = NS_EXIT_OK;
    }
    buf_release(&b);
    if (ids != &one)
        free(ids);
    return rc;
}

const struct ns_command cmd_metrics = {
    .name = "metrics",
    .args = "[RUN] [--db PATH]",
    .summary = "Prometheus metrics of runs on stdout",
    .run = metrics,
    .help = metrics_help,
    .exits = "023",
    .db = true,
    .target = CLI_TARGET_RUN_OPTIONAL,
    .store = CLI_STORE_READ,
};
