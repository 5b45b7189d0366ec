/*
 * summary-night.c - the morning report of every run of a period
 * (`summary --since`, summary.h): what succeeded, what failed and why
 * (failure signatures across runs), what still runs or waits and on what,
 * one projected finish against the latest deadline, the SLA of each run
 * and the commands that retry or resume the others.
 *
 * Every figure comes from the read model (query-report.h): the runs'
 * summaries, report_run_waits, report_night_finish, and the command of
 * control_next_command, so the report, status and the console say the
 * same. Text and markdown share summary.c's layout (summary-internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/query-report.h"
#include "nightshift/summary.h"
#include "summary-internal.h"

/* The three piles a run of the night falls in. */
enum night_pile { PILE_SUCCEEDED, PILE_FAILED, PILE_UNFINISHED };

static enum night_pile pile_of(const struct ns_run_summary *s)
{
    return s->run_state == NS_RS_SUCCEEDED ? PILE_SUCCEEDED
           : s->run_state == NS_RS_FAILED  ? PILE_FAILED
                                           : PILE_UNFINISHED;
}

static const char *const pile_words[] = {"succeeded", "failed", "unfinished"};

static size_t pile_count(const struct ns_night_report *n, enum night_pile p)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nruns; i++)
        c += pile_of(&n->runs[i].run) == p;
    return c;
}

static char *id_cell(int64_t id)
{
    return ns_xasprintf("%lld", (long long)id);
}

/* A time as the report writes it (local, to the second; "-" for none),
 * into out: report_night_finish_words' formatter. */
static char *long_time(double t, char *out, size_t len)
{
    char *s = summary_time(t);
    snprintf(out, len, "%s", s);
    free(s);
    return out;
}

/* The heading: the period, the runs by pile and the one finish. */
static void night_figures(const struct ns_night_report *n, const struct ns_night_finish *fin,
                          enum ns_summary_format f, struct ns_buf *out)
{
    char *t0 = summary_time(n->since), *t1 = summary_time(n->now);
    if (f == NS_SUMMARY_MARKDOWN)
        buf_addf(out, "# The night since %s\n\n", t0);
    else
        buf_addf(out, "nightshift summary: %zu runs since %s (to %s)\n", n->nruns, t0, t1);
    summary_figure(out, f, "period", "%s to %s", t0, t1);
    free(t0);
    free(t1);
    summary_figure(out, f, "runs", "%zu: %zu succeeded, %zu failed, %zu unfinished", n->nruns,
                   pile_count(n, PILE_SUCCEEDED), pile_count(n, PILE_FAILED),
                   pile_count(n, PILE_UNFINISHED));
    struct ns_buf b = NS_BUF_INIT;
    report_night_finish_words(n, fin, long_time, &b);
    summary_figure(out, f, "finish", "%s", b.data);
    buf_release(&b);
    char *host = summary_cell(n->host, f), *db = summary_cell(n->db_path ? n->db_path : "?", f);
    summary_figure(out, f, "host", "%s", host);
    summary_figure(out, f, "database", "%s", db);
    free(host);
    free(db);
}

static void night_succeeded(const struct ns_night_report *n, enum ns_summary_format f,
                            struct ns_buf *out)
{
    char title[64];
    snprintf(title, sizeof title, "succeeded (%zu)", pile_count(n, PILE_SUCCEEDED));
    struct summary_table t = {
        title, 6, {"RUN", "JOB", "PARTITIONS", "WALL", "FINISHED", "PARAMETERS"}, NULL, 0};
    for (size_t i = 0; i < n->nruns; i++) {
        const struct ns_run_summary *s = &n->runs[i].run;
        if (pile_of(s) != PILE_SUCCEEDED)
            continue;
        /* The parameters last: the one long cell does not widen the others. */
        summary_table_row(&t, id_cell(s->id), summary_cell(s->job, f), id_cell(s->counts.total),
                          summary_dur(n->runs[i].wall_s), summary_time(s->finished_at),
                          summary_params(s->params, f));
    }
    summary_table_write(&t, f, out);
}

static void night_failed(const struct ns_night_report *n, enum ns_summary_format f,
                         struct ns_buf *out)
{
    char title[96];
    snprintf(title, sizeof title, "failed (%zu)", pile_count(n, PILE_FAILED));
    struct summary_table t = {title, 5, {"RUN", "JOB", "PARAMETERS", "FAILED", "WHY"}, NULL, 0};
    for (size_t i = 0; i < n->nruns; i++) {
        const struct ns_run_summary *s = &n->runs[i].run;
        if (pile_of(s) != PILE_FAILED)
            continue;
        summary_table_row(&t, id_cell(s->id), summary_cell(s->job, f), summary_params(s->params, f),
                          ns_xasprintf("%lld of %lld", (long long)s->counts.n[NS_PS_FAILED],
                                       (long long)s->counts.total),
                          summary_cell(s->state_reason ? s->state_reason : "", f));
    }
    summary_table_write(&t, f, out);

