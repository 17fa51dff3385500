/*
 * live.h — the live queue: case events pushed to every open staff console
 * as Server-Sent Events (issue 14, item 3).
 *
 *   GET /api/events    text/event-stream; staff only (cookie or token)
 *
 * Every change a console shows is appended to the stream P ev:live
 * {what = new | risk | claim | release | note | resolve | reveal |
 * reassign, ref} (capped at
 * ~1 000 entries; no number, no place): the STEP script when a help
 * request is filed or a caller leaves by the duress exit, the case
 * scripts on every transition. One reader per hotlined, on a Redis
 * connection of its own, waits on it (XREAD BLOCK) and writes each event to
 * every client:
 *
 *   id: STREAM-ID
 *   event: case
 *   data: {"what":"new","ref":"ABC123"}
 *
 * A stream opens with "event: hello" {"now": ms}, the server's clock.
 * The client fetches the case itself (GET /api/cases/REF, audited and
 * masked like every read); when the link comes back it lists again, so
 * no row is lost or doubled. Bounds: console.live_clients open streams
 * per process (one more gets 503); a client that leaves more than
 * console.live_buffer bytes unread is dropped (its memory is that bound,
 * never more); a comment line every console.live_heartbeat_s seconds.
 */
#ifndef HOTLINE_LIVE_H
#define HOTLINE_LIVE_H

struct gw;
struct evhttp_request;

/* Starts the reader on gw's loop (its own Redis connection to the
 * configured server). NULL when out of memory. */
struct live *live_new(struct gw *gw);
/* Ends every client's stream and stops the reader. Accepts NULL. */
void live_free(struct live *l);
/* Sentinel named a new master. */
void live_retarget(struct live *l, const char *host, int port);
/* Takes req (an authenticated GET /api/events of staff member who) as a
 * new live client: the reply starts at once and lasts until the client
 * goes, is dropped, or the process stops. */
void live_attach(struct gw *gw, struct evhttp_request *req, const char *who);
/* Live clients open now. */
int live_clients(void);

#endif
