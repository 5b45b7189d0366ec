/*
 * html.h - what the HTML report's files share (render wing, private):
 * escaping untrusted bytes for HTML, time and number formatting, and the
 * time axis the charts draw on.
 *
 *   report-html.c      the page: style, header figures, tables
 *   report-charts.c    the timeline (Gantt) and the charts over time
 *   compare.c          the comparison with another run (compare.h)
 */
#ifndef NIGHTSHIFT_RENDER_HTML_H
#define NIGHTSHIFT_RENDER_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "nightshift/util.h"

struct ns_run_report;
struct ns_store;

/* Partitions drawn one bar per attempt on the timeline; above, it
 * aggregates (and says so). */
#define HTML_DETAIL_MAX 2000

/* Appends s as HTML text (also safe inside a quoted attribute): worker
 * bytes are first made visible by the terminal escaper (escape.h), then
 * & < > " ' become entities. NULL appends nothing. */
void html_text(struct ns_buf *b, const char *s);
/* The same for a formatted string (the arguments may hold worker bytes). */
void html_textf(struct ns_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "1h02m", "3.2s" for a number of seconds, into out. */
const char *html_dur(double s, char *out, size_t len);
/* Local "HH:MM:SS" (with the date when with_date) of a Unix time; "-" for 0. */
const char *html_clock(double t, int with_date, char *out, size_t len);

/* A chart's horizontal axis: times t0..t1 onto x0..x0 + w pixels. */
struct html_axis {
    double t0, t1, x0, w;
};
double html_x(const struct html_axis *a, double t);
/* Ticks and their clock labels along the axis, as SVG, between y0 and y1
 * (grid lines) with labels under y1. */
void html_time_ticks(struct ns_buf *b, const struct html_axis *a, double y0, double y1);

/* The operator commands (audit) as vertical marks between y0 and y1, each
 * with its words as hover text. */
void html_command_marks(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                        const struct html_axis *a, double y0, double y1);

/* The charts of report-charts.c, each one <figure> appended to b. */
void html_timeline(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                   const struct html_axis *a);
void html_running_chart(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                        const struct html_axis *a);
void html_throughput_chart(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                           const struct html_axis *a);
void html_duration_histogram(struct ns_buf *b, const struct ns_run_report *r);

#endif
