/*
 * summary.c - render the morning report (summary.h).
 *
 * Text and markdown share one layout: a list of figures (label, value) and
 * a few tables, each built once as escaped cells and then written either as
 * aligned columns or as markdown pipes. JSON is written from the typed
 * report directly, numbers as numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/escape.h"
#include "nightshift/query-report.h"
#include "nightshift/summary.h"

int summary_format_from_name(const char *name)
{
    static const struct {
        const char *name;
        enum ns_summary_format f;
    } names[] = {{"text", NS_SUMMARY_TEXT},
                 {"markdown", NS_SUMMARY_MARKDOWN},
                 {"md", NS_SUMMARY_MARKDOWN},
                 {"json", NS_SUMMARY_JSON}};
    for (size_t i = 0; i < NS_ARRAY_LEN(names); i++)
        if (strcmp(name, names[i].name) == 0)
            return (int)names[i].f;
    return -1;
}

/* ---- cells ------------------------------------------------------------- */

/* Escaped for a terminal; in markdown also no backtick or pipe survives
 * (a code span or table cell could otherwise be broken out of). */
static char *cell(const char *s, enum ns_summary_format f)
{
    struct ns_buf b = NS_BUF_INIT;
    escape_for_terminal(s, strlen(s), 0, &b);
    if (f != NS_SUMMARY_MARKDOWN)
        return buf_detach(&b);
    struct ns_buf m = NS_BUF_INIT;
    for (size_t i = 0; i < b.len; i++) {
        if (b.data[i] == '`')
            buf_adds(&m, "\\x60");
        else if (b.data[i] == '|')
            buf_adds(&m, "\\x7c");
        else
            buf_addc(&m, b.data[i]);
    }
    buf_release(&b);
    return buf_detach(&m);
}

static char *fmt_dur(double s)
{
    char d[32];
    return ns_xstrdup(ns_format_duration((int64_t)(s * 1000 + 0.5), d, sizeof d));
}

static char *fmt_time(double t)
{
    if (t <= 0)
        return ns_xstrdup("-");
    time_t tt = (time_t)t;
    struct tm tm;
    char out[40];
    localtime_r(&tt, &tm);
    strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S", &tm);
    return ns_xstrdup(out);
}

/* ---- one layout for text and markdown ------------------------------------- */

#define MAX_COLS 6

struct table {
    const char *title;
    size_t ncols;
    const char *head[MAX_COLS];
    char **cells; /* nrows * ncols, owned */
    size_t nrows;
};

static void table_row(struct table *t, ...)
{
    va_list ap;
    va_start(ap, t);
    t->cells = ns_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = va_arg(ap, char *); /* takes ownership */
    va_end(ap);
    t->nrows++;
}

static void table_write(struct table *t, enum ns_summary_format f, struct ns_buf *out)
{
    if (f == NS_SUMMARY_MARKDOWN) {
        buf_addf(out, "\n## %s\n\n", t->title);
        if (!t->nrows) {
            buf_adds(out, "(none)\n");
            goto done;
        }
        for (size_t c = 0; c < t->ncols; c++)
            buf_addf(out, "| %s ", t->head[c]);
        buf_adds(out, "|\n");
        for (size_t c = 0; c < t->ncols; c++)
            buf_adds(out, "|---");
        buf_adds(out, "|\n");
        for (size_t r = 0; r < t->nrows; r++) {
            for (size_t c = 0; c < t->ncols; c++) {
                const char *v = t->cells[r * t->ncols + c];
                buf_addf(out, *v ? "| `%s` " : "| %s ", v);
            }
            buf_adds(out, "|\n");
        }
        goto done;
    }
    buf_addf(out, "\n%s:\n", t->title);
    if (!t->nrows) {
        buf_adds(out, "  (none)\n");
        goto done;
    }
    size_t w[MAX_COLS];
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = strlen(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t l = strlen(t->cells[r * t->ncols + c]);
            if (l > w[c] && c + 1 < t->ncols)
                w[c] = l > 40 ? 40 : l;
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        buf_adds(out, " ");
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = r == 0 ? t->head[c] : t->cells[(r - 1) * t->ncols + c];
            if (c + 1 < t->ncols)
                buf_addf(out, " %-*s", (int)w[c], v);
            else
                buf_addf(out, " %s", v);
        }
        buf_adds(out, "\n");
    }
done:
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = 0;
}

