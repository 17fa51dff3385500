/*
 * caseev.c — case events into /metrics, and the queue streams' retention
 * (see caseev.h).
 *
 * One timer, once a second. Each tick sends at most three commands on
 * gw->store: XGROUP CREATE until the group exists (again after a Redis
 * without it, e.g. a replica promoted before the group reached it),
 * XREADGROUP of up to READ_COUNT events, and one SCAN step whose streams
 * are trimmed with XTRIM MINID. A tick does nothing while its previous
 * commands are unanswered, so a slow Redis is never asked more.
 *
 * A reply may come after caseev_free (the store outlives us only until
 * main frees it, and then callbacks run with NULL): every callback goes
 * through a `struct pending` that caseev_free detaches.
 */
#include "caseev.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define GROUP "metrics"
#define READ_COUNT "500"
#define SCAN_COUNT "250"
#define KEY_MAX 256
#define PRUNE_TICKS 60          /* every minute: forget stopped consumers */
#define GONE_MS 60000           /* idle this long: its process stopped */

struct caseev {
    struct gw *gw;
    struct event *tick;
    int group_ok;               /* XGROUP CREATE succeeded (or BUSYGROUP) */
    int inflight;               /* commands sent, unanswered */
    char cursor[32];            /* the SCAN step's cursor */
    unsigned ticks;
    char consumer[96];
};

/* One command in flight: c is NULL once caseev_free ran. */
struct pending {
    struct caseev *c;
    struct pending *next;
};

static struct pending *pendings;

static struct pending *pending_new(struct caseev *c)
{
    struct pending *p = calloc(1, sizeof *p);

    if (!p)
        return NULL;
    p->c = c;
    p->next = pendings;
    pendings = p;
    return p;
}

/* Unlinks and frees p; returns its caseev (NULL when freed meanwhile). */
static struct caseev *pending_end(struct pending *p)
{
    struct caseev *c = p->c;

    for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    free(p);
    if (c)
        c->inflight--;
    return c;
}

static int ce_send(struct caseev *c, store_cb cb, int argc, const char **av)
{
    struct pending *p = pending_new(c);

    if (!p)
        return -1;
    if (store_cmd(c->gw->store, cb, p, argc, av, NULL) != 0) {
        pendings = p->next;     /* just pushed */
        free(p);
        return -1;
    }
    c->inflight++;
    return 0;
}

static void events_key(const struct caseev *c, char *out, size_t outsz)
{
    snprintf(out, outsz, "%sev:cases", c->gw->cfg->prefix);
}

static void on_group(struct redisReply *r, void *arg)
{
    struct caseev *c = pending_end(arg);

    if (!c || !r)
        return;
    if (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0)
        c->group_ok = 1;
    else
        log_warn("cases: XGROUP CREATE of the case events: %s", r->str);
}

/* One event {what, ms} into its histogram. */
static void observe(struct caseev *c, const redisReply *fv)
{
    const char *what = NULL;
    double ms = -1;

    if (fv->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i + 1 < fv->elements; i += 2) {
        const redisReply *k = fv->element[i], *v = fv->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "what") == 0)
            what = v->str;
        else if (strcmp(k->str, "ms") == 0)
            ms = strtod(v->str, NULL);
    }
    if (!what || ms < 0)
        return;
    if (strcmp(what, "claim") == 0)
        metrics_observe_long(c->gw->metrics, "hotline_case_claim_seconds",
                             NULL, NULL, ms / 1000.0);
    else if (strcmp(what, "resolve") == 0)
        metrics_observe_long(c->gw->metrics, "hotline_case_resolve_seconds",
                             NULL, NULL, ms / 1000.0);
}

/* XREADGROUP's reply: nil, or [[key, [[id, [f, v, ...]], ...]]]. */
static void on_read(struct redisReply *r, void *arg)
{
    struct caseev *c = pending_end(arg);

    if (!c || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        if (strncmp(r->str, "NOGROUP", 7) == 0)
            c->group_ok = 0;    /* a new server: create it again */
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t s = 0; s < r->elements; s++) {
        const redisReply *kl = r->element[s];

        if (kl->type != REDIS_REPLY_ARRAY || kl->elements != 2 ||
            kl->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t i = 0; i < kl->element[1]->elements; i++) {
            const redisReply *e = kl->element[1]->element[i];

            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2)
                observe(c, e->element[1]);
        }
    }
}

