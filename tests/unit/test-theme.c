/* test-theme.c - every colour pair a console theme draws text with has a
 * WCAG 2 contrast of at least 4.5:1: in the xterm 256-colour palette (the
 * one every 256-colour terminal shares, and the one the screenshot
 * renderer paints with), and for the title bar and key labels also in the
 * eight basic colours. A role drawn on the terminal's default background
 * is checked against the background the theme is made for (dark for
 * default, white for light). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tui/tui-internal.h"

static void test_contrast_formula(void **state)
{
    (void)state;
    /* WCAG's own end points and a known pair. */
    assert_true(theme_contrast(0x000000, 0xffffff) > 20.99);
    assert_true(theme_contrast(0x777777, 0x777777) < 1.0001);
    double c = theme_contrast(0x767676, 0xffffff); /* the classic 4.54:1 grey */
    assert_true(c > 4.5 && c < 4.6);
    /* The palette: cube, greys, base colours. */
    assert_int_equal(theme_rgb(16), 0x000000);
    assert_int_equal(theme_rgb(37), 0x00afaf);
    assert_int_equal(theme_rgb(231), 0xffffff);
    assert_int_equal(theme_rgb(244), 0x808080);
    assert_int_equal(theme_rgb(6), 0x00cdcd);
}

/* The README's screenshots had dark grey on teal in the title bar: the
 * pair must not come back. */
static void test_every_text_pair(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t i = 0; theme_at(i); i++) {
        const struct tui_theme *th = theme_at(i);
        if (theme_is_mono(th))
            continue;
        for (int r = TUI_C_OK; r < TUI_C_COUNT; r++) {
            const struct tui_role_colors *rc = &th->role[r];
            int fg = rc->fg < 0 ? th->assumed_fg : rc->fg;
            int bg = rc->bg < 0 ? th->assumed_bg : rc->bg;
            double c = theme_contrast(theme_rgb(fg), theme_rgb(bg));
            if (c < 4.5)
                fail_msg("theme %s role %d: colour %d on %d is %.2f:1", th->name, r, fg, bg, c);
            checked++;
            if (rc->fg8 >= 0 && rc->bg8 >= 0) { /* both given: the bars */
                c = theme_contrast(theme_rgb(rc->fg8), theme_rgb(rc->bg8));
                if (c < 4.5)
                    fail_msg("theme %s role %d (8 colours): %d on %d is %.2f:1", th->name, r,
                             rc->fg8, rc->bg8, c);
                checked++;
            }
        }
    }
    assert_true(checked >= 2 * 9);
}

static void test_theme_names(void **state)
{
    (void)state;
    assert_non_null(theme_find("default"));
    assert_non_null(theme_find("Light"));
    assert_true(theme_is_mono(theme_find("monochrome")));
    assert_null(theme_find("solarized"));
    char err[128];
    unsetenv("NO_COLOR");
    setenv("NIGHTSHIFT_THEME", "light", 1);
    assert_string_equal(theme_choose(NULL, err, sizeof err)->name, "light");
    assert_string_equal(theme_choose("default", err, sizeof err)->name, "default");
    setenv("NO_COLOR", "1", 1);
    assert_string_equal(theme_choose("light", err, sizeof err)->name, "monochrome");
    unsetenv("NO_COLOR");
    assert_null(theme_choose("solarized", err, sizeof err));
    assert_non_null(strstr(err, "unknown theme \"solarized\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_contrast_formula),
                                       cmocka_unit_test(test_every_text_pair),
                                       cmocka_unit_test(test_theme_names)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
