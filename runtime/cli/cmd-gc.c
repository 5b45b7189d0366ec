/*
 * cmd-gc.c - `nightshift gc [--older-than AGE] [--keep-last N] [--yes]`:
 * delete finished runs older than AGE, or beyond each job's N newest - a
 * dry run unless --yes (gc.h does the deleting).
 */
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/gc.h"
#include "nightshift/query-report.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option gc_options[] = {
    {.name = "older-than", .arg = "AGE", .help = "runs that finished before now - AGE"},
    {.name = "keep-last",
     .arg = "N",
     .help = "keep each job's N newest finished runs, however old",
     .flags = CLI_NUMBER,
     .max = INT64_MAX},
    {.name = "yes", .help = "delete (without it: a dry run)"},
};

static const char gc_help[] =
    "\n"
    "Deletes the runs that finished (succeeded, failed or stopped) more than AGE\n"
    "ago (a duration: 30d, 12h, 1w) and that no runtime drives: their rows in every\n"
    "table, their attempt logs, wake-up FIFOs and detached runtime log; then\n"
    "reclaims the space (VACUUM). --keep-last N keeps each job's N newest finished\n"
    "runs; alone, it deletes every other finished run. Without --yes it only lists\n"
    "what would go. Unfinished runs are never touched.\n";

static void human_size(int64_t bytes, char *out, size_t len)
{
    if (bytes >= 10 * 1024 * 1024)
        snprintf(out, len, "%lld MiB", (long long)(bytes >> 20));
    else if (bytes >= 10 * 1024)
        snprintf(out, len, "%lld KiB", (long long)(bytes >> 10));
    else
        snprintf(out, len, "%lld B", (long long)bytes);
}

static int gc_check(struct cli *c)
{
    int64_t age_ms;
    const char *age = cli_opt(c, "older-than");
    if (!age && !cli_opt(c, "keep-last")) {
        cli_error("gc", "say which runs: --older-than AGE (for example 30d), --keep-last N, or both");
        return NS_EXIT_USAGE;
    }
    if (!age)
        return 0;
    if (ns_parse_duration(age, &age_ms) != 0) {
        cli_error("gc", "--older-than: \"%s\" is not a duration (examples: 30d, 12h, 1w)", age);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static int gc(struct cli *c)
{
    int64_t age_ms = 0;
    bool yes = cli_flag(c, "yes");
    const char *age = cli_opt(c, "older-than");
    if (age)
        ns_parse_duration(age, &age_ms); /* gc_check read it */
    int64_t keep = cli_number_opt(c, "keep-last", 0);
    const char *db_opt = c->db;
    struct ns_store st;
    if (cli_open_store("gc", db_opt, yes ? NS_STORE_CLIENT : NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    char err[512];
    struct ns_gc_run *runs = NULL;
    double cutoff = ns_now() - (double)age_ms / 1000.0;
    long n = report_gc_select(&st, cutoff, keep, &runs, err, sizeof err);
    int rc = NS_EXIT_OK;
    if (n < 0) {
        cli_error("gc", "%s", err);
        store_close(&st);
        return NS_EXIT_ERROR;
    }
    char when[32];
    cli_format_time(cutoff, when, sizeof when);
    if (n == 0 && keep > 0)
        printf("no finished run to delete (none finished before %s beyond each job's %lld "
               "newest)\n",
               when, (long long)keep);
    else if (n == 0)
        printf("no finished run to delete (none finished before %s)\n", when);
    int64_t deleted = 0, files = 0;
    for (long i = 0; i < n; i++) {
        char fin[32];
        cli_format_time(runs[i].finished_at, fin, sizeof fin);
        char *job = cli_escape(runs[i].job);
        printf("%s run %lld %s (%s, finished %s): %lld partitions, %lld attempts, %lld error "
               "records\n",
               yes ? "delete" : "would delete", (long long)runs[i].id, job, runs[i].state, fin,
               (long long)runs[i].partitions, (long long)runs[i].attempts,
               (long long)runs[i].error_records);
        free(job);
        if (!yes)
            continue;
        int64_t bytes = 0;
        ns_waitpoint("gc.delete"); /* tests: a run finishes again right here */
        int d = gc_delete_run(&st, runs[i].id, cutoff, &bytes, err, sizeof err);
        if (d == 0) {
            deleted++;
            files += bytes;
        } else {
            cli_error("gc", "%s%s", err, d > 0 ? " (left alone)" : "");
            if (d < 0)
                rc = NS_EXIT_ERROR;
        }
    }
    report_gc_free(runs, n);
    if (!yes && n > 0)
        printf("dry run: %ld run%s would go; nothing was deleted (--yes deletes)\n", n,
               n == 1 ? "" : "s");
    if (yes && deleted > 0) {
        int64_t before = 0, after = 0;
        char fsz[32], szb[32], sza[32];
        human_size(files, fsz, sizeof fsz);
        if (gc_reclaim(&st, &before, &after, err, sizeof err) != 0) {
            cli_error("gc", "space not reclaimed (try again when the database is quiet): %s", err);
            rc = NS_EXIT_ERROR;
        }
        human_size(before, szb, sizeof szb);
        human_size(after, sza, sizeof sza);
        printf("deleted %lld run%s and %s of their files; database %s -> %s\n", (long long)deleted,
               deleted == 1 ? "" : "s", fsz, szb, sza);
    }
    store_close(&st);
    return rc;
}

const struct ns_command cmd_gc = {
    .name = "gc",
    .args = "[--older-than AGE] [--keep-last N] [--yes] [--db PATH]",
    .summary = "delete old finished runs (dry run without --yes)",
    .run = gc,
    .check = gc_check,
    .help = gc_help,
    .exits = "023",
    .options = gc_options,
    .noptions = NS_ARRAY_LEN(gc_options),
    .db = true,
};
