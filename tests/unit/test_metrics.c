/*
 * test_metrics.c — /metrics text as Prometheus reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_histogram_and_help),
        cmocka_unit_test(test_label_values_cannot_break_the_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
