/*
 * summary-internal.h - the pieces of the morning reports' one layout,
 * shared by the report of one run (summary.c) and of a night of runs
 * (summary-night.c): escaped cells, figures and tables written either as
 * aligned text or as markdown.
 */
#ifndef NIGHTSHIFT_SUMMARY_INTERNAL_H
#define NIGHTSHIFT_SUMMARY_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "nightshift/summary.h"
#include "nightshift/util.h"

/* s escaped for a terminal; in markdown also no backtick or pipe survives
 * (a code span or table cell could otherwise be broken out of). The caller
 * frees. */
char *summary_cell(const char *s, enum ns_summary_format f);
/* A duration in seconds, and a time (Unix seconds, local; "-" for none), as
 * heap strings. */
/* "s" for a count that is not one: "1 error record", "2 error records". */
const char *summary_plural(int64_t n);
char *summary_dur(double s);
char *summary_time(double t);
/* Canonical "name=value\n" parameters on one line, as a cell. */
char *summary_params(const char *canon, enum ns_summary_format f);

#define SUMMARY_MAX_COLS 8

/* A table: its title, heads and cells (nrows * ncols, owned). */
struct summary_table {
    const char *title;
    size_t ncols;
    const char *head[SUMMARY_MAX_COLS];
    char **cells;
    size_t nrows;
};
/* Appends a row of ncols heap strings; the table takes them. */
void summary_table_row(struct summary_table *t, ...);
/* Writes the table (aligned text, or a markdown table) and frees its cells. */
void summary_table_write(struct summary_table *t, enum ns_summary_format f, struct ns_buf *out);
/* One figure: "label  value" (text) or "- **label**: value" (markdown). */
void summary_figure(struct ns_buf *out, enum ns_summary_format f, const char *label,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
