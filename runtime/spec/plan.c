/*
 * plan.c - from a loaded spec and -p parameters to the list of partitions.
 *
 * Invariants: the plan is a pure function of the spec, the run parameters and
 * (for list files and globs) the files they name; partitions are numbered in
 * order from 0; keys are unique. Each partition's parameters live in one heap
 * block (the kv array followed by its strings), so a plan of millions of
 * partitions costs one allocation per partition and plan_release frees that
 * block only. Duplicate keys are found by sorting, never by pairwise search.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nightshift/json.h"
#include "nightshift/plan.h"
#include "spec-internal.h"

#define MAX_DUP_DIAGS 10

/* ---- building ----------------------------------------------------------- */

/* Collecting (plan_build) keeps every partition in plan->parts. Streaming
 * (plan_stream) keeps none: each partition goes to `each` and is freed, and
 * only its key's 64-bit hash is kept (when key_hashes is set) so duplicates
 * can be found in 8 bytes per partition. plan->len counts in both modes. */
struct builder {
    const struct ns_spec *spec;
    struct ns_plan *plan;
    struct ns_diags *diags;
    size_t cap;
    int failed;
    bool stream;
    ns_plan_each_fn each;
    void *ctx;
    int each_rc;          /* the first non-zero return of each: stops the build */
    uint64_t *key_hashes; /* streaming: one per partition, for the duplicate check */
    uint64_t hash;        /* plan->hash, folded in partition by partition */
    bool no_hash;         /* a second pass over a pure partitioner: known already */
};

static uint64_t hash_part(uint64_t h, const struct ns_partition *p)
{
    for (size_t j = 0; j < p->params_len; j++) {
        /* NUL separators: "a"+"bc" and "ab"+"c" must hash apart. */
        h = ns_hash64(p->params[j].name, strlen(p->params[j].name) + 1, h);
        h = ns_hash64(p->params[j].value, strlen(p->params[j].value) + 1, h);
    }
    return ns_hash64("\n", 1, h);
}

/* Decimal text of v into buf (>= 21 bytes); returns its length. snprintf
 * is the largest cost of a million-partition range, so not snprintf. */