static void on_trim(struct redisReply *r, void *arg)
{
    struct caseev *c = pending_end(arg);

    if (c && r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        log_info("cases: %lld queue entries older than the retention "
                 "removed", r->integer);
}

/* 1 when key is a queue or dead-letter stream of this prefix. */
static int trimmed_key(const char *prefix, const char *key)
{
    size_t pl = strlen(prefix);

    return strncmp(key, prefix, pl) == 0 &&
           (strncmp(key + pl, "q:", 2) == 0 ||
            strncmp(key + pl, "dead:", 5) == 0);
}

/* SCAN's reply: [cursor, [key, ...]]; trims each stream of ours. */
static void on_scan(struct redisReply *r, void *arg)
{
    struct caseev *c = pending_end(arg);
    struct timeval now;
    char minid[32];

    if (!c || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    snprintf(c->cursor, sizeof c->cursor, "%s", r->element[0]->str);
    gettimeofday(&now, NULL);
    snprintf(minid, sizeof minid, "%lld",
             (long long)now.tv_sec * 1000 + now.tv_usec / 1000 -
                 (long long)c->gw->cfg->case_retention_s * 1000);
    for (size_t i = 0; i < r->element[1]->elements; i++) {
        const redisReply *k = r->element[1]->element[i];
        const char *av[] = { "XTRIM", k->str, "MINID", minid };

        if (k->type == REDIS_REPLY_STRING &&
            trimmed_key(c->gw->cfg->prefix, k->str))
            ce_send(c, on_trim, 4, av);
    }
}

static void on_ignore(struct redisReply *r, void *arg)
{
    (void)r;
    pending_end(arg);
}

/* XINFO CONSUMERS' reply: a flat array per consumer (name, pending, idle,
 * ...). A live hotlined reads every second; one idle for GONE_MS stopped
 * (a restart names a new consumer), and with NOACK it holds nothing. */
static void on_consumers(struct redisReply *r, void *arg)
{
    struct caseev *c = pending_end(arg);
    char key[KEY_MAX];

    if (!c || !r || r->type != REDIS_REPLY_ARRAY)
        return;
    events_key(c, key, sizeof key);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i];
        const char *name = NULL;
        long long idle = 0;

        if (f->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (f->element[k]->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(f->element[k]->str, "name") == 0 &&
                f->element[k + 1]->type == REDIS_REPLY_STRING)
                name = f->element[k + 1]->str;
            else if (strcmp(f->element[k]->str, "idle") == 0 &&
                     f->element[k + 1]->type == REDIS_REPLY_INTEGER)
                idle = f->element[k + 1]->integer;
        }
        if (name && idle > GONE_MS && strcmp(name, c->consumer) != 0) {
            const char *av[] = { "XGROUP", "DELCONSUMER", key, GROUP, name };

            ce_send(c, on_ignore, 5, av);
        }
    }
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
    struct caseev *c = arg;
    char key[KEY_MAX], match[KEY_MAX];

    (void)fd;
    (void)ev;
    if (c->inflight > 0 || !store_ready(c->gw->store))
        return;
    events_key(c, key, sizeof key);
    if (!c->group_ok) {
        const char *av[] = { "XGROUP", "CREATE", key, GROUP, "0",
                             "MKSTREAM" };

        ce_send(c, on_group, 6, av);
    } else {
        const char *av[] = { "XREADGROUP", "GROUP", GROUP, c->consumer,
                             "COUNT", READ_COUNT, "NOACK", "STREAMS", key,
                             ">" };

        ce_send(c, on_read, 10, av);
        if (++c->ticks % PRUNE_TICKS == 0) {
            const char *ai[] = { "XINFO", "CONSUMERS", key, GROUP };

            ce_send(c, on_consumers, 4, ai);
        }
    }
    snprintf(match, sizeof match, "%s*", c->gw->cfg->prefix);
    {
        const char *av[] = { "SCAN", c->cursor, "MATCH", match, "COUNT",
                             SCAN_COUNT, "TYPE", "stream" };

        ce_send(c, on_scan, 8, av);
    }
}

struct caseev *caseev_new(struct gw *gw)
{
    struct caseev *c = calloc(1, sizeof *c);
    struct timeval every = { 1, 0 };
    char host[64] = "hotlined";

    if (!c)
        return NULL;
    c->gw = gw;
    snprintf(c->cursor, sizeof c->cursor, "0");
    gethostname(host, sizeof host - 1);
    snprintf(c->consumer, sizeof c->consumer, "%s-%ld", host,
             (long)getpid());
    c->tick = event_new(gw->base, -1, EV_PERSIST, on_tick, c);
    if (!c->tick || event_add(c->tick, &every) != 0) {
        caseev_free(c);
        return NULL;
    }
    return c;
}

void caseev_free(struct caseev *c)
{
    if (!c)
        return;
    for (struct pending *p = pendings; p; p = p->next) {
        if (p->c == c)
            p->c = NULL;
    }
    if (c->tick)
        event_free(c->tick);
    free(c);
}
