/*
 * test_metrics.c — /metrics text as Prometheus reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void test_counters_histogram_and_help(void **state)
{
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    metrics_request(m, "at-ussd", 200, 0.0008);
    metrics_request(m, "at-ussd", 200, 0.3);
    metrics_request(m, "at-ussd", 400, 0.0001);
    metrics_add(m, "hotline_forwards_total", "queue", "urgent", 1);
    metrics_set(m, "hotline_spool_depth", 3);
    text = metrics_render(m);
    assert_non_null(strstr(text,
        "# TYPE hotline_requests_total counter\n"
        "hotline_requests_total{channel=\"at-ussd\",status=\"200\"} 2\n"
        "hotline_requests_total{channel=\"at-ussd\",status=\"400\"} 1\n"));
    assert_non_null(strstr(text,
        "hotline_request_seconds_bucket{channel=\"at-ussd\",le=\"0.001\"} 2\n"));
    assert_non_null(strstr(text,
        "hotline_request_seconds_bucket{channel=\"at-ussd\",le=\"0.5\"} 3\n"));
    assert_non_null(strstr(text,
        "hotline_request_seconds_count{channel=\"at-ussd\"} 3\n"));
    assert_non_null(strstr(text, "hotline_forwards_total{queue=\"urgent\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE hotline_spool_depth gauge\n"
                                 "hotline_spool_depth 3\n"));
    free(text);
    metrics_free(m);
}

static void test_label_values_cannot_break_the_format(void **state)
{
    struct metrics *m = metrics_new();
    char *text;

    (void)state;
    metrics_add(m, "hotline_sessions_total", "channel", "a\"b\\c\nd", 1);
    text = metrics_render(m);
    assert_non_null(strstr(text, "hotline_sessions_total{channel=\"abcd\"} 1\n"));
    free(text);
    metrics_free(m);
}

/* Workers: three slots of one shared mapping; any slot renders the sum. */
static void test_workers_slots_sum_into_one_answer(void **state)
{
    struct metrics_shm *shm = metrics_shm_new(3);
    struct metrics *w[3];
    char *text;

    (void)state;
    assert_non_null(shm);
    for (int i = 0; i < 3; i++) {
        w[i] = metrics_shm_slot(shm, i);
        assert_non_null(w[i]);
        assert_int_equal(metrics_shared(w[i]), 1);
        metrics_shm_worker(shm, i, 1000 + i, 1, 0);
    }
    assert_null(metrics_shm_slot(shm, 3));
    metrics_request(w[0], "at-ussd", 200, 0.0008);
    metrics_request(w[1], "at-ussd", 200, 0.3);
    metrics_request(w[1], "at-ussd", 200, 0.0001);
    metrics_request(w[2], "at-ussd", 400, 0.0001);
    metrics_add(w[2], "hotline_forwards_total", "queue", "urgent", 2);
    metrics_add(w[0], "hotline_forwards_total", "queue", "urgent", 1);
    metrics_set(w[0], "hotline_inflight", 2);
    metrics_set(w[1], "hotline_inflight", 3);
    metrics_set(w[0], "hotline_redis_up", 1);
    metrics_set(w[1], "hotline_redis_up", 0);
    metrics_set(w[2], "hotline_redis_up", 1);
    metrics_set(w[0], "hotline_spool_depth", 7);   /* from its files */
    metrics_set(w[2], "hotline_spool_depth", 4);   /* older count */
    /* Worker 1 died: its counts stay, its gauges go. */
    metrics_shm_worker(shm, 1, 1001, 0, 0);
    text = metrics_render(w[2]);
    assert_non_null(strstr(text,
        "hotline_requests_total{channel=\"at-ussd\",status=\"200\"} 3\n"));
    assert_non_null(strstr(text,
        "hotline_requests_total{channel=\"at-ussd\",status=\"400\"} 1\n"));
    assert_non_null(strstr(text,
        "hotline_request_seconds_bucket{channel=\"at-ussd\",le=\"0.001\"} 3\n"));
    assert_non_null(strstr(text,
        "hotline_request_seconds_count{channel=\"at-ussd\"} 4\n"));
    assert_non_null(strstr(text, "hotline_forwards_total{queue=\"urgent\"} 3\n"));
    assert_non_null(strstr(text, "hotline_inflight 2\n"));
    assert_non_null(strstr(text, "hotline_redis_up 1\n"));
    assert_non_null(strstr(text, "hotline_spool_depth 4\n"));
    assert_non_null(strstr(text, "hotline_worker_up{worker=\"1\"} 0\n"));
    assert_non_null(strstr(text, "hotline_worker_requests_total{worker=\"1\"} 2\n"));
    assert_non_null(strstr(text, "hotline_workers 3\n"));
    free(text);
    /* Restarted into its slot: its gauges count again from zero, its
     * counters went on. */
    metrics_shm_worker(shm, 1, 1003, 1, 1);
    metrics_gauges_reset(w[1]);
    metrics_set(w[1], "hotline_inflight", 1);
    metrics_request(w[1], "at-ussd", 200, 0.0001);
    text = metrics_render(w[0]);
    assert_non_null(strstr(text,
        "hotline_requests_total{channel=\"at-ussd\",status=\"200\"} 4\n"));
    assert_non_null(strstr(text, "hotline_redis_up 0\n"));
    assert_non_null(strstr(text, "hotline_inflight 3\n"));
    assert_non_null(strstr(text, "hotline_spool_depth 7\n"));
    assert_non_null(strstr(text, "hotline_worker_restarts_total{worker=\"1\"} 1\n"));
    free(text);
    metrics_free(w[0]);                 /* a slot: nothing to free */
    metrics_shm_free(shm);
    assert_null(metrics_shm_new(0));
    assert_null(metrics_shm_new(METRICS_MAX_WORKERS + 1));
}

/* Many series (more than fit one probe run of the index): each keeps its
 * own count, and a table that is full takes no more. */
static void test_many_series_keep_their_counts(void **state)
{
    struct metrics *m = metrics_new();
    char q[32], want[96];
    char *text;

    (void)state;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 200; i++) {
            snprintf(q, sizeof q, "q%d", i);
            metrics_add(m, "hotline_forwards_total", "queue", q, i);
        }
    /* 200 series so far; each status one more, after the first status's
     * histogram: the 256th and last is status 254 */
    for (int i = 0; i < 80; i++)
        metrics_request(m, "ch", 200 + i, 0.001);
    text = metrics_render(m);
    for (int i = 0; i < 200; i++) {
        snprintf(want, sizeof want,
                 "hotline_forwards_total{queue=\"q%d\"} %d\n", i, 3 * i);
        assert_non_null(strstr(text, want));
    }
    assert_non_null(strstr(text, "hotline_requests_total{channel=\"ch\",status=\"200\"} 1\n"));
    assert_non_null(strstr(text, "status=\"254\"} 1\n"));
    assert_null(strstr(text, "status=\"255\""));
    free(text);
    metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_histogram_and_help),
        cmocka_unit_test(test_label_values_cannot_break_the_format),
        cmocka_unit_test(test_workers_slots_sum_into_one_answer),
        cmocka_unit_test(test_many_series_keep_their_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
