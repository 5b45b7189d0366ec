/*
 * theme.c - the console's colour themes: default (a dark terminal), light
 * (a light one) and monochrome (attributes only: state shown by its word,
 * glyph and bold/underline/reverse, never by colour alone).
 *
 * Each role has a foreground and background from the xterm 256-colour
 * palette, whose entries 16-255 every 256-colour terminal renders the
 * same; on a terminal with fewer colours the basic eight stand in. The
 * palette's RGB values live here (theme_rgb) so that contrast can be
 * computed (theme_contrast, WCAG 2's formula): tests/unit/test-theme.c
 * checks every text pair of every theme at >= 4.5:1, and the screenshot
 * renderer (tests/screenshots/sgr2html.pl) reads the sixteen base colours
 * from the table below, so the PNGs show what was checked.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tui-internal.h"

/* xterm's defaults for the sixteen base colours.
 * palette16 begin */
static const unsigned palette16[16] = {
    0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
    0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff,
};
/* palette16 end */

unsigned theme_rgb(int color)
{
    if (color < 0)
        return 0;
    if (color < 16)
        return palette16[color];
    if (color < 232) { /* the 6x6x6 cube */
        static const unsigned level[6] = {0, 95, 135, 175, 215, 255};
        int c = color - 16;
        return level[c / 36] << 16 | level[c / 6 % 6] << 8 | level[c % 6];
    }
    unsigned g = 8 + 10 * (unsigned)(color - 232); /* the grey ramp */
    return g << 16 | g << 8 | g;
}

static double channel(unsigned v)
{
    double c = (double)v / 255.0;
    return c <= 0.03928 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double luminance(unsigned rgb)
{
    return 0.2126 * channel(rgb >> 16 & 0xff) + 0.7152 * channel(rgb >> 8 & 0xff) +
           0.0722 * channel(rgb & 0xff);
}

double theme_contrast(unsigned rgb_a, unsigned rgb_b)
{
    double a = luminance(rgb_a), b = luminance(rgb_b);
    return a > b ? (a + 0.05) / (b + 0.05) : (b + 0.05) / (a + 0.05);
}

/* Foreground, background (-1: the terminal's default) in 256 colours and
 * in the basic eight, and attributes added, per role. */
#define R(fg, bg, fg8, bg8, at) {fg, bg, fg8, bg8, at}
static const struct tui_theme themes[] = {
    {"default",
     0,  /* assumed background: black */
     7,  /* assumed foreground */
     {
         [TUI_C_DEFAULT] = R(-1, -1, -1, -1, 0),
         [TUI_C_OK] = R(40, -1, COLOR_GREEN, -1, 0),
         [TUI_C_RUN] = R(44, -1, COLOR_CYAN, -1, 0),
         [TUI_C_WAIT] = R(178, -1, COLOR_YELLOW, -1, 0),
         [TUI_C_PAUSED] = R(170, -1, COLOR_MAGENTA, -1, 0),
         [TUI_C_BAD] = R(196, -1, COLOR_RED, -1, A_BOLD),
         [TUI_C_SKIP] = R(75, -1, COLOR_BLUE, -1, 0),
         [TUI_C_PENDING] = R(245, -1, -1, -1, 0),
         [TUI_C_TITLE] = R(16, 37, COLOR_BLACK, COLOR_CYAN, 0),
         [TUI_C_KEY] = R(231, 16, COLOR_WHITE, COLOR_BLACK, A_BOLD),
     }},
    {"light",
     15, /* assumed background: white */
     0,
     {
         [TUI_C_DEFAULT] = R(-1, -1, -1, -1, 0),
         [TUI_C_OK] = R(28, -1, COLOR_GREEN, -1, 0),
         [TUI_C_RUN] = R(24, -1, COLOR_BLUE, -1, 0),
         [TUI_C_WAIT] = R(130, -1, COLOR_RED, -1, 0),
         [TUI_C_PAUSED] = R(90, -1, COLOR_MAGENTA, -1, 0),
         [TUI_C_BAD] = R(160, -1, COLOR_RED, -1, A_BOLD),
         [TUI_C_SKIP] = R(19, -1, COLOR_BLUE, -1, 0),
         [TUI_C_PENDING] = R(242, -1, -1, -1, 0),
         [TUI_C_TITLE] = R(231, 24, COLOR_WHITE, COLOR_BLUE, 0),
         [TUI_C_KEY] = R(16, 252, COLOR_BLACK, COLOR_WHITE, A_BOLD),
     }},
    {"monochrome", 0, 7, {{0}}},
};
#undef R

const struct tui_theme *theme_find(const char *name)
{
    for (size_t i = 0; i < NS_ARRAY_LEN(themes); i++)
        if (strcasecmp(name, themes[i].name) == 0)
            return &themes[i];
    return NULL;
}

const struct tui_theme *theme_at(size_t i)
{
    return i < NS_ARRAY_LEN(themes) ? &themes[i] : NULL;
}

bool theme_is_mono(const struct tui_theme *th)
{
    return strcmp(th->name, "monochrome") == 0;
}

const struct tui_theme *theme_choose(const char *option, char *err, size_t errlen)
{
    /* --theme, else NIGHTSHIFT_THEME; NO_COLOR (non-empty) means no colour
     * whatever else says so (no-color.org). */
    const char *name = option && *option ? option : getenv("NIGHTSHIFT_THEME");
    const struct tui_theme *th = theme_find(name && *name ? name : "default");
    if (!th) {
        ns_errf(err, errlen, "unknown theme \"%s\" (default, light, monochrome)", name);
        return NULL;
    }
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        th = theme_find("monochrome");
    return th;
}
