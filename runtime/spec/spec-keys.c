/*
 * spec-keys.c - pass 2 of loading a spec: the node tree against the key
 * TABLES (name, type, default, bounds, help).
 *
 * One generic walker (walk_section), one converter per type (convert and its
 * conv_* helpers). Defaults are written as text in the tables and go through
 * the same converters as the file's values, so docs and behaviour cannot
 * drift; spec_describe_keys gives the same tables to the docs and man page.
 * Every problem becomes a diag with the node's position and full key path.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nightshift/spec.h"
#include "spec-internal.h"

enum ftype {
    F_STRING,    /* plain text */
    F_NAME,      /* job name */
    F_TMPL,      /* text with {param} placeholders, position kept */
    F_ARGV,      /* list of templates */
    F_BOOL,      /* true/false/yes/no */
    F_INT,       /* integer in [min, max] */
    F_NUMBER,    /* real number in [min, max] */
    F_DURATION,  /* "30s", "10m", "1h30m" */
    F_SIZE,      /* "1MiB" */
    F_LIMIT,     /* a count or "N%" */
    F_CLOCK,     /* "HH:MM" */
    F_CHOICE,    /* one of two words, stored as a bool (second word = true) */
    F_WORD,      /* one of the words in choices, stored as a copy of it */
    F_SLURM_MEM, /* a Slurm memory size: digits and an optional K, M, G or T */
    F_PARAMS,    /* params: name -> default or null */
    F_ENV,       /* env: NAME -> template */
    F_ON_EXIT,   /* on_exit: code -> action */
    F_KEYS,      /* partitions.list: inline list or {file: ...} */
    F_POOLS,     /* pools: name -> {slots, rate} (spec-pools.c) */
    F_USES,      /* uses: pool name -> slots held (spec-pools.c) */
    F_AFTER,     /* after: a list of mappings (after_keys) */
    F_SECTION,   /* a nested mapping described by its own table */
};

enum { K_REQUIRED = 1, K_SCALAR_OK = 2 };

struct section;

struct key_def {
    const char *name;
    enum ftype type;
    size_t off; /* into struct ns_spec */
    const char *def;
    double min, max;
    unsigned flags;
    const struct section *sub;
    const char *const *choices;
    const char *help;
};

struct section {
    const char *path; /* "" for the top level, else "retry" ... */
    const struct key_def *keys;
    size_t len;
};

#define OFF(field) offsetof(struct ns_spec, field)
#define SECTION(path, table)                                                                       \
    {                                                                                              \
        path, table, NS_ARRAY_LEN(table)                                                           \
    }

static const char *const durability_words[] = {"normal", "full", NULL};
static const char *const restore_words[] = {"resume", "pause", NULL};

static const char *const executor_words[] = {"local", "slurm", NULL};

static const struct key_def slurm_keys[] = {
    {"partition", F_STRING, OFF(slurm.partition), NULL, 0, 0, 0, NULL, NULL,
     "Slurm partition (sbatch --partition)"},
    {"account", F_STRING, OFF(slurm.account), NULL, 0, 0, 0, NULL, NULL,
     "Slurm account (sbatch --account)"},
    {"qos", F_STRING, OFF(slurm.qos), NULL, 0, 0, 0, NULL, NULL,
     "quality of service (sbatch --qos)"},
    {"time", F_DURATION, OFF(slurm.time_ms), NULL, 0, 0, 0, NULL, NULL,
     "Slurm's time limit per task, a backstop to timeout (sbatch --time)"},
    {"mem", F_SLURM_MEM, OFF(slurm.mem), NULL, 0, 0, 0, NULL, NULL,
     "memory per node, Slurm's syntax: 500M, 4G (sbatch --mem)"},
    {"cpus_per_task", F_INT, OFF(slurm.cpus_per_task), NULL, 1, 4096, 0, NULL, NULL,
     "CPUs per task (sbatch --cpus-per-task)"},
    {"spool", F_STRING, OFF(slurm.spool), NULL, 0, 0, 0, NULL, NULL,
     "directory shared with the compute nodes; default beside the database"},
    {"extra_args", F_ARGV, OFF(slurm.extra_args), NULL, 0, 0, 0, NULL, NULL,
     "more sbatch options, one per element"},
};

static const struct key_def retry_keys[] = {
    {"attempts", F_INT, OFF(retry_attempts), "1", 1, 1000, 0, NULL, NULL,
     "total attempts per partition, the first included"},
    {"backoff", F_DURATION, OFF(backoff_ms), "1s", 0, 0, 0, NULL, NULL,
     "delay before the first retry"},
    {"max_backoff", F_DURATION, OFF(max_backoff_ms), "5m", 0, 0, 0, NULL, NULL,
     "the delay never grows past this"},
    {"factor", F_NUMBER, OFF(backoff_factor), "2", 1, 1000, 0, NULL, NULL,
     "each retry waits factor times longer"},
    {"jitter", F_NUMBER, OFF(jitter), "0.1", 0, 1, 0, NULL, NULL,
     "random spread: delay * (1 +- jitter)"},
};

