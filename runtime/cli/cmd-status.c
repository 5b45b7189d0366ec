/*
 * cmd-status.c - `nightshift status [RUN] [--json]`: what is going on.
 *
 * Without RUN: one line per run, newest first. With RUN: the run's state, whether a
 * runtime is really driving it, counts, rates, ETA and SLA, then the running
 * and failed partitions and the latest events. Worker-provided text is
 * escaped; --json output goes through the one encoder (json.h), schema in
 * docs/json.md. Every figure comes from the read model (query.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/control.h"
#include "nightshift/deps.h"
#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option status_options[] = {
    {.name = "json", .help = "one JSON object (schemas in docs/json.md)"},
    {.name = "all", .help = "without RUN: every run, not only the newest"},
    {.name = "state",
     .arg = "STATE[,STATE]",
     .help = "without RUN: only runs in these states (running, paused, halted, stopping, "
             "stopped, succeeded, failed)",
     .complete = "running paused halted stopping stopped succeeded failed"},
    {.name = "job", .arg = "NAME", .help = "without RUN: only the runs of job NAME"},
    {.name = "since",
     .arg = "AGE",
     .help = "without RUN: only runs active within AGE (created, last written or finished "
             "since now - AGE: 24h, 7d)"},
    {.name = "format",
     .arg = "COLUMNS",
     .help = "the runs as these columns, like squeue -O: id,job,state,elapsed (NAME:WIDTH "
             "sets a width; docs/cli.md lists the names)"},
};

/* ---- status --format: columns, as squeue -O names them ------------------- */

typedef void (*cell_fn)(const struct ns_run_summary *r, char *out, size_t len);

static void c_id(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%lld", (long long)r->id);
}
static void c_job(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%s", r->job);
}
/* As the runs list: "?" = no runtime drives the unfinished run. */
static void c_state(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%s%s", r->state, !r->final && !r->alive ? "?" : "");
}
static void c_done(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%lld/%lld", (long long)query_done(&r->counts), (long long)r->counts.total);
}
static void c_total(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%lld", (long long)r->counts.total);
}
#define STATE_CELL(name, st)                                                                       \
    static void c_##name(const struct ns_run_summary *r, char *o, size_t n)                        \
    {                                                                                              \
        snprintf(o, n, "%lld", (long long)r->counts.n[st]);                                        \
    }
STATE_CELL(pending, NS_PS_PENDING)
STATE_CELL(running, NS_PS_RUNNING)
STATE_CELL(retrying, NS_PS_RETRY_WAIT)
STATE_CELL(paused, NS_PS_PAUSED)
STATE_CELL(succeeded, NS_PS_SUCCEEDED)
STATE_CELL(failed, NS_PS_FAILED)
STATE_CELL(skipped, NS_PS_SKIPPED)
#undef STATE_CELL
static void c_errors(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%lld", (long long)r->error_records);
}
static void c_records(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%lld", (long long)r->records_done);
}
static void c_started(const struct ns_run_summary *r, char *o, size_t n)
{
    cli_format_time(r->started_at, o, n);
}
static void c_finished(const struct ns_run_summary *r, char *o, size_t n)
{
    if (r->finished_at > 0)
        cli_format_time(r->finished_at, o, n);
    else
        snprintf(o, n, "-");
}
static void c_elapsed(const struct ns_run_summary *r, char *o, size_t n)
{
    ns_format_duration((int64_t)(r->elapsed_s * 1000), o, n);
}
static void c_eta(const struct ns_run_summary *r, char *o, size_t n)
{
    if (r->has_eta)
        ns_format_duration((int64_t)(r->eta_s * 1000), o, n);
    else
        snprintf(o, n, "-");
}
static void c_sla(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%s", r->sla_state ? r->sla_state : "-");
}
static void c_alive(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%s", r->alive ? "yes" : "no");
}
static void c_pid(const struct ns_run_summary *r, char *o, size_t n)
{
    if (r->alive)
        snprintf(o, n, "%lld", (long long)r->runtime_pid);
    else
        snprintf(o, n, "-");
}
static void c_commands(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%lld", (long long)r->commands_pending);
}
static void c_executor(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%s", r->executor);
}
static void c_reason(const struct ns_run_summary *r, char *o, size_t n)
{
    snprintf(o, n, "%s", r->state_reason ? r->state_reason : "-");
}
static void c_params(const struct ns_run_summary *r, char *o, size_t n)
{
    char *s = ns_params_oneline(r->params);
    snprintf(o, n, "%s", s);
    free(s);
}

