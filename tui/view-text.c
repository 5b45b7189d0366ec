/*
 * view-text.c - a scrollable text: the help screen, a full error record, an
 * attempt's log (following the file live).
 *
 * The text held here is already safe (our own words, or escaped worker
 * bytes); it is wrapped to the screen width when loaded. A followed log is
 * re-read (its last 64 KiB only) when its size or mtime changes, and stays
 * pinned to the bottom unless the operator scrolled up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nightshift/escape.h"
#include "tui-internal.h"

struct text_view {
    struct tui_view base;
    char *title;
    char *text; /* safe text, '\n' separated */
    char *follow;
    off_t f_size;
    struct timespec f_mtime;
    ino_t f_ino;
    char **lines; /* wrapped, pointers into wrapped copies */
    int n_lines, top, wrap_w;
    bool pinned; /* following the end */
    char search[128];
};

char *tui_read_tail(const char *path, size_t max, size_t *len, struct stat *st_out)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    if (st_out)
        *st_out = st;
    off_t start = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
    char *buf = ns_xmalloc(max + 1);
    size_t got = 0;
    while (got < max) {
        ssize_t r = pread(fd, buf + got, max - got, start + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    size_t skip = 0;
    if (start > 0) { /* drop the partial first line */
        char *nl = memchr(buf, '\n', got);
        if (nl)
            skip = (size_t)(nl - buf) + 1;
    }
    memmove(buf, buf + skip, got - skip);
    *len = got - skip;
    buf[*len] = '\0';
    return buf;
}

static void free_lines(struct text_view *v)
{
    for (int i = 0; i < v->n_lines; i++)
        free(v->lines[i]);
    free(v->lines);
    v->lines = NULL;
    v->n_lines = 0;
}

/* The column a long line of our own words continues at: where its text
 * starts after a key column ("  F6 o     sort by ..."), else its own indent;
 * 0 when that would leave too little room. */
static int hang_indent(const char *line, int w)
{
    int at = 0;
    while (line[at] == ' ')
        at++;
    const char *gap = strstr(line + at, "  ");
    if (gap) {
        const char *text = gap;
        while (*text == ' ')
            text++;
        if (*text)
            at = (int)(text - line);
    }
    return at < w / 2 ? at : 0;
}

/* The bytes of q (at most w display columns) that go on one row, on a
 * character boundary; with at_spaces, backed off to the last space so no
 * word is cut (a word longer than the row still is). */
static size_t row_bytes(char *q, int w, bool at_spaces)
{
    size_t cut = 0;
    int cols = 0;
    while (q[cut] && cols < w) {
        size_t cl = 1;
        while ((q[cut + cl] & 0xc0) == 0x80)
            cl++;
        char save = q[cut + cl];
        q[cut + cl] = '\0';
        int cw = term_width(q + cut);
        q[cut + cl] = save;
        if (cols + cw > w)
            break;
        cols += cw;
        cut += cl;
    }
    if (at_spaces && q[cut]) {
        size_t sp = cut;
        while (sp > 0 && q[sp] != ' ')
            sp--;
        if (sp > 0)
            cut = sp;
    }
    if (cut == 0 && q[0])
        cut = 1;
    return cut;
}

/* Splits text into lines of at most w display columns. A log is cut where
 * the row ends (its bytes are the worker's); our own words (help, an error
 * record, a command) wrap at spaces, continuing under their text. */
static void wrap(struct text_view *v, int w)
{
    free_lines(v);
    v->wrap_w = w;
    if (w < 8)
        w = 8;
    bool prose = !v->follow;
    int cap = 64;
    v->lines = ns_xmalloc(sizeof *v->lines * (size_t)cap);
    const char *p = v->text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t linelen = nl ? (size_t)(nl - p) : strlen(p);
        char *line = ns_xstrndup(p, linelen);
        char *q = line;
        int hang = prose ? hang_indent(line, w) : 0, indent = 0;
        do {
            size_t cut = row_bytes(q, w - indent, prose);
            if (v->n_lines == cap) {
                cap *= 2;
                v->lines = ns_xrealloc(v->lines, sizeof *v->lines * (size_t)cap);
            }
            v->lines[v->n_lines++] = ns_xasprintf("%*s%.*s", indent, "", (int)cut, q);
            q += cut;
            if (prose)
                while (*q == ' ')
                    q++;
            indent = hang;
        } while (*q);
        free(line);
        p = nl ? nl + 1 : p + linelen;
    }
}

static bool read_follow(struct text_view *v, const struct tui *t)
{
    size_t len;
    struct stat st;
    char *raw = tui_read_tail(v->follow, 64 * 1024, &len, &st);
    free(v->text);
    if (!raw) {
        v->text = ns_xasprintf("(log %s cannot be read)", v->follow);
        return true;
    }
    v->f_size = st.st_size;
    v->f_mtime = st.st_mtim;
    v->f_ino = st.st_ino;
    v->text = escape_dup(raw, len, t->esc_flags | NS_ESC_NEWLINES);
    free(raw);
    return true;
}

