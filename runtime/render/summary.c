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
#include "nightshift/json.h"
#include "nightshift/query-report.h"
#include "nightshift/summary.h"
#include "summary-internal.h"

int summary_format_from_name(const char *name)
{
    static const struct {
        const char *name;
        enum ns_summary_format f;
    } names[] = {{"text", NS_SUMMARY_TEXT},
                 {"markdown", NS_SUMMARY_MARKDOWN},
                 {"md", NS_SUMMARY_MARKDOWN},
                 {"json", NS_SUMMARY_JSON},
                 {"html", NS_SUMMARY_HTML}};
    for (size_t i = 0; i < NS_ARRAY_LEN(names); i++)
        if (strcmp(name, names[i].name) == 0)
            return (int)names[i].f;
    return -1;
}

/* ---- cells ------------------------------------------------------------- */

char *summary_cell(const char *s, enum ns_summary_format f)
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

const char *summary_plural(int64_t n)
{
    return n == 1 ? "" : "s";
}

char *summary_dur(double s)
{
    char d[32];
    return ns_xstrdup(ns_format_duration((int64_t)(s * 1000 + 0.5), d, sizeof d));
}

char *summary_time(double t)
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

void summary_table_row(struct summary_table *t, ...)
{
    va_list ap;
    va_start(ap, t);
    t->cells = ns_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = va_arg(ap, char *); /* takes ownership */
    va_end(ap);
    t->nrows++;
}