static const struct key_def halt_keys[] = {
    {"failed_partitions", F_LIMIT, OFF(halt_failed_partitions), NULL, 0, 0, 0, NULL, NULL,
     "halt the run when this many partitions failed (count or N%)"},
    {"error_records", F_LIMIT, OFF(halt_error_records), NULL, 0, 0, 0, NULL, NULL,
     "halt the run when workers reported this many error records (count or N%)"},
};

static const struct key_def sla_keys[] = {
    {"max_duration", F_DURATION, OFF(sla_max_duration_ms), NULL, 0, 0, 0, NULL, NULL,
     "the run should take no longer than this"},
    {"deadline", F_CLOCK, OFF(sla_deadline), NULL, 0, 0, 0, NULL, NULL,
     "the run should be done by this local time, HH:MM"},
};

static const struct key_def hook_keys[] = {
    {"on_success", F_ARGV, OFF(hooks[NS_HOOK_SUCCESS]), NULL, 0, 0, 0, NULL, NULL,
     "argv run when the run succeeded"},
    {"on_failure", F_ARGV, OFF(hooks[NS_HOOK_FAILURE]), NULL, 0, 0, 0, NULL, NULL,
     "argv run when the run finished with failed partitions"},
    {"on_halt", F_ARGV, OFF(hooks[NS_HOOK_HALT]), NULL, 0, 0, 0, NULL, NULL,
     "argv run when the run halted"},
    {"on_sla_risk", F_ARGV, OFF(hooks[NS_HOOK_SLA_RISK]), NULL, 0, 0, 0, NULL, NULL,
     "argv run when the SLA is at risk"},
    {"on_straggler", F_ARGV, OFF(hooks[NS_HOOK_STRAGGLER]), NULL, 0, 0, 0, NULL, NULL,
     "argv run once for each partition that becomes a straggler"},
    {"timeout", F_DURATION, OFF(hook_timeout_ms), "30s", 0, 0, 0, NULL, NULL,
     "a hook is killed after this long"},
};

static const char *const on_close_words[] = {"drain", "pause", "stop", NULL};

static const struct key_def window_keys[] = {
    {"start", F_CLOCK, OFF(window.start), NULL, 0, 0, K_REQUIRED, NULL, NULL,
     "the window opens at this local time, HH:MM"},
    {"end", F_CLOCK, OFF(window.end), NULL, 0, 0, K_REQUIRED, NULL, NULL,
     "it closes at this local time, HH:MM (the next day when before start)"},
    {"on_close", F_WORD, OFF(window.on_close), "drain", 0, 0, 0, NULL, on_close_words,
     "at the close: drain (running attempts finish), pause (SIGSTOP) or stop (gracefully)"},
    {"tz", F_STRING, OFF(window.tz), NULL, 0, 0, 0, NULL, NULL,
     "time zone of start and end (e.g. Europe/Paris); default: the runtime's"},
};

static const struct key_def metrics_keys[] = {
    {"textfile", F_TMPL, OFF(metrics_textfile), NULL, 0, 0, 0, NULL, NULL,
     "Prometheus text file kept fresh while the run runs (node_exporter's textfile collector)"},
};

static const struct key_def keys_file_keys[] = {
    {"file", F_TMPL, OFF(partitions.keys_file), NULL, 0, 0, K_REQUIRED, NULL, NULL,
     "file with one key per line, relative to the spec"},
};
static const struct section keys_file_section = SECTION("partitions.list", keys_file_keys);

static const struct key_def range_keys[] = {
    {"start", F_TMPL, OFF(partitions.start), NULL, 0, 0, K_REQUIRED, NULL, NULL, "first number"},
    {"end", F_TMPL, OFF(partitions.end), NULL, 0, 0, K_REQUIRED, NULL, NULL,
     "last number, inclusive"},
    {"size", F_TMPL, OFF(partitions.size), "1", 0, 0, 0, NULL, NULL, "numbers per partition"},
};

static const struct key_def dates_keys[] = {
    {"from", F_TMPL, OFF(partitions.from), NULL, 0, 0, K_REQUIRED, NULL, NULL,
     "first date, YYYY-MM-DD"},
    {"to", F_TMPL, OFF(partitions.to), NULL, 0, 0, K_REQUIRED, NULL, NULL, "last date, inclusive"},
    {"step", F_TMPL, OFF(partitions.step), "1d", 0, 0, 0, NULL, NULL, "whole days: 1d, 7d, 1w"},
    {"format", F_TMPL, OFF(partitions.format), "%Y-%m-%d", 0, 0, 0, NULL, NULL,
     "strftime format of {date}"},
};

