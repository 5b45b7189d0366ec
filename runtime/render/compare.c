/*
 * compare.c - one run against another (compare.h).
 *
 * Both runs are read through query-times.h with keys; partitions are
 * matched by key (two plans of one job may differ), by sorting index
 * arrays of each by key and merging them. Only partitions that succeeded
 * with every attempt timed, in both runs, are compared: a failed
 * partition's time says how soon it gave up, not how long the work takes.
 * The list puts the flagged first, then the greatest ratios.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "nightshift/compare.h"
#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/query-times.h"
#include "nightshift/query.h"

static bool timed(const struct ns_part_time *p)
{
    return p->key && p->timed_wholly && p->state == NS_PS_SUCCEEDED;
}

static int by_key(const void *x, const void *y)
{
    const struct ns_part_time *a = *(const struct ns_part_time *const *)x,
                              *b = *(const struct ns_part_time *const *)y;
    return strcmp(a->key, b->key);
}

static const struct ns_part_time **sorted_by_key(const struct ns_run_times *t)
{
    const struct ns_part_time **v = ns_xmalloc((t->nparts ? t->nparts : 1) * sizeof *v);
    for (size_t i = 0; i < t->nparts; i++)
        v[i] = &t->parts[i];
    qsort(v, t->nparts, sizeof *v, by_key);
    return v;
}

static double ratio(const struct ns_compare_part *p)
{
    return p->secs_b > 0 ? p->secs_a / p->secs_b : p->secs_a > 0 ? 1e9 : 1;
}

static int by_ratio(const void *x, const void *y)
{
    const struct ns_compare_part *a = x, *b = y;
    if (a->flagged != b->flagged)
        return a->flagged ? -1 : 1;
    double ra = ratio(a), rb = ratio(b);
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return strcmp(a->key, b->key);
}

static void match(struct ns_compare *c, const struct ns_run_times *ta,
                  const struct ns_run_times *tb)
{
    const struct ns_part_time **a = sorted_by_key(ta), **b = sorted_by_key(tb);
    size_t i = 0, k = 0;
    c->parts = ns_xmalloc((ta->nparts ? ta->nparts : 1) * sizeof *c->parts);
    while (i < ta->nparts || k < tb->nparts) {
        int cmp = i == ta->nparts ? 1 : k == tb->nparts ? -1 : strcmp(a[i]->key, b[k]->key);
        if (cmp < 0) {
            c->only_a++;
            i++;
            continue;
        }
        if (cmp > 0) {
            c->only_b++;
            k++;
            continue;
        }
        const struct ns_part_time *pa = a[i++], *pb = b[k++];
        if (!timed(pa) || !timed(pb))
            continue;
        struct ns_compare_part *p = &c->parts[c->nparts++];
        *p = (struct ns_compare_part){ns_xstrdup(pa->key), pa->idx,     pb->idx,
                                      pa->seconds,         pb->seconds, false};
        p->flagged = p->secs_b > 0 && p->secs_a >= NS_COMPARE_RATIO * p->secs_b &&
                     p->secs_a - p->secs_b >= NS_COMPARE_FLOOR_S;
        c->flagged += p->flagged;
        c->sum_a += p->secs_a;
        c->sum_b += p->secs_b;
    }
    c->matched = (int64_t)c->nparts;
    qsort(c->parts, c->nparts, sizeof *c->parts, by_ratio);
    free(a);
    free(b);
}

/* One run's summary figures (the read model's) into the comparison. */
static int load_side(struct ns_store *st, int64_t id, char **job, char **state, double *wall,
                     char *err, size_t errlen)
{
    struct ns_run_summary s;
    int rc = query_run_summary(st, id, ns_now(), &s, err, errlen);
    if (rc == 1) {
        *job = ns_xstrdup(s.job);
        *state = ns_xstrdup(s.state);
        *wall = s.elapsed_s;
    } else if (rc == 0) {
        ns_errf(err, errlen, "no run %lld", (long long)id);
    }
    query_run_summary_release(&s);
    return rc == 1 ? 0 : -1;
}

