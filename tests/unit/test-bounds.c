/* test-bounds.c - the spec loader's resource bounds (issue 10): a
 * billion-laughs file and 1 MiB of '[' are rejected quickly and with a
 * message. The times are printed as figures; the only assertion on time is
 * a generous bound (100x the targets of 10 ms and 50 ms) so a loaded CI
 * machine cannot make it flaky while a quadratic blow-up still fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/spec.h"
#include "nightshift/util.h"

/* Loads data (expected to be rejected) and returns the best of 5 runs, in ms. */
static double reject_ms(const char *what, const char *data, size_t len, const char *expect)
{
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        struct ns_spec spec;
        struct ns_diags d = {0};
        double t0 = ns_monotonic();
        int rc = spec_load_buffer("bomb.yaml", data, len, &spec, &d);
        double ms = (ns_monotonic() - t0) * 1000;
        assert_int_equal(rc, -1);
        char *text = diags_format(&d, "bomb.yaml");
        if (!strstr(text, expect))
            fail_msg("%s: expected \"%s\" in:\n%s", what, expect, text);
        free(text);
        diags_release(&d);
        if (ms < best)
            best = ms;
    }
    printf("# %s (%zu bytes): rejected in %.2f ms (best of 5)\n", what, len, best);
    return best;
}

static void test_billion_laughs(void **state)
{
    (void)state;
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (int i = 1; i < 10; i++) {
        buf_addf(&b, "a%d: &a%d [", i, i);
        for (int k = 0; k < 9; k++)
            buf_addf(&b, "%s*a%d", k ? "," : "", i - 1);
        buf_adds(&b, "]\n");
    }
    double ms = reject_ms("billion laughs", b.data, b.len, "anchors and aliases are not supported");
    assert_true(ms < 1000); /* target < 10 ms */
    buf_release(&b);
}

static void test_mib_of_brackets(void **state)
{
    (void)state;
    size_t len = 1024 * 1024;
    char *data = ns_xmalloc(len);
    memset(data, '[', len);
    double ms = reject_ms("1 MiB of '['", data, len, "nested deeper than");
    assert_true(ms < 5000); /* target < 50 ms */
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_mib_of_brackets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
