/*
 * cmd-plan.c - `nightshift plan SPEC [-p name=value]... [--json]`: list the
 * partitions a run would have, as aligned text or as JSON lines.
 *
 * Keys and values may come from user files (keys files, file names), so the
 * text listing passes them through show() before they reach the terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/plan.h"
#include "nightshift/spec.h"

static const char help_text[] =
    "Lists the partitions a run of SPEC would have: a header line, then one line\n"
    "per partition: INDEX KEY name=value... With --json, one JSON object per\n"
    "partition and line (JSONL), every value a string. Exit status 2 when the\n"
    "spec or the plan has a problem (reported as FILE:LINE:COL: message).\n\n"
    "  -p, --param NAME=VALUE   set a run parameter (repeatable)\n"
    "      --json               print JSON lines\n"
    "  -h, --help               show this help\n";

/* Keys and values come from users' files: escape them for the terminal. */
static char *show(const char *s)
{
    return escape_dup(s, strlen(s), 0);
}

static int plan_main(int argc, char **argv)
{
    const char *file = NULL;
    char **given = NULL;
    size_t ngiven = 0;
    bool json = false, loaded = false;
    int rc = NS_EXIT_USAGE;
    struct ns_spec spec;
    struct ns_plan plan;
    struct ns_diags diags = {0};

    struct cli_spec_args args;
    int parsed = cli_parse_spec_args(&cmd_plan, help_text, true, argc, argv, &args);
    given = args.given;
    ngiven = args.ngiven;
    file = args.file;
    if (parsed != 0) {
        rc = parsed > 0 ? NS_EXIT_OK : NS_EXIT_USAGE;
        goto out;
    }
    json = args.json;
    if (spec_load(file, &spec, &diags) < 0)
        goto problems;
    loaded = true;
    if (plan_build(&spec, given, ngiven, &plan, &diags) < 0)
        goto problems;

    if (json) {
        for (size_t i = 0; i < plan.len; i++) {
            char *line = plan_partition_json(&plan.parts[i]);
            puts(line);
            free(line);
        }
    } else {
        /* Align the key column on the widest key, within reason. */
        size_t kw = 3;
        for (size_t i = 0; i < plan.len && kw < 40; i++) {
            char *key = show(plan.parts[i].key);
            size_t l = strlen(key);
            free(key);
            if (l > kw)
                kw = l > 40 ? 40 : l;
        }
        int iw = snprintf(NULL, 0, "%zu", plan.len - 1);
        if (iw < 5)
            iw = 5;
        printf("%-*s  %-*s  PARAMS\n", iw, "INDEX", (int)kw, "KEY");
        for (size_t i = 0; i < plan.len; i++) {
            const struct ns_partition *p = &plan.parts[i];
            char *key = show(p->key);
            printf("%*lld  %-*s ", iw, (long long)p->index, (int)kw, key);
            free(key);
            for (size_t j = 2; j < p->params_len; j++) {
                char *v = show(p->params[j].value);
                printf(" %s=%s", p->params[j].name, v);
                free(v);
            }
            putchar('\n');
        }
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
    cli_spec_args_release(&args);
    return rc;
}

const struct ns_command cmd_plan = {"plan",
                                    "SPEC [-p NAME=VALUE]... [--json]",
                                    "list the partitions a run would have",
                                    plan_main,
                                    help_text,
                                    "02"};
