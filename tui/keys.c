/*
 * keys.c - every key binding of the console, in one table.
 *
 * The help screen (?) and the function-key bar are generated from this
 * table, so what the operator reads can never drift from what the keys do.
 * The first binding of a key whose scope contains the current view wins.
 */
#include <string.h>

#include "tui-internal.h"

#define S_ALL TUI_SCOPE_ALL
#define S_LISTS (TUI_SCOPE_RUNS | TUI_SCOPE_RUN | TUI_SCOPE_PART | TUI_SCOPE_ERRORS)
#define S_RUNCTL                                                                                   \
    (TUI_SCOPE_RUNS | TUI_SCOPE_RUN | TUI_SCOPE_PART | TUI_SCOPE_ERRORS | TUI_SCOPE_TIMELINE)
#define S_PARTS (TUI_SCOPE_RUN | TUI_SCOPE_PART | TUI_SCOPE_ERRORS)
#define S_NOTRUN (S_LISTS & ~TUI_SCOPE_RUN)
#define W TUI_KEY_WRITES
#define CTRL(c) ((c)&0x1f)

const struct tui_binding tui_bindings[] = {
    /* Function keys first: they are what the bar shows. */
    {KEY_F(1), "F1", TUI_CMD_HELP, S_ALL, 0, "Help", "this help"},
    {'?', "?", TUI_CMD_HELP, S_ALL, 0, NULL, "this help"},
    /* The run table: search (highlight and jump) and filter (keep only
     * matching rows) are two things, htop's F3 and F4. */
    {KEY_F(3), "F3", TUI_CMD_SEARCH, TUI_SCOPE_RUN, 0, "Search",
     "search: highlight matches and jump to them (the filter's terms)"},
    {'/', "/", TUI_CMD_SEARCH, TUI_SCOPE_RUN, 0, NULL,
     "search: highlight matches and jump to them (the filter's terms)"},
    {'n', "n", TUI_CMD_NEXT_MATCH, TUI_SCOPE_RUN, 0, NULL, "next search match"},
    {'N', "N", TUI_CMD_PREV_MATCH, TUI_SCOPE_RUN, 0, NULL, "previous search match"},
    {KEY_F(4), "F4", TUI_CMD_FILTER, TUI_SCOPE_RUN, 0, "Filter",
     "filter: keep only matches (state:failed key~X attempts>2 err~X, ANDed; empty clears)"},
    {'\\', "\\", TUI_CMD_FILTER, TUI_SCOPE_RUN, 0, NULL,
     "filter: keep only matches (state:failed key~X attempts>2 err~X, ANDed; empty clears)"},
    {'t', "t", TUI_CMD_SHOW, TUI_SCOPE_RUN, 0, NULL,
     "partitions shown: all / running / failed / waiting"},
    /* The other lists filter by text with / (no search there). */
    {KEY_F(3), "F3", TUI_CMD_SEARCH, S_NOTRUN | TUI_SCOPE_TEXT, 0, "Find", "filter by text"},
    {'/', "/", TUI_CMD_SEARCH, S_NOTRUN | TUI_SCOPE_TEXT, 0, NULL, "filter by text (empty clears)"},
    {KEY_F(5), "F5", TUI_CMD_MAP, TUI_SCOPE_RUN, 0, "Map", "partition table / partition map"},
    {'m', "m", TUI_CMD_MAP, TUI_SCOPE_RUN, 0, NULL, "partition table / partition map"},
    {KEY_F(6), "F6", TUI_CMD_SORT, TUI_SCOPE_RUN, 0, "Sort",
     "sort by a column (asks which; the same one again reverses it)"},
    {'o', "o", TUI_CMD_SORT, TUI_SCOPE_RUN, 0, NULL,
     "sort by a column (asks which; the same one again reverses it)"},
    {'O', "O", TUI_CMD_SORT_REVERSE, TUI_SCOPE_RUN, 0, NULL, "reverse the sort"},
    {'<', "<", TUI_CMD_SORT_PREV, TUI_SCOPE_RUN, 0, NULL, "sort by the column to the left"},
    {'>', ">", TUI_CMD_SORT_NEXT, TUI_SCOPE_RUN, 0, NULL, "sort by the column to the right"},
    {KEY_F(7), "F7", TUI_CMD_ERRORS, S_LISTS, 0, "Errors", "error records of the run/partition"},
    {'e', "e", TUI_CMD_ERRORS, S_LISTS, 0, NULL, "error records of the run/partition"},
    {KEY_F(8), "F8", TUI_CMD_FAILURES, TUI_SCOPE_RUNS | TUI_SCOPE_RUN | TUI_SCOPE_ERRORS, 0,
     "Failures", "failed partitions grouped by error signature"},
    {'P', "P", TUI_CMD_POOLS, S_LISTS, 0, NULL,
     "the shared pools: slots used, who holds them, who waits, start rate"},
    {'=', "=", TUI_CMD_POOL_SET, TUI_SCOPE_POOLS, W, NULL,
     "set a pool's size: asks NAME SLOTS (audited, as nightshift pool set)"},
    {'N', "N", TUI_CMD_NIGHT, TUI_SCOPE_RUNS, 0, NULL,
     "the night: every run since 18:00 yesterday, what each waits on, one projected finish"},
    {'N', "N", TUI_CMD_NIGHT, TUI_SCOPE_NIGHT, 0, NULL,
     "choose the period: 18:00, yesterday 18:00, 24h, 2026-11-03 18:00"},
    {'F', "F", TUI_CMD_FAILURES, TUI_SCOPE_RUNS | TUI_SCOPE_RUN | TUI_SCOPE_ERRORS, 0, NULL,
     "failed partitions grouped by error signature"},
    {KEY_F(9), "F9", TUI_CMD_KILL, S_PARTS, W, "Kill", "kill the attempt of the partition(s)"},
    {'K', "K", TUI_CMD_KILL, S_PARTS, W, NULL, "kill the attempt of the partition(s)"},
    {KEY_F(10), "F10", TUI_CMD_QUIT, S_ALL, 0, "Quit", "quit the console"},
    {'Q', "Q", TUI_CMD_QUIT, S_ALL, 0, NULL, "quit the console"},

    /* Movement: arrows and vi keys. */
    {KEY_UP, "Up", TUI_CMD_UP, S_ALL, 0, NULL, "move up"},
    {'k', "k", TUI_CMD_UP, S_ALL, 0, NULL, "move up"},
    {KEY_DOWN, "Down", TUI_CMD_DOWN, S_ALL, 0, NULL, "move down"},
    {'j', "j", TUI_CMD_DOWN, S_ALL, 0, NULL, "move down"},
    {KEY_PPAGE, "PgUp", TUI_CMD_PGUP, S_ALL, 0, NULL, "page up"},
    {CTRL('b'), "^B", TUI_CMD_PGUP, S_ALL, 0, NULL, "page up"},
    {KEY_NPAGE, "PgDn", TUI_CMD_PGDN, S_ALL, 0, NULL, "page down"},
    {CTRL('f'), "^F", TUI_CMD_PGDN, S_ALL, 0, NULL, "page down"},
    {KEY_HOME, "Home", TUI_CMD_HOME, S_ALL, 0, NULL, "first row"},
    {'g', "g", TUI_CMD_HOME, S_ALL, 0, NULL, "first row"},
    {KEY_END, "End", TUI_CMD_END, S_ALL, 0, NULL, "last row (instant, also for millions)"},
    {'G', "G", TUI_CMD_END, S_ALL, 0, NULL, "last row (instant, also for millions)"},
    {KEY_LEFT, "Left", TUI_CMD_LEFT, TUI_SCOPE_RUN, 0, NULL, "map: previous partition"},
    {KEY_RIGHT, "Right", TUI_CMD_RIGHT, TUI_SCOPE_RUN, 0, NULL, "map: next partition"},
    {KEY_LEFT, "Left", TUI_CMD_LEFT, TUI_SCOPE_TIMELINE, 0, NULL, "earlier (a quarter screen)"},
    {'h', "h", TUI_CMD_LEFT, TUI_SCOPE_TIMELINE, 0, NULL, "earlier (a quarter screen)"},
    {KEY_RIGHT, "Right", TUI_CMD_RIGHT, TUI_SCOPE_TIMELINE, 0, NULL, "later (a quarter screen)"},
    {'l', "l", TUI_CMD_RIGHT, TUI_SCOPE_TIMELINE, 0, NULL, "later (a quarter screen)"},
    {'+', "+", TUI_CMD_ZOOM_IN, TUI_SCOPE_TIMELINE, 0, NULL, "zoom in (half the seconds per column)"},
    {'-', "-", TUI_CMD_ZOOM_OUT, TUI_SCOPE_TIMELINE, 0, NULL, "zoom out (twice the seconds per column)"},
    {'h', "h", TUI_CMD_LEFT, TUI_SCOPE_RUN, 0, NULL, "map: previous partition; table: back"},
    {'l', "l", TUI_CMD_RIGHT, TUI_SCOPE_RUN, 0, NULL, "map: next partition; table: open"},
    {'\r', "Enter", TUI_CMD_OPEN, S_LISTS | TUI_SCOPE_NIGHT, 0, NULL, "open the selected row"},
    {'\n', "Enter", TUI_CMD_OPEN, S_LISTS | TUI_SCOPE_NIGHT, 0, NULL, NULL},
    {KEY_ENTER, "Enter", TUI_CMD_OPEN, S_LISTS | TUI_SCOPE_NIGHT, 0, NULL, NULL},
    {'l', "l", TUI_CMD_OPEN, S_LISTS & ~TUI_SCOPE_RUN, 0, NULL, "open the selected row"},
    {KEY_RIGHT, "Right", TUI_CMD_OPEN, S_LISTS & ~TUI_SCOPE_RUN, 0, NULL, "open the selected row"},
    {'q', "q", TUI_CMD_BACK, S_ALL, 0, NULL, "back (quit from the runs list)"},
    {27, "Esc", TUI_CMD_BACK, S_ALL, 0, NULL, "back"},
    {KEY_BACKSPACE, "Bksp", TUI_CMD_BACK, S_ALL, 0, NULL, "back"},
    {'h', "h", TUI_CMD_BACK, S_ALL & ~(TUI_SCOPE_RUN | TUI_SCOPE_TIMELINE), 0, NULL, "back"},
    {KEY_LEFT, "Left", TUI_CMD_BACK, S_ALL & ~(TUI_SCOPE_RUN | TUI_SCOPE_TIMELINE), 0, NULL, "back"},
    {'f', "f", TUI_CMD_FREEZE, S_ALL, 0, NULL, "freeze / unfreeze the display"},
    {CTRL('l'), "^L", TUI_CMD_REDRAW, S_ALL, 0, NULL, "repaint the screen"},

    /* Views and modes. */
    {'z', "z", TUI_CMD_ZOOM, TUI_SCOPE_RUN, 0, NULL,
     "map density: auto / 1 / 2 / 8 partitions per cell"},
    {'\t', "Tab", TUI_CMD_GROUP, TUI_SCOPE_ERRORS, 0, NULL,
     "records / grouped by signature / failed partitions by signature"},
    {'w', "w", TUI_CMD_EXPORT, TUI_SCOPE_ERRORS, 0, NULL,
     "export the current selection to a file (.csv or JSONL)"},
    {'E', "E", TUI_CMD_GREP, TUI_SCOPE_RUN, 0, NULL,
     "grep the run's logs and error records for a pattern (as nightshift grep)"},
    {'T', "T", TUI_CMD_TIMELINE, TUI_SCOPE_RUN, 0, NULL,
     "timeline: the run's attempts in time, one row per worker slot"},
    {'L', "L", TUI_CMD_LOG, TUI_SCOPE_PART | TUI_SCOPE_RUN, 0, NULL,
     "full log of the selected attempt (run table: the partition's latest)"},
    {' ', "Space", TUI_CMD_MARK, TUI_SCOPE_RUN, 0, NULL, "mark / unmark the partition"},
    {'U', "U", TUI_CMD_UNMARK, TUI_SCOPE_RUN, 0, NULL, "clear all marks"},
    {'*', "*", TUI_CMD_MARK_ALL, TUI_SCOPE_RUN, 0, NULL,
     "mark every partition the filter keeps (all pages)"},
    {'v', "v", TUI_CMD_MARK_RANGE, TUI_SCOPE_RUN, 0, NULL,
     "mark a range: v at one end, move, v at the other"},
    {'~', "~", TUI_CMD_MARK_INVERT, TUI_SCOPE_RUN, 0, NULL,
     "invert the marks of the partitions the filter keeps"},
    {'y', "y", TUI_CMD_YANK, TUI_SCOPE_RUN | TUI_SCOPE_PART, 0, NULL,
     "yank to the clipboard (OSC 52): key, error text, retry or resume command"},

    /* Operator actions. */
    {'p', "p", TUI_CMD_PAUSE, S_RUNCTL, W, NULL, "pause the run (workers are stopped)"},
    {'c', "c", TUI_CMD_RESUME, S_RUNCTL, W, NULL, "continue (resume) the run"},
    {'s', "s", TUI_CMD_STOP, S_RUNCTL, W, NULL, "stop the run gracefully (asks)"},
    {'S', "S", TUI_CMD_STOP_NOW, S_RUNCTL, W, NULL, "stop the run now (asks)"},
    {'C', "C", TUI_CMD_CONCURRENCY, S_RUNCTL, W, NULL,
     "change the run's concurrency (asks the number)"},
    {'r', "r", TUI_CMD_RETRY, S_PARTS, W, NULL,
     "retry the marked/selected partition(s) or group, from checkpoint (asks, with the count, "
     "when more than one)"},
    {'R', "R", TUI_CMD_RETRY_SCRATCH, S_PARTS, W, NULL,
     "retry the marked/selected partition(s) or group, from scratch (asks)"},
    {'A', "A", TUI_CMD_RETRY_FAILED, S_RUNCTL, W, NULL, "retry all failed partitions (asks)"},
    {'x', "x", TUI_CMD_SKIP, S_PARTS, W, NULL,
     "skip the marked/selected partition(s) or group (asks a reason)"},
};

