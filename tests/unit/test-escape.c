/* test-escape.c - the terminal escaper: hostile bytes become visible text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/escape.h"

static void check(const char *in, size_t len, int flags, const char *want)
{
    char *got = escape_dup(in, len, flags);
    assert_string_equal(got, want);
    free(got);
}
#define CHECK(lit, flags, want) check(lit, sizeof(lit) - 1, flags, want)

static void test_plain_text(void **state)
{
    (void)state;
    CHECK("", 0, "");
    CHECK("hello, world", 0, "hello, world");
    CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0,
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

static void test_osc_title(void **state)
{
    (void)state;
    CHECK("\x1b]0;pwned\x07", 0, "\\x1b]0;pwned\\x07");
    CHECK("\x1b[2J\x1b[H", 0, "\\x1b[2J\\x1b[H");
}

static void test_carriage_return_and_controls(void **state)
{
    (void)state;
    CHECK("all good\rEVIL", 0, "all good\\rEVIL");
    CHECK("a\tb\bc\x7f", 0, "a\\tb\\x08c\\x7f");
    CHECK("a\x01\x1f", 0, "a\\x01\\x1f");
}

static void test_newlines(void **state)
{
    (void)state;
    CHECK("one\ntwo\n", 0, "one\\ntwo\\n");
    CHECK("one\ntwo\n", NS_ESC_NEWLINES, "one\ntwo\n");
    CHECK("one\r\ntwo", NS_ESC_NEWLINES, "one\\r\ntwo");
}

static void test_backslash(void **state)
{
    (void)state;
    CHECK("C:\\dir\\x1b", 0, "C:\\\\dir\\\\x1b");
    /* The escaped form of a literal "\x1b" differs from that of ESC. */
    char *a = escape_dup("\\x1b", 4, 0);
    char *b = escape_dup("\x1b", 1, 0);
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_nul_inside(void **state)
{
    (void)state;
    CHECK("a\0b\0", 0, "a\\x00b\\x00");
}

static void test_bidi_and_invisible(void **state)
{
    (void)state;
    CHECK("file\xe2\x80\xaetxt.exe", 0, "file<U+202E>txt.exe");
    CHECK("a\xe2\x80\x8b"
          "b",
          0, "a<U+200B>b");
    CHECK("\xe2\x81\xa6x\xe2\x81\xa9", 0, "<U+2066>x<U+2069>");
    CHECK("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 0, "<U+200E><U+200F><U+061C>");
    CHECK("\xef\xbb\xbfhi", 0, "<U+FEFF>hi");
    CHECK("soft\xc2\xadhyphen", 0, "soft<U+00AD>hyphen");
    CHECK("a\xe2\x80\xa8"
          "b\xe2\x80\xa9",
          0, "a<U+2028>b<U+2029>");
    CHECK("\xe2\x81\xa0\xe2\x81\xa4", 0, "<U+2060><U+2064>");
    CHECK("\xef\xbf\xbe\xef\xb7\x90\xf4\x8f\xbf\xbf", 0, "<U+FFFE><U+FDD0><U+10FFFF>");
}

static void test_c1(void **state)
{
    (void)state;
    CHECK("\xc2\x9b"
          "2J",
          0, "<U+009B>2J");
    CHECK("\xc2\x80\xc2\x9f", 0, "<U+0080><U+009F>");
    /* A raw C1 byte is not UTF-8 at all. */
    CHECK("\x9b"
          "2J",
          0, "\\x9b2J");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    CHECK("\xff\xfe", 0, "\\xff\\xfe");
    CHECK("\xc0\xaf", 0, "\\xc0\\xaf");          /* overlong '/' */
    CHECK("\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf"); /* overlong, 3 bytes */
    CHECK("\xf0\x80\x80\xaf", 0, "\\xf0\\x80\\x80\\xaf");
    CHECK("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");          /* surrogate U+D800 */
    CHECK("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
    CHECK("\xf8\x88\x80\x80\x80", 0, "\\xf8\\x88\\x80\\x80\\x80");
    CHECK("\x80x", 0, "\\x80x"); /* stray continuation */
    CHECK("\xc3(", 0, "\\xc3("); /* bad continuation */
}

static void test_truncated_at_end(void **state)
{
    (void)state;
    CHECK("ok\xe2\x82", 0, "ok\\xe2\\x82");
    CHECK("ok\xf0\x9f\x98", 0, "ok\\xf0\\x9f\\x98");
    CHECK("ok\xc3", 0, "ok\\xc3");
    /* Resynchronises right after the bad bytes. */
    CHECK("\xe2\x82\xc3\xa9", 0, "\\xe2\\x82\xc3\xa9");
}

static void test_ascii_mode(void **state)
{
    (void)state;
    CHECK("caf\xc3\xa9 \xf0\x9f\x98\x80", NS_ESC_ASCII, "caf<U+00E9> <U+1F600>");
    CHECK("\xe2\x80\xae\xff", NS_ESC_ASCII, "<U+202E>\\xff");
    CHECK("a\nb", NS_ESC_ASCII | NS_ESC_NEWLINES, "a\nb");
}

static void test_appends(void **state)
{
    (void)state;
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "key=");
    escape_for_terminal("\x1b", 1, 0, &b);
    escape_for_terminal("", 0, 0, &b);
    assert_string_equal(b.data, "key=\\x1b");
    buf_release(&b);

    struct ns_buf e = NS_BUF_INIT;
    escape_for_terminal("", 0, 0, &e);
    assert_non_null(e.data);
    assert_string_equal(e.data, "");
    buf_release(&e);
}

static void test_hexdump(void **state)
{
    (void)state;
    struct ns_buf b = NS_BUF_INIT;
    escape_hexdump("\x1b]0;pwned\x07", 10, &b);
    assert_string_equal(b.data, "00000000  1b 5d 30 3b 70 77 6e 65  64 07                    "
                                "|.]0;pwned.|\n");
    buf_reset(&b);
    escape_hexdump("0123456789abcdef\xff", 17, &b);
    assert_string_equal(b.data, "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  "
                                "|0123456789abcdef|\n"
                                "00000010  ff                                                "
                                "|.|\n");
    buf_reset(&b);
    escape_hexdump("", 0, &b);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

/* Scans escaped output: no control byte, no DEL, valid UTF-8 only, and no
 * decoded code point that is C1, bidi or invisible. */
static void assert_safe(const unsigned char *s, size_t n, int flags)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if (c == '\n' && (flags & NS_ESC_NEWLINES)) {
                i++;
                continue;
            }
            assert_true(c >= 0x20 && c != 0x7f);
            i++;
            continue;
        }
        assert_false(flags & NS_ESC_ASCII);
        uint32_t cp;
        size_t len;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else {
            assert_true(c >= 0xf0 && c <= 0xf4);
            len = 4;
            cp = c & 0x07;
        }
        assert_true(i + len <= n);
        for (size_t k = 1; k < len; k++) {
            assert_int_equal(s[i + k] & 0xc0, 0x80);
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        assert_false(cp >= 0x80 && cp <= 0x9f);
        assert_false(cp >= 0x202a && cp <= 0x202e);
        assert_false(cp >= 0x2066 && cp <= 0x2069);
        assert_false(cp >= 0x200b && cp <= 0x200f);
        assert_false(cp >= 0x2060 && cp <= 0x2064);
        assert_false(cp == 0xfeff || cp == 0x00ad || cp == 0x061c);
        assert_false(cp == 0x2028 || cp == 0x2029);
        assert_false(cp >= 0xd800 && cp <= 0xdfff);
        assert_false((cp & 0xfffe) == 0xfffe);
        i += len;
    }
}

