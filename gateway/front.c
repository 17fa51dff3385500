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
 * socket with the reply still unsent. Two libevent 2.1.12 quirks are
 * handled here: enabling EV_WRITE on a filter does not flush it (fc_kick
 * schedules the flush), and the filter must not defer its callbacks (evhttp
 * then never hears that its reply was written).
 *
 * The framer (fc_step) accepts RFC 9112 requests and nothing laxer:
 * request line METHOD SP TARGET SP HTTP/1.x CRLF; header names are tokens,
 * values are visible characters, SP, HTAB or obs-text; every line ends in
 * CRLF; no obs-fold; one Content-Length of digits only (duplicates must be
 * equal); Transfer-Encoding only "chunked", never with Content-Length; a
 * body only on POST, PUT and PATCH; chunk sizes of hex digits without
 * extensions; no trailer fields. Sizes stay evhttp's job (max_headers,
 * max_body: 413).
 */
#include "front.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"

#define ACCEPT_BACKOFF_MS 250   /* listener paused after an accept error */
#define LINGER_S 2              /* after a 400: drain input, then close */
#define FD_SOFT_MAX 65536       /* soft fd limit raised at most to this */
#define NAME_KEEP 24            /* header name bytes kept (for CL / TE) */
#define VALUE_KEEP 24           /* header value bytes kept (for CL / TE) */

enum fc_state {
    S_START, S_METHOD, S_TARGET, S_VERSION, S_RL_LF, S_LINE, S_NAME,
    S_VALUE, S_HL_LF, S_END_LF, S_BODY, S_CH_SIZE, S_CH_SIZE_LF, S_CH_DATA,
    S_CH_DATA_CR, S_CH_DATA_LF, S_CH_END_CR, S_CH_END_LF
};

enum fc_hdr { H_OTHER, H_CL, H_TE };

/* What one framer step found. */
enum fc_ev { E_MORE, E_DONE, E_BAD };

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
    /* the framer */
    enum fc_state st;
    enum fc_hdr hdr;
    char method[8];
    size_t mlen;
    char version[9];
    size_t vlen;
    size_t tlen;
    char name[NAME_KEEP];
    size_t nlen;
    char value[VALUE_KEEP];
    size_t vallen;
    int cl_seen, te_seen;
    uint64_t cl;
    uint64_t left;              /* body or chunk bytes still to come */
    int hexdigits;
    const char *why;            /* reason of a rejection (static text) */
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

/* ---- the framer ------------------------------------------------------------ */

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static enum fc_ev bad(struct fconn *c, const char *why)
{
    c->why = why;
    return E_BAD;
}

static void deadline(struct fconn *c, int seconds, int body)
{
    struct timeval tv = { seconds, 0 };

    c->in_body = body;
    event_add(c->timer, &tv);
}

/* The value of a Content-Length or Transfer-Encoding header, complete. */
static enum fc_ev header_done(struct fconn *c)
{
    size_t n = c->vallen;
    uint64_t v = 0;
    size_t i;

    if (c->hdr == H_OTHER)
        return E_MORE;
    while (n && (c->value[n - 1] == ' ' || c->value[n - 1] == '\t'))
        n--;
    if (n >= VALUE_KEEP)
        return bad(c, c->hdr == H_CL ? "invalid Content-Length"
                                     : "unsupported Transfer-Encoding");
    if (c->hdr == H_TE) {
        if (c->te_seen)
            return bad(c, "repeated Transfer-Encoding");
        c->te_seen = 1;
        if (n != 7 || strncasecmp(c->value, "chunked", 7) != 0)
            return bad(c, "unsupported Transfer-Encoding");
        return E_MORE;
    }
    if (n == 0 || n > 18)
        return bad(c, "invalid Content-Length");
    for (i = 0; i < n; i++) {
        if (c->value[i] < '0' || c->value[i] > '9')
            return bad(c, "invalid Content-Length");
        v = v * 10 + (uint64_t)(c->value[i] - '0');
    }
    if (c->cl_seen && v != c->cl)
        return bad(c, "conflicting Content-Length");
    c->cl_seen = 1;
    c->cl = v;
    return E_MORE;
}

static int method_has_body(const struct fconn *c)
{
    return strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0 ||
           strcmp(c->method, "PATCH") == 0;
}

/* The blank line after the headers: what body follows, if any. */
static enum fc_ev head_done(struct fconn *c)
{
    const struct cfg *cfg = F.gw->cfg;

