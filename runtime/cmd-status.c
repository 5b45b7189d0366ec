/*
 * cmd-status.c - `nightshift status [RUN] [--json]`: what is going on.
 *
 * Without RUN: one line per run, newest first. With RUN: the run's state, whether a
 * runtime is really driving it, counts, rates, ETA and SLA, then the running
 * and failed partitions and the latest events. Worker-provided text is
 * escaped; --json output is built by SQLite's json_object.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const char status_help[] =
    "usage: nightshift status [RUN] [--db PATH] [--json] [--all]\n"
    "\n"
    "Without RUN, lists the newest runs (--all: every run). With RUN (a run id or\n"
    "a job name, meaning its newest run), shows its state, whether a runtime is\n"
    "driving it, partition counts, throughput, ETA, SLA state, the running and\n"
    "failed partitions and the latest events. --json prints one JSON object.\n";

/* "from=2026-11-01 to=..." from canonical "a=1\nb=2\n". */
static char *params_line(const char *canon)
{
    char *s = ns_params_oneline(canon);
    char *e = cli_escape(s);
    free(s);
    return e;
}

static int list_runs(struct ns_store *st, bool all, bool json)
{
    sqlite3_stmt *s = store_prepare(
        st, json ? "SELECT json_object('id', id, 'job', job, 'params', json(params_json), "
                   "'state', state, 'total', total, 'succeeded', n_succeeded, 'failed', "
                   "n_failed, 'skipped', n_skipped, 'running', n_running, 'error_records', "
                   "error_records, 'created_at', created_at, 'finished_at', finished_at) "
                   "FROM runs ORDER BY id DESC LIMIT ?"
                 : "SELECT id, job, params, state, n_succeeded + n_failed + n_skipped, total, "
                   "n_failed, error_records, started_at, coalesce(finished_at, ?2) - started_at, "
                   "projected_finish, sla_state FROM runs ORDER BY id DESC LIMIT ?1");
    sqlite3_bind_int64(s, 1, all ? -1 : 20);
    if (!json)
        sqlite3_bind_double(s, 2, ns_now());
    if (json) {
        fputs("[", stdout);
        for (int i = 0; sqlite3_step(s) == SQLITE_ROW; i++)
            printf("%s%s", i ? ",\n " : "", cli_col(s, 0));
        fputs("]\n", stdout);
        sqlite3_finalize(s);
        return NS_EXIT_OK;
    }
    printf("%-5s %-20s %-10s %13s %6s %8s %-19s %9s  %s\n", "RUN", "JOB", "STATE", "DONE/TOTAL",
           "FAILED", "ERRORS", "STARTED", "ELAPSED", "PARAMS");
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        char started[32], el[32], done[32];
        cli_format_time(sqlite3_column_double(s, 8), started, sizeof started);
        ns_format_duration((int64_t)(sqlite3_column_double(s, 9) * 1000), el, sizeof el);
        snprintf(done, sizeof done, "%lld/%lld", sqlite3_column_int64(s, 4),
                 sqlite3_column_int64(s, 5));
        char *job = cli_escape(cli_col(s, 1));
        char *params = params_line(cli_col(s, 2));
        printf("%-5lld %-20s %-10s %13s %6lld %8lld %-19s %9s  %s\n", sqlite3_column_int64(s, 0),
               job, cli_col(s, 3), done, sqlite3_column_int64(s, 6), sqlite3_column_int64(s, 7),
               started, el, params);
        free(job);
        free(params);
        rows++;
    }
    sqlite3_finalize(s);
    if (!rows)
        printf("(no runs yet)\n");
    return NS_EXIT_OK;
}

static int show_json(struct ns_store *st, long long id)
{
    bool alive = store_runtime_alive(st, id);
    sqlite3_stmt *s = store_prepare(
        st, "SELECT json_object('id', r.id, 'job', r.job, 'params', json(r.params_json), "
            "'state', r.state, 'state_reason', r.state_reason, 'runtime_alive', json(?2), "
            "'runtime_pid', r.runtime_pid, 'heartbeat_at', r.heartbeat_at, 'concurrency', "
            "r.concurrency, 'total', r.total, 'pending', r.n_pending, 'paused', r.n_paused, "
            "'running', r.n_running, "
            "'retry_wait', r.n_retry_wait, 'succeeded', r.n_succeeded, 'failed', r.n_failed, "
            "'skipped', r.n_skipped, 'records_done', r.records_done, 'records_total', "
            "r.records_total, 'error_records', r.error_records, 'throughput', r.throughput, "
            "'record_rate', r.record_rate, 'projected_finish', r.projected_finish, 'eta_seconds', "
            "CASE WHEN r.projected_finish IS NULL OR r.finished_at IS NOT NULL THEN NULL ELSE "
            "max(0, r.projected_finish - ?3) END, 'sla_deadline', r.sla_deadline, "
            "'sla_max_duration', r.sla_max_duration, 'sla_state', r.sla_state, 'created_at', "
            "r.created_at, 'started_at', r.started_at, 'finished_at', r.finished_at, 'spec_path', "
            "r.spec_path, 'partitions', (SELECT json_group_array(json_object('index', p.idx, "
            "'key', p.key, 'state', p.state, 'attempts', p.attempts, 'max_attempts', "
            "p.max_attempts, 'progress', p.progress, 'total', p.total, 'error_records', "
            "p.error_records, 'last_message', p.last_message, 'skip_reason', p.skip_reason)) "
            "FROM partitions p WHERE p.run_id = r.id AND p.state NOT IN ('pending', "
            "'succeeded'))) FROM runs r WHERE r.id = ?1");
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, alive ? "true" : "false", -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, ns_now());
    if (sqlite3_step(s) == SQLITE_ROW)
        printf("%s\n", cli_col(s, 0));
    sqlite3_finalize(s);
    return NS_EXIT_OK;
}

