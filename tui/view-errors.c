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
    /* Grouping a million records takes a noticeable fraction of a second:
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

/* WHERE clause of the current selection; binds ?1 run, ?2 idx, ?3 signature,
 * ?4 text. Only the constraints in force are written, so SQLite picks the
 * matching (run_id, [idx | signature,] id) index. */
static void selection_where(const struct errors_view *v, struct ns_buf *w)
{
    buf_adds(w, "run_id = ?1");
    if (v->idx >= 0)
        buf_adds(w, " AND idx = ?2");
    if (v->signature)
        buf_adds(w, " AND signature = ?3");
    if (v->search[0])
        buf_adds(w, " AND (instr(message, ?4) > 0 OR instr(key, ?4) > 0)");
}

static void selection_bind(const struct errors_view *v, sqlite3_stmt *s)
{
    sqlite3_bind_int64(s, 1, v->base.run_id);
    if (v->idx >= 0)
        sqlite3_bind_int64(s, 2, v->idx);
    if (v->signature)
        sqlite3_bind_text(s, 3, v->signature, -1, SQLITE_STATIC);
    if (v->search[0])
        sqlite3_bind_text(s, 4, v->search, -1, SQLITE_STATIC);
}

static int errs_fetch(void *ctx, const void *anchor, int dir, int limit, void *out)
{
    struct errors_view *v = ctx;
    const struct err_row *a = anchor;
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT id, idx, key, message, at FROM error_records WHERE ");
    selection_where(v, &sql);
    if (a)
        buf_adds(&sql, dir > 0 ? " AND id > ?5" : dir < 0 ? " AND id < ?5" : " AND id >= ?5");
    buf_addf(&sql, " ORDER BY id %s LIMIT ?6", dir < 0 ? "DESC" : "ASC");
    sqlite3_stmt *s = store_prepare(&v->t->st, sql.data);
    buf_release(&sql);
    selection_bind(v, s);
    if (a)
        sqlite3_bind_int64(s, 5, a->id);
    sqlite3_bind_int(s, 6, limit);
    struct err_row *rows = out;
    int n = 0;
    while (n < limit && sqlite3_step(s) == SQLITE_ROW) {
        struct err_row *r = &rows[n++];
        r->id = sqlite3_column_int64(s, 0);
        r->idx = sqlite3_column_int64(s, 1);
        r->key = tui_esc_col(v->t, s, 2);
        r->message = tui_esc_col(v->t, s, 3);
        r->at = sqlite3_column_double(s, 4);
    }
    sqlite3_finalize(s);
    if (dir < 0)
        for (int i = 0; i < n / 2; i++) {
            struct err_row tmp = rows[i];
            rows[i] = rows[n - 1 - i];
            rows[n - 1 - i] = tmp;
        }
    return n;
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
    struct ns_buf sql = NS_BUF_INIT;
    if (v->mode == M_GROUPS) {
        buf_adds(&sql, "SELECT signature, count(*) AS n, min(idx) FROM error_records WHERE ");
        selection_where(v, &sql);
        buf_adds(&sql, " GROUP BY signature ORDER BY n DESC, signature LIMIT ?7");
    } else {
        buf_adds(&sql, "SELECT last_signature, count(*) AS n, min(idx) FROM partitions "
                       "WHERE run_id = ?1 AND state = 'failed' GROUP BY last_signature "
                       "ORDER BY n DESC, last_signature LIMIT ?7");
    }
    sqlite3_stmt *s = store_prepare(&v->t->st, sql.data);
    buf_release(&sql);
    if (v->mode == M_GROUPS)
        selection_bind(v, s);
    else
        sqlite3_bind_int64(s, 1, v->base.run_id);
    sqlite3_bind_int(s, 7, MAX_GROUPS);
    v->groups = ns_xcalloc(MAX_GROUPS, sizeof *v->groups);
    while (v->n_groups < MAX_GROUPS && sqlite3_step(s) == SQLITE_ROW) {
        struct group_row *g = &v->groups[v->n_groups];
        g->pos = v->n_groups;
        if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
            g->signature = NULL;
            g->shown = ns_xstrdup("(no signature)");
        } else {
            const void *p = sqlite3_column_blob(s, 0);
            int n = sqlite3_column_bytes(s, 0);
            g->signature = ns_xstrndup(p ? p : "", (size_t)n);
            g->shown = tui_esc(v->t, g->signature, (size_t)n);
        }
        g->count = sqlite3_column_int64(s, 1);
        g->first_idx = sqlite3_column_int64(s, 2);
        v->n_groups++;
    }
    sqlite3_finalize(s);
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
    sqlite3_stmt *s;
    if (v->idx >= 0 && !v->signature && !v->search[0]) {
        s = store_prepare(&v->t->st,
                          "SELECT error_records FROM partitions WHERE run_id = ? AND idx = ?");
        sqlite3_bind_int64(s, 2, v->idx);
    } else if (v->idx < 0 && !v->signature && !v->search[0]) {
        s = store_prepare(&v->t->st, "SELECT error_records FROM runs WHERE id = ?");
    } else {
        v->total = -1; /* counting a filtered million rows is not worth it */
        return;
    }
    sqlite3_bind_int64(s, 1, v->base.run_id);
    v->total = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
}

