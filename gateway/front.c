/*
 * front.c — the front door between the listening socket and evhttp
 * (front.h says what it enforces; docs/threat-model.md why).
 *
 * evhttp (libevent 2.1.12) lets us supply each connection's bufferevent
 * (evhttp_set_bevcb). We give it a filter over the socket's bufferevent:
 *
 *   socket bev --input--> fc_in (the framer) --> evhttp's input
 *   evhttp's output --> fc_out --> write(2) on the socket
 *
 * The input side passes a request's bytes only as far as they are valid,
 * and nothing of the next request until evhttp has sent the reply to this
 * one (front_request sets the completion callback). The output side writes
 * straight to the socket and keeps in evhttp's buffer what the kernel did
 * not take, so that evhttp's "reply sent" (and its close after
 * "Connection: close") means the bytes are in the kernel: a filter that
 * moved them to the socket bev's buffer instead would let evhttp close the
 * socket with the reply still unsent. libevent 2.1.12 quirks handled here:
 * enabling EV_WRITE on a filter does not flush it, and a filter that
 * writes while evhttp is still adding a reply makes evhttp take the reply
 * for sent (fc_kick schedules the write from the loop instead); a filter
 * that defers its callbacks never tells evhttp its reply was written; and
 * evhttp's own timeouts, armed on the filter, can fire after libevent freed
 * it (valgrind), so http.timeout is kept here, on the socket.
 *
 * The framer itself is frame.c (bytes in, verdicts out); this file runs
 * the deadlines off its phases: the head's from its first byte, the body's
 * from the end of the head.
 */
#include "front.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "frame.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"

#define ACCEPT_BACKOFF_MS 250   /* listener paused after an accept error */
#define LINGER_S 2              /* after a 400: drain input, then close */
#define FD_SOFT_MAX 65536       /* soft fd limit raised at most to this */

/* One connection. Lives from evhttp's bevcb to the filter's free. */
struct fconn {
    struct bufferevent *bev;    /* the filter evhttp owns */
    struct bufferevent *sock;   /* the socket bufferevent under it */
    struct event *timer;        /* head / body deadline; linger after 400 */
    struct event *resume;       /* reads the next request (event_active) */
    struct event *wready;       /* the socket is writable again */
    struct event *flush;        /* writes evhttp's output (event_active) */
    int flushing;               /* fc_out may write (set by on_flush) */
    evutil_socket_t fd;         /* -1 until evhttp sets it */
    int busy;                   /* a whole request is with evhttp */
    int rejected;               /* 400 sent: input is discarded */
    int in_body;                /* the deadline running is the body's */
    int upload;                 /* counted in F.uploads (a big body) */
    struct frame fr;            /* the framer (frame.h) */
};

/* One rate-limited kind of log line. */
struct fl {
    time_t last;
    unsigned long suppressed;
    int every_s;
};

static struct {
    struct gw *gw;
    struct evconnlistener *lev;
    struct event *backoff;
    int paused_cap, paused_err;
    int cap;
    int open;
    int uploads;                /* connections reading a big body */
    struct frame_limits lim;    /* from the config, at each connection */
    struct fconn **byfd;
    size_t nbyfd;
    struct fl fl_cap, fl_accept, fl_reject, fl_deadline;
} F = {
    .fl_cap = { 0, 0, 10 }, .fl_accept = { 0, 0, 10 },
    .fl_reject = { 0, 0, 1 }, .fl_deadline = { 0, 0, 1 },
};

/* Logs at most one line of kind k every k->every_s seconds; the next line
 * says how many were left out. */