/* Every column status --format knows (docs/cli.md lists the same). */
static const struct status_column {
    const char *name, *header;
    int width;
    cell_fn cell;
} status_columns[] = {
    {"id", "RUN", 5, c_id},
    {"job", "JOB", 20, c_job},
    {"state", "STATE", 10, c_state},
    {"done", "DONE/TOTAL", 13, c_done},
    {"total", "TOTAL", 7, c_total},
    {"pending", "PENDING", 7, c_pending},
    {"running", "RUNNING", 7, c_running},
    {"retrying", "RETRYING", 8, c_retrying},
    {"paused", "PAUSED", 6, c_paused},
    {"succeeded", "SUCCEEDED", 9, c_succeeded},
    {"failed", "FAILED", 6, c_failed},
    {"skipped", "SKIPPED", 7, c_skipped},
    {"errors", "ERRORS", 8, c_errors},
    {"records", "RECORDS", 10, c_records},
    {"started", "STARTED", 19, c_started},
    {"finished", "FINISHED", 19, c_finished},
    {"elapsed", "ELAPSED", 9, c_elapsed},
    {"eta", "ETA", 9, c_eta},
    {"sla", "SLA", 7, c_sla},
    {"alive", "ALIVE", 5, c_alive},
    {"pid", "PID", 7, c_pid},
    {"commands", "COMMANDS", 8, c_commands},
    {"executor", "EXECUTOR", 8, c_executor},
    {"reason", "REASON", 30, c_reason},
    {"params", "PARAMS", 0, c_params},
};

#define FORMAT_MAX_COLUMNS 32

struct status_format {
    const struct status_column *col[FORMAT_MAX_COLUMNS];
    int width[FORMAT_MAX_COLUMNS];
    int n;
};

/* Parses "id,job:30,state" into f. Returns 0, or -1 with the problem said. */
static int format_parse(const char *spec, struct status_format *f)
{
    char *copy = ns_xstrdup(spec), *save = NULL;
    int rc = 0;
    f->n = 0;
    for (char *w = strtok_r(copy, ",", &save); w && rc == 0; w = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(w, ':'), *end = NULL;
        long width = -1;
        if (colon) {
            *colon = '\0';
            width = strtol(colon + 1, &end, 10);
            if (end == colon + 1 || *end || width < 0 || width > 200) {
                cli_error("status", "--format: \"%s\": a width is a number from 0 to 200", w);
                rc = -1;
                break;
            }
        }
        const struct status_column *c = NULL;
        for (size_t i = 0; i < NS_ARRAY_LEN(status_columns); i++)
            if (strcmp(status_columns[i].name, w) == 0)
                c = &status_columns[i];
        if (!c || f->n == FORMAT_MAX_COLUMNS) {
            struct ns_buf names = NS_BUF_INIT;
            for (size_t i = 0; i < NS_ARRAY_LEN(status_columns); i++)
                buf_addf(&names, "%s%s", i ? " " : "", status_columns[i].name);
            cli_error("status", "--format: %s \"%s\" (the columns: %s)",
                      c ? "too many columns at" : "no column", w, names.data);
            buf_release(&names);
            rc = -1;
            break;
        }
        /* Never narrower than the header, so the header stays over its column. */
        int min = (int)strlen(c->header);
        f->col[f->n] = c;
        int want = width >= 0 ? (int)width : c->width;
        f->width[f->n++] = want > min ? want : min;
    }
    if (rc == 0 && f->n == 0) {
        cli_error("status", "--format: name at least one column (id,job,state,...)");
        rc = -1;
    }
    free(copy);
    return rc;
}

/* One line of cells, each padded to its width (never cut: a cut value
 * would be a wrong one) and escaped; header when r is NULL. */
static void format_line(const struct status_format *f, const struct ns_run_summary *r)
{
    struct ns_buf line = NS_BUF_INIT;
    for (int i = 0; i < f->n; i++) {
        char cell[512];
        if (r)
            f->col[i]->cell(r, cell, sizeof cell);
        else
            snprintf(cell, sizeof cell, "%s", f->col[i]->header);
        char *shown = cli_escape(cell);
        buf_adds(&line, shown);
        if (i + 1 < f->n) { /* padded to its width, then one space at least */
            for (int w = (int)strlen(shown); w < f->width[i]; w++)
                buf_addc(&line, ' ');
            buf_addc(&line, ' ');
        }
        free(shown);
    }
    buf_addc(&line, '\n');
    fwrite(line.data, 1, line.len, stdout);
    buf_release(&line);
}

/* "from=2026-11-01 to=..." from canonical "a=1\nb=2\n". */
static char *params_line(const char *canon)
{
    char *s = ns_params_oneline(canon);
    char *e = cli_escape(s);
    free(s);
    return e;
}

/* The fields of one run that status --json and status's list --json share
 * (docs/json.md, "run"). */
