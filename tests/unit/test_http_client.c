/*
 * test_http_client.c — http_client and sms_out against a real loopback
 * server: a tiny evhttp server on 127.0.0.1:0 on the same event_base records
 * what it received and answers as each test tells it. Every loop is bounded
 * by a guard timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "http_client.h"
#include "sms_out.h"

#define GUARD_MS 5000

struct fx {
    struct event_base *base;
    struct evhttp *http;
    int port;
    struct hc *hc;
    int expired;
    /* what the server received (the last request) */
    int nreq;
    enum evhttp_cmd_type method;
    char path[256];
    char query[1024];
    char body[4096];
    char h_apikey[128];
    char h_accept[128];
    char h_ctype[128];
    char h_auth[256];
    char h_test[64];
    /* how the server answers on other paths */
    int reply_status;
    const char *reply_body;
    /* what the client got */
    int done;
    int status;
    char *rbody;
    size_t rbody_len;
    char error[128];
    int sms_done;
    enum sms_out_result sms_r;
    char reason[128];
};

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static void copy_header(struct evhttp_request *req, const char *name,
                        char *dst, size_t n)
{
    copy_str(dst, n, evhttp_find_header(evhttp_request_get_input_headers(req),
                                        name));
}

static void reply(struct evhttp_request *req, int code, const char *body,
                  size_t len)
{
    struct evbuffer *b = evbuffer_new();

    evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, "X", b);
    evbuffer_free(b);
}

/* Records the request, then: /hang never answers, /echo returns the body,
 * /big returns 2 × HC_BODY_MAX bytes, /redirect answers 302, anything else
 * gets fx->reply_status / fx->reply_body. */
static void on_request(struct evhttp_request *req, void *arg)
{
    struct fx *f = arg;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);

    f->nreq++;
    f->method = evhttp_request_get_command(req);
    copy_str(f->path, sizeof f->path, evhttp_uri_get_path(u));
    copy_str(f->query, sizeof f->query, evhttp_uri_get_query(u));
    if (n >= sizeof f->body)
        n = sizeof f->body - 1;
    evbuffer_copyout(in, f->body, n);
    f->body[n] = '\0';
    copy_header(req, "apiKey", f->h_apikey, sizeof f->h_apikey);
    copy_header(req, "Accept", f->h_accept, sizeof f->h_accept);
    copy_header(req, "Content-Type", f->h_ctype, sizeof f->h_ctype);
    copy_header(req, "Authorization", f->h_auth, sizeof f->h_auth);
    copy_header(req, "X-Test", f->h_test, sizeof f->h_test);

    if (strcmp(f->path, "/hang") == 0)
        return;
    if (strcmp(f->path, "/echo") == 0) {
        reply(req, 200, f->body, strlen(f->body));
    } else if (strcmp(f->path, "/big") == 0) {
        char *big = malloc(2 * HC_BODY_MAX);

        memset(big, 'x', 2 * HC_BODY_MAX);
        reply(req, 200, big, 2 * HC_BODY_MAX);
        free(big);
    } else if (strcmp(f->path, "/redirect") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          "/echo");
        reply(req, 302, "", 0);
    } else {
        const char *b = f->reply_body ? f->reply_body : "";

        reply(req, f->reply_status ? f->reply_status : 200, b, strlen(b));
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;

    assert_non_null(f);
    f->base = event_base_new();
    f->http = evhttp_new(f->base);
    assert_non_null(f->http);
    evhttp_set_gencb(f->http, on_request, f);
    bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
    assert_non_null(bs);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
                                 (struct sockaddr *)&sa, &len), 0);
    f->port = ntohs(sa.sin_port);
    f->hc = hc_new(f->base, NULL);
    assert_non_null(f->hc);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    hc_free(f->hc);
    evhttp_free(f->http);
    event_base_free(f->base);
    free(f->rbody);
    free(f);
    return 0;
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    struct fx *f = arg;

    (void)fd;
    (void)what;
    f->expired = 1;
}

/* Runs the loop until *flag is set or ms pass; fails the test on expiry. */
static void run_until(struct fx *f, const int *flag, int ms)
{
    struct event *guard = evtimer_new(f->base, on_guard, f);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    f->expired = 0;
    evtimer_add(guard, &tv);
    while (!*flag && !f->expired)
        event_base_loop(f->base, EVLOOP_ONCE);
    event_free(guard);
    assert_false(f->expired);
}

