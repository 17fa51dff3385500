/*
 * alert.h — alert delivery: the worker that brings every help request to
 * hotline staff (DESIGN.md, "Redis" and "When something fails").
 *
 * Each configured queue's stream P q:QUEUE is read through the consumer
 * group "alerts" by every hotlined process (consumer HOST-PID), on the
 * daemon's event loop, over a Redis connection of its own so the USSD path
 * never waits behind it. For each entry, every alert of its queue (webhook,
 * SMS to each staff number, e-mail) is delivered through libcurl's multi
 * interface; the entry is acknowledged (XACK) only when all were. Failures
 * are retried with exponential backoff and jitter, and only the failed
 * alerts are sent again; after alerts.attempts tries, or at once when the
 * entry is malformed, it moves to the dead-letter stream P dead:QUEUE.
 * Entries a dead worker left pending for alerts.claim_s are taken over
 * (XAUTOCLAIM). Delivery is at-least-once: a crash between sending and
 * recording may send one alert once more, never lose one.
 *
 * Keys (prefix P):
 *   P q:QUEUE        the help requests (session.c writes them)
 *   P ad:QUEUE:ID    hash of one entry's delivery: n (attempts begun) and
 *                    d:FP = 1 for each alert target delivered, FP being a
 *                    fingerprint of the target (so a reload that reorders
 *                    alerts neither skips nor repeats one); expires in a day
 *   P dead:QUEUE     dead letters: the entry's fields + error, attempts,
 *                    entry (the original id), delivered (the d:FP of the
 *                    targets that had it, space-separated; super.h's retry
 *                    marks them delivered on the new entry)
 *
 * Metrics: hotline_alerts_sent_total{type}, hotline_alerts_failed_total{type}
 * (type = webhook | sms | email), hotline_alerts_acked_total{queue},
 * hotline_alerts_dead_total{queue}, gauge hotline_alerts_inflight.
 */
#ifndef HOTLINE_ALERT_H
#define HOTLINE_ALERT_H

/* Seconds a delivery hash (P ad:QUEUE:ID) lives after its last attempt, as
 * a string for the scripts: it outlives any retry. */
#define ALERT_AD_TTL_S "86400"

struct gw;
struct alert;

/* Starts the worker on gw's loop: it connects its own store to the
 * configured Redis and reads gw->cfg afresh on every poll (a reload applies
 * to the next attempt; an attempt under way keeps its config). Uses gw->hc
 * and gw->metrics, which must outlive it. NULL when out of memory. */
struct alert *alert_new(struct gw *gw);
/* Stops the worker. Entries under way stay pending in Redis and are taken
 * over by a worker after claim_s (at most one more send of each alert).
 * Call before hc_free. Accepts NULL. */
void alert_free(struct alert *a);
/* Polls the streams at once (e.g. right after a help request was filed)
 * instead of at the next 100 ms tick. Accepts NULL. */
void alert_kick(struct alert *a);
/* Points the worker's connection at another Redis (Sentinel failover). */
void alert_retarget(struct alert *a, const char *host, int port);

#endif
