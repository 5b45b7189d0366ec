/* test-plan.c - the planner: partitioners, parameters, keys, hashing, templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "nightshift/cli.h"
#include "nightshift/plan.h"
#include "nightshift/spec.h"

/* -Wwrite-strings: a writable copy of a literal. */
#define S(lit) ((char[]){lit})
#define MIN_NOPARAMS "name: j\ncommand: [w]\npartitions: {list: [a]}\n"

static void load(const char *path, const char *yaml, struct ns_spec *s)
{
    struct ns_diags d = {0};
    if (spec_load_buffer(path, yaml, strlen(yaml), s, &d) != 0) {
        char *t = diags_format(&d, path);
        fail_msg("spec did not load:\n%s", t);
    }
    diags_release(&d);
}

/* Builds a plan that must succeed. */
static void build(const char *yaml, char *const *given, size_t n, struct ns_plan *p)
{
    struct ns_spec s;
    struct ns_diags d = {0};
    load("s.yaml", yaml, &s);
    if (plan_build(&s, given, n, p, &d) != 0) {
        char *t = diags_format(&d, "s.yaml");
        fail_msg("plan failed:\n%s", t);
    }
    diags_release(&d);
    spec_release(&s);
}

/* Builds a plan that must fail; returns the formatted diagnostics. */
static char *build_fail_at(const char *path, const char *yaml, char *const *given, size_t n)
{
    struct ns_spec s;
    struct ns_plan p;
    struct ns_diags d = {0};
    load(path, yaml, &s);
    assert_int_equal(plan_build(&s, given, n, &p, &d), -1);
    assert_int_equal(p.len, 0);
    char *t = diags_format(&d, "s.yaml");
    diags_release(&d);
    spec_release(&s);
    return t;
}

static void expect_fail(const char *yaml, char *const *given, size_t n, const char *want)
{
    char *got = build_fail_at("s.yaml", yaml, given, n);
    if (strcmp(got, want) != 0)
        fail_msg("--- want\n%s--- got\n%s", want, got);
    free(got);
}

static char *json(const struct ns_plan *p, size_t i)
{
    return plan_partition_json(&p->parts[i]);
}

static void expect_json(const struct ns_plan *p, size_t i, const char *want)
{
    char *j = json(p, i);
    assert_string_equal(j, want);
    free(j);
}

static void test_list_inline(void **state)
{
    (void)state;
    struct ns_plan p;
    char *given[] = {S("region=eu")};
    build("name: j\ncommand: [w]\nparams: {region: ~}\n"
          "partitions: {list: [a, \"{region}-b\", \"c{{1}}\"]}\n",
          given, 1, &p);
    assert_int_equal(p.len, 3);
    expect_json(&p, 0, "{\"index\":\"0\",\"key\":\"a\",\"region\":\"eu\"}");
    expect_json(&p, 1, "{\"index\":\"1\",\"key\":\"eu-b\",\"region\":\"eu\"}");
    assert_string_equal(p.parts[2].key, "c{1}");
    assert_int_equal(p.parts[2].index, 2);
    assert_string_equal(kv_get(p.parts[2].params, p.parts[2].params_len, "region"), "eu");
    plan_release(&p);
}

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ns-test-plan-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_list_file(void **state)
{
    (void)state;
    write_file("keys.txt", "# customers\nacme\r\n\n   \nglobex\n  # indented comment\ninitech");
    char spec[256];
    snprintf(spec, sizeof spec, "%s/s.yaml", tmpdir);
    struct ns_spec s;
    struct ns_plan p;
    struct ns_diags d = {0};
    load(spec, "name: j\ncommand: [w]\npartitions: {list: {file: keys.txt}}\n", &s);
    assert_int_equal(plan_build(&s, NULL, 0, &p, &d), 0);
    assert_int_equal(p.len, 3);
    assert_string_equal(p.parts[0].key, "acme");
    assert_string_equal(p.parts[1].key, "globex");
    assert_string_equal(p.parts[2].key, "initech");
    plan_release(&p);
    spec_release(&s);

    /* Issue 22: a keys file saved with a UTF-8 BOM - the BOM is not part of
     * the first key (the worker got "\xef\xbb\xbfacme"). Only at the start. */
    write_file("keys.txt", "\xef\xbb\xbf" "acme\r\n\xef\xbb\xbf" "globex\n");
    load(spec, "name: j\ncommand: [w]\npartitions: {list: {file: keys.txt}}\n", &s);
    assert_int_equal(plan_build(&s, NULL, 0, &p, &d), 0);
    assert_int_equal(p.len, 2);
    assert_string_equal(p.parts[0].key, "acme");
    assert_string_equal(p.parts[1].key, "\xef\xbb\xbf" "globex");
    plan_release(&p);
    spec_release(&s);

    /* A missing keys file is reported at its node. */
    load(spec, "name: j\ncommand: [w]\npartitions:\n  list: {file: nope.txt}\n", &s);
    assert_int_equal(plan_build(&s, NULL, 0, &p, &d), -1);
    char *t = diags_format(&d, "s.yaml");
    assert_string_equal(t, "s.yaml:4:16: partitions.list.file: cannot read \"nope.txt\": No such "
                           "file or directory\n");
    free(t);
    diags_release(&d);
    spec_release(&s);

    write_file("empty.txt", "# nothing\n\n");
    load(spec, "name: j\ncommand: [w]\npartitions:\n  list: {file: empty.txt}\n", &s);
    assert_int_equal(plan_build(&s, NULL, 0, &p, &d), -1);
    t = diags_format(&d, "s.yaml");
    assert_string_equal(t, "s.yaml:4:16: partitions.list.file: \"empty.txt\" has no keys\n");
    free(t);
    diags_release(&d);
    spec_release(&s);
}

