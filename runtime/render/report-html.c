/*
 * report-html.c - the morning report as one HTML page (report-html.h).
 *
 * The page is written in one pass into a buffer: style, the summary's
 * figures (the same struct ns_run_report `summary` prints, so the page and
 * the text never disagree), the charts (report-charts.c), the tables, the
 * comparison (compare.c). No script and no URL: the colours are CSS
 * variables, restyled by prefers-color-scheme and for print. Figures a
 * test or a reader may want exactly carry data-figure (the name of the
 * same figure in `status --json`) and, for durations, data-value in
 * seconds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "html.h"
#include "nightshift/compare.h"
#include "nightshift/escape.h"
#include "nightshift/query-report.h"
#include "nightshift/query-times.h"
#include "nightshift/query.h"
#include "nightshift/report-html.h"
#include "nightshift/summary.h"

#define TOP_GROUPS 10
#define TOP_COMPARE 20

/* ---- helpers (html.h) ----------------------------------------------------- */

/* Text already made safe for a terminal, as HTML: entities only (the
 * terminal escaper would double its backslashes). */
static void html_escaped_text(struct ns_buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        case '\'':
            buf_adds(b, "&#39;");
            break;
        default:
            buf_addc(b, s[i]);
        }
    }
}

void html_text(struct ns_buf *b, const char *s)
{
    if (!s)
        return;
    struct ns_buf e = NS_BUF_INIT;
    escape_for_terminal(s, strlen(s), 0, &e);
    html_escaped_text(b, e.data ? e.data : "", e.len);
    buf_release(&e);
}

void html_textf(struct ns_buf *b, const char *fmt, ...)
{
    struct ns_buf t = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&t, fmt, ap);
    va_end(ap);
    html_text(b, t.data ? t.data : "");
    buf_release(&t);
}

const char *html_dur(double s, char *out, size_t len)
{
    return ns_format_duration((int64_t)(s * 1000 + 0.5), out, len);
}

