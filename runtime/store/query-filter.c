/*
 * query-filter.c - the console's partition filters and searches
 * (`state:failed key~2026-11 attempts>2 err~ECONNRESET`): parsed from what
 * an operator types into terms, and each term turned into SQL here, where
 * the store's SQL lives. One parser and one translation: the filter (rows
 * kept), the search (rows highlighted) and the count of matches cannot
 * disagree, because all three are the same WHERE.
 *
 * Values are always bound parameters, never pasted into the SQL.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-internal.h"
#include "nightshift/query.h"
#include "nightshift/util.h"
#include "query-internal.h"

static const struct {
    const char *name;
    enum ns_part_field field;
    bool numeric;
    const char *sql; /* the column (numeric) or text the term looks at */
} fields[] = {
    {"state", NS_PFIELD_STATE, false, "state"},
    {"key", NS_PFIELD_KEY, false, "key"},
    {"err", NS_PFIELD_ERR, false, NULL},
    {"msg", NS_PFIELD_ERR, false, NULL},
    {"attempts", NS_PFIELD_ATTEMPTS, true, "attempts_total"},
    {"att", NS_PFIELD_ATTEMPTS, true, "attempts_total"},
    {"errors", NS_PFIELD_ERRORS, true, "error_records"},
    {"idx", NS_PFIELD_IDX, true, "idx"},
    {"progress", NS_PFIELD_PROGRESS, true,
     "100.0 * coalesce(CAST(progress AS REAL) / nullif(total, 0), 0.0)"},
};

static int field_of(const char *name, size_t len)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(fields); i++)
        if (strlen(fields[i].name) == len && memcmp(fields[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int field_entry(enum ns_part_field f)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(fields); i++)
        if (fields[i].field == f)
            return (int)i;
    return -1;
}

/* The operator at p (longest first); its length in *len, -1 if none. */
static int op_at(const char *p, size_t *len)
{
    static const struct {
        const char *s;
        enum ns_part_op op;
    } ops[] = {{">=", NS_POP_GE}, {"<=", NS_POP_LE}, {"!=", NS_POP_NE}, {":", NS_POP_EQ},
               {"=", NS_POP_EQ},  {"~", NS_POP_HAS}, {">", NS_POP_GT},  {"<", NS_POP_LT}};
    for (size_t i = 0; i < NS_ARRAY_LEN(ops); i++) {
        size_t l = strlen(ops[i].s);
        if (strncmp(p, ops[i].s, l) == 0) {
            *len = l;
            return (int)ops[i].op;
        }
    }
    return -1;
}

/* Reads a value at *pp (a "quoted" one may hold spaces) into out. */
static int read_value(const char **pp, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *p = *pp;
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (n + 1 >= outlen) {
                ns_errf(err, errlen, "a value is longer than %zu bytes", outlen - 1);
                return -1;
            }
            out[n++] = *p++;
        }
        if (*p != '"') {
            ns_errf(err, errlen, "a quote is not closed");
            return -1;
        }
        p++;
    } else {
        while (*p && !isspace((unsigned char)*p)) {
            if (n + 1 >= outlen) {
                ns_errf(err, errlen, "a value is longer than %zu bytes", outlen - 1);
                return -1;
            }
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    *pp = p;
    return 0;
}

/* Checks a qualifier's operator and value against its field. */
static int check_term(struct ns_part_term *t, int fe, char *err, size_t errlen)
{
    const char *name = fields[fe].name;
    if (fields[fe].numeric) {
        if (t->op == NS_POP_HAS) {
            ns_errf(err, errlen, "%s takes a number: %s>2, %s:3, %s<=1", name, name, name, name);
            return -1;
        }
        char *end;
        size_t len = strlen(t->text);
        if (t->field == NS_PFIELD_PROGRESS && len > 0 && t->text[len - 1] == '%')
            t->text[len - 1] = '\0';
        t->num = strtod(t->text, &end);
        if (!t->text[0] || *end) {
            ns_errf(err, errlen, "%s: \"%s\" is not a number", name, t->text);
            return -1;
        }
        return 0;
    }
    if (t->op == NS_POP_GT || t->op == NS_POP_LT || t->op == NS_POP_GE || t->op == NS_POP_LE) {
        ns_errf(err, errlen, "%s takes : = != or ~ (contains)", name);
        return -1;
    }
    if (!t->text[0]) {
        ns_errf(err, errlen, "%s: a value is missing", name);
        return -1;
    }
    if (t->field == NS_PFIELD_STATE && t->op != NS_POP_HAS && query_part_state_of(t->text) < 0) {
        ns_errf(err, errlen,
                "state: unknown state \"%s\" (pending, running, retry_wait, paused, succeeded, "
                "failed, skipped)",
                t->text);
        return -1;
    }
    if (t->field == NS_PFIELD_ERR && t->op == NS_POP_EQ)
        t->op = NS_POP_HAS; /* err:X reads as "the error says X" */
    return 0;
}

int query_part_expr_parse(const char *text, struct ns_part_expr *e, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    const char *p = text ? text : "";
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            return 0;
        if (e->n == NS_PART_EXPR_MAX) {
            ns_errf(err, errlen, "at most %d terms", NS_PART_EXPR_MAX);
            return -1;
        }
        struct ns_part_term *t = &e->t[e->n];
        memset(t, 0, sizeof *t);
        if (*p == '-' || *p == '!') {
            t->neg = true;
            p++;
        }
        const char *w = p;
        while (isalpha((unsigned char)*p) || *p == '_')
            p++;
        size_t oplen = 0;
        int op = p > w ? op_at(p, &oplen) : -1;
        if (op >= 0) {
            int fe = field_of(w, (size_t)(p - w));
            if (fe < 0) {
                ns_errf(err, errlen,
                        "unknown field \"%.*s\" (state, key, err, attempts, errors, idx, progress)",
                        (int)(p - w), w);
                return -1;
            }
            t->field = fields[fe].field;
            t->op = (enum ns_part_op)op;
            p += oplen;
            if (read_value(&p, t->text, sizeof t->text, err, errlen) != 0 ||
                check_term(t, fe, err, errlen) != 0)
                return -1;
        } else {
            p = w;
            t->field = NS_PFIELD_ANY;
            t->op = NS_POP_HAS;
            if (read_value(&p, t->text, sizeof t->text, err, errlen) != 0)
                return -1;
            if (!t->text[0])
                continue; /* a lone "-" */
        }
        e->n++;
    }
}

