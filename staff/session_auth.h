/*
 * session_auth.h — sign-in for people on the staff API: accounts of
 * accounts.h, a session cookie, CSRF tokens, sign-in limits, and the
 * security headers of every response.
 *
 *   POST   /api/session       {"name","password"} -> cookie + {"name",
 *                             "role","csrf"}; 401 wrong; 429 limited
 *   GET    /api/session       who is signed in (and the CSRF token again)
 *   DELETE /api/session       signs this session out
 *   POST   /api/session/all   signs this person out everywhere
 *
 * Any other /api/ request without an Authorization header but with the
 * session cookie is served as the signed-in person (api_serve), after the
 * X-CSRF-Token check when it changes something.
 */
#ifndef HOTLINE_SESSION_AUTH_H
#define HOTLINE_SESSION_AUTH_H

struct gw;
struct evhttp_request;

#define SAUTH_COOKIE "hl_session"

/* Adds the security headers every response carries (CSP without
 * unsafe-inline, frame-ancestors 'none', Referrer-Policy, nosniff). */
void sauth_headers(struct evhttp_request *req);

/* Takes an /api/ request that is about sessions, or that comes with the
 * session cookie and no bearer token, and returns 1: exactly one reply is
 * then sent, possibly later. Returns 0 (nothing done) for the others. */
int sauth_handle(struct gw *gw, struct evhttp_request *req, const char *path);

#endif
