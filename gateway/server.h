/*
 * server.h — the HTTP front: binds the configured address (SO_REUSEPORT),
 * routes operations endpoints and channel paths, enforces every limit.
 */
#ifndef HOTLINE_SERVER_H
#define HOTLINE_SERVER_H

#include <stddef.h>

struct gw;

/* Creates gw->http and starts listening on gw->cfg's address. */
int server_start(struct gw *gw, char *err, size_t errlen);
/* Applies gw->cfg's HTTP limits (after a reload too). */
void server_apply_limits(struct gw *gw);
/* Sets this process's gauges (Redis up, in flight, connections, ...) in
 * gw->metrics: at each scrape, and every second in a worker, so that the
 * sum over workers is current whichever worker answers. */
void server_gauges(struct gw *gw);
/* Stops accepting connections; requests in flight continue. */
void server_stop_accepting(struct gw *gw);

#endif