/* A number that changes when the groups may have changed. */
static int64_t groups_key(struct errors_view *v)
{
    sqlite3_stmt *s = store_prepare(&v->t->st, "SELECT error_records * 1000003 + n_failed * 7 "
                                               "+ n_succeeded FROM runs WHERE id = ?");
    sqlite3_bind_int64(s, 1, v->base.run_id);
    int64_t k = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return k;
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
                                     : "  FAILED  FIRST  SIGNATURE (r retry, R from scratch, x "
                                       "skip the whole group)");
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
    sqlite3_stmt *s = store_prepare(
        &t->st, "SELECT id, idx, attempt_id, at, key, message, signature, length(payload), "
                "substr(payload, 1, 1048576) FROM error_records WHERE id = ?");
    sqlite3_bind_int64(s, 1, id);
    struct ns_buf b = NS_BUF_INIT;
    char title[64];
    snprintf(title, sizeof title, "error record %lld", (long long)id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        char when[32];
        buf_addf(&b, "record     %lld\npartition  %lld\nattempt    %lld\nat         %s\n",
                 (long long)sqlite3_column_int64(s, 0), (long long)sqlite3_column_int64(s, 1),
                 (long long)sqlite3_column_int64(s, 2),
                 tui_fmt_clock(sqlite3_column_double(s, 3), when, sizeof when));
        const char *names[] = {"key        ", "message    ", "signature  "};
        for (int i = 0; i < 3; i++) {
            char *e = tui_esc_col(t, s, 4 + i);
            buf_addf(&b, "%s%s\n", names[i], e);
            free(e);
        }
        int64_t plen = sqlite3_column_int64(s, 7);
        const void *p = sqlite3_column_blob(s, 8);
        size_t n = (size_t)sqlite3_column_bytes(s, 8);
        if (sqlite3_column_type(s, 8) == SQLITE_NULL) {
            buf_adds(&b, "\nno payload\n");
        } else {
            buf_addf(&b, "\npayload, %lld bytes%s, as escaped text:\n", (long long)plen,
                     (int64_t)n < plen ? " (first 1 MiB shown)" : "");
            escape_for_terminal(p ? p : "", n, t->esc_flags | NS_ESC_NEWLINES, &b);
            buf_adds(&b, "\n\npayload as hex:\n");
            escape_hexdump(p ? p : "", n, &b);
        }
    } else {
        buf_adds(&b, "this record is gone\n");
    }
    sqlite3_finalize(s);
    return view_text_new(t, title, buf_detach(&b), NULL);
}

