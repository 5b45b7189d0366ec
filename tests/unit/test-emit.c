/* test-emit.c - framing: report_format, `nightshift emit` and emit.h all
 * produce what the parser reads back exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "nightshift/cli.h"
#include "nightshift/emit.h"
#include "nightshift/report.h"

/* A copy of the messages one parse produced. */
struct got {
    size_t count;
    enum ns_report_kind kind;
    int64_t number;
    struct ns_buf key, text, payload;
    int key_null, payload_null;
};

static void on_msg(void *ctx, const struct ns_report_msg *m)
{
    struct got *g = ctx;
    g->count++;
    g->kind = m->kind;
    g->number = m->number;
    buf_reset(&g->key);
    buf_reset(&g->text);
    buf_reset(&g->payload);
    buf_add(&g->key, m->key ? m->key : "", m->key_len);
    buf_add(&g->text, m->text ? m->text : "", m->text_len);
    buf_add(&g->payload, m->payload ? (const void *)m->payload : "", m->payload_len);
    g->key_null = m->key == NULL;
    g->payload_null = m->payload == NULL;
}

static void got_release(struct got *g)
{
    buf_release(&g->key);
    buf_release(&g->text);
    buf_release(&g->payload);
}

static void parse(const void *s, size_t n, struct got *g)
{
    struct ns_report_parser p;
    memset(g, 0, sizeof *g);
    report_parser_init(&p);
    report_parser_feed(&p, s, n, on_msg, g);
    report_parser_finish(&p, on_msg, g);
    report_parser_release(&p);
}

/* Formats m, parses the bytes, expects one message equal to m. */
static void roundtrip(const struct ns_report_msg *m)
{
    struct ns_buf out = NS_BUF_INIT;
    struct got g;
    char err[256];
    assert_int_equal(report_format(&out, m, err, sizeof err), 0);
    parse(out.data, out.len, &g);
    assert_int_equal(g.count, 1);
    assert_int_equal(g.kind, m->kind);
    assert_int_equal(g.number, m->number);
    assert_int_equal(g.key.len, m->key_len);
    if (m->key_len)
        assert_memory_equal(g.key.data, m->key, m->key_len);
    assert_int_equal(g.text.len, m->text_len);
    if (m->text_len)
        assert_memory_equal(g.text.data, m->text, m->text_len);
    assert_int_equal(g.payload_null, m->payload == NULL);
    assert_int_equal(g.payload.len, m->payload_len);
    if (m->payload_len)
        assert_memory_equal(g.payload.data, m->payload, m->payload_len);
    got_release(&g);
    buf_release(&out);
}

static void test_format_roundtrip(void **state)
{
    (void)state;
    struct ns_report_msg m = {.kind = NS_REPORT_TOTAL, .number = 1000};
    roundtrip(&m);
    m.kind = NS_REPORT_PROGRESS;
    m.number = NS_REPORT_COUNT_MAX;
    roundtrip(&m);

    struct ns_report_msg c = {.kind = NS_REPORT_CHECKPOINT, .text = " a b\tc ", .text_len = 7};
    roundtrip(&c);
    char tok[4096];
    memset(tok, 'x', sizeof tok);
    c.text = tok;
    c.text_len = sizeof tok;
    roundtrip(&c);

    struct ns_report_msg e = {
        .kind = NS_REPORT_ERROR, .key = "rec-1", .key_len = 5, .text = "bad  row ", .text_len = 9};
    roundtrip(&e);
    e.key = NULL;
    e.key_len = 0;
    roundtrip(&e);
    e.text = "";
    e.text_len = 0;
    roundtrip(&e);

    static unsigned char bin[100000];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 31);
    memcpy(bin, "\0\n\r\nerror x y\n", 14);
    e.key = "k";
    e.key_len = 1;
    e.payload = bin;
    e.payload_len = sizeof bin;
    roundtrip(&e);
    e.payload = (const unsigned char *)"";
    e.payload_len = 0;
    roundtrip(&e);

    struct ns_report_msg l = {
        .kind = NS_REPORT_LOG, .key = "warn", .key_len = 4, .text = "slow disk", .text_len = 9};
    roundtrip(&l);
}

static void refused(const struct ns_report_msg *m, const char *needle)
{
    struct ns_buf out = NS_BUF_INIT;
    char err[256] = "";
    buf_adds(&out, "keep");
    assert_int_equal(report_format(&out, m, err, sizeof err), -1);
    assert_string_equal(out.data, "keep");
    assert_non_null(strstr(err, needle));
    buf_release(&out);
}

