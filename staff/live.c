/*
 * live.c — the live queue's Server-Sent Events (see live.h).
 *
 * One struct live per process (`the`): a store (store.h) of its own, so a
 * blocking XREAD holds up no other command, and a list of clients. The
 * reader sends XREAD COUNT 200 BLOCK 2000 STREAMS P ev:live LAST again
 * once each reply is handled; LAST starts at the process's start time (a
 * stream id is its time in ms), so an event written between two reads is
 * never missed. A failed read is retried after RETRY_MS. The events of one
 * read go to each client as one write. After a read that brought events,
 * but fewer than READ_COUNT (none left waiting), the next read waits
 * GATHER_MS: under a burst of filings each client gets about 1000 /
 * GATHER_MS writes a second whatever the rate (one read per filing made
 * 20 consoles cost callers a third more p99 in `make bench`), a backlog
 * is read at full speed, and a lone event goes out as soon as it is read.
 *
 * A client is an evhttp request whose chunked reply never ends. Before
 * each write the bytes evhttp still holds for it (front.c keeps there
 * what the kernel did not take) are checked against console.live_buffer:
 * over it, the connection is closed (as front.c closes one) and evhttp
 * frees it; its close callback unlinks the client. A request whose
 * connection failed under it is orphaned by libevent 2.1 (its evcon is
 * NULL) and freed here.
 */
#include "live.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cases.h"
#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define BLOCK_MS 2000
#define RETRY_MS 500
#define MSG_MAX 256
#define READ_COUNT 200          /* events one XREAD returns */
#define GATHER_MS 100           /* after a read with events, before the next */

struct client {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct client *next;
    struct client **pprev;
    char who[64];
};

struct live {
    struct gw *gw;
    struct store *st;
    struct event *hb;           /* heartbeat */
    struct event *retry;        /* a failed read, again */
    struct event *gather;       /* the next read, GATHER_MS after events */
    int reading;                /* an XREAD is in flight */
    char last[48];              /* the last id seen */
    struct client *clients;
    int n;
};

static struct live *the;

static long long ms_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int live_clients(void)
{
    return the ? the->n : 0;
}

static void unlink_client(struct client *c)
{
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    the->n--;
    metrics_set(the->gw->metrics, "hotline_live_clients", the->n);
}

/* evhttp closes c's connection: the client went, was dropped, or the
 * server stops. A request whose connection failed was orphaned (no evcon
 * any more): it is ours to free. */
static void on_close(struct evhttp_connection *conn, void *arg)
{
    struct client *c = arg;

    (void)conn;
    unlink_client(c);
    if (!evhttp_request_get_connection(c->req))
        evhttp_request_free(c->req);
    log_debug("live: %s's live queue closed", c->who);
    free(c);
}

/* Closes c's connection (evhttp frees it; on_close frees c). */
static void drop(struct client *c)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);

    metrics_add(the->gw->metrics, "hotline_live_dropped_total", NULL, NULL, 1);
    log_info("live: %s's live queue dropped: %zu bytes unread", c->who,
             evbuffer_get_length(bufferevent_get_output(bev)));
    bufferevent_trigger_event(bev, BEV_EVENT_ERROR | BEV_EVENT_WRITING, 0);
}

/* Writes msg to every client; drops those that read too slowly. */
static void fan_out(const char *msg, size_t len)
{
    struct client *c = the->clients, *next;
    size_t cap = (size_t)the->gw->cfg->console.live_buffer;

    for (; c; c = next) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
        struct evbuffer *chunk;

        next = c->next;
        if (evbuffer_get_length(bufferevent_get_output(bev)) + len > cap) {
            drop(c);
            continue;
        }
        chunk = evbuffer_new();
        if (!chunk || evbuffer_add(chunk, msg, len) != 0) {
            evbuffer_free(chunk);
            continue;
        }
        evhttp_send_reply_chunk(c->req, chunk);
        evbuffer_free(chunk);
    }
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    fan_out(": hb\n\n", 6);
}

/* One stream entry [id, [f, v, ...]] as an SSE message into out. Returns
 * its length, or 0 when it is not a case event. */
static size_t message(const redisReply *e, char *out, size_t outsz)
{
    const char *what = NULL, *ref = NULL;
    const redisReply *fv;
    json_t *o;
    char *js;
    int n = 0;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    fv = e->element[1];
    for (size_t i = 0; i + 1 < fv->elements; i += 2) {
        if (fv->element[i]->type != REDIS_REPLY_STRING ||
            fv->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(fv->element[i]->str, "what") == 0)
            what = fv->element[i + 1]->str;
        else if (strcmp(fv->element[i]->str, "ref") == 0)
            ref = fv->element[i + 1]->str;
    }
    snprintf(the->last, sizeof the->last, "%s", e->element[0]->str);
    if (!what || !ref || strlen(what) > 16 || !cases_ref_ok(ref))
        return 0;
    o = json_pack("{s:s,s:s}", "what", what, "ref", ref);
    js = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (js)
        n = snprintf(out, outsz, "id: %s\nevent: case\ndata: %s\n\n",
                     e->element[0]->str, js);
    free(js);
    json_decref(o);
    return n > 0 && (size_t)n < outsz ? (size_t)n : 0;
}

