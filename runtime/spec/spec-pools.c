/*
 * spec-pools.c - the spec's `pools:` (what a spec declares: a pool's
 * default size and start rate) and `uses:` (what each live attempt of the
 * run holds), and the check that every pool used is declared.
 *
 * A pool is shared by every run of one database (store/pools.c keeps its
 * rows); the spec only says the size it has before an operator sets it.
 * Declaring the pools a spec uses in the spec itself keeps a spec
 * self-describing: a typo in `uses:` is an error at load time, with the
 * key's line and column, never a pool nobody else knows.
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/spec.h"
#include "spec-internal.h"

#define POOL_MAX_SLOTS 100000
#define POOL_MAX_WEIGHT 1000

bool spec_pool_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._-", *p)))
            return false;
    return true;
}

/* A whole number in [min, max] from a scalar node; -1 (diag added) if not. */
static int whole_number(struct spec_loader *L, const struct node *n, const char *path, int min,
                        int max)
{
    int64_t v;
    if (n->type != N_SCALAR || n->null || ns_parse_int64(n->text, &v) != 0) {
        diags_add(L->diags, n->line, n->col, "%s: expected a whole number from %d to %d, got %s",
                  path, min, max, n->type == N_SCALAR && !n->null ? Q(n->text) : "no number");
        return -1;
    }
    if (v < min || v > max) {
        diags_add(L->diags, n->line, n->col, "%s: must be from %d to %d, got %lld", path, min, max,
                  (long long)v);
        return -1;
    }
    return (int)v;
}

/* Checks the key of a pools: or uses: entry; false (diag added) if bad. */
static bool pool_key_ok(struct spec_loader *L, const struct node *key, const char *path,
                        size_t count)
{
    if (key->ignored)
        return false;
    if (!spec_pool_name_ok(key->text)) {
        diags_add(L->diags, key->line, key->col,
                  "%s: %s is not a pool name (letters, digits, \".\", \"_\" and \"-\", 1 to 64)",
                  path, Q(key->text));
        return false;
    }
    if (count >= NS_SPEC_MAX_POOLS) {
        diags_add(L->diags, key->line, key->col, "%s: at most %d pools", path, NS_SPEC_MAX_POOLS);
        return false;
    }
    return true;
}

/* One pools: entry's value: {slots: N, rate: "N/s"} or just N. */
static bool read_pool(struct spec_loader *L, const struct node *val, const char *path,
                      struct ns_pool_decl *d)
{
    if (val->type == N_SCALAR)
        return (d->slots = whole_number(L, val, path, 1, POOL_MAX_SLOTS)) > 0;
    if (val->type != N_MAP) {
        diags_add(L->diags, val->line, val->col, "%s: expected {slots: N} or {slots: N, rate: R}",
                  path);
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i + 1 < val->len; i += 2) {
        const struct node *k = val->kids[i], *v = val->kids[i + 1];
        if (k->ignored)
            continue;
        char *p = ns_xasprintf("%s.%s", path, k->text);
        if (strcmp(k->text, "slots") == 0) {
            d->slots = whole_number(L, v, p, 1, POOL_MAX_SLOTS);
            ok &= d->slots > 0;
        } else if (strcmp(k->text, "rate") == 0) {
            if (v->type != N_SCALAR || v->null ||
                ns_parse_rate(v->text, &d->rate_n, &d->rate_per_s) != 0) {
                diags_add(L->diags, v->line, v->col,
                          "%s: expected a start rate like 10/s, 60/min or 500/h, got %s", p,
                          v->type == N_SCALAR && !v->null ? Q(v->text) : "no rate");
                ok = false;
            }
        } else {
            diags_add(L->diags, k->line, k->col, "%s: unknown key %s (slots or rate)", path,
                      Q(k->text));
            ok = false;
        }
        free(p);
    }
    if (ok && d->slots <= 0) {
        diags_add(L->diags, val->line, val->col, "%s.slots: required", path);
        ok = false;
    }
    return ok;
}

void spec_conv_pools(struct spec_loader *L, const struct node *n, const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        diags_add(L->diags, n->line, n->col,
                  "%s: expected a mapping of pool names to {slots: N}, e.g. {warehouse: {slots: "
                  "4}}",
                  path);
        return;
    }
    s->pools = ns_xcalloc(n->len / 2 + 1, sizeof *s->pools);
    for (size_t i = 0; i + 1 < n->len; i += 2) {
        const struct node *key = n->kids[i], *val = n->kids[i + 1];
        if (!pool_key_ok(L, key, path, s->pools_len))
            continue;
        char *p = ns_xasprintf("%s.%s", path, key->text);
        struct ns_pool_decl d = {.line = key->line, .col = key->col};
        if (read_pool(L, val, p, &d)) {
            d.name = ns_xstrdup(key->text);
            s->pools[s->pools_len++] = d;
        }
        free(p);
    }
}

