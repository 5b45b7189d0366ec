/*
 * wrap.c - text that must be read whole at 80 columns: the status line
 * (a refusal with the command to type), the questions of the dialogs and
 * what the operator types. They wrap at spaces, upwards from the status
 * row, over the bottom rows of the view, instead of being cut mid-word.
 */
#include <stdlib.h>
#include <string.h>

#include "tui-internal.h"

/* Width of s[0..len). */
static int width_of(const char *s, size_t len)
{
    char *c = ns_xstrndup(s, len);
    int w = term_width(c);
    free(c);
    return w;
}

/* Bytes of s that fit in w columns (at least one character). */
static size_t fit_bytes(const char *s, size_t len, int w)
{
    size_t n = 0;
    while (n < len) {
        size_t next = n + 1;
        while (next < len && ((unsigned char)s[next] & 0xc0) == 0x80)
            next++;
        if (n > 0 && width_of(s, next) > w)
            break;
        n = next;
    }
    return n;
}

int wrap_text(const char *s, int w, size_t *starts, size_t *lens, int max)
{
    size_t len = strlen(s), at = 0;
    int n = 0;
    if (w < 1)
        w = 1;
    while (n < max) {
        size_t rest = len - at;
        size_t take;
        if (width_of(s + at, rest) <= w) {
            take = rest;
        } else {
            size_t fit = fit_bytes(s + at, rest, w);
            /* Back to the last space inside what fits: a whole word. */
            take = fit;
            while (take > 0 && s[at + take] != ' ' && s[at + take - 1] != ' ')
                take--;
            if (take == 0)
                take = fit; /* one word longer than the line: cut it */
        }
        starts[n] = at;
        lens[n] = take;
        n++;
        at += take;
        while (at < len && s[at] == ' ')
            at++;
        if (at >= len)
            break;
    }
    return n;
}

int term_put_wrapped(int bottom, int w, int max_rows, attr_t attr, bool fill, const char *s,
                     int *end_x)
{
    enum { MAX_LINES = 64 };
    size_t starts[MAX_LINES], lens[MAX_LINES];
    int n = wrap_text(s, w, starts, lens, MAX_LINES);
    if (max_rows < 1)
        max_rows = 1;
    int first = n > max_rows ? n - max_rows : 0; /* the end matters most: the prompt */
    int rows = n - first;
    for (int i = first; i < n; i++) {
        int y = bottom - (n - 1 - i);
        char *line = ns_xstrndup(s + starts[i], lens[i]);
        if (fill)
            term_fill(y, 0, w, attr);
        int x = term_put(y, 0, w, attr, line);
        if (end_x)
            *end_x = x;
        free(line);
    }
    return rows;
}