static void test_format_refuses(void **state)
{
    (void)state;
    struct ns_report_msg m = {.kind = NS_REPORT_PROGRESS, .number = -1};
    refused(&m, "negative");
    m.number = NS_REPORT_COUNT_MAX + 1; /* the parser would refuse it: so does the writer */
    refused(&m, "is over 1000000000000000");
    struct ns_report_msg c = {.kind = NS_REPORT_CHECKPOINT, .text = "a\nb", .text_len = 3};
    refused(&c, "newline");
    c.text_len = 0;
    refused(&c, "empty");
    char tok[4097];
    memset(tok, 'x', sizeof tok);
    c.text = tok;
    c.text_len = sizeof tok;
    refused(&c, "exceeds 4096");
    struct ns_report_msg e = {.kind = NS_REPORT_ERROR, .key = "a b", .key_len = 3};
    refused(&e, "whitespace");
    e.key = "a\x1b";
    e.key_len = 2;
    refused(&e, "control");
    e.key = "k";
    e.key_len = 1;
    e.payload = (const unsigned char *)"";
    e.payload_len = NS_REPORT_MAX_PAYLOAD + 1;
    refused(&e, "exceeds 1048576");
    struct ns_report_msg l = {.kind = NS_REPORT_LOG, .key = "fatal", .key_len = 5};
    refused(&l, "log level");
    static char huge[NS_REPORT_MAX_LINE + 10];
    memset(huge, 'm', sizeof huge);
    l.key = "info";
    l.key_len = 4;
    l.text = huge;
    l.text_len = sizeof huge;
    refused(&l, "line limit");
    struct ns_report_msg bad = {.kind = NS_REPORT_MALFORMED};
    refused(&bad, "cannot be sent");
}

static void test_format_folds_newlines(void **state)
{
    (void)state;
    struct ns_report_msg e = {.kind = NS_REPORT_ERROR,
                              .key = "k",
                              .key_len = 1,
                              .text = "two\nlines\r\n",
                              .text_len = 11};
    struct ns_buf out = NS_BUF_INIT;
    assert_int_equal(report_format(&out, &e, NULL, 0), 0);
    assert_string_equal(out.data, "error k two lines  \n");
    buf_release(&out);
}

/* The pipe that stands in for the report fd; set up once in main() because
 * emit.h reads the environment only once. */
static int pipe_fd[2];

static size_t drain(char *buf, size_t cap)
{
    ssize_t n = read(pipe_fd[0], buf, cap);
    return n > 0 ? (size_t)n : 0;
}

static void expect_drain(const char *want, size_t len)
{
    char buf[1024];
    size_t n = drain(buf, sizeof buf);
    assert_int_equal(n, len);
    assert_memory_equal(buf, want, len);
}

#define EXPECT_DRAIN(lit) expect_drain(lit, sizeof(lit) - 1)

static int run_emit(int argc, const char **argv)
{
    return cmd_emit.main(argc, (char **)argv);
}