static size_t fmt_i64(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* Appends a partition: index, key, the partitioner's np parameters, then the
 * run parameters, all in one block. Returns -1 (with a diag) past the cap. */
static int add_part(struct builder *b, const char *key, const char *const *names,
                    const char *const *vals, size_t np)
{
    struct ns_plan *pl = b->plan;
    if (pl->len >= NS_PLAN_MAX_PARTITIONS) {
        diags_add(b->diags, b->spec->partitions.line, b->spec->partitions.col,
                  "partitions: more than %d partitions", NS_PLAN_MAX_PARTITIONS);
        b->failed = 1;
        return -1;
    }
    if (b->each_rc)
        return -1;
    if (pl->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        if (!b->stream)
            pl->parts = ns_xrealloc(pl->parts, b->cap * sizeof(*pl->parts));
        else if (b->key_hashes)
            b->key_hashes = ns_xrealloc(b->key_hashes, b->cap * sizeof(*b->key_hashes));
    }
    char idx[24];
    fmt_i64(idx, (int64_t)pl->len);
    size_t n = 2 + np + pl->run_params_len;
    size_t bytes = n * sizeof(struct ns_kv);
    bytes += sizeof "index" + strlen(idx) + 1 + sizeof "key" + strlen(key) + 1;
    for (size_t i = 0; i < np; i++)
        bytes += strlen(names[i]) + strlen(vals[i]) + 2;
    for (size_t i = 0; i < pl->run_params_len; i++)
        bytes += strlen(pl->run_params[i].name) + strlen(pl->run_params[i].value) + 2;
    struct ns_kv *kv = ns_xmalloc(bytes);
    char *s = (char *)(kv + n);
#define PUT(dst, src)                                                                              \
    do {                                                                                           \
        size_t l_ = strlen(src) + 1;                                                               \
        memcpy(s, (src), l_);                                                                      \
        (dst) = s;                                                                                 \
        s += l_;                                                                                   \
    } while (0)
    PUT(kv[0].name, "index");
    PUT(kv[0].value, idx);
    PUT(kv[1].name, "key");
    PUT(kv[1].value, key);
    for (size_t i = 0; i < np; i++) {
        PUT(kv[2 + i].name, names[i]);
        PUT(kv[2 + i].value, vals[i]);
    }
    for (size_t i = 0; i < pl->run_params_len; i++) {
        PUT(kv[2 + np + i].name, pl->run_params[i].name);
        PUT(kv[2 + np + i].value, pl->run_params[i].value);
    }
#undef PUT
    /* Every field of one is set right below; cppcheck takes the address for a read. */
    /* cppcheck-suppress uninitvar */
    struct ns_partition one, *p = b->stream ? &one : &pl->parts[pl->len];
    p->index = (int64_t)pl->len;
    p->key = kv[1].value;
    p->params = kv;
    p->params_len = n;
    if (!b->no_hash)
        b->hash = hash_part(b->hash, p);
    if (b->stream) {
        if (b->key_hashes)
            b->key_hashes[pl->len] = ns_hash64(p->key, strlen(p->key), NS_HASH_SEED);
        if (b->each)
            b->each_rc = b->each(b->ctx, p);
        free(kv);
    }
    pl->len++;
    return b->each_rc ? -1 : 0;
}

/* Expands a spec value with the run parameters; NULL (and a diag) on error. */
static char *expand(struct builder *b, const struct ns_tmpl *t, const char *what)
{
    struct ns_buf out = NS_BUF_INIT;
    char err[256];
    if (tmpl_expand(t->text, b->plan->run_params, b->plan->run_params_len, &out, err, sizeof err) <
        0) {
        diags_add(b->diags, t->line, t->col, "%s: %s", what, err);
        buf_release(&out);
        b->failed = 1;
        return NULL;
    }
    return buf_detach(&out);
}

static int check_key(struct builder *b, const char *key, const struct ns_tmpl *at, const char *what)
{
    if (!*key) {
        diags_add(b->diags, at->line, at->col, "%s: a partition key is empty", what);
    } else if (strlen(key) > NS_PLAN_MAX_KEY) {
        diags_add(b->diags, at->line, at->col, "%s: a partition key is longer than %d bytes", what,
                  NS_PLAN_MAX_KEY);
    } else {
        return 0;
    }
    b->failed = 1;
    return -1;
}

static void build_list_inline(struct builder *b)
{
    const struct ns_partition_spec *ps = &b->spec->partitions;
    for (size_t i = 0; i < ps->keys_len; i++) {
        char what[48];
        snprintf(what, sizeof what, "partitions.list[%zu]", i);
        char *key = expand(b, &ps->keys[i], what);
        if (key && check_key(b, key, &ps->keys[i], what) == 0)
            add_part(b, key, NULL, NULL, 0);
        free(key);
        if (b->failed && b->plan->len >= NS_PLAN_MAX_PARTITIONS)
            return;
    }
}

static char *join_dir(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !*dir)
        return ns_xstrdup(path);
    return ns_xasprintf("%s/%s", dir, path);
}