static void test_range(void **state)
{
    (void)state;
    struct ns_plan p;
    build("name: j\ncommand: [w]\npartitions: {range: {start: 1, end: 25, size: 10}}\n", NULL, 0,
          &p);
    assert_int_equal(p.len, 3);
    expect_json(&p, 0, "{\"index\":\"0\",\"key\":\"1-10\",\"start\":\"1\",\"end\":\"10\"}");
    expect_json(&p, 1, "{\"index\":\"1\",\"key\":\"11-20\",\"start\":\"11\",\"end\":\"20\"}");
    expect_json(&p, 2, "{\"index\":\"2\",\"key\":\"21-25\",\"start\":\"21\",\"end\":\"25\"}");
    plan_release(&p);
    build("name: j\ncommand: [w]\npartitions: {range: {start: -2, end: 0}}\n", NULL, 0, &p);
    assert_int_equal(p.len, 3);
    assert_string_equal(p.parts[0].key, "-2--2");
    assert_string_equal(p.parts[2].key, "0-0");
    plan_release(&p);
    /* Extreme bounds do not overflow. */
    build("name: j\ncommand: [w]\npartitions: {range: {start: 9223372036854775800, end: "
          "9223372036854775807, size: 5}}\n",
          NULL, 0, &p);
    assert_int_equal(p.len, 2);
    assert_string_equal(p.parts[1].key, "9223372036854775805-9223372036854775807");
    plan_release(&p);
}

static void test_range_errors(void **state)
{
    (void)state;
    char *g1[] = {S("n=0")};
    expect_fail("name: j\ncommand: [w]\nparams: {n: ~}\npartitions: {range: {start: 1, end: 5, "
                "size: \"{n}\"}}\n",
                g1, 1, "s.yaml:4:46: partitions.range.size: must be at least 1, got 0\n");
    char *g2[] = {S("n=x")};
    expect_fail("name: j\ncommand: [w]\nparams: {n: ~}\npartitions: {range: {start: \"{n}\", "
                "end: 5}}\n",
                g2, 1, "s.yaml:4:29: partitions.range.start: expected an integer, got \"x\"\n");
    expect_fail("name: j\ncommand: [w]\npartitions: {range: {start: 5, end: 1}}\n", NULL, 0,
                "s.yaml:3:29: partitions.range: start 5 is greater than end 1\n");
    expect_fail("name: j\ncommand: [w]\npartitions: {range: {start: 0, end: 100000000000}}\n", NULL,
                0, "s.yaml:3:1: partitions: more than 10000000 partitions\n");
}

static void test_dates(void **state)
{
    (void)state;
    struct ns_plan p;
    char *given[] = {S("to=2026-12-02")};
    build("name: j\ncommand: [w, \"{date}\"]\nparams: {to: ~}\n"
          "partitions: {dates: {from: 2026-11-29, to: \"{to}\"}}\n",
          given, 1, &p);
    assert_int_equal(p.len, 4);
    expect_json(&p, 0,
                "{\"index\":\"0\",\"key\":\"2026-11-29\",\"date\":\"2026-11-29\",\"to\":"
                "\"2026-12-02\"}");
    assert_string_equal(p.parts[1].key, "2026-11-30");
    assert_string_equal(p.parts[2].key, "2026-12-01");
    assert_string_equal(p.parts[3].key, "2026-12-02");
    plan_release(&p);
    /* Weekly, with a format; crosses the March DST change in many zones. */
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    build("name: j\ncommand: [w]\npartitions: {dates: {from: 2026-03-01, to: 2026-04-01, step: "
          "7d, format: \"%Y%m%d\"}}\n",
          NULL, 0, &p);
    assert_int_equal(p.len, 5);
    assert_string_equal(p.parts[0].key, "20260301");
    assert_string_equal(p.parts[4].key, "20260329");
    plan_release(&p);
    build("name: j\ncommand: [w]\npartitions: {dates: {from: 2024-02-28, to: 2024-03-01}}\n", NULL,
          0, &p);
    assert_int_equal(p.len, 3);
    assert_string_equal(p.parts[1].key, "2024-02-29");
    plan_release(&p);
    unsetenv("TZ");
    tzset();
}