static void read_next(void);

/* XREAD's reply: nil (nothing new in BLOCK_MS), or [[key, [entry...]]]. */
static void on_read(redisReply *r, void *arg)
{
    struct live *l = arg;
    struct timeval tv = { 0, RETRY_MS * 1000 };

    if (l != the)
        return;                 /* freed meanwhile */
    l->reading = 0;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        evtimer_add(l->retry, &tv);
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY &&
        r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *es = r->element[0]->element[1];
        /* the whole batch (at most READ_COUNT events) as one write per
         * client: 20 consoles cost 20 writes a read, not 20 per event */
        static char batch[READ_COUNT * MSG_MAX];
        size_t used = 0;

        for (size_t i = 0; i < es->elements; i++)
            used += message(es->element[i], batch + used,
                            used + MSG_MAX <= sizeof batch ?
                                MSG_MAX : 0);
        if (used)
            fan_out(batch, used);
        if (es->elements && es->elements < READ_COUNT) {
            /* (a full read: more are waiting; read on at once) */
            struct timeval g = { 0, GATHER_MS * 1000 };

            evtimer_add(l->gather, &g);
            return;
        }
    }
    read_next();
}

static void read_next(void)
{
    char key[128];
    const char *av[] = { "XREAD", "COUNT", "200" /* READ_COUNT */,
                         "BLOCK", "2000",
                         "STREAMS", key, the->last };

    if (the->reading || !store_ready(the->st))
        return;
    snprintf(key, sizeof key, "%sev:live", the->gw->cfg->prefix);
    if (store_cmd(the->st, on_read, the, 8, av, NULL) == 0)
        the->reading = 1;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    read_next();
}

static void on_ready(struct store *s, void *arg)
{
    (void)s;
    (void)arg;
    if (the)
        read_next();
}

struct live *live_new(struct gw *gw)
{
    struct store_opts so = { 0 };
    struct timeval hb = { gw->cfg->console.live_heartbeat_s, 0 };
    struct live *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    l->gw = gw;
    snprintf(l->last, sizeof l->last, "%lld-0", ms_now());
    so.host = gw->cfg->redis_host;
    so.port = gw->cfg->redis_port;
    so.password = gw->cfg->redis_password;
    so.timeout_ms = BLOCK_MS + gw->cfg->redis_timeout_ms;
    so.on_ready = on_ready;
    the = l;
    l->hb = event_new(gw->base, -1, EV_PERSIST, on_heartbeat, NULL);
    l->retry = evtimer_new(gw->base, on_retry, NULL);
    l->gather = evtimer_new(gw->base, on_retry, NULL);
    l->st = store_new(gw->base, &so);
    if (!l->hb || !l->retry || !l->gather || !l->st) {
        live_free(l);
        return NULL;
    }
    event_add(l->hb, &hb);
    return l;
}

void live_free(struct live *l)
{
    if (!l)
        return;
    while (l->clients) {
        struct client *c = l->clients;

        /* ends the reply; its connection closes later, without us */
        evhttp_connection_set_closecb(c->conn, NULL, NULL);
        unlink_client(c);
        evhttp_send_reply_end(c->req);
        free(c);
    }
    if (l->hb)
        event_free(l->hb);
    if (l->retry)
        event_free(l->retry);
    if (l->gather)
        event_free(l->gather);
    the = NULL;
    store_free(l->st);          /* the read in flight finds the gone */
    free(l);
}

void live_retarget(struct live *l, const char *host, int port)
{
    if (l)
        store_retarget(l->st, host, port);
}

void live_attach(struct gw *gw, struct evhttp_request *req, const char *who)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct client *c;
    static const char hello[] = "retry: 1000\n: live\n\n";
    struct evbuffer *b;

    if (!the || the->n >= gw->cfg->console.live_clients) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "Retry-After", "5");
        evbuffer_add_printf(evhttp_request_get_output_buffer(req),
                            "{\"error\":\"too many live consoles\"}\n");
        evhttp_send_reply(req, 503, "Busy", NULL);
        metrics_add(gw->metrics, "hotline_live_refused_total", NULL, NULL, 1);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    c->req = req;
    c->conn = evhttp_request_get_connection(req);
    snprintf(c->who, sizeof c->who, "%s", who);
    evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    evhttp_send_reply_start(req, 200, "OK");
    c->next = the->clients;
    if (c->next)
        c->next->pprev = &c->next;
    c->pprev = &the->clients;
    the->clients = c;
    the->n++;
    metrics_set(gw->metrics, "hotline_live_clients", the->n);
    evhttp_connection_set_closecb(c->conn, on_close, c);
    b = evbuffer_new();
    if (b) {
        /* the server's clock: waiting times right on an ill-set laptop */
        evbuffer_add_printf(b, "%sevent: hello\ndata: {\"now\":%lld}\n\n",
                            hello, ms_now());
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
    }
    log_info("live: %s opened a live queue (%d open)", who, the->n);
}
