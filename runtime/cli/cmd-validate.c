/*
 * cmd-validate.c - `nightshift validate SPEC [-p name=value]...`: load the
 * spec, build the plan when every required parameter is given, and say in
 * one line what would run. Problems go to stderr as FILE:LINE:COL: message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/cli.h"
#include "nightshift/escape.h"
#include "nightshift/plan.h"
#include "nightshift/spec.h"

static const struct cli_option validate_options[] = {CLI_PARAM_OPTION};

/* "10m", "1h30m", "45s", "500ms": exact, for the summary line. */
static void format_span(int64_t ms, char *out, size_t len)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof units / sizeof units[0] && used < len; i++) {
        if (ms >= units[i].ms) {
            int n = snprintf(out + used, len - used, "%lld%s", (long long)(ms / units[i].ms),
                             units[i].unit);
            if (n > 0)
                used += (size_t)n;
            ms %= units[i].ms;
        }
    }
    if (!out[0])
        snprintf(out, len, "0s");
}

/* The given -p first: a typo must not hide behind "plan not checked".
 * Returns 0, or -1 after saying what is wrong. */
static int check_given(const struct ns_spec *spec, char **given, size_t ngiven, const char *file)
{
    for (size_t g = 0; g < ngiven; g++) {
        const char *eq = strchr(given[g], '=');
        size_t nl = eq ? (size_t)(eq - given[g]) : 0;
        bool declared = false, twice = false;
        for (size_t i = 0; eq && i < spec->params_len; i++)
            if (strlen(spec->params[i].name) == nl &&
                strncmp(spec->params[i].name, given[g], nl) == 0)
                declared = true;
        for (size_t h = 0; eq && h < g; h++)
            if (strncmp(given[h], given[g], nl + 1) == 0)
                twice = true;
        if (!eq)
            cli_error("validate", "-p %s: expected NAME=VALUE", given[g]);
        else if (twice)
            cli_error("validate", "-p %s: parameter \"%.*s\" given twice", given[g], (int)nl,
                      given[g]);
        else if (!declared)
            cli_error("validate", "-p %s: unknown parameter \"%.*s\" (see params: in %s)", given[g],
                      (int)nl, given[g], file);
        if (!eq || !declared || twice)
            return -1;
    }
    return 0;
}

/* " -p NAME=VALUE" for each required parameter not given, into missing. */
static void find_missing(const struct ns_spec *spec, char **given, size_t ngiven,
                         struct ns_buf *missing)
{
    for (size_t i = 0; i < spec->params_len; i++) {
        if (spec->params[i].value)
            continue;
        size_t nl = strlen(spec->params[i].name);
        bool found = false;
        for (size_t g = 0; g < ngiven; g++)
            if (strncmp(given[g], spec->params[i].name, nl) == 0 && given[g][nl] == '=')
                found = true;
        if (!found)
            buf_addf(missing, " -p %s=VALUE", spec->params[i].name);
    }
}

/* The one line that says what would run. */
static void describe(const struct ns_spec *spec, const struct ns_plan *plan)
{
    char what[160];
    const struct ns_partition_spec *ps = &spec->partitions;
    const struct ns_partition *first = &plan->parts[0], *last = &plan->parts[plan->len - 1];
    switch (ps->kind) {
    case NS_PART_LIST:
        snprintf(what, sizeof what, ps->keys_file.text ? "list from a keys file" : "list");
        break;
    case NS_PART_RANGE:
        snprintf(what, sizeof what, "range %s..%s",
                 kv_get(first->params, first->params_len, "start"),
                 kv_get(last->params, last->params_len, "end"));
        break;
    case NS_PART_DATES: {
        /* The format is the user's: escape what it made, like any key. */
        char *from = escape_dup(first->key, strlen(first->key), 0);
        char *to = escape_dup(last->key, strlen(last->key), 0);
        snprintf(what, sizeof what, "dates %s..%s", from, to);
        free(from);
        free(to);
        break;
    }
    case NS_PART_FILES:
        snprintf(what, sizeof what, "files");
        break;
    }
    char timeout[48] = "no timeout";
    if (spec->timeout_ms) {
        char span[40];
        format_span(spec->timeout_ms, span, sizeof span);
        snprintf(timeout, sizeof timeout, "timeout %s", span);
    }
    bool remote = spec->executor && strcmp(spec->executor, "local") != 0;
    printf("%s: valid; %zu partition%s (%s), concurrency %d, %d attempt%s, %s%s%s\n", spec->name,
           plan->len, plan->len == 1 ? "" : "s", what, spec->concurrency, spec->retry_attempts,
           spec->retry_attempts == 1 ? "" : "s", timeout, remote ? ", on " : "",
           remote ? spec->executor : "");
}

static int validate(struct cli *c)
{
    const char *file = c->target;
    struct ns_spec spec;
    struct ns_plan plan;
    struct ns_diags diags = {0};
    int rc = NS_EXIT_USAGE;
    if (spec_load(file, &spec, &diags) < 0) {
        cli_print_diags(&diags, file);
        diags_release(&diags);
        return rc;
    }
    if (cli_resolve_default_dates(c, &spec) != 0) {
        spec_release(&spec);
        return rc;
    }
    char **given = c->params;
    size_t ngiven = c->nparams;
    struct ns_buf missing = NS_BUF_INIT;
    if (check_given(&spec, given, ngiven, file) != 0)
        goto out;
    /* Required parameters missing: the structure is fine, the plan unknown. */
    find_missing(&spec, given, ngiven, &missing);
    if (missing.len) {
        printf("%s: valid; plan not checked: needs%s\n", spec.name, missing.data);
        rc = NS_EXIT_OK;
        goto out;
    }
    if (plan_build(&spec, given, ngiven, &plan, &diags) < 0) {
        cli_print_diags(&diags, file);
        goto out;
    }
    describe(&spec, &plan);
    plan_release(&plan);
    rc = NS_EXIT_OK;
out:
    buf_release(&missing);
    spec_release(&spec);
    diags_release(&diags);
    return rc;
}

const struct ns_command cmd_validate = {
    .name = "validate",
    .args = "SPEC [-p NAME=VALUE]...",
    .summary = "check a job spec and summarise its plan",
    .run = validate,
    .help = "\n"
            "Checks a job spec and prints one line describing the run it would start.\n"
            "Every problem is reported as FILE:LINE:COL: message; the exit status is 2\n"
            "when there is any. Without the required parameters the structure is still\n"
            "checked but the plan is not built.\n",
    .exits = "02",
    .options = validate_options,
    .noptions = NS_ARRAY_LEN(validate_options),
    .target = CLI_TARGET_SPEC,
};