const char *html_clock(double t, int with_date, char *out, size_t len)
{
    if (t <= 0) {
        snprintf(out, len, "-");
        return out;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    strftime(out, len, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
    return out;
}

double html_x(const struct html_axis *a, double t)
{
    double span = a->t1 > a->t0 ? a->t1 - a->t0 : 1;
    return a->x0 + (t - a->t0) / span * a->w;
}

void html_time_ticks(struct ns_buf *b, const struct html_axis *a, double y0, double y1)
{
    static const double steps[] = {1,     2,     5,     10,    15,     30,    60,
                                   120,   300,   600,   900,   1800,   3600,  7200,
                                   10800, 21600, 43200, 86400, 172800, 604800};
    double span = a->t1 - a->t0, step = steps[0];
    for (size_t i = 0; i < NS_ARRAY_LEN(steps) && span / steps[i] > 8; i++)
        step = i + 1 < NS_ARRAY_LEN(steps) ? steps[i + 1] : steps[i];
    char c[32];
    for (double t = (double)(long long)(a->t0 / step) * step + step; t < a->t1; t += step) {
        double x = html_x(a, t);
        buf_addf(b,
                 "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/>"
                 "<text class=\"tick\" x=\"%.1f\" y=\"%.0f\">%s</text>\n",
                 x, x, y0, y1, x, y1 + 12, html_clock(t, 0, c, sizeof c));
    }
}

void html_command_marks(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                        const struct html_axis *a, double y0, double y1)
{
    struct ns_command_row *rows = NULL;
    char err[256], c[32];
    int n = query_commands(st, r->run_id, 0, 500, &rows, err, sizeof err);
    for (int i = 0; i < n; i++) {
        const struct ns_command_row *k = &rows[i];
        double x = html_x(a, k->issued_at);
        if (x < a->x0 || x > a->x0 + a->w)
            continue;
        buf_addf(b,
                 "<g class=\"cmd\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.0f\" y2=\"%.0f\"/>"
                 "<rect class=\"cmdhit\" x=\"%.1f\" y=\"%.0f\" width=\"5\" height=\"%.0f\">"
                 "<title>",
                 x, x, y0, y1, x - 2.5, y0, y1 - y0);
        html_textf(b, "%s command %lld: %s %s by %s (%s): %s%s%s",
                   html_clock(k->issued_at, 0, c, sizeof c), (long long)k->id, k->verb, k->args,
                   k->user, k->source, k->state, k->result ? ": " : "", k->result ? k->result : "");
        buf_adds(b, "</title></rect></g>\n");
    }
    if (n > 0)
        query_command_rows_release(rows, n);
}

/* ---- the page ---------------------------------------------------------------- */

static const char style[] =
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1b1b1b;--muted:#555;--grid:#e2e2e2;"
    "--ok:#2e7d32;--failed:#c62828;--interrupted:#e65100;--live:#1565c0;--wait:#8e24aa;"
    "--queued:#6d4c41;--cmd:#00838f;--area:#1565c0;--area2:#6a1b9a;--flag:#fde2e2;"
    "--rule:#ccc;--hpool:#f9a825;--hwindow:#546e7a;--hupstream:#ad1457}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#131416;--fg:#e6e6e6;--muted:#a8a8a8;"
    "--grid:#2c2e33;--ok:#66bb6a;--failed:#ef5350;--interrupted:#ffa726;--live:#64b5f6;"
    "--wait:#ce93d8;--queued:#bcaaa4;--cmd:#4dd0e1;--area:#64b5f6;--area2:#ce93d8;"
    "--flag:#4a2323;--rule:#444;--hpool:#ffd54f;--hwindow:#90a4ae;--hupstream:#f48fb1}}\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "background:var(--bg);color:var(--fg);max-width:1040px;margin:1.5em auto;padding:0 1em}\n"
    "h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.6em 0 .4em;"
    "border-bottom:1px solid var(--rule)}\n"
    ".muted,figcaption{color:var(--muted)}figure{margin:1.2em 0}"
    "figcaption{font-size:.9em;margin-bottom:.3em}\n"
    "dl.figures{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1.2em;margin:0}"
    "dl.figures dt{color:var(--muted)}dl.figures dd{margin:0}\n"
    "table{border-collapse:collapse;width:100%;font-size:.92em}th,td{text-align:left;"
    "padding:.2em .5em;border-bottom:1px solid var(--rule);vertical-align:top}"
    "td{overflow-wrap:anywhere}tr.flag{background:var(--flag)}\n"
    "svg.chart{width:100%;height:auto;display:block}svg text{font-size:10px;fill:var(--muted)}"
    ".label{text-anchor:end}.tick{text-anchor:middle}.grid{stroke:var(--grid);stroke-width:1}\n"
    ".ok{fill:var(--ok)}.failed{fill:var(--failed)}.interrupted{fill:var(--interrupted)}"
    ".live{fill:var(--live)}.wait{fill:var(--wait);fill-opacity:.45}"
    ".queued{fill:var(--queued);fill-opacity:.7}.held-pool{fill:var(--hpool)}"
    ".held-window{fill:var(--hwindow)}.held-upstream{fill:var(--hupstream)}\n"
    ".cmd line{stroke:var(--cmd);stroke-width:1.5;stroke-dasharray:4 2}.cmdhit,.hover"
    "{fill:transparent}.hover:hover{fill:var(--grid);fill-opacity:.5}\n"
    ".area.running,.area.parts{fill:var(--area);fill-opacity:.35;stroke:var(--area)}"
    ".area.records{fill:var(--area2);fill-opacity:.35;stroke:var(--area2)}"
    ".hist{fill:var(--area)}.pmark{stroke:var(--fg);stroke-dasharray:2 2}\n"
    ".key span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;"
    "vertical-align:-.1em}.key .ok,.key .failed,.key .interrupted,.key .live,.key .wait,"
    ".key .queued{background:currentColor}.key .ok{color:var(--ok)}.key .failed"
    "{color:var(--failed)}.key .interrupted{color:var(--interrupted)}.key .live"
    "{color:var(--live)}.key .wait{color:var(--wait)}.key .queued{color:var(--queued)}"
    ".key .held-pool{background:var(--hpool)}.key .held-window{background:var(--hwindow)}"
    ".key .held-upstream{background:var(--hupstream)}"
    ".key .cmdk{border-left:2px dashed var(--cmd);width:0}\n"
    "pre.night-text{white-space:pre-wrap;font-size:.85em}section.run{margin-top:2.5em;"
    "border-top:3px solid var(--rule)}\n"
    "@media "
    "print{section.run{break-before:page}:root{--bg:#fff;--fg:#000;--muted:#333}body{max-width:"
    "none;margin:0;"
    "font-size:11px}figure,table,section{break-inside:avoid}h2{break-after:avoid}"
    ".hover:hover{fill:transparent}}\n";

static void figure_row(struct ns_buf *b, const char *label, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void figure_row(struct ns_buf *b, const char *label, const char *name, const char *fmt, ...)
{
    struct ns_buf t = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&t, fmt, ap);
    va_end(ap);
    buf_addf(b, "<dt>%s</dt><dd", label);
    if (name)
        buf_addf(b, " data-figure=\"%s\"", name);
    buf_addc(b, '>');
    html_text(b, t.data ? t.data : "");
    buf_adds(b, "</dd>\n");
    buf_release(&t);
}

/* The document's head (title escaped) and the opening of its body. */
static void page_open(struct ns_buf *b, const char *title)
{
    buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<meta name=\"generator\" content=\"nightshift " NS_VERSION "\"><title>");
    html_text(b, title);
    buf_addf(b, "</title><style>\n%s</style></head>\n<body>\n", style);
}

