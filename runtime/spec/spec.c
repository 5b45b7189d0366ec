/*
 * spec.c - load a job spec with libyaml's event API.
 *
 * Two passes. The first turns events into a small node tree while enforcing
 * the hard bounds (size, depth, event count; no anchors, aliases, duplicate
 * keys, or second document) so nothing unbounded is ever built. The second
 * walks the tree against the key TABLES below (name, type, default, bounds,
 * help): one generic walker, one converter per type, then cross-key checks.
 * Every problem is added to the diags with the node's 1-based position and
 * the full key path; loading goes on after a problem so the user sees all of
 * them at once. Defaults are written as text in the tables and go through the
 * same converters as the file's values, so docs and behaviour cannot drift.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "nightshift/plan.h"
#include "nightshift/spec.h"
#include "spec-internal.h"

/* ---- diagnostics -------------------------------------------------------- */

void diags_add(struct ns_diags *d, int line, int col, const char *fmt, ...)
{
    if (d->len == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = ns_xrealloc(d->items, d->cap * sizeof(*d->items));
    }
    struct ns_buf b = NS_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vaddf(&b, fmt, ap);
    va_end(ap);
    d->items[d->len++] = (struct ns_diag){line, col, buf_detach(&b)};
}

char *diags_format(const struct ns_diags *d, const char *file)
{
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < d->len; i++) {
        if (d->items[i].line > 0)
            buf_addf(&b, "%s:%d:%d: %s\n", file, d->items[i].line, d->items[i].col,
                     d->items[i].message);
        else
            buf_addf(&b, "%s: %s\n", file, d->items[i].message);
    }
    return buf_detach(&b);
}

void diags_release(struct ns_diags *d)
{
    for (size_t i = 0; i < d->len; i++)
        free(d->items[i].message);
    free(d->items);
    memset(d, 0, sizeof(*d));
}

static int cmp_diag(const void *a, const void *b)
{
    const struct ns_diag *x = a, *y = b;
    /* Position-less problems (line 0) come last; diags_sort is stable, so
     * problems at one position keep the order they were found in. */
    long kx = x->line ? (long)x->line * 100000 + x->col : LONG_MAX;
    long ky = y->line ? (long)y->line * 100000 + y->col : LONG_MAX;
    return kx < ky ? -1 : kx > ky;
}

/* Insertion sort: stable, and diag lists are short. */
static void diags_sort(struct ns_diags *d, size_t from)
{
    for (size_t i = from + 1; i < d->len; i++) {
        struct ns_diag t = d->items[i];
        size_t j = i;
        while (j > from && cmp_diag(&d->items[j - 1], &t) > 0) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = t;
    }
}

/* ---- pass 1: events to a bounded tree ------------------------------------ */

enum node_type { N_SCALAR, N_SEQ, N_MAP };

struct node {
    enum node_type type;
    int line, col;
    bool null;          /* plain "", "~" or "null" */
    bool ignored;       /* a duplicate key's value or a non-scalar key: skip it */
    char *text;         /* scalar */
    char *path;         /* mapping: its key path ("retry"), for duplicate-key messages */
    struct node **kids; /* seq: items; map: key, value, key, value... */
    size_t len, cap;
};

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->len; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n->path);
    free(n);
}

static void node_add(struct node *parent, struct node *kid)
{
    if (parent->len == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids = ns_xrealloc(parent->kids, parent->cap * sizeof(*parent->kids));
    }
    parent->kids[parent->len++] = kid;
}

/* A short, quoted, control-free rendering of user text for messages. */
static const char *quoted(const char *s, char *buf, size_t len)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_addc(&b, '"');
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (n == 40) {
            buf_adds(&b, "...");
            break;
        }
        if (*p == '"' || *p == '\\')
            buf_addf(&b, "\\%c", *p);
        else if (*p == '\n')
            buf_adds(&b, "\\n");
        else if (*p == '\t')
            buf_adds(&b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            buf_addf(&b, "\\x%02x", *p);
        else
            buf_addc(&b, (char)*p);
    }
    buf_addc(&b, '"');
    snprintf(buf, len, "%s", b.data);
    buf_release(&b);
    return buf;
}
#define Q(s) quoted((s), (char[200]){0}, 200)

struct keyref {
    const char *text;
    size_t pos; /* index of the key in kids */
};

