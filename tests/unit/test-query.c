/* test-query.c - the read model's pure figures: projection, ETA gating,
 * record rate, failure-group membership and the state vocabulary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/query.h"

static void test_projection_from_rate(void **state)
{
    (void)state;
    struct ns_projection_in in = {
        .total = 100, .done = 40, .rate = 2.0, .elapsed_s = 20, .dispatching = true};
    assert_true(query_project(&in, 1000.0) == 1030.0);
}

static void test_projection_from_share(void **state)
{
    (void)state;
    /* Nothing finished yet, but half of the only partition is done after 10 s. */
    struct ns_projection_in in = {
        .total = 1, .done = 0, .partial = 0.5, .rate = 0, .elapsed_s = 10, .dispatching = true};
    assert_true(query_project(&in, 1000.0) == 1010.0);
    /* Too early, or nothing done: unknown. */
    in.elapsed_s = 0.5;
    assert_true(query_project(&in, 1000.0) == 0);
    in.elapsed_s = 10;
    in.partial = 0;
    assert_true(query_project(&in, 1000.0) == 0);
}

static void test_no_projection_when_not_dispatching(void **state)
{
    (void)state;
    struct ns_projection_in in = {
        .total = 100, .done = 40, .rate = 2.0, .elapsed_s = 20, .dispatching = false};
    assert_true(query_project(&in, 1000.0) == 0);
}

static void test_all_done_finishes_now(void **state)
{
    (void)state;
    struct ns_projection_in in = {.total = 5, .done = 5, .elapsed_s = 20, .dispatching = true};
    assert_true(query_project(&in, 1000.0) == 1000.0);
}

static void test_eta_gate(void **state)
{
    (void)state;
    assert_true(query_has_eta("running", true));
    assert_false(query_has_eta("running", false)); /* no runtime: no ETA, not "0.0s" */
    assert_false(query_has_eta("paused", true));
    assert_false(query_has_eta("halted", true));
    assert_false(query_has_eta("stopping", true));
    assert_false(query_has_eta("stopped", false));
    assert_false(query_has_eta("succeeded", false));
    assert_false(query_has_eta(NULL, true));
}

static void test_record_rate_own_records(void **state)
{
    (void)state;
    /* A resumed run: 10 000 records done before, 500 by this runtime in 10 s. */
    assert_true(query_record_rate(10500, 10000, 10.0) == 50.0);
    assert_true(query_record_rate(10500, 10000, 0.2) == 0);
    assert_true(query_record_rate(9000, 10000, 10.0) == 0); /* redone from a checkpoint */
}

/* query.h's straggler rule: 3x the median once 5 succeeded, never under
 * 1 s, only for a running partition with a live attempt. */
static void test_straggler_rule(void **state)
{
    (void)state;
    assert_true(query_straggler_after(10, 4) == 0); /* too few succeeded */
    assert_true(query_straggler_after(10, 5) == 30);
    assert_true(query_straggler_after(0.1, 100) == NS_STRAGGLER_MIN_S);
    assert_true(query_is_straggler(30, NS_PS_RUNNING, 1000, 1031));
    assert_false(query_is_straggler(30, NS_PS_RUNNING, 1000, 1030));
    assert_false(query_is_straggler(0, NS_PS_RUNNING, 1000, 9999)); /* no threshold yet */
    assert_false(query_is_straggler(30, NS_PS_PAUSED, 1000, 1100));
    assert_false(query_is_straggler(30, NS_PS_RUNNING, 0, 1100)); /* no live attempt */
}

static void test_failure_group_states(void **state)
{
    (void)state;
    assert_true(query_in_failure_group("failed"));
    assert_true(query_in_failure_group("retry_wait"));
    const char *not_in[] = {"pending", "running", "paused", "succeeded", "skipped", "x", NULL};
    for (int i = 0; not_in[i]; i++)
        assert_false(query_in_failure_group(not_in[i]));
    assert_false(query_in_failure_group(NULL));
}

static void test_state_words(void **state)
{
    (void)state;
    for (int i = 0; i < NS_PS_COUNT; i++)
        assert_int_equal(query_part_state_of(query_part_state_word((enum ns_part_state)i)), i);
    assert_int_equal(query_part_state_of("nope"), -1);
    struct ns_state_counts c = {{0}, 0, 0};
    c.n[NS_PS_SUCCEEDED] = 3;
    c.n[NS_PS_FAILED] = 2;
    c.n[NS_PS_SKIPPED] = 1;
    c.n[NS_PS_PAUSED] = 7;
    assert_int_equal(query_done(&c), 6);
    assert_true(query_run_final("stopped") && query_run_final("succeeded") &&
                query_run_final("failed") && !query_run_final("halted"));
}

static void test_partition_figures(void **state)
{
    (void)state;
    struct ns_part_row r;
    memset(&r, 0, sizeof r);
    r.state = (char *)"running";
    r.progress = 50;
    r.total = 150;
    r.live_started_at = 990;
    r.attempts = 1;
    r.attempts_total = 4; /* three of an earlier budget, then a retry */
    r.max_attempts = 3;
    r.attempts_time = 30;
    assert_true(query_part_rate(&r, 1000) == 5.0);
    assert_true(query_part_eta(&r, 1000) == 20.0);
    assert_int_equal(query_attempts_allowed(&r), 6);
    assert_true(query_attempts_seconds(&r, 1000) == 40.0);
    r.total = -1; /* no total reported: no ETA */
    assert_true(query_part_eta(&r, 1000) == -1);
    r.state = (char *)"paused";
    r.total = 150;
    assert_true(query_part_eta(&r, 1000) == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection_from_rate),
        cmocka_unit_test(test_projection_from_share),
        cmocka_unit_test(test_no_projection_when_not_dispatching),
        cmocka_unit_test(test_all_done_finishes_now),
        cmocka_unit_test(test_eta_gate),
        cmocka_unit_test(test_record_rate_own_records),
        cmocka_unit_test(test_straggler_rule),
        cmocka_unit_test(test_failure_group_states),
        cmocka_unit_test(test_state_words),
        cmocka_unit_test(test_partition_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