    snprintf(title, sizeof title,
             "failures by signature, across runs (top %zu of %lld signature%s, %lld partition%s)",
             n->ngroups, (long long)n->nsignatures, summary_plural(n->nsignatures),
             (long long)n->group_partitions, summary_plural(n->group_partitions));
    t = (struct summary_table){
        title, 5, {"PARTITIONS", "RUNS", "SIGNATURE", "EXAMPLE", "MESSAGE"}, NULL, 0};
    for (size_t i = 0; i < n->ngroups; i++) {
        const struct ns_night_group *g = &n->groups[i];
        struct ns_buf runs = NS_BUF_INIT;
        for (size_t r = 0; r < g->nruns; r++)
            buf_addf(&runs, "%s%lld", r ? "," : "", (long long)g->runs[r]);
        char *key = summary_cell(g->example_key, f);
        summary_table_row(&t, id_cell(g->partitions), buf_detach(&runs),
                          summary_cell(g->signature ? g->signature : "(none)", f),
                          ns_xasprintf("run %lld partition %lld, key %s", (long long)g->example_run,
                                       (long long)g->example_idx, key),
                          summary_cell(g->example_message, f));
        free(key);
    }
    summary_table_write(&t, f, out);
}

static void night_unfinished(const struct ns_night_report *n, enum ns_summary_format f,
                             struct ns_buf *out)
{
    char title[64];
    snprintf(title, sizeof title, "still running or waiting (%zu)", pile_count(n, PILE_UNFINISHED));
    struct summary_table t = {
        title, 7, {"RUN", "JOB", "STATE", "DONE", "ETA", "AFTER", "WAITING ON"}, NULL, 0};
    for (size_t i = 0; i < n->nruns; i++) {
        const struct ns_run_summary *s = &n->runs[i].run;
        if (pile_of(s) != PILE_UNFINISHED)
            continue;
        char *waits = report_run_waits(s);
        double eta = report_eta_seconds(&n->runs[i]);
        summary_table_row(&t, id_cell(s->id), summary_cell(s->job, f), ns_xstrdup(s->state),
                          ns_xasprintf("%lld/%lld", (long long)query_done(&s->counts),
                                       (long long)s->counts.total),
                          eta >= 0 ? summary_dur(eta) : ns_xstrdup("-"),
                          report_night_after_list(n->after ? &n->after[i] : NULL),
                          summary_cell(waits ? waits : "", f));
        free(waits);
    }
    summary_table_write(&t, f, out);
}

static void night_sla(const struct ns_night_report *n, enum ns_summary_format f, struct ns_buf *out)
{
    size_t with = 0;
    for (size_t i = 0; i < n->nruns; i++)
        with += n->runs[i].run.sla_state != NULL;
    char title[64];
    snprintf(title, sizeof title, "SLA (%zu of %zu runs have one)", with, n->nruns);
    struct summary_table t = {title, 4, {"RUN", "JOB", "SLA", "DEADLINE"}, NULL, 0};
    for (size_t i = 0; i < n->nruns; i++) {
        const struct ns_run_summary *s = &n->runs[i].run;
        if (!s->sla_state)
            continue;
        summary_table_row(&t, id_cell(s->id), summary_cell(s->job, f), ns_xstrdup(s->sla_state),
                          summary_time(s->sla_deadline));
    }
    summary_table_write(&t, f, out);
}

/* The commands, one a line behind a comment naming its run: pasted whole
 * into a shell, each acts on its own run (control_next_command). */
static void night_commands(const struct ns_night_report *n, enum ns_summary_format f,
                           struct ns_buf *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n->nruns; i++)
        count += n->runs[i].next_command != NULL;
    bool md = f == NS_SUMMARY_MARKDOWN;
    buf_addf(out, md ? "\n## to retry or resume (%zu)\n\n" : "\nto retry or resume (%zu):\n",
             count);
    if (!count) {
        buf_adds(out, md ? "(none)\n" : "  (none)\n");
        return;
    }
    if (md)
        buf_adds(out, "~~~sh\n");
    for (size_t i = 0; i < n->nruns; i++) {
        const struct ns_run_report *r = &n->runs[i];
        if (!r->next_command)
            continue;
        struct ns_buf job = NS_BUF_INIT, cmd = NS_BUF_INIT;
        escape_for_terminal(r->run.job, strlen(r->run.job), 0, &job);
        escape_for_terminal(r->next_command, strlen(r->next_command), 0, &cmd);
        buf_addf(out, "%s# %s run %lld (%s, %s)\n%s%s\n", md ? "" : "  ", r->next_what,
                 (long long)r->run_id, job.data, r->run.state, md ? "" : "  ", cmd.data);
        buf_release(&job);
        buf_release(&cmd);
    }
    if (md)
        buf_adds(out, "~~~\n");
}

/* ---- JSON (docs/json.md: nightshift.night/1) ----------------------------- */

static void json_text(struct ns_json *j, const char *key, const char *v)
{
    json_field_bytes(j, key, v, v ? strlen(v) : 0);
}

