/*
 * query-internal.h - what the read model's files share (query.c, query-parts.c,
 * query-errors.c): reading columns by name, and stepping pages of rows.
 *
 *   query.c         state words, the figures, the run summary, failure
 *                   groups, runs, events, samples and commands
 *   query-parts.c   partitions and attempts: pages, one row, counts
 *   query-filter.c  the console's partition filters and searches
 *   query-errors.c  error records and their groups
 *
 * Invariants (query.c): nothing here writes; statements are finalized
 * before return; columns are read by name through small tables.
 */
#ifndef NIGHTSHIFT_QUERY_INTERNAL_H
#define NIGHTSHIFT_QUERY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "nightshift/query.h"
#include "nightshift/util.h"

enum col_kind { C_TEXT, C_INT, C_REAL };

/* One column of a SELECT and where its value goes; the SELECT list is built
 * from the same table, so names and positions cannot drift. */
struct col {
    const char *sql;
    enum col_kind kind;
    size_t off;
};

/* A text column as a new string (the caller frees), or NULL for SQL NULL. */
char *query_col_text(sqlite3_stmt *s, int i);
/* Appends the SELECT list of cols[0..n) to b. */
void query_cols_select(struct ns_buf *b, const struct col *cols, size_t n);
/* Reads the current row of s, selected with query_cols_select, into base. */
void query_cols_read(sqlite3_stmt *s, const struct col *cols, size_t n, void *base);
/* Frees every text column of a row read with query_cols_read and zeroes the
 * row (size bytes): one release per table, never a list to keep in step. */
void query_cols_release(const struct col *cols, size_t n, void *base, size_t size);

/* Prepares sql, or fills err ("reading WHAT: ...") and returns NULL. */
sqlite3_stmt *query_prep(struct ns_store *st, const char *sql, const char *what, char *err,
                         size_t errlen);
/* Steps s, reading each row (size bytes apart in rows, at most limit) with
 * read(); finalizes s. Returns the count, or -1 with err filled. */
int query_step_rows(struct ns_store *st, sqlite3_stmt *s, int limit, void *rows, size_t size,
                    void (*read)(sqlite3_stmt *, void *), const char *what, char *err,
                    size_t errlen);
/* Rows fetched in reverse (dir < 0) are turned into display order. */
void query_reverse_rows(void *rows, int n, size_t size);
/* One row of sql, whose ?1..?nargs are the integers in args, into out
 * (size bytes, zeroed first): 1 found, 0 none, -1 error. */
int query_one_row(struct ns_store *st, const char *sql, const int64_t *args, int nargs, void *out,
                  size_t size, void (*read)(sqlite3_stmt *, void *), const char *what, char *err,
                  size_t errlen);

/* query-filter.c: " (term AND term ...)" of a parsed filter, its values
 * bound as ?base, ?base+1, ... by query_part_expr_bind. "(1)" when e is
 * NULL or empty. */
void query_part_expr_sql(struct ns_buf *b, const struct ns_part_expr *e, int base);
void query_part_expr_bind(sqlite3_stmt *s, const struct ns_part_expr *e, int base);

#endif
