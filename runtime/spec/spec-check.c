/*
 * spec-check.c - the checks that span keys, run once the tables have been
 * walked: exactly one partitioner, the placeholders each template may use,
 * shell-mode injection, literal partition values, backoff bounds.
 *
 * Literal partition values are parsed here by the planner's own parsers
 * (values.c), so a spec that loads never fails on a literal at plan time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/spec.h"
#include "spec-internal.h"

struct names_ctx {
    const char *const *names;
    size_t len;
    char unknown[65]; /* the first unknown placeholder seen */
};

static const char *names_lookup(void *ctx, const char *name, size_t len)
{
    struct names_ctx *c = ctx;
    for (size_t i = 0; i < c->len; i++)
        if (strlen(c->names[i]) == len && memcmp(c->names[i], name, len) == 0)
            return "";
    snprintf(c->unknown, sizeof c->unknown, "%.*s", (int)(len > 64 ? 64 : len), name);
    return NULL;
}

static void check_tmpl(struct spec_loader *L, const struct ns_tmpl *t, const char *path,
                       const char *const *names, size_t n)
{
    if (!t->text)
        return;
    struct names_ctx c = {names, n, ""};
    char err[256];
    if (tmpl_expand_with(t->text, names_lookup, &c, NULL, err, sizeof err) == 0)
        return;
    const char *hint = c.unknown[0] ? spec_suggest(c.unknown, names, n) : NULL;
    diags_add(L->diags, t->line, t->col, "%s: %s%s%s%s", path, err, hint ? " (did you mean {" : "",
              hint ? hint : "", hint ? "}?)" : "");
}

/* In shell mode a {name} of a known parameter is an error: expanding it into
 * a shell line would let a key inject commands. ${VAR} is the shell's own. */
static void check_shell_line(struct spec_loader *L, const struct ns_tmpl *t,
                             const char *const *names, size_t n)
{
    for (const char *p = strchr(t->text, '{'); p; p = strchr(p + 1, '{')) {
        if (p > t->text && p[-1] == '$')
            continue;
        const char *close = strchr(p, '}');
        if (!close)
            break;
        size_t len = (size_t)(close - p - 1);
        for (size_t i = 0; i < n; i++) {
            if (strlen(names[i]) == len && memcmp(names[i], p + 1, len) == 0) {
                char upper[72];
                size_t k;
                for (k = 0; k < len && k < 64; k++)
                    upper[k] =
                        (char)((p[1 + k] >= 'a' && p[1 + k] <= 'z') ? p[1 + k] - 32 : p[1 + k]);
                upper[k] = '\0';
                diags_add(L->diags, t->line, t->col,
                          "command: placeholders are not expanded with shell: true (a value "
                          "could inject commands); use \"$NIGHTSHIFT_P_%s\" instead of {%.*s}",
                          upper, (int)len, p + 1);
                return;
            }
        }
    }
}

static void check_literal_values(struct spec_loader *L)
{
    struct ns_partition_spec *ps = &L->spec->partitions;
    /* A value without placeholders can be checked now; the planner checks
     * the others after expansion, with the same parsers. */
#define LITERAL(t) ((t).text && !strchr((t).text, '{') && !strchr((t).text, '}'))
    int64_t v;
    time_t d;
    if (ps->kind == NS_PART_RANGE) {
        const struct ns_tmpl *ts[] = {&ps->start, &ps->end, &ps->size};
        const char *nm[] = {"start", "end", "size"};
        for (size_t i = 0; i < 3; i++) {
            if (LITERAL(*ts[i]) && ns_parse_int64(ts[i]->text, &v) < 0)
                diags_add(L->diags, ts[i]->line, ts[i]->col,
                          "partitions.range.%s: expected an integer, got %s", nm[i],
                          Q(ts[i]->text));
            else if (i == 2 && LITERAL(*ts[i]) && v < 1)
                diags_add(L->diags, ts[i]->line, ts[i]->col,
                          "partitions.range.size: must be at least 1, got %lld", (long long)v);
        }
    } else if (ps->kind == NS_PART_DATES) {
        const struct ns_tmpl *ts[] = {&ps->from, &ps->to};
        const char *nm[] = {"from", "to"};
        for (size_t i = 0; i < 2; i++)
            if (LITERAL(*ts[i]) && plan_parse_date(ts[i]->text, &d) < 0)
                diags_add(L->diags, ts[i]->line, ts[i]->col,
                          "partitions.dates.%s: %s is not a date (YYYY-MM-DD)", nm[i],
                          Q(ts[i]->text));
        if (LITERAL(ps->step) && plan_parse_step(ps->step.text, &v) < 0)
            diags_add(L->diags, ps->step.line, ps->step.col,
                      "partitions.dates.step: %s is not a whole number of days (examples: 1d, "
                      "7d, 1w)",
                      Q(ps->step.text));
    }
#undef LITERAL
}

