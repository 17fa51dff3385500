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
struct metrics_shm;

#define METRICS_MAX_WORKERS 64

/* A private table (one process, workers = 1). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);   /* accepts NULL; a slot: no-op */

/* Workers: one MAP_SHARED mapping, made before the fork, with one table
 * (slot) per worker and each worker's pid, up flag and restart count.
 * metrics_render of any slot renders the sum over all slots: counters and
 * histograms of every slot, gauges of the workers up (summed; a few taken
 * as min, max, or from the answering worker only: metrics.c), then the
 * per-worker series hotline_worker_{up,restarts_total,requests_total,
 * rss_bytes}{worker="i"}. NULL when nworkers is out of 1..64 or mmap
 * fails. */
struct metrics_shm *metrics_shm_new(int nworkers);
void metrics_shm_free(struct metrics_shm *shm);     /* accepts NULL */
/* Worker i's table (NULL when i is out of range). */
struct metrics *metrics_shm_slot(struct metrics_shm *shm, int i);
/* The supervisor's record of worker i: its pid, whether it runs, and one
 * more restart when `restarted`. */
void metrics_shm_worker(struct metrics_shm *shm, int i, int pid, int up,
                        int restarted);
/* Zeroes every gauge of m: a worker started again in a slot does not
 * show its predecessor's (counters go on). */
void metrics_gauges_reset(struct metrics *m);
/* 1 when m is a worker's slot of a shared mapping. */
int metrics_shared(const struct metrics *m);

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
