/* test-backoff.c - retry delays: exponential, capped, jittered within bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nightshift/runtime.h"
#include "nightshift/spec.h"

static struct ns_spec policy(int64_t backoff, int64_t max, double factor, double jitter)
{
    struct ns_spec s = {0};
    s.backoff_ms = backoff;
    s.max_backoff_ms = max;
    s.backoff_factor = factor;
    s.jitter = jitter;
    return s;
}

static void test_exponential_without_jitter(void **state)
{
    (void)state;
    struct ns_spec s = policy(200, 60000, 2.0, 0.0);
    assert_int_equal(runtime_backoff_ms(&s, 2, 0.5), 200);
    assert_int_equal(runtime_backoff_ms(&s, 3, 0.5), 400);
    assert_int_equal(runtime_backoff_ms(&s, 4, 0.5), 800);
    assert_int_equal(runtime_backoff_ms(&s, 5, 0.9), 1600);
}

static void test_capped(void **state)
{
    (void)state;
    struct ns_spec s = policy(1000, 5000, 3.0, 0.0);
    assert_int_equal(runtime_backoff_ms(&s, 3, 0.0), 3000);
    assert_int_equal(runtime_backoff_ms(&s, 4, 0.0), 5000);
    /* A huge attempt number neither overflows nor loops long. */
    assert_int_equal(runtime_backoff_ms(&s, 1000000, 0.0), 5000);
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    struct ns_spec s = policy(1000, 60000, 2.0, 0.2);
    assert_int_equal(runtime_backoff_ms(&s, 2, 0.0), 800);  /* -20 % */
    assert_int_equal(runtime_backoff_ms(&s, 2, 0.5), 1000); /* middle */
    for (int i = 0; i < 1000; i++) {
        int64_t d = runtime_backoff_ms(&s, 3, (double)i / 1000.0);
        assert_in_range(d, 1600, 2400);
    }
}

static void test_factor_one_is_constant(void **state)
{
    (void)state;
    struct ns_spec s = policy(750, 60000, 1.0, 0.0);
    for (int n = 2; n < 10; n++)
        assert_int_equal(runtime_backoff_ms(&s, n, 0.3), 750);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential_without_jitter),
        cmocka_unit_test(test_capped),
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_factor_one_is_constant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
