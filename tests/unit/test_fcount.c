/*
 * test_fcount.c — the funnel's in-process table (gateway/fcount.c): a field
 * counted twice is one entry, a full table flushes early, and with a batch
 * still out (here: no Redis at all) a new field is dropped and counted,
 * never an old count lost. The flush itself runs against real Redis in
 * tests/integration/test_menu_publish.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcount.h"
#include "metrics.h"

static void test_same_field_one_entry(void **state)
{
    struct event_base *base = event_base_new();
    struct fcount *f = fcount_new(base, NULL, NULL, "hl:");

    (void)state;
    assert_non_null(f);
    for (int i = 0; i < 5; i++)
        assert_int_equal(fcount_add(f, "hl:menu:m:f:1", "main|en|visit"), 0);
    assert_int_equal(fcount_add(f, "hl:menu:m:f:2", "main|en|visit"), 0);
    assert_int_equal(fcount_pending(f), 6);
    fcount_flush(f);            /* no Redis: the batch stays */
    assert_int_equal(fcount_pending(f), 6);
    fcount_free(f);
    event_base_free(base);
}

static void test_full_table_flushes_then_drops(void **state)
{
    struct event_base *base = event_base_new();
    struct metrics *m = metrics_new();
    struct fcount *f = fcount_new(base, NULL, m, "hl:");
    char field[64];
    int kept = 0, dropped = 0;
    char *text;

    (void)state;
    assert_non_null(f);
    for (int i = 0; i < FCOUNT_CAP + 100; i++) {
        snprintf(field, sizeof field, "n%d|en|visit", i);
        if (fcount_add(f, "hl:menu:m:f:1", field) == 0)
            kept++;
        else
            dropped++;
    }
    /* full once: a batch taken out made room; full again with it out */
    assert_int_equal(kept, FCOUNT_CAP + FCOUNT_BATCH);
    assert_int_equal(dropped, 100 - FCOUNT_BATCH);
    assert_int_equal(fcount_pending(f), kept);
    /* a field already in the table still counts */
    assert_int_equal(fcount_add(f, "hl:menu:m:f:1", "n0|en|visit"), 0);
    assert_int_equal(fcount_pending(f), kept + 1);
    text = metrics_render(m);
    assert_non_null(strstr(text, "hotline_funnel_dropped_total 60"));
    free(text);
    fcount_free(f);
    metrics_free(m);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_field_one_entry),
        cmocka_unit_test(test_full_table_flushes_then_drops),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
