/*
 * report-html.h - the morning report as one self-contained HTML page
 * (`nightshift summary RUN --format html`, or of every run of a period with
 * --since): the summary's figures, a
 * timeline of every attempt on its worker slot, running attempts and
 * throughput over time, the distribution of durations, the slowest
 * partitions, failure groups, the operator's commands and the comparison
 * with the job's last successful run.
 *
 * One file, inline CSS and SVG, no script, no font or image from outside:
 * it reads offline and can be attached to a mail. Every byte from a worker
 * or an operator (keys, messages, parameters, arguments) is escaped.
 */
#ifndef NIGHTSHIFT_REPORT_HTML_H
#define NIGHTSHIFT_REPORT_HTML_H

#include <stddef.h>

#include "nightshift/util.h"

struct ns_store;
struct ns_run_report;

/* Appends the page of report r (loaded by report_load on st) to out; st is
 * read again for the samples, commands, failure groups, the partitions'
 * keys (added to r->times) and the earlier run. Returns 0, or -1 with a
 * sentence in err. */
int report_html_render(struct ns_store *st, struct ns_run_report *r, struct ns_buf *out, char *err,
                       size_t errlen);

/* The page of a period (`summary --since WHEN --format html`): the night's
 * report (summary.h's text, escaped) with a link to each run, then each run
 * of n as report_html_render shows it. Returns 0, or -1 with err. */
struct ns_night_report;
int report_html_render_night(struct ns_store *st, struct ns_night_report *n, struct ns_buf *out,
                             char *err, size_t errlen);

#endif