static void page_close(struct ns_buf *b, double now)
{
    char t[40];
    buf_addf(b,
             "<footer class=\"muted\"><p>nightshift " NS_VERSION
             " &middot; written %s &middot; one file, no script, nothing fetched</p>"
             "</footer>\n</body></html>\n",
             html_clock(now, 1, t, sizeof t));
}

/* A run's heading: level 1 on its own page, 2 within a night's. */
static void run_heading(struct ns_buf *b, const struct ns_run_report *r, int level)
{
    char *params = ns_params_oneline(r->run.params);
    buf_addf(b, "<header><h%d>", level);
    html_textf(b, "Run %lld: %s", (long long)r->run_id, r->run.job);
    buf_addf(b, "</h%d><p class=\"muted\">parameters: <span data-figure=\"params\">", level);
    html_text(b, *params ? params : "(none)");
    buf_adds(b, "</span></p></header>\n");
    free(params);
}

/* The summary's figures: the same read model as `summary` and `status`. */
static void figures(struct ns_buf *b, const struct ns_run_report *r)
{
    const struct ns_state_counts *c = &r->run.counts;
    char d1[32], d2[32], d3[32], t0[40], t1[40];
    buf_adds(b, "<section class=\"figures\"><dl class=\"figures\">\n");
    figure_row(b, "run", "id", "%lld", (long long)r->run_id);
    figure_row(b, "job", "job", "%s", r->run.job);
    figure_row(b, "state", "state", "%s", r->run.state);
    if (r->run.state_reason)
        figure_row(b, "why", "state_reason", "%s", r->run.state_reason);
    buf_addf(b,
             "<dt>wall time</dt><dd data-figure=\"elapsed_seconds\" data-value=\"%.3f\">%s "
             "(started %s, %s %s)</dd>\n",
             r->wall_s, html_dur(r->wall_s, d1, sizeof d1),
             html_clock(r->run.started_at, 1, t0, sizeof t0),
             r->run.finished_at > 0 ? "finished" : "not finished,",
             r->run.finished_at > 0 ? html_clock(r->run.finished_at, 1, t1, sizeof t1)
                                    : "still counting");
    figure_row(b, "partitions", "total", "%lld", (long long)c->total);
    figure_row(b, "succeeded", "succeeded", "%lld", (long long)c->n[NS_PS_SUCCEEDED]);
    figure_row(b, "failed", "failed", "%lld", (long long)c->n[NS_PS_FAILED]);
    figure_row(b, "skipped", "skipped", "%lld", (long long)c->n[NS_PS_SKIPPED]);
    figure_row(b, "unfinished", "unfinished", "%lld", (long long)(c->total - query_done(c)));
    if (r->ndurations)
        figure_row(b, "durations", NULL, "p50 %s, p95 %s, max %s over %lld finished partitions",
                   html_dur(r->p50_s, d1, sizeof d1), html_dur(r->p95_s, d2, sizeof d2),
                   html_dur(r->max_s, d3, sizeof d3), (long long)r->ndurations);
    figure_row(b, "attempts", "attempts", "%lld", (long long)r->attempts);
    figure_row(b, "of them retries", "retries", "%lld", (long long)r->retries);
    figure_row(b, "failed attempts", NULL,
               "%lld failed, %lld timed out, %lld signalled, %lld killed, %lld interrupted",
               (long long)r->failed_attempts, (long long)r->timed_out, (long long)r->signalled,
               (long long)r->killed, (long long)r->interrupted);
    figure_row(b, "records done", "records_done", "%lld", (long long)r->run.records_done);
    figure_row(b, "error records", "error_records", "%lld", (long long)r->run.error_records);
    figure_row(b, "rework", NULL, "%lld records redone after crashes (%lld in all)",
               (long long)r->redone_after_crash, (long long)r->redone);
    if (r->run.sla_state)
        figure_row(b, "SLA", "sla_state", "%s", r->run.sla_state);
    else
        figure_row(b, "SLA", NULL, "none set");
    buf_adds(b, "</dl></section>\n");
}

