/*
 * gw.h — the daemon's context, shared by server.c (HTTP), session.c (one
 * inbound message through the menu and Redis) and main.c (start, signals).
 * One per process; everything runs on its one event loop.
 */
#ifndef HOTLINE_GW_H
#define HOTLINE_GW_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct cfg;
struct store;
struct spool;
struct metrics;
struct hc;
struct alert;
struct confirm;
struct mpub;
struct scache;

struct gw {
    struct event_base *base;
    struct cfg *cfg;            /* current config; requests retain theirs */
    struct store *store;
    struct store *fstore;       /* help requests and the spool drain only:
                                 * a WAIT there holds up no other caller */
    struct confirm *confirm;    /* WAITs on fstore (confirm.h) */
    struct spool *spool;
    struct metrics *metrics;
    struct hc *hc;              /* outbound HTTP: SMS replies, alerts */
    struct alert *alert;        /* alert delivery worker (alert.h) */
    struct evhttp *http;
    struct mpub *mpub;          /* published menus followed (menu_pub.h) */
    struct fcount *fcount;      /* the funnel's counts, flushed each second
                                 * (gateway/fcount.h) */
    struct scache *scache;      /* recent session states (scache.h), made
                                 * on first use; NULL = off */
    int scache_failed;          /* could not be made: not tried again */
    int inflight;               /* requests accepted, not yet answered */
    int draining;               /* SIGTERM received */
    int spool_busy;             /* a spool drain is under way */
    int redis_full;             /* Redis refuses writes for lack of memory
                                 * (redis_full.h): /readyz not ready */
    long long redis_full_logged;    /* when that was last logged (s) */
};

/* Index of the Lua scripts the store loads (session.c owns their text). */
enum gw_script { GW_SCRIPT_LOAD = 0, GW_SCRIPT_STEP, GW_SCRIPT_CLAIM,
                 GW_SCRIPT_NOTE, GW_SCRIPT_RESOLVE, GW_SCRIPT_LIST,
                 GW_SCRIPT_READ, GW_SCRIPT_AUDIT, GW_SCRIPT_AUTH,
                 GW_SCRIPT_RELEASE, GW_SCRIPT_LOOKUP, GW_SCRIPT_TAG,
                 GW_SCRIPT_REVEAL, GW_SCRIPT_STEP_LEGACY, GW_SCRIPT_COUNT };
extern const char *const gw_scripts[GW_SCRIPT_COUNT];
/* Keys the STEP script takes (session.c documents them); a spool record is
 * that script's argv: GW_STEP_NKEYS keys, then ARGV 1 = GW_STEP_LAYOUT,
 * at least GW_STEP_MIN_ARGS elements in all. */
#define GW_STEP_NKEYS 15
#define GW_STEP_LAYOUT "step3"
#define GW_STEP_MIN_ARGS (GW_STEP_NKEYS + 26)
/* Records spooled by versions before the fixed layout are replayed by
 * GW_SCRIPT_STEP_LEGACY (the positional script those versions ran): 11
 * keys; or 9 before the case index (their 10th element, the blanked ttl,
 * is empty; the script derives the index keys). */
#define GW_STEP_NKEYS_LEGACY 11
#define GW_STEP_NKEYS_V1 9

/* Moves spooled help requests into Redis (drain.c). Called when a store
 * becomes ready and from a periodic timer; does nothing while one runs.
 * With redis.wait_replicas, the spool is emptied only once that many
 * replicas hold what was drained. */
void gw_spool_drain(struct gw *gw);

#endif
