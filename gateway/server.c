/*
 * server.c — hotlined's HTTP front on evhttp (DESIGN.md, step 1).
 *
 * One generic callback routes every request: the operations endpoints
 * (/healthz, /readyz, /metrics), then the channel whose path matches. For a
 * channel it enforces, in order: draining, channel enabled, the address
 * allow-list, the channel secret (?key= or X-Hotline-Key), then hands the
 * bounded body to the channel's dialect and the parsed message to
 * session_handle(). Every request ends in exactly one reply, through
 * reply() — which also records metrics. Errors are plain text, say what was
 * wrong, and never echo caller data.
 *
 * evhttp in libevent 2.1 defaults to unlimited headers and bodies: every
 * limit is set from the config (http.max_body, max_headers). Everything
 * about connections — the cap, deadlines, timeouts, one request at a time,
 * strict framing — is front.c's, under evhttp.
 */
#include "server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cfg.h"
#include "console.h"
#include "dialect.h"
#include "front.h"
#include "gw.h"
#include "log.h"
#include "menu_pub.h"
#include "metrics.h"
#include "scache.h"
#include "session.h"
#include "session_auth.h"
#include "spool.h"
#include "store.h"

#define INFLIGHT_MAX 8192
#define URL_MAX 2048

/* The listening socket of this process (one per process). */
static struct evhttp_bound_socket *listener;

struct hreq {
    struct gw *gw;
    struct evhttp_request *req;
    struct timeval t0;
    char channel[64];
};

static double since(const struct timeval *t0)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_usec - t0->tv_usec) / 1e6;
}

/* Sends the one reply of a request and records it. */
/* The Date header (RFC 9110's IMF-fixdate), made once a second: evhttp
 * would format it for every reply that has none. */
static const char *http_date(void)
{
    static const char day[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
                                    "Fri", "Sat" };
    static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
                                     "Jun", "Jul", "Aug", "Sep", "Oct",
                                     "Nov", "Dec" };
    static char buf[40];
    static time_t made = -1;
    time_t now = time(NULL);
    struct tm tm;

    if (now == made)
        return buf;
    if (!gmtime_r(&now, &tm))
        return NULL;
    snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
             day[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    made = now;
    return buf;
}

static void reply(struct gw *gw, struct evhttp_request *req,
                  const char *channel, const struct timeval *t0, int status,
                  const char *ctype, const char *body, size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    const char *reason = status == 200 ? "OK" : "Error";
    const char *date = http_date();

    evhttp_add_header(h, "Content-Type", ctype);
    if (date)
        evhttp_add_header(h, "Date", date);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (len)
        evbuffer_add(out, body, len);
    switch (status) {
    case 400: reason = "Bad Request"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 413: reason = "Payload Too Large"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 429: reason = "Too Many Requests"; break;
    case 500: reason = "Internal Server Error"; break;
    case 503: reason = "Service Unavailable"; break;
    default: break;
    }
    evhttp_send_reply(req, status, reason, NULL);
    if (channel)
        metrics_request(gw->metrics, channel, status, since(t0));
}

/* A plain-text error: "STATUS reason\n". */
static void reply_error(struct gw *gw, struct evhttp_request *req,
                        const char *channel, const struct timeval *t0,
                        int status, const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s\n", status, why);

    if (channel)
        log_info("channel %s: %d %s", channel, status, why);
    reply(gw, req, channel, t0, status, "text/plain; charset=utf-8", body,
          (size_t)(n > 0 ? n : 0));
}

