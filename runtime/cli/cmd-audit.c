/*
 * cmd-audit.c - `nightshift audit RUN [--json]`: the operator commands of a
 * run, oldest first - who, when, what, the runtime's verdict and how long it
 * took to act. Pages with keyset pagination (--after ID), never OFFSET.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option audit_options[] = {
    {.name = "json", .help = "one JSON object, schema nightshift.audit/1 (docs/json.md)"},
    {.name = "after",
     .arg = "ID",
     .help = "only commands with an id above ID (to page)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
    {.name = "limit",
     .arg = "N",
     .help = "at most N commands (default 0: all)",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
};

static void audit_json(const struct ns_command_row *rows, int n, long long run)
{
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_begin_document(&j, &b, "audit");
    json_field_int(&j, "run_id", run);
    json_open_array(&j, "commands");
    for (int i = 0; i < n; i++) {
        const struct ns_command_row *c = &rows[i];
        json_open_object(&j, NULL);
        json_field_int(&j, "id", c->id);
        json_field_int(&j, "run_id", c->run_id);
        cli_json_issued(&j, c->issued_at, c->user, c->uid, c->source, c->verb, c->args);
        json_field_str(&j, "state", c->state);
        json_field_bytes(&j, "result", c->result, c->result ? strlen(c->result) : 0);
        json_field_time(&j, "applied_at", c->applied_at);
        if (c->applied_at > 0)
            json_field_real(&j, "latency_ms", (c->applied_at - c->issued_at) * 1000);
        else
            json_field_null(&j, "latency_ms");
        json_close_object(&j);
    }
    json_close_array(&j);
    json_end_document(&j);
    fwrite(b.data, 1, b.len, stdout);
    buf_release(&b);
}

static void audit_text(const struct ns_command_row *rows, int n, long long run)
{
    for (int i = 0; i < n; i++) {
        const struct ns_command_row *c = &rows[i];
        if (i == 0)
            printf("%-5s %-23s %-16s %-7s %-7s %-8s %9s  %s\n", "ID", "ISSUED", "USER(UID)",
                   "SOURCE", "VERB", "STATE", "LATENCY", "ARGS -> RESULT");
        char issued[48], who[64], lat[32] = "-";
        cli_format_time(c->issued_at, issued, sizeof issued);
        char *user = cli_escape(c->user);
        snprintf(who, sizeof who, "%s(%lld)", user, (long long)c->uid);
        free(user);
        if (c->applied_at > 0)
            snprintf(lat, sizeof lat, "%.1fms", (c->applied_at - c->issued_at) * 1000);
        char *source = cli_escape(c->source);
        char *verb = cli_escape(c->verb);
        char *args = cli_escape(c->args);
        char *result = cli_escape(c->result ? c->result : "");
        char *state = cli_escape(c->state);
        printf("%-5lld %-23s %-16s %-7s %-7s %-8s %9s  %s -> %s\n", (long long)c->id, issued, who,
               source, verb, state, lat, args, *result ? result : "(pending)");
        free(source);
        free(verb);
        free(args);
        free(result);
        free(state);
    }
    if (!n)
        printf("(no commands for run %lld)\n", run);
}

static int audit_list(struct ns_store *st, long long run, long long after, long long limit,
                      bool json)
{
    struct ns_command_row *rows;
    char err[256] = "";
    int n = query_commands(st, run, after, limit, &rows, err, sizeof err);
    if (n < 0) {
        cli_error("audit", "%s", err);
        return NS_EXIT_ERROR;
    }
    if (json)
        audit_json(rows, n, run);
    else
        audit_text(rows, n, run);
    query_command_rows_release(rows, n);
    return NS_EXIT_OK;
}

static int audit(struct cli *c)
{
    int64_t limit = cli_number_opt(c, "limit", 0);
    return audit_list(c->st, c->run_id, cli_number_opt(c, "after", 0), limit ? limit : -1,
                      cli_flag(c, "json"));
}

const struct ns_command cmd_audit = {
    .name = "audit",
    .args = "RUN [--json] [--after ID] [--limit N] [--db PATH]",
    .summary = "list a run's operator commands and their verdicts",
    .run = audit,
    .help = "\n"
            "Lists the operator commands issued against RUN (a run id or a job name),\n"
            "oldest first: id, when it was issued, by whom (user and uid), from where\n"
            "(cli, console), the verb and its arguments, its state (pending, applied,\n"
            "refused), the runtime's words and the latency from issue to verdict.\n"
            "Commands refused because no runtime drove the run are listed too.\n",
    .exits = "023",
    .options = audit_options,
    .noptions = NS_ARRAY_LEN(audit_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
};