static void on_done(const struct hc_response *res, void *arg)
{
    struct fx *f = arg;

    f->done++;
    f->status = res->status;
    free(f->rbody);
    f->rbody = malloc(res->body_len + 1);
    memcpy(f->rbody, res->body, res->body_len + 1);
    f->rbody_len = res->body_len;
    copy_str(f->error, sizeof f->error, res->error);
}

static void url_for(const struct fx *f, const char *path, char *out,
                    size_t n)
{
    snprintf(out, n, "http://127.0.0.1:%d%s", f->port, path);
}

/* hc_send, checking the callback does not run inside it. */
static void send_req(struct fx *f, struct hc_request *rq)
{
    assert_int_equal(hc_send(f->hc, rq, on_done, f), 0);
    assert_int_equal(f->done, 0);
    assert_int_equal(hc_pending(f->hc), 1);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- http_client ---------------------------------------------------------- */

static void test_get_200_with_body(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];

    f->reply_body = "hello, world";
    url_for(f, "/hello?a=1", url, sizeof url);
    rq.url = url;
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->done, 1);
    assert_int_equal(f->status, 200);
    assert_string_equal(f->rbody, "hello, world");
    assert_int_equal(f->rbody_len, 12);
    assert_int_equal(f->method, EVHTTP_REQ_GET);
    assert_string_equal(f->path, "/hello");
    assert_string_equal(f->query, "a=1");
    assert_int_equal(hc_pending(f->hc), 0);
}

static void test_post_body_echoed_with_headers(void **state)
{
    struct fx *f = *state;
    const char *hdrs[] = { "X-Test: yes", "Content-Type: text/plain" };
    struct hc_request rq = { 0 };
    char url[128];
    char body[32];

    url_for(f, "/echo", url, sizeof url);
    snprintf(body, sizeof body, "a=1&b=two");
    rq.url = url;
    rq.headers = hdrs;
    rq.nheaders = 2;
    rq.body = body;
    rq.body_len = strlen(body);
    send_req(f, &rq);
    memset(body, 0, sizeof body);        /* hc_send copied it */
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->status, 200);
    assert_int_equal(f->method, EVHTTP_REQ_POST);
    assert_string_equal(f->rbody, "a=1&b=two");
    assert_string_equal(f->h_test, "yes");
    assert_string_equal(f->h_ctype, "text/plain");
}

static void test_503_is_a_status(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];

    f->reply_status = 503;
    f->reply_body = "busy";
    url_for(f, "/x", url, sizeof url);
    rq.url = url;
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->status, 503);
    assert_string_equal(f->rbody, "busy");
}

/* A port that was bound and closed: nobody listens there. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { 0 };
    socklen_t len = sizeof sa;

    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void test_connection_refused_is_status_0(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/", dead_port());
    rq.url = url;
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->status, 0);
    assert_string_equal(f->error,
                        curl_easy_strerror(CURLE_COULDNT_CONNECT));
    assert_int_equal(f->rbody_len, 0);
}

static void test_total_timeout(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];
    double t0 = now_ms();
    double took;

    url_for(f, "/hang", url, sizeof url);
    rq.url = url;
    rq.timeout_ms = 200;
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    took = now_ms() - t0;
    assert_int_equal(f->nreq, 1);
    assert_int_equal(f->status, 0);
    assert_string_equal(f->error,
                        curl_easy_strerror(CURLE_OPERATION_TIMEDOUT));
    assert_true(took >= 150);
    assert_true(took < 1000);
}

static void test_body_capped(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];

    url_for(f, "/big", url, sizeof url);
    rq.url = url;
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->status, 200);
    assert_int_equal(f->rbody_len, HC_BODY_MAX);
    assert_int_equal(strlen(f->rbody), HC_BODY_MAX);
}

static void test_free_aborts_pending(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];

    url_for(f, "/hang", url, sizeof url);
    rq.url = url;
    send_req(f, &rq);
    run_until(f, &f->nreq, GUARD_MS);    /* the request is on the wire */
    assert_int_equal(f->done, 0);
    hc_free(f->hc);
    f->hc = NULL;
    assert_int_equal(f->done, 1);
    assert_int_equal(f->status, 0);
    assert_string_equal(f->error, "aborted");
}