static void json_run_fields(struct ns_json *j, const struct ns_run_summary *r)
{
    const int64_t *n = r->counts.n;
    json_field_int(j, "id", r->id);
    json_field_bytes(j, "job", r->job, strlen(r->job));
    json_field_raw(j, "params", r->params_json);
    json_field_str(j, "state", r->state);
    json_field_bytes(j, "state_reason", r->state_reason,
                     r->state_reason ? strlen(r->state_reason) : 0);
    json_field_bool(j, "runtime_alive", r->alive);
    json_field_bytes(j, "runtime_exit", r->exit_note, r->exit_note ? strlen(r->exit_note) : 0);
    if (r->alive)
        json_field_int(j, "runtime_pid", r->runtime_pid);
    else
        json_field_null(j, "runtime_pid");
    json_field_time(j, "heartbeat_at", r->heartbeat_at);
    json_field_int(j, "concurrency", r->concurrency);
    json_field_str(j, "executor", r->executor);
    json_field_int(j, "total", r->counts.total);
    json_field_int(j, "done", query_done(&r->counts));
    for (int i = 0; i < NS_PS_COUNT; i++)
        json_field_int(j, query_part_state_word((enum ns_part_state)i), n[i]);
    json_field_int(j, "queued", r->counts.queued); /* of pending: in the executor's queue */
    json_field_bytes(j, "blocked_reason", r->blocked_reason, /* why none of them runs */
                     r->blocked_reason ? strlen(r->blocked_reason) : 0);
    json_field_bytes(j, "waiting_for", r->waiting_for, /* a pool its next attempt waits for */
                     r->waiting_for ? strlen(r->waiting_for) : 0);
    json_field_int(j, "records_done", r->records_done);
    json_field_int(j, "records_total", r->records_total);
    json_field_int(j, "error_records", r->error_records);
    json_field_real(j, "throughput", r->throughput);
    json_field_real(j, "record_rate", r->record_rate);
    if (r->has_eta) {
        json_field_real(j, "eta_seconds", r->eta_s);
        json_field_real(j, "projected_finish", r->finish_at);
    } else {
        json_field_null(j, "eta_seconds");
        json_field_null(j, "projected_finish");
    }
    json_field_time(j, "sla_deadline", r->sla_deadline);
    json_field_time(j, "sla_max_duration", r->sla_max_duration);
    json_field_str(j, "sla_state", r->sla_state);
    json_field_time(j, "created_at", r->created_at);
    json_field_time(j, "started_at", r->started_at);
    json_field_time(j, "finished_at", r->finished_at);
    json_field_real(j, "elapsed_seconds", r->elapsed_s);
    json_field_bytes(j, "spec_path", r->spec_path, strlen(r->spec_path));
    json_field_int(j, "commands_pending", r->commands_pending);
    json_field_int(j, "stragglers", r->stragglers);
    json_field_time(j, "straggler_after", r->straggler_after);
}

static void print_json(struct ns_json *j)
{
    json_end_document(j);
    fwrite(j->out->data, 1, j->out->len, stdout);
    buf_release(j->out);
}

#define LIST_PAGE 64

/* What the runs list shows: which runs (filter), how many, in which form. */
struct list_opts {
    bool all, json;
    struct ns_run_filter filter;
    const struct status_format *format; /* NULL: the default columns */
};

/* The default line of a run (the header is printed once before). */
static void list_default_row(const struct ns_run_summary *r)
{
    char started[32], el[32], done[32], state[24];
    cli_format_time(r->started_at, started, sizeof started);
    ns_format_duration((int64_t)(r->elapsed_s * 1000), el, sizeof el);
    c_done(r, done, sizeof done);
    c_state(r, state, sizeof state);
    char *job = cli_escape(r->job);
    char *params = params_line(r->params);
    printf("%-5lld %-20s %-10s %13s %6lld %8lld %-19s %9s  %s\n", (long long)r->id, job, state,
           done, (long long)r->counts.n[NS_PS_FAILED], (long long)r->error_records, started, el,
           params);
    free(job);
    free(params);
}

static void list_row(const struct list_opts *o, struct ns_json *j, const struct ns_run_summary *r)
{
    if (o->json) {
        json_open_object(j, NULL);
        json_run_fields(j, r);
        json_close_object(j);
    } else if (o->format) {
        format_line(o->format, r);
    } else {
        list_default_row(r);
    }
}

static int list_runs(struct ns_store *st, const struct list_opts *o)
{
    double now = ns_now();
    int want = o->all ? -1 : 20, shown = 0, orphans = 0;
    char err[256] = "";
    struct ns_run_summary rows[LIST_PAGE];
    struct ns_run_summary last = {0};
    bool have_last = false;
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_init(&j, &b);
    if (o->json) {
        json_begin_document(&j, &b, "runs");
        json_open_array(&j, "runs");
    } else if (o->format) {
        format_line(o->format, NULL);
    } else {
        printf("%-5s %-20s %-10s %13s %6s %8s %-19s %9s  %s\n", "RUN", "JOB", "STATE", "DONE/TOTAL",
               "FAILED", "ERRORS", "STARTED", "ELAPSED", "PARAMS");
    }
    for (;;) {
        int limit = want < 0 || want - shown > LIST_PAGE ? LIST_PAGE : want - shown;
        if (limit <= 0)
            break;
        int n = query_runs_filtered(st, &o->filter, have_last ? &last : NULL, 1, limit, now, rows,
                                    err, sizeof err);
        if (n < 0) {
            cli_error("status", "%s", err);
            buf_release(&b);
            return NS_EXIT_ERROR;
        }
        for (int i = 0; i < n; i++) {
            list_row(o, &j, &rows[i]);
            orphans += !rows[i].final && !rows[i].alive;
        }
        if (n > 0) {
            last.id = rows[n - 1].id;
            have_last = true;
        }
        for (int i = 0; i < n; i++)
            query_run_summary_release(&rows[i]);
        shown += n;
        if (n < limit)
            break;
    }
    if (o->json) {
        json_close_array(&j);
        print_json(&j);
    } else if (o->format) {
        ; /* only the columns asked for: a script reads them */
    } else if (!shown) {
        printf("(no runs%s)\n", o->filter.job || o->filter.states || o->filter.since > 0
                                     ? " match the filters"
                                     : " yet");
    } else if (orphans) {
        printf("state? = no runtime drives the run ('nightshift status RUN' says how to resume "
               "it)\n");
    }
    return NS_EXIT_OK;
}

