/*
 * term.c - the one place that starts and restores ncurses.
 *
 * Also: colour roles (with attribute stand-ins for NO_COLOR and monochrome
 * terminals), width-aware drawing of already-escaped text, and the signal
 * handlers, which only record the signal so the event loop can restore the
 * terminal and leave in an orderly way.
 */
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <wchar.h>

#include "nightshift/escape.h"
#include "tui-internal.h"

static volatile sig_atomic_t got_signal;
static bool started;
static bool use_color;
static int pending_color;
static const struct tui_theme *cur_theme;

static void on_signal(int sig)
{
    got_signal = sig;
}

int term_signal(void)
{
    return got_signal;
}

enum { CELL_PAIR_BASE = 16 };

/* The theme's colour of a role in this terminal's palette. */
static short role_color(const struct tui_role_colors *rc, bool fg)
{
    if (COLORS >= 256)
        return fg ? rc->fg : rc->bg;
    return fg ? rc->fg8 : rc->bg8;
}

/* Colour pairs of the theme: one per role, then one per (foreground state,
 * background state) for the map's half-blocks. */
static void init_theme_pairs(const struct tui_theme *th)
{
    for (int r = TUI_C_OK; r < TUI_C_COUNT; r++)
        init_pair((short)r, role_color(&th->role[r], true), role_color(&th->role[r], false));
    static const enum tui_color cell_roles[] = {TUI_C_DEFAULT, TUI_C_OK,     TUI_C_RUN,
                                                TUI_C_WAIT,    TUI_C_PAUSED, TUI_C_BAD,
                                                TUI_C_SKIP,    TUI_C_PENDING};
    int n = (int)NS_ARRAY_LEN(cell_roles);
    for (int f = 0; f < n; f++)
        for (int b = 0; b < n + 1; b++) {
            short fc = role_color(&th->role[cell_roles[f]], true);
            short bc = b == n ? -1 : role_color(&th->role[cell_roles[b]], true);
            if (cell_roles[f] == TUI_C_PENDING && fc < 0)
                fc = (short)pending_color;
            if (b < n && cell_roles[b] == TUI_C_PENDING && bc < 0)
                bc = (short)pending_color;
            if (CELL_PAIR_BASE + f * 9 + b < COLOR_PAIRS)
                init_pair((short)(CELL_PAIR_BASE + f * 9 + b), fc, bc);
        }
}

int term_init(const struct tui_theme *theme, bool *utf8, bool *color, char *err, size_t errlen)
{
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    *utf8 = cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        ns_errf(err, errlen, "needs a terminal (standard input and output are not one)");
        return -1;
    }
    /* newterm, not initscr: an unknown TERM is an error we report, not exit. */
    const char *env_term = getenv("TERM");
    char *term = escape_dup(env_term ? env_term : "", env_term ? strlen(env_term) : 0, 0);
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        ns_errf(err, errlen, "cannot use the terminal \"%s\"", term);
        free(term);
        return -1;
    }
    /* A terminal that cannot move the cursor (TERM=dumb: an Emacs shell, a
     * forced pty) would show only the lines ncurses can write in order - a
     * breadcrumb and a key bar, no header and no table: refused. */
    const char *cup = tigetstr("cup");
    if (!cup || cup == (char *)-1) {
        endwin();
        delscreen(screen);
        ns_errf(err, errlen,
                "the terminal \"%s\" cannot move the cursor, which the console needs: set TERM "
                "to your terminal's type (xterm-256color, screen, ...), or use `nightshift "
                "status` and `nightshift events --follow` for plain lines",
                term);
        free(term);
        return -1;
    }
    free(term);
    started = true;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    cur_theme = theme;
    use_color = !theme_is_mono(theme) && has_colors();
    if (use_color) {
        start_color();
        use_default_colors();
        pending_color = COLORS >= 16 ? 8 : COLOR_WHITE;
        init_theme_pairs(theme);
    }
    *color = use_color;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: getch returns and the loop sees it */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGQUIT, &sa, NULL);
    return 0;
}

void term_restore(void)
{
    if (!started)
        return;
    started = false;
    curs_set(1);
    endwin();
}

attr_t term_attr(enum tui_color c)
{
    if (use_color) {
        if (c == TUI_C_DEFAULT)
            return A_NORMAL;
        const struct tui_role_colors *rc = &cur_theme->role[c];
        /* A role without a colour here (pending on eight colours): dim. */
        if (role_color(rc, true) < 0 && role_color(rc, false) < 0)
            return A_DIM | rc->attrs;
        return COLOR_PAIR(c) | rc->attrs;
    }
    switch (c) {
    case TUI_C_RUN:
        return A_BOLD;
    case TUI_C_WAIT:
    case TUI_C_PAUSED:
        return A_UNDERLINE;
    case TUI_C_BAD:
        return A_REVERSE | A_BOLD;
    case TUI_C_SKIP:
    case TUI_C_PENDING:
        return A_DIM;
    case TUI_C_TITLE:
        return A_REVERSE;
    case TUI_C_KEY:
        return A_BOLD;
    default:
        return A_NORMAL;
    }
}

