/*
 * view-errors.c - the error-records browser of a run or a partition.
 *
 * Three modes (Tab): the records themselves, keyset-paginated by id over
 * error_records_run / error_records_partition / error_records_signature
 * (End is "ORDER BY id DESC LIMIT n", instant over millions); the records
 * grouped by signature with counts, top causes first; the failed partitions
 * grouped by their last signature, where r / R / x act on a whole group.
 * Enter on a record shows it in full (escaped text and hex); w exports the
 * current selection (JSONL, or CSV when the path ends in .csv).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nightshift/escape.h"
#include "nightshift/export.h"
#include "nightshift/query.h"
#include "tui-internal.h"

enum { M_RECORDS, M_GROUPS, M_FAILURES, M_N };
static const char *const mode_names[M_N] = {"records", "grouped by signature",
                                            "failed partitions by signature"};

#define MAX_GROUPS 1000

struct err_row {
    int64_t id, idx;
    char *key, *message;
    double at;
};

struct group_row {
    int pos;
    char *signature; /* raw (for queries and commands) */
    char *shown;     /* escaped */
    int64_t count, first_idx;
    int64_t waiting; /* failures view: of count, partitions in retry_wait */
};

struct errors_view {
    struct tui_view base;
    struct tui *t;
    int64_t idx;     /* partition, or -1 for the whole run */
    char *signature; /* records of one signature only (raw) */
    int mode;
    char search[128];
    struct tui_list list;  /* records */
    struct tui_list glist; /* groups (from the array below) */
    struct group_row *groups;
    int n_groups;
    int64_t total; /* error records in scope (from counters where possible) */
    /* A whole run's groups are the runtime's running counts (cheap); a
     * partition's, or a text filter's, group the records themselves:
     * regroup only when the run's counters moved, at most every few
     * seconds, or when the operator changed what is shown. */
    bool regroup;
    int64_t groups_key;
    double groups_at;
};

static void err_row_release(void *p)
{
    struct err_row *r = p;
    free(r->key);
    free(r->message);
}

static bool err_row_same(const void *a, const void *b)
{
    return ((const struct err_row *)a)->id == ((const struct err_row *)b)->id;
}

static struct ns_error_select selection(const struct errors_view *v)
{
    struct ns_error_select sel = {
        .run_id = v->base.run_id, .idx = v->idx, .signature = v->signature, .text = v->search};
    return sel;
}

static int errs_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct errors_view *v = ctx;
    const struct err_row *a = anchor;
    struct ns_error_select sel = selection(v);
    struct ns_error_row *rows = ns_xcalloc((size_t)(limit > 0 ? limit : 1), sizeof *rows);
    struct ns_error_row at = {.id = a ? a->id : 0};
    char err[256];
    int n = query_errors(&v->t->st, &sel, a ? &at : NULL, dir, limit, false, rows, err, sizeof err);
    struct err_row *o = out;
    for (int i = 0; i < n; i++) {
        o[i].id = rows[i].id;
        o[i].idx = rows[i].idx;
        o[i].key = tui_esc(v->t, rows[i].key, rows[i].key_len);
        o[i].message = tui_esc(v->t, rows[i].message, rows[i].message_len);
        o[i].at = rows[i].at;
        query_error_row_release(&rows[i]);
    }
    free(rows);
    if (n < 0)
        tui_status(v->t, term_attr(TUI_C_BAD), "%s", err);
    return n < 0 ? 0 : n;
}

static const struct tui_list_ops errs_list_ops = {
    sizeof(struct err_row),
    err_row_release,
    errs_fetch,
    err_row_same,
};

/* Groups live in a bounded array; the list pages over array positions. */
static int groups_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct errors_view *v = ctx;
    const struct group_row *a = anchor;
    int from, to;
    if (dir > 0) {
        from = a ? a->pos + 1 : 0;
        to = from + limit;
    } else if (dir < 0) {
        to = a ? a->pos : v->n_groups;
        from = to - limit;
    } else {
        from = a->pos;
        to = from + limit;
    }
    if (from < 0)
        from = 0;
    if (to > v->n_groups)
        to = v->n_groups;
    struct group_row *rows = out;
    int n = 0;
    for (int i = from; i < to; i++)
        rows[n++] = v->groups[i]; /* shallow: the array owns the strings */
    return n;
}