static void test_no_redirects_no_other_protocols(void **state)
{
    struct fx *f = *state;
    struct hc_request rq = { 0 };
    char url[128];

    url_for(f, "/redirect", url, sizeof url);
    rq.url = url;
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->status, 302);
    assert_int_equal(f->nreq, 1);

    f->done = 0;
    rq.url = "file:///etc/passwd";
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
    assert_int_equal(f->status, 0);
    assert_int_equal(f->rbody_len, 0);
}

static void test_rejects_header_injection(void **state)
{
    struct fx *f = *state;
    const char *hdrs[] = { "X-Test: a\r\nX-Evil: b" };
    struct hc_request rq = { 0 };
    char url[128];

    url_for(f, "/x", url, sizeof url);
    rq.url = url;
    rq.headers = hdrs;
    rq.nheaders = 1;
    assert_int_equal(hc_send(f->hc, &rq, on_done, f), -1);
    assert_int_equal(hc_pending(f->hc), 0);
}

/* ---- SMTP ----------------------------------------------------------------- */

/* A one-connection SMTP server: enough of RFC 5321 for curl to deliver one
 * message. rcpt_code is its answer to RCPT TO. It runs in a thread on its
 * own event_base, because libcurl 7.88 waits for the answer to the end of
 * the message in a blocking poll (see http_client.c): a server on the
 * client's loop could never answer it. The thread ends when the client
 * disconnects or after GUARD_MS. */
struct smtp_srv {
    struct event_base *base;
    struct evconnlistener *l;
    pthread_t thread;
    int port;
    int rcpt_code;
    int in_data;
    int got_message;
    char from[128];
    char rcpt[128];
    char data[1024];
    size_t len;
};

static void smtp_say(struct bufferevent *bev, const char *line)
{
    bufferevent_write(bev, line, strlen(line));
}

static void smtp_line(struct smtp_srv *s, struct bufferevent *bev,
                      const char *line)
{
    char code[64];

    if (s->in_data) {
        if (strcmp(line, ".") == 0) {
            s->in_data = 0;
            s->got_message = 1;
            smtp_say(bev, "250 2.0.0 queued\r\n");
        } else if (s->len + strlen(line) + 2 < sizeof s->data) {
            s->len += (size_t)sprintf(s->data + s->len, "%s\n", line);
        }
    } else if (strncmp(line, "EHLO", 4) == 0 ||
               strncmp(line, "HELO", 4) == 0) {
        smtp_say(bev, "250 loopback\r\n");
    } else if (strncmp(line, "MAIL FROM:", 10) == 0) {
        copy_str(s->from, sizeof s->from, line + 10);
        smtp_say(bev, "250 ok\r\n");
    } else if (strncmp(line, "RCPT TO:", 8) == 0) {
        copy_str(s->rcpt, sizeof s->rcpt, line + 8);
        snprintf(code, sizeof code, "%d %s\r\n", s->rcpt_code,
                 s->rcpt_code == 250 ? "ok" : "no such user");
        smtp_say(bev, code);
    } else if (strcmp(line, "DATA") == 0) {
        s->in_data = 1;
        smtp_say(bev, "354 go ahead\r\n");
    } else if (strcmp(line, "QUIT") == 0) {
        smtp_say(bev, "221 bye\r\n");
    } else {
        smtp_say(bev, "250 ok\r\n");
    }
}

static void smtp_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n;
    char *line;

    for (;;) {
        line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
        if (!line)
            break;
        smtp_line(arg, bev, line);
        free(line);
    }
}

static void smtp_event(struct bufferevent *bev, short what, void *arg)
{
    struct smtp_srv *s = arg;

    (void)what;
    bufferevent_free(bev);
    event_base_loopexit(s->base, NULL);
}

static void *smtp_thread(void *arg)
{
    struct smtp_srv *s = arg;
    struct timeval tv = { GUARD_MS / 1000, 0 };

    event_base_loopexit(s->base, &tv);
    event_base_dispatch(s->base);
    return NULL;
}