static void key_legend(struct ns_buf *b)
{
    buf_adds(b, "<p class=\"key muted\"><span class=\"ok\"></span>succeeded<span "
                "class=\"failed\"></span>failed (exit, timeout, signal, kill, lost)<span "
                "class=\"interrupted\"></span>interrupted<span class=\"live\"></span>running"
                "<span class=\"wait\"></span>retry wait<span class=\"held-pool\"></span>held "
                "for pool slots<span class=\"held-window\"></span>held by the run's window"
                "<span class=\"held-upstream\"></span>held for an upstream run<span "
                "class=\"queued\"></span>queued on the executor<span class=\"cmdk\"></span>"
                "operator command</p>\n");
}

static void slowest_table(struct ns_buf *b, const struct ns_run_report *r)
{
    char d[32];
    buf_adds(b, "<section class=\"slowest\"><h2>Slowest partitions</h2>\n<table><thead><tr>"
                "<th>part</th><th>key</th><th>time</th><th>attempts</th><th>state</th></tr>"
                "</thead><tbody>\n");
    for (size_t i = 0; i < r->nslowest; i++) {
        const struct ns_report_part *p = &r->slowest[i];
        buf_addf(b, "<tr><td>%lld</td><td>", (long long)p->idx);
        html_text(b, p->key);
        buf_addf(b, "</td><td data-value=\"%.3f\">%s</td><td>%lld</td><td>", p->seconds,
                 html_dur(p->seconds, d, sizeof d), (long long)p->attempts);
        html_text(b, p->state);
        buf_adds(b, "</td></tr>\n");
    }
    if (!r->nslowest)
        buf_adds(b, "<tr><td colspan=\"5\">none finished yet</td></tr>\n");
    buf_adds(b, "</tbody></table></section>\n");
}

