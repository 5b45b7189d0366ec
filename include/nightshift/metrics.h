/*
 * metrics.h - runs as Prometheus text exposition (format 0.0.4), for
 * node_exporter's textfile collector or any scraper.
 *
 * Every family is declared once in a table in metrics.c (name, type, help,
 * how to read it from a run's report); `nightshift metrics` and the
 * runtime's textfile writer both render from it. Samples carry the label
 * nightshift_job (per-job series); only nightshift_run_info names the run.
 * docs/cli.md lists the families and their cardinality.
 */
#ifndef NIGHTSHIFT_METRICS_H
#define NIGHTSHIFT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "nightshift/util.h"

struct ns_store;
struct ns_run_report;

/* Appends the exposition of the n reports (one per run) to out: each
 * family's HELP and TYPE once, then its samples for every run. */
void metrics_render(const struct ns_run_report *const *reports, size_t n, struct ns_buf *out);

/* Renders the given runs (ids[0..n)) from st into out. Returns 0, or -1 with
 * err (a run that vanished or a database error). */
int metrics_render_runs(struct ns_store *st, const int64_t *ids, size_t n, struct ns_buf *out,
                        char *err, size_t errlen);

/* Makes the textfile's directory if it is missing (with its parents,
 * 0755) and checks that a file can be written in it, so a run refuses at
 * its start rather than fail at every write. Returns 0, or -1 with err. */
int metrics_prepare_textfile(const char *path, char *err, size_t errlen);

/* Appends the pools of the database (pools.h): size, slots used, runs
 * waiting, start rate, one series per pool labelled pool. `nightshift
 * metrics` only: a run's textfile holds its job's series, so two textfiles
 * never repeat a series. Returns 0, or -1 with err. */
int metrics_render_pools(struct ns_store *st, struct ns_buf *out, char *err, size_t errlen);

/* Writes run_id's exposition to path atomically (temporary file in the same
 * directory, then rename: the textfile collector never reads half a file).
 * Returns 0, or -1 with err. */
int metrics_write_textfile(struct ns_store *st, int64_t run_id, const char *path, char *err,
                           size_t errlen);

#endif