static void smtp_accept(struct evconnlistener *l, evutil_socket_t fd,
                        struct sockaddr *sa, int salen, void *arg)
{
    struct bufferevent *bev;

    (void)sa;
    (void)salen;
    bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
                                 BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, smtp_read, NULL, smtp_event, arg);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    smtp_say(bev, "220 loopback ESMTP\r\n");
}

static void smtp_start(struct fx *f, struct smtp_srv *s, int rcpt_code)
{
    struct sockaddr_in sa = { 0 };
    socklen_t len = sizeof sa;

    memset(s, 0, sizeof *s);
    s->rcpt_code = rcpt_code;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)f;
    s->base = event_base_new();
    assert_non_null(s->base);
    s->l = evconnlistener_new_bind(s->base, smtp_accept, s,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                   8, (struct sockaddr *)&sa, sizeof sa);
    assert_non_null(s->l);
    assert_int_equal(getsockname(evconnlistener_get_fd(s->l),
                                 (struct sockaddr *)&sa, &len), 0);
    s->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, smtp_thread, s), 0);
}

static void smtp_stop(struct smtp_srv *s)
{
    pthread_join(s->thread, NULL);
    evconnlistener_free(s->l);
    event_base_free(s->base);
}

static void smtp_send(struct fx *f, const struct smtp_srv *s)
{
    static const char msg[] = "From: alerts@hotline.test\r\n"
                              "Subject: help request\r\n"
                              "\r\n"
                              "A caller asked for help.\r\n";
    const char *rcpt[] = { "<staff@hotline.test>" };
    struct hc_request rq = { 0 };
    char url[64];

    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", s->port);
    rq.url = url;
    rq.mail_from = "<alerts@hotline.test>";
    rq.mail_rcpt = rcpt;
    rq.nrcpt = 1;
    rq.body = msg;
    rq.body_len = strlen(msg);
    send_req(f, &rq);
    run_until(f, &f->done, GUARD_MS);
}

static void test_smtp_delivers_with_250(void **state)
{
    struct fx *f = *state;
    struct smtp_srv s;

    smtp_start(f, &s, 250);
    smtp_send(f, &s);
    smtp_stop(&s);
    assert_int_equal(f->status, 250);
    assert_int_equal(s.got_message, 1);
    assert_non_null(strstr(s.from, "<alerts@hotline.test>"));
    assert_non_null(strstr(s.rcpt, "<staff@hotline.test>"));
    assert_non_null(strstr(s.data, "Subject: help request\n\n"
                                   "A caller asked for help.\n"));
}

static void test_smtp_refused_recipient_reports_code(void **state)
{
    struct fx *f = *state;
    struct smtp_srv s;

    smtp_start(f, &s, 550);
    smtp_send(f, &s);
    smtp_stop(&s);
    assert_int_equal(f->status, 550);
    assert_int_equal(s.got_message, 0);
}

/* ---- sms_out -------------------------------------------------------------- */

static void on_sms(enum sms_out_result r, const char *reason, void *arg)
{
    struct fx *f = arg;

    f->sms_done++;
    f->sms_r = r;
    copy_str(f->reason, sizeof f->reason, reason);
}

static const char sms_text[] = "Xin chào & =+ 100%";

/* Sends sms_text to +254711000111 with provider and waits for the result. */
static void sms(struct fx *f, const char *provider, const char *from,
                const char *base_path)
{
    char base[128];
    struct cfg_sms_out o;
    char prov[32], user[32], pass[32], frm[32];

    url_for(f, base_path, base, sizeof base);
    copy_str(prov, sizeof prov, provider);
    copy_str(user, sizeof user, strcmp(provider, "twilio") == 0 ? "AC123"
                                                                : "sandbox");
    copy_str(pass, sizeof pass, strcmp(provider, "twilio") == 0 ? "tok"
                                                                : "KEY");
    copy_str(frm, sizeof frm, from);
    o.provider = prov;
    o.base_url = base;
    o.username = user;
    o.password = pass;
    o.from = from ? frm : NULL;
    assert_int_equal(sms_out_send(f->hc, &o, "+254711000111", sms_text, 2000,
                                  on_sms, f), 0);
    assert_int_equal(f->sms_done, 0);
    run_until(f, &f->sms_done, GUARD_MS);
    assert_int_equal(f->sms_done, 1);
}