static const struct {
    const char *word;
    enum tui_color color;
} state_colors[] = {
    {"succeeded", TUI_C_OK},     {"met", TUI_C_OK},          {"ok", TUI_C_OK},
    {"running", TUI_C_RUN},      {"retry_wait", TUI_C_WAIT}, {"stopping", TUI_C_WAIT},
    {"stopped", TUI_C_WAIT},     {"at_risk", TUI_C_WAIT},    {"paused", TUI_C_PAUSED},
    {"failed", TUI_C_BAD},       {"halted", TUI_C_BAD},      {"missed", TUI_C_BAD},
    {"signalled", TUI_C_BAD},    {"timed_out", TUI_C_BAD},   {"killed", TUI_C_BAD},
    {"interrupted", TUI_C_WAIT}, {"skipped", TUI_C_SKIP},    {"pending", TUI_C_PENDING},
};

enum tui_color term_state_color(const char *state)
{
    if (state)
        for (size_t i = 0; i < NS_ARRAY_LEN(state_colors); i++)
            if (strcmp(state, state_colors[i].word) == 0)
                return state_colors[i].color;
    return TUI_C_DEFAULT;
}

/* Index into the cell colour table for a colour role. */
static int cell_index(int role)
{
    switch (role) {
    case TUI_C_OK:
        return 1;
    case TUI_C_RUN:
        return 2;
    case TUI_C_WAIT:
        return 3;
    case TUI_C_PAUSED:
        return 4;
    case TUI_C_BAD:
        return 5;
    case TUI_C_SKIP:
        return 6;
    case TUI_C_PENDING:
        return 7;
    default:
        return 0;
    }
}

attr_t term_cell_attr(int fg, int bg)
{
    if (!use_color)
        return term_attr((enum tui_color)fg);
    int pair = CELL_PAIR_BASE + cell_index(fg) * 9 + (bg < 0 ? 8 : cell_index(bg));
    if (pair >= COLOR_PAIRS)
        return term_attr((enum tui_color)fg);
    return COLOR_PAIR(pair);
}

int term_put(int y, int x, int maxw, attr_t attr, const char *s)
{
    if (maxw <= 0 || !s)
        return 0;
    wchar_t wbuf[512];
    int used = 0, nw = 0;
    mbstate_t ps;
    memset(&ps, 0, sizeof ps);
    size_t len = strlen(s);
    while (len > 0 && nw < (int)NS_ARRAY_LEN(wbuf)) {
        wchar_t wc;
        size_t r = mbrtowc(&wc, s, len, &ps);
        if (r == (size_t)-1 || r == (size_t)-2) {
            /* Cannot happen for escaped text; draw a marker, never the byte. */
            wc = L'?';
            r = 1;
            memset(&ps, 0, sizeof ps);
        } else if (r == 0) {
            break;
        }
        int cw = wcwidth(wc);
        if (cw < 0)
            cw = 1, wc = L'?';
        if (used + cw > maxw)
            break;
        wbuf[nw++] = wc;
        used += cw;
        s += r;
        len -= r;
    }
    attr_t old_attr;
    short old_pair;
    attr_get(&old_attr, &old_pair, NULL);
    attrset(attr);
    mvaddnwstr(y, x, wbuf, nw);
    attr_set(old_attr, old_pair, NULL);
    return used;
}

int term_putf(int y, int x, int maxw, attr_t attr, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return term_put(y, x, maxw, attr, buf);
}

void term_fill(int y, int x, int w, attr_t attr)
{
    if (w <= 0)
        return;
    attr_t old_attr;
    short old_pair;
    attr_get(&old_attr, &old_pair, NULL);
    attrset(attr);
    mvhline(y, x, ' ', w);
    attr_set(old_attr, old_pair, NULL);
}

int term_width(const char *s)
{
    int w = 0;
    mbstate_t ps;
    memset(&ps, 0, sizeof ps);
    size_t len = strlen(s);
    while (len > 0) {
        wchar_t wc;
        size_t r = mbrtowc(&wc, s, len, &ps);
        if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
            r = 1;
            memset(&ps, 0, sizeof ps);
            w++;
        } else {
            int cw = wcwidth(wc);
            w += cw < 0 ? 1 : cw;
        }
        s += r;
        len -= r;
    }
    return w;
}

void term_bar(int y, int x, int w, double frac, attr_t attr, bool utf8)
{
    if (w <= 0)
        return;
    if (frac < 0)
        frac = 0;
    if (frac > 1)
        frac = 1;
    static const char *const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    int units = (int)(frac * w * 8 + 0.5);
    char buf[1024];
    size_t o = 0;
    for (int i = 0; i < w && o + 8 < sizeof buf; i++) {
        int u = units - i * 8;
        const char *cell;
        if (utf8)
            cell = u >= 8 ? "█" : (u > 0 ? eighths[u] : "·");
        else
            cell = u >= 4 ? "#" : ".";
        if (!*cell)
            cell = "·";
        size_t cl = strlen(cell);
        memcpy(buf + o, cell, cl);
        o += cl;
    }
    buf[o] = '\0';
    term_put(y, x, w, attr, buf);
}

void term_send(const char *seq)
{
    /* Through ncurses' own output, so it is ordered with the drawing. */
    putp(seq);
    fflush(NULL);
}
