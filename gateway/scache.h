/*
 * scache.h — a bounded in-process cache of recent USSD session states, so
 * that a step of a live session costs one Redis round trip (the STEP script)
 * instead of two (LOAD, then STEP). See session.c, "One round trip".
 *
 * The cache is only ever a guess: each entry carries the session's version
 * (`v` in the session hash, a token unique to the write that made it) and
 * its encoded state, and the STEP script applies a step computed from an
 * entry only when Redis still holds that version and state
 * (compare-and-set). On any mismatch — another gateway or worker stepped
 * the session, the session expired or was deleted, FLUSHALL, a failover to
 * a replica that missed the last write — nothing is written and the step is
 * taken again from a LOAD, as without a cache.
 *
 * Bounds: at most `cap` entries (rounded up to a power of two, at least 4)
 * of SCACHE_SLOT bytes each, allocated once when the cache is made; a
 * session whose fields do not fit a slot is not cached. Eviction: 4-way set
 * associative, least recently used within the set. An entry expires with
 * its session (the channel's timeout): it is not used after that and is
 * swept as requests arrive. One per process, on its event loop (no
 * locking).
 */
#ifndef HOTLINE_SCACHE_H
#define HOTLINE_SCACHE_H

#include <stddef.h>

/* Bytes of the key (P s:{CHANNEL:ID}), the version, and every cached field
 * together; what does not fit is not cached. */
#define SCACHE_KEY_MAX 128
#define SCACHE_VER_MAX 40
#define SCACHE_DATA_MAX 512
#define SCACHE_NFIELDS 7

/* Fields of the session hash a step needs, in this order. */
enum scache_field { SC_ST, SC_H, SC_Q, SC_R, SC_W, SC_PK, SC_B };

/* One session as cached: its version, the menu version it is pinned to and
 * its fields (pointers valid until the next scache call). */
struct scache_val {
    const char *ver;
    long long mv;
    long long exp;              /* when it expires (seconds, time()) */
    const char *f[SCACHE_NFIELDS];
    size_t flen[SCACHE_NFIELDS];
};

struct scache_stats {
    size_t cap, entries;
    unsigned long long hits, misses, evictions, conflicts;
};

struct scache;

/* A cache of at most cap entries (0: NULL, caching off). */
struct scache *scache_new(size_t cap);
void scache_free(struct scache *c);     /* accepts NULL */

/* Fills *out with key's entry and marks it used. 0 found, -1 not. */
int scache_get(struct scache *c, const char *key, struct scache_val *out);

/* Stores (or replaces) key's entry, evicting the set's least recently used
 * one when the set is full. An entry that does not fit a slot removes any
 * older one of key. 0 stored, -1 not. */
int scache_put(struct scache *c, const char *key, const struct scache_val *v);

/* Forgets key (no-op when absent). */
void scache_del(struct scache *c, const char *key);

/* Forgets the expired entries (exp < now) among the next n slots, round
 * robin: called with each request, it clears entries no step will use
 * again (their session expired in Redis). */
void scache_sweep(struct scache *c, long long now, size_t n);

/* Counts a compare-and-set that found Redis changed behind the cache. */
void scache_conflict(struct scache *c);

void scache_stats(const struct scache *c, struct scache_stats *out);

#endif
