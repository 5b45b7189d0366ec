/* test-report.c - the report protocol parser: messages, framing, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/escape.h"
#include "nightshift/report.h"

/* Every message is rendered to one escaped text line, so a whole stream's
 * result is one string that is easy to compare across chunkings. */
struct collect {
    struct ns_buf out;
    size_t count;
    size_t malformed;
    struct ns_buf last_payload;
    int last_payload_null;
};

static void add_field(struct ns_buf *b, const char *name, const void *s, size_t n, int present)
{
    buf_addf(b, " %s=", name);
    if (!present) {
        buf_adds(b, "(null)");
        return;
    }
    buf_addc(b, '[');
    escape_for_terminal(s, n, 0, b);
    buf_addc(b, ']');
}

static void on_msg(void *ctx, const struct ns_report_msg *m)
{
    struct collect *c = ctx;
    struct ns_buf *b = &c->out;
    c->count++;
    buf_adds(b, report_kind_name(m->kind));
    switch (m->kind) {
    case NS_REPORT_TOTAL:
    case NS_REPORT_PROGRESS:
        buf_addf(b, " %lld", (long long)m->number);
        break;
    case NS_REPORT_CHECKPOINT:
        add_field(b, "token", m->text, m->text_len, 1);
        break;
    case NS_REPORT_ERROR:
        add_field(b, "key", m->key, m->key_len, m->key != NULL);
        add_field(b, "msg", m->text, m->text_len, 1);
        add_field(b, "payload", m->payload, m->payload_len, m->payload != NULL);
        buf_reset(&c->last_payload);
        buf_add(&c->last_payload, m->payload ? (const void *)m->payload : "", m->payload_len);
        c->last_payload_null = m->payload == NULL;
        break;
    case NS_REPORT_LOG:
        add_field(b, "level", m->key, m->key_len, 1);
        add_field(b, "msg", m->text, m->text_len, 1);
        break;
    case NS_REPORT_MALFORMED:
        c->malformed++;
        add_field(b, "reason", m->text, m->text_len, 1);
        add_field(b, "raw", m->raw, m->raw_len, m->raw != NULL);
        assert_true(m->raw_len <= 200);
        break;
    }
    buf_addc(b, '\n');
}

static void collect_release(struct collect *c)
{
    buf_release(&c->out);
    buf_release(&c->last_payload);
}

/* Parses s[0..n) fed in chunks of the given size (0 = random sizes). */
static char *parse_chunked(const void *s, size_t n, size_t chunk, unsigned seed)
{
    struct ns_report_parser p;
    struct collect c = {0};
    const char *d = s;
    report_parser_init(&p);
    srand(seed);
    for (size_t off = 0; off < n;) {
        size_t k = chunk ? chunk : (size_t)(rand() % 97) + 1;
        if (k > n - off)
            k = n - off;
        report_parser_feed(&p, d + off, k, on_msg, &c);
        off += k;
    }
    report_parser_finish(&p, on_msg, &c);
    report_parser_release(&p);
    char *r = buf_detach(&c.out);
    collect_release(&c);
    return r;
}

static char *parse_all(const void *s, size_t n)
{
    return parse_chunked(s, n, n ? n : 1, 1);
}

static void check(const char *in, size_t n, const char *want)
{
    char *got = parse_all(in, n);
    assert_string_equal(got, want);
    free(got);
}
#define CHECK(lit, want) check(lit, sizeof(lit) - 1, want)

static void test_numbers(void **state)
{
    (void)state;
    CHECK("total 1000\nprogress 0\nprogress 500\n", "total 1000\nprogress 0\nprogress 500\n");
    CHECK("progress 1000000000000000\n", "progress 1000000000000000\n");
    /* Bounded (issue 18 item 4): the run's sums of such counts wrapped. */
    CHECK("progress 9223372036854775807\n",
          "malformed reason=[progress: 9223372036854775807 is over 1000000000000000, the most a "
          "partition may report] raw=[progress 9223372036854775807]\n");
    CHECK("total 1000000000000001\n",
          "malformed reason=[total: 1000000000000001 is over 1000000000000000, the most a "
          "partition may report] raw=[total 1000000000000001]\n");
    CHECK("progress abc\n",
          "malformed reason=[progress: \"abc\" is not a number] raw=[progress abc]\n");
    CHECK("progress -5\n",
          "malformed reason=[progress: \"-5\" is not a number] raw=[progress -5]\n");
    CHECK("total 99999999999999999999\n",
          "malformed reason=[total: \"99999999999999999999\" is not a number] "
          "raw=[total 99999999999999999999]\n");
    CHECK("total\n", "malformed reason=[total: missing number] raw=[total]\n");
    CHECK("progress 5 6\n",
          "malformed reason=[progress: \"5 6\" is not a number] raw=[progress 5 6]\n");
}