void server_gauges(struct gw *gw)
{
    struct store_stats st = { 0 };

    if (gw->store)
        store_stats(gw->store, &st);
    metrics_set(gw->metrics, "hotline_redis_up", store_ready(gw->store));
    metrics_set(gw->metrics, "hotline_redis_oom", gw->redis_full);
    metrics_set(gw->metrics, "hotline_redis_errors_total",
                (double)st.errors);
    metrics_set(gw->metrics, "hotline_spool_depth",
                (double)spool_depth(gw->spool));
    metrics_set(gw->metrics, "hotline_inflight", gw->inflight);
    {
        struct scache_stats sc;

        scache_stats(gw->scache, &sc);
        metrics_set(gw->metrics, "hotline_session_cache_entries",
                    (double)sc.entries);
        metrics_set(gw->metrics, "hotline_session_cache_capacity",
                    (double)sc.cap);
        metrics_set(gw->metrics, "hotline_session_cache_hits_total",
                    (double)sc.hits);
        metrics_set(gw->metrics, "hotline_session_cache_misses_total",
                    (double)sc.misses);
        metrics_set(gw->metrics, "hotline_session_cache_evictions_total",
                    (double)sc.evictions);
        metrics_set(gw->metrics, "hotline_session_cache_conflicts_total",
                    (double)sc.conflicts);
    }
    metrics_set(gw->metrics, "hotline_menus_loaded", (double)gw->cfg->nmenus);
    metrics_set(gw->metrics, "hotline_http_connections",
                (double)front_connections());
    metrics_set(gw->metrics, "hotline_http_max_connections",
                (double)front_cap());
}

static void ops_metrics(struct gw *gw, struct evhttp_request *req,
                        const struct timeval *t0)
{
    char *text, *menus, *all;

    server_gauges(gw);
    /* Workers share the spool: the depth is counted from its files. */
    if (metrics_shared(gw->metrics))
        metrics_set(gw->metrics, "hotline_spool_depth",
                    (double)spool_count(gw->spool));
    text = metrics_render(gw->metrics);
    menus = mpub_metrics(gw->mpub);     /* versions served, funnels */
    all = text && menus ? malloc(strlen(text) + strlen(menus) + 1) : NULL;
    if (!all) {
        free(text);
        free(menus);
        reply_error(gw, req, NULL, t0, 500, "out of memory");
        return;
    }
    strcpy(all, text);
    strcat(all, menus);
    reply(gw, req, NULL, t0, 200, "text/plain; version=0.0.4", all,
          strlen(all));
    free(all);
    free(text);
    free(menus);
}

/* Ready: "ready", then a line per menu whose published version this
 * gateway refused (it serves the last good one; menu_pub.h). */
static void ready(struct gw *gw, struct evhttp_request *req,
                  const struct timeval *t0)
{
    char body[2048] = "ready\n";
    size_t n = strlen(body);

    n += mpub_trouble(gw->mpub, body + n, sizeof body - n);
    reply(gw, req, NULL, t0, 200, "text/plain", body, n);
}

/* GET /healthz, /readyz, /metrics. Returns 1 when path was one of them. */
static int ops(struct gw *gw, struct evhttp_request *req, const char *path,
               const struct timeval *t0)
{
    int is_get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;

    if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0 &&
        strcmp(path, "/metrics") != 0)
        return 0;
    if (!is_get) {
        reply_error(gw, req, NULL, t0, 405, "use GET");
    } else if (strcmp(path, "/healthz") == 0) {
        reply(gw, req, NULL, t0, 200, "text/plain", "ok\n", 3);
    } else if (strcmp(path, "/readyz") == 0) {
        if (gw->draining)
            reply_error(gw, req, NULL, t0, 503, "draining");
        else if (!store_ready(gw->store) || !store_ready(gw->fstore))
            reply_error(gw, req, NULL, t0, 503, "redis unreachable");
        else if (gw->redis_full)
            reply_error(gw, req, NULL, t0, 503, "redis out of memory: it "
                        "refuses writes; help requests go to the spool");
        else if (gw->cfg->nmenus == 0)
            reply_error(gw, req, NULL, t0, 503, "no menus loaded");
        else if (!mpub_synced(gw->mpub))
            reply_error(gw, req, NULL, t0, 503, "published menus not read "
                        "from Redis yet");
        else
            ready(gw, req, t0);
    } else {
        ops_metrics(gw, req, t0);
    }
    return 1;
}

