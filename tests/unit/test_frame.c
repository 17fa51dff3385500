/*
 * test_frame.c — the strict request framer: where requests end, which
 * byte is refused and why, fed whole or one byte at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "frame.h"

/* Feeds s (n bytes) whole, or one byte at a time; returns what the last
 * feed said and the bytes taken in *taken. */
static enum frame_ev feed(struct frame *f, const char *s, size_t n,
                          int bytewise, size_t *taken)
{
    enum frame_ev ev = FRAME_MORE;
    size_t i;

    *taken = 0;
    if (!bytewise) {
        *taken = frame_feed(f, (const unsigned char *)s, n, &ev);
        return ev;
    }
    for (i = 0; i < n && ev == FRAME_MORE; i++)
        *taken += frame_feed(f, (const unsigned char *)s + i, 1, &ev);
    return ev;
}

static void expect_done(const char *req, size_t n)
{
    int bytewise;

    for (bytewise = 0; bytewise < 2; bytewise++) {
        struct frame f;
        size_t taken;

        frame_init(&f, NULL);
        assert_int_equal(feed(&f, req, n, bytewise, &taken), FRAME_DONE);
        assert_int_equal(taken, n);
        assert_int_equal(frame_phase(&f), FRAME_IDLE);
    }
}

static void expect_bad(const char *req, size_t n, const char *why)
{
    int bytewise;

    for (bytewise = 0; bytewise < 2; bytewise++) {
        struct frame f;
        size_t taken;

        frame_init(&f, NULL);
        assert_int_equal(feed(&f, req, n, bytewise, &taken), FRAME_BAD);
        assert_true(taken < n);
        assert_string_equal(f.why, why);
    }
}

#define DONE(s) expect_done(s, sizeof s - 1)
#define BAD(s, why) expect_bad(s, sizeof s - 1, why)

static void test_valid_requests(void **state)
{
    (void)state;
    DONE("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    DONE("GET / HTTP/1.0\r\n\r\n");
    DONE("POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    DONE("POST /a HTTP/1.1\r\nContent-Length:   3 \t\r\n\r\nabc");
    DONE("POST /a HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc");
    DONE("POST /a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
         "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n");
    DONE("GET /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    DONE("GET /a HTTP/1.1\r\nX-A: a\tb \xc3\xa9\r\n\r\n");
}

static void test_stops_at_the_end_of_a_request(void **state)
{
    static const char two[] = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
    struct frame f;
    enum frame_ev ev;
    size_t n;

    (void)state;
    frame_init(&f, NULL);
    n = frame_feed(&f, (const unsigned char *)two, sizeof two - 1, &ev);
    assert_int_equal(ev, FRAME_DONE);
    assert_int_equal(n, 19);
    n = frame_feed(&f, (const unsigned char *)two + 19, sizeof two - 20, &ev);
    assert_int_equal(ev, FRAME_DONE);
    assert_int_equal(n, sizeof two - 20);
}

static void test_phases(void **state)
{
    static const char req[] = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nab";
    struct frame f;
    enum frame_ev ev;

    (void)state;
    frame_init(&f, NULL);
    assert_int_equal(frame_phase(&f), FRAME_IDLE);
    frame_feed(&f, (const unsigned char *)req, 1, &ev);
    assert_int_equal(frame_phase(&f), FRAME_HEAD);
    frame_feed(&f, (const unsigned char *)req + 1, sizeof req - 4, &ev);
    assert_int_equal(frame_phase(&f), FRAME_BODY);
    frame_feed(&f, (const unsigned char *)req + sizeof req - 3, 2, &ev);
    assert_int_equal(ev, FRAME_DONE);
    assert_int_equal(frame_phase(&f), FRAME_IDLE);
}

static void test_malformed(void **state)
{
    (void)state;
    BAD("POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "conflicting Content-Length");
    BAD("POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", "invalid Content-Length");
    BAD("POST /a HTTP/1.1\r\nContent-Length: 3 3\r\n\r\nabc", "invalid Content-Length");
    BAD("POST /a HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
        "invalid Content-Length");
    BAD("POST /a HTTP/1.1\r\nContent-Length:\r\n\r\n", "invalid Content-Length");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "Transfer-Encoding with Content-Length");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "unsupported Transfer-Encoding");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n", "repeated Transfer-Encoding");
    BAD("POST /a HTTP/1.1\r\nX A: 1\r\n\r\n", "invalid header name");
    BAD("POST /a HTTP/1.1\r\nX-A : 1\r\n\r\n", "invalid header name");
    BAD("POST /a HTTP/1.1\r\nX-A: a\0b\r\n\r\n", "invalid header value");
    BAD("POST /a HTTP/1.1\r\nX-A: a\x7f\r\n\r\n", "invalid header value");
    BAD("POST /a HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", "folded header line");
    BAD("GET /a HTTP/1.1\nHost: x\n\n", "bare LF line end");
    BAD("GET /a HTTP/1.1\r\nHost: x\n\r\n", "bare LF line end");
    BAD("\r\nGET /a HTTP/1.1\r\n\r\n", "bad request line");
    BAD("\nGET /a HTTP/1.1\r\n\r\n", "bare LF line end");
    BAD("GET /a HTTP/1.1\r\nHost: x\ry\r\n\r\n", "CR not followed by LF");
    BAD("GET  /a HTTP/1.1\r\n\r\n", "bad request target");
    BAD("GET /a HTTP/2.0\r\n\r\n", "bad HTTP version");
    BAD("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "bad request target");
    BAD("TOOLONGMETHOD / HTTP/1.1\r\n\r\n", "bad request line");
    BAD("GET /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
        "a body on a request without one");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "invalid chunk size");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n",
        "invalid chunk size");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "1000000000000000\r\n", "invalid chunk size");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        "chunk not ended by CRLF");
    BAD("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n\r\n",
        "trailer fields refused");
}

