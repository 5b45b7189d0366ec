/*
 * values.c - the value parsers the spec and the planner share: templates
 * ({name} placeholders), dates and date steps.
 *
 * Invariant: a literal value is checked at load time (spec-check.c) by
 * exactly the code that parses it at plan time (plan.c), so a spec that
 * loads never fails on a literal later. Pure: no I/O, no globals; fuzzed by
 * tests/fuzz/fuzz-values.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nightshift/plan.h"
#include "spec-internal.h"
/* ---- templates ---------------------------------------------------------- */

int tmpl_is_name(const char *name, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

int tmpl_expand_with(const char *text, tmpl_lookup_fn lookup, void *ctx, struct ns_buf *out,
                     char *err, size_t errlen)
{
    const char *p = text;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            if (out)
                buf_addc(out, '{');
            p += 2;
        } else if (p[0] == '}' && p[1] == '}') {
            if (out)
                buf_addc(out, '}');
            p += 2;
        } else if (p[0] == '}') {
            ns_errf(err, errlen, "unbalanced \"}\" (write }} for a literal brace)");
            return -1;
        } else if (p[0] == '{') {
            const char *close = strchr(p + 1, '}');
            const char *open = strchr(p + 1, '{');
            if (!close || (open && open < close)) {
                ns_errf(err, errlen, "unbalanced \"{\" (write {{ for a literal brace)");
                return -1;
            }
            size_t len = (size_t)(close - p - 1);
            if (!tmpl_is_name(p + 1, len)) {
                ns_errf(err, errlen,
                        "bad placeholder \"%.*s\" (a placeholder is {name}; write {{ and }} for "
                        "literal braces)",
                        (int)(len > 40 ? 40 : len) + 2, p);
                return -1;
            }
            const char *v = lookup(ctx, p + 1, len);
            if (!v) {
                ns_errf(err, errlen, "unknown placeholder {%.*s}", (int)len, p + 1);
                return -1;
            }
            if (out)
                buf_adds(out, v);
            p = close + 1;
        } else {
            size_t n = strcspn(p, "{}");
            if (out)
                buf_add(out, p, n);
            p += n;
        }
    }
    return 0;
}

struct kv_ctx {
    const struct ns_kv *kv;
    size_t len;
};

static const char *kv_lookup(void *ctx, const char *name, size_t len)
{
    const struct kv_ctx *c = ctx;
    for (size_t i = 0; i < c->len; i++)
        if (strlen(c->kv[i].name) == len && memcmp(c->kv[i].name, name, len) == 0)
            return c->kv[i].value ? c->kv[i].value : "";
    return NULL;
}

int tmpl_expand(const char *text, const struct ns_kv *params, size_t params_len, struct ns_buf *out,
                char *err, size_t errlen)
{
    struct kv_ctx c = {params, params_len};
    return tmpl_expand_with(text, kv_lookup, &c, out, err, errlen);
}

const char *kv_get(const struct ns_kv *kv, size_t len, const char *name)
{
    for (size_t i = 0; i < len; i++)
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

/* ---- values ------------------------------------------------------------- */

int plan_parse_date(const char *s, time_t *out)
{
    int y, m, d, n = 0;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
        s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    struct tm back;
    /* timegm normalises 2026-02-30 to March: reject what does not round-trip. */
    if (!gmtime_r(&t, &back) || back.tm_year != y - 1900 || back.tm_mon != m - 1 ||
        back.tm_mday != d)
        return -1;
    *out = t;
    return 0;
}

int plan_parse_step(const char *s, int64_t *days_out)
{
    int64_t ms;
    if (ns_parse_duration(s, &ms) < 0 || ms <= 0 || ms % 86400000 != 0)
        return -1;
    *days_out = ms / 86400000;
    return 0;
}