static void build_list_file(struct builder *b)
{
    const struct ns_tmpl *t = &b->spec->partitions.keys_file;
    const char *what = "partitions.list.file";
    char *rel = expand(b, t, what);
    if (!rel)
        return;
    char *path = join_dir(b->spec->dir, rel);
    FILE *f = fopen(path, "r");
    if (!f) {
        diags_add(b->diags, t->line, t->col, "%s: cannot read \"%s\": %s", what, rel,
                  strerror(errno));
        b->failed = 1;
        goto out;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)n != strlen(line)) {
            diags_add(b->diags, t->line, t->col, "%s: \"%s\" line %ld: contains a NUL byte", what,
                      rel, lineno);
            b->failed = 1;
            break;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        /* A UTF-8 byte-order mark (editors on Windows save one) is not
         * part of the first key, as CRLF line ends are not part of any. */
        if (lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
            memmove(line, line + 3, (size_t)(n -= 3) + 1);
        const char *first = line + strspn(line, " \t");
        if (!*first || *first == '#')
            continue;
        if (strlen(line) > NS_PLAN_MAX_KEY) {
            diags_add(b->diags, t->line, t->col, "%s: \"%s\" line %ld: key is longer than %d bytes",
                      what, rel, lineno, NS_PLAN_MAX_KEY);
            b->failed = 1;
            continue;
        }
        if (add_part(b, line, NULL, NULL, 0) < 0)
            break;
    }
    if (ferror(f)) {
        diags_add(b->diags, t->line, t->col, "%s: cannot read \"%s\": %s", what, rel,
                  strerror(errno));
        b->failed = 1;
    } else if (!b->failed && b->plan->len == 0) {
        diags_add(b->diags, t->line, t->col, "%s: \"%s\" has no keys", what, rel);
        b->failed = 1;
    }
    free(line);
    fclose(f);
out:
    free(path);
    free(rel);
}

/* Expands and parses an integer value; -1 with a diag on error. */
static int expand_int(struct builder *b, const struct ns_tmpl *t, const char *what, int64_t *out)
{
    char *s = expand(b, t, what);
    if (!s)
        return -1;
    int rc = ns_parse_int64(s, out);
    if (rc < 0) {
        diags_add(b->diags, t->line, t->col, "%s: expected an integer, got \"%s\"", what, s);
        b->failed = 1;
    }
    free(s);
    return rc;
}

static void build_range(struct builder *b)
{
    const struct ns_partition_spec *ps = &b->spec->partitions;
    int64_t start, end, size;
    int bad = expand_int(b, &ps->start, "partitions.range.start", &start);
    bad |= expand_int(b, &ps->end, "partitions.range.end", &end);
    bad |= expand_int(b, &ps->size, "partitions.range.size", &size);
    if (bad)
        return;
    if (size <= 0) {
        diags_add(b->diags, ps->size.line, ps->size.col,
                  "partitions.range.size: must be at least 1, got %lld", (long long)size);
        b->failed = 1;
        return;
    }
    if (start > end) {
        diags_add(b->diags, ps->start.line, ps->start.col,
                  "partitions.range: start %lld is greater than end %lld", (long long)start,
                  (long long)end);
        b->failed = 1;
        return;
    }
    /* The span of an ordered int64 pair always fits in uint64. */
    uint64_t span = (uint64_t)end - (uint64_t)start;
    if (span / (uint64_t)size >= NS_PLAN_MAX_PARTITIONS) {
        diags_add(b->diags, ps->line, ps->col, "partitions: more than %d partitions",
                  NS_PLAN_MAX_PARTITIONS);
        b->failed = 1;
        return;
    }
    uint64_t count = span / (uint64_t)size + 1;
    static const char *const names[] = {"start", "end"};
    for (uint64_t i = 0; i < count; i++) {
        int64_t s = (int64_t)((uint64_t)start + i * (uint64_t)size);
        int64_t e = ((uint64_t)end - (uint64_t)s < (uint64_t)size - 1)
                        ? end
                        : (int64_t)((uint64_t)s + (uint64_t)size - 1);
        char sv[24], ev[24], key[48];
        size_t sl = fmt_i64(sv, s);
        fmt_i64(ev, e);
        memcpy(key, sv, sl);
        key[sl] = '-';
        memcpy(key + sl + 1, ev, strlen(ev) + 1);
        const char *vals[] = {sv, ev};
        add_part(b, key, names, vals, 2);
    }
}

