/* test-rowqueue.c - rowbatches written by a thread: every row arrives once
 * and in order while the caller goes on filling, settle() waits for all of
 * them and counts them, and a failing batch is reported there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rowqueue.h"

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(":memory:", &db,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                         SQLITE_OPEN_FULLMUTEX,
                                     NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER "
                                  "CHECK (n >= 0), s TEXT)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

static int count_rows(sqlite3 *db)
{
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Adds rows [from, to), submitting each full batch. */
static void add_rows(struct ns_rowqueue *q, int from, int to)
{
    for (int i = from; i < to; i++) {
        struct ns_rowbatch *b = rowqueue_filling(q);
        char text[32];
        int len = snprintf(text, sizeof text, "row %d", i);
        rowbatch_int(b, i);
        rowbatch_text(b, text, (size_t)len);
        if (rowbatch_row_done(b))
            rowqueue_submit(q);
    }
}

static void test_rows_arrive_in_order(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct ns_rowqueue *q = rowqueue_new(db, "INSERT INTO t(n, s)", "(?, ?)");
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    int n = ROWBATCH_ROWS * ROWQUEUE_DEPTH * 5 + 17; /* the queue fills up, and a partial batch */
    add_rows(q, 0, n);
    size_t written = 0;
    char err[128] = "";
    assert_int_equal(rowqueue_settle(q, &written, err, sizeof err), SQLITE_OK);
    assert_int_equal(written, (size_t)(n - 17)); /* whole batches only */
    struct ns_rowbatch *rest = rowqueue_filling(q);
    assert_int_equal(rowbatch_rows(rest), 17);
    assert_int_equal(rowbatch_flush(rest), SQLITE_OK); /* the caller writes the rest */
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "SELECT n, s FROM t ORDER BY id", -1, &s, NULL);
    for (int i = 0; i < n; i++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(s, 0), i);
        char want[32];
        snprintf(want, sizeof want, "row %d", i);
        assert_string_equal((const char *)sqlite3_column_text(s, 1), want);
    }
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    written = 99;
    assert_int_equal(rowqueue_settle(q, &written, err, sizeof err), SQLITE_OK);
    assert_int_equal(written, 0); /* counted once */
    rowqueue_free(q);
    sqlite3_close(db);
}

static void test_a_failing_batch_is_reported_at_settle(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct ns_rowqueue *q = rowqueue_new(db, "INSERT INTO t(n, s)", "(?, ?)");
    add_rows(q, 0, ROWBATCH_ROWS);
    add_rows(q, -ROWBATCH_ROWS, 0); /* the CHECK refuses this batch */
    add_rows(q, 0, ROWBATCH_ROWS);
    size_t written = 0;
    char err[128] = "";
    int rc = rowqueue_settle(q, &written, err, sizeof err);
    assert_int_equal(rc & 0xff, SQLITE_CONSTRAINT);
    assert_non_null(strstr(err, "CHECK constraint failed"));
    assert_int_equal(written, 3 * ROWBATCH_ROWS);
    /* Reported once; the batches around it were written. */
    assert_int_equal(rowqueue_settle(q, &written, err, sizeof err), SQLITE_OK);
    assert_int_equal(count_rows(db), 2 * ROWBATCH_ROWS);
    rowqueue_free(q);
    sqlite3_close(db);
}

static void test_free_writes_what_was_submitted(void **state)
{
    (void)state;
    sqlite3 *db = open_db();
    struct ns_rowqueue *q = rowqueue_new(db, "INSERT INTO t(n, s)", "(?, ?)");
    add_rows(q, 0, ROWBATCH_ROWS * 3);
    rowqueue_free(q); /* no settle first */
    assert_int_equal(count_rows(db), 3 * ROWBATCH_ROWS);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_arrive_in_order),
        cmocka_unit_test(test_a_failing_batch_is_reported_at_settle),
        cmocka_unit_test(test_free_writes_what_was_submitted),
    };
    return cmocka_run_group_tests_name("rowqueue", tests, NULL, NULL);
}