static bool group_same(const void *a, const void *b)
{
    const struct group_row *x = a, *y = b;
    return x->signature && y->signature && strcmp(x->signature, y->signature) == 0;
}

static const struct tui_list_ops groups_list_ops = {
    sizeof(struct group_row),
    NULL,
    groups_fetch,
    group_same,
};

static void free_groups(struct errors_view *v)
{
    for (int i = 0; i < v->n_groups; i++) {
        free(v->groups[i].signature);
        free(v->groups[i].shown);
    }
    free(v->groups);
    v->groups = NULL;
    v->n_groups = 0;
}

static void load_groups(struct errors_view *v)
{
    /* The list's window holds shallow copies: drop it before the array. */
    struct group_row keep = {0};
    struct group_row *cur = list_current(&v->glist);
    if (cur && cur->signature)
        keep.signature = ns_xstrdup(cur->signature);
    free(v->glist.rows);
    v->glist.rows = NULL;
    v->glist.n = 0;
    free_groups(v);
    v->groups = ns_xcalloc(MAX_GROUPS, sizeof *v->groups);
    char err[256] = "";
    if (v->mode == M_GROUPS) {
        struct ns_error_select sel = selection(v);
        struct ns_error_group *eg;
        int n = query_error_groups(&v->t->st, &sel, MAX_GROUPS, &eg, err, sizeof err);
        for (int i = 0; i < n; i++) {
            struct group_row *g = &v->groups[v->n_groups];
            g->pos = v->n_groups++;
            g->signature = ns_xstrdup(eg[i].signature);
            g->shown = tui_esc(v->t, g->signature, strlen(g->signature));
            g->count = eg[i].records;
            g->first_idx = eg[i].first_idx;
        }
        if (n > 0)
            query_error_groups_release(eg, n);
    } else {
        /* The failure groups of status and retry|skip --signature. */
        struct ns_failure_groups fg;
        if (query_failure_groups(&v->t->st, v->base.run_id, MAX_GROUPS, &fg, err, sizeof err) ==
            0) {
            for (size_t i = 0; i < fg.n; i++) {
                struct group_row *g = &v->groups[v->n_groups];
                g->pos = v->n_groups++;
                g->signature = fg.g[i].signature ? ns_xstrdup(fg.g[i].signature) : NULL;
                g->shown = g->signature ? tui_esc(v->t, g->signature, strlen(g->signature))
                                        : ns_xstrdup("(no signature)");
                g->count = fg.g[i].count;
                g->waiting = fg.g[i].retry_wait;
                g->first_idx = fg.g[i].first_idx;
            }
            query_failure_groups_release(&fg);
        }
    }
    if (err[0])
        tui_status(v->t, term_attr(TUI_C_BAD), "%s", err);
    list_reset(&v->glist);
    if (keep.signature) {
        for (int i = 0; i < v->n_groups; i++)
            if (v->groups[i].signature && strcmp(v->groups[i].signature, keep.signature) == 0) {
                while (list_current(&v->glist) &&
                       ((struct group_row *)list_current(&v->glist))->pos < i &&
                       list_navigate(&v->glist, TUI_CMD_DOWN) &&
                       ((struct group_row *)list_current(&v->glist))->pos != i)
                    ;
                break;
            }
        free(keep.signature);
    }
}

static void load_total(struct errors_view *v)
{
    struct ns_error_select sel = selection(v);
    v->total = query_error_count(&v->t->st, &sel);
}

/* A number that changes when the groups may have changed. */
static int64_t groups_key(struct errors_view *v)
{
    return query_groups_version(&v->t->st, v->base.run_id);
}

