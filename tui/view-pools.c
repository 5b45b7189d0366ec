/*
 * view-pools.c - the pools panel (P): the pools shared by the runs of the
 * database, as `nightshift pool` lists them (slots used / size, start
 * rate, who set it), and under each pool who holds its slots (run, job,
 * slots, attempts) and who waits for them, oldest first: the order the
 * slots go in. = sets a pool's size, as `nightshift pool set` does.
 *
 * The panel is re-read at every refresh (a handful of rows per pool); the
 * lines are built when loaded, escaped there (job names are user text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nightshift/pools.h"
#include "tui-internal.h"

struct pools_line {
    char *text;
    attr_t attr;
};

struct pools_view {
    struct tui_view base;
    struct pools_line *lines;
    int n, cap, top;
};

static void add_line(struct pools_view *v, attr_t attr, char *text)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 32;
        v->lines = ns_xrealloc(v->lines, (size_t)v->cap * sizeof *v->lines);
    }
    v->lines[v->n++] = (struct pools_line){text, attr};
}

static void clear_lines(struct pools_view *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->lines[i].text);
    v->n = 0;
}

static void pools_free_view(struct tui_view *vv)
{
    struct pools_view *v = (struct pools_view *)vv;
    clear_lines(v);
    free(v->lines);
    free(v);
}

/* One holder's or waiter's line under its pool. */
static void add_party(struct pools_view *v, struct tui *t, const struct ns_pool_party *p)
{
    char *job = tui_esc(t, p->job, strlen(p->job));
    char d[32];
    tui_fmt_dur(t->now - p->since, d, sizeof d);
    char prio[32] = "";
    if (p->priority != 0)
        snprintf(prio, sizeof prio, ", priority %d", p->priority);
    if (p->waiting)
        add_line(v, term_attr(TUI_C_WAIT),
                 ns_xasprintf("    waits  run %-5lld %-24s wants %d, for %s%s", (long long)p->run_id,
                              job, p->weight, d, prio));
    else
        add_line(v, term_attr(TUI_C_RUN),
                 ns_xasprintf("    holds  run %-5lld %-24s %d slot%s, %d attempt%s, since %s ago",
                              (long long)p->run_id, job, p->weight, p->weight == 1 ? "" : "s",
                              p->attempts, p->attempts == 1 ? "" : "s", d));
    free(job);
}

static void pools_load(struct tui_view *vv, struct tui *t)
{
    struct pools_view *v = (struct pools_view *)vv;
    clear_lines(v);
    struct ns_pool_row *pools = NULL;
    struct ns_pool_party *parties = NULL;
    char err[256] = "";
    long np = pools_list(&t->st, &pools, err, sizeof err);
    long nq = np >= 0 ? pools_parties(&t->st, &parties, err, sizeof err) : -1;
    if (np < 0 || nq < 0) {
        char *e = tui_esc(t, err, strlen(err));
        add_line(v, term_attr(TUI_C_BAD), ns_xasprintf("cannot read the pools: %s", e));
        free(e);
    } else if (np == 0) {
        add_line(v, A_NORMAL,
                 ns_xstrdup("no pools: a spec declares them under pools:, or `nightshift pool set "
                            "NAME SLOTS` makes one"));
    } else {
        add_line(v, A_BOLD,
                 ns_xasprintf("%-24s %11s %8s %8s  %-10s %s", "POOL", "USED/SLOTS", "HOLDERS",
                              "WAITING", "RATE", "SET BY"));
    }
    for (long i = 0; i < np; i++) {
        const struct ns_pool_row *r = &pools[i];
        char use[32], rate[32] = "-";
        snprintf(use, sizeof use, "%d/%d", r->used, r->slots);
        if (r->rate_n > 0)
            ns_format_rate(r->rate_n, r->rate_per, rate, sizeof rate);
        char *name = tui_esc(t, r->name, strlen(r->name));
        add_line(v, r->used >= r->slots ? term_attr(TUI_C_WAIT) | A_BOLD : A_BOLD,
                 ns_xasprintf("%-24s %11s %8d %8d  %-10s %s", name, use, r->holders, r->waiting,
                              rate, r->set_by));
        free(name);
        for (long k = 0; k < nq; k++)
            if (strcmp(parties[k].pool, r->name) == 0)
                add_party(v, t, &parties[k]);
    }
    if (v->top >= v->n)
        v->top = v->n > 0 ? v->n - 1 : 0;
    pools_rows_free(pools, np > 0 ? np : 0);
    pools_parties_free(parties, nq > 0 ? nq : 0);
}

