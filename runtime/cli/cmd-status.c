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
#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option status_options[] = {
    {.name = "json", .help = "one JSON object (schemas in docs/json.md)"},
    {.name = "all", .help = "without RUN: every run, not only the newest"},
};

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
}

static void print_json(struct ns_json *j)
{
    json_end_document(j);
    fwrite(j->out->data, 1, j->out->len, stdout);
    buf_release(j->out);
}

#define LIST_PAGE 64

static int list_runs(struct ns_store *st, bool all, bool json)
{
    double now = ns_now();
    int want = all ? -1 : 20, shown = 0, orphans = 0;
    char err[256] = "";
    struct ns_run_summary rows[LIST_PAGE];
    struct ns_run_summary last = {0};
    bool have_last = false;
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_init(&j, &b);
    if (json) {
        json_begin_document(&j, &b, "runs");
        json_open_array(&j, "runs");
    } else {
        printf("%-5s %-20s %-10s %13s %6s %8s %-19s %9s  %s\n", "RUN", "JOB", "STATE", "DONE/TOTAL",
               "FAILED", "ERRORS", "STARTED", "ELAPSED", "PARAMS");
    }
    for (;;) {
        int limit = want < 0 || want - shown > LIST_PAGE ? LIST_PAGE : want - shown;
        if (limit <= 0)
            break;
        int n = query_runs(st, "", have_last ? &last : NULL, 1, limit, now, rows, err, sizeof err);
        if (n < 0) {
            cli_error("status", "%s", err);
            buf_release(&b);
            return NS_EXIT_ERROR;
        }
        for (int i = 0; i < n; i++) {
            struct ns_run_summary *r = &rows[i];
            if (json) {
                json_open_object(&j, NULL);
                json_run_fields(&j, r);
                json_close_object(&j);
            } else {
                char started[32], el[32], done[32];
                cli_format_time(r->started_at, started, sizeof started);
                ns_format_duration((int64_t)(r->elapsed_s * 1000), el, sizeof el);
                snprintf(done, sizeof done, "%lld/%lld", (long long)query_done(&r->counts),
                         (long long)r->counts.total);
                char *job = cli_escape(r->job);
                char *params = params_line(r->params);
                /* As the console's runs list: "?" = no runtime drives it. */
                char state[24];
                bool orphan = !r->final && !r->alive;
                snprintf(state, sizeof state, "%s%s", r->state, orphan ? "?" : "");
                orphans += orphan;
                printf("%-5lld %-20s %-10s %13s %6lld %8lld %-19s %9s  %s\n", (long long)r->id, job,
                       state, done, (long long)r->counts.n[NS_PS_FAILED],
                       (long long)r->error_records, started, el, params);
                free(job);
                free(params);
            }
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
    if (json) {
        json_close_array(&j);
        print_json(&j);
    } else if (!shown) {
        printf("(no runs yet)\n");
    } else if (orphans) {
        printf("state? = no runtime drives the run ('nightshift status RUN' says how to resume "
               "it)\n");
    }
    return NS_EXIT_OK;
}

#define JSON_PARTITIONS_MAX 1000

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
    char *next = NULL;
    control_next_command(st, r.id, r.run_state, r.alive, &next);
    json_field_bytes(&j, "next_command", next, next ? strlen(next) : 0);
    free(next);
    query_run_summary_release(&r);

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
        printf("  %6lld  %-24s attempt %lld/%lld  %-18s %s\n", (long long)p->idx, key,
               (long long)p->attempts, (long long)p->max_attempts, prog, msg);
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
    else if (!r->final)
        printf("; NO RUNTIME is driving it (it was killed or crashed)");
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
    print_failure_groups(st, id);
    print_latest_events(st, id);
    return NS_EXIT_OK;
}

static int status(struct cli *c)
{
    bool json = cli_flag(c, "json");
    if (!c->target)
        return list_runs(c->st, cli_flag(c, "all"), json);
    return json ? show_json(c->st, c->run_id) : show_run(c->st, c->run_id);
}

const struct ns_command cmd_status = {
    .name = "status",
    .args = "[RUN] [--db PATH] [--json] [--all]",
    .summary = "show runs, or one run in detail",
    .run = status,
    .help = "\n"
            "Without RUN, lists the newest runs (--all: every run). With RUN (a run id or\n"
            "a job name, meaning its newest run), shows its state, whether a runtime is\n"
            "driving it, partition counts, throughput, ETA, SLA state, the running and\n"
            "failed partitions and the latest events. --json prints one JSON object.\n",
    .exits = "023",
    .options = status_options,
    .noptions = NS_ARRAY_LEN(status_options),
    .db = true,
    .target = CLI_TARGET_RUN_OPTIONAL,
    .store = CLI_STORE_READ,
};