void summary_table_write(struct summary_table *t, enum ns_summary_format f, struct ns_buf *out)
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
    size_t w[SUMMARY_MAX_COLS];
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = strlen(t->head[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t l = strlen(t->cells[r * t->ncols + c]);
            /* No cap: a long cell (a run's parameters, a signature) widens
             * its column rather than pushing the rest of its row out of line. */
            if (l > w[c] && c + 1 < t->ncols)
                w[c] = l;
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

void summary_figure(struct ns_buf *out, enum ns_summary_format f, const char *label, const char *fmt,
                   ...)
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

char *summary_params(const char *canon, enum ns_summary_format f)
{
    char *s = ns_params_oneline(canon);
    char *c = summary_cell(s, f);
    free(s);
    return c;
}

/* The run's heading and its figures, one line each. */
static void render_figures(const struct ns_run_report *r, enum ns_summary_format f,
                           struct ns_buf *out)
{
    bool md = f == NS_SUMMARY_MARKDOWN;
    char *job = summary_cell(r->run.job, f), *params = summary_params(r->run.params, f);
    if (md)
        buf_addf(out, "# Run %lld: %s\n\n", (long long)r->run_id, job);
    else
        buf_addf(out, "nightshift summary: run %lld %s\n", (long long)r->run_id, job);
    free(job);
    summary_figure(out, f, "parameters", "%s", *params ? params : "(none)");
    free(params);
    char *reason = r->run.state_reason ? summary_cell(r->run.state_reason, f) : NULL;
    bool final = r->run.finished_at > 0;
    summary_figure(out, f, "state", "%s%s%s%s%s", r->run.state, reason ? " (" : "", reason ? reason : "",
           reason ? ")" : "",
           final          ? ""
           : r->run.alive ? "; a runtime is driving it"
                          : "; no runtime drives it");
    free(reason);
    char *waits = final ? NULL : report_run_waits(&r->run); /* the night's phrase */
    if (waits) {
        char *w = summary_cell(waits, f);
        summary_figure(out, f, "waits on", "%s", w);
        free(w);
        free(waits);
    }
    if (r->run.exit_note) { /* its last words: why it stopped, not "crashed" */
        char *note = summary_cell(r->run.exit_note, f);
        summary_figure(out, f, "stopped", "its runtime stopped: %s", note);
        free(note);
    }
    if (r->next_command) {
        char *next = summary_cell(r->next_command, f);
        summary_figure(out, f, r->next_what, md ? "`%s`" : "%s", next);
        free(next);
    }
    char *host = summary_cell(r->host, f), *db = summary_cell(r->db_path ? r->db_path : "?", f);
    summary_figure(out, f, "host", "%s", host);
    summary_figure(out, f, "database", "%s", db);
    free(host);
    free(db);
    char *wall = summary_dur(r->wall_s), *t0 = summary_time(r->run.started_at),
         *t1 = summary_time(r->run.finished_at);
    summary_figure(out, f, "wall time", "%s (started %s, %s %s)", wall, t0,
           final ? "finished" : "not finished;", final ? t1 : "still counting");
    free(wall);
    free(t0);
    free(t1);
    const struct ns_state_counts *c = &r->run.counts;
    summary_figure(out, f, "partitions", "%lld: %lld succeeded, %lld failed, %lld skipped, %lld unfinished",
           (long long)c->total, (long long)c->n[NS_PS_SUCCEEDED], (long long)c->n[NS_PS_FAILED],
           (long long)c->n[NS_PS_SKIPPED], (long long)(c->total - query_done(c)));
    if (r->ndurations > 0) {
        char *p50 = summary_dur(r->p50_s), *p95 = summary_dur(r->p95_s), *mx = summary_dur(r->max_s);
        summary_figure(out, f, "durations", "p50 %s, p95 %s, max %s (over %lld finished partition%s)", p50,
               p95, mx, (long long)r->ndurations, summary_plural(r->ndurations));
        free(p50);
        free(p95);
        free(mx);
    } else {
        summary_figure(out, f, "durations", "none yet (no partition has finished)");
    }
    summary_figure(out, f, "attempts",
           "%lld, of which %lld retr%s; %lld failed, %lld timed out, %lld signalled, %lld "
           "killed, %lld interrupted",
           (long long)r->attempts, (long long)r->retries, r->retries == 1 ? "y" : "ies", (long long)r->failed_attempts,
           (long long)r->timed_out, (long long)r->signalled, (long long)r->killed,
           (long long)r->interrupted);
    summary_figure(out, f, "rework",
           "%lld record%s redone after crashes (%lld in all, by %lld attempt%s resuming behind "
           "the progress reached)",
           (long long)r->redone_after_crash, summary_plural(r->redone_after_crash), (long long)r->redone,
           (long long)r->resumed_attempts, summary_plural(r->resumed_attempts));
    if (r->run.pool_wait_s >= 0.05 || r->run.window_wait_s >= 0.05) {
        char *pw = summary_dur(r->run.pool_wait_s), *ww = summary_dur(r->run.window_wait_s);
        summary_figure(out, f, "waited", "%s for shared pool slots, %s outside its window", pw, ww);
        free(pw);
        free(ww);
    }
    summary_figure(out, f, "records", "%lld done; %lld error record%s under %lld signature%s",
           (long long)r->run.records_done, (long long)r->run.error_records,
           summary_plural(r->run.error_records), (long long)r->nsignatures, summary_plural(r->nsignatures));
    if (r->run.sla_state) {
        char *dl = summary_time(r->run.sla_deadline), *md_ = summary_dur(r->run.sla_max_duration);
        summary_figure(out, f, "SLA", "%s (deadline %s, max duration %s)", r->run.sla_state, dl,
               r->run.sla_max_duration > 0 ? md_ : "-");
        free(dl);
        free(md_);
    } else {
        summary_figure(out, f, "SLA", "none set");
    }
}

/* The tables, failures first - what a failed run's reader came for: the
 * failed partitions, error groups, skipped partitions; then the slowest
 * partitions and the audit trail. */
static void table_failed(const struct ns_run_report *r, enum ns_summary_format f,
                         struct ns_buf *out)
{
    char title[96];
    snprintf(title, sizeof title, "failed partitions (%lld)",
             (long long)r->run.counts.n[NS_PS_FAILED]);
    struct summary_table t = {title, 4, {"PART", "KEY", "ATTEMPTS", "LAST FAILURE"}, NULL, 0};
    for (size_t i = 0; i < r->nfailed_parts; i++) {
        const struct ns_report_failed *p = &r->failed_parts[i];
        summary_table_row(&t, ns_xasprintf("%lld", (long long)p->idx), summary_cell(p->key, f),
                  ns_xasprintf("%lld", (long long)p->attempts), summary_cell(p->message, f));
    }
    summary_table_write(&t, f, out);
}

static void table_groups(const struct ns_run_report *r, enum ns_summary_format f,
                         struct ns_buf *out)
{
    char title[96];
    snprintf(title, sizeof title, "error records by signature (top %zu of %lld)", r->ngroups,
             (long long)r->nsignatures);
    struct summary_table t = {title, 4, {"COUNT", "SIGNATURE", "EXAMPLE", "MESSAGE"}, NULL, 0};
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct ns_report_group *g = &r->groups[i];
        char *key = summary_cell(g->example_key, f);
        summary_table_row(&t, ns_xasprintf("%lld", (long long)g->count), summary_cell(g->signature, f),
                  ns_xasprintf("partition %lld, key %s", (long long)g->example_idx, key),
                  summary_cell(g->example_message, f));
        free(key);
    }
    summary_table_write(&t, f, out);
}

static void table_skipped(const struct ns_run_report *r, enum ns_summary_format f,
                          struct ns_buf *out)
{
    char title[96];
    snprintf(title, sizeof title, "skipped partitions (%lld)",
             (long long)r->run.counts.n[NS_PS_SKIPPED]);
    struct summary_table t = {title, 3, {"PART", "KEY", "REASON"}, NULL, 0};
    for (size_t i = 0; i < r->nskips; i++) {
        const struct ns_report_skip *p = &r->skips[i];
        summary_table_row(&t, ns_xasprintf("%lld", (long long)p->idx), summary_cell(p->key, f),
                  summary_cell(*p->reason ? p->reason : "(no reason given)", f));
    }
    summary_table_write(&t, f, out);
}

static void table_slowest(const struct ns_run_report *r, enum ns_summary_format f,
                          struct ns_buf *out)
{
    struct summary_table t = {
        "slowest partitions", 5, {"PART", "KEY", "TIME", "ATTEMPTS", "STATE"}, NULL, 0};
    for (size_t i = 0; i < r->nslowest; i++) {
        const struct ns_report_part *p = &r->slowest[i];
        summary_table_row(&t, ns_xasprintf("%lld", (long long)p->idx), summary_cell(p->key, f), summary_dur(p->seconds),
                  ns_xasprintf("%lld", (long long)p->attempts), ns_xstrdup(p->state));
    }
    summary_table_write(&t, f, out);
}

static void table_audit(const struct ns_run_report *r, enum ns_summary_format f,
                        struct ns_buf *out)
{
    char title[96];
    snprintf(title, sizeof title, "audit trail (%lld operator command%s)",
             (long long)r->naudit_total, summary_plural(r->naudit_total));
    struct summary_table t = {
        title, 6, {"ID", "ISSUED", "WHO", "VERB", "STATE", "ARGS -> RESULT"}, NULL, 0};
    for (size_t i = 0; i < r->naudit; i++) {
        const struct ns_report_audit *a = &r->audit[i];
        char *user = summary_cell(a->user, f), *src = summary_cell(a->source, f), *args = summary_cell(a->args, f),
             *res = summary_cell(*a->result ? a->result : "(pending)", f);
        summary_table_row(&t, ns_xasprintf("%lld", (long long)a->id), summary_time(a->issued_at),
                  ns_xasprintf("%s (%s)", user, src), summary_cell(a->verb, f), ns_xstrdup(a->state),
                  ns_xasprintf("%s -> %s", args, res));
        free(user);
        free(src);
        free(args);
        free(res);
    }
    summary_table_write(&t, f, out);
}

static void render_tables(const struct ns_run_report *r, enum ns_summary_format f,
                          struct ns_buf *out)
{
    table_failed(r, f, out);
    table_groups(r, f, out);
    table_skipped(r, f, out);
    table_slowest(r, f, out);
    table_audit(r, f, out);
}

static void render_human(const struct ns_run_report *r, enum ns_summary_format f,
                         struct ns_buf *out)
{
    render_figures(r, f, out);
    render_tables(r, f, out);
}

/* ---- JSON (json.h; docs/cli.md lists the fields) --------------------------- */

static void json_str(struct ns_json *j, const char *key, const char *v)
{
    json_field_bytes(j, key, v, v ? strlen(v) : 0);
}

/* The time the run waited (pool slots, its window) and the work it redid. */
static void json_waits_and_rework(struct ns_json *j, const struct ns_run_report *r)
{
    json_open_object(j, "waited");
    json_field_real(j, "pools_seconds", r->run.pool_wait_s);
    json_field_real(j, "window_seconds", r->run.window_wait_s);
    json_close_object(j);
    json_open_object(j, "rework");
    json_field_int(j, "records_redone_after_crashes", r->redone_after_crash);
    json_field_int(j, "records_redone", r->redone);
    json_field_int(j, "attempts", r->resumed_attempts);
    json_close_object(j);
}

static void render_json(const struct ns_run_report *r, struct ns_buf *b)
{
    struct ns_json j;
    json_begin_document(&j, b, "summary");
    json_field_int(&j, "run_id", r->run_id);
    json_str(&j, "job", r->run.job);
    json_field_raw(&j, "params", r->run.params_json ? r->run.params_json : "{}");
    json_field_str(&j, "state", r->run.state);
    json_str(&j, "state_reason", r->run.state_reason);
    json_field_bool(&j, "runtime_alive", r->run.alive);
    char *waits = r->run.finished_at > 0 ? NULL : report_run_waits(&r->run);
    json_str(&j, "waits_on", waits);
    free(waits);
    json_str(&j, "next_command", r->next_command);
    json_str(&j, "host", r->host);
    json_str(&j, "database", r->db_path);
    json_field_time(&j, "started_at", r->run.started_at);
    json_field_time(&j, "finished_at", r->run.finished_at);
    json_field_real(&j, "wall_seconds", r->wall_s);
    json_open_object(&j, "partitions");
    const struct ns_state_counts *c = &r->run.counts;
    json_field_int(&j, "total", c->total);
    json_field_int(&j, "succeeded", c->n[NS_PS_SUCCEEDED]);
    json_field_int(&j, "failed", c->n[NS_PS_FAILED]);
    json_field_int(&j, "skipped", c->n[NS_PS_SKIPPED]);
    json_field_int(&j, "unfinished", c->total - query_done(c));
    json_close_object(&j);
    json_open_object(&j, "durations");
    json_field_int(&j, "count", r->ndurations);
    json_field_real(&j, "p50_seconds", r->p50_s);
    json_field_real(&j, "p95_seconds", r->p95_s);
    json_field_real(&j, "max_seconds", r->max_s);
    json_open_array(&j, "slowest");
    for (size_t i = 0; i < r->nslowest; i++) {
        const struct ns_report_part *p = &r->slowest[i];
        json_open_object(&j, NULL);
        json_field_int(&j, "index", p->idx);
        json_str(&j, "key", p->key);
        json_field_str(&j, "state", p->state);
        json_field_int(&j, "attempts", p->attempts);
        json_field_real(&j, "seconds", p->seconds);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_close_object(&j);
    json_open_object(&j, "attempts");
    json_field_int(&j, "total", r->attempts);
    json_field_int(&j, "retries", r->retries);
    json_field_int(&j, "failed", r->failed_attempts);
    json_field_int(&j, "timed_out", r->timed_out);
    json_field_int(&j, "signalled", r->signalled);
    json_field_int(&j, "killed", r->killed);
    json_field_int(&j, "interrupted", r->interrupted);
    json_close_object(&j);
    json_waits_and_rework(&j, r);
    json_open_object(&j, "records");
    json_field_int(&j, "done", r->run.records_done);
    json_field_int(&j, "error_records", r->run.error_records);
    json_field_int(&j, "signatures", r->nsignatures);
    json_close_object(&j);
    json_open_array(&j, "error_groups");
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct ns_report_group *g = &r->groups[i];
        json_open_object(&j, NULL);
        json_str(&j, "signature", g->signature);
        json_field_int(&j, "count", g->count);
        json_open_object(&j, "example");
        json_field_int(&j, "partition", g->example_idx);
        json_str(&j, "key", g->example_key);
        json_str(&j, "message", g->example_message);
        json_close_object(&j);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_open_array(&j, "failed_partitions");
    for (size_t i = 0; i < r->nfailed_parts; i++) {
        const struct ns_report_failed *p = &r->failed_parts[i];
        json_open_object(&j, NULL);
        json_field_int(&j, "index", p->idx);
        json_str(&j, "key", p->key);
        json_field_int(&j, "attempts", p->attempts);
        json_str(&j, "last_message", p->message);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_open_array(&j, "skipped_partitions");
    for (size_t i = 0; i < r->nskips; i++) {
        const struct ns_report_skip *p = &r->skips[i];
        json_open_object(&j, NULL);
        json_field_int(&j, "index", p->idx);
        json_str(&j, "key", p->key);
        json_str(&j, "reason", p->reason);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_open_array(&j, "audit");
    for (size_t i = 0; i < r->naudit; i++) {
        const struct ns_report_audit *a = &r->audit[i];
        json_open_object(&j, NULL);
        json_field_int(&j, "id", a->id);
        json_field_real(&j, "issued_at", a->issued_at);
        json_str(&j, "user", a->user);
        json_field_str(&j, "source", a->source);
        json_field_str(&j, "verb", a->verb);
        json_field_raw(&j, "args", a->args);
        json_field_str(&j, "state", a->state);
        json_str(&j, "result", *a->result ? a->result : NULL);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_open_object(&j, "sla");
    json_field_str(&j, "state", r->run.sla_state);
    json_field_time(&j, "deadline", r->run.sla_deadline);
    json_field_time(&j, "max_duration_seconds", r->run.sla_max_duration);
    json_close_object(&j);
    json_end_document(&j);
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
