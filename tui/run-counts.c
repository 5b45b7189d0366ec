/*
 * run-counts.c - the run view's counts line: partitions by state, each in
 * its colour, and beside the running count how many ran over the last ten
 * minutes (the runtime's samples) as a sparkline. Apart from view-run.c for
 * its size; everything it draws is the read model's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nightshift/query.h"
#include "tui-internal.h"

/* How wide the counts line is without a sparkline: words or brief ones,
 * the queued text as given. */
static int counts_width(const struct ns_run_summary *r, const char *const *words,
                        const char *queued, int gap)
{
    char num[32];
    int need = snprintf(num, sizeof num, "conc %lld", (long long)r->concurrency) + (int)strlen(queued);
    for (int i = 0; i < NS_PS_COUNT; i++)
        need += (int)strlen(words[i]) + snprintf(num, sizeof num, " %lld", (long long)r->counts.n[i]) + gap;
    return need;
}

/* Counts by state, each in its colour; beside the running count, how many
 * ran over the last ten minutes as a sparkline (it gets the room the words
 * leave; the words go brief to give it 4 columns at least). */
void tui_run_counts_line(const struct tui *t, const struct ns_run_summary *r,
                         const double *running, int n_running, int y, int w)
{
    const int64_t *n = r->counts.n;
    static const enum tui_color colors[NS_PS_COUNT] = {
        [NS_PS_PENDING] = TUI_C_PENDING, [NS_PS_RUNNING] = TUI_C_RUN,
        [NS_PS_RETRY_WAIT] = TUI_C_WAIT, [NS_PS_PAUSED] = TUI_C_PAUSED,
        [NS_PS_SUCCEEDED] = TUI_C_OK,    [NS_PS_FAILED] = TUI_C_BAD,
        [NS_PS_SKIPPED] = TUI_C_SKIP};
    /* Too narrow for the words (80 columns): short ones, so no count is cut. */
    static const char *const brief[NS_PS_COUNT] = {
        [NS_PS_PENDING] = "pend",  [NS_PS_RUNNING] = "run",  [NS_PS_RETRY_WAIT] = "wait",
        [NS_PS_PAUSED] = "paused", [NS_PS_SUCCEEDED] = "ok", [NS_PS_FAILED] = "fail",
        [NS_PS_SKIPPED] = "skip"};
    const char *words[NS_PS_COUNT];
    for (int i = 0; i < NS_PS_COUNT; i++)
        words[i] = query_part_state_word((enum ns_part_state)i);
    /* Pending ones already in Slurm's queue: submitted, not running. */
    char queued[32] = "";
    if (r->counts.queued > 0)
        snprintf(queued, sizeof queued, " (%lld queued)", (long long)r->counts.queued);
    int spark_min = n_running > 0 ? 5 : 0; /* a space and 4 columns */
    bool narrow = counts_width(r, words, queued, 2) + spark_min > w;
    if (narrow) {
        if (queued[0])
            snprintf(queued, sizeof queued, "(%lldq)", (long long)r->counts.queued);
        memcpy(words, brief, sizeof words);
    }
    /* The sparkline: up to 30 columns (one per 5 s sample), its peak after
     * it when that still leaves it 8. */
    char peak[32] = "";
    int sw = w - counts_width(r, words, queued, narrow ? 1 : 2) - 1;
    if (n_running > 0 && sw >= 4) {
        double max = 0;
        for (int i = 0; i < n_running; i++)
            max = fmax(max, running[i]);
        int pl = snprintf(peak, sizeof peak, " max %.0f", max);
        int cap = n_running < 30 ? n_running : 30;
        if (sw - pl >= 8 || sw - pl >= cap)
            sw -= pl;
        else
            peak[0] = '\0';
        if (sw > cap)
            sw = cap;
    } else {
        sw = 0;
    }
    int x = 0;
    for (int i = 0; i < NS_PS_COUNT; i++) {
        x += term_putf(y, x, w - x, term_attr(colors[i]), "%s %lld", words[i], (long long)n[i]);
        if (i == NS_PS_PENDING && queued[0])
            x += term_put(y, x, w - x, term_attr(colors[i]), queued);
        if (i == NS_PS_RUNNING && sw > 0) {
            tui_sparkline(t, y, x + 1, sw, running, n_running, term_attr(TUI_C_RUN));
            x += 1 + sw;
            x += term_put(y, x, w - x, A_DIM, peak);
        }
        x += term_put(y, x, w - x, A_NORMAL, narrow ? " " : "  ");
    }
    term_putf(y, x, w - x, A_DIM, "conc %lld", (long long)r->concurrency);
}
