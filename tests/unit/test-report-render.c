/* test-report-render.c - the morning report and the metrics exposition
 * rendered from a report built here: worker bytes never reach the output
 * raw (terminal escapes, markdown's backticks and pipes), label values are
 * escaped as Prometheus requires, unknown figures are left out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nightshift/metrics.h"
#include "nightshift/query-report.h"
#include "nightshift/summary.h"

/* The report owns mutable strings; these stand in for them. */
static char sig[] = "bad field <n>", key[] = "rec`1|x", msg[] = "bad \x1b[31mfield\x1b[0m | `code`",
            job[] = "jo\"b\\x", params[] = "day=2026-11-30\n", state_word[] = "failed",
            reason[] = "1 of 3 partitions failed";
static struct ns_report_group group = {sig, 3, 7, key, msg};

/* A time as a plain number, for report_night_finish_words. */
static char *fmt_num(double t, char *out, size_t len)
{
    snprintf(out, len, "%g", t);
    return out;
}

static struct ns_run_report sample(void)
{
    struct ns_run_report r = {0};
    r.run_id = 4;
    r.run.job = job;
    r.run.params = params;
    r.run.state = state_word;
    r.run.state_reason = reason;
    r.run.counts.total = 3, r.run.counts.n[NS_PS_SUCCEEDED] = 1, r.run.counts.n[NS_PS_FAILED] = 1,
    r.run.counts.n[NS_PS_SKIPPED] = 1;
    r.attempts = 4, r.succeeded_attempts = 1, r.failed_attempts = 3, r.retries = 2;
    r.run.started_at = 1000, r.run.finished_at = 1060, r.now = 2000, r.wall_s = 60;
    r.ndurations = 2, r.p50_s = 1.5, r.p95_s = 30, r.max_s = 30, r.sum_s = 31.5;
    for (int i = 0; i < NS_DURATION_NBUCKETS; i++)
        r.duration_le[i] = ns_duration_buckets[i] >= 30 ? 2 : ns_duration_buckets[i] >= 1.5;
    r.groups = &group, r.ngroups = 1, r.nsignatures = 1, r.run.error_records = 3;
    return r;
}

static void test_metrics_labels_and_unknowns(void **state)
{
    (void)state;
    struct ns_run_report r = sample();
    const struct ns_run_report *p = &r;
    struct ns_buf b = NS_BUF_INIT;
    metrics_render(&p, 1, &b);
    /* The nightshift_job label escapes the quote and the backslash (issue 22
     * item 7: not job, which the scraper owns); only run_info names the run. */
    assert_non_null(strstr(b.data, "nightshift_run_info{nightshift_job=\"jo\\\"b\\\\x\","
                                   "run=\"4\"} 1\n"));
    assert_non_null(strstr(b.data, "nightshift_run_state{nightshift_job=\"jo\\\"b\\\\x\","
                                   "state=\"failed\"} 1\n"));
    assert_non_null(strstr(b.data, "nightshift_partition_success_ratio{nightshift_job=\"jo\\\"b"
                                   "\\\\x\"} 0.5\n"));
    /* Durations as a cumulative histogram: 1.5 s and 30 s. */
    assert_non_null(strstr(b.data, "nightshift_partition_duration_seconds_bucket{nightshift_job="
                                   "\"jo\\\"b\\\\x\",le=\"1\"} 0\n"));
    assert_non_null(strstr(b.data, "nightshift_partition_duration_seconds_bucket{nightshift_job="
                                   "\"jo\\\"b\\\\x\",le=\"5\"} 1\n"));
    assert_non_null(strstr(b.data, "nightshift_partition_duration_seconds_bucket{nightshift_job="
                                   "\"jo\\\"b\\\\x\",le=\"30\"} 2\n"));
    assert_non_null(strstr(b.data, "nightshift_partition_duration_seconds_bucket{nightshift_job="
                                   "\"jo\\\"b\\\\x\",le=\"+Inf\"} 2\n"));
    assert_null(strstr(b.data, "quantile="));
    assert_null(strstr(b.data, "{job="));
    assert_null(strstr(b.data, "records_per_second"));
    assert_non_null(strstr(b.data, "nightshift_run_end_timestamp_seconds{nightshift_job=\"jo\\\"b"
                                   "\\\\x\"} 1060\n"));
    /* No ETA, no SLA: the families are declared, no sample is made up. */
    assert_non_null(strstr(b.data, "# TYPE nightshift_eta_seconds gauge\n# HELP"));
    assert_null(strstr(b.data, "nightshift_sla_state{"));
    /* A finished run is driven by nobody. */
    assert_non_null(strstr(b.data, "nightshift_runtime_up{nightshift_job=\"jo\\\"b\\\\x\"} 0\n"));
    buf_release(&b);
}

static void test_summary_text_escapes(void **state)
{
    (void)state;
    struct ns_run_report r = sample();
    struct ns_buf b = NS_BUF_INIT;
    summary_render(&r, NS_SUMMARY_TEXT, &b);
    assert_null(memchr(b.data, '\x1b', b.len));
    assert_non_null(strstr(b.data, "bad \\x1b[31mfield\\x1b[0m | `code`"));
    assert_non_null(strstr(b.data, "durations    p50 1.5s, p95 30s, max 30s (over 2 finished"));
    buf_release(&b);
}

