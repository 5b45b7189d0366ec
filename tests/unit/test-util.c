/* test-util.c - the small parsers of util.c: durations (only what
 * docs/spec.md allows) and relative dates for run parameters. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "nightshift/util.h"

static int64_t ms(const char *s)
{
    int64_t v = -12345;
    return ns_parse_duration(s, &v) == 0 ? v : -1;
}

static void test_durations_documented(void **state)
{
    (void)state;
    assert_int_equal(ms("500ms"), 500);
    assert_int_equal(ms("30s"), 30000);
    assert_int_equal(ms("10m"), 600000);
    assert_int_equal(ms("3h"), 10800000);
    assert_int_equal(ms("2d"), 172800000);
    assert_int_equal(ms("1w"), 604800000);
    assert_int_equal(ms("1h30m"), 5400000);
    assert_int_equal(ms("45"), 45000);
    assert_int_equal(ms("1.5s"), 1500);
    assert_int_equal(ms("0s"), 0);
}

static void test_durations_refused(void **state)
{
    (void)state;
    /* strtod's other spellings are not durations. */
    assert_int_equal(ms("1e2s"), -1);
    assert_int_equal(ms("1e2"), -1);
    assert_int_equal(ms("0x1fs"), -1);
    assert_int_equal(ms("0x1f"), -1);
    assert_int_equal(ms("inf"), -1);
    assert_int_equal(ms("nan"), -1);
    assert_int_equal(ms("1.s"), -1);
    assert_int_equal(ms(".5s"), -1);
    assert_int_equal(ms("-1s"), -1);
    assert_int_equal(ms("+1s"), -1);
    assert_int_equal(ms(" 1s"), -1);
    assert_int_equal(ms("1s "), -1);
    assert_int_equal(ms("1 s"), -1);
    assert_int_equal(ms("1h30"), -1);
    assert_int_equal(ms("10x"), -1);
    assert_int_equal(ms("s"), -1);
    assert_int_equal(ms(""), -1);
    assert_int_equal(ms("1.2345s"), -1);
    assert_int_equal(ms("9999999999999999s"), -1);
}

static const char *date(const char *v, double now)
{
    static char out[16];
    return ns_resolve_relative_date(v, now, out, sizeof out) == 1 ? out : NULL;
}

static void test_relative_dates(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    double now = 1796083200 + 3600; /* 2026-12-01 01:00 UTC */
    assert_string_equal(date("today", now), "2026-12-01");
    assert_string_equal(date("yesterday", now), "2026-11-30");
    assert_string_equal(date("today-7d", now), "2026-11-24");
    assert_string_equal(date("today+31d", now), "2027-01-01");
    assert_string_equal(date("yesterday-30d", now), "2026-10-31");
    assert_string_equal(date("today-0d", now), "2026-12-01");
    /* Local time decides the day. */
    setenv("TZ", "America/New_York", 1);
    tzset();
    assert_string_equal(date("today", now), "2026-11-30");
    setenv("TZ", "UTC", 1);
    tzset();
    /* Issue 22: relative dates that almost match - accepted sensibly ... */
    assert_string_equal(date("Today", now), "2026-12-01");
    assert_string_equal(date("YESTERDAY", now), "2026-11-30");
    assert_string_equal(date("today+1w", now), "2026-12-08");
    assert_string_equal(date("today-2W", now), "2026-11-17");
    assert_string_equal(date("today+100000d", now), "2300-09-16");
    /* ... or refused (-1), never passed on as text. */
    char out[16];
    assert_int_equal(ns_resolve_relative_date("today+99999999999d", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("today+100001d", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("today+14286w", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("today+1y", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("today-7", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("today -7d", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("today-d", now, out, sizeof out), -1);
    assert_int_equal(ns_resolve_relative_date("Yesterday+1dd", now, out, sizeof out), -1);
    /* Not relative dates: left alone. */
    assert_null(date("2026-11-30", now));
    assert_null(date("todayx", now));
    assert_null(date("todays-report", now));
    assert_null(date("", now));
}

/* The start of a period (`summary --since`, the night view), in UTC so
 * the expected moments are fixed: now is 2026-11-04 07:30:00. */
static double since(const char *text)
{
    double out = -12345;
    return ns_parse_since(text, 1793777400.0, &out) == 0 ? out : -1;
}

static void test_since(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    const double midnight = 1793750400.0; /* 2026-11-04 00:00 */
    assert_true(since("18:00") == midnight - 6 * 3600);     /* yesterday's: today's is ahead */
    assert_true(since("07:00") == midnight + 7 * 3600);     /* today's: already passed */
    assert_true(since("07:30") == midnight + 7.5 * 3600);   /* now itself */
    assert_true(since("yesterday 18:00") == midnight - 6 * 3600);
    assert_true(since("today 01:15:30") == midnight + 3600 + 15 * 60 + 30);
    assert_true(since("24h") == 1793777400.0 - 86400);
    assert_true(since("90m") == 1793777400.0 - 5400);
    assert_true(since("2026-11-03") == midnight - 86400);
    assert_true(since("2026-11-03 18:00") == midnight - 6 * 3600);
    assert_true(since("2026-11-03T18:00:30") == midnight - 6 * 3600 + 30);
    assert_true(since("") == -1);
    assert_true(since("25:00") == -1);
    assert_true(since("18:60") == -1);
    assert_true(since("18") == 1793777400.0 - 18); /* a bare number is seconds */
    assert_true(since("2026-02-30") == -1);
    assert_true(since("2026-11-03 18") == -1);
    assert_true(since("2026-11-03x") == -1);
    assert_true(since("tomorrow 18:00") == -1);
    assert_true(since("yesterday") == -1);
}

/* A helper thread must never take a signal meant for the loop's signalfd
 * (a SIGTERM delivered there would kill the runtime outright). */
static void *report_mask(void *arg)
{
    sigset_t *mask = arg;
    pthread_sigmask(SIG_SETMASK, NULL, mask);
    return NULL;
}

static void test_threads_start_with_signals_blocked(void **state)
{
    (void)state;
    sigset_t none, mask;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL); /* the caller blocks nothing */
    pthread_t t;
    assert_int_equal(ns_thread_start(&t, report_mask, &mask), 0);
    pthread_join(t, NULL);
    int sigs[] = {SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1, SIGPIPE};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        assert_true(sigismember(&mask, sigs[i]));
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    assert_false(sigismember(&now, SIGTERM)); /* the caller's mask is its own again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations_documented),
        cmocka_unit_test(test_durations_refused),
        cmocka_unit_test(test_relative_dates),
        cmocka_unit_test(test_since),
        cmocka_unit_test(test_threads_start_with_signals_blocked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
