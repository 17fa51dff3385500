/*
 * sentinel.c — finds the current Redis master through Redis Sentinel.
 *
 * hiredis 0.14 knows nothing of Sentinel (DESIGN.md, "Known limits"), so we
 * ask ourselves: `SENTINEL get-master-addr-by-name NAME` to each configured
 * sentinel in turn, each on a short-lived async connection with a deadline,
 * until one answers. The query runs once a second and whenever the store
 * loses its connection; when the answer differs from the address in use,
 * the store is pointed at the new master. Nothing here blocks the loop.
 */
#include "sentinel.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"

#define SENTINEL_PERIOD_MS 1000

struct sentinel {
    struct event_base *base;
    char **hosts;
    int *ports;
    size_t n;
    char *master;
    int timeout_ms;
    sentinel_cb cb;
    void *arg;
    struct event *tick;
    struct event *deadline;
    redisAsyncContext *ac;      /* the query under way, or NULL */
    size_t next;                /* sentinel asked next */
    size_t tried;               /* sentinels tried in this round */
};

static void ask_next(struct sentinel *s);

static void end_query(struct sentinel *s)
{
    redisAsyncContext *ac = s->ac;

    evtimer_del(s->deadline);
    s->ac = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

static void on_answer(redisAsyncContext *ac, void *r, void *priv)
{
    struct sentinel *s = ac->data;
    redisReply *reply = r;
    char host[256];
    int port;

    (void)priv;
    if (!s || s->ac != ac)
        return;
    /* Free the context from the loop, not from inside its callback. */
    ac->data = NULL;
    s->ac = NULL;
    evtimer_del(s->deadline);
    redisAsyncDisconnect(ac);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[0]->len >= sizeof host) {
        ask_next(s);
        return;
    }
    memcpy(host, reply->element[0]->str, reply->element[0]->len);
    host[reply->element[0]->len] = '\0';
    port = atoi(reply->element[1]->str ? reply->element[1]->str : "0");
    if (port > 0 && port < 65536)
        s->cb(host, port, s->arg);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct sentinel *s = ac->data;

    if (!s || s->ac != ac || status == REDIS_OK)
        return;
    /* hiredis frees the failed context after this callback. */
    s->ac = NULL;
    evtimer_del(s->deadline);
    ask_next(s);
}

static void on_deadline(evutil_socket_t fd, short ev, void *arg)
{
    struct sentinel *s = arg;

    (void)fd;
    (void)ev;
    end_query(s);
    ask_next(s);
}

/* Asks the next sentinel of this round, or gives up until the next tick. */
static void ask_next(struct sentinel *s)
{
    struct timeval tv = { s->timeout_ms / 1000, (s->timeout_ms % 1000) * 1000 };
    redisAsyncContext *ac;
    size_t i;

    if (s->tried >= s->n) {
        log_warn("sentinel: no sentinel knows master %s", s->master);
        return;
    }
    i = s->next;
    s->next = (s->next + 1) % s->n;
    s->tried++;
    ac = redisAsyncConnect(s->hosts[i], s->ports[i]);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree(ac);
        ask_next(s);
        return;
    }
    ac->data = s;
    s->ac = ac;
    redisLibeventAttach(ac, s->base);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncCommand(ac, on_answer, NULL,
                      "SENTINEL get-master-addr-by-name %s", s->master);
    evtimer_add(s->deadline, &tv);
}

void sentinel_query(struct sentinel *s)
{
    if (!s || s->ac)
        return;                 /* one query at a time */
    s->tried = 0;
    ask_next(s);
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    sentinel_query(arg);
}

struct sentinel *sentinel_new(struct event_base *base,
                              const char *const *addrs, size_t n,
                              const char *master, int timeout_ms,
                              sentinel_cb cb, void *arg)
{
    struct sentinel *s = calloc(1, sizeof *s);
    struct timeval period = { SENTINEL_PERIOD_MS / 1000,
                              (SENTINEL_PERIOD_MS % 1000) * 1000 };

    if (!s || n == 0)
        goto fail;
    s->base = base;
    s->cb = cb;
    s->arg = arg;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 250;
    s->master = strdup(master);
    s->hosts = calloc(n, sizeof *s->hosts);
    s->ports = calloc(n, sizeof *s->ports);
    s->tick = event_new(base, -1, EV_PERSIST, on_tick, s);
    s->deadline = evtimer_new(base, on_deadline, s);
    if (!s->master || !s->hosts || !s->ports || !s->tick || !s->deadline)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (cfg_parse_hostport(addrs[i], &s->hosts[i], &s->ports[i]) != 0)
            goto fail;
        s->n++;
    }
    event_add(s->tick, &period);
    sentinel_query(s);
    return s;
fail:
    sentinel_free(s);
    return NULL;
}

void sentinel_free(struct sentinel *s)
{
    if (!s)
        return;
    end_query(s);
    if (s->tick)
        event_free(s->tick);
    if (s->deadline)
        event_free(s->deadline);
    for (size_t i = 0; i < s->n; i++)
        free(s->hosts[i]);
    free(s->hosts);
    free(s->ports);
    free(s->master);
    free(s);
}