static void json_night_run(struct ns_json *j, const struct ns_run_report *r,
                           const struct ns_night_after *after)
{
    const struct ns_run_summary *s = &r->run;
    json_open_object(j, NULL);
    json_field_int(j, "id", s->id);
    json_text(j, "job", s->job);
    json_field_raw(j, "params", s->params_json ? s->params_json : "{}");
    json_field_str(j, "state", s->state);
    json_text(j, "state_reason", s->state_reason);
    json_field_str(j, "outcome", pile_words[pile_of(s)]);
    json_field_bool(j, "runtime_alive", s->alive);
    json_field_time(j, "started_at", s->started_at);
    json_field_time(j, "finished_at", s->finished_at);
    json_field_real(j, "wall_seconds", r->wall_s);
    json_open_object(j, "partitions");
    json_field_int(j, "total", s->counts.total);
    for (int p = 0; p < NS_PS_COUNT; p++)
        json_field_int(j, query_part_state_word((enum ns_part_state)p), s->counts.n[p]);
    json_close_object(j);
    double eta = report_eta_seconds(r);
    if (eta >= 0)
        json_field_real(j, "eta_seconds", eta);
    else
        json_field_null(j, "eta_seconds");
    json_field_time(j, "projected_finish", eta >= 0 ? s->finish_at : 0);
    char *waits = report_run_waits(s);
    json_text(j, "waiting_on", waits);
    free(waits);
    json_open_array(j, "after");
    for (size_t k = 0; after && k < after->n; k++)
        json_field_int(j, NULL, after->runs[k]);
    json_close_array(j);
    json_text(j, "waiting_for", s->waiting_for);
    json_text(j, "blocked_reason", s->blocked_reason);
    json_field_str(j, "sla_state", s->sla_state);
    json_field_time(j, "sla_deadline", s->sla_deadline);
    json_field_str(j, "next", r->next_what);
    json_text(j, "next_command", r->next_command);
    json_close_object(j);
}

static void json_night_groups(struct ns_json *j, const struct ns_night_report *n)
{
    json_open_array(j, "failure_groups");
    for (size_t i = 0; i < n->ngroups; i++) {
        const struct ns_night_group *g = &n->groups[i];
        json_open_object(j, NULL);
        json_text(j, "signature", g->signature);
        json_field_int(j, "partitions", g->partitions);
        json_open_array(j, "runs");
        for (size_t r = 0; r < g->nruns; r++)
            json_field_int(j, NULL, g->runs[r]);
        json_close_array(j);
        json_open_object(j, "example");
        json_field_int(j, "run_id", g->example_run);
        json_field_int(j, "partition", g->example_idx);
        json_text(j, "key", g->example_key);
        json_text(j, "message", g->example_message);
        json_close_object(j);
        json_close_object(j);
    }
    json_close_array(j);
}

static void render_night_json(const struct ns_night_report *n, const struct ns_night_finish *fin,
                              struct ns_buf *b)
{
    struct ns_json j;
    json_begin_document(&j, b, "night");
    json_field_time(&j, "since", n->since);
    json_field_time(&j, "until", n->now);
    json_text(&j, "host", n->host);
    json_text(&j, "database", n->db_path);
    json_open_object(&j, "runs_by_outcome");
    for (int p = PILE_SUCCEEDED; p <= PILE_UNFINISHED; p++)
        json_field_int(&j, pile_words[p], (int64_t)pile_count(n, (enum night_pile)p));
    json_close_object(&j);
    json_open_object(&j, "finish");
    json_field_int(&j, "unfinished_runs", fin->unfinished);
    json_field_time(&j, "projected_finish", fin->finish_at);
    json_field_int_or_null(&j, "last_run", fin->last_run > 0, fin->last_run);
    json_field_int_or_null(&j, "unknown_run", fin->unknown_run > 0, fin->unknown_run);
    json_field_int_or_null(&j, "unknown_upstream", fin->unknown_upstream > 0,
                           fin->unknown_upstream);
    json_field_time(&j, "latest_deadline", fin->deadline);
    json_field_int_or_null(&j, "deadline_run", fin->deadline_run > 0, fin->deadline_run);
    if (fin->deadline > 0 && fin->finish_at > 0)
        json_field_bool(&j, "on_time", fin->finish_at <= fin->deadline);
    else
        json_field_null(&j, "on_time");
    json_close_object(&j);
    json_open_array(&j, "runs");
    for (size_t i = 0; i < n->nruns; i++)
        json_night_run(&j, &n->runs[i], n->after ? &n->after[i] : NULL);
    json_close_array(&j);
    json_field_int(&j, "failure_signatures", n->nsignatures);
    json_field_int(&j, "failure_group_partitions", n->group_partitions);
    json_night_groups(&j, n);
    json_end_document(&j);
}

void summary_render_night(const struct ns_night_report *n, enum ns_summary_format f,
                          struct ns_buf *out)
{
    struct ns_night_finish fin;
    report_night_finish(n, &fin);
    if (f == NS_SUMMARY_JSON) {
        render_night_json(n, &fin, out);
        return;
    }
    night_figures(n, &fin, f, out);
    night_succeeded(n, f, out);
    night_failed(n, f, out);
    night_unfinished(n, f, out);
    night_sla(n, f, out);
    night_commands(n, f, out);
}
