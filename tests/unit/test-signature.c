/* test-signature.c - error signatures group messages of one cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/signature.h"

static void check(const char *in, const char *want)
{
    char *got = signature_of(in, strlen(in));
    assert_string_equal(got, want);
    free(got);
}

static void same(const char *a, const char *b, int want_equal)
{
    char *sa = signature_of(a, strlen(a));
    char *sb = signature_of(b, strlen(b));
    if (want_equal)
        assert_string_equal(sa, sb);
    else
        assert_string_not_equal(sa, sb);
    free(sa);
    free(sb);
}

static void test_numbers(void **state)
{
    (void)state;
    check("connection reset by peer after 1532 ms", "connection reset by peer after <n> ms");
    check("took 3.25s of 10", "took <n>s of <n>");
    check("user42 not found", "user<n> not found");
    check("version 1.2.3", "version <n>.<n>");
    check("offset -17", "offset -<n>");
    check("/data/2026/11/23/part-0007.csv", "/data/<n>/<n>/<n>/part-<n>.csv");
}

static void test_hex_and_uuid(void **state)
{
    (void)state;
    check("request 550e8400-e29b-41d4-a716-446655440000 failed", "request <uuid> failed");
    check("id 7f3a9c)", "id <hex>)");
    check("at 0xdeadbeef and 0x1F", "at <hex> and <hex>");
    check("deadbeef cafe", "deadbeef cafe"); /* no digit: a word, kept */
    check("sha 3f786850e387550fdab836ed7e6dc881de23001b", "sha <hex>");
    check("abc12", "abc<n>"); /* short: digits masked only */
    check("req-7f3a9c12", "req-<hex>");
}

static void test_ip(void **state)
{
    (void)state;
    check("connect to 10.0.0.12:5432 refused", "connect to <ip> refused");
    check("from 192.168.1.1.", "from <ip>.");
    check("host 300.1.1.1", "host <n>.<n>"); /* not an address: decimals */
}

static void test_quotes(void **state)
{
    (void)state;
    check("no such table 'users_2026'", "no such table '<s>'");
    check("key \"a b c\" missing", "key \"<s>\" missing");
    check("don't panic 'x'", "don't panic '<s>'");
    check("unterminated 'quote", "unterminated 'quote");
}

static void test_whitespace_and_cap(void **state)
{
    (void)state;
    check("  a \t\n b  ", "a b");
    check("", "");
    check("   ", "");

    char big[1000];
    memset(big, 'w', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *s = signature_of(big, strlen(big));
    assert_int_equal(strlen(s), 200);
    free(s);

    /* 199 ASCII bytes then a 2-byte character: the cut may not split it. */
    char u[300];
    memset(u, 'a', 199);
    memcpy(u + 199, "\xc3\xa9\xc3\xa9", 5);
    s = signature_of(u, strlen(u));
    assert_int_equal(strlen(s), 199);
    free(s);
}

static void test_grouping(void **state)
{
    (void)state;
    same("connection reset by peer after 1532 ms", "connection reset by peer after 17 ms", 1);
    same("timeout talking to 10.1.2.3:80 (req 9f8e7d6c)",
         "timeout talking to 10.9.9.9:8080 (req 0a1b2c3d4e)", 1);
    same("row 12: bad date '2026-13-01'", "row 7781: bad date '1999-00-00'", 1);
    same("connection reset by peer after 12 ms", "connection refused after 12 ms", 0);
    same("file not found: a.csv", "permission denied: a.csv", 0);
}

/* The keys of a run, for signature_unkey. */
static const char *const run_keys[] = {"peer", "connection reset by peer", "eu-west", "acme",
                                       "globex", "key", NULL};

static bool is_run_key(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    for (size_t i = 0; run_keys[i]; i++)
        if (strlen(run_keys[i]) == n && memcmp(run_keys[i], s, n) == 0)
            return true;
    return false;
}

static void unkeyed(const char *cause, const char *own, const char *want)
{
    char *got = signature_unkey(cause, own, is_run_key, NULL);
    assert_string_equal(got, want);
    free(got);
}

/* Issue 22: failure groups split on the partition's own key - key "peer"
 * gave "connection reset by <key>", key "connection reset by peer" gave
 * "<key>", the others "connection reset by peer": one cause, three groups. */
static void test_unkey_one_group_whichever_partition(void **state)
{
    (void)state;
    const char *cause = "connection reset by peer";
    unkeyed(cause, "peer", "connection reset by <key>");
    unkeyed(cause, "connection reset by peer", "connection reset by <key>");
    unkeyed(cause, "eu-west", "connection reset by <key>");
    unkeyed(cause, "zz-other", "connection reset by <key>");
    /* A worker naming its own partition, or another's. */
    unkeyed("cannot load acme: missing", "acme", "cannot load <key>: missing");
    unkeyed("cannot load globex: missing", "globex", "cannot load <key>: missing");
    unkeyed("cannot load eu-west/part.csv", "eu-west", "cannot load <key>/part.csv");
    /* Only whole: not inside a word, a longer word or a piece with spaces. */
    unkeyed("peers are gone, acmes too", "acme", "peers are gone, acmes too");
    unkeyed("eu-western", "eu-west", "eu-western");
    /* An own key that is no run key's piece (a key not stored, with spaces). */
    unkeyed("cannot load New York", "New York", "cannot load <key>");
    /* The mark of step 1 is not the key "key". */
    unkeyed("peer said key", "key", "<key> said <key>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_hex_and_uuid),
        cmocka_unit_test(test_ip),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_whitespace_and_cap),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_unkey_one_group_whichever_partition),
    };
    return cmocka_run_group_tests_name("signature", tests, NULL, NULL);
}
