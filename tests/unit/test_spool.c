/*
 * test_spool.c — the local spool keeps every help request across a Redis
 * outage and a restart, hands them out for a drain, and forgets them only
 * when told they were filed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/hotline-spool-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/spool.jsonl", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void test_records_survive_reopen(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;

    (void)state;
    assert_non_null(sp);
    assert_int_equal(spool_append(sp, "[\"a\"]", 5), 0);
    assert_int_equal(spool_append(sp, "[\"b\"]", 5), 0);
    assert_int_equal(spool_depth(sp), 2);
    spool_close(sp);

    sp = spool_open(path, err, sizeof err);
    assert_int_equal(spool_depth(sp), 2);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0], "[\"a\"]");
    assert_string_equal(recs[1], "[\"b\"]");
    spool_free_records(recs, n);
    /* New records during a drain go to the fresh file. */
    assert_int_equal(spool_append(sp, "[\"c\"]", 5), 0);
    assert_int_equal(spool_depth(sp), 3);
    spool_drained(sp, 2);
    assert_int_equal(spool_depth(sp), 1);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "[\"c\"]");
    spool_free_records(recs, n);
    spool_close(sp);
}

static void test_failed_drain_keeps_records(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;

    (void)state;
    assert_int_equal(spool_append(sp, "r1", 2), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    spool_free_records(recs, n);
    /* Not drained: a crash now, then a restart, finds the record again. */
    spool_close(sp);
    sp = spool_open(path, err, sizeof err);
    assert_int_equal(spool_depth(sp), 1);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "r1");
    spool_free_records(recs, n);
    spool_close(sp);
}

static void test_refuses_bad_records_and_skips_torn_lines(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;
    FILE *f;

    (void)state;
    assert_int_equal(spool_append(sp, "two\nlines", 9), -1);
    assert_int_equal(spool_append(sp, "", 0), -1);
    assert_int_equal(spool_append(sp, "whole", 5), 0);
    f = fopen(path, "a");
    fputs("torn-by-a-crash", f);    /* no newline: an interrupted write */
    fclose(f);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "whole");
    spool_free_records(recs, n);
    spool_close(sp);
}

static void test_open_error_names_the_file(void **state)
{
    char err[256];

    (void)state;
    assert_null(spool_open("/nonexistent-dir/spool", err, sizeof err));
    assert_string_equal(err,
                        "spool /nonexistent-dir/spool: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_records_survive_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_drain_keeps_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_bad_records_and_skips_torn_lines, setup, teardown),
        cmocka_unit_test(test_open_error_names_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
