/* test-tui-cause.c - LAST MESSAGE keeps the cause and drops the
 * boilerplate duration ("exit 3 after 3.0s: cause" -> "cause (exit 3)"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tui/tui-internal.h"

static void check(const char *in, const char *want)
{
    size_t from, cut = tui_cause_cut(in, strlen(in), &from);
    char got[256];
    snprintf(got, sizeof got, "%.*s%s", (int)cut, in, in + from);
    assert_string_equal(got, want);
}

static void test_cause_kept(void **state)
{
    (void)state;
    check("exit 3 after 3.0s: connection reset by peer", "exit 3: connection reset by peer");
    check("killed by signal 9 (Killed) after 1m02s: oom", "killed by signal 9 (Killed): oom");
    check("exit 2 after 12ms", "exit 2 after 12ms"); /* no cause to make room for */
    /* Nothing to drop: left as it is. */
    check("ok 12", "ok 12");
    check("timed out after 5m", "timed out after 5m"); /* the limit is the cause */
    check("exit 3 after 3.0s; 1 malformed report line ignored",
          "exit 3 after 3.0s; 1 malformed report line ignored");
    check("upstream answered after 3s: slow", "upstream answered: slow");
    check("", "");
}

static void shown(const char *in, const char *want)
{
    struct tui t;
    memset(&t, 0, sizeof t);
    char *got = tui_esc_cause(&t, in, strlen(in));
    assert_string_equal(got, want);
    free(got);
}

static void test_cause_first(void **state)
{
    (void)state;
    shown("exit 3 after 3.0s: connection reset by peer", "connection reset by peer (exit 3)");
    shown("killed by signal 9 (Killed) after 2s: oom", "oom (killed by signal 9 (Killed))");
    /* A timeout is the cause, whatever the worker printed last. */
    shown("timed out after 3.0s: day 2026-12-04 attempt 2", "timed out: day 2026-12-04 attempt 2");
    shown("ok 12", "ok 12");
    shown("exit 2 after 1s: \x1b]0;x\x07", "\\x1b]0;x\\x07 (exit 2)"); /* still escaped */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cause_kept),
                                       cmocka_unit_test(test_cause_first)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
