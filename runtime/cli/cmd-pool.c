/*
 * cmd-pool.c - `nightshift pool [--json]` lists the pools shared by the
 * runs of the database (size, slots in use, runs holding and waiting, start
 * rate); `nightshift pool set NAME SLOTS [--rate N/s]` changes one, as an
 * audited operator command (pools.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/json.h"
#include "nightshift/pools.h"
#include "nightshift/spec.h"
#include "nightshift/store.h"
#include "nightshift/util.h"

static const struct cli_option pool_options[] = {
    {.name = "json",
     .help = "one JSON object: nightshift.pools/1, or nightshift.pool-audit/1 for audit "
             "(docs/json.md)"},
    {.name = "rate",
     .arg = "N/UNIT",
     .help = "pool set: at most N starts per second, minute or hour (10/s, 60/min, 500/h); "
             "none: no limit"},
};

#define POOL_MAX_SLOTS 100000

static int pool_check(struct cli *c)
{
    if (c->nrest == 1 && strcmp(c->rest[0], "audit") == 0)
        return 0;
    if (c->nrest == 0) {
        if (cli_opt(c, "rate")) {
            cli_error("pool", "--rate goes with pool set NAME SLOTS");
            return NS_EXIT_USAGE;
        }
        return 0;
    }
    if (strcmp(c->rest[0], "set") != 0 || c->nrest != 3) {
        cli_error("pool", "expected no operand (the list), audit, or: set NAME SLOTS [--rate N/s]");
        return NS_EXIT_USAGE;
    }
    if (!spec_pool_name_ok(c->rest[1])) {
        cli_error("pool",
                  "\"%s\" is not a pool name (letters, digits, \".\", \"_\" and \"-\", 1 "
                  "to 64)",
                  c->rest[1]);
        return NS_EXIT_USAGE;
    }
    int64_t slots;
    if (ns_parse_int64(c->rest[2], &slots) != 0 || slots < 1 || slots > POOL_MAX_SLOTS) {
        cli_error("pool", "SLOTS must be a whole number from 1 to %d (got \"%s\")", POOL_MAX_SLOTS,
                  c->rest[2]);
        return NS_EXIT_USAGE;
    }
    const char *rate = cli_opt(c, "rate");
    int n;
    double per;
    if (rate && strcmp(rate, "none") != 0 && ns_parse_rate(rate, &n, &per) != 0) {
        cli_error("pool",
                  "--rate: \"%s\" is not a start rate (examples: 10/s, 60/min, 500/h, none)", rate);
        return NS_EXIT_USAGE;
    }
    return 0;
}

static void pools_json(const struct ns_pool_row *rows, long n)
{
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_begin_document(&j, &b, "pools");
    json_open_array(&j, "pools");
    for (long i = 0; i < n; i++) {
        const struct ns_pool_row *r = &rows[i];
        json_open_object(&j, NULL);
        json_field_str(&j, "name", r->name);
        json_field_int(&j, "slots", r->slots);
        json_field_int(&j, "used", r->used);
        json_field_int(&j, "holders", r->holders);
        json_field_int(&j, "waiting", r->waiting);
        if (r->rate_n > 0) {
            json_field_int(&j, "rate_starts", r->rate_n);
            json_field_real(&j, "rate_per_seconds", r->rate_per);
        } else {
            json_field_null(&j, "rate_starts");
            json_field_null(&j, "rate_per_seconds");
        }
        json_field_str(&j, "set_by", r->set_by);
        json_field_time(&j, "updated_at", r->updated_at);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_end_document(&j);
    fwrite(b.data, 1, b.len, stdout);
    buf_release(&b);
}

static void pools_text(const struct ns_pool_row *rows, long n)
{
    if (n == 0) {
        printf("(no pools: a spec declares them under pools:, or pool set NAME SLOTS makes one)\n");
        return;
    }
    printf("%-20s %6s %6s %8s %8s %-9s %s\n", "POOL", "USED", "SLOTS", "HOLDERS", "WAITING", "RATE",
           "SET BY");
    for (long i = 0; i < n; i++) {
        const struct ns_pool_row *r = &rows[i];
        char rate[32] = "-", when[32];
        if (r->rate_n > 0)
            ns_format_rate(r->rate_n, r->rate_per, rate, sizeof rate);
        cli_format_time(r->updated_at, when, sizeof when);
        printf("%-20s %6d %6d %8d %8d %-9s %s, %s\n", r->name, r->used, r->slots, r->holders,
               r->waiting, rate, r->set_by, when);
    }
}

static int pool_list(bool json, const char *db)
{
    struct ns_store st;
    if (cli_open_store("pool", db, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    struct ns_pool_row *rows;
    char err[512];
    long n = pools_list(&st, &rows, err, sizeof err);
    store_close(&st);
    if (n < 0) {
        cli_error("pool", "%s", err);
        return NS_EXIT_ERROR;
    }
    if (json)
        pools_json(rows, n);
    else
        pools_text(rows, n);
    pools_rows_free(rows, n);
    return NS_EXIT_OK;
}

static int pool_set(struct cli *c)
{
    const char *name = c->rest[1];
    int64_t slots;
    ns_parse_int64(c->rest[2], &slots); /* pool_check read it */
    const char *rate = cli_opt(c, "rate");
    int rate_n = -1; /* unchanged */
    double per = 1;
    if (rate && strcmp(rate, "none") == 0)
        rate_n = 0;
    else if (rate)
        ns_parse_rate(rate, &rate_n, &per);
    struct ns_store st;
    /* A pool may be set before anything ran: the database is made then. */
    if (cli_open_store("pool", c->db, NS_STORE_WRITER, &st) != 0)
        return NS_EXIT_ERROR;
    char err[512], result[256];
    int rc = pools_set(&st, name, (int)slots, rate_n, per, "cli", result, sizeof result, err,
                       sizeof err);
    store_close(&st);
    if (rc != 0) {
        cli_error("pool", "%s", err);
        return NS_EXIT_ERROR;
    }
    cli_say("%s", result);
    return NS_EXIT_OK;
}