static void fl_log(struct fl *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fl_log(struct fl *k, const char *fmt, ...)
{
    time_t now = time(NULL);
    char line[256];
    va_list ap;

    if (k->last && now - k->last < k->every_s) {
        k->suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k->suppressed)
        log_warn("%s (%lu more like it not logged)", line, k->suppressed);
    else
        log_warn("%s", line);
    k->last = now;
    k->suppressed = 0;
}

static void count(const char *name, const char *label_name, const char *label)
{
    if (F.gw && F.gw->metrics)
        metrics_add(F.gw->metrics, name, label_name, label, 1);
}

/* ---- the listener: cap and accept errors --------------------------------- */

/* Enables the listener exactly when nothing holds it paused. */
static void listener_sync(void)
{
    if (!F.lev)
        return;
    if (F.paused_cap || F.paused_err)
        evconnlistener_disable(F.lev);
    else
        evconnlistener_enable(F.lev);
}

static void cap_check(void)
{
    int at_cap = F.open >= F.cap;

    if (at_cap && !F.paused_cap) {
        F.paused_cap = 1;
        count("hotline_http_accept_paused_total", "reason", "cap");
        fl_log(&F.fl_cap, "front: %d connections open, the cap "
               "(http.max_connections): not accepting until one closes",
               F.open);
        listener_sync();
    } else if (!at_cap && F.paused_cap) {
        F.paused_cap = 0;
        listener_sync();
    }
}

static void on_backoff(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    F.paused_err = 0;
    listener_sync();
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS, ...): libevent would log and
 * retry at once, forever. Pause the listener for ACCEPT_BACKOFF_MS. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };

    (void)lev;
    (void)arg;
    count("hotline_http_accept_paused_total", "reason", "error");
    fl_log(&F.fl_accept, "front: accept: %s (%d connections open): not "
           "accepting for %d ms", evutil_socket_error_to_string(err), F.open,
           ACCEPT_BACKOFF_MS);
    F.paused_err = 1;
    listener_sync();
    if (F.backoff)
        event_add(F.backoff, &tv);
}

/* ---- one connection ---------------------------------------------------------- */

static void fc_register(struct fconn *c)
{
    size_t fd;

    if (c->fd >= 0 || !c->sock)
        return;
    c->fd = bufferevent_getfd(c->sock);
    if (c->fd < 0)
        return;
    fd = (size_t)c->fd;
    if (fd >= F.nbyfd) {
        size_t n = F.nbyfd ? F.nbyfd : 64;
        struct fconn **t;

        while (n <= fd)
            n *= 2;
        t = realloc(F.byfd, n * sizeof *t);
        if (!t)
            return;
        memset(t + F.nbyfd, 0, (n - F.nbyfd) * sizeof *t);
        F.byfd = t;
        F.nbyfd = n;
    }
    F.byfd[fd] = c;
}

/* Has evhttp let go of this connection (bufferevent_free clears the
 * callbacks; the memory lives until the filter's free_context)? */
static int fc_gone(const struct fconn *c)
{
    bufferevent_event_cb ecb = NULL;

    bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
    return ecb == NULL;
}

/* Makes evhttp drop the connection now (it frees it, and us with it). */
static void fc_close(struct fconn *c, short what)
{
    if (!fc_gone(c))
        bufferevent_trigger_event(c->bev, what, 0);
}

/* http.timeout: idle time allowed between bytes while a request is read
 * (not while evhttp has one: c->busy), and a reply may stall. */
static struct timeval idle_tv(void)
{
    struct timeval tv = { F.gw->cfg->http_timeout_s, 0 };

    return tv;
}

static void fc_read_timeout(struct fconn *c, int on)
{
    struct timeval tv = idle_tv();

    bufferevent_set_timeouts(c->sock, on ? &tv : NULL, NULL);
}

/* Writes a whole short reply straight to the socket, best effort: nothing
 * else is being sent on this connection when it is called. */