static const struct key_def partition_keys[] = {
    {"list", F_KEYS, OFF(partitions.keys), NULL, 0, 0, 0, NULL, NULL,
     "one partition per key: [a, b] or {file: keys.txt}"},
    {"range", F_SECTION, OFF(partitions), NULL, 0, 0, 0,
     &(const struct section)SECTION("partitions.range", range_keys), NULL,
     "numbers start..end in chunks of size"},
    {"dates", F_SECTION, OFF(partitions), NULL, 0, 0, 0,
     &(const struct section)SECTION("partitions.dates", dates_keys), NULL,
     "dates from..to every step"},
    {"files", F_TMPL, OFF(partitions.glob), NULL, 0, 0, 0, NULL, NULL,
     "one partition per file matching a glob"},
};

static const char *const order_words[] = {"oldest", "newest", NULL};
static const char *const after_params_words[] = {"same", NULL};
static const char *const after_partitions_words[] = {"same-key", "all", NULL};
static const char *const after_failure_words[] = {"wait", "skip", "fail", NULL};
static const char *const after_missing_words[] = {"error", "ignore", NULL};

#define AOFF(field) offsetof(struct ns_after, field)
/* One item of after: (its offsets are into struct ns_after). */
static const struct key_def after_keys[] = {
    {"job", F_NAME, AOFF(job), NULL, 0, 0, K_REQUIRED, NULL, NULL,
     "the job whose newest matching run this one waits for"},
    {"params", F_WORD, AOFF(params), "same", 0, 0, 0, NULL, after_params_words,
     "same: its parameters equal ours where both declare them"},
    {"partitions", F_WORD, AOFF(partitions), "same-key", 0, 0, 0, NULL, after_partitions_words,
     "same-key: partition K after upstream partition K succeeded; all: after the whole run"},
    {"on_failure", F_WORD, AOFF(on_failure), "wait", 0, 0, 0, NULL, after_failure_words,
     "an upstream that failed: wait (for a human), skip or fail ours"},
    {"missing", F_WORD, AOFF(missing), "error", 0, 0, 0, NULL, after_missing_words,
     "a key the upstream run does not have: error (our partition fails) or ignore (it runs)"},
};
static const struct section after_section = SECTION("after", after_keys);

static const struct key_def top_keys[] = {
    {"name", F_NAME, OFF(name), NULL, 0, 0, K_REQUIRED, NULL, NULL, "job name"},
    {"description", F_STRING, OFF(description), NULL, 0, 0, 0, NULL, NULL, "free text"},
    {"command", F_ARGV, OFF(command), NULL, 0, 0, K_REQUIRED | K_SCALAR_OK, NULL, NULL,
     "argv of the worker"},
    {"shell", F_BOOL, OFF(shell), "false", 0, 0, 0, NULL, NULL, "run command by /bin/sh -c"},
    {"workdir", F_TMPL, OFF(workdir), NULL, 0, 0, 0, NULL, NULL, "worker's directory"},
    {"params", F_PARAMS, OFF(params), NULL, 0, 0, 0, NULL, NULL, "run parameters"},
    {"partitions", F_SECTION, OFF(partitions), NULL, 0, 0, K_REQUIRED,
     &(const struct section)SECTION("partitions", partition_keys), NULL, "how the run is split"},
    {"concurrency", F_INT, OFF(concurrency), "1", 1, 1024, 0, NULL, NULL,
     "partitions running at once"},
    {"timeout", F_DURATION, OFF(timeout_ms), NULL, 0, 0, 0, NULL, NULL, "per attempt"},
    {"retry", F_SECTION, OFF(retry_attempts), NULL, 0, 0, 0,
     &(const struct section)SECTION("retry", retry_keys), NULL, "retry policy"},
    {"on_exit", F_ON_EXIT, OFF(on_exit), NULL, 0, 0, 0, NULL, NULL, "exit code -> action"},
    {"stop_grace", F_DURATION, OFF(stop_grace_ms), "10s", 0, 0, 0, NULL, NULL,
     "SIGTERM to SIGKILL delay"},
    {"env", F_ENV, OFF(env), NULL, 0, 0, 0, NULL, NULL, "extra environment"},
    {"log_limit", F_SIZE, OFF(log_limit), "1MiB", 0, 0, 0, NULL, NULL, "log bytes per attempt"},
    {"halt_when", F_SECTION, OFF(halt_failed_partitions), NULL, 0, 0, 0,
     &(const struct section)SECTION("halt_when", halt_keys), NULL, "error budget"},
    {"sla", F_SECTION, OFF(sla_max_duration_ms), NULL, 0, 0, 0,
     &(const struct section)SECTION("sla", sla_keys), NULL, "service level"},
    {"hooks", F_SECTION, OFF(hooks), NULL, 0, 0, 0,
     &(const struct section)SECTION("hooks", hook_keys), NULL, "commands run at the end"},
    {"metrics", F_SECTION, OFF(metrics_textfile), NULL, 0, 0, 0,
     &(const struct section)SECTION("metrics", metrics_keys), NULL, "metrics export"},
    {"durability", F_CHOICE, OFF(durability_full), "normal", 0, 0, 0, NULL, durability_words,
     "full: fsync every state change"},
    {"on_restore", F_CHOICE, OFF(restore_paused), "resume", 0, 0, 0, NULL, restore_words,
     "after a crash: resume or pause"},
    {"executor", F_WORD, OFF(executor), "local", 0, 0, 0, NULL, executor_words,
     "where attempts run: local or slurm"},
    {"slurm", F_SECTION, OFF(slurm), NULL, 0, 0, 0,
     &(const struct section)SECTION("slurm", slurm_keys), NULL, "settings for executor: slurm"},
    {"pools", F_POOLS, OFF(pools), NULL, 0, 0, 0, NULL, NULL,
     "pools shared by the runs of the database: NAME: {slots: N, rate: 10/s}"},
    {"uses", F_USES, OFF(uses), NULL, 0, 0, 0, NULL, NULL,
     "slots each running attempt holds: POOL: N (a pool declared under pools)"},
    {"priority", F_INT, OFF(priority), "0", -1000, 1000, 0, NULL, NULL,
     "pool fairness: a waiting run of higher priority gets slots first (ties: oldest first)"},
    {"window", F_SECTION, OFF(window), NULL, 0, 0, 0,
     &(const struct section)SECTION("window", window_keys), NULL,
     "the hours partitions may start in"},
    {"order", F_WORD, OFF(order), "oldest", 0, 0, 0, NULL, order_words,
     "which partitions start first: oldest (plan order) or newest (the last keys first)"},
    {"after", F_AFTER, OFF(after), NULL, 0, 0, 0, &after_section, NULL,
     "runs this one waits for, whole or partition by partition"},
};