static void test_dates_errors(void **state)
{
    (void)state;
    char *g[] = {S("from=2026-13-01")};
    expect_fail("name: j\ncommand: [w]\nparams: {from: ~}\n"
                "partitions: {dates: {from: \"{from}\", to: 2026-12-01}}\n",
                g, 1,
                "s.yaml:4:28: partitions.dates.from: \"2026-13-01\" is not a date "
                "(YYYY-MM-DD)\n");
    expect_fail("name: j\ncommand: [w]\npartitions: {dates: {from: 2026-12-01, to: 2026-11-01}}\n",
                NULL, 0, "s.yaml:3:28: partitions.dates: from 2026-12-01 is after to 2026-11-01\n");
    expect_fail("name: j\ncommand: [w]\npartitions: {dates: {from: 2026-11-01, to: 2026-11-02, "
                "format: \"%Y-%m\"}}\n",
                NULL, 0,
                "s.yaml:3:1: partitions: duplicate key \"2026-11\" (partitions 0 and 1)\n");
}

static void test_files(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/data", tmpdir);
    mkdir(dir, 0700);
    write_file("data/b.csv", "");
    write_file("data/a.csv", "");
    write_file("data/C.csv", "");
    write_file("data/skip.txt", "");
    char spec[256];
    snprintf(spec, sizeof spec, "%s/s.yaml", tmpdir);
    struct ns_spec s;
    struct ns_plan p;
    struct ns_diags d = {0};
    load(spec, "name: j\ncommand: [w, \"{file}\"]\npartitions: {files: \"data/*.csv\"}\n", &s);
    assert_int_equal(plan_build(&s, NULL, 0, &p, &d), 0);
    assert_int_equal(p.len, 3);
    assert_string_equal(p.parts[0].key, "data/C.csv"); /* byte order */
    assert_string_equal(p.parts[1].key, "data/a.csv");
    assert_string_equal(p.parts[2].key, "data/b.csv");
    char want[300];
    snprintf(want, sizeof want, "%s/data/a.csv", s.dir);
    assert_string_equal(kv_get(p.parts[1].params, p.parts[1].params_len, "file"), want);
    assert_true(want[0] == '/');
    plan_release(&p);
    spec_release(&s);

    load(spec, "name: j\ncommand: [w]\npartitions: {files: \"data/*.json\"}\n", &s);
    assert_int_equal(plan_build(&s, NULL, 0, &p, &d), -1);
    char *t = diags_format(&d, "s.yaml");
    assert_string_equal(t, "s.yaml:3:21: partitions.files: no file matches \"data/*.json\"\n");
    free(t);
    diags_release(&d);
    spec_release(&s);
}

static void test_params(void **state)
{
    (void)state;
    const char *yaml =
        "name: j\ncommand: [w]\nparams: {zeta: z, day: ~, alpha: ~}\npartitions: {list: [a]}\n";
    char *ok[] = {S("day=2026-11-23"), S("alpha=x=y")};
    struct ns_plan p;
    build(yaml, ok, 2, &p);
    assert_int_equal(p.run_params_len, 3);
    char *c = plan_params_canonical(&p);
    assert_string_equal(c, "alpha=x=y\nday=2026-11-23\nzeta=z\n");
    free(c);
    expect_json(&p, 0,
                "{\"index\":\"0\",\"key\":\"a\",\"alpha\":\"x=y\",\"day\":\"2026-11-23\","
                "\"zeta\":\"z\"}");
    plan_release(&p);

    char *unknown[] = {S("day=1"), S("alpha=2"), S("x=3")};
    expect_fail(yaml, unknown, 3, "s.yaml: unknown parameter \"x\" (declared: zeta, day, alpha)\n");
    char *missing[] = {S("alpha=2")};
    expect_fail(yaml, missing, 1, "s.yaml: parameter \"day\" is required: pass -p day=VALUE\n");
    char *malformed[] = {S("day"), S("alpha=1"), S("day=2")};
    expect_fail(yaml, malformed, 3, "s.yaml: -p \"day\": expected name=value\n");
    char *twice[] = {S("day=1"), S("alpha=1"), S("day=2")};
    expect_fail(yaml, twice, 3, "s.yaml: parameter \"day\" is given twice\n");
    char *none[] = {S("x=1")};
    expect_fail(MIN_NOPARAMS, none, 1,
                "s.yaml: unknown parameter \"x\" (this spec declares no parameters)\n");
}

