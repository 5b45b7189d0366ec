/*
 * cmd-metrics.c - `nightshift metrics [RUN]`: Prometheus text exposition on
 * stdout (metrics.h renders it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/metrics.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"

static const char metrics_help[] =
    "usage: nightshift metrics [RUN] [--db PATH]\n"
    "\n"
    "Prints RUN's figures (default: the newest run of every job) in the Prometheus\n"
    "text format: partitions by state, attempts by outcome, retries, error records,\n"
    "records/s, ETA, SLA state, last success, and the batch SLIs (success ratio,\n"
    "attempt failure ratio, records redone, checkpoint lag, error-budget burn, queue\n"
    "depth, partition duration quantiles). For node_exporter's textfile collector,\n"
    "`nightshift run --metrics-textfile PATH` keeps a file fresh while it runs.\n";

static int metrics(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *db_opt = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_opt = optarg;
            break;
        case 'h':
            cli_help(&cmd_metrics, stdout);
            return NS_EXIT_OK;
        default:
            fputs(metrics_help, stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(metrics_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("metrics", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    int rc = NS_EXIT_ERROR;
    int64_t one = 0, *ids = NULL;
    long n = 0;
    if (optind < argc) {
        one = cli_find_run("metrics", &st, argv[optind]);
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
    return rc;
}

const struct ns_command cmd_metrics = {
    "metrics", "[RUN] [--db PATH]", "Prometheus metrics of runs on stdout",
    metrics,   metrics_help,        "023"};