/* "progress N\n" whole in a chunk takes a one-pass path; byte by byte it
 * takes the general one. Both must read every edge the same. */
static void test_progress_fast_path_agrees(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "progress 0\n", "progress 007\n", "progress 9223372036854775807\n",
        "progress 1000000000000000\n", "progress 1000000000000001\n",
        "progress 9223372036854775808\n", "progress 9999999999999999999\n",
        "progress 12345678901234567890\n", "progress 99999999999999999999\n",
        "progress 36893488147419103232\n", "progress \n", "progress\n", "progress  5\n",
        "progress 5 \n", "progress 5x\n", "progress 5\r\n", "progress -1\n",
        "progressive 5\n", "progress 5", "progress 1\nprogress 2\nerror k m\nprogress 3\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t n = strlen(lines[i]);
        char *whole = parse_all(lines[i], n);
        char *bytes = parse_chunked(lines[i], n, 1, 1);
        assert_string_equal(whole, bytes);
        free(whole);
        free(bytes);
    }
    CHECK("progress 007\n", "progress 7\n");
    CHECK("progress 9223372036854775808\n",
          "malformed reason=[progress: \"9223372036854775808\" is not a number] "
          "raw=[progress 9223372036854775808]\n");
    CHECK("progress 5\r\n", "progress 5\n");
}

static void test_checkpoint(void **state)
{
    (void)state;
    CHECK("checkpoint offset=42 file=a b\n", "checkpoint token=[offset=42 file=a b]\n");
    CHECK("checkpoint\n", "malformed reason=[checkpoint: missing token] raw=[checkpoint]\n");
    CHECK("checkpoint \n", "malformed reason=[checkpoint: missing token] raw=[checkpoint ]\n");

    char line[6000];
    memcpy(line, "checkpoint ", 11);
    memset(line + 11, 'x', 4096);
    line[11 + 4096] = '\n';
    char *got = parse_all(line, 11 + 4096 + 1);
    assert_non_null(strstr(got, "checkpoint token=[xxxx"));
    free(got);
    memset(line + 11, 'x', 5000);
    line[11 + 5000] = '\n';
    got = parse_all(line, 11 + 5000 + 1);
    assert_non_null(strstr(got, "reason=[checkpoint: token of 5000 bytes exceeds 4096]"));
    free(got);
    CHECK("checkpoint a\0b\n",
          "malformed reason=[checkpoint: token contains a NUL byte] raw=[checkpoint a\\x00b]\n");
}

static void test_error(void **state)
{
    (void)state;
    CHECK("error rec-17 bad date \"2026-13-01\"\n",
          "error key=[rec-17] msg=[bad date \"2026-13-01\"] payload=(null)\n");
    CHECK("error - no key here\n", "error key=(null) msg=[no key here] payload=(null)\n");
    CHECK("error k\n", "error key=[k] msg=[] payload=(null)\n");
    CHECK("error k \n", "error key=[k] msg=[] payload=(null)\n");
    CHECK("error\n", "malformed reason=[error: missing record key (use - for none)] raw=[error]\n");
    CHECK("error  msg\n",
          "malformed reason=[error: missing record key (use - for none)] raw=[error  msg]\n");
}

static void test_log(void **state)
{
    (void)state;
    CHECK("log info starting up\nlog debug\nlog warn  two spaces\nlog error x\n",
          "log level=[info] msg=[starting up]\nlog level=[debug] msg=[]\n"
          "log level=[warn] msg=[ two spaces]\nlog level=[error] msg=[x]\n");
    CHECK("log fatal boom\n", "malformed reason=[log: unknown level \"fatal\" (expected debug, "
                              "info, warn or error)] raw=[log fatal boom]\n");
    CHECK("log\n", "malformed reason=[log: missing level] raw=[log]\n");
}

