/* test-checkpointer.c - WAL checkpoints on a thread of their own, on a real
 * database file: the thread copies the WAL back while the writer does not,
 * the WAL stays bounded under a writer that never pauses, and the writer
 * gets SQLite's automatic checkpoint back when the thread stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nightshift/checkpointer.h"
#include "nightshift/util.h"

struct fixture {
    char dir[64];
    char *db, *wal;
    struct ns_store st;
};

static int setup(void **state)
{
    struct fixture *f = ns_xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ns-ckpt.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->db = ns_xasprintf("%s/t.db", f->dir);
    f->wal = ns_xasprintf("%s/t.db-wal", f->dir);
    char err[256];
    assert_int_equal(store_open(&f->st, f->db, NS_STORE_WRITER, err, sizeof err), 0);
    assert_int_equal(
        store_exec(&f->st, "CREATE TABLE blob_rows(b BLOB); PRAGMA wal_autocheckpoint=1000", err,
                   sizeof err),
        0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(&f->st);
    char *cmd = ns_xasprintf("rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(f->db);
    free(f->wal);
    free(f);
    return 0;
}

static off_t size_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* One transaction of n 4 000-byte blobs (about 4 MB per 1 000). */
static void write_pages(struct fixture *f, int n)
{
    char err[256];
    char *sql = ns_xasprintf("BEGIN; WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                             "FROM c WHERE x < %d) INSERT INTO blob_rows SELECT zeroblob(4000) "
                             "FROM c; COMMIT",
                             n);
    assert_int_equal(store_exec(&f->st, sql, err, sizeof err), 0);
    free(sql);
}

static void test_the_thread_checkpoints(void **state)
{
    struct fixture *f = *state;
    struct ns_checkpointer *c = checkpointer_start(&f->st);
    assert_non_null(c);
    off_t before = size_of(f->db);
    write_pages(f, 1500); /* past SQLite's threshold: the commit only signals */
    /* The writer did not copy anything itself; the thread does, soon. */
    off_t after = before;
    for (int i = 0; i < 200 && after < before + 1000 * 4096; i++) {
        usleep(10 * 1000);
        after = size_of(f->db);
    }
    assert_true(after >= before + 1000 * 4096);
    checkpointer_stop(c);
}

static void test_wal_stays_bounded(void **state)
{
    struct fixture *f = *state;
    struct ns_checkpointer *c = checkpointer_start(&f->st);
    assert_non_null(c);
    off_t most = 0;
    for (int i = 0; i < 60; i++) { /* ~240 MiB through a writer that never pauses */
        write_pages(f, 1000);
        off_t w = size_of(f->wal);
        if (w > most)
            most = w;
    }
    /* A WAL grows past the hard limit by one commit at most before the
     * writer's own checkpoint lets it restart (frames carry a 24-byte
     * header each). */
    int page = store_page_size(&f->st);
    off_t frame = page + 24, commit = (off_t)1000 * 4000 / page * frame;
    assert_true(most < (off_t)CHECKPOINT_HARD_BYTES / page * frame + 2 * commit + 100 * frame);
    checkpointer_stop(c);
}

static void test_stop_gives_back_the_automatic_checkpoint(void **state)
{
    struct fixture *f = *state;
    checkpointer_stop(checkpointer_start(&f->st));
    checkpointer_stop(NULL);
    off_t before = size_of(f->db);
    write_pages(f, 1500);
    /* The writer's own checkpoint ran inside that COMMIT: the pages are in
     * the database file already, with no thread left to copy them. */
    assert_true(size_of(f->db) >= before + 1000 * 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_thread_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_stays_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_gives_back_the_automatic_checkpoint, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("checkpointer", tests, NULL, NULL);
}