/* Constant-time comparison of a presented secret with the channel's. */
static int secret_ok(const struct cfg_channel *ch, struct evhttp_request *req,
                     const struct evhttp_uri *uri)
{
    const char *given;
    struct evkeyvalq q;
    int ok = 0;

    if (!ch->secret)
        return 1;
    given = evhttp_find_header(evhttp_request_get_input_headers(req),
                               "X-Hotline-Key");
    TAILQ_INIT(&q);
    if (!given && evhttp_uri_get_query(uri) &&
        evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) == 0)
        given = evhttp_find_header(&q, "key");
    if (given && strlen(given) == strlen(ch->secret))
        ok = CRYPTO_memcmp(given, ch->secret, strlen(given)) == 0;
    evhttp_clear_headers(&q);
    return ok;
}

static const char *method_name(enum evhttp_cmd_type c)
{
    switch (c) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "OTHER";
}

static void on_session_done(int status, const char *body, size_t len,
                            const char *ctype, void *arg)
{
    struct hreq *h = arg;

    reply(h->gw, h->req, h->channel, &h->t0, status, ctype, body, len);
    h->gw->inflight--;
    free(h);
}

/* Everything for a channel request up to session_handle(). */
static void channel_request(struct gw *gw, struct evhttp_request *req,
                            const struct cfg_channel *ch,
                            const struct evhttp_uri *uri,
                            const struct timeval *t0)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
    struct dialect_request dr = { 0 };
    /* The parsed request (~5 KB): session_handle copies it, so one buffer
     * serves every request of this process's single event loop (a calloc
     * of it cleared it twice and made malloc consolidate its bins). */
    static struct inbound msg_buf;
    struct inbound *msg = &msg_buf;
    struct hreq *h = NULL;
    char url[URL_MAX];
    char err[160];
    char *body = NULL;
    char *peer_ip = NULL;
    const char *peer;
    ev_uint16_t port = 0;
    size_t len = evbuffer_get_length(in);
    int status;

    /* Behind nginx the peer is nginx: a trusted proxy's X-Real-IP names
     * the aggregator, for the allow-list and the per-address limit. */
    evhttp_connection_get_peer(conn, &peer_ip, &port);
    peer = cfg_client_addr(gw->cfg, peer_ip,
                           evhttp_find_header(hdr, "X-Real-IP"));
    if (!peer || !cfg_addr_allowed(ch, peer)) {
        reply_error(gw, req, ch->name, t0, 403, "address not allowed");
        return;
    }
    if (!secret_ok(ch, req, uri)) {
        reply_error(gw, req, ch->name, t0, 403, "missing or wrong key");
        return;
    }
    if (len > gw->cfg->max_body) {
        reply_error(gw, req, ch->name, t0, 413, "body too large");
        return;
    }
    body = malloc(len + 1);
    h = calloc(1, sizeof *h);
    if (!body || !h) {
        reply_error(gw, req, ch->name, t0, 503, "out of memory");
        goto done;
    }
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    dr.method = method_name(evhttp_request_get_command(req));
    dr.content_type = evhttp_find_header(hdr, "Content-Type");
    dr.body = body;
    dr.body_len = len;
    dr.query = evhttp_uri_get_query(uri);
    dr.signature = evhttp_find_header(hdr, "X-Twilio-Signature");
    dr.secret = ch->auth_token;
    if (ch->public_url) {
        snprintf(url, sizeof url, "%s%s", ch->public_url,
                 evhttp_request_get_uri(req));
        dr.public_url = url;
    }
    err[0] = '\0';
    memset(msg, 0, sizeof *msg);    /* nothing of the last request */
    status = ch->dialect->parse(&dr, msg, err, sizeof err);
    if (status != 0) {
        reply_error(gw, req, ch->name, t0, status, err[0] ? err : "bad request");
        goto done;
    }
    h->gw = gw;
    h->req = req;
    h->t0 = *t0;
    snprintf(h->channel, sizeof h->channel, "%s", ch->name);
    gw->inflight++;
    session_handle(gw, gw->cfg, ch, msg, peer, on_session_done, h);
    h = NULL;                   /* on_session_done frees it */