static void show_partitions(struct ns_store *st, long long id, const char *state, const char *title,
                            int limit)
{
    sqlite3_stmt *s =
        store_prepare(st, "SELECT idx, key, attempts, max_attempts, progress, total, last_message, "
                          "skip_reason, started_at FROM partitions WHERE run_id = ? AND state = ? "
                          "ORDER BY idx LIMIT ?");
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, limit + 1);
    int n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == 0)
            printf("%s:\n", title);
        if (++n > limit) {
            printf("  ... (nightshift console %lld shows them all)\n", id);
            break;
        }
        char *key = cli_escape(cli_col(s, 1));
        char *msg =
            cli_escape(sqlite3_column_type(s, 7) != SQLITE_NULL ? cli_col(s, 7) : cli_col(s, 6));
        char prog[48] = "";
        if (sqlite3_column_type(s, 5) != SQLITE_NULL && sqlite3_column_int64(s, 5) > 0)
            snprintf(prog, sizeof prog, "%lld/%lld %3.0f%%", sqlite3_column_int64(s, 4),
                     sqlite3_column_int64(s, 5),
                     100.0 * (double)sqlite3_column_int64(s, 4) /
                         (double)sqlite3_column_int64(s, 5));
        else if (sqlite3_column_int64(s, 4) > 0)
            snprintf(prog, sizeof prog, "%lld done", sqlite3_column_int64(s, 4));
        printf("  %6lld  %-24s attempt %d/%d  %-18s %s\n", sqlite3_column_int64(s, 0), key,
               sqlite3_column_int(s, 2), sqlite3_column_int(s, 3), prog, msg);
        free(key);
        free(msg);
    }
    sqlite3_finalize(s);
}