static void test_unknown_and_empty(void **state)
{
    (void)state;
    CHECK("foo bar\n", "malformed reason=[unknown message \"foo\"] raw=[foo bar]\n");
    CHECK("\n\n\r\n", "");
    CHECK("PROGRESS 1\n", "malformed reason=[unknown message \"PROGRESS\"] raw=[PROGRESS 1]\n");
    CHECK(" progress 1\n", "malformed reason=[unknown message \"\"] raw=[ progress 1]\n");
}

static void test_crlf(void **state)
{
    (void)state;
    CHECK("total 3\r\nprogress 1\r\ncheckpoint a b\r\nlog info hi\r\n",
          "total 3\nprogress 1\ncheckpoint token=[a b]\nlog level=[info] msg=[hi]\n");
    /* Only one trailing CR is stripped; one inside stays part of the data. */
    CHECK("checkpoint a\rb\r\r\n", "checkpoint token=[a\\rb\\r]\n");
}

static void test_final_line_without_newline(void **state)
{
    (void)state;
    CHECK("progress 1\nprogress 2", "progress 1\nprogress 2\n");
    CHECK("progress 2\r", "progress 2\n");
}

static void test_payload(void **state)
{
    (void)state;
    CHECK("error/5 k msg\nab\0\ncprogress 1\n",
          "error key=[k] msg=[msg] payload=[ab\\x00\\nc]\nprogress 1\n");
    /* One newline after the payload is just an empty line. */
    CHECK("error/3 k m\nxyz\nprogress 2\n", "error key=[k] msg=[m] payload=[xyz]\nprogress 2\n");
    CHECK("error/0 - empty\nprogress 3\n", "error key=(null) msg=[empty] payload=[]\nprogress 3\n");
    /* The payload may look like protocol lines: it is data. */
    CHECK("error/11 k m\nprogress 9\n\ntotal 1\n",
          "error key=[k] msg=[m] payload=[progress 9\\n]\ntotal 1\n");
    CHECK("error/x k m\nprogress 1\n",
          "malformed reason=[error: payload length \"x\" is not a number] raw=[error/x k m]\n"
          "progress 1\n");
    /* A readable length with a bad header: the payload is skipped, in sync. */
    CHECK("error/4\nabcdprogress 1\n",
          "malformed reason=[error: missing record key (use - for none)] raw=[error/4]\n"
          "progress 1\n");
    CHECK("error/4 k m\r\nab\r\nprogress 1\n",
          "error key=[k] msg=[m] payload=[ab\\r\\n]\nprogress 1\n");
}

static void test_binary_payload_roundtrip(void **state)
{
    (void)state;
    unsigned char payload[4096];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (unsigned char)(i * 7 + (i >> 8));
    payload[0] = 0;
    payload[1] = '\n';
    payload[2] = '\r';
    struct ns_buf in = NS_BUF_INIT;
    buf_addf(&in, "error/%zu rec-1 binary\n", sizeof payload);
    buf_add(&in, payload, sizeof payload);
    buf_adds(&in, "\nprogress 1\n");
    size_t chunks[] = {1, 2, 3, 7, 64, 4096, 100000};
    for (size_t i = 0; i < NS_ARRAY_LEN(chunks); i++) {
        struct ns_report_parser p;
        struct collect c = {0};
        report_parser_init(&p);
        for (size_t off = 0; off < in.len; off += chunks[i])
            report_parser_feed(&p, in.data + off,
                               in.len - off < chunks[i] ? in.len - off : chunks[i], on_msg, &c);
        report_parser_finish(&p, on_msg, &c);
        report_parser_release(&p);
        assert_int_equal(c.count, 2);
        assert_int_equal(c.malformed, 0);
        assert_false(c.last_payload_null);
        assert_int_equal(c.last_payload.len, sizeof payload);
        assert_memory_equal(c.last_payload.data, payload, sizeof payload);
        collect_release(&c);
    }
    buf_release(&in);
}