int compare_load_from(struct ns_store *st, int64_t a, const struct ns_run_times *a_times, int64_t b,
                      struct ns_compare *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->run_a = a;
    if (load_side(st, a, &out->job_a, &out->state_a, &out->wall_a, err, errlen) != 0)
        return -1;
    if (b == 0) {
        b = query_previous_success(st, a);
        if (b < 0) {
            ns_errf(err, errlen, "cannot look for the last successful run of %s", out->job_a);
            return -1;
        }
        if (b == 0)
            return 0;
        out->b_is_default = true;
    }
    out->run_b = b;
    if (load_side(st, b, &out->job_b, &out->state_b, &out->wall_b, err, errlen) != 0)
        return -1;
    struct ns_run_times ta = {0}, tb = {0};
    int rc = a_times ? 0 : query_run_times(st, a, true, &ta, err, errlen);
    if (rc == 0)
        rc = query_run_times(st, b, true, &tb, err, errlen);
    if (rc == 0)
        match(out, a_times ? a_times : &ta, &tb);
    query_run_times_release(&ta);
    query_run_times_release(&tb);
    return rc;
}

int compare_load(struct ns_store *st, int64_t a, int64_t b, struct ns_compare *out, char *err,
                 size_t errlen)
{
    return compare_load_from(st, a, NULL, b, out, err, errlen);
}

void compare_release(struct ns_compare *c)
{
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].key);
    free(c->parts);
    free(c->job_a);
    free(c->job_b);
    free(c->state_a);
    free(c->state_b);
    memset(c, 0, sizeof *c);
}

/* ---- text ----------------------------------------------------------------- */

static const char *times_str(double a, double b, char *out, size_t len)
{
    if (b > 0)
        snprintf(out, len, "%.2fx", a / b);
    else
        snprintf(out, len, "-");
    return out;
}

void compare_render_text(const struct ns_compare *c, size_t top, struct ns_buf *out)
{
    char *ja = escape_dup(c->job_a ? c->job_a : "", c->job_a ? strlen(c->job_a) : 0, 0);
    if (!c->run_b) {
        buf_addf(out,
                 "nightshift compare: run %lld %s: no earlier run of the job succeeded; "
                 "nothing to compare with\n",
                 (long long)c->run_a, ja);
        free(ja);
        return;
    }
    char d1[32], d2[32], x[32];
    buf_addf(out, "nightshift compare: run %lld %s (%s) against run %lld (%s)%s\n",
             (long long)c->run_a, ja, c->state_a, (long long)c->run_b, c->state_b,
             c->b_is_default ? ", the last run of the job that succeeded before it" : "");
    free(ja);
    buf_addf(out, "%-13s %s against %s (%s)\n", "wall time", html_dur(c->wall_a, d1, sizeof d1),
             html_dur(c->wall_b, d2, sizeof d2), times_str(c->wall_a, c->wall_b, x, sizeof x));
    buf_addf(out, "%-13s %lld in both; %lld only in run %lld, %lld only in run %lld\n",
             "partitions", (long long)c->matched, (long long)c->only_a, (long long)c->run_a,
             (long long)c->only_b, (long long)c->run_b);
    buf_addf(out, "%-13s %s against %s (%s), summed over the partitions in both\n", "work",
             html_dur(c->sum_a, d1, sizeof d1), html_dur(c->sum_b, d2, sizeof d2),
             times_str(c->sum_a, c->sum_b, x, sizeof x));
    buf_addf(out, "%-13s %lld %s at least %.0fx their earlier time\n", "flagged",
             (long long)c->flagged, c->flagged == 1 ? "partition took" : "partitions took",
             NS_COMPARE_RATIO);
    size_t n = c->nparts < top ? c->nparts : top;
    buf_addf(out, "\nflagged first, then the greatest ratios (%zu of %zu):\n", n, c->nparts);
    if (!n)
        buf_adds(out, "  (none)\n");
    else
        buf_addf(out, "  %-6s %-6s %-10s %-10s %-8s %s\n", "FLAG", "PART", "NOW", "BEFORE", "RATIO",
                 "KEY");
    for (size_t i = 0; i < n; i++) {
        const struct ns_compare_part *p = &c->parts[i];
        char *key = escape_dup(p->key, strlen(p->key), 0);
        buf_addf(out, "  %-6s %-6lld %-10s %-10s %-8s %s\n", p->flagged ? ">=2x" : "",
                 (long long)p->idx_a, html_dur(p->secs_a, d1, sizeof d1),
                 html_dur(p->secs_b, d2, sizeof d2), times_str(p->secs_a, p->secs_b, x, sizeof x),
                 key);
        free(key);
    }
}

