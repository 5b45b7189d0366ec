/* test-rowbatch.c - multi-row INSERTs on a real (in-memory) SQLite: every
 * row arrives once, in order, with its exact bytes, whatever the batch size;
 * a failing row stops the flush and is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rowbatch.h"

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, x REAL, "
                                  "s TEXT, b BLOB, z, kind TEXT)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

static int64_t count(sqlite3 *db)
{
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL);
    sqlite3_step(s);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Adds rows [from, to): n = i, x = i / 2, s = "row i" with a NUL inside,
 * b = i's bytes, z = NULL. */
static void add_rows(struct ns_rowbatch *b, int from, int to)
{
    for (int i = from; i < to; i++) {
        char text[32];
        int len = snprintf(text, sizeof text, "row%c%d", '\0', i);
        rowbatch_int(b, i);
        rowbatch_double(b, i / 2.0);
        rowbatch_text(b, text, (size_t)len);
        rowbatch_blob(b, &i, sizeof i);
        rowbatch_null(b);
        bool full = rowbatch_row_done(b);
        assert_int_equal(full, rowbatch_rows(b) == ROWBATCH_ROWS);
        if (full)
            assert_int_equal(rowbatch_flush(b), SQLITE_OK);
    }
}

static void check_rows(sqlite3 *db, int n)
{
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "SELECT n, x, s, b, z, kind FROM t ORDER BY id", -1, &s, NULL);
    for (int i = 0; i < n; i++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int64(s, 0), i);
        assert_true(sqlite3_column_double(s, 1) == i / 2.0);
        char text[32];
        int len = snprintf(text, sizeof text, "row%c%d", '\0', i);
        assert_int_equal(sqlite3_column_bytes(s, 2), len);
        assert_memory_equal(sqlite3_column_text(s, 2), text, (size_t)len);
        assert_int_equal(sqlite3_column_bytes(s, 3), sizeof i);
        assert_memory_equal(sqlite3_column_blob(s, 3), &i, sizeof i);
        assert_int_equal(sqlite3_column_type(s, 4), SQLITE_NULL);
        assert_string_equal((const char *)sqlite3_column_text(s, 5), "fixed");
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void test_every_size(void **state)
{
    (void)state;
    /* Sizes around each power of two the flush splits into. */
    static const int sizes[] = {0, 1, 2, 3, 7, 63, 64, 65, 127, 128, 129, 200, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        sqlite3 *db = open_db();
        struct ns_rowbatch *b =
            rowbatch_new(db, "INSERT INTO t(n, x, s, b, z, kind)", "(?, ?, ?, ?, ?, 'fixed')");
        add_rows(b, 0, sizes[k]);
        assert_int_equal(rowbatch_flush(b), SQLITE_OK);
        assert_int_equal(rowbatch_rows(b), 0);
        assert_int_equal(rowbatch_flush(b), SQLITE_OK); /* empty: nothing written */
        assert_int_equal(count(db), sizes[k]);
        check_rows(db, sizes[k]);
        rowbatch_free(b);
        sqlite3_close(db);
    }
}

static void test_failure_reported(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    assert_int_equal(sqlite3_exec(db, "CREATE UNIQUE INDEX t_n ON t(n)", NULL, NULL, NULL),
                     SQLITE_OK);
    struct ns_rowbatch *b = rowbatch_new(db, "INSERT INTO t(n)", "(?)");
    for (int i = 0; i < 10; i++) {
        rowbatch_int(b, i == 9 ? 0 : i); /* the last row repeats the first */
        rowbatch_row_done(b);
    }
    /* 8 rows, then 2 (one of them the duplicate): the 8 stay. */
    assert_int_equal(rowbatch_flush(b) & 0xff, SQLITE_CONSTRAINT);
    assert_int_equal(rowbatch_rows(b), 0);
    assert_int_equal(count(db), 8);
    rowbatch_free(b);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_size),
        cmocka_unit_test(test_failure_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