#define JSON_PARTITIONS_MAX 1000
#define PENDING_SHOWN 10

/* The operator commands no runtime has answered yet (docs/json.md). */
static int json_pending_commands(struct ns_store *st, long long id, struct ns_json *j)
{
    struct ns_command_row *c;
    char err[256] = "";
    int n = query_pending_commands(st, id, -1, &c, err, sizeof err);
    if (n < 0) {
        cli_error("status", "%s", err);
        return -1;
    }
    json_open_array(j, "pending_commands");
    for (int i = 0; i < n; i++) {
        json_open_object(j, NULL);
        json_field_int(j, "id", c[i].id);
        json_field_str(j, "verb", c[i].verb);
        json_field_raw(j, "args", *c[i].args ? c[i].args : "{}");
        json_field_bytes(j, "user", c[i].user, strlen(c[i].user));
        json_field_str(j, "source", c[i].source);
        json_field_time(j, "issued_at", c[i].issued_at);
        json_close_object(j);
    }
    json_close_array(j);
    query_command_rows_release(c, n);
    return 0;
}

/* The commands waiting for a verdict: a pause sent to a runtime that has
 * not answered, or a retry queued for the next runtime to start. */
static void print_pending_commands(struct ns_store *st, const struct ns_run_summary *r, double now)
{
    if (r->commands_pending <= 0)
        return;
    struct ns_command_row *c;
    char err[256];
    int n = query_pending_commands(st, r->id, PENDING_SHOWN, &c, err, sizeof err);
    for (int i = 0; i < n; i++) {
        char ago[32];
        ns_format_duration((int64_t)((now - c[i].issued_at) * 1000), ago, sizeof ago);
        char *args = cli_escape(c[i].args), *user = cli_escape(c[i].user);
        printf("%-10s #%lld %s %s by %s (%s) %s ago: %s\n", i ? "" : "pending", (long long)c[i].id,
               c[i].verb, args, user, c[i].source, ago,
               r->alive ? "waits for the runtime's verdict"
                        : "queued: the next runtime of the run applies it");
        free(args);
        free(user);
    }
    if (r->commands_pending > n && n >= 0)
        printf("%-10s ... %lld in all (nightshift audit %lld)\n", "",
               (long long)r->commands_pending, (long long)r->id);
    query_command_rows_release(c, n < 0 ? 0 : n);
}

#define WAITS_SHOWN 20
#define WAITS_SCANNED 10000 /* pending partitions looked at for what holds them (a query each) */

#define STRAGGLERS_SHOWN 20

/* status --json: "straggler_partitions", the longest running first. */
static void json_stragglers(struct ns_store *st, const struct ns_run_summary *r, struct ns_json *j)
{
    struct ns_straggler rows[STRAGGLERS_SHOWN];
    /* The read model's rule: none while no runtime drives the run. */
    int64_t n = query_stragglers(st, r->id, r->alive ? r->straggler_after : 0, ns_now(), rows,
                                 STRAGGLERS_SHOWN);
    json_open_array(j, "straggler_partitions");
    for (int64_t i = 0; i < n && i < STRAGGLERS_SHOWN; i++) {
        json_open_object(j, NULL);
        json_field_int(j, "partition", rows[i].idx);
        json_field_bytes(j, "key", rows[i].key, strlen(rows[i].key));
        json_field_real(j, "running_seconds", rows[i].running_s);
        json_close_object(j);
    }
    json_close_array(j);
    query_stragglers_release(rows, n < 0 ? 0 : n < STRAGGLERS_SHOWN ? (size_t)n : STRAGGLERS_SHOWN);
}

