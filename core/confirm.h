/*
 * confirm.h — "do the replicas hold it?" for help requests (redis.wait_replicas).
 *
 * Redis replicates asynchronously: a master that dies can take writes it
 * already acknowledged with it. WAIT N T on a connection blocks that
 * connection until N replicas acknowledged every write made on it so far,
 * or T ms passed. Filings and the spool drain run on their own connection
 * (gw->fstore), and this module batches their WAITs: at most one is in
 * flight; writes sent meanwhile are covered by the next one. So a missing
 * replica costs each filing at most two WAIT timeouts, never a queue of them.
 */
#ifndef HOTLINE_CONFIRM_H
#define HOTLINE_CONFIRM_H

struct store;
struct confirm;

/* ok: 1 when `replicas` replicas acknowledged the writes, 0 when fewer did
 * within wait_ms, the connection changed, or the WAIT failed. */
typedef void (*confirm_cb)(int ok, void *arg);

struct confirm *confirm_new(struct store *s);
/* Calls every waiting callback with ok = 0, then frees. Accepts NULL. */
void confirm_free(struct confirm *c);
/* Calls cb once the writes sent on the store under connection generation
 * `gen` (store_generation right after sending them) are confirmed or not.
 * Runs cb at once (ok = 0) when the connection already changed or WAIT
 * cannot be sent. */
void confirm_after(struct confirm *c, unsigned gen, int replicas,
                   int wait_ms, confirm_cb cb, void *arg);

#endif
