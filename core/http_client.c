/*
 * http_client.c — libcurl's multi interface on hotlined's libevent loop (the
 * hiperfifo pattern; see http_client.h for the contract).
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one
 * `struct hc_sock` with one persistent libevent event per socket, created,
 * re-armed and freed as curl asks) and when to wake it up
 * (CURLMOPT_TIMERFUNCTION: one libevent timer). Both events end in
 * curl_multi_socket_action(), after which finished transfers are drained
 * from curl_multi_info_read() and their callbacks run.
 *
 * hc_send() only adds the easy handle; curl then asks for a zero timeout and
 * the transfer really starts on the next loop iteration, so a callback never
 * runs from inside hc_send(), even for a transfer that fails at once.
 *
 * Each transfer (`struct hc_xfer`) owns its copies of the request body, the
 * header and recipient lists and the response body (capped at HC_BODY_MAX;
 * the excess is read and dropped). Strings passed to curl_easy_setopt are
 * copied by libcurl itself. A transfer is freed right after its callback.
 *
 * SMTP caveat (libcurl 7.88): after the message curl waits for the
 * server's 250, and for the 221 to QUIT, in a blocking poll inside
 * curl_multi_socket_action. Those waits are bounded by the transfer's
 * timeout (CURLOPT_SERVER_RESPONSE_TIMEOUT) and usually last one round
 * trip; alerts by e-mail are rare, so this is accepted rather than moving
 * SMTP to a thread.
 *
 * Status reported to callbacks: the HTTP status of a completed exchange;
 * for SMTP 250 on success, or the server's final code (4xx/5xx) when it
 * refused the message; otherwise 0 with curl_easy_strerror()'s text (a
 * fixed message that never contains the URL, its credentials or numbers).
 */
#include "http_client.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HC_DEFAULT_MAX_TRANSFERS 64
#define HC_DEFAULT_CONNECT_MS 3000
#define HC_DEFAULT_TIMEOUT_MS 10000
#define HC_PROTOCOLS "http,https,smtp,smtps"
#define HC_USER_AGENT "hotline/1"

struct hc_xfer;

/* One socket curl asked us to watch; owned by the hc (sock list), freed on
 * CURL_POLL_REMOVE or in hc_free. */
struct hc_sock {
    struct hc *hc;
    curl_socket_t fd;
    struct event *ev;
    struct hc_sock *prev, *next;
};

/* One transfer in flight; owned by the hc (xfer list). */
struct hc_xfer {
    struct hc *hc;
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *rcpt;
    char *body;                  /* our copy of the request body */
    size_t body_len;
    size_t body_off;             /* SMTP upload position */
    char *resp;                  /* response body, NUL-terminated */
    size_t resp_len;
    size_t resp_cap;
    int smtp;
    hc_cb cb;
    void *arg;
    struct hc_xfer *prev, *next;
};

struct hc {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;         /* curl's single timeout */
    struct hc_xfer *xfers;
    size_t pending;
    struct hc_sock *socks;
    int connect_timeout_ms;
    int closing;                 /* hc_free under way: hc_send refuses */
};

static void check_multi_info(struct hc *hc);

void hc_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- libevent ↔ curl glue ------------------------------------------------ */

/* A watched socket is ready: tell curl which way, then collect finished
 * transfers. The hc_sock may be freed inside curl_multi_socket_action. */
static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct hc_sock *s = arg;
    struct hc *hc = s->hc;
    int action = 0;
    int running = 0;

    if (what & EV_READ)
        action |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(hc->multi, (curl_socket_t)fd, action, &running);
    check_multi_info(hc);
}

/* curl's timeout expired (or a zero timeout asked for "as soon as
 * possible"): let it run its timers, then collect finished transfers. */
static void on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    struct hc *hc = arg;
    int running = 0;

    (void)fd;
    (void)what;
    curl_multi_socket_action(hc->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(hc);
}

/* CURLMOPT_TIMERFUNCTION: -1 deletes the timer, otherwise (re)arms it. We
 * never call curl_multi_socket_action from here, so a zero timeout runs on
 * the next loop iteration. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct hc *hc = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0)
        return evtimer_del(hc->timer) == 0 ? 0 : -1;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(hc->timer, &tv) == 0 ? 0 : -1;
}

static void sock_free(struct hc *hc, struct hc_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        hc->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    if (s->ev)
        event_free(s->ev);
    free(s);
}

/* Points s's event at the directions curl wants (CURL_POLL_IN/OUT/INOUT). */
static int sock_arm(struct hc *hc, struct hc_sock *s, curl_socket_t fd,
                    int what)
{
    short kind = EV_PERSIST;

    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        kind |= EV_READ;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        kind |= EV_WRITE;
    if (s->ev) {
        event_del(s->ev);
        if (event_assign(s->ev, hc->base, fd, kind, on_socket_event, s) != 0)
            return -1;
    } else {
        s->ev = event_new(hc->base, fd, kind, on_socket_event, s);
        if (!s->ev)
            return -1;
    }
    s->fd = fd;
    return event_add(s->ev, NULL);
}

