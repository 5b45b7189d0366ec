/* test-sigcount.c - the journal's in-memory counts by (partition,
 * signature): every record is counted once under its own pair, whatever
 * the table's growth; pairs that differ only in partition or signature stay
 * apart; clearing forgets everything and the table is reusable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sigcount.h"

/* The count of (idx, signature), 0 when absent. */
static int64_t count_of(const struct ns_sigcount *c, int64_t idx, const char *signature)
{
    for (size_t i = 0; i < sigcount_len(c); i++) {
        int64_t x, n;
        const char *s;
        sigcount_get(c, i, &x, &s, &n);
        if (x == idx && strcmp(s, signature) == 0)
            return n;
    }
    return 0;
}

static void test_counts_by_pair(void **state)
{
    (void)state;
    struct ns_sigcount *c = sigcount_new();
    char sig[32];
    /* 5 000 pairs (far past the first table), each counted (i % 7) + 1 times. */
    for (int round = 0; round < 7; round++)
        for (int i = 0; i < 5000; i++)
            if (round <= i % 7) {
                snprintf(sig, sizeof sig, "sig <n> %d", i % 50);
                sigcount_add(c, i / 50, sig);
            }
    assert_int_equal(sigcount_len(c), 5000);
    int64_t total = 0;
    for (size_t i = 0; i < sigcount_len(c); i++) {
        int64_t x, n;
        const char *s;
        sigcount_get(c, i, &x, &s, &n);
        total += n;
    }
    int64_t want = 0;
    for (int i = 0; i < 5000; i++)
        want += i % 7 + 1;
    assert_int_equal(total, want);
    assert_int_equal(count_of(c, 0, "sig <n> 3"), 4);
    assert_int_equal(count_of(c, 99, "sig <n> 49"), 4999 % 7 + 1);
    assert_int_equal(count_of(c, 1, "sig <n> 3"), 53 % 7 + 1);
    assert_int_equal(count_of(c, 100, "sig <n> 3"), 0);
    sigcount_clear(c);
    assert_int_equal(sigcount_len(c), 0);
    assert_int_equal(count_of(c, 0, "sig <n> 3"), 0);
    sigcount_add(c, 0, "sig <n> 3");
    sigcount_add(c, 0, "sig <n> 3");
    sigcount_add(c, 0, "");
    assert_int_equal(sigcount_len(c), 2);
    assert_int_equal(count_of(c, 0, "sig <n> 3"), 2);
    assert_int_equal(count_of(c, 0, ""), 1);
    sigcount_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_by_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