static void pools_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct pools_view *v = (struct pools_view *)vv;
    (void)t;
    vv->height = h;
    for (int i = 0; i < h && v->top + i < v->n; i++)
        term_put(y + i, 0, w, v->lines[v->top + i].attr, v->lines[v->top + i].text);
}

/* = : pool set NAME SLOTS from the console, through the CLI's one call
 * (pools_set: the size and its audit row in one transaction, then the
 * waiting runtimes are woken), source "console". */
static enum tui_result set_pool(struct tui *t)
{
    char line[128] = "";
    if (!tui_prompt(t, "pool set NAME SLOTS: ", line, sizeof line) || !line[0])
        return TUI_REDRAW;
    char name[72];
    int slots, used = 0;
    if (sscanf(line, "%71s %d %n", name, &slots, &used) != 2 || line[used] || slots < 1 ||
        slots > 100000) {
        tui_status(t, term_attr(TUI_C_BAD), "pool set: give a pool's NAME and SLOTS (1-100000)");
        return TUI_REDRAW;
    }
    if (!tui_client(t, "pool set"))
        return TUI_REDRAW;
    char err[512], result[256];
    if (pools_set(&t->client, name, slots, -1, 1, "console", result, sizeof result, err,
                  sizeof err) != 0) {
        char *e = tui_esc(t, err, strlen(err));
        tui_status(t, term_attr(TUI_C_BAD), "pool set: %s", e);
        free(e);
        return TUI_REDRAW;
    }
    char *r = tui_esc(t, result, strlen(result));
    tui_status(t, term_attr(TUI_C_OK), "pool set: %s", r);
    free(r);
    return TUI_RELOAD;
}

static enum tui_result pools_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct pools_view *v = (struct pools_view *)vv;
    (void)ch;
    int page = vv->height > 1 ? vv->height - 1 : 1;
    switch (cmd) {
    case TUI_CMD_UP:
        v->top = v->top > 0 ? v->top - 1 : 0;
        return TUI_REDRAW;
    case TUI_CMD_DOWN:
        v->top = v->top + 1 < v->n ? v->top + 1 : v->top;
        return TUI_REDRAW;
    case TUI_CMD_PGUP:
        v->top = v->top > page ? v->top - page : 0;
        return TUI_REDRAW;
    case TUI_CMD_PGDN:
        v->top = v->top + page < v->n ? v->top + page : v->top;
        return TUI_REDRAW;
    case TUI_CMD_HOME:
        v->top = 0;
        return TUI_REDRAW;
    case TUI_CMD_BACK:
        return TUI_POP;
    case TUI_CMD_POOL_SET:
        return set_pool(t);
    default:
        return TUI_OK;
    }
}

static void pools_crumb(struct tui_view *vv, struct ns_buf *out)
{
    (void)vv;
    buf_adds(out, "pools");
}

static const struct tui_view_ops pools_ops = {
    "pools", TUI_SCOPE_POOLS, pools_free_view, pools_load, NULL, pools_draw, pools_key, pools_crumb,
};

struct tui_view *view_pools_new(struct tui *t)
{
    struct pools_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &pools_ops;
    v->base.run_id = t->depth > 0 ? t->stack[t->depth - 1]->run_id : 0;
    return &v->base;
}
