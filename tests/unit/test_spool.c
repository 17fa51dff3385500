/*
 * test_spool.c — the local spool keeps every help request across a Redis
 * outage and a restart, hands them out for a drain, and forgets them only
 * when told they were filed — also when two processes share it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
    spool_drained(sp);
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

/* A drain that failed (or that no replica confirmed) keeps its records; the
 * next drain hands them out again, and the one after that the records
 * spooled since (FILE is renamed, never copied, so it waits its turn). */
static void test_next_drain_takes_old_and_new_records(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;

    (void)state;
    assert_int_equal(spool_append(sp, "old", 3), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    spool_free_records(recs, n);
    assert_int_equal(spool_append(sp, "new", 3), 0);
    spool_release(sp);
    assert_int_equal(spool_depth(sp), 2);
    assert_int_equal(spool_pending(sp), 1);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "old");
    spool_free_records(recs, n);
    spool_drained(sp);
    assert_int_equal(spool_depth(sp), 1);
    assert_int_equal(spool_pending(sp), 1);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "new");
    spool_free_records(recs, n);
    spool_drained(sp);
    assert_int_equal(spool_depth(sp), 0);
    assert_int_equal(spool_pending(sp), 0);
    spool_close(sp);
}

/* Two processes on one spool (an upgrade): one drains at a time, and a
 * record the other appends mid-drain is neither lost nor taken by it. */
static void test_two_processes_share_a_spool(void **state)
{
    char err[128];
    struct spool *a = spool_open(path, err, sizeof err);
    struct spool *b = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;

    (void)state;
    assert_int_equal(spool_append(a, "from-a", 6), 0);
    assert_int_equal(spool_take(a, &recs, &n), 0);
    assert_int_equal(n, 1);
    spool_free_records(recs, n);
    assert_int_equal(spool_take(b, &recs, &n), 1);     /* a is draining */
    assert_null(recs);
    assert_int_equal(spool_append(b, "from-b", 6), 0);
    spool_drained(a);
    /* a counts b's record; b's counter knew only its own. */
    assert_int_equal(spool_depth(a), 1);
    assert_int_equal(spool_pending(a), 1);
    spool_close(b);                 /* b exits before draining */
    assert_int_equal(spool_take(a, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "from-b");
    spool_free_records(recs, n);
    spool_drained(a);
    assert_int_equal(spool_pending(a), 0);
    spool_close(a);
}

static int starts_with_x(const char *rec, void *arg)
{
    (void)arg;
    return rec[0] == 'x';
}

/* `cases erase --spool`: records of the number go from both files, the
 * others stay (and are drained next), a running spool keeps appending. */
static void test_erase_removes_only_matching_records(void **state)
{
    char err[256];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n, removed;

    (void)state;
    assert_int_equal(spool_append(sp, "x-old", 5), 0);
    assert_int_equal(spool_append(sp, "keep-old", 8), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);   /* a failed drain */
    spool_free_records(recs, n);
    spool_release(sp);
    assert_int_equal(spool_append(sp, "x-new", 5), 0);
    assert_int_equal(spool_append(sp, "keep-new", 8), 0);

    assert_int_equal(spool_erase(path, starts_with_x, NULL, &removed, err,
                                 sizeof err), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(spool_append(sp, "after", 5), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0], "keep-old");
    assert_string_equal(recs[1], "keep-new");
    spool_free_records(recs, n);
    spool_release(sp);
    /* Nothing more of it: the files are left as they are. */
    assert_int_equal(spool_erase(path, starts_with_x, NULL, &removed, err,
                                 sizeof err), 0);
    assert_int_equal(removed, 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 2);
    spool_free_records(recs, n);
    spool_drained(sp);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "after");
    spool_free_records(recs, n);
    spool_drained(sp);
    assert_int_equal(spool_pending(sp), 0);
    spool_close(sp);

    assert_int_equal(spool_erase("/nonexistent-dir/spool", starts_with_x,
                                 NULL, &removed, err, sizeof err), -1);
    assert_string_equal(err, "no spool at /nonexistent-dir/spool: "
                             "No such file or directory");
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
    spool_drained(sp);
    spool_close(sp);

    /* A crash mid-write, then a restart: the torn tail is cut off, and the
     * next record is not glued onto it. */
    f = fopen(path, "a");
    fputs("kept\ntorn-again", f);
    fclose(f);
    sp = spool_open(path, err, sizeof err);
    assert_non_null(sp);
    assert_int_equal(spool_append(sp, "after", 5), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0], "kept");
    assert_string_equal(recs[1], "after");
    spool_free_records(recs, n);
    spool_close(sp);
}

