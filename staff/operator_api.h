/*
 * operator_api.h — the console's operator pages over JSON (issue 15 item
 * 5): the published menus and their versions, a stateless simulator on
 * the same engine, the checker, publish, rollback, diff and funnel.
 *
 *   GET  /api/operator/menus                       menus and versions
 *   GET  /api/operator/menus/NAME/diff?a=A&b=B     menu_diff of two versions
 *   GET  /api/operator/menus/NAME/funnel?v=N       the funnel of version N
 *   POST /api/operator/simulate   JSON             the screens of a walk
 *   POST /api/operator/check      the file's bytes the checker's messages
 *   POST /api/operator/publish[?note=TEXT]  the file's bytes   a new version
 *   POST /api/operator/menus/NAME/rollback  {"version": N, "note": "..."}
 *
 * A simulation's request: {"menu": NAME, "version": N (absent = the
 * current one), "lang": CODE (absent = the menu's first), "channel":
 * "ussd"|"sms", "fold": bool, "parts": 1..10 (SMS segments a page may
 * use), "answers": [up to 64 strings], "lookup": "found"|"reported"|
 * "unknown"|"near"|"error" (what a lookup node answers; default unknown)}.
 * Replies: docs/schemas/operator-*.schema.json; errors {"error": ...}.
 *
 * Version 0 is the file of the menus directory (what gateways serve with
 * nothing published). Only a signed-in person with the operator or
 * supervisor role (the roles ctl_operator() lets publish) gets an answer:
 * others 403. Publishing and rolling back write the record of
 * menu_ops.h, as `hotlinectl menu publish|rollback` does. The simulator
 * reads a version and replays answers on the pure engine: no session, no
 * help request, nothing written.
 */
#ifndef HOTLINE_OPERATOR_API_H
#define HOTLINE_OPERATOR_API_H

struct gw;
struct evhttp_request;

/* 1 when path is under /api/operator (the caller then hands the request
 * to opapi_serve once it knows who is asking). */
int opapi_path(const char *path);

/* Serves req as the signed-in `who` with `role`; sends one reply (403 for
 * a role other than operator or supervisor). */
void opapi_serve(struct gw *gw, struct evhttp_request *req, const char *path,
                 const char *who, const char *role);

#endif