static void figure(struct ns_buf *out, enum ns_summary_format f, const char *label,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void figure(struct ns_buf *out, enum ns_summary_format f, const char *label,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (f == NS_SUMMARY_MARKDOWN)
        buf_addf(out, "- **%s**: ", label);
    else
        buf_addf(out, "%-12s ", label);
    buf_vaddf(out, fmt, ap);
    buf_addc(out, '\n');
    va_end(ap);
}

static char *params_inline(const char *canon, enum ns_summary_format f)
{
    char *s = ns_params_oneline(canon);
    char *c = cell(s, f);
    free(s);
    return c;
}

static void render_human(const struct ns_run_report *r, enum ns_summary_format f,
                         struct ns_buf *out)
{
    bool md = f == NS_SUMMARY_MARKDOWN;
    char *job = cell(r->job, f), *params = params_inline(r->params, f);
    if (md)
        buf_addf(out, "# Run %lld: %s\n\n", (long long)r->run_id, job);
    else
        buf_addf(out, "nightshift summary: run %lld %s\n", (long long)r->run_id, job);
    free(job);
    figure(out, f, "parameters", "%s", *params ? params : "(none)");
    free(params);
    char *reason = r->state_reason ? cell(r->state_reason, f) : NULL;
    bool final = r->finished_at > 0;
    figure(out, f, "state", "%s%s%s%s%s", r->state, reason ? " (" : "", reason ? reason : "",
           reason ? ")" : "",
           final ? "" : r->runtime_alive ? "; a runtime is driving it" : "; no runtime drives it");
    free(reason);
    char *wall = fmt_dur(r->wall_s), *t0 = fmt_time(r->started_at), *t1 = fmt_time(r->finished_at);
    figure(out, f, "wall time", "%s (started %s, %s %s)", wall, t0,
           final ? "finished" : "not finished;", final ? t1 : "still counting");
    free(wall);
    free(t0);
    free(t1);
    int64_t unfinished = r->total - r->succeeded - r->failed - r->skipped;
    figure(out, f, "partitions",
           "%lld: %lld succeeded, %lld failed, %lld skipped, %lld unfinished", (long long)r->total,
           (long long)r->succeeded, (long long)r->failed, (long long)r->skipped,
           (long long)unfinished);
    if (r->ndurations > 0) {
        char *p50 = fmt_dur(r->p50_s), *p95 = fmt_dur(r->p95_s), *mx = fmt_dur(r->max_s);
        figure(out, f, "durations", "p50 %s, p95 %s, max %s (over %lld finished partitions)", p50,
               p95, mx, (long long)r->ndurations);
        free(p50);
        free(p95);
        free(mx);
    } else {
        figure(out, f, "durations", "none yet (no partition has finished)");
    }
    figure(out, f, "attempts",
           "%lld, of which %lld retries; %lld failed, %lld timed out, %lld signalled, %lld "
           "killed, %lld interrupted",
           (long long)r->attempts, (long long)r->retries, (long long)r->failed_attempts,
           (long long)r->timed_out, (long long)r->signalled, (long long)r->killed,
           (long long)r->interrupted);
    figure(out, f, "rework",
           "%lld records redone after crashes (%lld in all, by %lld attempts resuming behind "
           "the progress reached)",
           (long long)r->redone_after_crash, (long long)r->redone, (long long)r->resumed_attempts);
    figure(out, f, "records", "%lld done; %lld error records under %lld signatures",
           (long long)r->records_done, (long long)r->error_records, (long long)r->nsignatures);
    if (r->sla_state) {
        char *dl = fmt_time(r->sla_deadline), *md_ = fmt_dur(r->sla_max_duration);
        figure(out, f, "SLA", "%s (deadline %s, max duration %s)", r->sla_state, dl,
               r->sla_max_duration > 0 ? md_ : "-");
        free(dl);
        free(md_);
    } else {
        figure(out, f, "SLA", "none set");
    }

    struct table t = {"slowest partitions", 5, {"PART", "KEY", "TIME", "ATTEMPTS", "STATE"}, NULL,
                      0};
    for (size_t i = 0; i < r->nslowest; i++) {
        const struct ns_report_part *p = &r->slowest[i];
        table_row(&t, ns_xasprintf("%lld", (long long)p->idx), cell(p->key, f),
                  fmt_dur(p->seconds), ns_xasprintf("%lld", (long long)p->attempts),
                  ns_xstrdup(p->state));
    }
    table_write(&t, f, out);

    char title[96];
    snprintf(title, sizeof title, "error records by signature (top %zu of %lld)", r->ngroups,
             (long long)r->nsignatures);
    t = (struct table){title, 4, {"COUNT", "SIGNATURE", "EXAMPLE", "MESSAGE"}, NULL, 0};
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct ns_report_group *g = &r->groups[i];
        char *key = cell(g->example_key, f);
        table_row(&t, ns_xasprintf("%lld", (long long)g->count), cell(g->signature, f),
                  ns_xasprintf("partition %lld, key %s", (long long)g->example_idx, key),
                  cell(g->example_message, f));
        free(key);
    }
    table_write(&t, f, out);

    snprintf(title, sizeof title, "failed partitions (%lld)", (long long)r->failed);
    t = (struct table){title, 4, {"PART", "KEY", "ATTEMPTS", "LAST FAILURE"}, NULL, 0};
    for (size_t i = 0; i < r->nfailed_parts; i++) {
        const struct ns_report_failed *p = &r->failed_parts[i];
        table_row(&t, ns_xasprintf("%lld", (long long)p->idx), cell(p->key, f),
                  ns_xasprintf("%lld", (long long)p->attempts), cell(p->message, f));
    }
    table_write(&t, f, out);

    snprintf(title, sizeof title, "skipped partitions (%lld)", (long long)r->skipped);
    t = (struct table){title, 3, {"PART", "KEY", "REASON"}, NULL, 0};
    for (size_t i = 0; i < r->nskips; i++) {
        const struct ns_report_skip *p = &r->skips[i];
        table_row(&t, ns_xasprintf("%lld", (long long)p->idx), cell(p->key, f),
                  cell(*p->reason ? p->reason : "(no reason given)", f));
    }
    table_write(&t, f, out);

    snprintf(title, sizeof title, "audit trail (%lld operator commands)",
             (long long)r->naudit_total);
    t = (struct table){title, 6, {"ID", "ISSUED", "WHO", "VERB", "STATE", "ARGS -> RESULT"}, NULL,
                       0};
    for (size_t i = 0; i < r->naudit; i++) {
        const struct ns_report_audit *a = &r->audit[i];
        char *user = cell(a->user, f), *src = cell(a->source, f), *args = cell(a->args, f),
             *res = cell(*a->result ? a->result : "(pending)", f);
        table_row(&t, ns_xasprintf("%lld", (long long)a->id), fmt_time(a->issued_at),
                  ns_xasprintf("%s (%s)", user, src), cell(a->verb, f), ns_xstrdup(a->state),
                  ns_xasprintf("%s -> %s", args, res));
        free(user);
        free(src);
        free(args);
        free(res);
    }
    table_write(&t, f, out);
}

