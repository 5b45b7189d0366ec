/*
 * cmd-events.c - `nightshift events RUN [--follow] [--json]`: the run's
 * story, oldest first - state changes, attempts, retries, hooks, commands.
 *
 * Pages by event id (keyset), never OFFSET. --follow keeps reading new
 * events while a runtime drives the run, then ends. Messages may hold a
 * worker's bytes: escaped in text, JSON-encoded with --json (one object a
 * line).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nightshift/cli.h"
#include "nightshift/json.h"
#include "nightshift/query-report.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option events_options[] = {
    {.name = "follow",
     .short_name = 'f',
     .help = "keep printing new events while a runtime drives the run; end when none does "
             "(the run ended, stopped or its runtime died)"},
    {.name = "json",
     .help = "one JSON object a line: id, at, run_id, partition, attempt_id, kind, message "
             "(schema nightshift.event/1)"},
    {.name = "after",
     .arg = "ID",
     .help = "only events with an id above ID (to page)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
    {.name = "limit",
     .arg = "N",
     .help = "at most N events (without --follow; 0, as without it: all)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
};

static const char events_help[] =
    "\n"
    "Prints the events of RUN (a run id or a job name), oldest first: time, kind\n"
    "(run_state, attempt_start, attempt_end, partition_state, command, hook, sla,\n"
    "halt, reconcile, ...) and what happened.\n"
    "\n"
    "With --follow it ends when no runtime drives the run, and its exit status\n"
    "says how the run ended, as run's does: 0 succeeded, 1 failed, 4 stopped\n"
    "or halted, 3 not finished (its runtime died: a note on stderr says so).\n";

#define EVENTS_PAGE 500
#define FOLLOW_POLL_NS 200000000L

/* The structured side of an event, beside its sentence (docs/json.md). An
 * attempt_end's exit code and signal are the attempt's; other events of an
 * attempt carry its number only. */
static void event_fields(struct ns_json *j, const struct ns_report_event *e)
{
    bool ended = strcmp(e->kind, "attempt_end") == 0;
    json_field_int_or_null(j, "attempt", e->attempt > 0, e->attempt);
    json_field_str(j, "outcome", ended ? e->outcome : NULL);
    json_field_int_or_null(j, "exit_code", ended && e->has_exit_code, e->exit_code);
    json_field_int_or_null(j, "signal", ended && e->has_signal, e->signal);
    json_field_str(j, "from_state", e->from_state);
    json_field_str(j, "to_state", e->to_state);
}

static void print_event(const struct ns_report_event *e, long long run, bool json, struct ns_buf *b)
{
    buf_reset(b);
    if (json) {
        struct ns_json j;
        json_begin_document(&j, b, "event");
        json_field_int(&j, "id", e->id);
        json_field_real(&j, "at", e->at);
        json_field_int(&j, "run_id", run);
        if (e->idx >= 0)
            json_field_int(&j, "partition", e->idx);
        else
            json_field_null(&j, "partition");
        if (e->attempt_id > 0)
            json_field_int(&j, "attempt_id", e->attempt_id);
        else
            json_field_null(&j, "attempt_id");
        json_field_str(&j, "kind", e->kind);
        json_field_bytes(&j, "message", e->message, strlen(e->message));
        event_fields(&j, e);
        json_end_document(&j);
    } else {
        char t[32];
        cli_format_time(e->at, t, sizeof t);
        char *kind = cli_escape(e->kind), *msg = cli_escape(e->message);
        buf_addf(b, "%-7lld %s  %-15s %s\n", (long long)e->id, t, kind, msg);
        free(kind);
        free(msg);
    }
    fwrite(b->data, 1, b->len, stdout);
}

/* Prints events after *after (at most limit, < 0: all); returns the number
 * printed or -1 on a database error. */
static long print_page(struct ns_store *st, long long run, int64_t *after, long limit, bool json,
                       struct ns_buf *b)
{
    long printed = 0;
    for (;;) {
        int want =
            limit < 0 || limit - printed > EVENTS_PAGE ? EVENTS_PAGE : (int)(limit - printed);
        if (want == 0)
            return printed;
        struct ns_report_event *rows;
        char err[512];
        long n = report_events(st, run, *after, want, &rows, err, sizeof err);
        if (n < 0) {
            cli_error("events", "%s", err);
            return -1;
        }
        for (long i = 0; i < n; i++) {
            print_event(&rows[i], run, json, b);
            *after = rows[i].id;
        }
        report_events_free(rows, n);
        printed += n;
        if (n < want)
            return printed;
    }
}

/* --follow ended (no runtime drives the run): the exit status says how the
 * run ended, as `run`'s does, so a script can wait on a run with it. A run
 * left unfinished by a runtime that died is said on stderr. */
static int follow_end(struct ns_store *st, long long run)
{
    struct ns_run_summary s;
    char err[512];
    int found = query_run_summary(st, run, ns_now(), &s, err, sizeof err);
    int rc = NS_EXIT_ERROR;
    if (found < 0)
        cli_error("events", "%s", err);
    else if (found == 0)
        cli_error("events", "run %lld is gone (collected?)", run);
    else if (s.final || s.run_state == NS_RS_HALTED)
        rc = cli_exit_for_run_state(s.run_state);
    else
        cli_error("events",
                  "run %lld is %s but no runtime drives it any more (killed or crashed?): "
                  "see nightshift status %lld",
                  run, s.state, run);
    query_run_summary_release(&s);
    return rc;
}

static int events(struct cli *c)
{
    bool json = cli_flag(c, "json"), follow = cli_flag(c, "follow");
    int64_t after = cli_number_opt(c, "after", 0), limit = cli_number_opt(c, "limit", 0);
    if (limit == 0)
        limit = -1; /* 0 is no limit, as for errors and audit */
    struct ns_store *st = c->st;
    long long run = c->run_id;
    int rc = NS_EXIT_ERROR;
    struct ns_buf b = NS_BUF_INIT;
    if (print_page(st, run, &after, follow ? -1 : limit, json, &b) < 0)
        goto out;
    fflush(stdout);
    const struct timespec pause = {0, FOLLOW_POLL_NS};
    while (follow) {
        /* Liveness first: what a runtime wrote before it let go is read in
         * the last round. */
        bool alive = query_runtime_alive(st, run);
        if (print_page(st, run, &after, -1, json, &b) < 0)
            goto out;
        fflush(stdout);
        if (!alive)
            break;
        nanosleep(&pause, NULL);
    }
    rc = follow ? follow_end(st, run) : NS_EXIT_OK;
out:
    buf_release(&b);
    return rc;
}

const struct ns_command cmd_events = {
    .name = "events",
    .args = "RUN [--follow] [--json] [--after ID] [--limit N] [--db PATH]",
    .summary = "print a run's events, or follow them",
    .run = events,
    .help = events_help,
    .exits = "01234",
    .options = events_options,
    .noptions = NS_ARRAY_LEN(events_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
};
