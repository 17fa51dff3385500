/*
 * api.h — the staff JSON API under /api/ (the same case operations as
 * `hotlinectl cases`, over HTTP, with per-staff bearer tokens).
 */
#ifndef HOTLINE_API_H
#define HOTLINE_API_H

#include <stddef.h>

struct gw;
struct evhttp_request;

/* Answers req when path starts with "/api/" and returns 1; returns 0 (and
 * does nothing) otherwise. Exactly one reply is sent, possibly later. */
int api_handle(struct gw *gw, struct evhttp_request *req, const char *path);
/* Serves an /api/cases or /api/events request as the signed-in person
 * `who` with `role` (staff, supervisor, operator), already checked: the
 * caller's number is masked in every case it returns (phone "" and
 * phone_masked) until POST /api/cases/REF/reveal. Sends one reply. */
void api_serve(struct gw *gw, struct evhttp_request *req, const char *path,
               const char *who, const char *role);

/* The address whose failed tokens addr counts under, into out: an IPv4
 * address itself, an IPv6 address's /64 ("2001:db8:1:2::/64": one host
 * holds a whole /64, so counting single addresses would not limit it),
 * anything else as given. Always NUL-terminates (outsz > 0). */
void api_addr_bucket(const char *addr, char *out, size_t outsz);

/* The failed-token limiter (GW_SCRIPT_AUTH), shared by every gateway
 * through Redis. KEYS the address's counter, the token prefix's counter;
 * ARGV failed ("1"/"0"), the address's limit, the prefix's limit, window
 * (ms). Returns {2, ms to wait} when either counter is at its limit
 * (nothing counted), {1, address failures, prefix failures} when a failure
 * was counted, {0} for a good token. */
extern const char api_script_auth[];

#endif