static void build_dates(struct builder *b)
{
    const struct ns_partition_spec *ps = &b->spec->partitions;
    char *from = expand(b, &ps->from, "partitions.dates.from");
    char *to = expand(b, &ps->to, "partitions.dates.to");
    char *step = expand(b, &ps->step, "partitions.dates.step");
    char *fmt = expand(b, &ps->format, "partitions.dates.format");
    time_t t0 = 0, t1 = 0;
    int64_t days = 0;
    if (!from || !to || !step || !fmt)
        goto out;
    if (plan_parse_date(from, &t0) < 0) {
        diags_add(b->diags, ps->from.line, ps->from.col,
                  "partitions.dates.from: \"%s\" is not a date (YYYY-MM-DD)", from);
        b->failed = 1;
    }
    if (plan_parse_date(to, &t1) < 0) {
        diags_add(b->diags, ps->to.line, ps->to.col,
                  "partitions.dates.to: \"%s\" is not a date (YYYY-MM-DD)", to);
        b->failed = 1;
    }
    if (plan_parse_step(step, &days) < 0) {
        diags_add(b->diags, ps->step.line, ps->step.col,
                  "partitions.dates.step: \"%s\" is not a whole number of days (examples: 1d, "
                  "7d, 1w)",
                  step);
        b->failed = 1;
    }
    if (b->failed)
        goto out;
    if (t0 > t1) {
        diags_add(b->diags, ps->from.line, ps->from.col, "partitions.dates: from %s is after to %s",
                  from, to);
        b->failed = 1;
        goto out;
    }
    int64_t ndays = (int64_t)(t1 - t0) / 86400;
    int64_t count = ndays / days + 1;
    if (count > NS_PLAN_MAX_PARTITIONS) {
        diags_add(b->diags, ps->line, ps->col, "partitions: more than %d partitions",
                  NS_PLAN_MAX_PARTITIONS);
        b->failed = 1;
        goto out;
    }
    static const char *const names[] = {"date"};
    for (int64_t i = 0; i < count; i++) {
        /* UTC midnights: every day is exactly 86400 s, no DST to trip over. */
        time_t t = t0 + (time_t)(i * days * 86400);
        struct tm tm;
        char date[256];
        gmtime_r(&t, &tm);
        /* The format is the spec author's by design (partitions.dates.format). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        size_t dn = strftime(date, sizeof date, fmt, &tm);
#pragma GCC diagnostic pop
        if (dn == 0) {
            diags_add(b->diags, ps->format.line, ps->format.col,
                      "partitions.dates.format: \"%s\" gives an empty or too long date", fmt);
            b->failed = 1;
            goto out;
        }
        const char *vals[] = {date};
        add_part(b, date, names, vals, 1);
    }
out:
    free(from);
    free(to);
    free(step);
    free(fmt);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies path with glob metacharacters escaped, so a spec directory named
 * "data[1]" is taken literally. */
static void add_glob_literal(struct ns_buf *b, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (strchr("*?[\\", *p))
            buf_addc(b, '\\');
        buf_addc(b, *p);
    }
}

static void build_files(struct builder *b)
{
    const struct ns_partition_spec *ps = &b->spec->partitions;
    char *pat = expand(b, &ps->glob, "partitions.files");
    if (!pat)
        return;
    struct ns_buf full = NS_BUF_INIT;
    size_t prefix = 0;
    if (pat[0] != '/' && b->spec->dir && *b->spec->dir) {
        add_glob_literal(&full, b->spec->dir);
        buf_addc(&full, '/');
        prefix = strlen(b->spec->dir) + 1;
    }
    buf_adds(&full, pat);
    glob_t g;
    int rc = glob(full.data, GLOB_NOSORT, NULL, &g);
    if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) {
        diags_add(b->diags, ps->glob.line, ps->glob.col, "partitions.files: no file matches \"%s\"",
                  pat);
        b->failed = 1;
    } else if (rc != 0) {
        diags_add(b->diags, ps->glob.line, ps->glob.col,
                  "partitions.files: cannot search for \"%s\"%s", pat,
                  rc == GLOB_NOSPACE ? ": out of memory" : ": read error");
        b->failed = 1;
    } else {
        /* Byte order, not the locale's collation: the plan must not depend on LC_ALL. */
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
        static const char *const names[] = {"file"};
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *m = g.gl_pathv[i];
            const char *key = m;
            if (prefix && strlen(m) > prefix)
                key = m + prefix;
            const char *vals[] = {m};
            if (add_part(b, key, names, vals, 1) < 0)
                break;
        }
    }
    if (rc == 0)
        globfree(&g);
    buf_release(&full);
    free(pat);
}

