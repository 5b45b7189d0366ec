/*
 * rowbatch.h - bulk INSERTs, many rows per statement.
 *
 * SQLite's cost per inserted row is mostly per *statement* (the VDBE's
 * setup, the cursor seeks, the reset), so a multi-row INSERT ... VALUES
 * (...),(...) of 64 rows costs about half of 64 one-row INSERTs
 * (docs/benchmarks.md: storing 10^6 partitions, error-record ingestion).
 * A batch copies each value as it is added, so the caller's bytes may be
 * gone by the time the rows are written; rowbatch_flush writes what was
 * collected in chunks of 64, 32, ..., 1 rows (at most seven cached
 * statements) and empties the batch.
 */
#ifndef NIGHTSHIFT_ROWBATCH_H
#define NIGHTSHIFT_ROWBATCH_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROWBATCH_ROWS 64

struct ns_rowbatch;

/* head is the statement up to VALUES, e.g. "INSERT INTO t(a, b, c)"; row is
 * one row's values with a ? for each bound one, e.g. "(?, 'x', ?)". The
 * statements are prepared on db lazily. */
struct ns_rowbatch *rowbatch_new(sqlite3 *db, const char *head, const char *row);
void rowbatch_free(struct ns_rowbatch *b);

void rowbatch_int(struct ns_rowbatch *b, int64_t v);
void rowbatch_double(struct ns_rowbatch *b, double v);
void rowbatch_text(struct ns_rowbatch *b, const char *s, size_t len);
void rowbatch_blob(struct ns_rowbatch *b, const void *p, size_t len);
void rowbatch_null(struct ns_rowbatch *b);
/* Ends a row (one value was added per ? of the row). True when ROWBATCH_ROWS
 * rows wait: time to flush. */
bool rowbatch_row_done(struct ns_rowbatch *b);
/* Rows collected and not yet written. */
size_t rowbatch_rows(const struct ns_rowbatch *b);
/* Writes the collected rows in order. Returns SQLITE_OK, or the result code
 * of the first statement that failed (the rows after it are not written;
 * the batch is emptied either way). */
int rowbatch_flush(struct ns_rowbatch *b);

#endif
