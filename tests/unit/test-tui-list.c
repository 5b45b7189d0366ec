/* test-tui-list.c - the console's keyset-paginated cursor (tui/list.c) over
 * an in-memory "table", with a fetch that only ever sees an anchor and a
 * limit, as the SQL versions do. Counts the rows fetched to show that End
 * over a million rows reads one page, not the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tui/tui-internal.h"

struct table {
    int64_t *ids; /* ascending */
    int n;
    long fetched; /* rows handed out, over all calls */
};

struct row {
    int64_t id;
    char *label; /* owned, to check that windows free what they drop */
};

static int live_labels;

static void row_release(void *p)
{
    struct row *r = p;
    free(r->label);
    live_labels--;
}

static bool row_same(const void *a, const void *b)
{
    return ((const struct row *)a)->id == ((const struct row *)b)->id;
}

static void put(struct table *t, struct row *out, int i)
{
    out->id = t->ids[i];
    out->label = ns_xasprintf("row %lld", (long long)t->ids[i]);
    live_labels++;
    t->fetched++;
}

static int fetch(void *ctx, const void *anchor, int dir, int limit, void *outp)
{
    struct table *t = ctx;
    struct row *out = outp;
    const struct row *a = anchor;
    int n = 0;
    if (dir >= 0) {
        int i = 0;
        /* binary search stands in for the index */
        int lo = 0, hi = t->n;
        if (a) {
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (dir > 0 ? t->ids[mid] <= a->id : t->ids[mid] < a->id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            i = lo;
        }
        for (; i < t->n && n < limit; i++)
            put(t, &out[n++], i);
    } else {
        int i = t->n - 1;
        if (a) {
            int lo = 0, hi = t->n;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (t->ids[mid] < a->id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            i = lo - 1;
        }
        int first = i - limit + 1 < 0 ? 0 : i - limit + 1;
        for (int j = first; j <= i; j++)
            put(t, &out[n++], j);
    }
    return n;
}

static const struct tui_list_ops ops = {sizeof(struct row), row_release, fetch, row_same};

static struct table *table_new(int n)
{
    struct table *t = calloc(1, sizeof *t);
    t->ids = calloc((size_t)n + 1, sizeof *t->ids);
    for (int i = 0; i < n; i++)
        t->ids[i] = (int64_t)i * 2 + 1; /* gaps, like real ids after deletes */
    t->n = n;
    return t;
}

static int64_t cur_id(struct tui_list *l)
{
    return ((struct row *)list_current(l))->id;
}

static void test_paging(void **state)
{
    (void)state;
    struct table *t = table_new(100);
    struct tui_list l;
    list_init(&l, &ops, t);
    list_set_height(&l, 10);
    assert_int_equal(l.n, 10);
    assert_int_equal(cur_id(&l), 1);
    for (int i = 0; i < 9; i++)
        list_navigate(&l, TUI_CMD_DOWN);
    assert_int_equal(cur_id(&l), 19);
    list_navigate(&l, TUI_CMD_DOWN); /* past the window: it scrolls by one */
    assert_int_equal(cur_id(&l), 21);
    assert_int_equal(((struct row *)list_row(&l, 0))->id, 3);
    list_navigate(&l, TUI_CMD_PGDN);
    assert_int_equal(cur_id(&l), 41);
    list_navigate(&l, TUI_CMD_END);
    assert_int_equal(cur_id(&l), 199);
    assert_int_equal(l.n, 10);
    list_navigate(&l, TUI_CMD_DOWN); /* at the end: stays */
    assert_int_equal(cur_id(&l), 199);
    list_navigate(&l, TUI_CMD_PGDN);
    assert_int_equal(cur_id(&l), 199);
    for (int i = 0; i < 10; i++)
        list_navigate(&l, TUI_CMD_UP);
    assert_int_equal(cur_id(&l), 179);
    list_navigate(&l, TUI_CMD_PGUP);
    assert_int_equal(cur_id(&l), 159);
    list_navigate(&l, TUI_CMD_HOME);
    assert_int_equal(cur_id(&l), 1);
    list_navigate(&l, TUI_CMD_UP);
    assert_int_equal(cur_id(&l), 1);
    list_release(&l);
    assert_int_equal(live_labels, 0);
    free(t->ids);
    free(t);
}

static void test_reload_keeps_the_item(void **state)
{
    (void)state;
    struct table *t = table_new(50);
    struct tui_list l;
    list_init(&l, &ops, t);
    list_set_height(&l, 5);
    list_navigate(&l, TUI_CMD_PGDN);
    list_navigate(&l, TUI_CMD_DOWN);
    int64_t id = cur_id(&l);
    /* The first row of the window disappears (e.g. filtered out): the
     * window re-reads from its old first key, the cursor stays on its item. */
    int64_t first = ((struct row *)list_row(&l, 0))->id;
    for (int i = 0; i < t->n; i++)
        if (t->ids[i] == first) {
            memmove(&t->ids[i], &t->ids[i + 1], sizeof *t->ids * (size_t)(t->n - i - 1));
            t->n--;
            break;
        }
    list_reload(&l);
    assert_int_equal(cur_id(&l), id);
    /* Near the end, rows vanish: the last full page is shown. */
    list_navigate(&l, TUI_CMD_END);
    t->n -= 3;
    list_reload(&l);
    assert_int_equal(l.n, 5);
    assert_int_equal(((struct row *)list_row(&l, 4))->id, t->ids[t->n - 1]);
    /* Fewer rows than the window. */
    t->n = 2;
    list_reload(&l);
    assert_int_equal(l.n, 2);
    t->n = 0;
    list_reload(&l);
    assert_int_equal(l.n, 0);
    assert_null(list_current(&l));
    list_navigate(&l, TUI_CMD_DOWN);
    list_navigate(&l, TUI_CMD_END);
    list_release(&l);
    assert_int_equal(live_labels, 0);
    free(t->ids);
    free(t);
}

static void test_end_of_a_million_reads_one_page(void **state)
{
    (void)state;
    struct table *t = table_new(1000000);
    struct tui_list l;
    list_init(&l, &ops, t);
    list_set_height(&l, 40);
    t->fetched = 0;
    list_navigate(&l, TUI_CMD_END);
    assert_int_equal(cur_id(&l), 1999999);
    assert_true(t->fetched <= 40);
    t->fetched = 0;
    list_navigate(&l, TUI_CMD_UP);
    for (int i = 0; i < 50; i++)
        list_navigate(&l, TUI_CMD_UP);
    assert_true(t->fetched <= 12); /* one row per scroll step past the top */
    list_release(&l);
    assert_int_equal(live_labels, 0);
    free(t->ids);
    free(t);
}

static void test_columns(void **state)
{
    (void)state;
    struct tui_col c[3] = {{"A", 4, 0, false, false, 0, false},
                           {"MSG", 10, 2, true, false, 0, false},
                           {"B", 6, 1, false, true, 0, false}};
    cols_layout(c, 3, 40);
    assert_true(c[0].shown && c[1].shown && c[2].shown);
    assert_int_equal(c[0].x, 0);
    assert_int_equal(c[1].x, 5);
    assert_int_equal(c[1].width, 40 - 4 - 6 - 2); /* the flex column takes the rest */
    assert_int_equal(c[2].x, 5 + c[1].width + 1);
    struct tui_col d[3] = {{"A", 4, 0, false, false, 0, false},
                           {"MSG", 10, 2, true, false, 0, false},
                           {"B", 6, 1, false, true, 0, false}};
    cols_layout(d, 3, 12); /* narrow: the least important column goes */
    assert_true(d[0].shown && d[2].shown);
    assert_false(d[1].shown);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_reload_keeps_the_item),
        cmocka_unit_test(test_end_of_a_million_reads_one_page),
        cmocka_unit_test(test_columns),
    };
    return cmocka_run_group_tests_name("tui-list", tests, NULL, NULL);
}