done:
    free(h);
    free(body);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct gw *gw = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const struct cfg_channel *ch;
    struct timeval t0;

    gettimeofday(&t0, NULL);
    front_request(req);
    sauth_headers(req);         /* CSP etc. on every response */
    if (!path || !*path) {
        reply_error(gw, req, NULL, &t0, 400, "bad request line");
        return;
    }
    if (ops(gw, req, path, &t0))
        return;
    if (api_handle(gw, req, path))
        return;
    if (console_handle(gw, req, path))
        return;
    ch = cfg_channel_by_path(gw->cfg, path);
    if (!ch) {
        reply_error(gw, req, NULL, &t0, 404, "no channel at this path");
        return;
    }
    if (gw->draining) {
        reply_error(gw, req, ch->name, &t0, 503, "shutting down");
    } else if (ch->disabled) {
        reply_error(gw, req, ch->name, &t0, 503, "channel disabled");
    } else if (gw->inflight >= INFLIGHT_MAX) {
        reply_error(gw, req, ch->name, &t0, 503, "overloaded");
    } else {
        channel_request(gw, req, ch, uri, &t0);
    }
}

void server_apply_limits(struct gw *gw)
{
    /* An operator's menu file (console.upload_max) is larger than any
     * caller's request: channels still refuse more than max_body. */
    size_t body = gw->cfg->max_body;

    if ((size_t)gw->cfg->console.upload_max > body)
        body = (size_t)gw->cfg->console.upload_max;
    evhttp_set_max_body_size(gw->http, (ev_ssize_t)body);
    evhttp_set_max_headers_size(gw->http, (ev_ssize_t)gw->cfg->max_headers);
    /* http.timeout is front.c's: evhttp's own timeouts would be armed on
     * the filter bufferevent, which libevent 2.1.12 can free with its
     * timer still pending (a use-after-free found under valgrind). */
    if (listener)
        front_apply(gw);
}

/* A listening socket with SO_REUSEPORT, so several processes (workers, or
 * an old and a new binary during an upgrade) share the port. */
static int listen_socket(const char *host, int port, char *err, size_t errlen)
{
    struct evutil_addrinfo hints = { 0 };
    struct evutil_addrinfo *ai = NULL;
    char ports[16];
    int one = 1;
    int fd = -1;
    int rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_PASSIVE;
    snprintf(ports, sizeof ports, "%d", port);
    rc = evutil_getaddrinfo(host, ports, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen %s:%d: %s", host, port,
                 evutil_gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0 ||
        evutil_make_socket_nonblocking(fd) != 0) {
        snprintf(err, errlen, "listen %s:%d: %s", host, port,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    evutil_freeaddrinfo(ai);
    return fd;
}

int server_start(struct gw *gw, char *err, size_t errlen)
{
    int fd;

    gw->http = evhttp_new(gw->base);
    if (!gw->http) {
        snprintf(err, errlen, "evhttp_new failed");
        return -1;
    }
    server_apply_limits(gw);
    evhttp_set_allowed_methods(gw->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_PATCH);
    evhttp_set_gencb(gw->http, on_request, gw);
    fd = listen_socket(gw->cfg->listen_host, gw->cfg->listen_port, err,
                       errlen);
    if (fd < 0)
        return -1;
    listener = evhttp_accept_socket_with_handle(gw->http, fd);
    if (!listener) {
        snprintf(err, errlen, "evhttp_accept_socket failed");
        close(fd);
        return -1;
    }
    if (front_start(gw, listener, err, errlen) != 0)
        return -1;
    log_info("listening on %s:%d", gw->cfg->listen_host,
             gw->cfg->listen_port);
    return 0;
}

void server_stop_accepting(struct gw *gw)
{
    /* Requests in flight keep their connections; only accepting stops. */
    if (listener) {
        front_stop();
        evhttp_del_accept_socket(gw->http, listener);
        listener = NULL;
    }
}