/* The long tail: running partitions far past their siblings' median. */
static void print_stragglers(struct ns_store *st, const struct ns_run_summary *r, double now)
{
    struct ns_straggler rows[STRAGGLERS_SHOWN];
    int64_t n =
        query_stragglers(st, r->id, r->alive ? r->straggler_after : 0, now, rows, STRAGGLERS_SHOWN);
    if (n <= 0)
        return;
    char limit[32], ran[32];
    ns_format_duration((int64_t)(r->straggler_after * 1000), limit, sizeof limit);
    printf("%lld straggler%s (running over %s, %.0fx the median of the succeeded attempts):\n",
           (long long)n, n == 1 ? "" : "s", limit, NS_STRAGGLER_FACTOR);
    for (int64_t i = 0; i < n && i < STRAGGLERS_SHOWN; i++) {
        char *key = cli_escape(rows[i].key);
        ns_format_duration((int64_t)(rows[i].running_s * 1000), ran, sizeof ran);
        printf("  %6lld  %s  running %s\n", (long long)rows[i].idx, key, ran);
        free(key);
    }
    query_stragglers_release(rows, n < STRAGGLERS_SHOWN ? (size_t)n : STRAGGLERS_SHOWN);
}

static int show_json(struct ns_store *st, long long id)
{
    double now = ns_now();
    char err[256] = "";
    struct ns_run_summary r;
    if (query_run_summary(st, id, now, &r, err, sizeof err) != 1) {
        if (err[0])
            cli_error("status", "%s", err);
        query_run_summary_release(&r);
        return NS_EXIT_ERROR;
    }
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_begin_document(&j, &b, "status");
    json_run_fields(&j, &r);
    json_stragglers(st, &r, &j);
    char *next = NULL;
    control_next_command(st, r.id, r.run_state, r.alive, &next);
    json_field_bytes(&j, "next_command", next, next ? strlen(next) : 0);
    free(next);
    query_run_summary_release(&r);
    if (json_pending_commands(st, id, &j) != 0) {
        buf_release(&b);
        return NS_EXIT_ERROR;
    }

    struct ns_failure_groups fg;
    if (query_failure_groups(st, id, 0, &fg, err, sizeof err) != 0) {
        cli_error("status", "%s", err);
        buf_release(&b);
        return NS_EXIT_ERROR;
    }
    json_field_int(&j, "failure_group_partitions", fg.partitions);
    json_open_array(&j, "failure_groups");
    for (size_t i = 0; i < fg.n; i++) {
        const struct ns_failure_group *g = &fg.g[i];
        json_open_object(&j, NULL);
        json_field_bytes(&j, "signature", g->signature, g->signature ? strlen(g->signature) : 0);
        json_field_int(&j, "partitions", g->count);
        json_field_int(&j, "failed", g->failed);
        json_field_int(&j, "retry_wait", g->retry_wait);
        json_field_int(&j, "first_partition", g->first_idx);
        json_field_bytes(&j, "example", g->example, g->example ? strlen(g->example) : 0);
        json_close_object(&j);
    }
    json_close_array(&j);
    query_failure_groups_release(&fg);

    struct ns_dep_wait *w;
    long waits_total;
    long nw = deps_waits(st, id, JSON_PARTITIONS_MAX, WAITS_SCANNED, &w, &waits_total);
    json_open_array(&j, "waiting");
    for (long i = 0; i < nw; i++) {
        json_open_object(&j, NULL);
        json_field_int(&j, "index", w[i].idx);
        json_field_bytes(&j, "key", w[i].key, strlen(w[i].key));
        json_field_bytes(&j, "reason", w[i].why, strlen(w[i].why));
        json_close_object(&j);
    }
    json_close_array(&j);
    json_field_int(&j, "waiting_total", nw < 0 ? 0 : waits_total);
    deps_waits_free(w, nw);

    /* The partitions that are neither pending nor succeeded, by index. */
    struct ns_part_select sel = {.run_id = id, .filter = NS_PF_UNFINISHED, .sort = NS_SORT_IDX};
    struct ns_part_row rows[64], last = {0};
    bool have_last = false, more = false;
    int shown = 0;
    json_open_array(&j, "partitions");
    for (;;) {
        int n = query_partitions(st, &sel, have_last ? &last : NULL, 1, 64, rows, err, sizeof err);
        if (n < 0) {
            cli_error("status", "%s", err);
            buf_release(&b);
            return NS_EXIT_ERROR;
        }
        for (int i = 0; i < n; i++) {
            const struct ns_part_row *p = &rows[i];
            if (shown < JSON_PARTITIONS_MAX) {
                json_open_object(&j, NULL);
                json_field_int(&j, "index", p->idx);
                json_field_bytes(&j, "key", p->key, strlen(p->key));
                json_field_str(&j, "state", p->state);
                json_field_int(&j, "attempts", p->attempts);
                json_field_int(&j, "attempts_total", p->attempts_total);
                json_field_int(&j, "max_attempts", p->max_attempts);
                json_field_real(&j, "attempts_seconds", p->attempts_time);
                json_field_int(&j, "progress", p->progress);
                if (p->total >= 0)
                    json_field_int(&j, "total", p->total);
                else
                    json_field_null(&j, "total");
                json_field_int(&j, "error_records", p->errors);
                json_field_bytes(&j, "last_message", p->last_message,
                                 p->last_message ? strlen(p->last_message) : 0);
                json_field_bytes(&j, "signature", p->last_signature,
                                 p->last_signature ? strlen(p->last_signature) : 0);
                json_field_bytes(&j, "skip_reason", p->skip_reason,
                                 p->skip_reason ? strlen(p->skip_reason) : 0);
                json_close_object(&j);
                shown++;
            } else {
                more = true;
            }
        }
        if (n > 0) {
            last.idx = rows[n - 1].idx;
            have_last = true;
        }
        for (int i = 0; i < n; i++)
            query_part_row_release(&rows[i]);
        if (n < 64 || more)
            break;
    }
    json_close_array(&j);
    json_field_bool(&j, "partitions_truncated", more);
    print_json(&j);
    return NS_EXIT_OK;
}

