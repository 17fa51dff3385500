/*
 * ceiling.c — the fastest answer any evhttp server can give on this machine:
 * every request gets the same constant USSD screen, with no parsing, no
 * menu. `make bench` drives it and hotlined with the same load, in the same
 * run, so "hotline / ceiling" says how much of the machine's HTTP capacity
 * hotline's own work costs.
 *
 *   ceiling HOST PORT                   no Redis at all (the bare ceiling)
 *   ceiling HOST PORT REDIS_HOST:PORT   one trivial EVALSHA per request
 *                                       (hiredis async on the same libevent
 *                                       loop), replying when Redis answered:
 *                                       the limit of a one-round-trip design
 *
 * In both modes GET /count answers the number of POSTs served so far, so
 * the same binary is the counting receiver of the alert-throughput figure.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one-round-trip mode's script: one key touched, nothing written. */
static const char script[] = "return redis.call('EXISTS', KEYS[1])";

static const char screen[] =
    "CON Chon ngon ngu / Choose language / Pilih bahasa\n"
    "1. Tieng Viet\n2. English\n3. Bahasa Indonesia";

static redisAsyncContext *rc;   /* NULL: bare mode */
static char sha[41];
static unsigned long long posts;

static void reply(struct evhttp_request *req, int code)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET &&
        strcmp(evhttp_request_get_uri(req), "/count") == 0) {
        evbuffer_add_printf(out, "%llu\n", posts);
    } else {
        posts++;
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "text/plain; charset=utf-8");
        evbuffer_add(out, screen, sizeof screen - 1);
    }
    evhttp_send_reply(req, code, code == 200 ? "OK" : "Redis", NULL);
}

static void on_redis(redisAsyncContext *c, void *r, void *arg)
{
    redisReply *rep = r;

    (void)c;
    reply(arg, rep && rep->type == REDIS_REPLY_INTEGER ? 200 : 502);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (!rc || evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        reply(req, 200);
        return;
    }
    if (redisAsyncCommand(rc, on_redis, req, "EVALSHA %s 1 %s", sha,
                          "bench:ceiling") != REDIS_OK)
        reply(req, 502);
}

static void on_term(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    event_base_loopexit(arg, NULL);
}

/* Loads the script with a blocking connection (once, at start), then opens
 * the async one on base. Returns 0, or -1 with a message on stderr. */
static int redis_open(struct event_base *base, const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    redisContext *s;
    redisReply *rep;
    size_t n = colon ? (size_t)(colon - hostport) : 0;

    if (!colon || n == 0 || n >= sizeof host)
        return fprintf(stderr, "ceiling: REDIS must be HOST:PORT\n"), -1;
    memcpy(host, hostport, n);
    host[n] = '\0';
    s = redisConnect(host, atoi(colon + 1));
    if (!s || s->err)
        return fprintf(stderr, "ceiling: cannot reach Redis at %s\n", hostport), -1;
    rep = redisCommand(s, "SCRIPT LOAD %s", script);
    if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
        fprintf(stderr, "ceiling: SCRIPT LOAD failed\n");
        return -1;
    }
    memcpy(sha, rep->str, 40);
    freeReplyObject(rep);
    redisFree(s);
    rc = redisAsyncConnect(host, atoi(colon + 1));
    if (!rc || rc->err || redisLibeventAttach(rc, base) != REDIS_OK)
        return fprintf(stderr, "ceiling: async connect failed\n"), -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct event_base *base;
    struct evhttp *http;
    struct event *term;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: ceiling HOST PORT [REDIS_HOST:PORT]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    http = base ? evhttp_new(base) : NULL;
    if (!http || evhttp_bind_socket(http, argv[1],
                                    (ev_uint16_t)atoi(argv[2])) != 0) {
        fprintf(stderr, "ceiling: cannot listen on %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    if (argc == 4 && redis_open(base, argv[3]) != 0)
        return 1;
    evhttp_set_gencb(http, on_request, NULL);
    term = evsignal_new(base, SIGTERM, on_term, base);
    event_add(term, NULL);
    event_base_dispatch(base);
    event_free(term);
    if (rc)
        redisAsyncDisconnect(rc);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
