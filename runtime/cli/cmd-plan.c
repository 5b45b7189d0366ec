/*
 * cmd-plan.c - `nightshift plan SPEC [-p name=value]... [--json]`: list the
 * partitions a run would have, as aligned text or as JSON lines.
 *
 * Keys and values may come from user files (keys files, file names), so the
 * text listing passes them through show() before they reach the terminal.
 * The plan is streamed (plan_stream): memory stays flat however many
 * partitions it has; the first pass measures the key column, the second
 * prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/json.h"
#include "nightshift/plan.h"
#include "nightshift/spec.h"

static const struct cli_option plan_options[] = {
    CLI_PARAM_OPTION,
    {.name = "json", .help = "print JSON lines (schema nightshift.plan/1, docs/json.md)"},
};

/* Keys and values come from users' files: escape them for the terminal.
 * Plain printable ASCII (nearly every key) is shown as it is, uncopied;
 * returns s itself then, else a copy the caller frees (see unshow). */
static const char *show(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            return escape_dup(s, strlen(s), 0);
    return s;
}

static void unshow(const char *shown, const char *s)
{
    if (shown != s)
        free((char *)shown);
}

struct listing {
    bool json;
    size_t kw;    /* key column width */
    int64_t last; /* the last index: the index column's width */
    int iw;       /* index column width, set with the header */
    bool header;
    struct ns_buf line;
};

/* First pass: the widest key, within reason, and the last index. */
static int measure(void *ctx, const struct ns_partition *p)
{
    struct listing *l = ctx;
    l->last = p->index;
    if (!l->json && l->kw < 40) {
        const char *key = show(p->key);
        size_t n = strlen(key);
        unshow(key, p->key);
        if (n > l->kw)
            l->kw = n > 40 ? 40 : n;
    }
    return 0;
}

/* One nightshift.plan/1 line: the index as a number, the key, the
 * partition's own parameters as an object (params[0] and [1] are index and
 * key). */
static void plan_json_line(const struct ns_partition *p, struct ns_buf *b)
{
    struct ns_json j;
    buf_reset(b);
    json_begin_document(&j, b, "plan");
    json_field_int(&j, "index", p->index);
    json_field_bytes(&j, "key", p->key, strlen(p->key));
    json_open_object(&j, "params");
    for (size_t i = 2; i < p->params_len; i++)
        json_field_bytes(&j, p->params[i].name, p->params[i].value, strlen(p->params[i].value));
    json_close_object(&j);
    json_end_document(&j);
}

static int print_one(void *ctx, const struct ns_partition *p)
{
    struct listing *l = ctx;
    if (l->json) {
        plan_json_line(p, &l->line);
        fwrite(l->line.data, 1, l->line.len, stdout);
        return ferror(stdout) ? 1 : 0;
    }
    if (!l->header) {
        l->iw = snprintf(NULL, 0, "%lld", (long long)l->last);
        if (l->iw < 5)
            l->iw = 5;
        printf("%-*s  %-*s  PARAMS\n", l->iw, "INDEX", (int)l->kw, "KEY");
        l->header = true;
    }
    /* One line built in one buffer: printf per field costs more than the
     * plan itself at a million partitions. */
    struct ns_buf *b = &l->line;
    buf_reset(b);
    char idx[24];
    int n = snprintf(idx, sizeof idx, "%lld", (long long)p->index);
    for (int i = n; i < l->iw; i++)
        buf_addc(b, ' ');
    buf_add(b, idx, (size_t)n);
    buf_adds(b, "  ");
    const char *key = show(p->key);
    buf_adds(b, key);
    for (size_t i = strlen(key); i < l->kw; i++)
        buf_addc(b, ' ');
    unshow(key, p->key);
    buf_addc(b, ' ');
    for (size_t j = 2; j < p->params_len; j++) {
        const char *v = show(p->params[j].value);
        buf_addc(b, ' ');
        buf_adds(b, p->params[j].name);
        buf_addc(b, '=');
        buf_adds(b, v);
        unshow(v, p->params[j].value);
    }
    buf_addc(b, '\n');
    fwrite(b->data, 1, b->len, stdout);
    return ferror(stdout) ? 1 : 0;
}

static int plan_main(struct cli *c)
{
    const char *file = c->target;
    int rc = NS_EXIT_USAGE;
    struct ns_spec spec;
    struct ns_plan plan;
    struct ns_diags diags = {0};
    bool loaded = false;
    if (spec_load(file, &spec, &diags) < 0)
        goto problems;
    loaded = true;
    if (cli_resolve_default_dates(c, &spec) != 0)
        goto out;
    struct listing l = {.json = cli_flag(c, "json"), .kw = 3};
    int stopped = 0;
    /* Pass one validates and measures; only a good plan is printed. */
    int streamed =
        plan_stream(&spec, c->params, c->nparams, measure, print_one, &l, &plan, &diags, &stopped);
    buf_release(&l.line);
    if (streamed < 0) {
        if (stopped) {
            rc = NS_EXIT_ERROR; /* stdout failed (a closed pipe, a full disk) */
            goto out;
        }
        goto problems;
    }
    plan_release(&plan);
    rc = fflush(stdout) == 0 ? NS_EXIT_OK : NS_EXIT_ERROR;
    goto out;
problems:
    cli_print_diags(&diags, file);
out:
    if (loaded)
        spec_release(&spec);
    diags_release(&diags);
    return rc;
}

const struct ns_command cmd_plan = {
    .name = "plan",
    .args = "SPEC [-p NAME=VALUE]... [--json]",
    .summary = "list the partitions a run would have",
    .run = plan_main,
    .help = "\n"
            "Lists the partitions a run of SPEC would have: a header line, then one line\n"
            "per partition: INDEX KEY name=value... With --json, one JSON object per\n"
            "partition and line (JSONL), every value a string. Exit status 2 when the\n"
            "spec or the plan has a problem (reported as FILE:LINE:COL: message).\n",
    .exits = "02",
    .options = plan_options,
    .noptions = NS_ARRAY_LEN(plan_options),
    .target = CLI_TARGET_SPEC,
};