static void show_partitions(struct ns_store *st, long long id, const char *state, const char *title,
                            int limit)
{
    struct ns_part_select sel = {.run_id = id, .state = state, .sort = NS_SORT_IDX};
    struct ns_part_row rows[32];
    char err[256];
    int got = query_partitions(st, &sel, NULL, 1, limit + 1, rows, err, sizeof err);
    for (int n = 0; n < got; n++) {
        const struct ns_part_row *p = &rows[n];
        if (n == 0)
            printf("%s:\n", title);
        if (n == limit) {
            printf("  ... (nightshift console %lld shows them all)\n", id);
            break;
        }
        char *key = cli_escape(p->key);
        char *msg = cli_escape(p->skip_reason    ? p->skip_reason
                               : p->last_message ? p->last_message
                                                 : "");
        char prog[48] = "";
        if (p->total > 0)
            snprintf(prog, sizeof prog, "%lld/%lld %3.0f%%", (long long)p->progress,
                     (long long)p->total, 100.0 * (double)p->progress / (double)p->total);
        else if (p->progress > 0)
            snprintf(prog, sizeof prog, "%lld done", (long long)p->progress);
        char att[48];
        printf("  %6lld  %-24s attempt %-5s  %-18s %s\n", (long long)p->idx, key,
               query_attempt_label(p, att, sizeof att), prog, msg);
        free(key);
        free(msg);
    }
    for (int n = 0; n < got; n++)
        query_part_row_release(&rows[n]);
}

/* The run's own lines: state and who drives it, counts, time, rate, SLA. */
static void print_run_lines(struct ns_store *st, const struct ns_run_summary *r, long long id,
                            double now)
{
    const int64_t *n = r->counts.n;
    char *job = cli_escape(r->job);
    char *params = params_line(r->params);
    printf("run %lld  %s  %s\n", id, job, params);
    free(job);
    free(params);
    printf("state      %s", r->state);
    if (r->state_reason) {
        char *reason = cli_escape(r->state_reason);
        printf(" (%s)", reason);
        free(reason);
    }
    if (r->alive)
        printf("; runtime pid %lld, heartbeat %.1fs ago", (long long)r->runtime_pid,
               now - r->heartbeat_at);
    else if (!r->final && r->exit_note) {
        char *why = cli_escape(r->exit_note);
        printf("; NO RUNTIME is driving it (its runtime stopped: %s)", why);
        free(why);
    } else if (!r->final) {
        printf("; NO RUNTIME is driving it (it was killed or crashed)");
    }
    printf("\n");
    char *next = NULL;
    const char *what = control_next_command(st, r->id, r->run_state, r->alive, &next);
    if (next) {
        char *shown = cli_escape(next);
        printf("%-10s %s\n", what, shown);
        free(shown);
        free(next);
    }
    printf("executor   %s\n", r->executor);
    printf("partitions %lld/%lld done: %lld succeeded, %lld failed, %lld skipped; %lld running, "
           "%lld paused, %lld waiting to retry, %lld pending",
           (long long)query_done(&r->counts), (long long)r->counts.total,
           (long long)n[NS_PS_SUCCEEDED], (long long)n[NS_PS_FAILED], (long long)n[NS_PS_SKIPPED],
           (long long)n[NS_PS_RUNNING], (long long)n[NS_PS_PAUSED], (long long)n[NS_PS_RETRY_WAIT],
           (long long)n[NS_PS_PENDING]);
    if (r->counts.queued > 0) /* submitted, waiting in the cluster's queue: not running */
        printf(" (%lld queued on %s)", (long long)r->counts.queued, r->executor);
    printf(" (concurrency %lld)\n", (long long)r->concurrency);
    if (r->blocked_reason) { /* the executor's word: why the pending ones wait */
        char *why = cli_escape(r->blocked_reason);
        printf("           nothing runs: %s (%s)\n", why, r->executor);
        free(why);
    }
    if (r->waiting_for) { /* a pool shared with other runs (nightshift pool) */
        char *why = cli_escape(r->waiting_for);
        printf("           %s\n", why);
        free(why);
    }
    printf("records    %lld done", (long long)r->records_done);
    if (r->records_total > 0)
        printf(" of %lld reported", (long long)r->records_total);
    printf("; %lld error records\n", (long long)r->error_records);
    char started[32], finished[32], el[32];
    cli_format_time(r->started_at, started, sizeof started);
    ns_format_duration((int64_t)(r->elapsed_s * 1000), el, sizeof el);
    printf("time       started %s, %s %s", started, r->final ? "took" : "elapsed", el);
    if (r->final) {
        cli_format_time(r->finished_at, finished, sizeof finished);
        printf(", finished %s", finished);
    }
    printf("\n");
    if (!r->final) {
        /* The read model gives a run that does not move no rate at all. */
        if (query_has_eta(r->state, r->alive))
            printf("rate       %.2f partitions/s, %.1f records/s", r->throughput, r->record_rate);
        else
            printf("rate       none: nothing moves");
        if (r->has_eta) {
            char eta[32], pf[32];
            ns_format_duration((int64_t)(r->eta_s * 1000), eta, sizeof eta);
            cli_format_time(r->finish_at, pf, sizeof pf);
            printf("; ETA %s (projected finish %s)", eta, pf);
        } else {
            printf("; no ETA (%s)", !r->alive                       ? "no runtime"
                                    : r->run_state != NS_RS_RUNNING ? r->state
                                                                    : "not known yet");
        }
        printf("\n");
    }
    if (r->sla_state) {
        printf("SLA        %s", r->sla_state);
        if (r->sla_deadline > 0) {
            char dl[32];
            cli_format_time(r->sla_deadline, dl, sizeof dl);
            printf("; deadline %s", dl);
        }
        if (r->sla_max_duration > 0) {
            char md[32];
            ns_format_duration((int64_t)(r->sla_max_duration * 1000), md, sizeof md);
            printf("; max duration %s", md);
        }
        printf("\n");
    }
    if (r->runtime_log) {
        char *log = cli_escape(r->runtime_log);
        printf("log        %s\n", log);
        free(log);
    }
}

