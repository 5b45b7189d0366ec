/*
 * grep.c - a run's logs and error records searched for a pattern
 * (grep.h). Partitions come by keyset pages of the read model (only those
 * that ever ran or hold records are looked into), attempts by partition,
 * error records by partition; log files are read a line at a time, so a
 * run of a million partitions is searched in constant memory.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/grep.h"
#include "nightshift/query.h"
#include "nightshift/util.h"

#define PART_PAGE 256
#define ATTEMPTS_MAX 256
#define ERROR_PAGE 256

struct grep {
    struct ns_store *st;
    const struct ns_grep_opts *o;
    regex_t re;
    ns_grep_each each;
    void *ctx;
    int64_t found;
    bool stop;
    struct ns_buf text;
};

static bool matches(struct grep *g, const char *s, size_t len)
{
    regmatch_t m = {.rm_so = 0, .rm_eo = (regoff_t)len}; /* REG_STARTEND: NULs are bytes */
    return regexec(&g->re, s, 1, &m, REG_STARTEND) == 0;
}

static void emit(struct grep *g, const struct ns_part_row *p, int64_t attempt, bool record,
                 int64_t where, const char *text, size_t len)
{
    struct ns_grep_match m = {p->idx, p->key, attempt, record, where, text, len};
    g->found++;
    if (!g->each(g->ctx, &m))
        g->stop = true;
}

static void grep_log(struct grep *g, const struct ns_part_row *p, const struct ns_attempt_row *a)
{
    FILE *f = a->log_path ? fopen(a->log_path, "rb") : NULL;
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (int64_t no = 1; !g->stop && (n = getline(&line, &cap, f)) >= 0; no++) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (matches(g, line, len))
            emit(g, p, a->n, false, no, line, len);
    }
    free(line);
    fclose(f);
}

/* The attempt number of attempt id among rows[0..n), 0 if not there. */
static int64_t attempt_number(const struct ns_attempt_row *rows, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (rows[i].id == id)
            return rows[i].n;
    return 0;
}

/* True for an attempt numbered n that the search asks for (the latest is
 * the only one read when it asks for the latest). */
static bool wanted(const struct grep *g, int64_t n)
{
    return g->o->attempt == 0 || (n > 0 && (g->o->attempt < 0 || n == g->o->attempt));
}

static void grep_errors(struct grep *g, const struct ns_part_row *p,
                        const struct ns_attempt_row *att, int natt)
{
    struct ns_error_select sel = {.run_id = g->o->run_id, .idx = p->idx};
    struct ns_error_row rows[ERROR_PAGE], anchor = {0};
    char err[256];
    for (bool first = true; !g->stop; first = false) {
        int n = query_errors(g->st, &sel, first ? NULL : &anchor, 1, ERROR_PAGE, false, rows, err,
                             sizeof err);
        for (int i = 0; i < n; i++) {
            struct ns_error_row *r = &rows[i];
            int64_t an = attempt_number(att, natt, r->attempt_id);
            if (!g->stop && wanted(g, an) &&
                (matches(g, r->key, r->key_len) || matches(g, r->message, r->message_len))) {
                buf_reset(&g->text);
                buf_add(&g->text, r->key, r->key_len);
                buf_adds(&g->text, ": ");
                buf_add(&g->text, r->message, r->message_len);
                emit(g, p, an, true, r->id, g->text.data, g->text.len);
            }
            anchor.id = r->id;
            query_error_row_release(r);
        }
        if (n < ERROR_PAGE)
            break;
    }
}

static void grep_partition(struct grep *g, const struct ns_part_row *p)
{
    struct ns_attempt_row *rows = ns_xcalloc(ATTEMPTS_MAX, sizeof *rows);
    char err[256];
    int limit = g->o->attempt == NS_GREP_LAST_ATTEMPT ? 1 : ATTEMPTS_MAX;
    int n = query_attempts(g->st, g->o->run_id, p->idx, limit, rows, err, sizeof err);
    for (int i = n - 1; i >= 0 && !g->stop; i--) /* newest first: read oldest first */
        if (wanted(g, rows[i].n))
            grep_log(g, p, &rows[i]);
    if (p->errors > 0 && !g->stop)
        grep_errors(g, p, rows, n < 0 ? 0 : n);
    for (int i = 0; i < n; i++)
        query_attempt_row_release(&rows[i]);
    free(rows);
}

int64_t grep_run(struct ns_store *st, const struct ns_grep_opts *o, ns_grep_each each, void *ctx,
                 char *err, size_t errlen)
{
    struct grep g = {.st = st, .o = o, .each = each, .ctx = ctx, .text = NS_BUF_INIT};
    int rc = regcomp(&g.re, o->pattern, REG_EXTENDED | (o->ignore_case ? REG_ICASE : 0));
    if (rc != 0) {
        char why[128];
        regerror(rc, &g.re, why, sizeof why);
        ns_errf(err, errlen, "%s: not a regular expression: %s", o->pattern, why);
        return -1;
    }
    struct ns_part_select sel = {.run_id = o->run_id, .filter = NS_PF_ALL, .state = o->state};
    struct ns_part_row rows[PART_PAGE], anchor = {0};
    int64_t result = 0;
    for (bool first = true; !g.stop; first = false) {
        int n = query_partitions(st, &sel, first ? NULL : &anchor, 1, PART_PAGE, rows, err, errlen);
        if (n < 0) {
            result = -1;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (!g.stop && (rows[i].attempts_total > 0 || rows[i].errors > 0))
                grep_partition(&g, &rows[i]);
            anchor.idx = rows[i].idx;
            query_part_row_release(&rows[i]);
        }
        if (n < PART_PAGE)
            break;
    }
    regfree(&g.re);
    buf_release(&g.text);
    return result < 0 ? -1 : g.found;
}