void spec_conv_uses(struct spec_loader *L, const struct node *n, const char *path)
{
    struct ns_spec *s = L->spec;
    if (n->type != N_MAP) {
        diags_add(L->diags, n->line, n->col,
                  "%s: expected a mapping of pool names to slots held, e.g. {warehouse: 1}", path);
        return;
    }
    s->uses = ns_xcalloc(n->len / 2 + 1, sizeof *s->uses);
    for (size_t i = 0; i + 1 < n->len; i += 2) {
        const struct node *key = n->kids[i], *val = n->kids[i + 1];
        if (!pool_key_ok(L, key, path, s->uses_len))
            continue;
        char *p = ns_xasprintf("%s.%s", path, key->text);
        int w = whole_number(L, val, p, 1, POOL_MAX_WEIGHT);
        free(p);
        if (w > 0)
            s->uses[s->uses_len++] =
                (struct ns_pool_use){ns_xstrdup(key->text), w, key->line, key->col};
    }
}

void spec_check_pools(struct spec_loader *L)
{
    const struct ns_spec *s = L->spec;
    for (size_t i = 0; i < s->uses_len; i++) {
        const struct ns_pool_use *u = &s->uses[i];
        const struct ns_pool_decl *d = NULL;
        for (size_t j = 0; j < s->pools_len && !d; j++)
            if (strcmp(s->pools[j].name, u->pool) == 0)
                d = &s->pools[j];
        if (!d) {
            diags_add(L->diags, u->line, u->col,
                      "uses.%s: pool \"%s\" is not declared; declare it with its size: pools: "
                      "{%s: {slots: N}}",
                      u->pool, u->pool, u->pool);
        } else if (u->weight > d->slots) {
            diags_add(L->diags, u->line, u->col,
                      "uses.%s: each attempt would hold %d slots of a pool of %d: none could "
                      "ever start",
                      u->pool, u->weight, d->slots);
        }
    }
}

void spec_pools_release(struct ns_spec *s)
{
    for (size_t i = 0; i < s->pools_len; i++)
        free(s->pools[i].name);
    free(s->pools);
    for (size_t i = 0; i < s->uses_len; i++)
        free(s->uses[i].pool);
    free(s->uses);
}

void spec_pools_canonical(const struct ns_spec *s, struct ns_buf *b)
{
    /* Nothing when there are none: the hash of a spec without pools is the
     * one it had before pools existed. */
    for (size_t i = 0; i < s->pools_len; i++) {
        buf_addf(b, "pools.%s: slots=%d", s->pools[i].name, s->pools[i].slots);
        if (s->pools[i].rate_n) {
            char r[32];
            buf_addf(b, " rate=%s",
                     ns_format_rate(s->pools[i].rate_n, s->pools[i].rate_per_s, r, sizeof r));
        }
        buf_addc(b, '\n');
    }
    for (size_t i = 0; i < s->uses_len; i++)
        buf_addf(b, "uses.%s: %d\n", s->uses[i].pool, s->uses[i].weight);
    if (s->priority != 0) /* only when given, as the rest */
        buf_addf(b, "priority: %d\n", s->priority);
    if (s->window.start)
        buf_addf(b, "window: start=%s end=%s on_close=%s tz=%s\n", s->window.start,
                 s->window.end ? s->window.end : "?", s->window.on_close,
                 s->window.tz ? s->window.tz : "local");
}

void spec_check_window(struct spec_loader *L, const struct node *root)
{
    const struct ns_window *w = &L->spec->window;
    if (w->start && w->end && strcmp(w->start, w->end) == 0)
        diags_add(L->diags, root->line, root->col,
                  "window: start and end are both %s: leave window out for a run that may "
                  "always start",
                  w->start);
    if (w->tz) {
        bool ok = *w->tz && strlen(w->tz) < 64 && w->tz[0] != '/' && !strstr(w->tz, "..");
        for (const char *p = w->tz; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                 strchr("/_+-", *p);
        if (!ok)
            diags_add(L->diags, root->line, root->col,
                      "window.tz: %s is not a time zone name (like UTC or Europe/Paris)", Q(w->tz));
    }
}