static void fc_say(struct fconn *c, int status, const char *reason,
                   const char *why)
{
    char msg[512];
    char body[160];
    int bl = snprintf(body, sizeof body, "%d %s\n", status, why);
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
                     "charset=utf-8\r\nCache-Control: no-store\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     status, reason, bl, body);

    if (c->fd >= 0 && n > 0 && (size_t)n < sizeof msg &&
        send(c->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("front: reply %d not sent: %s", status, strerror(errno));
}

/* The connection no longer reads a big body (done, refused or gone). */
static void fc_upload_end(struct fconn *c)
{
    if (c->upload) {
        c->upload = 0;
        F.uploads--;
    }
}

/* A request failed the framer: 400 (413 for a body over its limit, 503
 * for an upload past FRONT_UPLOADS_MAX), stop passing input, close after
 * LINGER_S or when the client closes (so it reads the reply and is not
 * reset by unread input). */
static void fc_reject(struct fconn *c)
{
    struct timeval tv = { LINGER_S, 0 };
    int st = c->fr.status ? c->fr.status : 400;
    const char *reason = st == 413 ? "Content Too Large" :
                         st == 503 ? "Service Unavailable" : "Bad Request";

    c->rejected = 1;
    fc_upload_end(c);
    count("hotline_http_rejected_total", "reason", c->fr.why);
    fl_log(&F.fl_reject, "front: %d %s: connection closed", st, c->fr.why);
    fc_say(c, st, reason, c->fr.why);
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_WR);
    event_add(c->timer, &tv);
}

/* Arms the deadline for the phase the framer entered, or stops it. */
static void fc_phase(struct fconn *c, enum frame_phase before)
{
    enum frame_phase now = frame_phase(&c->fr);
    const struct cfg *cfg = F.gw->cfg;
    struct timeval tv = { 0, 0 };

    if (now == before)
        return;
    if (now == FRAME_IDLE) {
        event_del(c->timer);
        return;
    }
    c->in_body = now == FRAME_BODY;
    tv.tv_sec = c->in_body ? cfg->body_timeout_s : cfg->header_timeout_s;
    event_add(c->timer, &tv);
}

/* Moves from src to dst the bytes of the current request that pass the
 * framer; stops at the end of a request (busy until its reply is sent) or
 * at an invalid byte (then 400). Returns the bytes moved. */
static size_t fc_pump(struct fconn *c, struct evbuffer *src,
                      struct evbuffer *dst)
{
    size_t moved = 0;
    enum frame_ev ev = FRAME_MORE;

    fc_register(c);
    if (c->rejected) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return 0;
    }
    while (!c->busy && ev != FRAME_BAD && evbuffer_get_length(src)) {
        struct evbuffer_iovec v[8];
        int nv = evbuffer_peek(src, -1, NULL, v, 8);
        size_t ok = 0;
        int i;

        ev = FRAME_MORE;
        for (i = 0; i < nv && ev == FRAME_MORE; i++) {
            enum frame_phase before = frame_phase(&c->fr);

            ok += frame_feed(&c->fr, v[i].iov_base, v[i].iov_len, &ev);
            if (ev != FRAME_DONE)
                fc_phase(c, before);
        }
        if (ev != FRAME_BAD && c->fr.big && !c->upload) {
            if (F.uploads >= FRONT_UPLOADS_MAX) {
                c->fr.why = "too many uploads at once";
                c->fr.status = 503;
                ev = FRAME_BAD;
                ok = 0;
            } else {
                c->upload = 1;
                F.uploads++;
            }
        }
        if (ok)
            evbuffer_remove_buffer(src, dst, ok);
        moved += ok;
        if (ev == FRAME_DONE) {
            c->busy = 1;
            fc_read_timeout(c, 0);
            event_del(c->timer);
        }
    }
    if (ev == FRAME_BAD) {
        evbuffer_drain(src, evbuffer_get_length(src));
        fc_reject(c);
    }
    return moved;
}

static enum bufferevent_filter_result fc_in(struct evbuffer *src,
                                            struct evbuffer *dst,
                                            ev_ssize_t lim,
                                            enum bufferevent_flush_mode mode,
                                            void *arg)
{
    (void)lim;
    (void)mode;
    return fc_pump(arg, src, dst) ? BEV_OK : BEV_NEED_MORE;
}

static void on_wready(evutil_socket_t fd, short what, void *arg);

/* evhttp's output: straight to the socket; what the kernel does not take
 * stays in src (evhttp's buffer) until the socket is writable again. */