/* ---- JSON ------------------------------------------------------------------ */

void compare_render_json(const struct ns_compare *c, size_t top, struct ns_buf *out)
{
    struct ns_json j;
    json_begin_document(&j, out, "compare");
    json_field_int(&j, "run", c->run_a);
    json_field_bytes(&j, "job", c->job_a, c->job_a ? strlen(c->job_a) : 0);
    json_field_str(&j, "state", c->state_a);
    json_field_real(&j, "wall_seconds", c->wall_a);
    json_field_int_or_null(&j, "baseline", c->run_b > 0, c->run_b);
    json_field_bool(&j, "baseline_is_last_success", c->b_is_default);
    json_field_str(&j, "baseline_state", c->state_b);
    if (c->run_b)
        json_field_real(&j, "baseline_wall_seconds", c->wall_b);
    else
        json_field_null(&j, "baseline_wall_seconds");
    json_field_int(&j, "matched", c->matched);
    json_field_int(&j, "only_in_run", c->only_a);
    json_field_int(&j, "only_in_baseline", c->only_b);
    json_field_real(&j, "matched_seconds", c->sum_a);
    json_field_real(&j, "baseline_matched_seconds", c->sum_b);
    json_field_int(&j, "flagged", c->flagged);
    json_field_real(&j, "flag_ratio", NS_COMPARE_RATIO);
    json_open_array(&j, "partitions");
    for (size_t i = 0; i < c->nparts && i < top; i++) {
        const struct ns_compare_part *p = &c->parts[i];
        json_open_object(&j, NULL);
        json_field_bytes(&j, "key", p->key, strlen(p->key));
        json_field_int(&j, "index", p->idx_a);
        json_field_int(&j, "baseline_index", p->idx_b);
        json_field_real(&j, "seconds", p->secs_a);
        json_field_real(&j, "baseline_seconds", p->secs_b);
        json_field_bool(&j, "flagged", p->flagged);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_end_document(&j);
}

/* ---- HTML ------------------------------------------------------------------ */

void compare_render_html(const struct ns_compare *c, size_t top, struct ns_buf *out)
{
    buf_adds(out, "<section class=\"compare\"><h2>Against the last successful run</h2>\n");
    if (!c->run_b) {
        buf_adds(out, "<p>No earlier run of this job succeeded: nothing to compare with.</p>"
                      "</section>\n");
        return;
    }
    char d1[32], d2[32], x[32];
    buf_addf(out, "<p>Run %lld against run %lld (%s, %s).</p>\n<dl class=\"figures\">",
             (long long)c->run_a, (long long)c->run_b, c->state_b,
             c->b_is_default ? "the last run of the job that succeeded before it" : "chosen");
    buf_addf(out, "<dt>wall time</dt><dd data-figure=\"compare.wall\">%s against %s (%s)</dd>",
             html_dur(c->wall_a, d1, sizeof d1), html_dur(c->wall_b, d2, sizeof d2),
             times_str(c->wall_a, c->wall_b, x, sizeof x));
    buf_addf(out,
             "<dt>partitions</dt><dd>%lld in both, %lld only in this run, %lld only in "
             "run %lld</dd>",
             (long long)c->matched, (long long)c->only_a, (long long)c->only_b,
             (long long)c->run_b);
    buf_addf(out,
             "<dt>flagged (%.0f&times; or more)</dt><dd data-figure=\"compare.flagged\">"
             "%lld</dd></dl>\n",
             NS_COMPARE_RATIO, (long long)c->flagged);
    size_t n = c->nparts < top ? c->nparts : top;
    buf_adds(out, "<table><thead><tr><th></th><th>part</th><th>key</th><th>now</th>"
                  "<th>before</th><th>ratio</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct ns_compare_part *p = &c->parts[i];
        buf_addf(out, "<tr%s><td>%s</td><td>%lld</td><td>", p->flagged ? " class=\"flag\"" : "",
                 p->flagged ? "&#9650; 2&times;+" : "", (long long)p->idx_a);
        html_text(out, p->key);
        buf_addf(out, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                 html_dur(p->secs_a, d1, sizeof d1), html_dur(p->secs_b, d2, sizeof d2),
                 times_str(p->secs_a, p->secs_b, x, sizeof x));
    }
    buf_adds(out, "</tbody></table></section>\n");
}