/* CURLMOPT_SOCKETFUNCTION: creates, updates or deletes the event of one
 * socket. sockp is what we attached with curl_multi_assign (or NULL). */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
                     void *sockp)
{
    struct hc *hc = userp;
    struct hc_sock *s = sockp;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(hc->multi, fd, NULL);
            sock_free(hc, s);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->hc = hc;
        s->next = hc->socks;
        if (hc->socks)
            hc->socks->prev = s;
        hc->socks = s;
        curl_multi_assign(hc->multi, fd, s);
    }
    if (sock_arm(hc, s, fd, what) != 0) {
        curl_multi_assign(hc->multi, fd, NULL);
        sock_free(hc, s);
        return -1;
    }
    return 0;
}

/* ---- transfers ------------------------------------------------------------ */

/* CURLOPT_WRITEFUNCTION: keeps at most HC_BODY_MAX bytes and swallows the
 * rest, so an oversized answer still completes with its status. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct hc_xfer *x = userdata;
    size_t n = size * nmemb;
    size_t keep = n;
    size_t want;
    char *p;

    if (x->resp_len >= HC_BODY_MAX)
        return n;
    if (keep > HC_BODY_MAX - x->resp_len)
        keep = HC_BODY_MAX - x->resp_len;
    want = x->resp_len + keep + 1;
    if (want > x->resp_cap) {
        size_t cap = x->resp_cap ? x->resp_cap : 1024;

        while (cap < want)
            cap *= 2;
        if (cap > HC_BODY_MAX + 1)
            cap = HC_BODY_MAX + 1;
        p = realloc(x->resp, cap);
        if (!p)
            return 0;            /* CURLE_WRITE_ERROR: status 0 */
        x->resp = p;
        x->resp_cap = cap;
    }
    memcpy(x->resp + x->resp_len, ptr, keep);
    x->resp_len += keep;
    x->resp[x->resp_len] = '\0';
    return n;
}

/* CURLOPT_READFUNCTION for SMTP: the e-mail from our copy of the body. */
static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct hc_xfer *x = userdata;
    size_t room = size * nitems;
    size_t left = x->body_len - x->body_off;

    if (room > left)
        room = left;
    memcpy(buf, x->body + x->body_off, room);
    x->body_off += room;
    return room;
}

static void xfer_unlink(struct hc_xfer *x)
{
    struct hc *hc = x->hc;

    if (x->prev)
        x->prev->next = x->next;
    else
        hc->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    hc->pending--;
}

/* Frees a transfer that is not (or no longer) in the multi handle. */
static void xfer_free(struct hc_xfer *x)
{
    if (!x)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    curl_slist_free_all(x->rcpt);
    free(x->body);
    free(x->resp);
    free(x);
}

/* Runs the callback once with res, then frees the transfer. */
static void xfer_finish(struct hc_xfer *x, int status, const char *error)
{
    struct hc_response res;

    res.status = status;
    res.body = x->resp ? x->resp : "";
    res.body_len = x->resp_len;
    res.error = error;
    x->cb(&res, x->arg);
    xfer_free(x);
}

/* The status a finished transfer reports (see the opening comment). */
static int xfer_status(const struct hc_xfer *x, CURLcode rc)
{
    long code = 0;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (x->smtp) {
        if (rc == CURLE_OK)
            return code > 0 ? (int)code : 250;
        return code >= 400 && code < 600 ? (int)code : 0;
    }
    if (rc != CURLE_OK)
        return 0;
    return (int)code;
}

/* Drains curl's finished transfers. A callback may call hc_send (it only
 * adds a handle; nothing re-enters here) but must not call hc_free. */
