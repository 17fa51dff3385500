/*
 * frame.h — a strict HTTP/1.x request framer: fed the raw bytes of a
 * connection, it says where each request ends, or which byte is invalid
 * and why. No I/O (frame.c lists what it accepts; front.c feeds it).
 */
#ifndef HOTLINE_FRAME_H
#define HOTLINE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_NAME_KEEP 24      /* header name bytes kept (for CL / TE) */
#define FRAME_VALUE_KEEP 24     /* header value bytes kept (for CL / TE) */
#define FRAME_TARGET_KEEP 32    /* request target bytes kept (for limits) */

/* Where the framer is: between requests, in a head, in a body. */
enum frame_phase { FRAME_IDLE, FRAME_HEAD, FRAME_BODY };

/* What a feed found: more to come, a request ended, an invalid byte. */
enum frame_ev { FRAME_MORE, FRAME_DONE, FRAME_BAD };

/* Body sizes a connection accepts: `body` bytes on any request, up to
 * `big_body` on a target starting with `big_prefix` (an operator's menu
 * upload). A larger declared body (Content-Length, or the sum of the chunk
 * sizes so far) is refused with 413 before its first byte passes. */
struct frame_limits {
    uint64_t body;
    const char *big_prefix;     /* NULL: none */
    uint64_t big_body;
};

/* The state of one connection's framer (plain data: embed it; no _free). */
struct frame {
    const struct frame_limits *lim;     /* NULL: sizes not checked */
    int st;                     /* frame.c's state */
    int hdr;                    /* the header being read: CL, TE, other */
    char method[8];
    size_t mlen;
    char version[9];
    size_t vlen;
    size_t tlen;                /* request target length */
    char target[FRAME_TARGET_KEEP];     /* its first bytes, NUL-terminated */
    uint64_t body;              /* body bytes declared so far */
    int big;                    /* body > lim->body (a big_prefix upload) */
    int status;                 /* with FRAME_BAD: 400, or 413 too large */
    char name[FRAME_NAME_KEEP];
    size_t nlen;
    char value[FRAME_VALUE_KEEP];
    size_t vallen;
    int cl_seen, te_seen;
    uint64_t cl;
    uint64_t left;              /* body or chunk bytes still to come */
    int hexdigits;
    const char *why;            /* set with FRAME_BAD: static text */
};

/* Starts a connection's framer with its limits (lim may be NULL; it must
 * outlive f). */
void frame_init(struct frame *f, const struct frame_limits *lim);
/* Starts f afresh (between requests); the limits stay. */
void frame_reset(struct frame *f);
/* Feeds p[0..n). Returns the bytes that belong to the request being read
 * and are valid, stopping after the last byte of a request (*ev =
 * FRAME_DONE; f is reset for the next one) or before an invalid byte
 * (*ev = FRAME_BAD, f->why says why; every later feed is FRAME_BAD too);
 * otherwise takes all n (*ev = FRAME_MORE). */
size_t frame_feed(struct frame *f, const unsigned char *p, size_t n,
                  enum frame_ev *ev);
/* Between requests, in a head, or in a body (for deadlines). */
enum frame_phase frame_phase(const struct frame *f);

#endif