static void text_load(struct tui_view *vv, struct tui *t)
{
    struct text_view *v = (struct text_view *)vv;
    (void)t;
    int w = COLS > 1 ? COLS - 1 : 1;
    if (w != v->wrap_w || !v->lines) {
        wrap(v, w);
        if (v->pinned)
            v->top = v->n_lines;
    }
}

static bool text_poll(struct tui_view *vv, struct tui *t)
{
    struct text_view *v = (struct text_view *)vv;
    if (!v->follow)
        return false;
    struct stat st;
    if (stat(v->follow, &st) != 0)
        return false;
    if (st.st_size == v->f_size && st.st_ino == v->f_ino &&
        st.st_mtim.tv_sec == v->f_mtime.tv_sec && st.st_mtim.tv_nsec == v->f_mtime.tv_nsec)
        return false;
    read_follow(v, t);
    v->wrap_w = 0;
    text_load(vv, t);
    return true;
}

static void text_draw(struct tui_view *vv, struct tui *t, int y, int h, int w)
{
    struct text_view *v = (struct text_view *)vv;
    (void)t;
    int maxtop = v->n_lines - h;
    if (maxtop < 0)
        maxtop = 0;
    if (v->top > maxtop)
        v->top = maxtop;
    if (v->top < 0)
        v->top = 0;
    if (v->follow)
        v->pinned = v->top >= maxtop;
    for (int i = 0; i < h && v->top + i < v->n_lines; i++) {
        const char *line = v->lines[v->top + i];
        attr_t a = A_NORMAL;
        if (v->search[0] && strstr(line, v->search))
            a = A_REVERSE;
        term_put(y + i, 0, w, a, line);
    }
    if (v->n_lines > h) {
        char pos[48];
        snprintf(pos, sizeof pos, " %d-%d/%d%s ", v->top + 1,
                 v->top + h < v->n_lines ? v->top + h : v->n_lines, v->n_lines,
                 v->follow ? (v->pinned ? " following" : " (G follows)") : "");
        int pw = term_width(pos);
        term_put(y + h - 1, w - pw, pw, A_REVERSE, pos);
    }
}

static enum tui_result text_key(struct tui_view *vv, struct tui *t, enum tui_cmd cmd, int ch)
{
    struct text_view *v = (struct text_view *)vv;
    (void)ch;
    int h = vv->height > 0 ? vv->height : 10;
    switch (cmd) {
    case TUI_CMD_UP:
        v->top--;
        v->pinned = false;
        break;
    case TUI_CMD_DOWN:
        v->top++;
        break;
    case TUI_CMD_PGUP:
        v->top -= h - 1;
        v->pinned = false;
        break;
    case TUI_CMD_PGDN:
        v->top += h - 1;
        break;
    case TUI_CMD_HOME:
        v->top = 0;
        v->pinned = false;
        break;
    case TUI_CMD_END:
        v->top = v->n_lines;
        v->pinned = true;
        break;
    case TUI_CMD_SEARCH:
        if (tui_prompt(t, "find: ", v->search, sizeof v->search) && v->search[0]) {
            for (int i = 0; i < v->n_lines; i++) {
                int j = (v->top + 1 + i) % v->n_lines;
                if (strstr(v->lines[j], v->search)) {
                    v->top = j;
                    v->pinned = false;
                    break;
                }
            }
        }
        break;
    case TUI_CMD_BACK:
        return TUI_POP;
    default:
        return TUI_OK;
    }
    return TUI_REDRAW;
}

static void text_crumb(struct tui_view *vv, struct ns_buf *out)
{
    struct text_view *v = (struct text_view *)vv;
    buf_adds(out, v->title);
}

static void text_free(struct tui_view *vv)
{
    struct text_view *v = (struct text_view *)vv;
    free_lines(v);
    free(v->title);
    free(v->text);
    free(v->follow);
    free(v);
}

static const struct tui_view_ops text_ops = {
    "text", TUI_SCOPE_TEXT, text_free, text_load, text_poll, text_draw, text_key, text_crumb,
};

struct tui_view *view_text_new(struct tui *t, const char *title, char *text,
                               const char *follow_path)
{
    struct text_view *v = ns_xcalloc(1, sizeof *v);
    v->base.ops = &text_ops;
    v->base.run_id = t->depth > 0 ? t->stack[t->depth - 1]->run_id : 0;
    v->title = ns_xstrdup(title);
    v->text = text ? text : ns_xstrdup("");
    if (follow_path) {
        v->follow = ns_xstrdup(follow_path);
        v->pinned = true;
        read_follow(v, t);
    }
    return &v->base;
}