/* Every byte as a header name's character: the tokens of RFC 9110
 * (ALPHA, DIGIT, !#$%&'*+-.^_`|~) pass, any other byte is refused. */
static void test_header_name_bytes(void **state)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    (void)state;
    for (int c = 0; c < 256; c++) {
        char req[64];
        int n;
        int tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z') ||
                    (c && memchr(extra, c, sizeof extra - 1) != NULL);

        memcpy(req, "GET / HTTP/1.1\r\nX", 17);
        n = 17;
        req[n++] = (char)c;
        memcpy(req + n, "Y: 1\r\n\r\n", 8);
        n += 8;
        if (tchar || c == ':')          /* "X:Y: 1": the value "Y: 1" */
            expect_done(req, (size_t)n);
        else if (c == '\n')
            expect_bad(req, (size_t)n, "bare LF line end");
        else
            expect_bad(req, (size_t)n, "invalid header name");
    }
}

static void test_bad_stays_bad(void **state)
{
    struct frame f;
    enum frame_ev ev;

    (void)state;
    frame_init(&f, NULL);
    frame_feed(&f, (const unsigned char *)"G\n", 2, &ev);
    assert_int_equal(ev, FRAME_BAD);
    assert_int_equal(frame_feed(&f, (const unsigned char *)"ET / HTTP/1.1\r\n\r\n",
                                17, &ev), 0);
    assert_int_equal(ev, FRAME_BAD);
}

/* Feeds s whole to a framer with limits; returns the event. */
static enum frame_ev feed_limited(const struct frame_limits *lim,
                                  const char *s, struct frame *f)
{
    enum frame_ev ev;

    frame_init(f, lim);
    frame_feed(f, (const unsigned char *)s, strlen(s), &ev);
    return ev;
}

static void test_body_limits(void **state)
{
    const struct frame_limits lim = { 100, "/api/operator/", 1000 };
    struct frame f;

    (void)state;
    /* Within max_body anywhere; over it, 413 from the head alone. */
    assert_int_equal(feed_limited(&lim, "POST /ussd HTTP/1.1\r\n"
                                  "Content-Length: 100\r\n\r\n", &f), FRAME_MORE);
    assert_int_equal(f.big, 0);
    assert_int_equal(feed_limited(&lim, "POST /ussd HTTP/1.1\r\n"
                                  "Content-Length: 101\r\n\r\n", &f), FRAME_BAD);
    assert_int_equal(f.status, 413);
    assert_string_equal(f.why, "body too large");
    /* The upload prefix: up to big_body, marked big; not a look-alike. */
    assert_int_equal(feed_limited(&lim, "POST /api/operator/check HTTP/1.1\r\n"
                                  "Content-Length: 1000\r\n\r\n", &f), FRAME_MORE);
    assert_int_equal(f.big, 1);
    assert_int_equal(feed_limited(&lim, "POST /api/operator/check HTTP/1.1\r\n"
                                  "Content-Length: 1001\r\n\r\n", &f), FRAME_BAD);
    assert_int_equal(f.status, 413);
    assert_int_equal(feed_limited(&lim, "POST /api/operatorcheck HTTP/1.1\r\n"
                                  "Content-Length: 101\r\n\r\n", &f), FRAME_BAD);
    /* Chunked: the sizes add up past the limit. */
    assert_int_equal(feed_limited(&lim, "POST /ussd HTTP/1.1\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n"
                                  "32\r\n", &f), FRAME_MORE);
    assert_int_equal(feed_limited(&lim, "POST /ussd HTTP/1.1\r\n"
                                  "Transfer-Encoding: chunked\r\n\r\n"
                                  "32\r\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                  "\r\n33\r\n", &f), FRAME_BAD);
    assert_int_equal(f.status, 413);
    /* A malformed request is still a 400. */
    assert_int_equal(feed_limited(&lim, "POST /ussd HTTP/1.1\r\n"
                                  "Content-Length: x\r\n\r\n", &f), FRAME_BAD);
    assert_int_equal(f.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_requests),
        cmocka_unit_test(test_stops_at_the_end_of_a_request),
        cmocka_unit_test(test_phases),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_header_name_bytes),
        cmocka_unit_test(test_bad_stays_bad),
        cmocka_unit_test(test_body_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