    if (c->te_seen && c->cl_seen)
        return bad(c, "Transfer-Encoding with Content-Length");
    if ((c->te_seen || c->cl) && !method_has_body(c))
        return bad(c, "a body on a request without one");
    if (c->te_seen) {
        c->st = S_CH_SIZE;
        c->hexdigits = 0;
        c->left = 0;
    } else if (c->cl) {
        c->st = S_BODY;
        c->left = c->cl;
    } else {
        return E_DONE;
    }
    deadline(c, cfg->body_timeout_s, 1);
    return E_MORE;
}

static enum fc_ev step_request_line(struct fconn *c, unsigned char ch)
{
    switch (c->st) {
    case S_START:
    case S_METHOD:
        if (c->st == S_START) {
            deadline(c, F.gw->cfg->header_timeout_s, 0);
            c->st = S_METHOD;
        }
        if (ch == ' ' && c->mlen)
            c->st = S_TARGET;
        else if (!is_tchar(ch) || c->mlen + 1 >= sizeof c->method)
            return bad(c, "bad request line");
        else
            c->method[c->mlen++] = (char)ch;
        c->method[c->mlen] = '\0';
        return E_MORE;
    case S_TARGET:
        if (ch == ' ' && c->tlen)
            c->st = S_VERSION;
        else if (ch > 0x20 && ch < 0x7f)
            c->tlen++;
        else
            return bad(c, "bad request target");
        return E_MORE;
    case S_VERSION:
        if (ch == '\r') {
            c->version[c->vlen] = '\0';
            if (strcmp(c->version, "HTTP/1.1") != 0 &&
                strcmp(c->version, "HTTP/1.0") != 0)
                return bad(c, "bad HTTP version");
            c->st = S_RL_LF;
        } else if (c->vlen + 1 >= sizeof c->version) {
            return bad(c, "bad HTTP version");
        } else {
            c->version[c->vlen++] = (char)ch;
        }
        return E_MORE;
    default:
        return bad(c, "bad request line");
    }
}

static enum fc_ev step_header(struct fconn *c, unsigned char ch)
{
    switch (c->st) {
    case S_LINE:
        if (ch == '\r') {
            c->st = S_END_LF;
        } else if (ch == ' ' || ch == '\t') {
            return bad(c, "folded header line");
        } else if (!is_tchar(ch)) {
            return bad(c, "invalid header name");
        } else {
            c->nlen = 0;
            c->name[c->nlen++] = (char)ch;
            c->st = S_NAME;
        }
        return E_MORE;
    case S_NAME:
        if (ch == ':') {
            c->hdr = H_OTHER;
            if (c->nlen == 14 && strncasecmp(c->name, "content-length", 14) == 0)
                c->hdr = H_CL;
            else if (c->nlen == 17 &&
                     strncasecmp(c->name, "transfer-encoding", 17) == 0)
                c->hdr = H_TE;
            c->vallen = 0;
            c->st = S_VALUE;
        } else if (!is_tchar(ch)) {
            return bad(c, "invalid header name");
        } else if (c->nlen < NAME_KEEP) {
            c->name[c->nlen++] = (char)ch;
        }
        return E_MORE;
    case S_VALUE:
        if (ch == '\r') {
            c->st = S_HL_LF;
            return header_done(c);
        }
        if (!is_value_char(ch))
            return bad(c, "invalid header value");
        if (c->hdr != H_OTHER && c->vallen < VALUE_KEEP &&
            !(c->vallen == 0 && (ch == ' ' || ch == '\t')))
            c->value[c->vallen++] = (char)ch;
        return E_MORE;
    default:
        return bad(c, "bad header line");
    }
}

static enum fc_ev step_chunk(struct fconn *c, unsigned char ch)
{
    int h = hexval(ch);

    switch (c->st) {
    case S_CH_SIZE:
        if (ch == '\r' && c->hexdigits) {
            c->st = S_CH_SIZE_LF;
        } else if (h < 0 || c->hexdigits >= 15) {
            return bad(c, "invalid chunk size");
        } else {
            c->left = c->left * 16 + (uint64_t)h;
            c->hexdigits++;
        }
        return E_MORE;
    case S_CH_DATA_CR:
    case S_CH_END_CR:
        if (ch != '\r')
            return bad(c, c->st == S_CH_END_CR ? "trailer fields refused"
                                               : "chunk not ended by CRLF");
        c->st = c->st == S_CH_END_CR ? S_CH_END_LF : S_CH_DATA_LF;
        return E_MORE;
    default:
        return bad(c, "bad chunk");
    }
}