static void check_multi_info(struct hc *hc)
{
    CURLMsg *msg;
    struct hc_xfer *x;
    CURLcode rc;
    int left;
    int status;

    for (;;) {
        msg = curl_multi_info_read(hc->multi, &left);
        if (!msg)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        x = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (!x)
            continue;
        rc = msg->data.result;
        status = xfer_status(x, rc);
        curl_multi_remove_handle(hc->multi, x->easy);
        xfer_unlink(x);
        xfer_finish(x, status, status ? NULL : curl_easy_strerror(rc));
    }
}

static int is_smtp_url(const char *url)
{
    return strncasecmp(url, "smtp://", 7) == 0 ||
           strncasecmp(url, "smtps://", 8) == 0;
}

/* A header line must not smuggle another one in. */
static int header_ok(const char *h)
{
    return h && strpbrk(h, "\r\n") == NULL && strchr(h, ':') != NULL;
}

/* Builds the header list: the caller's lines, plus an empty "Expect:" so
 * curl never waits for 100-continue on larger bodies. Returns 0 or -1. */
static int xfer_headers(struct hc_xfer *x, const struct hc_request *rq)
{
    struct curl_slist *l;
    int has_expect = 0;

    for (size_t i = 0; i < rq->nheaders; i++) {
        if (!header_ok(rq->headers[i]))
            return -1;
        if (strncasecmp(rq->headers[i], "Expect:", 7) == 0)
            has_expect = 1;
        l = curl_slist_append(x->headers, rq->headers[i]);
        if (!l)
            return -1;
        x->headers = l;
    }
    if (!has_expect) {
        l = curl_slist_append(x->headers, "Expect:");
        if (!l)
            return -1;
        x->headers = l;
    }
    return 0;
}

/* Options every transfer gets: limits, protocols, callbacks. */
static int xfer_common(struct hc *hc, struct hc_xfer *x,
                       const struct hc_request *rq)
{
    CURL *e = x->easy;
    long timeout = rq->timeout_ms > 0 ? rq->timeout_ms : HC_DEFAULT_TIMEOUT_MS;
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(e, CURLOPT_URL, rq->url);
    rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, HC_PROTOCOLS);
    rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                           (long)hc->connect_timeout_ms);
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
    if (rq->username) {
        rc |= curl_easy_setopt(e, CURLOPT_USERNAME, rq->username);
        rc |= curl_easy_setopt(e, CURLOPT_PASSWORD,
                               rq->password ? rq->password : "");
    }
    return rc == CURLE_OK ? 0 : -1;
}

/* HTTP: method, body and headers. */
static int xfer_http(struct hc_xfer *x, const struct hc_request *rq)
{
    CURL *e = x->easy;
    const char *m = rq->method ? rq->method : (rq->body ? "POST" : "GET");
    CURLcode rc = CURLE_OK;

    if (xfer_headers(x, rq) != 0)
        return -1;
    rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, HC_USER_AGENT);
    if (rq->username)
        rc |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    if (strcmp(m, "GET") == 0) {
        rc |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0) {
        /* POSTFIELDS is not copied by curl: it points at x->body. */
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                               (curl_off_t)x->body_len);
        rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
        if (m[1] == 'U')
            rc |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    } else {
        return -1;
    }
    return rc == CURLE_OK ? 0 : -1;
}

/* SMTP: envelope and the message as an upload. */
static int xfer_smtp(struct hc_xfer *x, const struct hc_request *rq)
{
    long timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms
                                         : HC_DEFAULT_TIMEOUT_MS;
    CURL *e = x->easy;
    struct curl_slist *l;
    CURLcode rc = CURLE_OK;

    if (!rq->mail_from || rq->nrcpt == 0)
        return -1;
    for (size_t i = 0; i < rq->nrcpt; i++) {
        if (!rq->mail_rcpt[i] || strpbrk(rq->mail_rcpt[i], "\r\n"))
            return -1;
        l = curl_slist_append(x->rcpt, rq->mail_rcpt[i]);
        if (!l)
            return -1;
        x->rcpt = l;
    }
    if (strpbrk(rq->mail_from, "\r\n"))
        return -1;
    rc |= curl_easy_setopt(e, CURLOPT_MAIL_FROM, rq->mail_from);
    rc |= curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->rcpt);
    rc |= curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    rc |= curl_easy_setopt(e, CURLOPT_READDATA, (void *)x);
    rc |= curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                           (curl_off_t)x->body_len);
    /* smtp://: STARTTLS when the server offers it (smtps:// is TLS anyway). */
    rc |= curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    /* libcurl 7.88 waits for the reply to the end of the message and to
     * QUIT *blocking* (smtp_done / smtp_disconnect), i.e. it stalls the
     * loop. Bound every such wait by the transfer's timeout, and close the
     * connection right after the message so no QUIT stall happens later,
     * at an unpredictable cache eviction or in hc_free. */
    rc |= curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                           (timeout_ms + 999) / 1000);
    rc |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    return rc == CURLE_OK ? 0 : -1;
}