static int cmp_keyref(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->pos < y->pos ? -1 : x->pos > y->pos);
}

/* Finds duplicate keys by sorting (a mapping may hold 100 000 keys). */
static void check_map_keys(struct node *map, struct ns_diags *diags)
{
    size_t n = map->len / 2;
    if (n < 2)
        return;
    struct keyref *refs = ns_xmalloc(n * sizeof(*refs));
    size_t m = 0;
    for (size_t i = 0; i + 1 < map->len; i += 2)
        if (map->kids[i]->type == N_SCALAR && !map->kids[i]->ignored)
            refs[m++] = (struct keyref){map->kids[i]->text, i};
    qsort(refs, m, sizeof(*refs), cmp_keyref);
    for (size_t i = 1; i < m; i++) {
        if (strcmp(refs[i].text, refs[i - 1].text) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && strcmp(refs[first - 1].text, refs[i].text) == 0)
            first--;
        struct node *k0 = map->kids[refs[first].pos], *k = map->kids[refs[i].pos];
        char *full = map->path && *map->path ? ns_xasprintf("%s.%s", map->path, k->text)
                                             : ns_xstrdup(k->text);
        diags_add(diags, k->line, k->col, "duplicate key %s (lines %d and %d)", Q(full), k0->line,
                  k->line);
        free(full);
        k->ignored = true;
        map->kids[refs[i].pos + 1]->ignored = true;
    }
    free(refs);
}

static bool scalar_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

/* Parses data into a tree. Returns the root mapping (or NULL) and adds every
 * problem to diags; *fatal is set when the tree is not worth walking. */
static struct node *parse_tree(const char *data, size_t len, struct ns_diags *diags)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct node *stack[NS_SPEC_MAX_DEPTH + 1];
    int depth = 0;
    struct node *root = NULL;
    long events = 0;
    int docs = 0;
    bool done = false, bad = false;

    if (!yaml_parser_initialize(&parser)) {
        diags_add(diags, 0, 0, "cannot start the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            diags_add(diags, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1,
                      "YAML syntax error: %s%s%s",
                      parser.problem ? parser.problem : "unknown problem",
                      parser.context ? " " : "", parser.context ? parser.context : "");
            bad = true;
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        if (++events > NS_SPEC_MAX_EVENTS) {
            diags_add(diags, line, col, "spec has too many YAML nodes (limit %d)",
                      NS_SPEC_MAX_EVENTS);
            yaml_event_delete(&ev);
            bad = true;
            break;
        }
        const yaml_char_t *anchor = NULL;
        struct node *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                diags_add(diags, line, col, "a spec holds one YAML document, found more");
                bad = true;
                done = true;
            }
            break;
        case YAML_ALIAS_EVENT:
            diags_add(diags, line, col, "anchors and aliases are not supported");
            n = ns_xcalloc(1, sizeof(*n));
            n->type = N_SCALAR;
            n->text = ns_xstrdup("");
            n->null = true;
            n->ignored = true;
            break;
        case YAML_SCALAR_EVENT:
            anchor = ev.data.scalar.anchor;
            n = ns_xcalloc(1, sizeof(*n));
            n->type = N_SCALAR;
            n->text = ns_xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            n->null = scalar_is_null(&ev);
            if (strlen(n->text) != ev.data.scalar.length) {
                diags_add(diags, line, col, "NUL characters are not allowed in a spec");
                n->text[0] = '\0';
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                          : ev.data.mapping_start.anchor;
            if (depth >= NS_SPEC_MAX_DEPTH) {
                diags_add(diags, line, col, "spec is nested deeper than %d levels",
                          NS_SPEC_MAX_DEPTH);
                bad = true;
                done = true;
                break;
            }
            n = ns_xcalloc(1, sizeof(*n));
            n->type = ev.type == YAML_SEQUENCE_START_EVENT ? N_SEQ : N_MAP;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                struct node *top = stack[--depth];
                if (top->type == N_MAP)
                    check_map_keys(top, diags);
            }
            break;
        default:
            break;
        }
        if (anchor)
            diags_add(diags, line, col, "anchors and aliases are not supported");
        if (n) {
            n->line = line;
            n->col = col;
            if (depth > 0) {
                struct node *parent = stack[depth - 1];
                if (parent->type == N_MAP && parent->len % 2 == 0 && n->type != N_SCALAR) {
                    diags_add(diags, line, col, "a key must be a plain string");
                    n->ignored = true;
                }
                if (parent->type == N_MAP && parent->len % 2 == 1 &&
                    parent->kids[parent->len - 1]->ignored)
                    n->ignored = true;
                if (n->type == N_MAP) {
                    const char *pp = parent->path ? parent->path : "";
                    if (parent->type == N_SEQ)
                        n->path = ns_xasprintf("%s[%zu]", pp, parent->len);
                    else if (parent->len % 2 == 1 && parent->kids[parent->len - 1]->text)
                        n->path =
                            *pp ? ns_xasprintf("%s.%s", pp, parent->kids[parent->len - 1]->text)
                                : ns_xstrdup(parent->kids[parent->len - 1]->text);
                }
                node_add(parent, n);
            } else if (!root) {
                root = n;
            } else {
                node_free(n); /* cannot happen with one document */
                n = NULL;
            }
            if (n && n->type != N_SCALAR)
                stack[depth++] = n;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (bad) {
        node_free(root);
        return NULL;
    }
    if (!root || (root->type == N_SCALAR && root->null)) {
        diags_add(diags, 0, 0, "spec is empty");
        node_free(root);
        return NULL;
    }
    if (root->type != N_MAP) {
        diags_add(diags, root->line, root->col,
                  "a spec is a mapping of keys (name: ..., "
                  "command: ...)");
        node_free(root);
        return NULL;
    }
    return root;
}

