/*
 * frame.c — a strict HTTP/1.x request framer (frame.h): bytes in, request
 * boundaries and verdicts out. It keeps a few dozen bytes of state whatever
 * it is fed, never buffers a request, and touches no socket, clock or log
 * (front.c feeds it; tests/unit/test_frame.c and the integration test
 * test_frontdoor.py try it).
 *
 * It accepts RFC 9112 requests and nothing laxer: request line METHOD SP
 * TARGET SP HTTP/1.x CRLF; header names are tokens, values are visible
 * characters, SP, HTAB or obs-text; every line ends in CRLF; no obs-fold;
 * one Content-Length of digits only (repeats must be equal);
 * Transfer-Encoding only "chunked", never with Content-Length; a body only
 * on POST, PUT and PATCH; chunk sizes of hex digits without extensions; no
 * trailer fields. Header sizes are evhttp's business (max_headers); the
 * body's declared size is checked here against the connection's limits
 * (frame.h), so an oversized body is refused before any of it is read.
 */
#include "frame.h"
#include "form.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

enum {
    S_START, S_METHOD, S_TARGET, S_VERSION, S_RL_LF, S_LINE, S_NAME,
    S_VALUE, S_HL_LF, S_END_LF, S_BODY, S_CH_SIZE, S_CH_SIZE_LF, S_CH_DATA,
    S_CH_DATA_CR, S_CH_DATA_LF, S_CH_END_CR, S_CH_END_LF
};

enum { H_OTHER, H_CL, H_TE };

/* RFC 9110's tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~, as bits of the
 * characters 0-63 and 64-127 (test_frame tries every byte). */
static int is_tchar(unsigned char c)
{
    static const uint64_t lo = 0x03ff6cfa00000000ULL;
    static const uint64_t hi = 0x57ffffffc7fffffeULL;

    if (c < 64)
        return (int)((lo >> c) & 1);
    if (c < 128)
        return (int)((hi >> (c - 64)) & 1);
    return 0;
}

static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static enum frame_ev bad(struct frame *f, const char *why)
{
    f->why = why;
    f->status = 400;
    return FRAME_BAD;
}

/* The body declared so far (f->body) against the limits: 413 past them. */
static enum frame_ev body_check(struct frame *f)
{
    const struct frame_limits *l = f->lim;
    uint64_t max;

    if (!l)
        return FRAME_MORE;
    max = l->body;
    f->big = 0;
    if (f->body > max && l->big_prefix &&
        strncmp(f->target, l->big_prefix, strlen(l->big_prefix)) == 0) {
        max = l->big_body;
        f->big = 1;
    }
    if (f->body <= max)
        return FRAME_MORE;
    bad(f, "body too large");
    f->status = 413;
    return FRAME_BAD;
}

/* The value of a Content-Length or Transfer-Encoding header, complete. */
static enum frame_ev header_done(struct frame *f)
{
    size_t n = f->vallen;
    uint64_t v = 0;
    size_t i;

    if (f->hdr == H_OTHER)
        return FRAME_MORE;
    while (n && (f->value[n - 1] == ' ' || f->value[n - 1] == '\t'))
        n--;
    if (n >= FRAME_VALUE_KEEP)
        return bad(f, f->hdr == H_CL ? "invalid Content-Length"
                                     : "unsupported Transfer-Encoding");
    if (f->hdr == H_TE) {
        if (f->te_seen)
            return bad(f, "repeated Transfer-Encoding");
        f->te_seen = 1;
        if (n != 7 || strncasecmp(f->value, "chunked", 7) != 0)
            return bad(f, "unsupported Transfer-Encoding");
        return FRAME_MORE;
    }
    if (n == 0 || n > 18)
        return bad(f, "invalid Content-Length");
    for (i = 0; i < n; i++) {
        if (f->value[i] < '0' || f->value[i] > '9')
            return bad(f, "invalid Content-Length");
        v = v * 10 + (uint64_t)(f->value[i] - '0');
    }
    if (f->cl_seen && v != f->cl)
        return bad(f, "conflicting Content-Length");
    f->cl_seen = 1;
    f->cl = v;
    return FRAME_MORE;
}

static int method_has_body(const struct frame *f)
{
    return strcmp(f->method, "POST") == 0 || strcmp(f->method, "PUT") == 0 ||
           strcmp(f->method, "PATCH") == 0;
}

/* The blank line after the headers: what body follows, if any. */
static enum frame_ev head_done(struct frame *f)
{
    if (f->te_seen && f->cl_seen)
        return bad(f, "Transfer-Encoding with Content-Length");
    if ((f->te_seen || f->cl) && !method_has_body(f))
        return bad(f, "a body on a request without one");
    if (f->te_seen) {
        f->st = S_CH_SIZE;
        f->hexdigits = 0;
        f->left = 0;
    } else if (f->cl) {
        f->st = S_BODY;
        f->left = f->cl;
        f->body = f->cl;
        return body_check(f);
    } else {
        return FRAME_DONE;
    }
    return FRAME_MORE;
}