static const struct section top_section = SECTION("", top_keys);

/* The words spec_describe_keys gives each type (docs and the man page). */
static const char *const ftype_words[] = {
    [F_STRING] = "string",     [F_NAME] = "name",         [F_TMPL] = "template",
    [F_ARGV] = "argv list",    [F_BOOL] = "boolean",      [F_INT] = "integer",
    [F_NUMBER] = "number",     [F_DURATION] = "duration", [F_SIZE] = "size",
    [F_LIMIT] = "count or N%", [F_CLOCK] = "HH:MM",       [F_CHOICE] = "word",
    [F_WORD] = "word",         [F_SLURM_MEM] = "memory",  [F_PARAMS] = "mapping",
    [F_ENV] = "mapping",       [F_ON_EXIT] = "mapping",   [F_KEYS] = "list or {file}",
    [F_SECTION] = "mapping",   [F_POOLS] = "mapping",     [F_USES] = "mapping",
    [F_AFTER] = "list of mappings",
};

static void describe_section(const struct section *sec, const char *prefix,
                             void (*row)(void *ctx, const struct ns_spec_key *k), void *ctx)
{
    for (size_t i = 0; i < sec->len; i++) {
        const struct key_def *d = &sec->keys[i];
        char *path = *prefix ? ns_xasprintf("%s.%s", prefix, d->name) : ns_xstrdup(d->name);
        char choices[128] = "";
        for (size_t c = 0; d->choices && d->choices[c]; c++) {
            size_t l = strlen(choices);
            snprintf(choices + l, sizeof choices - l, "%s%s", c ? " or " : "", d->choices[c]);
        }
        char bounds[64] = "";
        if ((d->type == F_INT || d->type == F_NUMBER) && d->max > d->min)
            snprintf(bounds, sizeof bounds, "%g to %g", d->min, d->max);
        struct ns_spec_key k = {path,
                                d->type < NS_ARRAY_LEN(ftype_words) ? ftype_words[d->type] : "",
                                d->def,
                                (d->flags & K_REQUIRED) != 0,
                                choices[0] ? choices : NULL,
                                bounds[0] ? bounds : NULL,
                                d->help};
        row(ctx, &k);
        if ((d->type == F_SECTION || d->type == F_AFTER) && d->sub)
            describe_section(d->sub, path, row, ctx);
        if (d->type == F_KEYS)
            describe_section(&keys_file_section, path, row, ctx);
        free(path);
    }
}

void spec_describe_keys(void (*row)(void *ctx, const struct ns_spec_key *k), void *ctx)
{
    describe_section(&top_section, "", row, ctx);
}

const char *const spec_partition_param_names[SPEC_PARTITION_PARAMS + 1] = {
    "index", "key", "start", "end", "date", "file", NULL};

static char *path_join(const char *prefix, const char *name)
{
    return *prefix ? ns_xasprintf("%s.%s", prefix, name) : ns_xstrdup(name);
}

static const char *describe(const struct node *n)
{
    if (n->type == N_MAP)
        return "a mapping";
    if (n->type == N_SEQ)
        return "a list";
    return "null";
}

/* Reports "PATH: expected WHAT, got X"; returns -1. */
static int expected(struct spec_loader *L, const struct node *n, const char *path, const char *what)
{
    if (n->ignored)
        return -1; /* an alias: reported once already */
    if (n->type == N_SCALAR && !n->null)
        diags_add(L->diags, n->line, n->col, "%s: expected %s, got %s", path, what, Q(n->text));
    else
        diags_add(L->diags, n->line, n->col, "%s: expected %s, got %s", path, what, describe(n));
    return -1;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *spec_suggest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    size_t limit = strlen(word) <= 4 ? 1 : 2;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, names[i]);
        if (d <= limit && d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    return best;
}