static int failure_tables(struct ns_buf *b, struct ns_store *st, const struct ns_run_report *r,
                          char *err, size_t errlen)
{
    struct ns_failure_groups fg;
    if (query_failure_groups(st, r->run_id, TOP_GROUPS, &fg, err, errlen) != 0)
        return -1;
    buf_addf(b,
             "<section class=\"failures\"><h2>Failure groups</h2>\n<p class=\"muted\">"
             "Partitions that failed or wait to retry, by the signature of their last "
             "failure: <span data-figure=\"failure_group_partitions\">%lld</span> in all."
             "</p>\n<table><thead><tr><th>partitions</th><th>failed</th><th>to retry</th>"
             "<th>signature</th><th>example</th></tr></thead><tbody>\n",
             (long long)fg.partitions);
    for (size_t i = 0; i < fg.n; i++) {
        const struct ns_failure_group *g = &fg.g[i];
        buf_addf(b, "<tr class=\"group\"><td>%lld</td><td>%lld</td><td>%lld</td><td>",
                 (long long)g->count, (long long)g->failed, (long long)g->retry_wait);
        html_text(b, g->signature ? g->signature : "(no signature)");
        buf_addf(b, "</td><td>partition %lld: ", (long long)g->first_idx);
        html_text(b, g->example ? g->example : "");
        buf_adds(b, "</td></tr>\n");
    }
    if (!fg.n)
        buf_adds(b, "<tr><td colspan=\"5\">none</td></tr>\n");
    buf_adds(b, "</tbody></table>\n");
    query_failure_groups_release(&fg);
    buf_addf(b,
             "<h2>Error records by signature</h2>\n<p class=\"muted\">%lld error records "
             "under %lld signatures.</p>\n<table><thead><tr><th>records</th><th>signature"
             "</th><th>example</th></tr></thead><tbody>\n",
             (long long)r->run.error_records, (long long)r->nsignatures);
    for (size_t i = 0; i < r->ngroups; i++) {
        const struct ns_report_group *g = &r->groups[i];
        buf_addf(b, "<tr><td>%lld</td><td>", (long long)g->count);
        html_text(b, g->signature);
        buf_addf(b, "</td><td>partition %lld, key ", (long long)g->example_idx);
        html_text(b, g->example_key);
        buf_adds(b, ": ");
        html_text(b, g->example_message);
        buf_adds(b, "</td></tr>\n");
    }
    if (!r->ngroups)
        buf_adds(b, "<tr><td colspan=\"3\">none</td></tr>\n");
    buf_adds(b, "</tbody></table></section>\n");
    return 0;
}

static void audit_table(struct ns_buf *b, const struct ns_run_report *r)
{
    char t[40];
    buf_addf(b,
             "<section class=\"audit\"><h2>Operator commands</h2>\n<p class=\"muted\">%lld "
             "commands (the newest %zu listed); marked on the timeline.</p>\n<table><thead>"
             "<tr><th>id</th><th>issued</th><th>who</th><th>verb</th><th>arguments</th>"
             "<th>state</th><th>result</th></tr></thead><tbody>\n",
             (long long)r->naudit_total, r->naudit);
    for (size_t i = 0; i < r->naudit; i++) {
        const struct ns_report_audit *a = &r->audit[i];
        buf_addf(b, "<tr><td>%lld</td><td>%s</td><td>", (long long)a->id,
                 html_clock(a->issued_at, 1, t, sizeof t));
        html_textf(b, "%s (%s)", a->user, a->source);
        buf_adds(b, "</td><td>");
        html_text(b, a->verb);
        buf_adds(b, "</td><td>");
        html_text(b, a->args);
        buf_adds(b, "</td><td>");
        html_text(b, a->state);
        buf_adds(b, "</td><td>");
        html_text(b, a->result);
        buf_adds(b, "</td></tr>\n");
    }
    if (!r->naudit)
        buf_adds(b, "<tr><td colspan=\"7\">none</td></tr>\n");
    buf_adds(b, "</tbody></table></section>\n");
}

/* The charts' common time axis: the run's first start (or its first
 * attempt's) to its finish, its last attempt's end, or now. */
static struct html_axis time_axis(const struct ns_run_report *r)
{
    double t0 = r->run.started_at > 0 ? r->run.started_at : r->run.created_at, t1 = t0;
    for (size_t i = 0; i < r->times.nspans; i++) {
        const struct ns_span *s = &r->times.spans[i];
        if (s->started_at > 0 && s->started_at < t0)
            t0 = s->started_at;
        double e = s->ended_at > 0 ? s->ended_at : s->outcome < 0 ? r->now : s->started_at;
        if (e > t1)
            t1 = e;
    }
    if (r->run.finished_at > t1)
        t1 = r->run.finished_at;
    if (!r->run.final && r->now > t1)
        t1 = r->now;
    if (t1 <= t0)
        t1 = t0 + 1;
    return (struct html_axis){t0, t1, 70, 880};
}

