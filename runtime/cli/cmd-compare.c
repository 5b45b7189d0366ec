/*
 * cmd-compare.c - `nightshift compare RUN_A [RUN_B] [--json]`: one run of a
 * job against another, by default the last one that succeeded before it
 * (compare.h computes and renders; this file parses and prints).
 */
#include <stdio.h>
#include <stdlib.h>

#include "nightshift/cli.h"
#include "nightshift/compare.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option compare_options[] = {
    {.name = "json", .help = "one JSON object, schema nightshift.compare/1 (docs/json.md)"},
    {.name = "top",
     .arg = "N",
     .help = "partitions to list, the greatest ratios first (default 20)",
     .flags = CLI_NUMBER,
     .max = 1000000},
};

static const char compare_help[] =
    "\n"
    "Compares RUN_A with RUN_B (default: the last run of the same job that succeeded\n"
    "before RUN_A): wall time, and each partition's time (its attempts' summed\n"
    "durations) matched by key. Partitions that took at least twice their earlier\n"
    "time (and 0.1 s more) are flagged, and listed first. Only partitions that\n"
    "succeeded in both runs with every attempt timed are compared. Exits 0 also\n"
    "when there is nothing to compare with (it says so).\n";

static int compare(struct cli *c)
{
    int64_t b = 0;
    if (c->nrest > 0) {
        b = cli_find_run("compare", c->st, c->rest[0]);
        if (b <= 0)
            return b == -2 ? NS_EXIT_USAGE : NS_EXIT_ERROR;
    }
    struct ns_compare cmp;
    char err[512];
    int rc = NS_EXIT_ERROR;
    if (compare_load(c->st, c->run_id, b, &cmp, err, sizeof err) != 0) {
        cli_error("compare", "%s", err);
    } else {
        struct ns_buf out = NS_BUF_INIT;
        size_t top = (size_t)cli_number_opt(c, "top", 20);
        if (cli_flag(c, "json"))
            compare_render_json(&cmp, top, &out);
        else
            compare_render_text(&cmp, top, &out);
        fwrite(out.data, 1, out.len, stdout);
        buf_release(&out);
        rc = NS_EXIT_OK;
    }
    compare_release(&cmp);
    return rc;
}

const struct ns_command cmd_compare = {
    .name = "compare",
    .args = "RUN_A [RUN_B] [--json] [--top N] [--db PATH]",
    .summary = "a run against another (default: the job's last successful run)",
    .run = compare,
    .help = compare_help,
    .exits = "0123",
    .options = compare_options,
    .noptions = NS_ARRAY_LEN(compare_options),
    .db = true,
    .target = CLI_TARGET_RUN,
    .store = CLI_STORE_READ,
    .min_rest = 0,
    .max_rest = 1,
    .operand = CLI_OPERAND_WORDS,
};