static void walk_section(struct spec_loader *L, const struct section *sec, const struct node *map,
                         unsigned *present);

static void tmpl_set(struct ns_tmpl *t, const char *text, int line, int col)
{
    free(t->text);
    t->text = ns_xstrdup(text);
    t->line = line;
    t->col = col;
}

void spec_argv_release(struct ns_argv *a)
{
    for (size_t i = 0; i < a->len; i++)
        free(a->items[i].text);
    free(a->items);
    a->items = NULL;
    a->len = 0;
}

void spec_kvs_free(struct ns_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].name);
        free(kv[i].value);
    }
    free(kv);
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (size_t i = 0; i < NS_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || end == s)
        return -1;
    *out = v;
    return 0;
}

static bool valid_name(const char *s, const char *extra, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return false;
    }
    return true;
}

static bool valid_param_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static bool valid_env_name(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    return valid_name(s, "_", 1024);
}

static void conv_argv(struct spec_loader *L, const struct key_def *k, const struct node *n,
                      const char *path, void *dst)
{
    struct ns_argv *a = dst;
    spec_argv_release(a);
    if (n->type == N_SCALAR && (k->flags & K_SCALAR_OK)) {
        a->items = ns_xcalloc(1, sizeof(*a->items));
        tmpl_set(&a->items[0], n->text, n->line, n->col);
        a->len = 1;
        return;
    }
    if (n->type != N_SEQ) {
        expected(L, n, path, "a list of arguments, e.g. [\"./work.sh\", \"{key}\"]");
        return;
    }
    if (n->len == 0) {
        diags_add(L->diags, n->line, n->col, "%s: the list of arguments is empty", path);
        return;
    }
    a->items = ns_xcalloc(n->len, sizeof(*a->items));
    for (size_t i = 0; i < n->len; i++) {
        const struct node *it = n->kids[i];
        if (it->type != N_SCALAR || it->null) {
            char *p = ns_xasprintf("%s[%zu]", path, i);
            expected(L, it, p, "a string");
            free(p);
        }
        tmpl_set(&a->items[a->len++], it->type == N_SCALAR ? it->text : "", it->line, it->col);
    }
}

static void conv_params(struct spec_loader *L, const struct node *n, const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        expected(L, n, path, "a mapping of parameter names to defaults");
        return;
    }
    spec_kvs_free(s->params, s->params_len);
    s->params = ns_xcalloc(n->len / 2 + 1, sizeof(*s->params));
    s->params_len = 0;
    for (size_t i = 0; i + 1 < n->len; i += 2) {
        const struct node *key = n->kids[i], *val = n->kids[i + 1];
        if (key->ignored)
            continue;
        bool bad = false;
        if (!valid_param_name(key->text)) {
            diags_add(L->diags, key->line, key->col,
                      "%s: %s is not a parameter name (lowercase letters, digits and _, not "
                      "starting with a digit)",
                      path, Q(key->text));
            bad = true;
        }
        for (size_t j = 0; spec_partition_param_names[j]; j++) {
            if (strcmp(key->text, spec_partition_param_names[j]) == 0) {
                diags_add(L->diags, key->line, key->col,
                          "%s.%s: clashes with the partition parameter {%s}; choose another "
                          "name",
                          path, key->text, key->text);
                bad = true;
            }
        }
        if (val->type != N_SCALAR) {
            char *p = ns_xasprintf("%s.%s", path, key->text);
            expected(L, val, p, "a default value, or ~ for a required parameter");
            free(p);
            bad = true;
        }
        if (bad)
            continue;
        struct ns_kv *kv = &s->params[s->params_len++];
        kv->name = ns_xstrdup(key->text);
        kv->value = val->null ? NULL : ns_xstrdup(val->text);
    }
}

static void conv_env(struct spec_loader *L, const struct node *n, const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        expected(L, n, path, "a mapping of variable names to values");
        return;
    }
    spec_kvs_free(s->env, s->env_len);
    s->env = ns_xcalloc(n->len / 2 + 1, sizeof(*s->env));
    s->env_len = 0;
    free(L->env_pos);
    L->env_pos = ns_xcalloc(n->len + 2, sizeof(int));
    for (size_t i = 0; i + 1 < n->len; i += 2) {
        const struct node *key = n->kids[i], *val = n->kids[i + 1];
        if (key->ignored)
            continue;
        if (!valid_env_name(key->text)) {
            diags_add(L->diags, key->line, key->col,
                      "%s: %s is not a variable name (letters, digits and _, not starting with "
                      "a digit)",
                      path, Q(key->text));
            continue;
        }
        if (strncmp(key->text, "NIGHTSHIFT_", 11) == 0) {
            diags_add(L->diags, key->line, key->col,
                      "%s.%s: NIGHTSHIFT_ variables are set by nightshift itself", path, key->text);
            continue;
        }
        if (val->type != N_SCALAR) {
            char *p = ns_xasprintf("%s.%s", path, key->text);
            expected(L, val, p, "a string");
            free(p);
            continue;
        }
        L->env_pos[2 * s->env_len] = val->line;
        L->env_pos[2 * s->env_len + 1] = val->col;
        struct ns_kv *kv = &s->env[s->env_len++];
        kv->name = ns_xstrdup(key->text);
        kv->value = ns_xstrdup(val->null ? "" : val->text);
    }
}