/* The decoded value of name in a form body / query string ("" if none). */
static void form_get(const char *form, const char *name, char *out, size_t n)
{
    struct evkeyvalq q;

    assert_int_equal(evhttp_parse_query_str(form, &q), 0);
    copy_str(out, n, evhttp_find_header(&q, name));
    evhttp_clear_headers(&q);
}

#define assert_field(form, name, want)                                      \
    do {                                                                    \
        char v_[256];                                                       \
        form_get((form), (name), v_, sizeof v_);                            \
        assert_string_equal(v_, (want));                                    \
    } while (0)

static const char at_ok[] =
    "{\"SMSMessageData\":{\"Message\":\"Sent to 1/1 Total Cost: KES 0.8\","
    "\"Recipients\":[{\"statusCode\":101,\"number\":\"+254711000111\","
    "\"status\":\"Success\",\"cost\":\"KES 0.8\",\"messageId\":\"ATPid_1\"}]}}";
static const char at_blocked[] =
    "{\"SMSMessageData\":{\"Message\":\"Sent to 0/1\",\"Recipients\":[{"
    "\"statusCode\":403,\"number\":\"+254711000111\","
    "\"status\":\"InvalidPhoneNumber\",\"cost\":\"0\",\"messageId\":\"None\"}]}}";

static void test_sms_africastalking_ok(void **state)
{
    struct fx *f = *state;

    f->reply_status = 201;
    f->reply_body = at_ok;
    sms(f, "africastalking", "HOTLINE", "/at/");
    assert_int_equal(f->sms_r, SMS_OUT_OK);
    assert_int_equal(f->method, EVHTTP_REQ_POST);
    assert_string_equal(f->path, "/at/version1/messaging");
    assert_string_equal(f->h_apikey, "KEY");
    assert_string_equal(f->h_accept, "application/json");
    assert_string_equal(f->h_ctype, "application/x-www-form-urlencoded");
    assert_string_equal(f->h_auth, "");
    assert_field(f->body, "username", "sandbox");
    assert_field(f->body, "to", "+254711000111");
    assert_field(f->body, "message", sms_text);
    assert_field(f->body, "from", "HOTLINE");
    assert_string_equal(f->reason, "http 201, statusCode 101");
}

static void test_sms_africastalking_rejected_is_permanent(void **state)
{
    struct fx *f = *state;

    f->reply_status = 201;
    f->reply_body = at_blocked;
    sms(f, "africastalking", NULL, "");
    assert_int_equal(f->sms_r, SMS_OUT_PERMANENT);
    assert_string_equal(f->path, "/version1/messaging");
    assert_null(strstr(f->body, "from="));
    assert_string_equal(f->reason, "http 201, statusCode 403");
}

static void test_sms_africastalking_5xx_is_temporary(void **state)
{
    struct fx *f = *state;

    f->reply_status = 500;
    f->reply_body = "oops";
    sms(f, "africastalking", NULL, "");
    assert_int_equal(f->sms_r, SMS_OUT_TEMPORARY);
    assert_string_equal(f->reason, "http 500");

    f->sms_done = 0;
    f->reply_status = 401;
    sms(f, "africastalking", NULL, "");
    assert_int_equal(f->sms_r, SMS_OUT_PERMANENT);
}

static void test_sms_kannel_ok(void **state)
{
    struct fx *f = *state;

    f->reply_status = 202;
    f->reply_body = "0: Accepted for delivery";
    sms(f, "kannel", "1234", "");
    assert_int_equal(f->sms_r, SMS_OUT_OK);
    assert_int_equal(f->method, EVHTTP_REQ_GET);
    assert_string_equal(f->path, "/cgi-bin/sendsms");
    assert_field(f->query, "username", "sandbox");
    assert_field(f->query, "password", "KEY");
    assert_field(f->query, "from", "1234");
    assert_field(f->query, "to", "+254711000111");
    assert_field(f->query, "text", sms_text);
    assert_field(f->query, "charset", "UTF-8");
    assert_field(f->query, "coding", "2");
}