/* Everything of one run after its heading: figures, charts, tables and
 * the comparison with the job's last successful run. */
static int run_body(struct ns_buf *out, struct ns_store *st, struct ns_run_report *r, char *err,
                    size_t errlen)
{
    struct html_axis ax = time_axis(r);
    /* The timeline names each attempt's partition when it draws one bar per attempt. */
    if (r->times.nparts <= HTML_DETAIL_MAX &&
        query_run_times_keys(st, r->run_id, &r->times, err, errlen) != 0)
        return -1;
    figures(out, r);
    buf_adds(out, "<h2>Timeline</h2>\n");
    key_legend(out);
    html_timeline(out, st, r, &ax);
    html_running_chart(out, st, r, &ax);
    html_throughput_chart(out, st, r, &ax);
    buf_adds(out, "<h2>Durations</h2>\n");
    html_duration_histogram(out, r);
    slowest_table(out, r);
    if (failure_tables(out, st, r, err, errlen) != 0)
        return -1;
    audit_table(out, r);
    /* The comparison reuses this run's attempts, read once, with its keys. */
    struct ns_compare cmp;
    int64_t base = query_previous_success(st, r->run_id);
    int rc = base < 0 ? -1 : 0;
    if (base > 0 && r->times.nparts > HTML_DETAIL_MAX) /* else read for the timeline */
        rc = query_run_times_keys(st, r->run_id, &r->times, err, errlen);
    if (base < 0)
        ns_errf(err, errlen, "cannot look for the last successful run of %s", r->run.job);
    memset(&cmp, 0, sizeof cmp);
    if (rc == 0)
        rc = compare_load_from(st, r->run_id, base ? &r->times : NULL, 0, &cmp, err, errlen);
    if (rc == 0)
        compare_render_html(&cmp, TOP_COMPARE, out);
    compare_release(&cmp);
    return rc;
}

int report_html_render(struct ns_store *st, struct ns_run_report *r, struct ns_buf *out, char *err,
                       size_t errlen)
{
    struct ns_buf title = NS_BUF_INIT;
    buf_addf(&title, "nightshift: run %lld %s", (long long)r->run_id, r->run.job);
    page_open(out, title.data);
    buf_release(&title);
    run_heading(out, r, 1);
    if (run_body(out, st, r, err, errlen) != 0)
        return -1;
    page_close(out, r->now);
    return 0;
}

int report_html_render_night(struct ns_store *st, struct ns_night_report *n, struct ns_buf *out,
                             char *err, size_t errlen)
{
    char since[40];
    html_clock(n->since, 1, since, sizeof since);
    struct ns_buf title = NS_BUF_INIT, text = NS_BUF_INIT;
    buf_addf(&title, "nightshift: the runs since %s", since);
    page_open(out, title.data);
    buf_release(&title);
    buf_addf(out,
             "<header><h1>The runs since %s</h1></header>\n<section class=\"night\">"
             "<p class=\"muted\">%zu runs, each below.</p>\n<ul>",
             since, n->nruns);
    for (size_t i = 0; i < n->nruns; i++) {
        buf_addf(out, "<li><a href=\"#run-%lld\">", (long long)n->runs[i].run_id);
        html_textf(out, "run %lld %s: %s", (long long)n->runs[i].run_id, n->runs[i].run.job,
                   n->runs[i].run.state);
        buf_adds(out, "</a></li>");
    }
    /* The night's own report (summary --since) as text: the same words. */
    summary_render_night(n, NS_SUMMARY_TEXT, &text);
    buf_adds(out, "</ul>\n<pre class=\"night-text\">");
    html_escaped_text(out, text.data ? text.data : "", text.len);
    buf_adds(out, "</pre></section>\n");
    buf_release(&text);
    for (size_t i = 0; i < n->nruns; i++) {
        buf_addf(out, "<section class=\"run\" id=\"run-%lld\">\n", (long long)n->runs[i].run_id);
        run_heading(out, &n->runs[i], 2);
        if (run_body(out, st, &n->runs[i], err, errlen) != 0)
            return -1;
        buf_adds(out, "</section>\n");
    }
    page_close(out, n->now);
    return 0;
}
