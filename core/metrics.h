/*
 * metrics.h — counters, gauges and a latency histogram, rendered in the
 * Prometheus text format for GET /metrics. Series are created on first use
 * (bounded: METRICS_MAX_SERIES); labels are channel, status or queue names
 * from the config, never caller data.
 */
#ifndef HOTLINE_METRICS_H
#define HOTLINE_METRICS_H

#include <stddef.h>

struct metrics;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);   /* accepts NULL */

/* Adds v to counter `name` with one label (label_name="label"), or no label
 * when label_name is NULL. */
void metrics_add(struct metrics *m, const char *name, const char *label_name,
                 const char *label, double v);
/* Sets a gauge. */
void metrics_set(struct metrics *m, const char *name, double v);
/* One HTTP request on a channel: counts it by status and observes its
 * latency in the histogram hotline_request_seconds{channel}. */
void metrics_request(struct metrics *m, const char *channel, int status,
                     double seconds);
/* Observes a duration of minutes to days (staff response times) in
 * histogram `name`, with one label or none (label_name NULL). */
void metrics_observe_long(struct metrics *m, const char *name,
                          const char *label_name, const char *label,
                          double seconds);
/* Renders every series; returns a malloc'd NUL-terminated text. */
char *metrics_render(const struct metrics *m);

#endif