static void conv_on_exit(struct spec_loader *L, const struct node *n, const char *path)
{
    static const char *const actions[] = {"retry", "fail", "halt"};
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        expected(L, n, path, "a mapping of exit codes to retry, fail or halt");
        return;
    }
    free(s->on_exit);
    s->on_exit = ns_xcalloc(n->len / 2 + 1, sizeof(*s->on_exit));
    s->on_exit_len = 0;
    for (size_t i = 0; i + 1 < n->len; i += 2) {
        const struct node *key = n->kids[i], *val = n->kids[i + 1];
        if (key->ignored)
            continue;
        int64_t code;
        bool bad = false;
        if (ns_parse_int64(key->text, &code) < 0 || code < 1 || code > 255) {
            diags_add(L->diags, key->line, key->col,
                      "%s: exit code %s must be an integer from 1 to 255", path, Q(key->text));
            bad = true;
        } else {
            for (size_t j = 0; j < s->on_exit_len; j++) {
                if (s->on_exit[j].code == (int)code) {
                    diags_add(L->diags, key->line, key->col, "%s: exit code %d is given twice",
                              path, (int)code);
                    bad = true;
                }
            }
        }
        char *p = ns_xasprintf("%s.%s", path, key->text);
        size_t a = NS_ARRAY_LEN(actions);
        if (val->type == N_SCALAR && !val->null)
            for (a = 0; a < NS_ARRAY_LEN(actions); a++)
                if (strcmp(val->text, actions[a]) == 0)
                    break;
        if (a == NS_ARRAY_LEN(actions)) {
            const char *hint = val->type == N_SCALAR
                                   ? spec_suggest(val->text, actions, NS_ARRAY_LEN(actions))
                                   : NULL;
            if (val->type == N_SCALAR && !val->null)
                diags_add(L->diags, val->line, val->col,
                          "%s: expected retry, fail or halt, got %s%s%s%s", p, Q(val->text),
                          hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
            else
                expected(L, val, p, "retry, fail or halt");
            bad = true;
        }
        free(p);
        if (!bad)
            s->on_exit[s->on_exit_len++] = (struct ns_exit_rule){(int)code, (enum ns_exit_action)a};
    }
}

static void conv_keys(struct spec_loader *L, const struct node *n, const char *path)
{
    struct ns_partition_spec *ps = &L->spec->partitions;
    if (n->type == N_MAP) {
        unsigned present = 0;
        walk_section(L, &keys_file_section, n, &present);
        return;
    }
    if (n->type != N_SEQ) {
        expected(L, n, path, "a list of keys or {file: KEYS_FILE}");
        return;
    }
    ps->keys = ns_xcalloc(n->len + 1, sizeof(*ps->keys));
    for (size_t i = 0; i < n->len; i++) {
        const struct node *it = n->kids[i];
        if (it->type != N_SCALAR || it->null) {
            char *p = ns_xasprintf("%s[%zu]", path, i);
            expected(L, it, p, "a key");
            free(p);
            continue;
        }
        tmpl_set(&ps->keys[ps->keys_len++], it->text, it->line, it->col);
    }
}

/* F_LIMIT: a count of at least 1, or a percentage above 0 and at most 100. */
static void conv_limit(struct spec_loader *L, const struct node *n, const char *path,
                       struct ns_limit *lim)
{
    const char *t = n->text;
    size_t len = strlen(t);
    double v;
    int64_t iv;
    if (len > 1 && t[len - 1] == '%') {
        char *num = ns_xstrndup(t, len - 1);
        int rc = parse_number(num, &v);
        free(num);
        if (rc < 0 || v <= 0 || v > 100) {
            diags_add(L->diags, n->line, n->col,
                      "%s: %s is not a percentage above 0 and at most 100%%", path, Q(t));
            return;
        }
        *lim = (struct ns_limit){true, true, v};
    } else if (ns_parse_int64(t, &iv) == 0 && iv >= 1) {
        *lim = (struct ns_limit){true, false, (double)iv};
    } else {
        diags_add(L->diags, n->line, n->col,
                  "%s: expected a count of at least 1 or a percentage like \"5%%\", got %s", path,
                  Q(t));
    }
}

