/*
 * front.h — the front door: what every connection passes through before
 * evhttp parses it (issue 12).
 *
 * - A connection cap (http.max_connections, by default the fd limit less a
 *   reserve): at the cap, and for a moment after an accept() error such as
 *   EMFILE, the listener is paused — the kernel's backlog holds callers —
 *   never spun on; one log line at most every 10 s, and a metric.
 * - A strict framer on the raw bytes: request line, header names and
 *   values, CRLF line ends, Content-Length / Transfer-Encoding, chunk
 *   sizes. A request that fails gets "400 Bad Request" and the connection
 *   is closed; evhttp never sees the offending line.
 * - Deadlines for a request's whole head (http.header_timeout, from its
 *   first byte) and whole body (http.body_timeout, from the end of the
 *   head): a connection that dribbles is closed.
 * - Body sizes: http.max_body on every request, up to console.upload_max
 *   only on /api/operator/ (an operator's menu file), at most
 *   FRONT_UPLOADS_MAX such uploads at once per process; past either, 413
 *   (or 503) before the body is read.
 * - One request in flight per connection: the next pipelined request is
 *   read only once the reply to this one is in the kernel; what the client
 *   sends meanwhile waits in its socket buffer (at most FRONT_READ_MAX bytes
 *   more in ours), so memory stays bounded whatever one socket sends.
 */
#ifndef HOTLINE_FRONT_H
#define HOTLINE_FRONT_H

#include <stddef.h>

struct gw;
struct evhttp_bound_socket;
struct evhttp_request;

/* Bytes read ahead of the framer on one connection, at most. */
#define FRONT_READ_MAX 16384
/* Bodies over http.max_body (operator uploads) being read at once, at
 * most: each may hold console.upload_max bytes in evhttp's buffers. */
#define FRONT_UPLOADS_MAX 4
/* The only targets whose bodies may exceed http.max_body. */
#define FRONT_UPLOAD_PREFIX "/api/operator/"
/* File descriptors kept back from the connection cap for Redis (sessions,
 * filings, sentinels), the spool, outbound HTTP (alerts, SMS: up to 64)
 * and logs. */
#define FRONT_FD_RESERVE 128

/* Hooks the front door into gw->http (every new connection) and into the
 * listener of `bound` (pausing, accept errors). Raises the soft fd limit to
 * the hard one (at most 65536). Returns 0, or -1 with err filled. */
int front_start(struct gw *gw, struct evhttp_bound_socket *bound, char *err,
                size_t errlen);
/* Re-reads the limits from gw->cfg (after a reload). */
void front_apply(struct gw *gw);
/* The listener is about to be freed: never touch it again. */
void front_stop(void);
/* The request callback calls this first for every request: the next
 * request of the same connection is read once this one's reply is sent. */
void front_request(struct evhttp_request *req);
/* Connections open now, and the cap in force. */
int front_connections(void);
int front_cap(void);

#endif