static enum frame_ev step_request_line(struct frame *f, unsigned char ch)
{
    switch (f->st) {
    case S_START:
    case S_METHOD:
        if (f->st == S_START)
            f->st = S_METHOD;
        if (ch == ' ' && f->mlen)
            f->st = S_TARGET;
        else if (!is_tchar(ch) || f->mlen + 1 >= sizeof f->method)
            return bad(f, "bad request line");
        else
            f->method[f->mlen++] = (char)ch;
        f->method[f->mlen] = '\0';
        return FRAME_MORE;
    case S_TARGET:
        if (ch == ' ' && f->tlen)
            f->st = S_VERSION;
        else if (ch > 0x20 && ch < 0x7f) {
            if (f->tlen + 1 < FRAME_TARGET_KEEP) {
                f->target[f->tlen] = (char)ch;
                f->target[f->tlen + 1] = '\0';
            }
            f->tlen++;
        }
        else
            return bad(f, "bad request target");
        return FRAME_MORE;
    case S_VERSION:
        if (ch == '\r') {
            f->version[f->vlen] = '\0';
            if (strcmp(f->version, "HTTP/1.1") != 0 &&
                strcmp(f->version, "HTTP/1.0") != 0)
                return bad(f, "bad HTTP version");
            f->st = S_RL_LF;
        } else if (f->vlen + 1 >= sizeof f->version) {
            return bad(f, "bad HTTP version");
        } else {
            f->version[f->vlen++] = (char)ch;
        }
        return FRAME_MORE;
    default:
        return bad(f, "bad request line");
    }
}

static enum frame_ev step_header(struct frame *f, unsigned char ch)
{
    switch (f->st) {
    case S_LINE:
        if (ch == '\r') {
            f->st = S_END_LF;
        } else if (ch == ' ' || ch == '\t') {
            return bad(f, "folded header line");
        } else if (!is_tchar(ch)) {
            return bad(f, "invalid header name");
        } else {
            f->nlen = 0;
            f->name[f->nlen++] = (char)ch;
            f->st = S_NAME;
        }
        return FRAME_MORE;
    case S_NAME:
        if (ch == ':') {
            f->hdr = H_OTHER;
            if (f->nlen == 14 && strncasecmp(f->name, "content-length", 14) == 0)
                f->hdr = H_CL;
            else if (f->nlen == 17 &&
                     strncasecmp(f->name, "transfer-encoding", 17) == 0)
                f->hdr = H_TE;
            f->vallen = 0;
            f->st = S_VALUE;
        } else if (!is_tchar(ch)) {
            return bad(f, "invalid header name");
        } else if (f->nlen < FRAME_NAME_KEEP) {
            f->name[f->nlen++] = (char)ch;
        }
        return FRAME_MORE;
    case S_VALUE:
        if (ch == '\r') {
            f->st = S_HL_LF;
            return header_done(f);
        }
        if (!is_value_char(ch))
            return bad(f, "invalid header value");
        if (f->hdr != H_OTHER && f->vallen < FRAME_VALUE_KEEP &&
            !(f->vallen == 0 && (ch == ' ' || ch == '\t')))
            f->value[f->vallen++] = (char)ch;
        return FRAME_MORE;
    default:
        return bad(f, "bad header line");
    }
}

static enum frame_ev step_chunk(struct frame *f, unsigned char ch)
{
    int h = form_hexval(ch);

    switch (f->st) {
    case S_CH_SIZE:
        if (ch == '\r' && f->hexdigits) {
            f->st = S_CH_SIZE_LF;
            f->body += f->left;         /* < 16^15 each: checked before */
            return body_check(f);       /* the sum can grow past a limit */
        } else if (h < 0 || f->hexdigits >= 15) {
            return bad(f, "invalid chunk size");
        } else {
            f->left = f->left * 16 + (uint64_t)h;
            f->hexdigits++;
        }
        return FRAME_MORE;
    case S_CH_DATA_CR:
    case S_CH_END_CR:
        if (ch != '\r')
            return bad(f, f->st == S_CH_END_CR ? "trailer fields refused"
                                               : "chunk not ended by CRLF");
        f->st = f->st == S_CH_END_CR ? S_CH_END_LF : S_CH_DATA_LF;
        return FRAME_MORE;
    default:
        return bad(f, "bad chunk");
    }
}