static void test_stream_prefix(void **state)
{
    (void)state;
    assert_int_equal(escape_stream_prefix("abc", 3), 3);
    assert_int_equal(escape_stream_prefix("", 0), 0);
    /* "é" is C3 A9; "€" is E2 82 AC; U+1F600 is F0 9F 98 80. */
    assert_int_equal(escape_stream_prefix("ab\xc3", 3), 2);
    assert_int_equal(escape_stream_prefix("ab\xc3\xa9", 4), 4);
    assert_int_equal(escape_stream_prefix("a\xe2\x82", 3), 1);
    assert_int_equal(escape_stream_prefix("a\xe2\x82\xac", 4), 4);
    assert_int_equal(escape_stream_prefix("\xf0\x9f\x98", 3), 0);
    assert_int_equal(escape_stream_prefix("\xf0\x9f\x98\x80", 4), 4);
    /* Bytes no later piece can make valid are not held back. */
    assert_int_equal(escape_stream_prefix("a\xff", 2), 2);
    assert_int_equal(escape_stream_prefix("a\x80\x80\x80\x80", 5), 5);
    assert_int_equal(escape_stream_prefix("a\xc0", 2), 2);
}

static void test_property_random(void **state)
{
    (void)state;
    /* Bias towards interesting bytes so multi-byte sequences form often. */
    static const unsigned char pool[] = {0x00, 0x07, 0x0a, 0x0d, 0x1b, 0x5c, 0x7f, 0x80, 0x9b,
                                         0xad, 0xbf, 0xc0, 0xc2, 0xe2, 0x80, 0xae, 0x8b, 0xef,
                                         0xbb, 0xbf, 0xed, 0xf0, 0xf4, 0x90, 0xff, 'a',  ' '};
    unsigned char in[64];
    srand(12345);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(rand() % (int)sizeof in);
        for (size_t i = 0; i < n; i++)
            in[i] = (rand() & 1) ? (unsigned char)rand() : pool[rand() % (int)sizeof pool];
        for (int flags = 0; flags < 4; flags++) {
            struct ns_buf b = NS_BUF_INIT;
            escape_for_terminal(in, n, flags, &b);
            assert_safe((const unsigned char *)b.data, b.len, flags);
            assert_int_equal(strlen(b.data), b.len);
            buf_release(&b);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_osc_title),
        cmocka_unit_test(test_carriage_return_and_controls),
        cmocka_unit_test(test_newlines),
        cmocka_unit_test(test_backslash),
        cmocka_unit_test(test_nul_inside),
        cmocka_unit_test(test_bidi_and_invisible),
        cmocka_unit_test(test_c1),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_truncated_at_end),
        cmocka_unit_test(test_ascii_mode),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_hexdump),
        cmocka_unit_test(test_stream_prefix),
        cmocka_unit_test(test_property_random),
    };
    return cmocka_run_group_tests_name("escape", tests, NULL, NULL);
}