static enum bufferevent_filter_result fc_out(struct evbuffer *src,
                                             struct evbuffer *dst,
                                             ev_ssize_t lim,
                                             enum bufferevent_flush_mode mode,
                                             void *arg)
{
    struct fconn *c = arg;
    int n;

    (void)lim;
    (void)mode;
    fc_register(c);
    if (!c->flushing || c->fd < 0 || evbuffer_get_length(dst))
        return BEV_NEED_MORE;
    n = evbuffer_write(src, c->fd);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        /* Let the socket bufferevent meet the error and report it. */
        evbuffer_add_buffer(dst, src);
        return BEV_OK;
    }
    if (evbuffer_get_length(src)) {
        if (!c->wready)
            c->wready = event_new(bufferevent_get_base(c->sock), c->fd,
                                  EV_WRITE, on_wready, c);
        if (c->wready) {
            struct timeval tv = idle_tv();

            event_add(c->wready, &tv);
        }
    }
    return n > 0 ? BEV_OK : BEV_NEED_MORE;
}

/* evhttp added to its output: have the filter write it from the event
 * loop, never during the add — evhttp builds a reply in several adds and
 * takes an empty output buffer for "reply sent". */
static void fc_kick(struct evbuffer *b, const struct evbuffer_cb_info *info,
                    void *arg)
{
    struct fconn *c = arg;

    (void)b;
    if (info->n_added)
        event_active(c->flush, EV_TIMEOUT, 1);
}

/* Runs the filter's output side with fc_out allowed to write. The filter
 * is freed later (libevent finalizes bufferevents from the loop), so c is
 * still ours when the trigger returns. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct fconn *c = arg;

    (void)fd;
    (void)what;
    if (fc_gone(c))
        return;
    c->flushing = 1;
    bufferevent_trigger(c->sock, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS);
    c->flushing = 0;
}

/* The socket is writable again, or stayed full for http.timeout. */
static void on_wready(evutil_socket_t fd, short what, void *arg)
{
    struct fconn *c = arg;

    if (what & EV_TIMEOUT) {
        count("hotline_http_deadline_total", "part", "reply");
        fc_close(c, BEV_EVENT_TIMEOUT | BEV_EVENT_WRITING);
        return;
    }
    on_flush(fd, what, arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct fconn *c = arg;
    const char *part = c->in_body ? "body" : "headers";

    (void)fd;
    (void)what;
    if (c->rejected) {
        fc_close(c, BEV_EVENT_EOF | BEV_EVENT_READING);
        return;
    }
    count("hotline_http_deadline_total", "part", part);
    fl_log(&F.fl_deadline, "front: request %s not complete within %d s: "
           "connection closed", part,
           c->in_body ? F.gw->cfg->body_timeout_s
                      : F.gw->cfg->header_timeout_s);
    fc_say(c, 408, "Request Timeout", "request not complete in time");
    fc_close(c, BEV_EVENT_TIMEOUT | BEV_EVENT_READING);
}

/* The reply to the request with evhttp was sent: read the next one. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct fconn *c = arg;

    (void)fd;
    (void)what;
    c->busy = 0;
    fc_upload_end(c);
    if (fc_gone(c))
        return;
    fc_read_timeout(c, 1);
    if (fc_pump(c, bufferevent_get_input(c->sock),
                bufferevent_get_input(c->bev)))
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    struct fconn *c = arg;

    (void)req;
    event_active(c->resume, EV_TIMEOUT, 1);
}

/* Frees what a connection that never got its filter holds. */
static void fc_free_parts(struct fconn *c)
{
    if (c->sock)
        bufferevent_free(c->sock);
    if (c->timer)
        event_free(c->timer);
    if (c->resume)
        event_free(c->resume);
    if (c->flush)
        event_free(c->flush);
    free(c);
}

/* The filter's free_context: the connection is gone. */
static void fc_free(void *arg)
{
    struct fconn *c = arg;

    if (c->fd >= 0 && (size_t)c->fd < F.nbyfd && F.byfd[c->fd] == c)
        F.byfd[c->fd] = NULL;
    fc_upload_end(c);
    if (c->timer)
        event_free(c->timer);
    if (c->resume)
        event_free(c->resume);
    if (c->wready)
        event_free(c->wready);
    if (c->flush)
        event_free(c->flush);
    free(c);
    F.open--;
    cap_check();
}

/* evhttp_set_bevcb: a new connection was accepted. */
static struct bufferevent *on_new_conn(struct event_base *base, void *arg)
{
    struct fconn *c = calloc(1, sizeof *c);

    (void)arg;
    if (!c)
        return NULL;
    c->fd = -1;
    F.lim.body = F.gw->cfg->max_body;
    F.lim.big_prefix = FRONT_UPLOAD_PREFIX;
    F.lim.big_body = (uint64_t)F.gw->cfg->console.upload_max;
    if (F.lim.big_body < F.lim.body)
        F.lim.big_body = F.lim.body;
    frame_init(&c->fr, &F.lim);
    c->sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(base, on_timer, c);
    c->resume = event_new(base, -1, 0, on_resume, c);
    c->flush = event_new(base, -1, 0, on_flush, c);
    if (c->sock)
        c->bev = bufferevent_filter_new(c->sock, fc_in, fc_out,
                                        BEV_OPT_CLOSE_ON_FREE, fc_free, c);
    if (!c->bev || !c->timer || !c->resume || !c->flush) {
        if (c->bev) {
            F.open++;                   /* fc_free counts it out */
            bufferevent_free(c->bev);   /* frees c->sock, calls fc_free */
        } else {
            fc_free_parts(c);
        }
        return NULL;
    }
    bufferevent_setwatermark(c->sock, EV_READ, 0, FRONT_READ_MAX);
    fc_read_timeout(c, 1);
    evbuffer_add_cb(bufferevent_get_output(c->bev), fc_kick, c);
    F.open++;
    cap_check();
    return c->bev;
}

/* ---- the module ---------------------------------------------------------------- */

/* The cap: http.max_connections, or the fd limit less FRONT_FD_RESERVE
 * (half the limit when that is small). */
static int compute_cap(const struct cfg *cfg)
{
    struct rlimit rl;
    long lim = 1024;

    if (cfg->max_connections > 0)
        return cfg->max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        lim = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_SOFT_MAX
                  ? FD_SOFT_MAX : (long)rl.rlim_cur;
    if (lim > 2 * FRONT_FD_RESERVE)
        return (int)(lim - FRONT_FD_RESERVE);
    return (int)(lim / 2 > 1 ? lim / 2 : 1);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_SOFT_MAX
               ? FD_SOFT_MAX : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            log_debug("front: setrlimit: %s", strerror(errno));
    }
}