/* Caps the size any file of this process may grow to (bytes), with
 * SIGXFSZ ignored: a write past it is short or fails with EFBIG, as on a
 * full disk, without mounting one. RLIM_INFINITY lifts the cap again. */
static void cap_file_size(rlim_t bytes)
{
    struct rlimit rl;

    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
    rl.rlim_cur = bytes == RLIM_INFINITY ? rl.rlim_max : bytes;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static off_t file_size(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 ? st.st_size : -1;
}

/* A full disk mid-append: the caller is refused (fallback screen), the
 * file is as before, and the next caller's record is whole — not glued to
 * a fragment and skipped as malformed at drain. */
static void test_failed_append_leaves_no_fragment(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char big[200];
    char **recs;
    size_t n;

    (void)state;
    memset(big, 'b', sizeof big);
    assert_int_equal(spool_append(sp, "first", 5), 0);
    cap_file_size(6 + 50);          /* "first\n" and 50 bytes more */
    assert_int_equal(spool_append(sp, big, sizeof big), -1);
    cap_file_size(RLIM_INFINITY);
    assert_int_equal(file_size(path), 6);
    assert_int_equal(spool_depth(sp), 1);
    assert_int_equal(spool_append(sp, "next", 4), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0], "first");
    assert_string_equal(recs[1], "next");
    spool_free_records(recs, n);
    spool_drained(sp);
    spool_close(sp);
}

/* Another process sharing the spool crashed mid-write: the torn line it
 * left is cut before this process appends, not glued to the next record. */
static void test_torn_tail_cut_before_the_next_append(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;
    FILE *f;

    (void)state;
    assert_int_equal(spool_append(sp, "whole", 5), 0);
    f = fopen(path, "a");
    fputs("torn-by-a-crash", f);
    fclose(f);
    assert_int_equal(spool_append(sp, "next", 4), 0);
    assert_int_equal(spool_take(sp, &recs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0], "whole");
    assert_string_equal(recs[1], "next");
    spool_free_records(recs, n);
    spool_drained(sp);
    spool_close(sp);
}

/* A drain on a full disk: taking the records writes nothing (no second
 * copy of the spool), so it works when not one byte more fits. */
static void test_take_needs_no_free_space(void **state)
{
    char err[128];
    struct spool *sp = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;
    int rc;

    (void)state;
    assert_int_equal(spool_append(sp, "one", 3), 0);
    assert_int_equal(spool_append(sp, "two", 3), 0);
    cap_file_size(1);
    rc = spool_take(sp, &recs, &n);
    cap_file_size(RLIM_INFINITY);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 2);
    assert_string_equal(recs[0], "one");
    assert_string_equal(recs[1], "two");
    spool_free_records(recs, n);
    spool_drained(sp);
    assert_int_equal(spool_pending(sp), 0);
    spool_close(sp);
}

/* A drain in one process moves FILE away: the other process's next append
 * still lands in FILE (it reopens it), never in the file being drained. */
static void test_append_after_another_process_drained(void **state)
{
    char err[128];
    struct spool *a = spool_open(path, err, sizeof err);
    struct spool *b = spool_open(path, err, sizeof err);
    char **recs;
    size_t n;

    (void)state;
    assert_int_equal(spool_append(b, "b1", 2), 0);
    assert_int_equal(spool_take(a, &recs, &n), 0);
    assert_int_equal(n, 1);
    spool_free_records(recs, n);
    assert_int_equal(spool_append(b, "b2", 2), 0);
    spool_drained(a);               /* b1 filed: FILE.draining deleted */
    assert_int_equal(spool_take(a, &recs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0], "b2");
    spool_free_records(recs, n);
    spool_drained(a);
    assert_int_equal(spool_pending(a), 0);
    spool_close(a);
    spool_close(b);
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
        cmocka_unit_test_setup_teardown(test_next_drain_takes_old_and_new_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_share_a_spool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_removes_only_matching_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_bad_records_and_skips_torn_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_append_leaves_no_fragment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_cut_before_the_next_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_needs_no_free_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_after_another_process_drained, setup, teardown),
        cmocka_unit_test(test_open_error_names_the_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