static void audit_json(const struct ns_pool_command *rows, long n)
{
    struct ns_buf b = NS_BUF_INIT;
    struct ns_json j;
    json_begin_document(&j, &b, "pool-audit");
    json_open_array(&j, "commands");
    for (long i = 0; i < n; i++) {
        const struct ns_pool_command *c = &rows[i];
        json_open_object(&j, NULL);
        json_field_int(&j, "id", c->id);
        json_field_str(&j, "pool", c->pool);
        cli_json_issued(&j, c->issued_at, c->user, c->uid, c->source, c->verb, c->args);
        json_field_str(&j, "result", c->result);
        json_close_object(&j);
    }
    json_close_array(&j);
    json_end_document(&j);
    fwrite(b.data, 1, b.len, stdout);
    buf_release(&b);
}

/* pool audit: every pool set, oldest first (pool_commands). */
static int pool_audit(bool json, const char *db)
{
    struct ns_store st;
    if (cli_open_store("pool", db, NS_STORE_READ, &st) != 0)
        return NS_EXIT_ERROR;
    struct ns_pool_command *rows;
    char err[512];
    long n = pools_commands(&st, &rows, err, sizeof err);
    store_close(&st);
    if (n < 0) {
        cli_error("pool", "%s", err);
        return NS_EXIT_ERROR;
    }
    if (json) {
        audit_json(rows, n);
    } else if (n == 0) {
        printf("(no pool was set by an operator)\n");
    } else {
        printf("%-5s %-19s %-16s %-7s %s\n", "ID", "ISSUED", "USER(UID)", "SOURCE",
               "ARGS -> RESULT");
        for (long i = 0; i < n; i++) {
            char when[32], who[64];
            cli_format_time(rows[i].issued_at, when, sizeof when);
            snprintf(who, sizeof who, "%s(%lld)", rows[i].user, (long long)rows[i].uid);
            cli_say("%-5lld %-19s %-16s %-7s %s %s -> %s", (long long)rows[i].id, when, who,
                    rows[i].source, rows[i].pool, rows[i].args, rows[i].result);
        }
    }
    pools_commands_free(rows, n);
    return NS_EXIT_OK;
}

static int pool(struct cli *c)
{
    if (c->nrest == 0)
        return pool_list(cli_flag(c, "json"), c->db);
    if (strcmp(c->rest[0], "audit") == 0)
        return pool_audit(cli_flag(c, "json"), c->db);
    return pool_set(c);
}

const struct ns_command cmd_pool = {
    .name = "pool",
    .args =
        "[--json] [--db PATH]\nset NAME SLOTS [--rate N/UNIT] [--db PATH]\naudit [--json] [--db "
        "PATH]",
    .summary = "list the shared pools, or set a pool's size and start rate",
    .run = pool,
    .check = pool_check,
    .help = "\n"
            "A pool is a number of slots shared by every run of the database: an attempt of\n"
            "a run whose spec says uses: {NAME: W} starts only when W slots of NAME are free,\n"
            "and holds them until it ends. Without operands, lists every pool: slots in use,\n"
            "its size, the runs holding slots and waiting for them, its start rate, and who\n"
            "set it last (a spec's default, or an operator).\n"
            "\n"
            "pool set NAME SLOTS changes the size at once (a pool not known yet is made):\n"
            "growing it starts waiting work now; shrinking it ends nothing, and nothing new\n"
            "starts until fewer than SLOTS are in use. --rate N/UNIT also limits the pool's\n"
            "starts (at most N per second, minute or hour, evenly spaced, across every run);\n"
            "--rate none lifts the limit. An operator's size wins over any spec's default.\n"
            "Every change is recorded (who, when, what) in the pool_commands table;\n"
            "pool audit lists them, oldest first.\n",
    .exits = "023",
    .options = pool_options,
    .noptions = NS_ARRAY_LEN(pool_options),
    .db = true,
    .target = CLI_TARGET_NONE,
    .min_rest = 0,
    .max_rest = 3,
    .operand = CLI_OPERAND_WORDS,
};