static void test_oversized_payload_skipped(void **state)
{
    (void)state;
    size_t big = NS_REPORT_MAX_PAYLOAD + 10;
    struct ns_buf in = NS_BUF_INIT;
    buf_addf(&in, "error/%zu k m\n", big);
    size_t start = in.len;
    buf_grow(&in, big);
    memset(in.data + start, '\n', big); /* newlines: must not be read as lines */
    in.len += big;
    buf_adds(&in, "progress 7\n");
    char *got = parse_chunked(in.data, in.len, 4093, 1);
    assert_string_equal(got, "malformed reason=[error: payload of 1048586 bytes exceeds 1048576] "
                             "raw=[error/1048586 k m]\nprogress 7\n");
    free(got);
    buf_release(&in);

    /* The largest allowed payload is delivered. */
    struct ns_buf ok = NS_BUF_INIT;
    buf_addf(&ok, "error/%d k m\n", NS_REPORT_MAX_PAYLOAD);
    start = ok.len;
    buf_grow(&ok, NS_REPORT_MAX_PAYLOAD);
    memset(ok.data + start, 'z', NS_REPORT_MAX_PAYLOAD);
    ok.len += NS_REPORT_MAX_PAYLOAD;
    buf_adds(&ok, "progress 8\n");
    struct ns_report_parser p;
    struct collect c = {0};
    report_parser_init(&p);
    report_parser_feed(&p, ok.data, ok.len, on_msg, &c);
    report_parser_finish(&p, on_msg, &c);
    report_parser_release(&p);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.malformed, 0);
    assert_int_equal(c.last_payload.len, NS_REPORT_MAX_PAYLOAD);
    collect_release(&c);
    buf_release(&ok);
}

static void test_unfinished_payload(void **state)
{
    (void)state;
    CHECK(
        "error/10 k m\nabc",
        "malformed reason=[stream ended inside a payload: got 3 of 10 bytes] raw=[error/10 k m]\n");
    CHECK(
        "error/10 k m\n",
        "malformed reason=[stream ended inside a payload: got 0 of 10 bytes] raw=[error/10 k m]\n");
    CHECK(
        "error/10 k m",
        "malformed reason=[stream ended inside a payload: got 0 of 10 bytes] raw=[error/10 k m]\n");
}

static void test_huge_lines(void **state)
{
    (void)state;
    /* A line of exactly the limit is read; one byte more is not. */
    size_t n = NS_REPORT_MAX_LINE;
    char *line = malloc(n + 64);
    memcpy(line, "log info ", 9);
    memset(line + 9, 'a', n - 9);
    memcpy(line + n, "\nprogress 1\n", 12);
    char *got = parse_chunked(line, n + 12, 1000, 1);
    assert_memory_equal(got, "log level=[info] msg=[aaa", 25);
    assert_non_null(strstr(got, "]\nprogress 1\n"));
    free(got);

    line[n] = 'a';
    memcpy(line + n + 1, "\nprogress 1\n", 12);
    for (size_t chunk = 1; chunk <= 70000; chunk = chunk * 7 + 1) {
        got = parse_chunked(line, n + 13, chunk, 1);
        char want[400], as[192];
        memset(as, 'a', 191);
        as[191] = '\0';
        snprintf(want, sizeof want,
                 "malformed reason=[line of more than 65536 bytes] raw=[log info %s]\n"
                 "progress 1\n",
                 as);
        assert_string_equal(got, want);
        free(got);
    }
    free(line);
}

static void test_flood_is_bounded(void **state)
{
    (void)state;
    /* 64 MiB without a newline: one MALFORMED, and the parser's buffer stays
     * at the line limit instead of growing with the flood. */
    char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    struct ns_report_parser p;
    struct collect c = {0};
    report_parser_init(&p);
    for (int i = 0; i < 1024; i++) {
        report_parser_feed(&p, chunk, sizeof chunk, on_msg, &c);
        assert_true(p.pending.cap <= 2 * NS_REPORT_MAX_LINE + 64);
    }
    report_parser_feed(&p, "\nprogress 4\n", 12, on_msg, &c);
    report_parser_finish(&p, on_msg, &c);
    report_parser_release(&p);
    assert_int_equal(c.malformed, 1);
    assert_int_equal(c.count, 2);
    assert_non_null(strstr(c.out.data, "progress 4\n"));
    collect_release(&c);
}