static void test_duplicates(void **state)
{
    (void)state;
    expect_fail("name: j\ncommand: [w]\npartitions: {list: [a, b, a, c, b]}\n", NULL, 0,
                "s.yaml:3:27: partitions: duplicate key \"a\" (partitions 0 and 2)\n"
                "s.yaml:3:33: partitions: duplicate key \"b\" (partitions 1 and 4)\n");
}

static void test_determinism(void **state)
{
    (void)state;
    struct ns_plan a, b, c;
    const char *y1 = "name: j\ncommand: [w]\npartitions: {list: [a, b, c]}\n";
    build(y1, NULL, 0, &a);
    build(y1, NULL, 0, &b);
    build("name: j\ncommand: [w]\npartitions: {list: [a, b, d]}\n", NULL, 0, &c);
    assert_true(a.hash == b.hash);
    assert_true(a.hash != c.hash);
    plan_release(&c);
    /* A run parameter's value counts too. */
    const char *y2 = "name: j\ncommand: [w]\nparams: {v: ~}\npartitions: {list: [a, b, c]}\n";
    char *g1[] = {S("v=1")}, *g2[] = {S("v=2")};
    build(y2, g1, 1, &c);
    assert_true(c.hash != a.hash);
    struct ns_plan e;
    build(y2, g2, 1, &e);
    assert_true(c.hash != e.hash);
    plan_release(&e);
    plan_release(&c);
    plan_release(&b);
    plan_release(&a);
}

static void test_tmpl_expand(void **state)
{
    (void)state;
    struct ns_kv kv[] = {{S("a"), S("1")}, {S("name"), S("x y")}};
    struct ns_buf out = NS_BUF_INIT;
    char err[128];
    assert_int_equal(tmpl_expand("{a}-{name}/{{a}}{{", kv, 2, &out, err, sizeof err), 0);
    assert_string_equal(out.data, "1-x y/{a}{");
    buf_reset(&out);
    assert_int_equal(tmpl_expand("", kv, 2, &out, err, sizeof err), 0);
    assert_int_equal(out.len, 0);
    assert_int_equal(tmpl_expand("x{b}", kv, 2, &out, err, sizeof err), -1);
    assert_string_equal(err, "unknown placeholder {b}");
    assert_int_equal(tmpl_expand("x{a", kv, 2, &out, err, sizeof err), -1);
    assert_string_equal(err, "unbalanced \"{\" (write {{ for a literal brace)");
    assert_int_equal(tmpl_expand("x}y", kv, 2, &out, err, sizeof err), -1);
    assert_string_equal(err, "unbalanced \"}\" (write }} for a literal brace)");
    assert_int_equal(tmpl_expand("{ a }", kv, 2, &out, err, sizeof err), -1);
    assert_string_equal(err, "bad placeholder \"{ a }\" (a placeholder is {name}; write {{ and }} "
                             "for literal braces)");
    assert_int_equal(tmpl_expand("{}", kv, 2, &out, err, sizeof err), -1);
    assert_int_equal(tmpl_expand("{a{a}}", kv, 2, &out, err, sizeof err), -1);
    buf_release(&out);
    assert_null(kv_get(kv, 2, "zz"));
    assert_string_equal(kv_get(kv, 2, "name"), "x y");
}

static void test_json_escaping(void **state)
{
    (void)state;
    struct ns_kv kv[] = {{S("index"), S("0")}, {S("key"), S("a\"b\\\n\x1b")}};
    struct ns_partition part = {0, kv[1].value, kv, 2};
    char *j = plan_partition_json(&part);
    assert_string_equal(j, "{\"index\":\"0\",\"key\":\"a\\\"b\\\\\\n\\u001b\"}");
    free(j);
}

