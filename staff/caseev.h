/*
 * caseev.h — hotlined's side of the case events and of the retention of
 * the queue streams (issue 11, items 7 and 11).
 *
 * Case events: the case scripts (cases.h) append {what = claim | resolve,
 * ms = how long it waited} to the stream P ev:cases whichever tool ran
 * them (the staff API or hotlinectl). Every hotlined reads it through the
 * consumer group "metrics" (XREADGROUP ... NOACK, consumer HOST-PID), so
 * each event is observed by exactly one process into its
 * hotline_case_claim_seconds / hotline_case_resolve_seconds histograms:
 * summed over the gateways, /metrics counts every claim once. Consumers
 * of stopped processes (idle a minute) are deleted every minute. The stream
 * is capped at about 10 000 events and holds no reference or number.
 *
 * Retention: once a second, one SCAN step (COUNT 250, TYPE stream) over
 * the keyspace; each queue stream P q:QUEUE and dead-letter stream
 * P dead:QUEUE it meets is trimmed of the entries older than
 * cases.retention_days (XTRIM MINID: a stream id is its time in ms). A
 * whole pass over 300 000 keys takes about 20 minutes; retention is in
 * days. Entries that were delivered and resolved go sooner (cases.c,
 * alert.c).
 */
#ifndef HOTLINE_CASEEV_H
#define HOTLINE_CASEEV_H

struct gw;
struct caseev;

/* Starts the once-a-second timer on gw's loop; it uses gw->store (when
 * ready), gw->cfg and gw->metrics, which must outlive it. NULL when out of
 * memory. */
struct caseev *caseev_new(struct gw *gw);
/* Stops the timer; a command in flight finds its context gone. Accepts
 * NULL. */
void caseev_free(struct caseev *c);

#endif
