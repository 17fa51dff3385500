/*
 * redis_full.c — notices Redis refusing writes for lack of memory, and
 * writes succeeding again. See redis_full.h.
 */
#include "redis_full.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define LOG_EVERY_S 60          /* while it lasts, one reminder a minute */
#define PROBE_TTL_MS "10000"

static int is_oom(const struct redisReply *reply)
{
    return reply && reply->type == REDIS_REPLY_ERROR && reply->str &&
           strncmp(reply->str, "OOM", 3) == 0;
}

int redis_full_note(struct gw *gw, const struct redisReply *reply,
                    const char *op)
{
    time_t now = time(NULL);

    if (!reply)
        return 0;
    if (!is_oom(reply)) {
        if (reply->type != REDIS_REPLY_ERROR && gw->redis_full) {
            gw->redis_full = 0;
            log_info("redis: writes succeed again (memory was freed)");
        }
        return 0;
    }
    metrics_add(gw->metrics, "hotline_redis_oom_total", "op", op, 1);
    if (!gw->redis_full || (long long)now - gw->redis_full_logged >=
                               LOG_EVERY_S) {
        log_error("redis: out of memory (maxmemory reached): Redis refuses "
                  "writes; callers get the fallback screen and help "
                  "requests go to the spool until memory is freed");
        gw->redis_full_logged = (long long)now;
    }
    gw->redis_full = 1;
    return 1;
}

static void on_probe(struct redisReply *reply, void *arg)
{
    struct gw *gw = arg;

    redis_full_note(gw, reply, "probe");
    if (reply && !gw->redis_full)
        gw_spool_drain(gw);
}

void redis_full_probe(struct gw *gw)
{
    char key[128];
    const char *av[5];

    if (!gw->redis_full || !store_ready(gw->store))
        return;
    snprintf(key, sizeof key, "%sprobe", gw->cfg->prefix);
    av[0] = "SET";
    av[1] = key;
    av[2] = "1";
    av[3] = "PX";
    av[4] = PROBE_TTL_MS;
    store_cmd(gw->store, on_probe, gw, 5, av, NULL);
}