static void test_cmd_emit(void **state)
{
    (void)state;
    static char buf[70000];
    struct got g;

    const char *a1[] = {"emit", "progress", "500"};
    assert_int_equal(run_emit(3, a1), NS_EXIT_OK);
    parse(buf, drain(buf, sizeof buf), &g);
    assert_int_equal(g.count, 1);
    assert_int_equal(g.kind, NS_REPORT_PROGRESS);
    assert_int_equal(g.number, 500);
    got_release(&g);

    const char *a2[] = {"emit", "error", "row-9", "bad", "date\nhere", "--payload", "a\nb\0"};
    assert_int_equal(run_emit(7, a2), NS_EXIT_OK);
    size_t n = drain(buf, sizeof buf);
    assert_int_equal(n, 32);
    assert_memory_equal(buf, "error/3 row-9 bad date here\na\nb\n", n);
    parse(buf, n, &g);
    assert_int_equal(g.kind, NS_REPORT_ERROR);
    assert_string_equal(g.text.data, "bad date here");
    assert_string_equal(g.payload.data, "a\nb");
    got_release(&g);

    char path[] = "/tmp/ns-emit-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\0\1\2\n", 4), 4);
    close(fd);
    const char *a3[] = {"emit", "error", "--payload-file", path, "-", "msg"};
    assert_int_equal(run_emit(6, a3), NS_EXIT_OK);
    unlink(path);
    parse(buf, drain(buf, sizeof buf), &g);
    assert_int_equal(g.kind, NS_REPORT_ERROR);
    assert_true(g.key_null);
    assert_int_equal(g.payload.len, 4);
    assert_memory_equal(g.payload.data, "\0\1\2\n", 4);
    got_release(&g);

    const char *a4[] = {"emit", "log", "info", "hello", "world"};
    assert_int_equal(run_emit(5, a4), NS_EXIT_OK);
    EXPECT_DRAIN("log info hello world\n");

    const char *a5[] = {"emit", "checkpoint", "file=a b"};
    assert_int_equal(run_emit(3, a5), NS_EXIT_OK);
    EXPECT_DRAIN("checkpoint file=a b\n");

    /* Usage errors write nothing. */
    const char *bad1[] = {"emit", "progress", "-1"};
    const char *bad2[] = {"emit", "progress"};
    const char *bad3[] = {"emit", "error", "a b", "msg"};
    const char *bad4[] = {"emit", "checkpoint", "a\nb"};
    const char *bad5[] = {"emit", "log", "fatal", "x"};
    const char *bad6[] = {"emit", "frobnicate"};
    const char *bad7[] = {"emit", "error", "k", "--payload", "a", "--payload", "b"};
    const char *bad8[] = {"emit", "error", "k", "--payload-file", "/proc/self/nonexistent/x"};
    const char *bad9[] = {"emit", "error"};
    assert_int_equal(run_emit(3, bad1), NS_EXIT_USAGE);
    assert_int_equal(run_emit(2, bad2), NS_EXIT_USAGE);
    assert_int_equal(run_emit(4, bad3), NS_EXIT_USAGE);
    assert_int_equal(run_emit(3, bad4), NS_EXIT_USAGE);
    assert_int_equal(run_emit(4, bad5), NS_EXIT_USAGE);
    assert_int_equal(run_emit(2, bad6), NS_EXIT_USAGE);
    assert_int_equal(run_emit(7, bad7), NS_EXIT_USAGE);
    assert_int_equal(run_emit(5, bad8), NS_EXIT_USAGE);
    assert_int_equal(run_emit(2, bad9), NS_EXIT_USAGE);
    assert_int_equal(drain(buf, sizeof buf), 0);

    /* Outside nightshift. */
    char saved[32];
    snprintf(saved, sizeof saved, "%s", getenv("NIGHTSHIFT_REPORT_FD"));
    unsetenv("NIGHTSHIFT_REPORT_FD");
    assert_int_equal(run_emit(3, a1), NS_EXIT_USAGE);
    setenv("NIGHTSHIFT_REPORT_FD", "nope", 1);
    assert_int_equal(run_emit(3, a1), NS_EXIT_USAGE);
    /* A closed fd is a write error. */
    setenv("NIGHTSHIFT_REPORT_FD", "999", 1);
    assert_int_equal(run_emit(3, a1), NS_EXIT_ERROR);
    setenv("NIGHTSHIFT_REPORT_FD", saved, 1);
}

static void test_header_api(void **state)
{
    (void)state;
    static char buf[70000];
    struct got g;

    assert_int_equal(ns_emit_total(10), 0);
    assert_int_equal(ns_emit_progress(3), 0);
    EXPECT_DRAIN("total 10\nprogress 3\n");

    assert_int_equal(ns_emit_checkpoint("off=1 x"), 0);
    EXPECT_DRAIN("checkpoint off=1 x\n");

    assert_int_equal(ns_emit_error("r1", "bad\nrow", "\0\n", 2), 0);
    parse(buf, drain(buf, sizeof buf), &g);
    assert_int_equal(g.count, 1);
    assert_int_equal(g.kind, NS_REPORT_ERROR);
    assert_string_equal(g.key.data, "r1");
    assert_string_equal(g.text.data, "bad row");
    assert_int_equal(g.payload.len, 2);
    assert_memory_equal(g.payload.data, "\0\n", 2);
    got_release(&g);

    assert_int_equal(ns_emit_error(NULL, "no key", NULL, 0), 0);
    parse(buf, drain(buf, sizeof buf), &g);
    assert_true(g.key_null);
    assert_true(g.payload_null);
    assert_string_equal(g.text.data, "no key");
    got_release(&g);

    assert_int_equal(ns_emit_log("info", "hi"), 0);
    EXPECT_DRAIN("log info hi\n");

    assert_int_equal(ns_emit_progress(-1), -1);
    assert_int_equal(ns_emit_checkpoint(""), -1);
    assert_int_equal(ns_emit_checkpoint("a\nb"), -1);
    assert_int_equal(ns_emit_error("a b", "m", NULL, 0), -1);
    assert_int_equal(ns_emit_log("fatal", "m"), -1);
    assert_int_equal(drain(buf, sizeof buf), 0);
}

int main(void)
{
    char fdtext[16];
    if (pipe(pipe_fd) < 0)
        return 1;
    fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK); /* drain() on an empty pipe returns 0 */
    snprintf(fdtext, sizeof fdtext, "%d", pipe_fd[1]);
    setenv("NIGHTSHIFT_REPORT_FD", fdtext, 1);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_roundtrip),
        cmocka_unit_test(test_format_refuses),
        cmocka_unit_test(test_format_folds_newlines),
        cmocka_unit_test(test_cmd_emit),
        cmocka_unit_test(test_header_api),
    };
    return cmocka_run_group_tests_name("emit", tests, NULL, NULL);
}