/* An LF: ends the line its CR started, or is a bare LF. */
static enum fc_ev step_lf(struct fconn *c)
{
    switch (c->st) {
    case S_RL_LF:
    case S_HL_LF:
        c->st = S_LINE;
        return E_MORE;
    case S_END_LF:
        return head_done(c);
    case S_CH_SIZE_LF:
        if (c->left == 0) {
            c->st = S_CH_END_CR;
        } else {
            c->st = S_CH_DATA;
        }
        return E_MORE;
    case S_CH_DATA_LF:
        c->st = S_CH_SIZE;
        c->hexdigits = 0;
        c->left = 0;
        return E_MORE;
    case S_CH_END_LF:
        return E_DONE;
    default:
        return bad(c, "bare LF line end");
    }
}

/* Feeds bytes p[0..n) to the framer. Returns how many it took (body bytes
 * in bulk, others one at a time) and sets *ev: E_DONE when the byte taken
 * last ended a request, E_BAD when p[taken] is invalid (c->why says why). */
static size_t fc_step(struct fconn *c, const unsigned char *p, size_t n,
                      enum fc_ev *ev)
{
    unsigned char ch = p[0];
    int cr_expected = c->st == S_RL_LF || c->st == S_HL_LF ||
                      c->st == S_END_LF || c->st == S_CH_SIZE_LF ||
                      c->st == S_CH_DATA_LF || c->st == S_CH_END_LF;

    if (c->st == S_BODY || c->st == S_CH_DATA) {
        size_t k = c->left < n ? (size_t)c->left : n;

        c->left -= k;
        *ev = E_MORE;
        if (c->left == 0) {
            if (c->st == S_CH_DATA)
                c->st = S_CH_DATA_CR;
            else
                *ev = E_DONE;
        }
        return k;
    }
    if (ch == '\n')
        *ev = step_lf(c);
    else if (cr_expected)
        *ev = bad(c, "CR not followed by LF");
    else if (c->st <= S_RL_LF)
        *ev = step_request_line(c, ch);
    else if (c->st <= S_END_LF)
        *ev = step_header(c, ch);
    else
        *ev = step_chunk(c, ch);
    return *ev == E_BAD ? 0 : 1;
}

static void framer_reset(struct fconn *c)
{
    c->st = S_START;
    c->mlen = c->vlen = c->tlen = c->nlen = c->vallen = 0;
    c->method[0] = '\0';
    c->cl_seen = c->te_seen = 0;
    c->cl = c->left = 0;
    c->hexdigits = 0;
    c->why = NULL;
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

/* A request failed the framer: 400, stop passing input, close after
 * LINGER_S or when the client closes (so it reads the 400 and is not
 * reset by unread input). */
static void fc_reject(struct fconn *c)
{
    struct timeval tv = { LINGER_S, 0 };

    c->rejected = 1;
    count("hotline_http_rejected_total", "reason", c->why);
    fl_log(&F.fl_reject, "front: 400 %s: connection closed", c->why);
    fc_say(c, 400, "Bad Request", c->why);
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_WR);
    event_add(c->timer, &tv);
}

/* Moves from src to dst the bytes of the current request that pass the
 * framer; stops at the end of a request (busy until its reply is sent) or
 * at an invalid byte (then 400). Returns the bytes moved. */
static size_t fc_pump(struct fconn *c, struct evbuffer *src,
                      struct evbuffer *dst)
{
    size_t moved = 0;
    enum fc_ev ev = E_MORE;

    fc_register(c);
    if (c->rejected) {
        evbuffer_drain(src, evbuffer_get_length(src));
        return 0;
    }
    while (!c->busy && ev != E_BAD && evbuffer_get_length(src)) {
        struct evbuffer_iovec v[8];
        int nv = evbuffer_peek(src, -1, NULL, v, 8);
        size_t ok = 0;
        int i;

        for (i = 0; i < nv && ev == E_MORE; i++) {
            const unsigned char *p = v[i].iov_base;
            size_t j = 0;

            while (j < v[i].iov_len && ev == E_MORE)
                j += fc_step(c, p + j, v[i].iov_len - j, &ev);
            ok += j;
        }
        if (ok)
            evbuffer_remove_buffer(src, dst, ok);
        moved += ok;
        if (ev == E_DONE) {
            c->busy = 1;
            fc_read_timeout(c, 0);
            event_del(c->timer);
            framer_reset(c);
        }
    }
    if (ev == E_BAD) {
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
    framer_reset(c);
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