static int show_run(struct ns_store *st, long long id)
{
    sqlite3_stmt *s = store_prepare(
        st, "SELECT job, params, state, state_reason, runtime_pid, heartbeat_at, total, "
            "n_pending, n_running, n_retry_wait, n_succeeded, n_failed, n_skipped, "
            "records_done, records_total, error_records, throughput, record_rate, "
            "projected_finish, sla_deadline, sla_max_duration, sla_state, started_at, "
            "finished_at, concurrency, spec_path, runtime_log FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, id);
    if (sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return NS_EXIT_ERROR;
    }
    double now = ns_now();
    const char *state = cli_col(s, 2);
    bool final = strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
                 strcmp(state, "stopped") == 0;
    bool alive = store_runtime_alive(st, id);
    char *job = cli_escape(cli_col(s, 0));
    char *params = params_line(cli_col(s, 1));
    printf("run %lld  %s  %s\n", id, job, params);
    free(job);
    free(params);
    printf("state      %s", state);
    if (sqlite3_column_type(s, 3) != SQLITE_NULL)
        printf(" (%s)", cli_col(s, 3));
    if (alive)
        printf("; runtime pid %lld, heartbeat %.1fs ago", sqlite3_column_int64(s, 4),
               now - sqlite3_column_double(s, 5));
    else if (!final)
        printf("; NO RUNTIME is driving it (it was killed or crashed): 'nightshift run %s' "
               "resumes it",
               cli_col(s, 25));
    printf("\n");
    long long total = sqlite3_column_int64(s, 6);
    long long done =
        sqlite3_column_int64(s, 10) + sqlite3_column_int64(s, 11) + sqlite3_column_int64(s, 12);
    printf("partitions %lld/%lld done: %lld succeeded, %lld failed, %lld skipped; %lld running, "
           "%lld waiting to retry, %lld pending (concurrency %d)\n",
           done, total, sqlite3_column_int64(s, 10), sqlite3_column_int64(s, 11),
           sqlite3_column_int64(s, 12), sqlite3_column_int64(s, 8), sqlite3_column_int64(s, 9),
           sqlite3_column_int64(s, 7), sqlite3_column_int(s, 24));
    printf("records    %lld done", sqlite3_column_int64(s, 13));
    if (sqlite3_column_int64(s, 14) > 0)
        printf(" of %lld reported", sqlite3_column_int64(s, 14));
    printf("; %lld error records\n", sqlite3_column_int64(s, 15));
    char started[32], finished[32], el[32];
    cli_format_time(sqlite3_column_double(s, 22), started, sizeof started);
    double end = sqlite3_column_type(s, 23) != SQLITE_NULL ? sqlite3_column_double(s, 23) : now;
    ns_format_duration((int64_t)((end - sqlite3_column_double(s, 22)) * 1000), el, sizeof el);
    printf("time       started %s, %s %s", started, final ? "took" : "elapsed", el);
    if (final) {
        cli_format_time(sqlite3_column_double(s, 23), finished, sizeof finished);
        printf(", finished %s", finished);
    }
    printf("\n");
    if (!final) {
        printf("rate       %.2f partitions/s, %.1f records/s", sqlite3_column_double(s, 16),
               sqlite3_column_double(s, 17));
        if (sqlite3_column_type(s, 18) != SQLITE_NULL) {
            char eta[32], pf[32];
            ns_format_duration((int64_t)((sqlite3_column_double(s, 18) - now) * 1000), eta,
                               sizeof eta);
            cli_format_time(sqlite3_column_double(s, 18), pf, sizeof pf);
            printf("; ETA %s (projected finish %s)", eta, pf);
        } else {
            printf("; ETA unknown yet");
        }
        printf("\n");
    }
    if (sqlite3_column_type(s, 21) != SQLITE_NULL) {
        printf("SLA        %s", cli_col(s, 21));
        if (sqlite3_column_type(s, 19) != SQLITE_NULL) {
            char dl[32];
            cli_format_time(sqlite3_column_double(s, 19), dl, sizeof dl);
            printf("; deadline %s", dl);
        }
        if (sqlite3_column_type(s, 20) != SQLITE_NULL) {
            char md[32];
            ns_format_duration((int64_t)(sqlite3_column_double(s, 20) * 1000), md, sizeof md);
            printf("; max duration %s", md);
        }
        printf("\n");
    }
    if (sqlite3_column_type(s, 26) != SQLITE_NULL)
        printf("log        %s\n", cli_col(s, 26));
    sqlite3_finalize(s);

    show_partitions(st, id, "running", "running", 20);
    show_partitions(st, id, "paused", "paused", 20);
    show_partitions(st, id, "retry_wait", "waiting to retry", 20);
    show_partitions(st, id, "failed", "failed", 20);
    show_partitions(st, id, "skipped", "skipped", 10);

    /* The 3 a.m. question: why are they failing? Grouped by signature. */
    s = store_prepare(st, "SELECT count(*), last_signature FROM partitions WHERE run_id = ? AND "
                          "state IN ('failed', 'retry_wait') AND last_signature IS NOT NULL "
                          "GROUP BY last_signature ORDER BY count(*) DESC, last_signature LIMIT 6");
    sqlite3_bind_int64(s, 1, id);
    for (int n = 0; sqlite3_step(s) == SQLITE_ROW; n++) {
        if (n == 0)
            printf("failures by cause (retry or skip a group with --signature):\n");
        char *sig = cli_escape(cli_col(s, 1));
        printf("  %6lld  %s\n", sqlite3_column_int64(s, 0), sig);
        free(sig);
    }
    sqlite3_finalize(s);

    s = store_prepare(st, "SELECT at, message FROM (SELECT id, at, message FROM events WHERE "
                          "run_id = ? AND kind NOT IN ('attempt_start') ORDER BY id DESC "
                          "LIMIT 8) ORDER BY id");
    sqlite3_bind_int64(s, 1, id);
    bool first = true;
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (first)
            printf("latest events:\n");
        first = false;
        char t[32];
        time_t tt = (time_t)sqlite3_column_double(s, 0);
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(t, sizeof t, "%H:%M:%S", &tm);
        char *m = cli_escape(cli_col(s, 1));
        printf("  %s  %s\n", t, m);
        free(m);
    }
    sqlite3_finalize(s);
    return NS_EXIT_OK;
}

static int status(int argc, char **argv)
{
    static const struct option longopts[] = {{"db", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"all", no_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *db_opt = NULL;
    bool json = false, all = false;
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
            all = true;
            break;
        case 'h':
            fputs(status_help, stdout);
            return NS_EXIT_OK;
        default:
            fputs(status_help, stderr);
            return NS_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(status_help, stderr);
        return NS_EXIT_USAGE;
    }
    struct ns_store st;
    if (cli_open_store("status", db_opt, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    int rc;
    if (optind == argc) {
        rc = list_runs(&st, all, json);
    } else {
        long long id = cli_find_run("status", &st, argv[optind]);
        rc = !id ? NS_EXIT_ERROR : json ? show_json(&st, id) : show_run(&st, id);
    }
    store_close(&st);
    return rc;
}

const struct ns_command cmd_status = {"status", "[RUN] [--db PATH] [--json]",
                                      "show runs, or one run in detail", status};
