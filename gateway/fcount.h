/*
 * fcount.h — the menu funnel's counts, kept in process and written to Redis
 * at most once a second (menu_pub.h; docs/menus.md "Where callers give
 * up"), so that a step's STEP script does no HINCRBY.
 *
 * A step whose STEP Redis applied adds its funnel fields ("NODE|LANG|EVENT",
 * nothing personal) to a bounded table, one entry per funnel hash and
 * field. A flush moves up to FCOUNT_BATCH entries into a batch and sends
 * it as one EVAL: the script sets a token key unique to that batch (SET NX,
 * one hour) and only then adds the counts (HINCRBY per field). A batch
 * that got no reply (Redis down, a timeout, an error) is sent again, the
 * same batch under the same token, until Redis answers: a batch Redis
 * applied but whose reply was lost is not counted twice, and one it never
 * received is not lost. New counts meanwhile wait in the table.
 *
 * Bounds: FCOUNT_CAP entries. A new field when the table is full flushes
 * early; if no room is made (a batch is still out), its count is dropped
 * and hotline_funnel_dropped_total counts it. One per process (each worker
 * its own), on its event loop: no locking.
 */
#ifndef HOTLINE_FCOUNT_H
#define HOTLINE_FCOUNT_H

struct event_base;
struct store;
struct metrics;
struct fcount;

#define FCOUNT_CAP 512          /* entries (hash, field) kept at most */
#define FCOUNT_BATCH 40         /* entries one EVAL carries */

/* Makes the table and its one-second timer; prefix is the key prefix (the
 * token keys are PREFIX fc:...). NULL when out of memory. */
struct fcount *fcount_new(struct event_base *base, struct store *store,
                          struct metrics *metrics, const char *prefix);
/* Counts one field of hash key. Returns 0, or -1 when dropped (too long,
 * or the table is full). */
int fcount_add(struct fcount *f, const char *key, const char *field);
/* Sends a batch now, unless one is already out. */
void fcount_flush(struct fcount *f);
/* Counts not yet confirmed by Redis (in the table or in a batch). */
long long fcount_pending(const struct fcount *f);
/* Frees f (after the store it uses: a reply then pending comes first).
 * Accepts NULL. */
void fcount_free(struct fcount *f);

#endif