struct keyref {
    const char *key;
    size_t index;
};

static int cmp_keyref(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static void check_duplicates(struct builder *b)
{
    struct ns_plan *pl = b->plan;
    if (pl->len < 2)
        return;
    struct keyref *refs = ns_xmalloc(pl->len * sizeof(*refs));
    for (size_t i = 0; i < pl->len; i++)
        refs[i] = (struct keyref){pl->parts[i].key, i};
    qsort(refs, pl->len, sizeof(*refs), cmp_keyref);
    size_t dups = 0;
    const struct ns_partition_spec *ps = &b->spec->partitions;
    for (size_t i = 1; i < pl->len; i++) {
        if (strcmp(refs[i].key, refs[i - 1].key) != 0)
            continue;
        /* Report each duplicate against the first partition holding the key. */
        size_t first = i - 1;
        while (first > 0 && strcmp(refs[first - 1].key, refs[i].key) == 0)
            first--;
        if (dups < MAX_DUP_DIAGS) {
            int line = ps->line, col = ps->col;
            if (ps->kind == NS_PART_LIST && !ps->keys_file.text && refs[i].index < ps->keys_len) {
                line = ps->keys[refs[i].index].line;
                col = ps->keys[refs[i].index].col;
            }
            diags_add(b->diags, line, col,
                      "partitions: duplicate key \"%s\" (partitions %zu and %zu)", refs[i].key,
                      refs[first].index, refs[i].index);
        }
        dups++;
    }
    if (dups > MAX_DUP_DIAGS)
        diags_add(b->diags, ps->line, ps->col, "partitions: %zu more duplicate keys",
                  dups - MAX_DUP_DIAGS);
    if (dups)
        b->failed = 1;
    free(refs);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const struct ns_kv *)a)->name, ((const struct ns_kv *)b)->name);
}