/* Converts a scalar of a plain type (n is a scalar: convert checked it). */
static void conv_scalar(struct spec_loader *L, const struct key_def *k, const struct node *n,
                        const char *path, void *dst)
{
    const char *t = n->text;
    switch (k->type) {
    case F_STRING:
        free(*(char **)dst);
        *(char **)dst = ns_xstrdup(t);
        break;
    case F_NAME:
        if (!valid_name(t, "._-", 64)) {
            diags_add(L->diags, n->line, n->col,
                      "%s: %s may only hold letters, digits, \".\", \"_\" and \"-\" (1 to 64)",
                      path, Q(t));
            break;
        }
        free(*(char **)dst);
        *(char **)dst = ns_xstrdup(t);
        break;
    case F_TMPL:
        tmpl_set(dst, t, n->line, n->col);
        break;
    case F_BOOL:
        if (parse_bool(t, dst) < 0)
            expected(L, n, path, "true or false");
        break;
    case F_INT: {
        int64_t v;
        if (ns_parse_int64(t, &v) < 0)
            expected(L, n, path, "an integer");
        else if (v < k->min || v > k->max)
            diags_add(L->diags, n->line, n->col, "%s: must be from %g to %g, got %lld", path,
                      k->min, k->max, (long long)v);
        else
            *(int *)dst = (int)v;
        break;
    }
    case F_NUMBER: {
        double v;
        if (parse_number(t, &v) < 0)
            expected(L, n, path, "a number");
        else if (v < k->min || v > k->max)
            diags_add(L->diags, n->line, n->col, "%s: must be from %g to %g, got %s", path, k->min,
                      k->max, t);
        else
            *(double *)dst = v;
        break;
    }
    case F_DURATION:
        if (ns_parse_duration(t, dst) < 0)
            diags_add(L->diags, n->line, n->col,
                      "%s: %s is not a duration (examples: 30s, 10m, 1h30m)", path, Q(t));
        break;
    case F_SIZE:
        if (ns_parse_size(t, dst) < 0)
            diags_add(L->diags, n->line, n->col,
                      "%s: %s is not a size (examples: 65536, 64KiB, 1MiB)", path, Q(t));
        break;
    case F_LIMIT:
        conv_limit(L, n, path, dst);
        break;
    case F_CLOCK: {
        int h, m, used = 0;
        if (strlen(t) != 5 || sscanf(t, "%2d:%2d%n", &h, &m, &used) != 2 || used != 5 ||
            t[2] != ':' || h < 0 || h > 23 || m < 0 || m > 59) {
            diags_add(L->diags, n->line, n->col, "%s: %s is not a time of day HH:MM", path, Q(t));
            break;
        }
        free(*(char **)dst);
        *(char **)dst = ns_xstrdup(t);
        break;
    }
    case F_CHOICE:
    case F_WORD: {
        size_t i;
        for (i = 0; k->choices[i]; i++)
            if (strcmp(t, k->choices[i]) == 0)
                break;
        if (!k->choices[i]) {
            char words[96] = "";
            for (size_t c = 0; k->choices[c]; c++) {
                size_t l = strlen(words);
                snprintf(words + l, sizeof words - l, "%s%s",
                         c == 0              ? ""
                         : k->choices[c + 1] ? ", "
                                             : " or ",
                         k->choices[c]);
            }
            diags_add(L->diags, n->line, n->col, "%s: expected %s, got %s", path, words, Q(t));
        } else if (k->type == F_CHOICE) {
            *(bool *)dst = i == 1;
        } else {
            free(*(char **)dst);
            *(char **)dst = ns_xstrdup(k->choices[i]);
        }
        break;
    }
    case F_SLURM_MEM: {
        size_t d = strspn(t, "0123456789");
        if (d == 0 || d > 12 || (t[d] && (strchr("KMGT", t[d]) == NULL || t[d + 1]))) {
            diags_add(L->diags, n->line, n->col,
                      "%s: %s is not a Slurm memory size (examples: 500M, 4G)", path, Q(t));
            break;
        }
        free(*(char **)dst);
        *(char **)dst = ns_xstrdup(t);
        break;
    }
    default:
        break;
    }
}

static void apply_defaults(struct spec_loader *L, const struct section *sec);

/* after: each item a mapping read against after_keys into its own struct
 * ns_after (L->base points at it meanwhile), defaults first. */
static void conv_after(struct spec_loader *L, const struct key_def *k, const struct node *n,
                       const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_SEQ) {
        expected(L, n, path, "a list of {job: NAME, ...}");
        return;
    }
    spec_after_free(s->after, s->after_len);
    s->after = ns_xcalloc(n->len + 1, sizeof *s->after);
    s->after_len = 0;
    char *spec_base = L->base;
    for (size_t i = 0; i < n->len; i++) {
        const struct node *item = n->kids[i];
        if (item->type != N_MAP) {
            expected(L, item, path, "a mapping {job: NAME, ...}");
            continue;
        }
        struct ns_after *a = &s->after[s->after_len++];
        L->base = (char *)a;
        apply_defaults(L, k->sub);
        unsigned present = 0;
        walk_section(L, k->sub, item, &present);
        L->base = spec_base;
        for (size_t j = 0; j + 1 < s->after_len && a->job; j++)
            if (s->after[j].job && strcmp(s->after[j].job, a->job) == 0)
                diags_add(L->diags, item->line, item->col, "%s: job %s is given twice", path,
                          Q(a->job));
    }
}

