/*
 * tui-internal.h - what the console's modules share.
 *
 * Structure (after tig and htop): term.c owns ncurses (init, restore, colours,
 * width-aware drawing); keys.c holds the key-binding table from which the help
 * screen and the function-key bar are generated; console.c is the one event
 * loop with the view stack, the refresh policy and operator actions; each
 * view-*.c implements one screen behind struct tui_view_ops and returns what
 * it needs (redraw, reload, push, pop, quit) to the loop; list.c is the
 * keyset-paginated cursor every list view uses.
 *
 * Threading: single-threaded. Signals only set a flag (term.c).
 * Every string a view stores for display was escaped when it was read
 * (tui_esc*), so drawing code never sees raw worker bytes.
 */
#ifndef NIGHTSHIFT_TUI_INTERNAL_H
#define NIGHTSHIFT_TUI_INTERNAL_H

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "nightshift/query.h"
#include "nightshift/store.h"
#include "nightshift/tui.h"
#include "nightshift/util.h"

/* ---- commands and key bindings (keys.c) ---- */

#define TUI_CMDS(X)                                                                                \
    X(NONE)                                                                                        \
    X(HELP)                                                                                        \
    X(QUIT)                                                                                        \
    X(BACK)                                                                                        \
    X(UP)                                                                                          \
    X(DOWN)                                                                                        \
    X(LEFT)                                                                                        \
    X(RIGHT)                                                                                       \
    X(PGUP)                                                                                        \
    X(PGDN)                                                                                        \
    X(HOME)                                                                                        \
    X(END)                                                                                         \
    X(OPEN)                                                                                        \
    X(SEARCH)                                                                                      \
    X(NEXT_MATCH)                                                                                  \
    X(PREV_MATCH)                                                                                  \
    X(FREEZE)                                                                                      \
    X(REDRAW)                                                                                      \
    X(MARK)                                                                                        \
    X(UNMARK)                                                                                      \
    X(FILTER)                                                                                      \
    X(SHOW)                                                                                        \
    X(SORT)                                                                                        \
    X(SORT_REVERSE)                                                                                \
    X(SORT_PREV)                                                                                   \
    X(SORT_NEXT)                                                                                   \
    X(MARK_ALL)                                                                                    \
    X(MARK_RANGE)                                                                                  \
    X(MARK_INVERT)                                                                                 \
    X(YANK)                                                                                        \
    X(TIMELINE)                                                                                    \
    X(ZOOM_IN)                                                                                     \
    X(ZOOM_OUT)                                                                                    \
    X(MAP)                                                                                         \
    X(POOLS)                                                                                       \
    X(POOL_SET)                                                                                    \
    X(NIGHT)                                                                                       \
    X(GREP)                                                                                        \
    X(ZOOM)                                                                                        \
    X(ERRORS)                                                                                      \
    X(FAILURES)                                                                                    \
    X(GROUP)                                                                                       \
    X(EXPORT)                                                                                      \
    X(LOG)                                                                                         \
    X(PAUSE)                                                                                       \
    X(RESUME)                                                                                      \
    X(STOP)                                                                                        \
    X(STOP_NOW)                                                                                    \
    X(RETRY)                                                                                       \
    X(RETRY_SCRATCH)                                                                               \
    X(RETRY_FAILED)                                                                                \
    X(KILL)                                                                                        \
    X(SKIP)                                                                                        \
    X(CONCURRENCY)

#define TUI_CMD_ENUM(n) TUI_CMD_##n,
enum tui_cmd { TUI_CMDS(TUI_CMD_ENUM) TUI_CMD_COUNT };
#undef TUI_CMD_ENUM