/* ---- JSON ------------------------------------------------------------------ */

static void js(struct ns_buf *b, const char *key, const char *v)
{
    buf_addf(b, "\"%s\":", key);
    if (v)
        buf_add_json_string(b, v, strlen(v));
    else
        buf_adds(b, "null");
}

static void jn(struct ns_buf *b, const char *key, int64_t v)
{
    buf_addf(b, "\"%s\":%lld", key, (long long)v);
}

static void jd(struct ns_buf *b, const char *key, double v, bool null_if_zero)
{
    if (null_if_zero && v <= 0)
        buf_addf(b, "\"%s\":null", key);
    else
        buf_addf(b, "\"%s\":%.3f", key, v);
}

static void render_json(const struct ns_run_report *r, struct ns_buf *b)
{
    buf_adds(b, "{\"schema\":\"nightshift.summary/1\",");
    jn(b, "run_id", r->run_id), buf_addc(b, ',');
    js(b, "job", r->job), buf_addc(b, ',');
    js(b, "params", r->params), buf_addc(b, ',');
    js(b, "state", r->state), buf_addc(b, ',');
    js(b, "state_reason", r->state_reason), buf_addc(b, ',');
    buf_addf(b, "\"runtime_alive\":%s,", r->runtime_alive ? "true" : "false");
    jd(b, "started_at", r->started_at, true), buf_addc(b, ',');
    jd(b, "finished_at", r->finished_at, true), buf_addc(b, ',');
    jd(b, "wall_seconds", r->wall_s, false), buf_addc(b, ',');
    buf_adds(b, "\"partitions\":{");
    jn(b, "total", r->total), buf_addc(b, ',');
    jn(b, "succeeded", r->succeeded), buf_addc(b, ',');
    jn(b, "failed", r->failed), buf_addc(b, ',');
    jn(b, "skipped", r->skipped), buf_addc(b, ',');
    jn(b, "unfinished", r->total - r->succeeded - r->failed - r->skipped);
    buf_adds(b, "},\"durations\":{");
    jn(b, "count", r->ndurations), buf_addc(b, ',');
    jd(b, "p50_seconds", r->p50_s, false), buf_addc(b, ',');
    jd(b, "p95_seconds", r->p95_s, false), buf_addc(b, ',');
    jd(b, "max_seconds", r->max_s, false), buf_adds(b, ",\"slowest\":[");
    for (size_t i = 0; i < r->nslowest; i++) {
        const struct ns_report_part *p = &r->slowest[i];
        buf_adds(b, i ? ",{" : "{");
        jn(b, "index", p->idx), buf_addc(b, ',');
        js(b, "key", p->key), buf_addc(b, ',');
        js(b, "state", p->state), buf_addc(b, ',');
        jn(b, "attempts", p->attempts), buf_addc(b, ',');
        jd(b, "seconds", p->seconds, false), buf_addc(b, '}');
    }
    buf_adds(b, "]},\"attempts\":{");
    jn(b, "total", r->attempts), buf_addc(b, ',');
    jn(b, "retries", r->retries), buf_addc(b, ',');
    jn(b, "failed", r->failed_attempts), buf_addc(b, ',');
    jn(b, "timed_out", r->timed_out), buf_addc(b, ',');
    jn(b, "signalled", r->signalled), buf_addc(b, ',');
    jn(b, "killed", r->killed), buf_addc(b, ',');
    jn(b, "interrupted", r->interrupted);
    buf_adds(b, "},\"rework\":{");
    jn(b, "records_redone_after_crashes", r->redone_after_crash), buf_addc(b, ',');
    jn(b, "records_redone", r->redone), buf_addc(b, ',');
    jn(b, "attempts", r->resumed_attempts);
    buf_adds(b, "},\"records\":{");
    jn(b, "done", r->records_done), buf_addc(b, ',');
    jn(b, "error_records", r->error_records), buf_addc(b, ',');
    jn(b, "signatures", r->nsignatures);
    buf_adds(b, "},\"error_groups\":[");
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct ns_report_group *g = &r->groups[i];
        buf_adds(b, i ? ",{" : "{");
        js(b, "signature", g->signature), buf_addc(b, ',');
        jn(b, "count", g->count), buf_adds(b, ",\"example\":{");
        jn(b, "partition", g->example_idx), buf_addc(b, ',');
        js(b, "key", g->example_key), buf_addc(b, ',');
        js(b, "message", g->example_message), buf_adds(b, "}}");
    }
    buf_adds(b, "],\"failed_partitions\":[");
    for (size_t i = 0; i < r->nfailed_parts; i++) {
        const struct ns_report_failed *p = &r->failed_parts[i];
        buf_adds(b, i ? ",{" : "{");
        jn(b, "index", p->idx), buf_addc(b, ',');
        js(b, "key", p->key), buf_addc(b, ',');
        jn(b, "attempts", p->attempts), buf_addc(b, ',');
        js(b, "last_message", p->message), buf_addc(b, '}');
    }
    buf_adds(b, "],\"skipped_partitions\":[");
    for (size_t i = 0; i < r->nskips; i++) {
        const struct ns_report_skip *p = &r->skips[i];
        buf_adds(b, i ? ",{" : "{");
        jn(b, "index", p->idx), buf_addc(b, ',');
        js(b, "key", p->key), buf_addc(b, ',');
        js(b, "reason", p->reason), buf_addc(b, '}');
    }
    buf_adds(b, "],\"audit\":[");
    for (size_t i = 0; i < r->naudit; i++) {
        const struct ns_report_audit *a = &r->audit[i];
        buf_adds(b, i ? ",{" : "{");
        jn(b, "id", a->id), buf_addc(b, ',');
        jd(b, "issued_at", a->issued_at, false), buf_addc(b, ',');
        js(b, "user", a->user), buf_addc(b, ',');
        js(b, "source", a->source), buf_addc(b, ',');
        js(b, "verb", a->verb), buf_addc(b, ',');
        js(b, "args", a->args), buf_addc(b, ',');
        js(b, "state", a->state), buf_addc(b, ',');
        js(b, "result", *a->result ? a->result : NULL), buf_addc(b, '}');
    }
    buf_adds(b, "],\"sla\":{");
    js(b, "state", r->sla_state), buf_addc(b, ',');
    jd(b, "deadline", r->sla_deadline, true), buf_addc(b, ',');
    jd(b, "max_duration_seconds", r->sla_max_duration, true);
    buf_adds(b, "}}\n");
}

void summary_render(const struct ns_run_report *r, enum ns_summary_format f, struct ns_buf *out)
{
    if (f == NS_SUMMARY_JSON)
        render_json(r, out);
    else
        render_human(r, f, out);
}

int summary_write_file(struct ns_store *st, int64_t run_id, const char *path, char *err,
                       size_t errlen)
{
    struct ns_run_report r;
    if (report_load(st, run_id, NS_SUMMARY_TOP, NS_SUMMARY_LIST, &r, err, errlen) != 0) {
        report_release(&r);
        return -1;
    }
    struct ns_buf b = NS_BUF_INIT;
    summary_render(&r, NS_SUMMARY_TEXT, &b);
    report_release(&r);
    int rc = ns_write_file_atomic(path, b.data, b.len, err, errlen);
    buf_release(&b);
    return rc;
}
