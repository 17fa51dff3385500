/*
 * super.h — the supervisor view's API (issue 14, item 5): what a
 * supervisor watches and the two things only they do from the console.
 *
 *   GET  /api/super/summary   open cases per queue (new, claimed, the
 *        oldest waiting), the claimed cases (to reassign), time-to-claim
 *        and time-to-resolve today (UTC) as count, median and p90, and the
 *        enabled staff names
 *   GET  /api/super/dead      the dead-lettered alerts (queue, id, ref,
 *        error, attempts, when): never the number or the answers
 *   POST /api/super/dead/retry {"id": "QUEUE/STREAMID"} | {"all": true}
 *        puts the dead letters back on their queue's stream, where the
 *        alert worker delivers them again -> {"ok", "retried", "dropped"}
 *   (reassign is POST /api/cases/REF/reassign, api.c)
 *
 * Only a signed-in person with role "supervisor" (session_auth.c hands the
 * role over); everyone else gets 403, bearer-token clients included.
 *
 * The figures come from the same data as /metrics: time-to-claim and
 * -resolve are the {what, ms} events of P ev:cases (cases.h) that caseev.c
 * feeds into hotline_case_claim_seconds / hotline_case_resolve_seconds;
 * "today" is the events whose stream id (the time they were written) is
 * at or after 00:00 UTC. Open cases are read from the case index (cx:new,
 * cx:claimed), each member checked against its case's status.
 *
 * Retry is one Lua script (super_script_retry) that hotlinectl's `alerts
 * retry` runs too: each dead letter's fields (less error, attempts,
 * entry and delivered) are appended to P q:QUEUE as a new entry, the dead
 * letter and the old queue entry (acknowledged already) deleted, and the
 * case's `entry` pointed at the new one. A dead letter whose case is
 * resolved or gone is dropped instead (nobody needs the alert; it held the
 * number). The targets that had received it (the dead letter's
 * `delivered`, written by alert.c's DEAD script) are marked delivered on
 * the new entry, so only the others get it again.
 */
#ifndef HOTLINE_SUPER_H
#define HOTLINE_SUPER_H

#include <stddef.h>

struct gw;
struct evhttp_request;

#define SUPER_OPEN_MAX 5000     /* open cases of each status one summary
                                 * reads (more: "truncated") */
#define SUPER_CLAIMED_ROWS 200  /* claimed cases a summary lists */
#define SUPER_EVENTS_MAX 20000  /* case events one summary reads */
#define SUPER_DEAD_MAX 200      /* dead letters one listing shows */
#define SUPER_RETRY_MAX 1000    /* dead letters one retry moves */

/* Serves path (/api/super/...) for signed-in person who with role. */
void super_serve(struct gw *gw, struct evhttp_request *req, const char *path,
                 const char *who, const char *role);

/* Scripts (EVAL; also run by hotlinectl).
 * dead list: KEYS none; ARGV prefix, max, queue names. Returns
 *   {{queue, id, ref, error, attempts}, ...} oldest first per queue and a
 *   trailing integer 1 when more were left out, else 0.
 * retry: KEYS none; ARGV prefix, max, then pairs (queue, id), id "*" for
 *   every dead letter of that queue. Returns {retried, dropped, missing}. */
extern const char super_script_dead[];
extern const char super_script_retry[];

/* The nearest-rank percentile p (1..100) of sorted[0..n) (n > 0). */
long long super_pct(const long long *sorted, size_t n, int p);

/* 00:00 UTC of the day of now_ms, in ms. */
long long super_midnight(long long now_ms);

#endif