static void test_large_range(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ns_plan p;
    build("name: j\ncommand: [w]\npartitions: {range: {start: 0, end: 99999}}\n", NULL, 0, &p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(p.len, 100000);
    assert_string_equal(p.parts[99999].key, "99999-99999");
    assert_int_equal(p.parts[54321].index, 54321);
    assert_string_equal(kv_get(p.parts[54321].params, p.parts[54321].params_len, "start"), "54321");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* Generous for sanitizer builds; an unsanitized build takes ~50 ms. */
    assert_true(secs < 3.0);
    plan_release(&p);
}

/* plan_stream gives what plan_build gives: the same partitions in the same
 * order (as JSON), the same hash and count, and the same diagnostics. */
struct collected {
    char **lines;
    size_t n;
    int stop_at; /* > 0: each returns 7 at this many partitions */
};

static int collect(void *ctx, const struct ns_partition *p)
{
    struct collected *c = ctx;
    c->lines = realloc(c->lines, (c->n + 1) * sizeof *c->lines);
    c->lines[c->n++] = plan_partition_json(p);
    return c->stop_at > 0 && (int)c->n == c->stop_at ? 7 : 0;
}

static void free_collected(struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    free(c->lines);
    memset(c, 0, sizeof *c);
}

static void expect_stream_like_build(const char *yaml)
{
    struct ns_spec s;
    load("s.yaml", yaml, &s);
    struct ns_plan full, sum;
    struct ns_diags d1 = {0}, d2 = {0};
    int rb = plan_build(&s, NULL, 0, &full, &d1);
    struct collected first = {0}, each = {0};
    int stopped = -1;
    int rs = plan_stream(&s, NULL, 0, NULL, collect, &each, &sum, &d2, &stopped);
    assert_int_equal(rs, rb);
    assert_int_equal(stopped, 0);
    char *t1 = diags_format(&d1, "s.yaml"), *t2 = diags_format(&d2, "s.yaml");
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    if (rb == 0) {
        assert_int_equal(sum.len, full.len);
        assert_true(sum.hash == full.hash);
        assert_null(sum.parts);
        assert_int_equal(each.n, full.len);
        for (size_t i = 0; i < full.len; i++) {
            char *j = json(&full, i);
            assert_string_equal(each.lines[i], j);
            free(j);
        }
        size_t n = full.len;
        plan_release(&full);
        plan_release(&sum);
        /* The first pass sees the same partitions; each is then not called. */
        free_collected(&each);
        assert_int_equal(plan_stream(&s, NULL, 0, collect, NULL, &first, &sum, &d2, &stopped), 0);
        assert_int_equal(first.n, n);
        plan_release(&sum);
    } else {
        assert_int_equal(each.n, 0); /* a bad plan prints nothing */
    }
    free_collected(&first);
    free_collected(&each);
    diags_release(&d1);
    diags_release(&d2);
    spec_release(&s);
}

static void test_stream(void **state)
{
    (void)state;
    expect_stream_like_build("name: j\ncommand: [w]\npartitions: {list: [a, b, c]}\n");
    expect_stream_like_build("name: j\ncommand: [w]\npartitions: {range: {start: 5, end: 99, "
                             "size: 7}}\n");
    expect_stream_like_build("name: j\ncommand: [w]\npartitions: {dates: {from: 2026-01-30, "
                             "to: 2026-03-02}}\n");
    /* Duplicates, also ones a date format makes. */
    expect_stream_like_build("name: j\ncommand: [w]\npartitions: {list: [a, b, a, c, b]}\n");
    expect_stream_like_build("name: j\ncommand: [w]\npartitions: {dates: {from: 2026-01-30, "
                             "to: 2026-03-02, format: '%Y-%m'}}\n");
    expect_stream_like_build("name: j\ncommand: [w]\npartitions: {range: {start: 9, end: 1}}\n");

    /* A callback's non-zero return stops the stream and is handed back. */
    struct ns_spec s;
    load("s.yaml", "name: j\ncommand: [w]\npartitions: {range: {start: 1, end: 100}}\n", &s);
    struct collected c = {.stop_at = 10};
    struct ns_plan sum;
    struct ns_diags d = {0};
    int stopped = 0;
    assert_int_equal(plan_stream(&s, NULL, 0, NULL, collect, &c, &sum, &d, &stopped), -1);
    assert_int_equal(stopped, 7);
    assert_int_equal(c.n, 10);
    assert_int_equal(d.len, 0);
    free_collected(&c);
    diags_release(&d);
    spec_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_inline), cmocka_unit_test(test_list_file),
        cmocka_unit_test(test_range),       cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_dates),       cmocka_unit_test(test_dates_errors),
        cmocka_unit_test(test_files),       cmocka_unit_test(test_params),
        cmocka_unit_test(test_duplicates),  cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_tmpl_expand), cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_large_range), cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