/* Which views a binding applies to (a view has exactly one scope bit). */
enum {
    TUI_SCOPE_RUNS = 1 << 0,
    TUI_SCOPE_RUN = 1 << 1,
    TUI_SCOPE_PART = 1 << 2,
    TUI_SCOPE_ERRORS = 1 << 3,
    TUI_SCOPE_TEXT = 1 << 4, /* help, full error record, log */
    TUI_SCOPE_TIMELINE = 1 << 5,
    TUI_SCOPE_POOLS = 1 << 6, /* the pools panel (P) */
    TUI_SCOPE_NIGHT = 1 << 7, /* the night view (N) */
    TUI_SCOPE_ALL = 0xff,
};

/* Binding flags. */
enum {
    TUI_KEY_WRITES = 1 << 0, /* an operator action: hidden and refused with --read-only */
};

struct tui_binding {
    int key;             /* ncurses key code or character */
    const char *keyname; /* as the help screen and bar show it */
    enum tui_cmd cmd;
    unsigned scope;
    unsigned flags;
    const char *bar;  /* label in the function-key bar, or NULL */
    const char *help; /* one line for the help screen */
};

extern const struct tui_binding tui_bindings[];
extern const size_t tui_n_bindings;

/* The command bound to key in scope (TUI_CMD_NONE if none). */
enum tui_cmd keys_lookup(int key, unsigned scope);
/* Appends the help text for scope (every key, generated from the table). */
void keys_help_text(unsigned scope, bool read_only, struct ns_buf *out);
/* Only the lines of keys_help_text: "  KEYS  what they do" per command bound
 * in scope (nightshift(1) lists them view by view). */
void keys_lines(unsigned scope, bool read_only, struct ns_buf *out);

/* ---- terminal (term.c) ---- */

enum tui_color {
    TUI_C_DEFAULT,
    TUI_C_OK,      /* succeeded */
    TUI_C_RUN,     /* running */
    TUI_C_WAIT,    /* retry_wait, stopping, at risk */
    TUI_C_PAUSED,  /* paused */
    TUI_C_BAD,     /* failed, halted, missed */
    TUI_C_SKIP,    /* skipped */
    TUI_C_PENDING, /* pending */
    TUI_C_TITLE,   /* breadcrumbs, function bar */
    TUI_C_KEY,     /* key names in the function bar */
    TUI_C_COUNT
};

/* ---- themes (theme.c) ---- */

struct tui_role_colors {
    short fg, bg;     /* xterm 256-colour indexes, -1 the terminal's default */
    short fg8, bg8;   /* the same on a terminal with eight colours */
    attr_t attrs;     /* added in every palette */
};

struct tui_theme {
    const char *name;
    short assumed_bg, assumed_fg; /* palette indexes the default colours are taken for */
    struct tui_role_colors role[TUI_C_COUNT];
};

/* The theme named (any case), or NULL. theme_at(i): the i-th, NULL past
 * the last (for tests and the docs). */
const struct tui_theme *theme_find(const char *name);
const struct tui_theme *theme_at(size_t i);
bool theme_is_mono(const struct tui_theme *th);
/* The console's theme: option (--theme), else $NIGHTSHIFT_THEME, else
 * default; $NO_COLOR (non-empty) makes it monochrome. NULL with a
 * sentence in err for an unknown name. */
const struct tui_theme *theme_choose(const char *option, char *err, size_t errlen);
/* 0xRRGGBB of a palette index (xterm's 16 base colours, the cube, the
 * greys), and the WCAG 2 contrast ratio of two colours (1 to 21). */
unsigned theme_rgb(int color);
double theme_contrast(unsigned rgb_a, unsigned rgb_b);

/* Starts curses: locale, raw keys, the theme's colours (none for
 * monochrome or a terminal without colours), signal handlers that only set
 * a flag. Returns 0, or -1 with a sentence in err (not a terminal, unknown
 * TERM). */
int term_init(const struct tui_theme *theme, bool *utf8, bool *color, char *err, size_t errlen);
/* Restores the terminal; safe to call twice. */
void term_restore(void);
/* The terminating signal received so far (0 if none). */
int term_signal(void);
/* Attribute for a colour role; with colours off, attributes stand in. */
attr_t term_attr(enum tui_color c);
/* Colour role of a partition, run, attempt or SLA state word. */
enum tui_color term_state_color(const char *state);
/* Attribute for a map cell: foreground state fg over background state bg
 * (for half-blocks); bg < 0 means the terminal's default background. */