static void test_sms_kannel_503_is_temporary(void **state)
{
    struct fx *f = *state;

    f->reply_status = 503;
    f->reply_body = "Temporary failure, try again later.";
    sms(f, "kannel", NULL, "");
    assert_int_equal(f->sms_r, SMS_OUT_TEMPORARY);
    assert_string_equal(f->reason, "http 503");

    f->sms_done = 0;
    f->reply_status = 403;
    f->reply_body = "Authorization failed for sendsms";
    sms(f, "kannel", NULL, "");
    assert_int_equal(f->sms_r, SMS_OUT_PERMANENT);
}

static void test_sms_twilio_ok(void **state)
{
    struct fx *f = *state;

    f->reply_status = 201;
    f->reply_body = "{\"sid\":\"SM1\",\"status\":\"queued\"}";
    sms(f, "twilio", "+15005550006", "");
    assert_int_equal(f->sms_r, SMS_OUT_OK);
    assert_int_equal(f->method, EVHTTP_REQ_POST);
    assert_string_equal(f->path, "/2010-04-01/Accounts/AC123/Messages.json");
    assert_string_equal(f->h_auth, "Basic QUMxMjM6dG9r");   /* AC123:tok */
    assert_string_equal(f->h_ctype, "application/x-www-form-urlencoded");
    assert_field(f->body, "To", "+254711000111");
    assert_field(f->body, "From", "+15005550006");
    assert_field(f->body, "Body", sms_text);
}

static void test_sms_twilio_429_and_400(void **state)
{
    struct fx *f = *state;

    f->reply_status = 429;
    sms(f, "twilio", "+15005550006", "");
    assert_int_equal(f->sms_r, SMS_OUT_TEMPORARY);
    f->sms_done = 0;
    f->reply_status = 400;
    sms(f, "twilio", "+15005550006", "");
    assert_int_equal(f->sms_r, SMS_OUT_PERMANENT);
}

static void test_sms_transport_failure_is_temporary(void **state)
{
    struct fx *f = *state;
    struct cfg_sms_out o = { 0 };
    char base[64], prov[] = "kannel", user[] = "u", pass[] = "p";

    snprintf(base, sizeof base, "http://127.0.0.1:%d", dead_port());
    o.provider = prov;
    o.base_url = base;
    o.username = user;
    o.password = pass;
    assert_int_equal(sms_out_send(f->hc, &o, "+254711000111", "hi", 2000,
                                  on_sms, f), 0);
    run_until(f, &f->sms_done, GUARD_MS);
    assert_int_equal(f->sms_r, SMS_OUT_TEMPORARY);
    assert_non_null(strstr(f->reason, "transport: "));
    assert_null(strstr(f->reason, "254711"));
}

static void test_sms_bad_config_not_started(void **state)
{
    struct fx *f = *state;
    struct cfg_sms_out o = { 0 };
    char base[] = "http://127.0.0.1:1", prov[] = "carrier-pigeon";
    char user[] = "u";

    o.provider = prov;
    o.base_url = base;
    o.username = user;
    assert_int_equal(sms_out_send(f->hc, &o, "+1", "hi", 0, on_sms, f), -1);
    copy_str(prov, sizeof prov, "twilio");     /* no password */
    assert_int_equal(sms_out_send(f->hc, &o, "+1", "hi", 0, on_sms, f), -1);
    assert_int_equal(hc_pending(f->hc), 0);
    assert_int_equal(f->sms_done, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_get_200_with_body),
        T(test_post_body_echoed_with_headers),
        T(test_503_is_a_status),
        T(test_connection_refused_is_status_0),
        T(test_total_timeout),
        T(test_body_capped),
        T(test_free_aborts_pending),
        T(test_no_redirects_no_other_protocols),
        T(test_rejects_header_injection),
        T(test_smtp_delivers_with_250),
        T(test_smtp_refused_recipient_reports_code),
        T(test_sms_africastalking_ok),
        T(test_sms_africastalking_rejected_is_permanent),
        T(test_sms_africastalking_5xx_is_temporary),
        T(test_sms_kannel_ok),
        T(test_sms_kannel_503_is_temporary),
        T(test_sms_twilio_ok),
        T(test_sms_twilio_429_and_400),
        T(test_sms_transport_failure_is_temporary),
        T(test_sms_bad_config_not_started),
    };
    int rc;

    hc_global_init();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