/* ---- pass 2: the key tables --------------------------------------------- */

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
    {"timeout", F_DURATION, OFF(hook_timeout_ms), "30s", 0, 0, 0, NULL, NULL,
     "a hook is killed after this long"},
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
    [F_SECTION] = "mapping",
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
        if (d->type == F_SECTION && d->sub)
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

/* The names a partitioner gives each partition, beyond index and key. */
static const char *const partition_param_names[] = {"index", "key",  "start", "end",
                                                    "date",  "file", NULL};

struct loader {
    struct ns_spec *spec;
    struct ns_diags *diags;
    const struct node *command_node; /* to check against shell: later */
    const struct node *partitions_node;
    unsigned partition_mask; /* which partitioners were given */
    int *env_pos;            /* line, col of each env value */
    const struct node *key;  /* the key whose value is being converted */
    int partitions_line, partitions_col;
};

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
static int expected(struct loader *L, const struct node *n, const char *path, const char *what)
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

/* The closest name within a small edit distance, or NULL. */
static const char *suggest(const char *word, const char *const *names, size_t n)
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

static void walk_section(struct loader *L, const struct section *sec, const struct node *map,
                         unsigned *present);

static void tmpl_set(struct ns_tmpl *t, const char *text, int line, int col)
{
    free(t->text);
    t->text = ns_xstrdup(text);
    t->line = line;
    t->col = col;
}

static void argv_release(struct ns_argv *a)
{
    for (size_t i = 0; i < a->len; i++)
        free(a->items[i].text);
    free(a->items);
    a->items = NULL;
    a->len = 0;
}

static void kvs_free(struct ns_kv *kv, size_t n)
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

