/*
 * menu_pub.h — menus published to Redis, followed by every gateway
 * (docs/menus.md "Publishing"; `hotlinectl menu publish` writes them).
 *
 * Keys (prefix P, default "hl:"):
 *   P menu:NAME:n          version counter (INCR): the last version number
 *   P menu:NAME:v:N        version N, immutable hash: text (the file),
 *                          sum (its SHA-256, hex), by (who published),
 *                          at (Redis clock, s), note, from (a rollback: the
 *                          version whose text it restores, else "")
 *   P menu:NAME:current    the version new sessions get; absent = the file
 *                          of the menus directory
 *   P menus                set of the names ever published
 *   P menu:NAME:f:N        funnel of version N (0 = the file): hash of
 *                          "NODE|LANG|EVENT" -> count, no number, no
 *                          session id (events below)
 *   P menu:published       pub/sub channel: "NAME N" after each publish
 *
 * A gateway follows every menu of its menus directory by name: on each
 * message of the channel, on (re)subscribing, and every MPUB_CHECK_S as a
 * backstop, it reads `current`, checks the version's checksum, loads it and
 * judges it on every channel serving it (as `menu check -c`); a version
 * with any error is not served, the last good one stays, and /readyz and
 * the log say so. Sessions are pinned to the version they began on
 * (session.c keeps it in the session hash, `mv`); the last MPUB_KEEP
 * published versions of each menu stay loaded for them.
 */
#ifndef HOTLINE_MENU_PUB_H
#define HOTLINE_MENU_PUB_H

#include <stddef.h>

#include "menu.h"
#include "menu_ops.h"         /* funnel events, the publish script */

#define MPUB_KEEP 4             /* published versions of a menu kept loaded */
#define MPUB_CHECK_S 10         /* the backstop check, seconds */
#define MPUB_MENUS_MAX 32       /* menus followed */

struct gw;
struct mpub;
struct mpub_ver;
struct cfg_channel;

/* Starts following (subscriber connection, timer). NULL on no memory. */
struct mpub *mpub_new(struct gw *gw);
void mpub_free(struct mpub *mp);        /* accepts NULL */
/* Checks every menu now (store ready, a message, the timer). */
void mpub_check(struct mpub *mp);
/* Sentinel failover: the subscriber follows the new master. */
void mpub_retarget(struct mpub *mp, const char *host, int port);

/*
 * The menu a step of channel ch is served: version `want` (0 = the file,
 * ch->menu; -1 = the current one). Sets *ver to the version and *hold to a
 * reference the caller gives back with mpub_put (NULL for the file).
 * Returns NULL when that version is not loaded here (evicted, or not yet
 * fetched): the caller restarts the session on the current version.
 */
const struct menu *mpub_get(struct mpub *mp, const struct cfg_channel *ch,
                            long long want, long long *ver,
                            struct mpub_ver **hold);
void mpub_put(struct mpub_ver *h);     /* accepts NULL */

/* 1 once every menu was checked against Redis since start: until then
 * /readyz is not ready, so that no caller meets the file a gateway just
 * (re)started with while another version is published. */
int mpub_synced(const struct mpub *mp);
/* /readyz detail: one line per menu whose published version is not served
 * ("" when every one is). Returns the length. */
size_t mpub_trouble(const struct mpub *mp, char *out, size_t outsz);
/* /metrics lines: hotline_menu_version{menu}, hotline_menu_refused_version
 * {menu} (the published version not served, 0 = none) and the funnel of each
 * current version (as last read from Redis; each call reads it again for
 * the next). malloc'd, "" when none; NULL on no memory. */
char *mpub_metrics(struct mpub *mp);
/* Reads every funnel again (what mpub_metrics does after each render):
 * with workers, each one does it every second, so that a scrape shows
 * the current totals whichever worker it reaches. */
void mpub_funnel_refresh(struct mpub *mp);

#endif