static void errors_load(struct tui_view *vv, struct tui *t)
{
    struct errors_view *v = (struct errors_view *)vv;
    load_total(v);
    if (v->mode == M_RECORDS) {
        list_reload(&v->list);
        return;
    }
    int64_t k = groups_key(v);
    double now = ns_monotonic();
    if (v->regroup || (k != v->groups_key && now - v->groups_at >= 3)) {
        load_groups(v);
        v->groups_key = k;
        v->groups_at = now;
        v->regroup = false;
    }
    (void)t;
}

static void errors_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct errors_view *v = (struct errors_view *)vv;
    char a[48];
    int x = term_putf(y, 0, w, A_BOLD, "[%s] ", mode_names[v->mode]);
    if (v->total >= 0)
        x += term_putf(y, x, w - x, A_NORMAL, "%lld error records  ", (long long)v->total);
    if (v->signature) {
        x += term_put(y, x, w - x, A_NORMAL, "signature: ");
        char *safe = tui_esc(t, v->signature, strlen(v->signature));
        x += term_put(y, x, w - x > 40 ? 40 : w - x, term_attr(TUI_C_BAD), safe);
        free(safe);
        x += term_put(y, x, w - x, A_NORMAL, "  ");
    }
    if (v->search[0]) {
        x += term_put(y, x, w - x, A_NORMAL, "/");
        char *safe = tui_esc(t, v->search, strlen(v->search));
        x += term_put(y, x, w - x, A_BOLD, safe);
        free(safe);
        x += term_put(y, x, w - x, A_NORMAL, "  ");
    }
    term_put(y, x, w - x, A_DIM, "Tab:mode Enter:open w:export /:filter");
    int rows = h - 2;
    if (rows < 1)
        rows = 1;
    if (v->mode == M_RECORDS) {
        term_fill(y + 1, 0, w, A_BOLD | A_UNDERLINE);
        term_putf(y + 1, 0, w, A_BOLD | A_UNDERLINE, "%8s %6s  %-8s  %-20s %s", "ID", "PART",
                  "TIME", "KEY", "MESSAGE");
        if (rows != v->list.height)
            list_set_height(&v->list, rows);
        for (int i = 0; i < v->list.n; i++) {
            struct err_row *r = list_row(&v->list, i);
            int yy = y + 2 + i;
            attr_t base = i == v->list.cur ? A_REVERSE : A_NORMAL;
            if (i == v->list.cur)
                term_fill(yy, 0, w, base);
            x = term_putf(yy, 0, w, base, "%8lld %6lld  %-8s  ", (long long)r->id,
                          (long long)r->idx, tui_fmt_clock(r->at, a, sizeof a));
            term_put(yy, x, 20, base, r->key);
            x += 21;
            if (x < w)
                term_put(yy, x, w - x, base, r->message);
        }
        if (v->list.n == 0)
            term_put(y + 3, 2, w - 2, A_DIM, "no error records here");
    } else {
        term_fill(y + 1, 0, w, A_BOLD | A_UNDERLINE);
        term_put(y + 1, 0, w, A_BOLD | A_UNDERLINE,
                 v->mode == M_GROUPS ? "   COUNT  FIRST  SIGNATURE"
                                     : "   PARTS  FIRST  SIGNATURE (failed + waiting to retry; r "
                                       "retry, R from scratch, x skip the group)");
        if (rows != v->glist.height)
            list_set_height(&v->glist, rows);
        for (int i = 0; i < v->glist.n; i++) {
            struct group_row *g = list_row(&v->glist, i);
            int yy = y + 2 + i;
            attr_t base = i == v->glist.cur ? A_REVERSE : A_NORMAL;
            if (i == v->glist.cur)
                term_fill(yy, 0, w, base);
            x = term_putf(yy, 0, w, base | A_BOLD, "%8lld %6lld  ", (long long)g->count,
                          (long long)g->first_idx);
            if (v->mode == M_FAILURES && g->waiting)
                x += term_putf(yy, x, w - x, base, "(%lld waiting) ", (long long)g->waiting);
            term_put(yy, x, w - x, base, g->shown);
        }
        if (v->glist.n == 0)
            term_put(y + 3, 2, w - 2, A_DIM,
                     v->mode == M_GROUPS ? "no error records here" : "no failed partition");
    }
}