static void conv_argv(struct loader *L, const struct key_def *k, const struct node *n,
                      const char *path, void *dst)
{
    struct ns_argv *a = dst;
    argv_release(a);
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

static void conv_params(struct loader *L, const struct node *n, const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        expected(L, n, path, "a mapping of parameter names to defaults");
        return;
    }
    kvs_free(s->params, s->params_len);
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
        for (size_t j = 0; partition_param_names[j]; j++) {
            if (strcmp(key->text, partition_param_names[j]) == 0) {
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

static void conv_env(struct loader *L, const struct node *n, const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        expected(L, n, path, "a mapping of variable names to values");
        return;
    }
    kvs_free(s->env, s->env_len);
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

static void conv_on_exit(struct loader *L, const struct node *n, const char *path)
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
            const char *hint =
                val->type == N_SCALAR ? suggest(val->text, actions, NS_ARRAY_LEN(actions)) : NULL;
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

static void conv_keys(struct loader *L, const struct node *n, const char *path)
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

/* Converts one value; n is NULL when applying the table's default text. */
static void convert(struct loader *L, const struct key_def *k, const struct node *n,
                    const char *path)
{
    char *base = (char *)L->spec;
    void *dst = base + k->off;
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
    case F_LIMIT: {
        struct ns_limit *lim = dst;
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
                break;
            }
            *lim = (struct ns_limit){true, true, v};
        } else if (ns_parse_int64(t, &iv) == 0 && iv >= 1) {
            *lim = (struct ns_limit){true, false, (double)iv};
        } else {
            diags_add(L->diags, n->line, n->col,
                      "%s: expected a count of at least 1 or a percentage like \"5%%\", got %s",
                      path, Q(t));
        }
        break;
    }
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
            diags_add(L->diags, n->line, n->col, "%s: expected %s or %s, got %s", path,
                      k->choices[0], k->choices[1], Q(t));
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

/* Writes the table's defaults, recursively, before any value is read. */
static void apply_defaults(struct loader *L, const struct section *sec)
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

static void walk_section(struct loader *L, const struct section *sec, const struct node *map,
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
            const char *hint = suggest(key->text, names, sec->len);
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

/* ---- cross-key checks ---------------------------------------------------- */

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

static void check_tmpl(struct loader *L, const struct ns_tmpl *t, const char *path,
                       const char *const *names, size_t n)
{
    if (!t->text)
        return;
    struct names_ctx c = {names, n, ""};
    char err[256];
    if (tmpl_expand_with(t->text, names_lookup, &c, NULL, err, sizeof err) == 0)
        return;
    const char *hint = c.unknown[0] ? suggest(c.unknown, names, n) : NULL;
    diags_add(L->diags, t->line, t->col, "%s: %s%s%s%s", path, err, hint ? " (did you mean {" : "",
              hint ? hint : "", hint ? "}?)" : "");
}

/* In shell mode a {name} of a known parameter is an error: expanding it into
 * a shell line would let a key inject commands. ${VAR} is the shell's own. */
static void check_shell_line(struct loader *L, const struct ns_tmpl *t, const char *const *names,
                             size_t n)
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

static void check_literal_values(struct loader *L)
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

static void check_spec(struct loader *L, const struct node *root)
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
    size_t cap = s->params_len + NS_ARRAY_LEN(partition_param_names);
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

/* ---- public ------------------------------------------------------------- */

static char *spec_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? ns_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : ns_xstrdup(".");
    char *real = realpath(dir, NULL);
    if (real) {
        free(dir);
        return real;
    }
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            char *abs = strcmp(dir, ".") == 0 ? ns_xstrdup(cwd) : ns_xasprintf("%s/%s", cwd, dir);
            free(dir);
            return abs;
        }
    }
    return dir;
}

int spec_load_buffer(const char *path, const char *data, size_t len, struct ns_spec *out,
                     struct ns_diags *diags)
{
    memset(out, 0, sizeof(*out));
    size_t first = diags->len;
    if (len > NS_SPEC_MAX_BYTES) {
        diags_add(diags, 0, 0, "spec is larger than %d bytes (1 MiB)", NS_SPEC_MAX_BYTES);
        return -1;
    }
    struct node *root = parse_tree(data, len, diags);
    if (!root) {
        diags_sort(diags, first);
        return -1;
    }
    out->path = ns_xstrdup(path);
    out->dir = spec_dir_of(path);
    struct loader L = {out, diags, NULL, NULL, 0, NULL, NULL, 0, 0};
    apply_defaults(&L, &top_section);
    unsigned present = 0;
    walk_section(&L, &top_section, root, &present);
    check_spec(&L, root);
    free(L.env_pos);
    node_free(root);
    diags_sort(diags, first);
    if (diags->len > first) {
        spec_release(out);
        return -1;
    }
    return 0;
}

int spec_load(const char *path, struct ns_spec *out, struct ns_diags *diags)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        diags_add(diags, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        diags_add(diags, 0, 0, "not a regular file");
        close(fd);
        return -1;
    }
    /* Read at most one byte past the limit: a file that grows meanwhile is
     * still refused without reading it all. */
    size_t cap = NS_SPEC_MAX_BYTES + 1, len = 0;
    char *data = ns_xmalloc(cap);
    for (;;) {
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            diags_add(diags, 0, 0, "cannot read: %s", strerror(errno));
            free(data);
            close(fd);
            return -1;
        }
        if (n == 0 || (len += (size_t)n) == cap)
            break;
    }
    close(fd);
    int rc = spec_load_buffer(path, data, len, out, diags);
    free(data);
    return rc;
}