/* Allocates a transfer with its own copy of the body. NULL on failure. */
static struct hc_xfer *xfer_new(struct hc *hc, const struct hc_request *rq,
                                hc_cb cb, void *arg)
{
    struct hc_xfer *x = calloc(1, sizeof *x);

    if (!x)
        return NULL;
    x->hc = hc;
    x->cb = cb;
    x->arg = arg;
    x->smtp = is_smtp_url(rq->url);
    x->body_len = rq->body ? rq->body_len : 0;
    x->body = malloc(x->body_len + 1);
    x->easy = curl_easy_init();
    if (!x->body || !x->easy) {
        xfer_free(x);
        return NULL;
    }
    if (x->body_len)
        memcpy(x->body, rq->body, x->body_len);
    x->body[x->body_len] = '\0';
    return x;
}

int hc_send(struct hc *hc, const struct hc_request *rq, hc_cb cb, void *arg)
{
    struct hc_xfer *x;
    int rc;

    if (!hc || hc->closing || !rq || !rq->url || !cb)
        return -1;
    if (rq->nheaders && !rq->headers)
        return -1;
    if (rq->nrcpt && !rq->mail_rcpt)
        return -1;
    x = xfer_new(hc, rq, cb, arg);
    if (!x)
        return -1;
    rc = xfer_common(hc, x, rq);
    if (rc == 0)
        rc = x->smtp ? xfer_smtp(x, rq) : xfer_http(x, rq);
    if (rc == 0 && curl_multi_add_handle(hc->multi, x->easy) != CURLM_OK)
        rc = -1;
    if (rc != 0) {
        xfer_free(x);
        return -1;
    }
    x->next = hc->xfers;
    if (hc->xfers)
        hc->xfers->prev = x;
    hc->xfers = x;
    hc->pending++;
    return 0;
}

size_t hc_pending(const struct hc *hc)
{
    return hc ? hc->pending : 0;
}

/* ---- the client --------------------------------------------------------- */

struct hc *hc_new(struct event_base *base, const struct hc_opts *o)
{
    struct hc *hc;
    long max = HC_DEFAULT_MAX_TRANSFERS;
    CURLMcode rc = CURLM_OK;

    if (!base)
        return NULL;
    hc = calloc(1, sizeof *hc);
    if (!hc)
        return NULL;
    hc->base = base;
    hc->connect_timeout_ms = HC_DEFAULT_CONNECT_MS;
    if (o && o->connect_timeout_ms > 0)
        hc->connect_timeout_ms = o->connect_timeout_ms;
    if (o && o->max_transfers > 0)
        max = o->max_transfers;
    hc->multi = curl_multi_init();
    hc->timer = evtimer_new(base, on_timer_event, hc);
    if (!hc->multi || !hc->timer) {
        hc_free(hc);
        return NULL;
    }
    rc |= curl_multi_setopt(hc->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    rc |= curl_multi_setopt(hc->multi, CURLMOPT_SOCKETDATA, (void *)hc);
    rc |= curl_multi_setopt(hc->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    rc |= curl_multi_setopt(hc->multi, CURLMOPT_TIMERDATA, (void *)hc);
    /* Transfers beyond max wait inside curl for a free connection. */
    rc |= curl_multi_setopt(hc->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max);
    if (rc != CURLM_OK) {
        hc_free(hc);
        return NULL;
    }
    return hc;
}

/* Aborts every transfer in flight: each callback runs once with status 0
 * and error "aborted" (hc_send is refused meanwhile). Then curl, its
 * sockets' events and the timer are freed. */
void hc_free(struct hc *hc)
{
    struct hc_xfer *x;

    if (!hc)
        return;
    hc->closing = 1;
    while (hc->xfers) {
        x = hc->xfers;
        curl_multi_remove_handle(hc->multi, x->easy);
        xfer_unlink(x);
        xfer_finish(x, 0, "aborted");
    }
    /* curl may still call socket_cb/timer_cb while it closes its cached
     * connections, so the events outlive the multi handle. */
    if (hc->multi)
        curl_multi_cleanup(hc->multi);
    while (hc->socks)
        sock_free(hc, hc->socks);
    if (hc->timer)
        event_free(hc->timer);
    free(hc);
}