static void test_summary_markdown_cannot_break_out(void **state)
{
    (void)state;
    struct ns_run_report r = sample();
    struct ns_buf b = NS_BUF_INIT;
    summary_render(&r, NS_SUMMARY_MARKDOWN, &b);
    assert_null(memchr(b.data, '\x1b', b.len));
    /* Inside a table cell a worker's | or ` would end the cell or the code span. */
    assert_non_null(strstr(b.data, "| `bad \\x1b[31mfield\\x1b[0m \\x7c \\x60code\\x60` |"));
    assert_non_null(strstr(b.data, "key rec\\x601\\x7cx"));
    buf_release(&b);
}

static void test_summary_json_keeps_bytes(void **state)
{
    (void)state;
    struct ns_run_report r = sample();
    struct ns_buf b = NS_BUF_INIT;
    summary_render(&r, NS_SUMMARY_JSON, &b);
    assert_non_null(strstr(b.data, "\"schema\":\"nightshift.summary/1\""));
    assert_non_null(strstr(b.data, "\"message\":\"bad \\u001b[31mfield\\u001b[0m | `code`\""));
    assert_null(memchr(b.data, '\x1b', b.len));
    buf_release(&b);
}

/* One finish for a night, along its dependencies (report_night_finish):
 * a dependant ends no earlier than what it waits for; a run held by a
 * failed upstream, or by one with no projection, has none. */
static struct ns_run_report night_run(int64_t id, int state, double finish, double finished_at)
{
    struct ns_run_report r = {0};
    r.run_id = id;
    r.run.id = id;
    r.run.run_state = state;
    r.run.final = state == NS_RS_SUCCEEDED || state == NS_RS_FAILED || state == NS_RS_STOPPED;
    r.run.has_eta = finish > 0;
    r.run.finish_at = finish;
    r.run.finished_at = finished_at;
    return r;
}

static void test_night_finish_along_dependencies(void **state)
{
    (void)state;
    char held[] = "waiting for a d2 (failed, attempt 1/1)";
    int64_t a_id = 1;
    struct ns_run_report runs[3] = {night_run(1, NS_RS_RUNNING, 100, 0),
                                    night_run(2, NS_RS_RUNNING, 50, 0),
                                    night_run(3, NS_RS_SUCCEEDED, 0, 20)};
    runs[2].run.sla_deadline = 90;
    struct ns_night_after after[3] = {{NULL, 0}, {&a_id, 1}, {NULL, 0}};
    struct ns_night_report n = {.runs = runs, .after = after, .nruns = 3, .now = 10};
    struct ns_night_finish f;
    report_night_finish(&n, &f);
    /* Run 2 projects 50 on its own but waits for run 1 (100). */
    assert_true(f.finish_at == 100);
    assert_int_equal(f.last_run, 2);
    assert_int_equal(f.unfinished, 2);
    assert_int_equal(f.deadline_run, 3);
    struct ns_buf b = NS_BUF_INIT;
    report_night_finish_words(&n, &f, fmt_num, &b);
    assert_string_equal(b.data, "projected 100 (run 2, the last to end); latest deadline 90 "
                                "(run 3): late by 10s");
    buf_reset(&b);

    /* Run 1 failed and holds a partition of run 2 back: no projection. */
    runs[0] = night_run(1, NS_RS_FAILED, 0, 30);
    runs[1].run.waiting_for = held;
    report_night_finish(&n, &f);
    assert_true(f.finish_at == 0);
    assert_int_equal(f.unknown_run, 2);
    assert_int_equal(f.unknown_upstream, 1);
    report_night_finish_words(&n, &f, fmt_num, &b);
    assert_string_equal(b.data, "not known: run 2 waits for run 1 (failed); latest deadline 90 "
                                "(run 3)");
    buf_reset(&b);
    /* on_failure: skip: nothing held, run 2 ends on its own. */
    runs[1].run.waiting_for = NULL;
    report_night_finish(&n, &f);
    assert_true(f.finish_at == 50);
    assert_int_equal(f.unknown_run, 0);

    /* Run 1 paused: no projection of its own, and so none for run 2. */
    runs[0] = night_run(1, NS_RS_PAUSED, 0, 0);
    report_night_finish(&n, &f);
    assert_int_equal(f.unknown_run, 1);
    assert_int_equal(f.unknown_upstream, 0);
    report_night_finish_words(&n, &f, fmt_num, &b);
    assert_string_equal(b.data, "not known: run 1 does not move; latest deadline 90 (run 3)");
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_labels_and_unknowns),
        cmocka_unit_test(test_summary_text_escapes),
        cmocka_unit_test(test_summary_markdown_cannot_break_out),
        cmocka_unit_test(test_summary_json_keeps_bytes),
        cmocka_unit_test(test_night_finish_along_dependencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
