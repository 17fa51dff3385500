/*
 * redis_full.h — Redis out of memory: with maxmemory reached and the
 * noeviction policy, Redis answers every write with "-OOM command not
 * allowed when used memory > 'maxmemory'" while reads still work.
 *
 * hotlined treats that like Redis unavailable for writes: a step whose
 * write was refused gets the fallback screen (unless the dialect replays a
 * history, or the screen ends the session anyway: the duress exit keeps
 * its neutral goodbye), a help request goes to the spool, /readyz is not ready
 * (gw->redis_full) and hotline_redis_oom is 1 — until a write succeeds
 * again (a step, a spooled request drained, or the probe below).
 */
#ifndef HOTLINE_REDIS_FULL_H
#define HOTLINE_REDIS_FULL_H

struct gw;
struct redisReply;

/* Notes Redis's reply to a write: an -OOM error marks Redis full (counted
 * in hotline_redis_oom_total{op}, logged at most once a minute, without
 * caller data); any other non-error reply means writes succeed again. NULL
 * (no answer) and other errors change nothing. Returns 1 for -OOM. */
int redis_full_note(struct gw *gw, const struct redisReply *reply,
                    const char *op);

/* While Redis is marked full, tries one small write (a probe key that
 * expires, no caller data) so that an idle gateway notices memory was
 * freed; the spool's drain follows at once when it succeeds. Called by the
 * spool's periodic drain instead of replaying records Redis would refuse. */
void redis_full_probe(struct gw *gw);

#endif