/* ---- full record ---- */

static struct tui_view *record_view(struct errors_view *v, int64_t id)
{
    struct tui *t = v->t;
    struct ns_error_row r;
    char err[256] = "";
    struct ns_buf b = NS_BUF_INIT;
    char title[64];
    snprintf(title, sizeof title, "error record %lld", (long long)id);
    int found = query_error(&t->st, v->base.run_id, id, &r, err, sizeof err);
    if (found == 1) {
        char when[32];
        buf_addf(&b, "record     %lld\npartition  %lld\nattempt    %lld\nat         %s\n",
                 (long long)r.id, (long long)r.idx, (long long)r.attempt_id,
                 tui_fmt_clock(r.at, when, sizeof when));
        const char *names[] = {"key        ", "message    ", "signature  "};
        const char *txt[] = {r.key, r.message, r.signature};
        size_t len[] = {r.key_len, r.message_len, strlen(r.signature)};
        for (int i = 0; i < 3; i++) {
            char *e = tui_esc(t, txt[i], len[i]);
            buf_addf(&b, "%s%s\n", names[i], e);
            free(e);
        }
        if (!r.payload) {
            buf_adds(&b, "\nno payload\n");
        } else {
            size_t n = r.payload_len > 1048576 ? 1048576 : r.payload_len;
            buf_addf(&b, "\npayload, %zu bytes%s, as escaped text:\n", r.payload_len,
                     n < r.payload_len ? " (first 1 MiB shown)" : "");
            escape_for_terminal(r.payload, n, t->esc_flags | NS_ESC_NEWLINES, &b);
            buf_adds(&b, "\n\npayload as hex:\n");
            escape_hexdump(r.payload, n, &b);
        }
    } else if (found == 0) {
        buf_adds(&b, "this record is gone\n");
    } else {
        escape_for_terminal(err, strlen(err), t->esc_flags, &b);
        buf_addc(&b, '\n');
    }
    query_error_row_release(&r);
    return view_text_new(t, title, buf_detach(&b), NULL);
}

/* ---- export ---- */

/* Every record of the current selection, by the one export writer the
 * CLI's `errors` uses (same columns, LF line ends). */
static int export_records(struct errors_view *v, const char *path, char *err, size_t errlen,
                          int64_t *count)
{
    struct ns_error_select sel = {
        .run_id = v->base.run_id, .idx = v->idx, .signature = v->signature, .text = v->search};
    return export_errors_to_file(&v->t->st, &sel, export_format_for_path(path), path, count, err,
                                 errlen);
}

static void do_export(struct errors_view *v)
{
    struct tui *t = v->t;
    char *old_sig = v->signature;
    bool group = false;
    if (v->mode != M_RECORDS) {
        struct group_row *g = list_current(&v->glist);
        if (v->mode == M_FAILURES || !g || !g->signature) {
            tui_status(t, term_attr(TUI_C_WAIT),
                       "export works on records or on a signature group of records");
            return;
        }
        v->signature = g->signature; /* export that group's records */
        group = true;
    }
    char path[512];
    snprintf(path, sizeof path, "errors-run%lld%s.jsonl", (long long)v->base.run_id,
             group ? "-group" : "");
    if (tui_prompt(t, "export to (.csv CSV, .txt text, else JSONL): ", path, sizeof path) &&
        path[0]) {
        char err[600];
        int64_t n = 0;
        if (export_records(v, path, err, sizeof err, &n) == 0) {
            char *safe = tui_esc(t, path, strlen(path));
            tui_status(t, term_attr(TUI_C_OK), "exported %lld records to %s", (long long)n, safe);
            free(safe);
        } else {
            char *safe = tui_esc(t, err, strlen(err));
            tui_status(t, term_attr(TUI_C_BAD), "export failed: %s", safe);
            free(safe);
        }
    } else {
        tui_status(t, A_NORMAL, "cancelled");
    }
    if (group)
        v->signature = old_sig;
}

