/*
 * grep.c - the console's grep (E on a run): a pattern asked on the status
 * line, the run's attempt logs and error records searched (grep.h, the
 * search `nightshift grep` prints), the matches shown escaped in a text
 * view with partition, attempt and line. Read-only, like every view.
 */
#include <stdlib.h>
#include <string.h>

#include "nightshift/grep.h"
#include "tui-internal.h"

/* The search stops after this many: a view of them is plenty to act on. */
#define GREP_SHOWN 2000

struct collect {
    struct tui *t;
    struct ns_buf text;
    int64_t n;
};

static bool add_match(void *ctx, const struct ns_grep_match *m)
{
    struct collect *c = ctx;
    char *key = tui_esc(c->t, m->key, strlen(m->key));
    char *text = tui_esc(c->t, m->text, m->len);
    buf_addf(&c->text, "%lld %s", (long long)m->idx, key);
    if (m->attempt > 0)
        buf_addf(&c->text, " #%lld", (long long)m->attempt);
    buf_addf(&c->text, " %s %lld: %s\n", m->error_record ? "error" : "line", (long long)m->where,
             text);
    free(key);
    free(text);
    return ++c->n < GREP_SHOWN;
}

struct tui_view *tui_grep_view(struct tui *t, int64_t run_id)
{
    static char pattern[256];
    if (run_id <= 0 ||
        !tui_prompt(t, "grep the logs and error records for (regex): ", pattern, sizeof pattern) ||
        !pattern[0])
        return NULL;
    struct ns_grep_opts o = {.run_id = run_id, .pattern = pattern};
    struct collect c = {t, NS_BUF_INIT, 0};
    char err[512] = "";
    int64_t n = grep_run(&t->st, &o, add_match, &c, err, sizeof err);
    char *shown = tui_esc(t, pattern, strlen(pattern));
    if (n < 0) {
        char *why = tui_esc(t, err, strlen(err));
        tui_status(t, term_attr(TUI_C_BAD), "grep: %s", why);
        free(why);
        free(shown);
        buf_release(&c.text);
        return NULL;
    }
    struct ns_buf head = NS_BUF_INIT;
    buf_addf(&head,
             "%lld match%s for %s in run %lld%s (partition key #attempt, log line or "
             "error record id)\n\n",
             (long long)c.n, c.n == 1 ? "" : "es", shown, (long long)run_id,
             c.n >= GREP_SHOWN ? ", the first ones" : "");
    buf_add(&head, c.text.data ? c.text.data : "", c.text.len);
    buf_release(&c.text);
    char title[300];
    snprintf(title, sizeof title, "grep %s", shown);
    free(shown);
    return view_text_new(t, title, buf_detach(&head), NULL);
}
