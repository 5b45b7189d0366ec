/* test-json.c - the one JSON encoder: valid UTF-8 out, unsafe characters
 * escaped, invalid bytes distinguishable, stored JSON embedded safely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/json.h"

/* One object with one bytes field, as text. */
static char *obj_bytes(const char *s, size_t len)
{
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_init(&j, &b);
    json_open_object(&j, NULL);
    json_field_bytes(&j, "m", s, len);
    json_close_object(&j);
    return buf_detach(&b);
}

static void test_invalid_utf8_distinguishable(void **state)
{
    (void)state;
    char *a = obj_bytes("bad \xff byte", 10);
    char *b = obj_bytes("bad \xc3\xbf byte", 11);
    assert_string_equal(a, "{\"m\":\"bad \\ufffd byte\",\"m_b64\":\"YmFkIP8gYnl0ZQ==\"}");
    assert_string_equal(b, "{\"m\":\"bad \xc3\xbf byte\"}");
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_controls_and_bidi_escaped(void **state)
{
    (void)state;
    /* ESC, CR, C1 CSI (U+009B), RLO (U+202E), LRI (U+2066), ZWSP, DEL */
    const char in[] = "a\x1b[2J\r\xc2\x9b\xe2\x80\xae\xe2\x81\xa6\xe2\x80\x8b\x7f\"\\z";
    char *o = obj_bytes(in, sizeof in - 1);
    assert_string_equal(o,
                        "{\"m\":\"a\\u001b[2J\\r\\u009b\\u202e\\u2066\\u200b\\u007f\\\"\\\\z\"}");
    assert_true(json_utf8_valid(o, strlen(o)));
    free(o);
}

static void test_structure_and_numbers(void **state)
{
    (void)state;
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_init(&j, &b);
    json_open_object(&j, NULL);
    json_field_schema(&j, "test");
    json_field_real(&j, "rate", 1.5);
    json_field_real(&j, "whole", 2.0);
    json_field_time(&j, "none", 0);
    json_field_bool(&j, "ok", true);
    json_field_str(&j, "s", NULL);
    json_open_array(&j, "xs");
    json_field_int(&j, NULL, 1);
    json_open_object(&j, NULL);
    json_field_int(&j, "y", 2);
    json_close_object(&j);
    json_close_array(&j);
    json_field_raw(&j, "p", "{\"k\": [1, \"\xe2\x80\xae\"]}");
    json_field_raw(&j, "bad", "{not json");
    json_close_object(&j);
    assert_string_equal(b.data, "{\"schema\":\"nightshift.test/1\",\"rate\":1.5,\"whole\":2,\"none\":null,\"ok\":true,"
                                "\"s\":null,\"xs\":[1,{\"y\":2}],\"p\":{\"k\": [1, "
                                "\"\\u202e\"]},\"bad\":\"{not json\"}");
    buf_release(&b);
}

static void test_add_string_invalid_bytes(void **state)
{
    (void)state;
    struct ns_buf b = NS_BUF_INIT;
    buf_add_json_string(&b, "x\xc0\xafy", 4); /* overlong '/' is not UTF-8 */
    assert_string_equal(b.data, "\"x\\ufffd\\ufffdy\"");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8_distinguishable),
        cmocka_unit_test(test_controls_and_bidi_escaped),
        cmocka_unit_test(test_structure_and_numbers),
        cmocka_unit_test(test_add_string_invalid_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
