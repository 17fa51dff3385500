/*
 * drain.c — moves help requests from the local spool into Redis once Redis
 * is reachable again.
 *
 * Each spool record is the exact argument list of the STEP script (session.c)
 * with the session write blanked, so replaying it only files the request —
 * idempotently: a case whose owner is the same walk is "already filed" —
 * and under the reference its caller was told (session.c, "The reference
 * told": the blank ttl marks a replay).
 * A drain replays every record of FILE.draining, at most DRAIN_INFLIGHT
 * unanswered at a time (a spool of thousands sent at once made a Redis
 * that had just restarted miss the command deadline, and each retry sent
 * them all again), and stops sending at the first failure; only when all
 * of them were acknowledged is the file deleted, and a drain of what FILE gathered
 * meanwhile follows at once. Any failure keeps it for the next try
 * (the periodic timer in main.c, or the next reconnect).
 *
 * The drain runs on the filing connection when it is up. With
 * redis.wait_replicas = N, once every record was acknowledged a WAIT N
 * follows them there (confirm.h), and the file is deleted only when N
 * replicas hold them: a record is the only copy that survives a master
 * dying before it replicated.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "confirm.h"
#include "gw.h"
#include "log.h"
#include "redis_full.h"
#include "spool.h"
#include "store.h"

#define DRAIN_ARGS_MAX 96
#define DRAIN_INFLIGHT 64       /* records sent and not yet answered */

struct drain {
    struct gw *gw;
    struct store *store;        /* the connection every record went on */
    unsigned gen;               /* its connection when the drain began */
    int replicas;               /* WAIT for this many; 0 = do not */
    int unconfirmed;            /* the WAIT found fewer */
    char **recs;                /* the records taken (spool_take) */
    size_t total;
    size_t next;                /* recs[next] is the next one to send */
    size_t waiting;
    size_t failed;
    size_t filed;
};

static void drain_end(struct drain *d)
{
    struct gw *gw;
    int again;

    if (d->failed == 0 && d->unconfirmed) {
        log_warn("spool: %zu help requests are in Redis (%zu new) but fewer "
                 "than %d replicas confirmed them; kept in the spool",
                 d->total, d->filed, d->gw->cfg->wait_replicas);
    } else if (d->failed == 0) {
        spool_drained(d->gw->spool);
        log_info("spool: %zu help requests moved to Redis (%zu new)",
                 d->total, d->filed);
    } else {
        log_warn("spool: %zu of %zu help requests not moved yet; will retry",
                 d->failed + (d->total - d->next), d->total);
    }
    if (d->failed || d->unconfirmed)
        spool_release(d->gw->spool);
    again = d->failed == 0 && !d->unconfirmed;
    d->gw->spool_busy = 0;
    gw = d->gw;
    spool_free_records(d->recs, d->total);
    free(d);
    /* A drain takes one file: records spooled while a failed one waited
     * are in FILE, taken now rather than at the next timer tick. */
    if (again && spool_pending(gw->spool))
        gw_spool_drain(gw);
}

static void on_replicated(int ok, void *arg)
{
    struct drain *d = arg;

    if (!ok)
        d->unconfirmed = 1;
    drain_end(d);
}

/* Every record was answered: with wait_replicas, ask the replicas before
 * the spool may go. */
static void records_done(struct drain *d)
{
    if (d->failed == 0 && d->replicas > 0 && !d->unconfirmed)
        confirm_after(d->gw->confirm, d->gen, d->replicas,
                      d->gw->cfg->wait_ms, on_replicated, d);
    else
        drain_end(d);
}

static int send_record(struct drain *d, const char *rec);

/* Sends records until DRAIN_INFLIGHT are unanswered, every one was sent,
 * or one failed (the rest wait for the next drain: a replay files once);
 * ends the drain when nothing is unanswered any more. */
static void drain_pump(struct drain *d)
{
    d->waiting++;               /* held: no reply inside ends the drain */
    while (d->next < d->total && d->failed == 0 &&
           d->waiting <= DRAIN_INFLIGHT) {
        int rc;

        d->waiting++;
        rc = send_record(d, d->recs[d->next++]);
        if (rc != 0) {
            d->waiting--;
            if (rc < 0)
                d->failed++;
        }
    }
    if (--d->waiting == 0)
        records_done(d);
}

static void on_filed(struct redisReply *reply, void *arg)
{
    struct drain *d = arg;

    redis_full_note(d->gw, reply, "drain");
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->integer < 0)
        d->failed++;
    else if (reply->element[0]->integer == 1)
        d->filed++;
    d->waiting--;
    drain_pump(d);
}

/* Sends one record; returns 0 when sent. A malformed record is counted as
 * done (it can never succeed) and logged without its content. */
static int send_record(struct drain *d, const char *rec)
{
    json_error_t jerr;
    json_t *arr = json_loads(rec, 0, &jerr);
    const char *av[DRAIN_ARGS_MAX];
    size_t al[DRAIN_ARGS_MAX];
    size_t n;
    int rc = -1;

    if (!arr || !json_is_array(arr) || json_array_size(arr) < GW_STEP_NKEYS_V1 + 13 ||
        json_array_size(arr) > DRAIN_ARGS_MAX) {
        log_error("spool: a malformed record was skipped");
        json_decref(arr);
        return 1;
    }
    n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);

        av[i] = json_string_value(v);
        al[i] = json_string_length(v);
        if (!av[i]) {
            log_error("spool: a malformed record was skipped");
            json_decref(arr);
            return 1;
        }
    }
    /* hiredis copies the arguments when formatting the command. A record
     * spooled before the case index had fewer keys (gw.h). */
    if (n >= GW_STEP_MIN_ARGS &&
        strcmp(av[GW_STEP_NKEYS], GW_STEP_LAYOUT) == 0)
        rc = store_eval(d->store, GW_SCRIPT_STEP, on_filed, d, GW_STEP_NKEYS,
                        (int)n, av, al);
    else
        rc = store_eval(d->store, GW_SCRIPT_STEP_LEGACY, on_filed, d,
                        al[GW_STEP_NKEYS_V1] == 0 ? GW_STEP_NKEYS_V1 :
                                                    GW_STEP_NKEYS_LEGACY,
                        (int)n, av, al);
    json_decref(arr);
    return rc;
}

void gw_spool_drain(struct gw *gw)
{
    struct drain *d;
    struct store *s = store_ready(gw->fstore) ? gw->fstore : gw->store;
    char **recs = NULL;
    size_t n = 0;

    if (gw->spool_busy || !store_ready(s))
        return;
    if (gw->redis_full) {
        /* Every record would be refused: one small write asks whether
         * there is room again, and the drain follows when there is. */
        redis_full_probe(gw);
        return;
    }
    if (!spool_pending(gw->spool))
        return;
    switch (spool_take(gw->spool, &recs, &n)) {
    case 0:
        break;
    case 1:
        return;                 /* another process is draining it */
    default:
        log_error("spool: cannot read the spool file");
        return;
    }
    if (n == 0) {
        spool_drained(gw->spool);
        spool_free_records(recs, n);
        return;
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        spool_free_records(recs, n);
        spool_release(gw->spool);
        return;
    }
    d->gw = gw;
    d->store = s;
    d->gen = store_generation(s);
    /* Only the filing connection confirms: WAIT counts its own writes. */
    d->replicas = s == gw->fstore ? gw->cfg->wait_replicas : 0;
    d->unconfirmed = s != gw->fstore && gw->cfg->wait_replicas > 0;
    d->recs = recs;
    d->total = n;
    gw->spool_busy = 1;
    drain_pump(d);
}