attr_t term_cell_attr(int fg, int bg);

/* Draws s (escaped UTF-8, or ASCII) at (y, x) in at most maxw columns;
 * returns the columns used. Never interprets s as a format. */
int term_put(int y, int x, int maxw, attr_t attr, const char *s);
/* printf-style wrapper over term_put for our own text only. */
int term_putf(int y, int x, int maxw, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Clears columns [x, x+w) of row y with attr. */
void term_fill(int y, int x, int w, attr_t attr);
/* A progress bar of w columns (frac in [0,1]), UTF-8 eighths or ASCII '#'. */
void term_bar(int y, int x, int w, double frac, attr_t attr, bool utf8);
/* Sends a control sequence of our own (OSC 52) to the terminal as is. */
void term_send(const char *seq);
/* Splits s into lines of at most w columns at spaces (a word longer than
 * a line is cut): byte offsets and lengths into starts/lens, at most max
 * lines. Returns the count (>= 1). (wrap.c) */
int wrap_text(const char *s, int w, size_t *starts, size_t *lens, int max);
/* Draws s wrapped to w columns with its last line on row bottom and the
 * others above, at most max_rows rows (the first lines dropped when it is
 * longer); fill clears each row with attr first. Returns the rows used;
 * *end_x (may be NULL) gets the column after the last character. */
int term_put_wrapped(int bottom, int w, int max_rows, attr_t attr, bool fill, const char *s,
                     int *end_x);
/* Display width of an escaped string. */
int term_width(const char *s);

/* ---- views ---- */

enum tui_result {
    TUI_OK,     /* nothing changed on screen */
    TUI_REDRAW, /* redraw from the data in memory */
    TUI_RELOAD, /* re-read from the store, then redraw */
    TUI_PUSH,   /* open t->pushed on top */
    TUI_POP,    /* close this view */
    TUI_QUIT,
};

struct tui;
struct tui_view;

struct tui_view_ops {
    const char *name;
    unsigned scope;
    void (*free)(struct tui_view *v);
    /* Re-reads what the view shows (keyset pages only); no transaction is
     * left open. */
    void (*load)(struct tui_view *v, struct tui *t);
    /* Optional: changes outside the database (a growing log file).
     * Returns true when the view reloaded itself and needs a redraw. */
    bool (*poll)(struct tui_view *v, struct tui *t);
    /* Draws into rows [y, y+h) of width w. */
    void (*draw)(struct tui_view *v, struct tui *t, int y, int h, int w);
    enum tui_result (*key)(struct tui_view *v, struct tui *t, enum tui_cmd cmd, int ch);
    /* Appends this view's breadcrumb ("run 3 events-backfill"). */
    void (*crumb)(struct tui_view *v, struct ns_buf *out);
};

struct tui_view {
    const struct tui_view_ops *ops;
    int64_t run_id; /* the run the run-level actions apply to (0: none) */
    int height;     /* rows given at the last draw, for paging */
};

struct tui_view *view_runs_new(struct tui *t);
struct tui_view *view_run_new(struct tui *t, int64_t run_id);
/* A run view showing only failed partitions whose last failure has signature. */
struct tui_view *view_run_new_signature(struct tui *t, int64_t run_id, const char *signature);
struct tui_view *view_partition_new(struct tui *t, int64_t run_id, int64_t idx);
/* The timeline of a run: a text Gantt, one row per worker slot. */
struct tui_view *view_timeline_new(struct tui *t, int64_t run_id);
/* Error browser of a run, or of one partition when idx >= 0. */
struct tui_view *view_errors_new(struct tui *t, int64_t run_id, int64_t idx, bool failures);
/* The pools panel: every shared pool, who holds its slots, who waits. */
struct tui_view *view_pools_new(struct tui *t);
/* The night: every run since 18:00 yesterday (N: another period), each
 * run's state, ETA and what it waits on, the pools, one projected finish. */
struct tui_view *view_night_new(struct tui *t);
/* A scrollable text (help, full record, log); takes ownership of text.
 * follow_path: a log file re-read (last 64 KiB) whenever it changes. */
struct tui_view *view_text_new(struct tui *t, const char *title, char *text,
                               const char *follow_path);
/* The log of attempt n (0: the latest) of a partition, following the file;
 * NULL (a status line said why) when there is none. */
struct tui_view *view_log_new(struct tui *t, int64_t run_id, int64_t idx, int64_t n);

/* ---- the console (console.c) ---- */

#define TUI_MAX_DEPTH 16

struct tui {
    struct ns_store st;     /* read-only handle for every view */
    struct ns_store client; /* for control_submit, opened on first action */
    bool client_open;
    bool read_only, utf8, color, frozen;
    int esc_flags;  /* for escape_for_terminal: NS_ESC_ASCII when not UTF-8 */
    int refresh_ms; /* getch timeout */
    double now;     /* ns_now() at the start of this iteration */
    struct tui_view *stack[TUI_MAX_DEPTH];
    int depth;
    struct tui_view *pushed; /* set by a view returning TUI_PUSH */
    char status[512];        /* the status line (already safe text) */
    attr_t status_attr;
    double status_at;    /* when it was set: it fades after a while */
    int64_t status_run;  /* the run an action's line is about (0: any view) */
    int64_t pending_cmd; /* command submitted, verdict not seen yet */
    int64_t pending_run;
    unsigned submitted; /* commands sent or queued so far (an action went through) */
    /* The run table's sort, remembered for every run view of the session. */
    enum ns_part_sort sort;
    bool sort_desc;
    char pending_verb[16];
    char pending_what[160];
    double pending_since;
};

/* Escapes untrusted bytes for display; the caller frees. NULL -> "". */
char *tui_esc(const struct tui *t, const void *data, size_t len);
/* tui_esc of canonical "a=1\nb=2\n" lines shown on one line. */
char *tui_esc_line(const struct tui *t, const char *s);
/* Where the boilerplate duration of an attempt message starts ("exit 3
 * after 3.0s: cause": at " after "), with *from where the cause goes on;
 * len (and *from = len) when there is none. Pure. */
size_t tui_cause_cut(const char *msg, size_t len, size_t *from);
/* tui_esc of msg with the cause first and the duration dropped:
 * "exit 3 after 3.0s: connection reset" -> "connection reset (exit 3)". */
char *tui_esc_cause(const struct tui *t, const char *msg, size_t len);
/* Sets the status line (our own words; escape any data first). */
void tui_status(struct tui *t, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Asks a yes/no question on the status line; true on y/Y. */
bool tui_confirm(struct tui *t, const char *question);
/* Asks a question whose answer is one of the characters in choices
 * (lower case); returns the answer or 0 on Esc / anything else. */
int tui_choose(struct tui *t, const char *question, const char *choices);
/* Reads a line on the status line; returns false on Esc. out is
 * NUL-terminated and may be pre-filled. */
bool tui_prompt(struct tui *t, const char *label, char *out, size_t outlen);
/* The console's client store (operator writes), opened on first use;
 * false (the status line says why, with what) if it cannot be. */
bool tui_client(struct tui *t, const char *what);
/* Submits an operator command for run_id (unless read-only, or the verb
 * needs a live runtime and none is alive); the verdict shows on the status
 * line when the runtime has decided. what: words for the status line. */
void tui_command(struct tui *t, int64_t run_id, const char *verb, const char *args_json,
                 const char *what);
/* Partition actions shared by the run, map, partition and error views:
 * retry / retry from scratch / kill / skip for the partitions in idx[0..n)
 * or, when signature is non-NULL, the whole group. Asks for confirmation
 * (and a reason for skip). Returns true if the command was handled. */
bool tui_partition_action(struct tui *t, int64_t run_id, enum tui_cmd cmd, const int64_t *idx,
                          size_t n, const char *signature);

/* Small formatting helpers (console.c). */
char *tui_fmt_dur(double seconds, char *out, size_t len); /* "-" if < 0 */
char *tui_fmt_rate(double per_s, char *out, size_t len);  /* "12.3/s" */
char *tui_fmt_count(int64_t n, char *out, size_t len);    /* 1234567 -> "1.2M" */
char *tui_fmt_clock(double epoch, char *out, size_t len); /* "14:03:07" */
/* A sparkline of vals[0..n) scaled to the maximum, w columns wide. */
void tui_sparkline(const struct tui *t, int y, int x, int w, const double *vals, int n,
                   attr_t attr);

/* The last max bytes of a regular file (from a line start), NUL-terminated;
 * NULL if it cannot be read. st (if non-NULL) gets its stat. Caller frees. */
char *tui_read_tail(const char *path, size_t max, size_t *len, struct stat *st);

/* ---- table columns (list.c) ---- */

struct tui_col {
    const char *title;
    int width; /* minimum width; a flex column takes what is left */
    int prio;  /* lower is more important: kept when the screen is narrow */
    bool flex, right;
    int x;      /* computed */
    bool shown; /* computed */
};

/* Chooses the columns that fit in w and their positions. */
void cols_layout(struct tui_col *c, int n, int w);
/* Draws the column titles on row y. */
void cols_header(const struct tui_col *c, int n, int y, int w, attr_t attr);
/* Draws text in column c on row y (right-aligned if the column says so). */
void cols_cell(const struct tui_col *c, int y, attr_t attr, const char *text);

/* ---- keyset-paginated list (list.c) ---- */

struct tui_list_ops {
    size_t row_size;
    void (*release)(void *row);
    /* Up to limit rows into out (row_size each), in display order:
     * dir > 0: rows after anchor (from the first row if anchor is NULL);
     * dir < 0: the rows just before anchor (the last rows if NULL);
     * dir == 0: rows from anchor inclusive. Returns the count. */
    int (*fetch)(void *ctx, const void *anchor, int dir, int limit, void *out);
    /* True if a and b are the same item (to keep the cursor on it). */
    bool (*same)(const void *a, const void *b);
};

struct tui_list {
    const struct tui_list_ops *ops;
    void *ctx;
    char *rows; /* the visible window, n rows */
    int n, cur, height;
};

void list_init(struct tui_list *l, const struct tui_list_ops *ops, void *ctx);
void list_release(struct tui_list *l);
/* Rows in the window; reloads when the height changes. */
void list_set_height(struct tui_list *l, int height);
/* Re-reads the window from its first row, keeping the cursor's item. */
void list_reload(struct tui_list *l);
/* Drops the window and reads the first page. */
void list_reset(struct tui_list *l);
void *list_row(const struct tui_list *l, int i);
void *list_current(const struct tui_list *l); /* NULL if empty */
/* Navigation commands (UP DOWN PGUP PGDN HOME END); false if not one. */
bool list_navigate(struct tui_list *l, enum tui_cmd cmd);
/* Moves the window to the item anchor (the caller keeps it), the cursor on
 * it when it still exists; near the end, the last full page. */
void list_goto(struct tui_list *l, const void *anchor);

/* ---- yank (yank.c) ---- */

/* Sets the terminal's clipboard to text over OSC 52 (also through tmux). */
void tui_clipboard(const char *text, size_t len);
/* y: asks what to yank - the keys or error texts of the partitions
 * idx[0..n) of run_id, or the command that retries or resumes the run
 * (control_resume_command; then shown in full in a pushed text view). */
enum tui_result tui_yank(struct tui *t, int64_t run_id, const int64_t *idx, size_t n);

/* ---- marks (marks.c): a set of partition indexes, kept sorted ---- */

struct tui_marks {
    int64_t *idx;
    size_t n;
};

bool marks_has(const struct tui_marks *m, int64_t idx);
void marks_toggle(struct tui_marks *m, int64_t idx);
void marks_clear(struct tui_marks *m);
/* Marks every v[0..n) (ascending); returns how many were not marked yet. */
size_t marks_add(struct tui_marks *m, const int64_t *v, size_t n);
/* Toggles every v[0..n) (ascending). */
void marks_invert(struct tui_marks *m, const int64_t *v, size_t n);

/* ---- the run table's filter, search and sort (find.c) ---- */

struct tui_find {
    char filter_text[256], search_text[256]; /* as typed */
    struct ns_part_expr filter, search;      /* parsed */
    int64_t hits;                            /* search matches under the filter */
    bool only_hits;                          /* set while find.c fetches the next match */
    bool range_on;                           /* v pressed once: a range starts at range_from */
    int64_t range_from;
};

/* What the run table (or its map) hands find.c to act on. */
struct tui_find_target {
    struct tui_list *list; /* NULL in the map */
    struct tui_marks *marks;
    int64_t (*idx_of)(const void *row);
    struct ns_part_select sel; /* the table's selection now */
    int64_t cursor_idx;        /* the partition under the cursor, -1 none */
};

/* The find, sort and mark keys (SEARCH NEXT_MATCH PREV_MATCH FILTER SORT*
 * MARK_ALL MARK_RANGE MARK_INVERT UNMARK) on a run table: TUI_OK when cmd is not
 * one of them, else what to do next; the status line says what happened
 * and how many partitions it touched. */
enum tui_result find_key(struct tui *t, struct tui_find *f, const struct tui_find_target *tg,
                         enum tui_cmd cmd);
/* F4: asks for a filter (the prompt starts empty; empty clears it).
 * Returns true when the filter changed; a parse error goes to the
 * status line and keeps the old filter. */
bool find_ask_filter(struct tui *t, struct tui_find *f);
/* /: asks for a search; true when there is a new one (hits to count). */
bool find_ask_search(struct tui *t, struct tui_find *f);
/* o, O, <, >: changes t->sort / t->sort_desc; true when it changed. */
bool find_sort_key(struct tui *t, enum tui_cmd cmd);
/* The title of a column width wide, with the sort's arrow when col is
 * the sort's column (the title cut to make room). */
const char *find_sort_title(const struct tui *t, enum ns_part_sort col, const char *title,
                            int width, char *buf, size_t len);
/* Draws on row y from x either the filter (" and state:failed", filter
 * true; the table's state filter is drawn before it) or the search with
 * its count, the marks and a range; returns the columns used. */
int find_draw_line(struct tui *t, const struct tui_find *f, bool filter, size_t marked, int y,
                   int x, int w);

/* ---- grep (grep.c) ---- */

/* Asks for a pattern and searches run_id's logs and error records
 * (grep.h); a text view of the matches, or NULL (cancelled, or a status
 * line said what went wrong). */
struct tui_view *tui_grep_view(struct tui *t, int64_t run_id);

/* ---- stragglers (stragglers.c) ---- */

/* "  2 stragglers" at (y, x) when run r has any (the run view's header). */
void tui_put_stragglers(int y, int x, int w, const struct ns_run_summary *r);
/* The run view's counts line on row y, w wide: counts by state, and beside
 * the running count the sparkline of running[0..n_running) (oldest first;
 * n_running 0: none) with its peak, as room allows; short words when the
 * full ones would leave it no 4 columns. */
void tui_run_counts_line(const struct tui *t, const struct ns_run_summary *r,
                         const double *running, int n_running, int y, int w);
/* Sets cells[idx - from] to mark for each straggler of run r (query.h)
 * among partitions [from, from + n) that has a cell (non-zero). */
void tui_mark_stragglers(struct tui *t, const struct ns_run_summary *r, int64_t from,
                         unsigned char *cells, int64_t n, unsigned char mark);

#endif
