/*
 * cmd-audit.c - `nightshift audit RUN [--json]`: the operator commands of a
 * run, oldest first - who, when, what, the runtime's verdict and how long it
 * took to act. Pages with keyset pagination (--after ID), never OFFSET.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char audit_help[] =
    "usage: nightshift audit RUN [--json] [--after ID] [--limit N] [--db PATH]\n"
    "\n"
    "Lists the operator commands issued against RUN (a run id or a job name),\n"
    "oldest first: id, when it was issued, by whom (user and uid), from where\n"
    "(cli, console), the verb and its arguments, its state (pending, applied,\n"
    "refused), the runtime's words and the latency from issue to verdict.\n"
    "Commands refused because no runtime drove the run are listed too.\n"
    "\n"
    "  --json           one JSON array (issued_at, applied_at: Unix seconds)\n"
    "  --after ID       only commands with an id above ID (to page)\n"
    "  --limit N        at most N commands (default: all)\n";

static int audit_json(struct ns_store *st, long long run, long long after, long long limit)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT json_object('id', id, 'run_id', run_id, 'issued_at', issued_at, 'user', "
            "user, 'uid', uid, 'source', source, 'verb', verb, 'args', CASE WHEN "
            "json_valid(args) THEN json(args) ELSE args END, 'state', state, 'result', result, "
            "'applied_at', applied_at, 'latency_ms', CASE WHEN applied_at IS NULL THEN NULL "
            "ELSE round((applied_at - issued_at) * 1000, 1) END) FROM commands "
            "WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, limit);
    fputs("[", stdout);
    for (int i = 0; sqlite3_step(s) == SQLITE_ROW; i++)
        printf("%s%s", i ? ",\n " : "", cli_col(s, 0));
    fputs("]\n", stdout);
    sqlite3_finalize(s);
    return NS_EXIT_OK;
}

static int audit_text(struct ns_store *st, long long run, long long after, long long limit)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT id, issued_at, user, uid, source, verb, args, state, result, applied_at "
            "FROM commands WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, limit);
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (rows++ == 0)
            printf("%-5s %-23s %-16s %-7s %-7s %-8s %9s  %s\n", "ID", "ISSUED", "USER(UID)",
                   "SOURCE", "VERB", "STATE", "LATENCY", "ARGS -> RESULT");
        char issued[48], who[64], lat[32] = "-";
        cli_format_time(sqlite3_column_double(s, 1), issued, sizeof issued);
        char *user = cli_escape(cli_col(s, 2));
        snprintf(who, sizeof who, "%s(%lld)", user, sqlite3_column_int64(s, 3));
        free(user);
        if (sqlite3_column_type(s, 9) != SQLITE_NULL)
            snprintf(lat, sizeof lat, "%.1fms",
                     (sqlite3_column_double(s, 9) - sqlite3_column_double(s, 1)) * 1000);
        char *source = cli_escape(cli_col(s, 4));
        char *verb = cli_escape(cli_col(s, 5));
        char *args = cli_escape(cli_col(s, 6));
        char *result = cli_escape(cli_col(s, 8));
        printf("%-5lld %-23s %-16s %-7s %-7s %-8s %9s  %s -> %s\n", sqlite3_column_int64(s, 0),
               issued, who, source, verb, cli_col(s, 7), lat, args, *result ? result : "(pending)");
        free(source);
        free(verb);
        free(args);
        free(result);
    }
    sqlite3_finalize(s);
    if (!rows)
        printf("(no commands for run %lld)\n", run);
    return NS_EXIT_OK;
}

static int audit(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},    {"json", no_argument, NULL, 'j'},
        {"after", required_argument, NULL, 'a'}, {"limit", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *db_opt = NULL;
    bool json = false;
    int64_t after = 0, limit = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_opt = optarg;
            break;
        case 'j':
            json = true;
            break;
        case 'a':
        case 'l':
            if (ns_parse_int64(optarg, c == 'a' ? &after : &limit) != 0 ||
                (c == 'a' ? after : limit) < 0) {
                cli_error("audit", "--%s wants a whole number (got \"%s\")",
                          c == 'a' ? "after" : "limit", optarg);
                return NS_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(audit_help, stdout);
            return NS_EXIT_OK;
        default:
            fputs(audit_help, stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fputs(audit_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("audit", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    long long id = cli_find_run("audit", &st, argv[optind]);
    int rc = NS_EXIT_ERROR;
    if (id)
        rc = json ? audit_json(&st, id, after, limit ? limit : -1)
                  : audit_text(&st, id, after, limit ? limit : -1);
    store_close(&st);
    return rc;
}

const struct ns_command cmd_audit = {"audit", "RUN [--json] [--after ID] [--limit N] [--db PATH]",
                                     "list a run's operator commands and their verdicts", audit};