void spec_check(struct spec_loader *L, const struct node *root)
{
    struct ns_spec *s = L->spec;
    /* Partitioner: exactly one. */
    static const enum ns_partitioner kinds[] = {NS_PART_LIST, NS_PART_RANGE, NS_PART_DATES,
                                                NS_PART_FILES};
    if (L->partitions_node) {
        unsigned m = L->partition_mask;
        if (m == 0 || (m & (m - 1)))
            diags_add(L->diags, L->partitions_line, L->partitions_col,
                      "partitions: give exactly one of list, range, dates, files");
        else
            for (size_t i = 0; i < NS_ARRAY_LEN(kinds); i++)
                if (m == 1u << i)
                    s->partitions.kind = kinds[i];
        s->partitions.line = L->partitions_line;
        s->partitions.col = L->partitions_col;
    }
    bool one_partitioner =
        L->partitions_node && L->partition_mask && !(L->partition_mask & (L->partition_mask - 1));

    /* Names a template may use: the run parameters, index, key and the
     * chosen partitioner's own (all of them if that is not known). */
    size_t cap = s->params_len + NS_ARRAY_LEN(spec_partition_param_names);
    const char **names = ns_xcalloc(cap, sizeof(*names));
    size_t n = 0;
    for (size_t i = 0; i < s->params_len; i++)
        names[n++] = s->params[i].name;
    size_t nrun = n;
    names[n++] = "index";
    names[n++] = "key";
    if (!one_partitioner || s->partitions.kind == NS_PART_RANGE) {
        names[n++] = "start";
        names[n++] = "end";
    }
    if (!one_partitioner || s->partitions.kind == NS_PART_DATES)
        names[n++] = "date";
    if (!one_partitioner || s->partitions.kind == NS_PART_FILES)
        names[n++] = "file";

    if (L->command_node && s->command.len) {
        const struct node *c = L->command_node;
        if (s->shell && s->command.len > 1)
            diags_add(L->diags, c->line, c->col,
                      "command: with shell: true give one string, run by /bin/sh -c");
        else if (!s->shell && c->type == N_SCALAR)
            diags_add(L->diags, c->line, c->col,
                      "command: expected a list of arguments, e.g. [\"./work.sh\", \"{key}\"] "
                      "(or set shell: true to run a shell command line)");
        else if (s->shell)
            check_shell_line(L, &s->command.items[0], names, n);
        else
            for (size_t i = 0; i < s->command.len; i++) {
                char *p = ns_xasprintf("command[%zu]", i);
                check_tmpl(L, &s->command.items[i], p, names, n);
                free(p);
            }
    }
    check_tmpl(L, &s->workdir, "workdir", names, n);
    check_tmpl(L, &s->metrics_textfile, "metrics.textfile", names, nrun);
    for (size_t i = 0; i < s->env_len; i++) {
        struct ns_tmpl t = {s->env[i].value, L->env_pos[2 * i], L->env_pos[2 * i + 1]};
        char *p = ns_xasprintf("env.%s", s->env[i].name);
        check_tmpl(L, &t, p, names, n);
        free(p);
    }

    spec_check_pools(L);
    spec_check_window(L, root);

    /* Partition values may only use run parameters. */
    struct ns_partition_spec *ps = &s->partitions;
    if (one_partitioner) {
        for (size_t i = 0; i < ps->keys_len; i++) {
            char *p = ns_xasprintf("partitions.list[%zu]", i);
            check_tmpl(L, &ps->keys[i], p, names, nrun);
            free(p);
        }
        const struct {
            const struct ns_tmpl *t;
            const char *path;
        } vals[] = {
            {&ps->keys_file, "partitions.list.file"}, {&ps->start, "partitions.range.start"},
            {&ps->end, "partitions.range.end"},       {&ps->size, "partitions.range.size"},
            {&ps->from, "partitions.dates.from"},     {&ps->to, "partitions.dates.to"},
            {&ps->step, "partitions.dates.step"},     {&ps->format, "partitions.dates.format"},
            {&ps->glob, "partitions.files"},
        };
        for (size_t i = 0; i < NS_ARRAY_LEN(vals); i++)
            if (vals[i].t->line > 0) /* given in the file, not a default */
                check_tmpl(L, vals[i].t, vals[i].path, names, nrun);
        check_literal_values(L);
    }
    free(names);

    if (s->max_backoff_ms < s->backoff_ms)
        diags_add(L->diags, root->line, root->col,
                  "retry.max_backoff: is shorter than retry.backoff");
    /* A relative spool is the spec's, like every other relative path. */
    if (s->slurm.spool && s->slurm.spool[0] != '/') {
        char *abs = ns_xasprintf("%s/%s", s->dir, s->slurm.spool);
        free(s->slurm.spool);
        s->slurm.spool = abs;
    }
}
