/* test-pools.c - shared pools in a real SQLite file (store/pools.c): two
 * runtimes' connections asking for the same slots, each in its own write
 * transaction; a dead runtime's slots given back only once its run lock is
 * free; the oldest waiter reserving what it needs; the start rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>

#include "nightshift/pools.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

struct fx {
    char dir[64], db[96];
    struct ns_store a, b; /* two runtimes' connections */
    int lock[4];          /* run i's run lock, held while its "runtime" lives */
};

static void run_row(struct ns_store *st, int id)
{
    char sql[512], err[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO runs(id, job, params, params_json, spec_path, spec_canon, spec_hash, "
             "plan_hash, state, concurrency, total, created_at, updated_at) VALUES (%d, 'j%d', "
             "'', '{}', '/x', '', 'h', 'p', 'running', 4, 4, 0, 0)",
             id, id);
    assert_int_equal(store_exec(st, sql, err, sizeof err), 0);
}

static void lock_run(struct fx *f, int id)
{
    char *path = store_lock_path(&f->a, id);
    f->lock[id] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    assert_true(f->lock[id] >= 0);
    assert_int_equal(flock(f->lock[id], LOCK_EX | LOCK_NB), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/nightshift-test-pools.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    char err[256];
    assert_int_equal(store_open(&f->a, f->db, NS_STORE_WRITER, err, sizeof err), 0);
    assert_int_equal(store_open(&f->b, f->db, NS_STORE_WRITER, err, sizeof err), 0);
    for (int i = 1; i <= 3; i++) {
        run_row(&f->a, i);
        lock_run(f, i);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 3; i++)
        if (f->lock[i] >= 0)
            close(f->lock[i]);
    store_close(&f->a);
    store_close(&f->b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void declare(struct ns_store *st, const char *name, int slots, int rate_n)
{
    struct ns_pool_decl d = {
        .name = (char *)name, .slots = slots, .rate_n = rate_n, .rate_per_s = 1};
    char err[256];
    assert_int_equal(pools_declare(st, &d, 1, err, sizeof err), 0);
}

/* One ask in its own write transaction, as the journal's. */
static enum pools_verdict ask(struct ns_store *st, struct ns_pools *p, double now,
                              int64_t attempt_id, struct pools_answer *ans)
{
    char err[256] = "";
    assert_int_equal(store_begin(st, err, sizeof err), 0);
    assert_int_equal(pools_try_grant(p, now, ans, err, sizeof err), 0);
    if (ans->verdict == POOLS_GRANTED)
        pools_hold(p, attempt_id, now);
    assert_int_equal(store_commit(st, err, sizeof err), 0);
    return ans->verdict;
}

static void test_last_slot_and_dead_runtime(void **state)
{
    struct fx *f = *state;
    declare(&f->a, "p", 1, 0);
    struct ns_pool_use u = {.pool = (char *)"p", .weight = 1};
    struct ns_pools *pa = pools_new(&f->a, 1, &u, 1), *pb = pools_new(&f->b, 2, &u, 1);
    struct pools_answer ans;
    assert_int_equal(ask(&f->a, pa, 1000, 11, &ans), POOLS_GRANTED);
    /* The last slot is taken: the other runtime is refused and waits. */
    assert_int_equal(ask(&f->b, pb, 1000, 21, &ans), POOLS_FULL);
    assert_string_equal(ans.pool, "p");
    assert_int_equal(ans.used, 1);
    assert_int_equal(ans.slots, 1);
    assert_int_equal(ans.reclaimed, 0); /* run 1's runtime lives: nothing taken from it */
    char *why = pools_run_waiting(&f->b, 2);
    assert_non_null(why);
    assert_non_null(strstr(why, "waiting for pool p (1/1 in use)"));
    free(why);
    /* Run 1's runtime dies (its lock is free): its slot comes back. */
    close(f->lock[1]);
    f->lock[1] = -1;
    assert_int_equal(ask(&f->b, pb, 1001, 22, &ans), POOLS_GRANTED);
    assert_int_equal(ans.reclaimed, 1);
    assert_int_equal(ans.reclaimed_from, 1);
    char err[256];
    assert_int_equal(pools_check_holds(pb, 1, err, sizeof err), 0);
    assert_null(pools_run_waiting(&f->b, 2));
    pools_free(pa);
    pools_free(pb);
}

static void test_oldest_waiter_reserves(void **state)
{
    struct fx *f = *state;
    declare(&f->a, "g", 3, 0);
    struct ns_pool_use narrow = {.pool = (char *)"g", .weight = 1},
                       wide = {.pool = (char *)"g", .weight = 3};
    struct ns_pools *n1 = pools_new(&f->a, 1, &narrow, 1), *w3 = pools_new(&f->b, 3, &wide, 1);
    struct ns_pools *n2 = pools_new(&f->b, 2, &narrow, 1);
    struct pools_answer ans;
    assert_int_equal(ask(&f->a, n1, 1000, 11, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->b, w3, 1000, 31, &ans), POOLS_FULL); /* 1 of 3 used: waits */
    /* 2 slots are free, but the wide run waits first: a newer narrow ask
     * may not take what it needs. */
    assert_int_equal(ask(&f->b, n2, 1001, 21, &ans), POOLS_FULL);
    assert_int_equal(ask(&f->a, n1, 1001, 12, &ans), POOLS_FULL);
    /* The narrow attempt ends: the wide one gets all three. */
    char err[256];
    assert_int_equal(
        store_exec(&f->a, "DELETE FROM pool_holds WHERE attempt_id = 11", err, sizeof err), 0);
    assert_int_equal(ask(&f->b, w3, 1002, 32, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->b, n2, 1002, 22, &ans), POOLS_FULL); /* 3/3 in use */
    pools_free(n1);
    pools_free(n2);
    pools_free(w3);
}

static void test_start_rate(void **state)
{
    struct fx *f = *state;
    declare(&f->a, "api", 100, 2); /* 2 starts a second: 0.5 s apart */
    struct ns_pool_use u = {.pool = (char *)"api", .weight = 1};
    struct ns_pools *pa = pools_new(&f->a, 1, &u, 1), *pb = pools_new(&f->b, 2, &u, 1);
    struct pools_answer ans;
    assert_int_equal(ask(&f->a, pa, 1000.0, 11, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->b, pb, 1000.2, 21, &ans), POOLS_RATE); /* another run, too soon */
    assert_true(ans.retry_at == 1000.5);
    assert_int_equal(ask(&f->b, pb, 1000.5, 21, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->a, pa, 1000.9, 12, &ans), POOLS_RATE);
    assert_int_equal(ask(&f->a, pa, 1001.0, 12, &ans), POOLS_GRANTED);
    pools_free(pa);
    pools_free(pb);
}

/* Shrinking a pool ends nothing and starts nothing until use is under the
 * new size; a runtime whose spec uses no pool drops what its run held. */
static void test_shrink_and_forget(void **state)
{
    struct fx *f = *state;
    declare(&f->a, "s", 2, 0);
    struct ns_pool_use u = {.pool = (char *)"s", .weight = 1};
    struct ns_pools *pa = pools_new(&f->a, 1, &u, 1), *pb = pools_new(&f->b, 2, &u, 1);
    struct pools_answer ans;
    assert_int_equal(ask(&f->a, pa, 1000, 11, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->a, pa, 1000, 12, &ans), POOLS_GRANTED);
    char err[256], result[128];
    assert_int_equal(pools_set(&f->b, "s", 1, -1, 1, "cli", result, sizeof result, err, sizeof err),
                     0);
    assert_string_equal(result, "s: 2 -> 1 slots");
    assert_int_equal(ask(&f->b, pb, 1001, 21, &ans), POOLS_FULL);
    assert_int_equal(ans.used, 2);                                    /* both holds stay */
    assert_int_equal(pools_forget_run(&f->a, 1, err, sizeof err), 0); /* run 1 uses no pool now */
    assert_int_equal(ask(&f->b, pb, 1002, 21, &ans), POOLS_GRANTED);
    assert_int_equal(pools_check_holds(pb, 1, err, sizeof err), 0);
    assert_int_equal(
        pools_set(&f->b, "x y", 1, -1, 1, "cli", result, sizeof result, err, sizeof err),
        -1); /* not a pool name */
    pools_free(pa);
    pools_free(pb);
}

/* A commit that freed slots wakes only the waiters those slots serve, oldest
 * first: nobody while our own next attempt took the slot back, the head
 * alone for one slot, and nobody behind a wide head that does not fit yet
 * (it reserves what is free). */
static void test_wake_only_whom_free_slots_serve(void **state)
{
    struct fx *f = *state;
    declare(&f->a, "w", 2, 0);
    struct ns_pool_use u = {.pool = (char *)"w", .weight = 1},
                       wide = {.pool = (char *)"w", .weight = 2};
    struct ns_pools *p1 = pools_new(&f->a, 1, &u, 1), *p2 = pools_new(&f->b, 2, &wide, 1),
                    *p3 = pools_new(&f->b, 3, &u, 1);
    struct pools_answer ans;
    char err[256];
    int64_t *ids;
    assert_int_equal(ask(&f->a, p1, 1000, 11, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->a, p1, 1000, 12, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->b, p3, 1001, 31, &ans), POOLS_FULL); /* the head: narrow */
    assert_int_equal(ask(&f->b, p2, 1002, 21, &ans), POOLS_FULL); /* behind it: wide */
    assert_int_equal(pools_waiters_to_wake(p1, &ids), 0);         /* 2/2 in use */
    free(ids);
    /* Attempt 11 ends and run 1's next attempt would be refused (the head
     * reserves the slot): the head alone is woken, not the wide one. */
    assert_int_equal(
        store_exec(&f->a, "DELETE FROM pool_holds WHERE attempt_id = 11", err, sizeof err), 0);
    assert_int_equal(ask(&f->a, p1, 1003, 13, &ans), POOLS_FULL);
    assert_int_equal(pools_waiters_to_wake(p1, &ids), 1);
    assert_int_equal(ids[0], 3);
    free(ids);
    assert_int_equal(ask(&f->b, p3, 1004, 32, &ans), POOLS_GRANTED);
    /* The wide run is the head now and needs both slots: nobody is woken
     * while one is free, and it alone once both are. */
    assert_int_equal(
        store_exec(&f->a, "DELETE FROM pool_holds WHERE attempt_id = 12", err, sizeof err), 0);
    assert_int_equal(pools_waiters_to_wake(p3, &ids), 0);
    free(ids);
    assert_int_equal(
        store_exec(&f->a, "DELETE FROM pool_holds WHERE attempt_id = 32", err, sizeof err), 0);
    assert_int_equal(pools_waiters_to_wake(p3, &ids), 1);
    assert_int_equal(ids[0], 2);
    free(ids);
    pools_free(p1);
    pools_free(p2);
    pools_free(p3);
}

/* priority: a waiter of higher priority is served first, though it began
 * waiting later; among equal priorities the oldest; and it is the one woken. */
static void test_priority_first(void **state)
{
    struct fx *f = *state;
    declare(&f->a, "q", 1, 0);
    struct ns_pool_use u = {.pool = (char *)"q", .weight = 1};
    struct ns_pools *p1 = pools_new(&f->a, 1, &u, 1), *p2 = pools_new(&f->b, 2, &u, 1),
                    *p3 = pools_new(&f->b, 3, &u, 1);
    pools_set_priority(p3, 5);
    struct pools_answer ans;
    char err[256];
    int64_t *ids;
    assert_int_equal(ask(&f->a, p1, 1000, 11, &ans), POOLS_GRANTED);
    assert_int_equal(ask(&f->b, p2, 1001, 21, &ans), POOLS_FULL); /* oldest, priority 0 */
    assert_int_equal(ask(&f->b, p3, 1002, 31, &ans), POOLS_FULL); /* newer, priority 5 */
    /* The read model (the console's pools panel) lists them in that order. */
    struct ns_pool_party *parties;
    assert_int_equal(pools_parties(&f->a, &parties, err, sizeof err), 3);
    assert_false(parties[0].waiting);
    assert_int_equal(parties[1].run_id, 3);
    assert_int_equal(parties[1].priority, 5);
    assert_int_equal(parties[2].run_id, 2);
    assert_int_equal(parties[2].priority, 0);
    pools_parties_free(parties, 3);
    assert_int_equal(
        store_exec(&f->a, "DELETE FROM pool_holds WHERE attempt_id = 11", err, sizeof err), 0);
    assert_int_equal(pools_waiters_to_wake(p1, &ids), 1);
    assert_int_equal(ids[0], 3); /* the higher priority is woken, not the oldest */
    free(ids);
    assert_int_equal(ask(&f->b, p2, 1003, 22, &ans), POOLS_FULL); /* run 3 reserves the slot */
    assert_int_equal(ask(&f->b, p3, 1003, 32, &ans), POOLS_GRANTED);
    /* A fresh ask of priority 5 goes before the older waiter of priority 0
     * too, once a slot is free; of priority 0 it waits behind run 2. */
    assert_int_equal(
        store_exec(&f->a, "DELETE FROM pool_holds WHERE attempt_id = 32", err, sizeof err), 0);
    assert_int_equal(ask(&f->a, p1, 1004, 12, &ans), POOLS_FULL);
    assert_int_equal(ask(&f->b, p3, 1004, 33, &ans), POOLS_GRANTED);
    pools_free(p1);
    pools_free(p2);
    pools_free(p3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_slot_and_dead_runtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oldest_waiter_reserves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink_and_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wake_only_whom_free_slots_serve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_first, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