/* ---- export ---- */

static void csv_field(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* Writes every record of the current selection, 1000 at a time by id. */
static int export_records(struct errors_view *v, const char *path, char *err, size_t errlen,
                          int64_t *count)
{
    size_t pl = strlen(path);
    bool csv = pl > 4 && strcmp(path + pl - 4, ".csv") == 0;
    char *tmp = ns_xasprintf("%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wx");
    if (!f) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    if (csv)
        fputs("id,partition,attempt_id,at,key,message,signature,payload_hex\r\n", f);
    struct ns_buf sql = NS_BUF_INIT;
    buf_adds(&sql, "SELECT id, idx, attempt_id, at, key, message, signature, payload "
                   "FROM error_records WHERE ");
    selection_where(v, &sql);
    buf_adds(&sql, " AND id > ?5 ORDER BY id LIMIT 1000");
    sqlite3_stmt *s = store_prepare(&v->t->st, sql.data);
    buf_release(&sql);
    int64_t last = -1, n = 0;
    struct ns_buf line = NS_BUF_INIT;
    for (;;) {
        selection_bind(v, s);
        sqlite3_bind_int64(s, 5, last);
        int got = 0;
        while (sqlite3_step(s) == SQLITE_ROW) {
            got++;
            last = sqlite3_column_int64(s, 0);
            buf_reset(&line);
            const char *txt[3];
            size_t len[3];
            for (int i = 0; i < 3; i++) {
                txt[i] = (const char *)sqlite3_column_blob(s, 4 + i);
                len[i] = (size_t)sqlite3_column_bytes(s, 4 + i);
                if (!txt[i])
                    txt[i] = "";
            }
            const unsigned char *pay = sqlite3_column_blob(s, 7);
            size_t plen = (size_t)sqlite3_column_bytes(s, 7);
            if (csv) {
                fprintf(f, "%lld,%lld,%lld,%.3f,", (long long)last,
                        (long long)sqlite3_column_int64(s, 1),
                        (long long)sqlite3_column_int64(s, 2), sqlite3_column_double(s, 3));
                for (int i = 0; i < 3; i++) {
                    csv_field(f, txt[i], len[i]);
                    fputc(',', f);
                }
                for (size_t i = 0; i < plen; i++)
                    fprintf(f, "%02x", pay[i]);
                fputs("\r\n", f);
            } else {
                buf_addf(&line, "{\"id\":%lld,\"partition\":%lld,\"attempt_id\":%lld,\"at\":%.3f",
                         (long long)last, (long long)sqlite3_column_int64(s, 1),
                         (long long)sqlite3_column_int64(s, 2), sqlite3_column_double(s, 3));
                const char *names[] = {"key", "message", "signature"};
                for (int i = 0; i < 3; i++) {
                    buf_addf(&line, ",\"%s\":", names[i]);
                    buf_add_json_string(&line, txt[i], len[i]);
                }
                buf_adds(&line, ",\"payload_hex\":");
                if (sqlite3_column_type(s, 7) == SQLITE_NULL) {
                    buf_adds(&line, "null");
                } else {
                    buf_addc(&line, '"');
                    for (size_t i = 0; i < plen; i++)
                        buf_addf(&line, "%02x", pay[i]);
                    buf_addc(&line, '"');
                }
                buf_adds(&line, "}\n");
                fwrite(line.data, 1, line.len, f);
            }
            n++;
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (got < 1000)
            break;
    }
    buf_release(&line);
    sqlite3_finalize(s);
    int rc = 0;
    if (ferror(f) | (fflush(f) != 0) | (fsync(fileno(f)) != 0)) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 0) {
        ns_errf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        ns_errf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    *count = n;
    return rc;
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
    if (tui_prompt(t, "export to (.csv for CSV, else JSONL): ", path, sizeof path) && path[0]) {
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