void spec_release(struct ns_spec *s)
{
    free(s->path);
    free(s->dir);
    free(s->name);
    free(s->description);
    argv_release(&s->command);
    free(s->workdir.text);
    free(s->metrics_textfile.text);
    kvs_free(s->params, s->params_len);
    struct ns_partition_spec *ps = &s->partitions;
    for (size_t i = 0; i < ps->keys_len; i++)
        free(ps->keys[i].text);
    free(ps->keys);
    struct ns_tmpl *ts[] = {&ps->keys_file, &ps->start, &ps->end,    &ps->size, &ps->from,
                            &ps->to,        &ps->step,  &ps->format, &ps->glob};
    for (size_t i = 0; i < NS_ARRAY_LEN(ts); i++)
        free(ts[i]->text);
    free(s->on_exit);
    kvs_free(s->env, s->env_len);
    free(s->sla_deadline);
    for (int i = 0; i < NS_HOOK_COUNT; i++)
        argv_release(&s->hooks[i]);
    free(s->executor);
    struct ns_spec_slurm *sl = &s->slurm;
    char *strs[] = {sl->partition, sl->account, sl->qos, sl->mem, sl->spool};
    for (size_t i = 0; i < NS_ARRAY_LEN(strs); i++)
        free(strs[i]);
    argv_release(&sl->extra_args);
    memset(s, 0, sizeof(*s));
}

const char *spec_exit_action_name(enum ns_exit_action a)
{
    static const char *const names[] = {"retry", "fail", "halt"};
    return (unsigned)a < NS_ARRAY_LEN(names) ? names[a] : "?";
}

const char *spec_hook_name(enum ns_hook_event e)
{
    static const char *const names[] = {"on_success", "on_failure", "on_halt", "on_sla_risk"};
    return (unsigned)e < NS_ARRAY_LEN(names) ? names[e] : "?";
}

/* ---- canonical text ------------------------------------------------------ */

static void add_json(struct ns_buf *b, const char *s)
{
    if (s)
        buf_add_json_string(b, s, strlen(s));
    else
        buf_adds(b, "null");
}

static void add_argv(struct ns_buf *b, const struct ns_argv *a)
{
    buf_addc(b, '[');
    for (size_t i = 0; i < a->len; i++) {
        if (i)
            buf_adds(b, ", ");
        add_json(b, a->items[i].text);
    }
    buf_addc(b, ']');
}

static void add_ms(struct ns_buf *b, int64_t ms)
{
    if (ms)
        buf_addf(b, "%lldms", (long long)ms);
    else
        buf_adds(b, "none");
}

static void add_limit(struct ns_buf *b, const struct ns_limit *l)
{
    if (!l->set)
        buf_adds(b, "none");
    else
        buf_addf(b, "%.15g%s", l->value, l->percent ? "%" : "");
}

static int cmp_kv_name(const void *a, const void *b)
{
    return strcmp(((const struct ns_kv *)a)->name, ((const struct ns_kv *)b)->name);
}

static int cmp_exit(const void *a, const void *b)
{
    return ((const struct ns_exit_rule *)a)->code - ((const struct ns_exit_rule *)b)->code;
}