/* An LF: ends the line its CR started, or is a bare LF. */
static enum frame_ev step_lf(struct frame *f)
{
    switch (f->st) {
    case S_RL_LF:
    case S_HL_LF:
        f->st = S_LINE;
        return FRAME_MORE;
    case S_END_LF:
        return head_done(f);
    case S_CH_SIZE_LF:
        if (f->left == 0) {
            f->st = S_CH_END_CR;
        } else {
            f->st = S_CH_DATA;
        }
        return FRAME_MORE;
    case S_CH_DATA_LF:
        f->st = S_CH_SIZE;
        f->hexdigits = 0;
        f->left = 0;
        return FRAME_MORE;
    case S_CH_END_LF:
        return FRAME_DONE;
    default:
        return bad(f, "bare LF line end");
    }
}

/* The bytes from p (n > 0) that step_request_line or step_header would
 * take one at a time without a change of state or verdict, taken at once:
 * a request target's characters, a header name's after its first, or the
 * value of a header not kept (not Content-Length or Transfer-Encoding).
 * Returns how many (0: none). */
static size_t run(struct frame *f, const unsigned char *p, size_t n)
{
    size_t k = 0;

    if (f->st == S_TARGET) {
        while (k < n && p[k] > 0x20 && p[k] < 0x7f) {
            if (f->tlen + 1 < FRAME_TARGET_KEEP) {
                f->target[f->tlen] = (char)p[k];
                f->target[f->tlen + 1] = '\0';
            }
            f->tlen++;
            k++;
        }
        return k;
    }
    if (f->st == S_NAME) {
        while (k < n && is_tchar(p[k])) {
            if (f->nlen < FRAME_NAME_KEEP)
                f->name[f->nlen++] = (char)p[k];
            k++;
        }
        return k;
    }
    while (k < n && p[k] != '\r' && is_value_char(p[k]))
        k++;
    return k;
}

/* One step: body bytes in bulk, others one at a time. Returns the bytes
 * taken; *ev as for frame_feed. */
static size_t step(struct frame *f, const unsigned char *p, size_t n,
                      enum frame_ev *ev)
{
    unsigned char ch = p[0];

    if (f->st == S_BODY || f->st == S_CH_DATA) {
        size_t k = f->left < n ? (size_t)f->left : n;

        f->left -= k;
        *ev = FRAME_MORE;
        if (f->left == 0) {
            if (f->st == S_CH_DATA)
                f->st = S_CH_DATA_CR;
            else
                *ev = FRAME_DONE;
        }
        return k;
    }
    if ((f->st == S_VALUE && f->hdr == H_OTHER) || f->st == S_TARGET ||
        f->st == S_NAME) {
        size_t k = run(f, p, n);

        if (k) {
            *ev = FRAME_MORE;
            return k;
        }
    }
    if (ch == '\n')
        *ev = step_lf(f);
    else if (f->st == S_RL_LF || f->st == S_HL_LF || f->st == S_END_LF ||
             f->st == S_CH_SIZE_LF || f->st == S_CH_DATA_LF ||
             f->st == S_CH_END_LF)
        *ev = bad(f, "CR not followed by LF");
    else if (f->st <= S_RL_LF)
        *ev = step_request_line(f, ch);
    else if (f->st <= S_END_LF)
        *ev = step_header(f, ch);
    else
        *ev = step_chunk(f, ch);
    return *ev == FRAME_BAD ? 0 : 1;
}

void frame_init(struct frame *f, const struct frame_limits *lim)
{
    memset(f, 0, sizeof *f);
    f->lim = lim;
    frame_reset(f);
}

void frame_reset(struct frame *f)
{
    f->st = S_START;
    f->mlen = f->vlen = f->tlen = f->nlen = f->vallen = 0;
    f->method[0] = '\0';
    f->target[0] = '\0';
    f->body = 0;
    f->big = 0;
    f->status = 0;
    f->cl_seen = f->te_seen = 0;
    f->cl = f->left = 0;
    f->hexdigits = 0;
    f->why = NULL;
}

size_t frame_feed(struct frame *f, const unsigned char *p, size_t n,
                  enum frame_ev *ev)
{
    size_t taken = 0;

    *ev = FRAME_MORE;
    if (f->why) {
        *ev = FRAME_BAD;
        return 0;
    }
    while (taken < n && *ev == FRAME_MORE)
        taken += step(f, p + taken, n - taken, ev);
    if (*ev == FRAME_DONE) {
        frame_reset(f);
    }
    return taken;
}

enum frame_phase frame_phase(const struct frame *f)
{
    if (f->st == S_START)
        return FRAME_IDLE;
    if (f->st < S_BODY)
        return FRAME_HEAD;
    return FRAME_BODY;
}