/* Declared defaults overridden by -p; sorted by name. -1 with diags on error. */
static int resolve_params(const struct ns_spec *spec, char *const *given, size_t given_len,
                          struct ns_plan *out, struct ns_diags *diags)
{
    int bad = 0;
    size_t n = spec->params_len;
    struct ns_kv *rp = ns_xcalloc(n ? n : 1, sizeof(*rp));
    char *from_cli = ns_xcalloc(n ? n : 1, 1);
    for (size_t i = 0; i < n; i++) {
        rp[i].name = ns_xstrdup(spec->params[i].name);
        rp[i].value = spec->params[i].value ? ns_xstrdup(spec->params[i].value) : NULL;
    }
    for (size_t g = 0; g < given_len; g++) {
        const char *eq = strchr(given[g], '=');
        if (!eq || eq == given[g]) {
            diags_add(diags, 0, 0, "-p \"%s\": expected name=value", given[g]);
            bad = 1;
            continue;
        }
        size_t nl = (size_t)(eq - given[g]);
        size_t i;
        for (i = 0; i < n; i++)
            if (strlen(rp[i].name) == nl && memcmp(rp[i].name, given[g], nl) == 0)
                break;
        if (i == n) {
            struct ns_buf names = NS_BUF_INIT;
            for (size_t j = 0; j < n; j++)
                buf_addf(&names, "%s%s", j ? ", " : "", spec->params[j].name);
            if (n)
                diags_add(diags, 0, 0, "unknown parameter \"%.*s\" (declared: %s)", (int)nl,
                          given[g], names.data);
            else
                diags_add(diags, 0, 0,
                          "unknown parameter \"%.*s\" (this spec declares no parameters)", (int)nl,
                          given[g]);
            buf_release(&names);
            bad = 1;
            continue;
        }
        if (from_cli[i]) {
            diags_add(diags, 0, 0, "parameter \"%s\" is given twice", rp[i].name);
            bad = 1;
            continue;
        }
        from_cli[i] = 1;
        free(rp[i].value);
        rp[i].value = ns_xstrdup(eq + 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (!rp[i].value) {
            diags_add(diags, 0, 0, "parameter \"%s\" is required: pass -p %s=VALUE", rp[i].name,
                      rp[i].name);
            bad = 1;
        }
    }
    free(from_cli);
    qsort(rp, n, sizeof(*rp), cmp_kv);
    out->run_params = rp;
    out->run_params_len = n;
    return bad ? -1 : 0;
}

/* Runs the spec's partitioner into b (collecting or streaming). */
static void build_parts(struct builder *b)
{
    const struct ns_partition_spec *ps = &b->spec->partitions;
    b->hash = NS_HASH_SEED;
    switch (ps->kind) {
    case NS_PART_LIST:
        if (ps->keys_file.text)
            build_list_file(b);
        else
            build_list_inline(b);
        break;
    case NS_PART_RANGE:
        build_range(b);
        break;
    case NS_PART_DATES:
        build_dates(b);
        break;
    case NS_PART_FILES:
        build_files(b);
        break;
    }
    if (!b->failed && !b->each_rc && b->plan->len == 0) {
        diags_add(b->diags, ps->line, ps->col, "partitions: the plan is empty");
        b->failed = 1;
    }
}

int plan_build(const struct ns_spec *spec, char *const *given, size_t given_len,
               struct ns_plan *out, struct ns_diags *diags)
{
    memset(out, 0, sizeof(*out));
    if (resolve_params(spec, given, given_len, out, diags) < 0) {
        plan_release(out);
        return -1;
    }
    struct builder b = {.spec = spec, .plan = out, .diags = diags};
    build_parts(&b);
    if (!b.failed)
        check_duplicates(&b);
    if (b.failed) {
        plan_release(out);
        return -1;
    }
    out->hash = b.hash;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One streaming pass over the partitioner; 0, or -1 (diags, or each's stop). */
static int stream_pass(const struct ns_spec *spec, struct ns_plan *summary, ns_plan_each_fn each,
                       void *ctx, bool dup_hashes, bool no_hash, struct builder *b,
                       struct ns_diags *diags)
{
    *b = (struct builder){.spec = spec, .plan = summary, .diags = diags, .stream = true,
                          .each = each, .ctx = ctx, .no_hash = no_hash};
    if (dup_hashes)
        b->key_hashes = ns_xmalloc(64 * sizeof *b->key_hashes), b->cap = 64;
    summary->len = 0;
    build_parts(b);
    return b->failed || b->each_rc ? -1 : 0;
}

/* The pass that hands a validated plan (summary: its len and hash) to each.
 * Only keys files and globs can change between passes; ranges and dates
 * are functions of the spec, so their hash is not recomputed. */
static int again_pass(const struct ns_spec *spec, struct ns_plan *summary, ns_plan_each_fn each,
                      void *ctx, struct ns_diags *diags, int *each_rc)
{
    uint64_t hash = summary->hash;
    size_t len = summary->len;
    bool reads_files = spec->partitions.kind == NS_PART_FILES ||
                       (spec->partitions.kind == NS_PART_LIST && spec->partitions.keys_file.text);
    struct builder b;
    int rc = stream_pass(spec, summary, each, ctx, false, !reads_files, &b, diags);
    *each_rc = b.each_rc;
    if (rc != 0)
        return -1;
    if ((reads_files && b.hash != hash) || summary->len != len) {
        /* A keys file or a glob changed between the passes. */
        diags_add(diags, spec->partitions.line, spec->partitions.col,
                  "partitions: the plan changed while it was read (a keys file or the files "
                  "matched changed); try again");
        return -1;
    }
    summary->hash = hash;
    return 0;
}

int plan_stream(const struct ns_spec *spec, char *const *given, size_t given_len,
                ns_plan_each_fn first, ns_plan_each_fn each, void *ctx, struct ns_plan *summary,
                struct ns_diags *diags, int *each_rc)
{
    memset(summary, 0, sizeof(*summary));
    *each_rc = 0;
    if (resolve_params(spec, given, given_len, summary, diags) < 0)
        goto fail;
    struct builder b;
    /* range keys ("start-end") and file names are unique by construction;
     * list keys and formatted dates may repeat. */
    bool may_repeat = spec->partitions.kind == NS_PART_LIST || spec->partitions.kind == NS_PART_DATES;
    int rc = stream_pass(spec, summary, first, ctx, may_repeat, false, &b, diags);
    if (rc == 0 && may_repeat && summary->len > 1) {
        /* Equal key hashes: almost surely a duplicate key. The collecting
         * build names the partitions holding it (or finds none: a hash
         * collision, and the plan is fine). */
        qsort(b.key_hashes, summary->len, sizeof *b.key_hashes, cmp_u64);
        bool suspect = false;
        for (size_t i = 1; i < summary->len && !suspect; i++)
            suspect = b.key_hashes[i] == b.key_hashes[i - 1];
        if (suspect) {
            struct ns_plan full;
            if (plan_build(spec, given, given_len, &full, diags) < 0)
                rc = -1;
            else
                plan_release(&full);
        }
    }
    free(b.key_hashes);
    *each_rc = b.each_rc;
    if (rc != 0)
        goto fail;
    summary->hash = b.hash;
    if (!each)
        return 0;
    if (again_pass(spec, summary, each, ctx, diags, each_rc) != 0)
        goto fail;
    return 0;
fail:
    plan_release(summary);
    return -1;
}

int plan_stream_known(const struct ns_spec *spec, char *const *given, size_t given_len,
                      const struct ns_plan *known, ns_plan_each_fn each, void *ctx,
                      struct ns_diags *diags, int *each_rc)
{
    struct ns_plan summary;
    memset(&summary, 0, sizeof summary);
    *each_rc = 0;
    int rc = -1;
    if (resolve_params(spec, given, given_len, &summary, diags) == 0) {
        summary.len = known->len;
        summary.hash = known->hash;
        rc = again_pass(spec, &summary, each, ctx, diags, each_rc);
    }
    plan_release(&summary);
    return rc;
}

void plan_release(struct ns_plan *plan)
{
    for (size_t i = 0; plan->parts && i < plan->len; i++)
        free(plan->parts[i].params); /* the key and every string live in this block */
    free(plan->parts);
    for (size_t i = 0; i < plan->run_params_len; i++) {
        free(plan->run_params[i].name);
        free(plan->run_params[i].value);
    }
    free(plan->run_params);
    memset(plan, 0, sizeof(*plan));
}

char *plan_params_canonical(const struct ns_plan *plan)
{
    struct ns_buf b = NS_BUF_INIT;
    for (size_t i = 0; i < plan->run_params_len; i++) {
        buf_addf(&b, "%s=", plan->run_params[i].name);
        /* A value holding "\n" must not read as a second parameter. */
        for (const char *v = plan->run_params[i].value; *v; v++) {
            if (*v == '\\')
                buf_adds(&b, "\\\\");
            else if (*v == '\n')
                buf_adds(&b, "\\n");
            else
                buf_addc(&b, *v);
        }
        buf_addc(&b, '\n');
    }
    return buf_detach(&b);
}

void plan_partition_json_add(const struct ns_partition *p, struct ns_buf *b)
{
    buf_addc(b, '{');
    for (size_t i = 0; i < p->params_len; i++) {
        if (i)
            buf_addc(b, ',');
        json_add_string(b, p->params[i].name, strlen(p->params[i].name));
        buf_addc(b, ':');
        json_add_string(b, p->params[i].value, strlen(p->params[i].value));
    }
    buf_addc(b, '}');
}

char *plan_partition_json(const struct ns_partition *p)
{
    struct ns_buf b = NS_BUF_INIT;
    plan_partition_json_add(p, &b);
    return buf_detach(&b);
}
