/*
 * sentinel.h — asks Redis Sentinel where the master is, once a second and
 * without blocking, and reports the address (see sentinel.c).
 */
#ifndef HOTLINE_SENTINEL_H
#define HOTLINE_SENTINEL_H

#include <stddef.h>

struct event_base;
struct sentinel;

/* Called with the master's address after every successful query. */
typedef void (*sentinel_cb)(const char *host, int port, void *arg);

/* addrs: "HOST:PORT" of each sentinel. Starts querying at once. NULL when
 * an address does not parse or n is 0. */
struct sentinel *sentinel_new(struct event_base *base,
                              const char *const *addrs, size_t n,
                              const char *master, int timeout_ms,
                              sentinel_cb cb, void *arg);
/* Asks now (no-op while a query is under way). */
void sentinel_query(struct sentinel *s);
void sentinel_free(struct sentinel *s);   /* accepts NULL */

#endif
