/*
 * api.h — the staff JSON API under /api/ (the same case operations as
 * `hotlinectl cases`, over HTTP, with per-staff bearer tokens).
 */
#ifndef HOTLINE_API_H
#define HOTLINE_API_H

struct gw;
struct evhttp_request;

/* Answers req when path starts with "/api/" and returns 1; returns 0 (and
 * does nothing) otherwise. Exactly one reply is sent, possibly later. */
int api_handle(struct gw *gw, struct evhttp_request *req, const char *path);

#endif
