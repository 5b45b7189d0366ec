/*
 * summary.h - the morning report of one run, as text, markdown or JSON.
 *
 * `nightshift summary` prints it; the runtime writes it to a file before a
 * hook runs (NIGHTSHIFT_SUMMARY) so an on_failure hook can mail it. Figures
 * come from query-report.h; every byte a worker wrote is escaped (text and
 * markdown) or JSON-encoded (json.h). docs/cli.md lists the JSON fields.
 */
#ifndef NIGHTSHIFT_SUMMARY_H
#define NIGHTSHIFT_SUMMARY_H

#include <stdint.h>

#include "nightshift/util.h"

struct ns_store;
struct ns_run_report;
struct ns_night_report;

/* NS_SUMMARY_HTML is written by report_html_render (report-html.h), which
 * reads more of the store than the report; summary_render does the rest. */
enum ns_summary_format { NS_SUMMARY_TEXT, NS_SUMMARY_MARKDOWN, NS_SUMMARY_JSON, NS_SUMMARY_HTML };

/* "text", "markdown" (or "md"), "json", "html" -> the format; -1 if unknown. */
int summary_format_from_name(const char *name);

/* Appends the report r in format f (not NS_SUMMARY_HTML) to out. */
void summary_render(const struct ns_run_report *r, enum ns_summary_format f, struct ns_buf *out);

/* Appends the report of a night of runs (`summary --since`) in format f
 * to out: the runs by outcome, failures by signature across them, what
 * still runs or waits and on what, one projected finish against the latest
 * deadline, each run's SLA, and the commands that retry or resume the
 * failed and unfinished runs. JSON is nightshift.night/1 (docs/json.md). */
void summary_render_night(const struct ns_night_report *n, enum ns_summary_format f,
                          struct ns_buf *out);

/* Loads run_id's report and writes it as text to path through a temporary
 * file and rename(), so a reader never sees half a report. Returns 0, or -1
 * with a sentence in err. */
int summary_write_file(struct ns_store *st, int64_t run_id, const char *path, char *err,
                       size_t errlen);

/* The number of error groups the report lists. */
#define NS_SUMMARY_TOP 5
/* Rows of the failed, skipped and audit lists. */
#define NS_SUMMARY_LIST 20

#endif