/* SQL of one text comparison of column sql with ?param. */
static void text_sql(struct ns_buf *b, const char *col, enum ns_part_op op, int param)
{
    if (op == NS_POP_HAS)
        buf_addf(b, "instr(lower(%s), lower(?%d)) > 0", col, param);
    else
        buf_addf(b, "lower(%s) %s lower(?%d)", col, op == NS_POP_NE ? "<>" : "=", param);
}

void query_part_expr_sql(struct ns_buf *b, const struct ns_part_expr *e, int base)
{
    static const char *const cmp[] = {[NS_POP_EQ] = "=", [NS_POP_NE] = "<>", [NS_POP_HAS] = "=",
                                      [NS_POP_GT] = ">", [NS_POP_LT] = "<",  [NS_POP_GE] = ">=",
                                      [NS_POP_LE] = "<="};
    buf_adds(b, "(1");
    for (int i = 0; e && i < e->n; i++) {
        const struct ns_part_term *t = &e->t[i];
        int param = base + i;
        buf_adds(b, t->neg ? " AND NOT (" : " AND (");
        switch (t->field) {
        case NS_PFIELD_ANY:
            text_sql(b, "key", NS_POP_HAS, param);
            buf_adds(b, " OR ");
            text_sql(b, "coalesce(last_message, '')", NS_POP_HAS, param);
            break;
        case NS_PFIELD_ERR:
            if (t->op == NS_POP_NE)
                buf_adds(b, "NOT ");
            buf_adds(b, "(");
            text_sql(b, "coalesce(last_message, '')", NS_POP_HAS, param);
            buf_adds(b, " OR ");
            text_sql(b, "coalesce(last_signature, '')", NS_POP_HAS, param);
            buf_adds(b, ")");
            break;
        case NS_PFIELD_STATE:
            if (t->op == NS_POP_HAS)
                text_sql(b, "state", t->op, param);
            else /* exact: rides on partitions_state */
                buf_addf(b, "state %s ?%d", t->op == NS_POP_NE ? "<>" : "=", param);
            break;
        case NS_PFIELD_KEY:
            text_sql(b, "key", t->op, param);
            break;
        default:
            buf_addf(b, "%s %s ?%d", fields[field_entry(t->field)].sql, cmp[t->op], param);
            break;
        }
        buf_adds(b, ")");
    }
    buf_adds(b, ")");
}

void query_part_expr_bind(sqlite3_stmt *s, const struct ns_part_expr *e, int base)
{
    for (int i = 0; e && i < e->n; i++) {
        const struct ns_part_term *t = &e->t[i];
        int fe = field_entry(t->field);
        if (fe >= 0 && fields[fe].numeric)
            sqlite3_bind_double(s, base + i, t->num);
        else
            sqlite3_bind_text(s, base + i, t->text, -1, SQLITE_TRANSIENT);
    }
}