static enum tui_result errors_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct errors_view *v = (struct errors_view *)vv;
    (void)ch;
    struct tui_list *l = v->mode == M_RECORDS ? &v->list : &v->glist;
    if (list_navigate(l, cmd))
        return TUI_REDRAW;
    switch (cmd) {
    case TUI_CMD_BACK:
        return TUI_POP;
    case TUI_CMD_GROUP:
        v->mode = (v->mode + 1) % M_N;
        v->regroup = true;
        if (v->mode == M_RECORDS)
            list_reset(&v->list);
        return TUI_RELOAD;
    case TUI_CMD_FAILURES:
        v->mode = M_FAILURES;
        v->regroup = true;
        return TUI_RELOAD;
    case TUI_CMD_ERRORS:
        v->mode = M_RECORDS;
        list_reset(&v->list);
        return TUI_RELOAD;
    case TUI_CMD_SEARCH:
        tui_prompt(t, "filter error records (message or key): ", v->search, sizeof v->search);
        list_reset(&v->list);
        v->regroup = true;
        return TUI_RELOAD;
    case TUI_CMD_EXPORT:
        do_export(v);
        return TUI_REDRAW;
    case TUI_CMD_OPEN:
        if (v->mode == M_RECORDS) {
            struct err_row *r = list_current(&v->list);
            if (!r)
                return TUI_OK;
            t->pushed = record_view(v, r->id);
            return TUI_PUSH;
        } else {
            struct group_row *g = list_current(&v->glist);
            if (!g)
                return TUI_OK;
            if (v->mode == M_FAILURES) {
                if (!g->signature) {
                    t->pushed = view_run_new(t, vv->run_id);
                    return TUI_PUSH;
                }
                t->pushed = view_run_new_signature(t, vv->run_id, g->signature);
                return TUI_PUSH;
            }
            struct tui_view *nv = view_errors_new(t, vv->run_id, v->idx, false);
            struct errors_view *e = (struct errors_view *)nv;
            e->signature = g->signature ? ns_xstrdup(g->signature) : NULL;
            snprintf(e->search, sizeof e->search, "%s", v->search);
            t->pushed = nv;
            return TUI_PUSH;
        }
    case TUI_CMD_RETRY:
    case TUI_CMD_RETRY_SCRATCH:
    case TUI_CMD_KILL:
    case TUI_CMD_SKIP:
        if (v->mode == M_RECORDS) {
            struct err_row *r = list_current(&v->list);
            if (r)
                tui_partition_action(t, vv->run_id, cmd, &r->idx, 1, NULL);
        } else {
            struct group_row *g = list_current(&v->glist);
            if (!g)
                return TUI_OK;
            if (!g->signature) {
                tui_status(t, term_attr(TUI_C_WAIT), "this group has no signature to act on");
                return TUI_REDRAW;
            }
            tui_partition_action(t, vv->run_id, cmd, NULL, 0, g->signature);
            v->regroup = true;
        }
        return TUI_RELOAD;
    default:
        return TUI_OK;
    }
}

static void errors_crumb(struct tui_view *vv, struct ns_buf *out)
{
    struct errors_view *v = (struct errors_view *)vv;
    buf_adds(out, v->mode == M_FAILURES ? "failures" : "errors");
    if (v->signature)
        buf_adds(out, " (one signature)");
}

static void errors_free(struct tui_view *vv)
{
    struct errors_view *v = (struct errors_view *)vv;
    list_release(&v->list);
    free(v->glist.rows); /* shallow copies */
    free_groups(v);
    free(v->signature);
    free(v);
}

static const struct tui_view_ops errors_ops = {
    "errors", TUI_SCOPE_ERRORS, errors_free, errors_load,
    NULL,     errors_draw,      errors_key,  errors_crumb,
};

struct tui_view *view_errors_new(struct tui *t, int64_t run_id, int64_t idx, bool failures)
{
    struct errors_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &errors_ops;
    v->base.run_id = run_id;
    v->t = t;
    v->idx = idx;
    v->mode = failures ? M_FAILURES : M_RECORDS;
    v->regroup = true;
    list_init(&v->list, &errs_list_ops, v);
    list_init(&v->glist, &groups_list_ops, v);
    return &v->base;
}