static const char stream[] = "total 100\r\n"
                             "progress 10\n"
                             "checkpoint file=a.csv offset=1024\n"
                             "error rec-1 bad row\n"
                             "error/7 rec-2 with payload\n"
                             "a\0b\nc\r\n"
                             "\n"
                             "log warn slow disk\n"
                             "garbage here\n"
                             "error/0 - nothing\n"
                             "\n"
                             "progress x\n"
                             "progress 100";

static void test_split_every_boundary(void **state)
{
    (void)state;
    size_t n = sizeof stream - 1;
    char *want = parse_all(stream, n);
    assert_int_equal(strcmp(want, "total 100\nprogress 10\ncheckpoint token=[file=a.csv "
                                  "offset=1024]\nerror key=[rec-1] msg=[bad row] payload=(null)\n"
                                  "error key=[rec-2] msg=[with payload] "
                                  "payload=[a\\x00b\\nc\\r\\n]\nlog level=[warn] msg=[slow disk]\n"
                                  "malformed reason=[unknown message \"garbage\"] raw=[garbage "
                                  "here]\nerror key=(null) msg=[nothing] payload=[]\nmalformed "
                                  "reason=[progress: \"x\" is not a number] raw=[progress x]\n"
                                  "progress 100\n"),
                     0);
    /* Two pieces, split at every byte boundary. */
    for (size_t cut = 0; cut <= n; cut++) {
        struct ns_report_parser p;
        struct collect c = {0};
        report_parser_init(&p);
        report_parser_feed(&p, stream, cut, on_msg, &c);
        report_parser_feed(&p, stream + cut, n - cut, on_msg, &c);
        report_parser_finish(&p, on_msg, &c);
        report_parser_release(&p);
        assert_string_equal(c.out.data, want);
        collect_release(&c);
    }
    /* One byte at a time, and random chunk sizes. */
    char *got = parse_chunked(stream, n, 1, 1);
    assert_string_equal(got, want);
    free(got);
    for (unsigned seed = 1; seed <= 200; seed++) {
        got = parse_chunked(stream, n, 0, seed);
        assert_string_equal(got, want);
        free(got);
    }
    free(want);
}

static void test_fuzz_random_bytes(void **state)
{
    (void)state;
    static const char *const pieces[] = {"progress ", "total ",    "checkpoint ", "error ",
                                         "error/",    "log info ", "log ",        "\n",
                                         "\r\n",      "12",        "-",           " ",
                                         "\0",        "999999999", "k ",          "error/3 k m\n"};
    unsigned char buf[2048];
    srand(4242);
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0;
        while (n < sizeof buf - 32) {
            if (rand() % 3 == 0) {
                const char *s = pieces[rand() % (int)NS_ARRAY_LEN(pieces)];
                size_t k = *s ? strlen(s) : 1;
                memcpy(buf + n, s, k);
                n += k;
            } else {
                buf[n++] = (unsigned char)rand();
            }
            if (rand() % 50 == 0)
                break;
        }
        char *whole = parse_all(buf, n);
        char *bytewise = parse_chunked(buf, n, 1, 1);
        char *random = parse_chunked(buf, n, 0, (unsigned)iter);
        assert_string_equal(whole, bytewise);
        assert_string_equal(whole, random);
        free(whole);
        free(bytewise);
        free(random);
    }
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(report_kind_name(NS_REPORT_TOTAL), "total");
    assert_string_equal(report_kind_name(NS_REPORT_MALFORMED), "malformed");
    assert_string_equal(report_kind_name((enum ns_report_kind)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_progress_fast_path_agrees),
        cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_unknown_and_empty),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_final_line_without_newline),
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_binary_payload_roundtrip),
        cmocka_unit_test(test_oversized_payload_skipped),
        cmocka_unit_test(test_unfinished_payload),
        cmocka_unit_test(test_huge_lines),
        cmocka_unit_test(test_flood_is_bounded),
        cmocka_unit_test(test_split_every_boundary),
        cmocka_unit_test(test_fuzz_random_bytes),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