/* Converts one value; n is NULL when applying the table's default text. */
static void convert(struct spec_loader *L, const struct key_def *k, const struct node *n,
                    const char *path)
{
    void *dst = L->base + k->off;
    if (k->type == F_SECTION) {
        unsigned present = 0;
        if (n->type != N_MAP) {
            expected(L, n, path, "a mapping");
            return;
        }
        if (k->sub->keys == partition_keys) {
            /* Plan errors point at the partitions: key itself. */
            L->partitions_line = L->key ? L->key->line : n->line;
            L->partitions_col = L->key ? L->key->col : n->col;
        }
        walk_section(L, k->sub, n, &present);
        if (k->sub->keys == partition_keys) {
            L->partitions_node = n;
            L->partition_mask = present;
        }
        return;
    }
    switch (k->type) {
    case F_ARGV:
        conv_argv(L, k, n, path, dst);
        if (k->off == OFF(command))
            L->command_node = n;
        return;
    case F_PARAMS:
        conv_params(L, n, path);
        return;
    case F_ENV:
        conv_env(L, n, path);
        return;
    case F_ON_EXIT:
        conv_on_exit(L, n, path);
        return;
    case F_KEYS:
        conv_keys(L, n, path);
        return;
    case F_POOLS:
        spec_conv_pools(L, n, path);
        return;
    case F_USES:
        spec_conv_uses(L, n, path);
        return;
    case F_AFTER:
        conv_after(L, k, n, path);
        return;
    default:
        break;
    }
    if (n->type != N_SCALAR) {
        static const char *const what[] = {
            [F_STRING] = "a string",         [F_NAME] = "a name",    [F_TMPL] = "a string",
            [F_BOOL] = "true or false",      [F_INT] = "an integer", [F_NUMBER] = "a number",
            [F_DURATION] = "a duration",     [F_SIZE] = "a size",    [F_LIMIT] = "a count or N%",
            [F_CLOCK] = "a time HH:MM",      [F_CHOICE] = "a word",  [F_WORD] = "a word",
            [F_SLURM_MEM] = "a memory size",
        };
        expected(L, n, path, what[k->type]);
        return;
    }
    conv_scalar(L, k, n, path, dst);
}

/* Writes the table's defaults, recursively, before any value is read. */
static void apply_defaults(struct spec_loader *L, const struct section *sec)
{
    for (size_t i = 0; i < sec->len; i++) {
        const struct key_def *k = &sec->keys[i];
        if (k->type == F_SECTION) {
            apply_defaults(L, k->sub);
        } else if (k->def) {
            struct node n = {.type = N_SCALAR, .text = (char *)k->def};
            convert(L, k, &n, k->name);
        }
    }
}

static void walk_section(struct spec_loader *L, const struct section *sec, const struct node *map,
                         unsigned *present)
{
    const char *names[32];
    for (size_t i = 0; i < sec->len; i++)
        names[i] = sec->keys[i].name;
    for (size_t i = 0; i + 1 < map->len; i += 2) {
        const struct node *key = map->kids[i], *val = map->kids[i + 1];
        if (key->ignored)
            continue;
        size_t j;
        for (j = 0; j < sec->len; j++)
            if (strcmp(key->text, sec->keys[j].name) == 0)
                break;
        if (j == sec->len) {
            const char *hint = spec_suggest(key->text, names, sec->len);
            diags_add(L->diags, key->line, key->col, "%s%sunknown key %s%s%s%s", sec->path,
                      *sec->path ? ": " : "", Q(key->text), hint ? " (did you mean \"" : "",
                      hint ? hint : "", hint ? "\"?)" : "");
            continue;
        }
        if (val->null && sec->keys[j].type != F_PARAMS)
            continue; /* "key:" or "key: ~" reads as absent */
        *present |= 1u << j;
        char *path = path_join(sec->path, key->text);
        L->key = key;
        convert(L, &sec->keys[j], val, path);
        free(path);
    }
    for (size_t j = 0; j < sec->len; j++) {
        if ((sec->keys[j].flags & K_REQUIRED) && !(*present & (1u << j))) {
            char *path = path_join(sec->path, sec->keys[j].name);
            diags_add(L->diags, map->line, map->col, "%s: required", path);
            free(path);
        }
    }
}

void spec_keys_read(struct spec_loader *L, const struct node *root)
{
    apply_defaults(L, &top_section);
    unsigned present = 0;
    walk_section(L, &top_section, root, &present);
}

void spec_after_free(struct ns_after *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].job);
        free(a[i].params);
        free(a[i].partitions);
        free(a[i].on_failure);
        free(a[i].missing);
    }
    free(a);
}
