/*
 * rowbatch.c - bulk INSERTs, many rows per statement (rowbatch.h).
 */
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/check.h"
#include "rowbatch.h"
#include "nightshift/util.h"

enum value_kind { V_NULL, V_INT, V_DOUBLE, V_TEXT, V_BLOB };

struct value {
    enum value_kind kind;
    union {
        int64_t i;
        double d;
        struct {
            size_t off, len; /* in bytes: the arena moves as it grows */
        } span;
    } u;
};

/* Statement k writes 2^k rows: 1, 2, 4, ..., ROWBATCH_ROWS. */
#define SIZES 7
_Static_assert(ROWBATCH_ROWS == 1 << (SIZES - 1), "one statement per power of two");

struct ns_rowbatch {
    sqlite3 *db;
    char *head, *row;
    int ncols; /* the ?s of one row */
    sqlite3_stmt *stmt[SIZES];
    struct value *values; /* ROWBATCH_ROWS * ncols */
    size_t nvalues;
    struct ns_buf bytes;
};

struct ns_rowbatch *rowbatch_new(sqlite3 *db, const char *head, const char *row)
{
    struct ns_rowbatch *b = ns_xcalloc(1, sizeof *b);
    b->db = db;
    b->head = ns_xstrdup(head);
    b->row = ns_xstrdup(row);
    int ncols = 0;
    for (const char *c = row; *c; c++)
        ncols += *c == '?';
    b->ncols = ncols;
    b->values = ns_xcalloc((size_t)ROWBATCH_ROWS * (size_t)ncols, sizeof *b->values);
    return b;
}

void rowbatch_free(struct ns_rowbatch *b)
{
    if (!b)
        return;
    for (int k = 0; k < SIZES; k++)
        sqlite3_finalize(b->stmt[k]);
    free(b->head);
    free(b->row);
    free(b->values);
    buf_release(&b->bytes);
    free(b);
}

static struct value *next_value(struct ns_rowbatch *b)
{
    if (b->nvalues >= (size_t)ROWBATCH_ROWS * (size_t)b->ncols)
        NS_BUG("rowbatch: a value past its %d rows of %d (too many in a row, or no flush)",
               ROWBATCH_ROWS, b->ncols);
    return &b->values[b->nvalues++];
}

void rowbatch_int(struct ns_rowbatch *b, int64_t v)
{
    struct value *x = next_value(b);
    x->kind = V_INT;
    x->u.i = v;
}

void rowbatch_double(struct ns_rowbatch *b, double v)
{
    struct value *x = next_value(b);
    x->kind = V_DOUBLE;
    x->u.d = v;
}

static void add_span(struct ns_rowbatch *b, enum value_kind kind, const void *p, size_t len)
{
    struct value *x = next_value(b);
    x->kind = kind;
    x->u.span.off = b->bytes.len;
    x->u.span.len = len;
    if (len)
        buf_add(&b->bytes, p, len);
}

void rowbatch_text(struct ns_rowbatch *b, const char *s, size_t len)
{
    add_span(b, V_TEXT, s, len);
}

void rowbatch_blob(struct ns_rowbatch *b, const void *p, size_t len)
{
    add_span(b, V_BLOB, p, len);
}

void rowbatch_null(struct ns_rowbatch *b)
{
    next_value(b)->kind = V_NULL;
}

size_t rowbatch_rows(const struct ns_rowbatch *b)
{
    return b->nvalues / (size_t)b->ncols;
}

bool rowbatch_row_done(struct ns_rowbatch *b)
{
    if (b->nvalues % (size_t)b->ncols != 0)
        NS_BUG("rowbatch: a row with fewer than %d values", b->ncols);
    return rowbatch_rows(b) >= ROWBATCH_ROWS;
}

/* The statement writing 2^k rows, prepared on first use. */
static sqlite3_stmt *statement(struct ns_rowbatch *b, int k)
{
    if (b->stmt[k])
        return b->stmt[k];
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, b->head);
    buf_adds(&sql, " VALUES ");
    for (int r = 0; r < 1 << k; r++) {
        if (r)
            buf_addc(&sql, ',');
        buf_adds(&sql, b->row);
    }
    if (sqlite3_prepare_v3(b->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT, &b->stmt[k],
                           NULL) != SQLITE_OK)
        b->stmt[k] = NULL;
    buf_release(&sql);
    return b->stmt[k];
}

static void bind(sqlite3_stmt *s, int i, const struct value *x, const char *bytes)
{
    switch (x->kind) {
    case V_NULL:
        sqlite3_bind_null(s, i);
        break;
    case V_INT:
        sqlite3_bind_int64(s, i, x->u.i);
        break;
    case V_DOUBLE:
        sqlite3_bind_double(s, i, x->u.d);
        break;
    case V_TEXT:
        /* STATIC: the arena stays put until the statement has run. */
        sqlite3_bind_text(s, i, bytes + x->u.span.off, (int)x->u.span.len, SQLITE_STATIC);
        break;
    case V_BLOB:
        sqlite3_bind_blob(s, i, bytes + x->u.span.off, (int)x->u.span.len, SQLITE_STATIC);
        break;
    }
}

int rowbatch_flush(struct ns_rowbatch *b)
{
    size_t rows = rowbatch_rows(b), done = 0;
    const char *bytes = b->bytes.data ? b->bytes.data : "";
    int rc = SQLITE_OK;
    while (done < rows && rc == SQLITE_OK) {
        int k = SIZES - 1;
        while ((size_t)1 << k > rows - done)
            k--;
        sqlite3_stmt *s = statement(b, k);
        if (!s) {
            rc = sqlite3_errcode(b->db);
            break;
        }
        const struct value *x = &b->values[done * (size_t)b->ncols];
        int n = (1 << k) * b->ncols;
        for (int i = 0; i < n; i++)
            bind(s, i + 1, &x[i], bytes);
        int step = sqlite3_step(s);
        if (step != SQLITE_DONE)
            rc = step;
        sqlite3_reset(s);
        done += (size_t)1 << k;
    }
    b->nvalues = 0;
    buf_reset(&b->bytes);
    return rc;
}
