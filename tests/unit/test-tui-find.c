/* test-tui-find.c - what the console's filter prompt accepts and refuses
 * (query_part_expr_parse), and the marks set (tui/marks.c): add, invert,
 * toggle keep it sorted and without duplicates. The SQL of the terms is
 * exercised against real data by tests/console/t-find.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tui/tui-internal.h"

static void test_parse_qualifiers(void **state)
{
    (void)state;
    struct ns_part_expr e;
    char err[256];
    assert_int_equal(query_part_expr_parse("state:failed key~2026-11 attempts>2 err~ECONNRESET",
                                           &e, err, sizeof err),
                     0);
    assert_int_equal(e.n, 4);
    assert_int_equal(e.t[0].field, NS_PFIELD_STATE);
    assert_int_equal(e.t[0].op, NS_POP_EQ);
    assert_string_equal(e.t[0].text, "failed");
    assert_int_equal(e.t[1].field, NS_PFIELD_KEY);
    assert_int_equal(e.t[1].op, NS_POP_HAS);
    assert_string_equal(e.t[1].text, "2026-11");
    assert_int_equal(e.t[2].field, NS_PFIELD_ATTEMPTS);
    assert_int_equal(e.t[2].op, NS_POP_GT);
    assert_true(e.t[2].num == 2);
    assert_int_equal(e.t[3].field, NS_PFIELD_ERR);
    assert_string_equal(e.t[3].text, "ECONNRESET");

    assert_int_equal(query_part_expr_parse("-state:succeeded \"two words\" progress<=50%", &e,
                                           err, sizeof err),
                     0);
    assert_int_equal(e.n, 3);
    assert_true(e.t[0].neg);
    assert_int_equal(e.t[1].field, NS_PFIELD_ANY);
    assert_string_equal(e.t[1].text, "two words");
    assert_int_equal(e.t[2].op, NS_POP_LE);
    assert_true(e.t[2].num == 50);

    assert_int_equal(query_part_expr_parse("   ", &e, err, sizeof err), 0);
    assert_int_equal(e.n, 0);
    /* A word before ":" must be a field: quote it ("http://x"). */
    assert_int_equal(query_part_expr_parse("http://x", &e, err, sizeof err), -1);
}

static void refused(const char *text, const char *why)
{
    struct ns_part_expr e;
    char err[256] = "";
    assert_int_equal(query_part_expr_parse(text, &e, err, sizeof err), -1);
    assert_non_null(strstr(err, why));
}

static void test_parse_refusals(void **state)
{
    (void)state;
    refused("bogus:1", "unknown field \"bogus\"");
    refused("state:fail", "unknown state \"fail\"");
    refused("attempts~2", "attempts takes a number");
    refused("attempts>two", "\"two\" is not a number");
    refused("key>3", "key takes : = != or ~");
    refused("key:", "a value is missing");
    refused("\"open", "a quote is not closed");
}

static void test_marks(void **state)
{
    (void)state;
    struct tui_marks m = {0};
    marks_toggle(&m, 5);
    marks_toggle(&m, 1);
    marks_toggle(&m, 9);
    const int64_t add[] = {1, 2, 3};
    assert_int_equal(marks_add(&m, add, 3), 2);
    const int64_t want[] = {1, 2, 3, 5, 9};
    assert_int_equal(m.n, 5);
    assert_memory_equal(m.idx, want, sizeof want);
    const int64_t inv[] = {2, 4, 9};
    marks_invert(&m, inv, 3);
    const int64_t want2[] = {1, 3, 4, 5};
    assert_int_equal(m.n, 4);
    assert_memory_equal(m.idx, want2, sizeof want2);
    assert_true(marks_has(&m, 4));
    assert_false(marks_has(&m, 2));
    marks_toggle(&m, 4);
    assert_false(marks_has(&m, 4));
    marks_clear(&m);
    assert_int_equal(m.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse_qualifiers),
                                       cmocka_unit_test(test_parse_refusals),
                                       cmocka_unit_test(test_marks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