void front_apply(struct gw *gw)
{
    F.gw = gw;
    F.cap = compute_cap(gw->cfg);
    cap_check();
}

int front_start(struct gw *gw, struct evhttp_bound_socket *bound, char *err,
                size_t errlen)
{
    raise_fd_limit();
    F.gw = gw;
    F.lev = evhttp_bound_socket_get_listener(bound);
    if (!F.backoff)
        F.backoff = evtimer_new(gw->base, on_backoff, NULL);
    if (!F.lev || !F.backoff) {
        snprintf(err, errlen, "front: no listener or timer");
        return -1;
    }
    evconnlistener_set_error_cb(F.lev, on_accept_error);
    evhttp_set_bevcb(gw->http, on_new_conn, NULL);
    front_apply(gw);
    log_info("front: at most %d connections (http.max_connections%s)",
             F.cap, gw->cfg->max_connections ? "" : ": from the fd limit");
    return 0;
}

void front_stop(void)
{
    F.lev = NULL;
    if (F.backoff)
        event_free(F.backoff);
    F.backoff = NULL;
}

void front_request(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev, *sock;
    evutil_socket_t fd;
    struct fconn *c;

    if (!evcon)
        return;
    bev = evhttp_connection_get_bufferevent(evcon);
    sock = bev ? bufferevent_get_underlying(bev) : NULL;
    fd = sock ? bufferevent_getfd(sock) : -1;
    if (fd < 0 || (size_t)fd >= F.nbyfd)
        return;
    c = F.byfd[fd];
    if (c && c->bev == bev)
        evhttp_request_set_on_complete_cb(req, on_complete, c);
}

int front_connections(void)
{
    return F.open;
}

int front_cap(void)
{
    return F.cap;
}
