/*
 * test_super.c — the supervisor view's figures: nearest-rank percentiles
 * and the start of the day they count from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "super.h"

static void test_percentiles_nearest_rank(void **state)
{
    const long long one[] = { 7000 };
    const long long ten[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    const long long four[] = { 10, 20, 30, 1000 };

    (void)state;
    assert_int_equal(super_pct(one, 1, 50), 7000);
    assert_int_equal(super_pct(one, 1, 90), 7000);
    assert_int_equal(super_pct(ten, 10, 50), 5);
    assert_int_equal(super_pct(ten, 10, 90), 9);
    assert_int_equal(super_pct(ten, 10, 100), 10);
    assert_int_equal(super_pct(four, 4, 50), 20);
    assert_int_equal(super_pct(four, 4, 90), 1000);
}

static void test_midnight_utc(void **state)
{
    (void)state;
    /* 2026-11-30 16:40:10.593 UTC -> 2026-11-30 00:00 UTC */
    assert_int_equal(super_midnight(1796056810593LL), 1795996800000LL);
    assert_int_equal(super_midnight(1795996800000LL), 1795996800000LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles_nearest_rank),
        cmocka_unit_test(test_midnight_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