const size_t tui_n_bindings = NS_ARRAY_LEN(tui_bindings);

enum tui_cmd keys_lookup(int key, unsigned scope)
{
    for (size_t i = 0; i < tui_n_bindings; i++)
        if (tui_bindings[i].key == key && (tui_bindings[i].scope & scope))
            return tui_bindings[i].cmd;
    if (key == 127 || key == CTRL('h'))
        return TUI_CMD_BACK;
    return TUI_CMD_NONE;
}

void keys_help_text(unsigned scope, bool read_only, struct ns_buf *out)
{
    buf_adds(out, "Keys in this view (generated from the key table):\n");
    /* First, so a tall list never pushes it off the screen. */
    if (read_only)
        buf_adds(out, "Read-only console: operator actions are hidden.\n");
    buf_adds(out, "\n");
    keys_lines(scope, read_only, out);
    buf_adds(out, "\nEnvironment: NIGHTSHIFT_CONSOLE_REFRESH_MS (refresh period, default 250),\n"
                  "NIGHTSHIFT_THEME (default, light, monochrome), NO_COLOR (monochrome), NIGHTSHIFT_DB.\n");
}

void keys_lines(unsigned scope, bool read_only, struct ns_buf *out)
{
    /* One line per command: all its keys, then its words. */
    bool done[TUI_CMD_COUNT] = {false};
    for (size_t i = 0; i < tui_n_bindings; i++) {
        const struct tui_binding *b = &tui_bindings[i];
        if (!(b->scope & scope) || !b->help || done[b->cmd])
            continue;
        if (read_only && (b->flags & TUI_KEY_WRITES))
            continue;
        done[b->cmd] = true;
        struct ns_buf keys = NS_BUF_INIT;
        const char *seen[8];
        int nseen = 0;
        for (size_t j = i; j < tui_n_bindings; j++) {
            const struct tui_binding *c = &tui_bindings[j];
            if (c->cmd != b->cmd || !(c->scope & scope))
                continue;
            bool dup = false;
            for (int k = 0; k < nseen; k++)
                dup = dup || strcmp(seen[k], c->keyname) == 0;
            if (dup || nseen == 8)
                continue;
            seen[nseen++] = c->keyname;
            buf_addf(&keys, "%s%s", keys.len ? " " : "", c->keyname);
        }
        buf_addf(out, "  %-18s %s\n", keys.data, b->help);
        buf_release(&keys);
    }
}