/* The 3 a.m. question: why are they failing? Grouped by signature. */
static void print_failure_groups(struct ns_store *st, long long id)
{
    struct ns_failure_groups fg;
    char err[256];
    if (query_failure_groups(st, id, 6, &fg, err, sizeof err) != 0)
        return;
    for (size_t i = 0; i < fg.n; i++) {
        if (i == 0)
            printf("failures by cause (retry or skip a group with --signature):\n");
        char *sig = cli_escape(fg.g[i].signature ? fg.g[i].signature : "(no signature)");
        printf("  %6lld  %s", (long long)fg.g[i].count, sig);
        if (fg.g[i].retry_wait)
            printf("  (%lld waiting to retry)", (long long)fg.g[i].retry_wait);
        printf("\n");
        free(sig);
    }
    query_failure_groups_release(&fg);
}

/* Pending partitions held back by what the run waits for (after:), and
 * why, as the runtime judges it (deps_judge). */
static void print_waits(struct ns_store *st, long long id)
{
    struct ns_dep_wait *w;
    long total;
    long n = deps_waits(st, id, WAITS_SHOWN, WAITS_SCANNED, &w, &total);
    for (long i = 0; i < n; i++) {
        if (i == 0)
            printf("waiting for upstreams (%ld):\n", total);
        char *key = cli_escape(w[i].key), *why = cli_escape(w[i].why);
        printf("  %6lld  %-24s %s\n", (long long)w[i].idx, key, why);
        free(key);
        free(why);
    }
    if (n > 0 && total > n)
        printf("  ... (%ld more)\n", total - n);
    deps_waits_free(w, n);
}

static void print_latest_events(struct ns_store *st, long long id)
{
    struct ns_event_row ev[8];
    char err[256];
    int nev = query_events_tail(st, id, 8, ev, err, sizeof err);
    for (int i = 0; i < nev; i++) {
        if (i == 0)
            printf("latest events:\n");
        char t[32];
        time_t tt = (time_t)ev[i].at;
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(t, sizeof t, "%H:%M:%S", &tm);
        char *m = cli_escape(ev[i].message);
        printf("  %s  %s\n", t, m);
        free(m);
        query_event_row_release(&ev[i]);
    }
}

static int show_run(struct ns_store *st, long long id)
{
    double now = ns_now();
    struct ns_run_summary r;
    char err[256] = "";
    if (query_run_summary(st, id, now, &r, err, sizeof err) != 1) {
        if (err[0])
            cli_error("status", "%s", err);
        query_run_summary_release(&r);
        return NS_EXIT_ERROR;
    }
    print_run_lines(st, &r, id, now);
    print_pending_commands(st, &r, now);
    print_stragglers(st, &r, now);
    /* With no runtime nothing runs: those rows read as pending (query.h). */
    bool driven = r.alive;
    query_run_summary_release(&r);
    if (driven) {
        show_partitions(st, id, "running", "running", 20);
        show_partitions(st, id, "paused", "paused", 20);
    }
    show_partitions(st, id, "retry_wait", "waiting to retry", 20);
    show_partitions(st, id, "failed", "failed", 20);
    show_partitions(st, id, "skipped", "skipped", 10);
    print_waits(st, id);
    print_failure_groups(st, id);
    print_latest_events(st, id);
    return NS_EXIT_OK;
}