char *spec_canonical(const struct ns_spec *s)
{
    struct ns_buf b = NS_BUF_INIT;
    buf_adds(&b, "name: ");
    add_json(&b, s->name);
    buf_adds(&b, "\ncommand: ");
    add_argv(&b, &s->command);
    buf_addf(&b, "\nshell: %s\nworkdir: ", s->shell ? "true" : "false");
    add_json(&b, s->workdir.text);
    buf_addc(&b, '\n');
    for (size_t i = 0; i < s->params_len; i++) {
        buf_addf(&b, "params.%s: ", s->params[i].name);
        if (s->params[i].value)
            add_json(&b, s->params[i].value);
        else
            buf_adds(&b, "required");
        buf_addc(&b, '\n');
    }
    const struct ns_partition_spec *ps = &s->partitions;
    switch (ps->kind) {
    case NS_PART_LIST:
        if (ps->keys_file.text) {
            buf_adds(&b, "partitions.list: file=");
            add_json(&b, ps->keys_file.text);
        } else {
            buf_adds(&b, "partitions.list: [");
            for (size_t i = 0; i < ps->keys_len; i++) {
                if (i)
                    buf_adds(&b, ", ");
                add_json(&b, ps->keys[i].text);
            }
            buf_addc(&b, ']');
        }
        break;
    case NS_PART_RANGE:
        buf_addf(&b, "partitions.range: start=%s end=%s size=%s", ps->start.text, ps->end.text,
                 ps->size.text);
        break;
    case NS_PART_DATES:
        buf_addf(&b, "partitions.dates: from=%s to=%s step=%s format=%s", ps->from.text,
                 ps->to.text, ps->step.text, ps->format.text);
        break;
    case NS_PART_FILES:
        buf_adds(&b, "partitions.files: ");
        add_json(&b, ps->glob.text);
        break;
    }
    buf_addf(&b, "\nconcurrency: %d\ntimeout: ", s->concurrency);
    add_ms(&b, s->timeout_ms);
    buf_addf(&b, "\nretry: attempts=%d backoff=%lldms max_backoff=%lldms factor=%.15g jitter=%.15g",
             s->retry_attempts, (long long)s->backoff_ms, (long long)s->max_backoff_ms,
             s->backoff_factor, s->jitter);
    buf_adds(&b, "\non_exit:");
    struct ns_exit_rule *rules = ns_xcalloc(s->on_exit_len + 1, sizeof(*rules));
    if (s->on_exit_len)
        memcpy(rules, s->on_exit, s->on_exit_len * sizeof(*rules));
    qsort(rules, s->on_exit_len, sizeof(*rules), cmp_exit);
    for (size_t i = 0; i < s->on_exit_len; i++)
        buf_addf(&b, " %d=%s", rules[i].code, spec_exit_action_name(rules[i].action));
    free(rules);
    buf_adds(&b, "\nstop_grace: ");
    add_ms(&b, s->stop_grace_ms);
    buf_addc(&b, '\n');
    struct ns_kv *env = ns_xcalloc(s->env_len + 1, sizeof(*env));
    if (s->env_len)
        memcpy(env, s->env, s->env_len * sizeof(*env));
    qsort(env, s->env_len, sizeof(*env), cmp_kv_name);
    for (size_t i = 0; i < s->env_len; i++) {
        buf_addf(&b, "env.%s: ", env[i].name);
        add_json(&b, env[i].value);
        buf_addc(&b, '\n');
    }
    free(env);
    buf_addf(&b, "log_limit: %lld\nhalt_when: failed_partitions=", (long long)s->log_limit);
    add_limit(&b, &s->halt_failed_partitions);
    buf_adds(&b, " error_records=");
    add_limit(&b, &s->halt_error_records);
    buf_adds(&b, "\nsla: max_duration=");
    add_ms(&b, s->sla_max_duration_ms);
    buf_addf(&b, " deadline=%s\n", s->sla_deadline ? s->sla_deadline : "none");
    for (int i = 0; i < NS_HOOK_COUNT; i++) {
        if (!s->hooks[i].len)
            continue;
        buf_addf(&b, "hooks.%s: ", spec_hook_name((enum ns_hook_event)i));
        add_argv(&b, &s->hooks[i]);
        buf_addc(&b, '\n');
    }
    buf_addf(&b, "hooks.timeout: %lldms\ndurability: %s\non_restore: %s\n",
             (long long)s->hook_timeout_ms, s->durability_full ? "full" : "normal",
             s->restore_paused ? "pause" : "resume");
    /* Only a non-default executor is written, so the hash of every spec
     * written before executors existed stays the same. */
    if (s->executor && strcmp(s->executor, "local") != 0) {
        const struct ns_spec_slurm *sl = &s->slurm;
        buf_addf(&b, "executor: %s\nslurm:", s->executor);
        const struct {
            const char *name, *value;
        } strs[] = {{"partition", sl->partition},
                    {"account", sl->account},
                    {"qos", sl->qos},
                    {"mem", sl->mem},
                    {"spool", sl->spool}};
        for (size_t i = 0; i < NS_ARRAY_LEN(strs); i++) {
            buf_addf(&b, " %s=", strs[i].name);
            add_json(&b, strs[i].value);
        }
        buf_addf(&b, " time=%lldms cpus_per_task=%d extra_args=", (long long)sl->time_ms,
                 sl->cpus_per_task);
        add_argv(&b, &sl->extra_args);
        buf_addc(&b, '\n');
    }
    return buf_detach(&b);
}