/* --state's words into the filter's bits; -1 (said) on a word that is no
 * run state. */
static int parse_states(const char *list, unsigned *bits)
{
    char *copy = ns_xstrdup(list), *save = NULL;
    int rc = 0;
    *bits = 0;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int st = query_run_state_of(w);
        if (st < 0) {
            cli_error("status",
                      "--state: \"%s\" is not a run state (running, paused, halted, stopping, "
                      "stopped, succeeded, failed)",
                      w);
            rc = -1;
            break;
        }
        *bits |= 1u << st;
    }
    free(copy);
    return rc;
}

/* Reads the list's options into o (fmt holds --format's columns); returns
 * 0 or a usage error, said. */
static int list_options(struct cli *c, struct list_opts *o, struct status_format *fmt)
{
    memset(o, 0, sizeof *o);
    o->all = cli_flag(c, "all");
    o->json = cli_flag(c, "json");
    o->filter.job = cli_opt(c, "job");
    if (cli_opt(c, "state") && parse_states(cli_opt(c, "state"), &o->filter.states) != 0)
        return NS_EXIT_USAGE;
    if (cli_opt(c, "since")) {
        int64_t ms;
        if (ns_parse_duration(cli_opt(c, "since"), &ms) != 0) {
            cli_error("status", "--since: \"%s\" is not a duration (examples: 24h, 7d, 1w)",
                      cli_opt(c, "since"));
            return NS_EXIT_USAGE;
        }
        o->filter.since = ns_now() - (double)ms / 1000.0;
    }
    if (cli_opt(c, "format")) {
        if (o->json) {
            cli_error("status", "--format and --json: choose one");
            return NS_EXIT_USAGE;
        }
        if (format_parse(cli_opt(c, "format"), fmt) != 0)
            return NS_EXIT_USAGE;
        o->format = fmt;
    }
    return 0;
}

static int status_check(struct cli *c)
{
    struct list_opts o;
    struct status_format fmt;
    int rc = list_options(c, &o, &fmt);
    if (rc == 0 && c->target && (o.filter.job || o.filter.states || o.filter.since > 0)) {
        cli_error("status", "--state, --job and --since choose runs from the list: leave RUN out");
        rc = NS_EXIT_USAGE;
    }
    return rc;
}

/* status RUN --format: the one run as a line of those columns. */
static int show_columns(struct ns_store *st, long long id, const struct status_format *fmt)
{
    struct ns_run_summary r;
    char err[256] = "";
    int rc = NS_EXIT_ERROR;
    if (query_run_summary(st, id, ns_now(), &r, err, sizeof err) == 1) {
        format_line(fmt, NULL);
        format_line(fmt, &r);
        rc = NS_EXIT_OK;
    } else if (err[0]) {
        cli_error("status", "%s", err);
    }
    query_run_summary_release(&r);
    return rc;
}

static int status(struct cli *c)
{
    struct list_opts o;
    struct status_format fmt;
    int rc = list_options(c, &o, &fmt); /* status_check said any problem */
    if (rc != 0)
        return rc;
    if (!c->target)
        return list_runs(c->st, &o);
    if (o.format)
        return show_columns(c->st, c->run_id, o.format);
    return o.json ? show_json(c->st, c->run_id) : show_run(c->st, c->run_id);
}

const struct ns_command cmd_status = {
    .name = "status",
    .args = "[RUN] [--db PATH] [--json] [--all] [--state STATE[,STATE]] [--job NAME] "
            "[--since AGE] [--format COLUMNS]",
    .summary = "show runs, or one run in detail",
    .run = status,
    .check = status_check,
    .help = "\n"
            "Without RUN, lists the newest runs (--all: every run). With RUN (a run id or\n"
            "a job name, meaning its newest run), shows its state, whether a runtime is\n"
            "driving it, partition counts, throughput, ETA, SLA state, the running and\n"
            "failed partitions, operator commands not answered yet and the latest events.\n"
            "--json prints one JSON object. --state, --job and --since filter the list;\n"
            "--format picks its columns, as squeue -O does: id, job, state, done, total,\n"
            "pending, running, retrying, paused, succeeded, failed, skipped, errors,\n"
            "records, started, finished, elapsed, eta, sla, alive, pid, commands,\n"
            "executor, reason, params (NAME:WIDTH sets a width).\n",
    .exits = "023",
    .options = status_options,
    .noptions = NS_ARRAY_LEN(status_options),
    .db = true,
    .target = CLI_TARGET_RUN_OPTIONAL,
    .store = CLI_STORE_READ,
};
