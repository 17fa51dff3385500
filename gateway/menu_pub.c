/*
 * menu_pub.c — a gateway follows the menus published to Redis (keys and
 * rules: menu_pub.h).
 *
 * Two connections: the gateway's store (gw->store) for GET/HGET, and one
 * hiredis async connection of its own that only SUBSCRIBEs (a subscribed
 * connection can run nothing else). A message, a (re)subscription and a
 * timer every MPUB_CHECK_S each check every followed menu: GET current;
 * when it names a version not yet served, HMGET its text and checksum,
 * verify, load and judge it on every channel serving the menu; serve it
 * only if that all passed. A tick every second reconnects the subscriber.
 *
 * Loaded versions are reference-counted: a request in flight holds the one
 * it is served (mpub_get/mpub_put), so evicting a version (beyond
 * MPUB_KEEP) never frees a menu under a request.
 */
#include "menu_pub.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "store.h"

#define KEY_MAX 256
#define WHY_MAX 240
#define FUNNEL_TEXT_MAX (256 * 1024)

/* The series this file adds to /metrics. */
#define M_VERSION "hotline_menu_version"
#define M_REFUSED "hotline_menu_refused_version"
#define M_FUNNEL "hotline_menu_funnel_total"

struct mpub_ver {
    int refs;
    long long v;
    struct menu *m;
};

struct mpub_menu {
    char name[MENU_NAME_MAX];
    long long cur;              /* served to new sessions; 0 = the file */
    struct mpub_ver *vers[MPUB_KEEP]; /* loaded, oldest first */
    size_t nv;
    long long bad;              /* the published version refused, 0 = none */
    char why[WHY_MAX];
    int busy;                   /* a check in flight */
    int seen;                   /* checked once since start */
    char *funnel;               /* /metrics lines of cur's funnel */
};

struct mpub {
    struct gw *gw;
    char host[256];
    int port;
    redisAsyncContext *sub;
    struct event *tick;
    int ticks;
    int closing;
    struct mpub_menu menus[MPUB_MENUS_MAX];
    size_t n;
};

/* What a command's callback needs: which menu, which version. */
struct mpub_req {
    struct mpub *mp;
    char name[MENU_NAME_MAX];
    long long v;
};

/* ---- pure helpers (the CLI uses them too) ------------------------------ */

/* ---- loaded versions ---------------------------------------------------- */

void mpub_put(struct mpub_ver *h)
{
    if (!h || --h->refs > 0)
        return;
    menu_free(h->m);
    free(h);
}

static struct mpub_menu *menu_of(struct mpub *mp, const char *name)
{
    for (size_t i = 0; i < mp->n; i++)
        if (strcmp(mp->menus[i].name, name) == 0)
            return &mp->menus[i];
    return NULL;
}

static struct mpub_ver *ver_of(struct mpub_menu *e, long long v)
{
    for (size_t i = 0; i < e->nv; i++)
        if (e->vers[i]->v == v)
            return e->vers[i];
    return NULL;
}

/* Keeps m as version v of e; evicts the oldest that is not current. */
static int ver_add(struct mpub_menu *e, long long v, struct menu *m)
{
    struct mpub_ver *h = calloc(1, sizeof *h);

    if (!h)
        return -1;
    h->refs = 1;
    h->v = v;
    h->m = m;
    if (e->nv == MPUB_KEEP) {
        size_t k = e->vers[0]->v == e->cur ? 1 : 0;

        log_info("menu %s: version %lld unloaded (sessions still on it "
                 "start again)", e->name, e->vers[k]->v);
        mpub_put(e->vers[k]);
        memmove(&e->vers[k], &e->vers[k + 1],
                (e->nv - k - 1) * sizeof e->vers[0]);
        e->nv--;
    }
    e->vers[e->nv++] = h;
    return 0;
}

const struct menu *mpub_get(struct mpub *mp, const struct cfg_channel *ch,
                            long long want, long long *ver,
                            struct mpub_ver **hold)
{
    struct mpub_menu *e = mp ? menu_of(mp, ch->menu_name) : NULL;
    struct mpub_ver *h;

    *hold = NULL;
    if (want < 0)
        want = e ? e->cur : 0;
    *ver = want;
    if (want == 0)
        return ch->menu;
    h = e ? ver_of(e, want) : NULL;
    if (!h) {
        if (e && want > e->cur)
            mpub_check(mp);     /* published, and not here yet */
        return NULL;
    }
    h->refs++;
    *hold = h;
    return h->m;
}

/* ---- checking a version before serving it ---------------------------- */

/* Judges m on every channel of the running config that serves it. Returns
 * the number of errors, the first one in why. */
static size_t judge(struct mpub *mp, struct menu *m, const char *label,
                    char *why, size_t whysz)
{
    const struct cfg *c = mp->gw->cfg;
    struct menu_diags d;
    size_t errors;

    menu_diags_init(&d);
    for (size_t i = 0; i < c->nchannels; i++)
        if (strcmp(c->channels[i].menu_name, m->name) == 0)
            menu_check_channel(m, c->channels[i].name,
                               &c->channels[i].render, &d);
    errors = d.errors;
    for (size_t i = 0; i < d.n; i++) {
        if (d.v[i].sev == MENU_SEV_ERROR) {
            menu_diag_format(label, &d.v[i], why, whysz);
            break;
        }
    }
    menu_diags_free(&d);
    return errors;
}

/* Renders m's screens once for every channel serving it (menu.h,
 * menu_prerender); what fails is rendered on demand. */
static void prerender(struct mpub *mp, struct menu *m)
{
    const struct cfg *c = mp->gw->cfg;

    for (size_t i = 0; i < c->nchannels; i++)
        if (strcmp(c->channels[i].menu_name, m->name) == 0)
            menu_prerender(m, &c->channels[i].render);
}

static void refuse(struct mpub_menu *e, long long v, const char *why)
{
    e->bad = v;
    snprintf(e->why, sizeof e->why, "%s", why);
    log_error("menu %s: published version %lld not served, still serving "
              "%s%lld: %s", e->name, v, e->cur ? "version " : "the file, "
              "version ", e->cur, why);
}

/* HMGET text sum by: loads, verifies and judges version r->v. */
static void on_text(struct redisReply *reply, void *arg)
{
    struct mpub_req *r = arg;
    struct mpub_menu *e = r->mp->closing ? NULL : menu_of(r->mp, r->name);
    char label[MENU_NAME_MAX + 32], why[WHY_MAX], sum[65];
    struct menu_diags d;
    struct menu *m = NULL;
    const redisReply *t, *s, *by;

    if (!e)
        goto out;
    e->busy = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        goto out;               /* Redis away: the next check tries */
    e->seen = 1;
    t = reply->element[0];
    s = reply->element[1];
    by = reply->element[2];
    if (t->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING) {
        refuse(e, r->v, "the version has no text");
        goto out;
    }
    mops_sha256_hex(t->str, t->len, sum);
    if (strcmp(sum, s->str) != 0) {
        refuse(e, r->v, "its text does not match its checksum");
        goto out;
    }
    snprintf(label, sizeof label, "%s@%lld", r->name, r->v);
    menu_diags_init(&d);
    why[0] = '\0';
    if (strlen(t->str) != t->len ||
        menu_load_string(t->str, label, &m, &d) != 0) {
        for (size_t i = 0; i < d.n && !why[0]; i++)
            if (d.v[i].sev == MENU_SEV_ERROR)
                menu_diag_format(label, &d.v[i], why, sizeof why);
        refuse(e, r->v, why[0] ? why : "it does not load");
    } else if (strcmp(m->name, e->name) != 0) {
        refuse(e, r->v, "its name is not the menu's");
    } else if (judge(r->mp, m, label, why, sizeof why) > 0) {
        refuse(e, r->v, why);
    } else if (prerender(r->mp, m), ver_add(e, r->v, m) == 0) {
        e->cur = r->v;
        e->bad = 0;
        e->why[0] = '\0';
        m = NULL;
        log_info("menu %s: serving version %lld (published by %s)", e->name,
                 r->v, by->type == REDIS_REPLY_STRING ? by->str : "?");
    }
    menu_free(m);
    menu_diags_free(&d);
out:
    free(r);
}

/* GET current: fetches a version not served yet. */
static void on_current(struct redisReply *reply, void *arg)
{
    struct mpub_req *r = arg;
    struct mpub_menu *e = r->mp->closing ? NULL : menu_of(r->mp, r->name);
    char key[KEY_MAX];
    const char *av[5];
    size_t al[5];
    long long v;

    if (!e || !reply || (reply->type != REDIS_REPLY_STRING &&
                         reply->type != REDIS_REPLY_NIL)) {
        if (e)
            e->busy = 0;
        free(r);
        return;
    }
    v = reply->type == REDIS_REPLY_STRING ? atoll(reply->str) : 0;
    if (v == 0 && e->cur != 0) {
        log_warn("menu %s: no published version any more: serving the "
                 "file", e->name);
        e->cur = 0;
    }
    if (v <= 0 || v == e->bad || ver_of(e, v)) {
        e->seen = 1;
        if (v > 0 && ver_of(e, v) && e->cur != v) {
            e->cur = v;         /* back to a version still loaded */
            log_info("menu %s: serving version %lld", e->name, v);
        }
        e->busy = 0;
        free(r);
        return;
    }
    r->v = v;
    snprintf(key, sizeof key, "%smenu:%s:v:%lld", r->mp->gw->cfg->prefix,
             e->name, v);
    av[0] = "HMGET"; av[1] = key; av[2] = "text"; av[3] = "sum";
    av[4] = "by";
    for (int i = 0; i < 5; i++)
        al[i] = strlen(av[i]);
    if (store_cmd(r->mp->gw->store, on_text, r, 5, av, al) != 0) {
        e->busy = 0;
        free(r);
    }
}

static void check_one(struct mpub *mp, struct mpub_menu *e)
{
    struct mpub_req *r;
    char key[KEY_MAX];
    const char *av[2];
    size_t al[2];

    if (e->busy || !store_ready(mp->gw->store))
        return;
    r = calloc(1, sizeof *r);
    if (!r)
        return;
    r->mp = mp;
    snprintf(r->name, sizeof r->name, "%s", e->name);
    snprintf(key, sizeof key, "%smenu:%s:current", mp->gw->cfg->prefix,
             e->name);
    av[0] = "GET";
    av[1] = key;
    al[0] = 3;
    al[1] = strlen(key);
    e->busy = 1;
    if (store_cmd(mp->gw->store, on_current, r, 2, av, al) != 0) {
        e->busy = 0;
        free(r);
    }
}

void mpub_check(struct mpub *mp)
{
    const struct cfg *c;

    if (!mp || mp->closing)
        return;
    c = mp->gw->cfg;
    /* Every menu of the running config (a SIGHUP may have added one). */
    for (size_t i = 0; i < c->nmenus; i++) {
        if (menu_of(mp, c->menus[i]->name) || mp->n == MPUB_MENUS_MAX)
            continue;
        snprintf(mp->menus[mp->n].name, MENU_NAME_MAX, "%s",
                 c->menus[i]->name);
        mp->n++;
    }
    for (size_t i = 0; i < mp->n; i++)
        check_one(mp, &mp->menus[i]);
}

/* ---- the subscriber ---------------------------------------------------- */

static void on_message(redisAsyncContext *ac, void *reply, void *arg)
{
    struct mpub *mp = arg;
    redisReply *r = reply;

    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(r->element[0]->str, "subscribe") == 0)
        log_info("menus: following publications");
    mpub_check(mp);             /* a publication, or catching up */
}

static void on_sub_connect(const redisAsyncContext *ac, int status)
{
    struct mpub *mp = ac->data;

    if (status != REDIS_OK && mp && mp->sub == ac)
        mp->sub = NULL;         /* hiredis frees it */
}

static void on_sub_disconnect(const redisAsyncContext *ac, int status)
{
    struct mpub *mp = ac->data;

    (void)status;
    if (mp && mp->sub == ac) {
        mp->sub = NULL;
        if (!mp->closing)
            log_warn("menus: publication channel lost; reconnecting");
    }
}

static void sub_connect(struct mpub *mp)
{
    const struct cfg *c = mp->gw->cfg;
    redisAsyncContext *ac = redisAsyncConnect(mp->host, mp->port);

    if (!ac)
        return;
    if (ac->err) {
        redisAsyncFree(ac);
        return;
    }
    ac->data = mp;
    if (redisLibeventAttach(ac, mp->gw->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_sub_connect);
    redisAsyncSetDisconnectCallback(ac, on_sub_disconnect);
    if (c->redis_password)
        redisAsyncCommand(ac, NULL, NULL, "AUTH %s", c->redis_password);
    redisAsyncCommand(ac, on_message, mp, "SUBSCRIBE %s%s", c->prefix,
                      MOPS_CHANNEL);
    mp->sub = ac;
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
    struct mpub *mp = arg;

    (void)fd;
    (void)ev;
    if (!mp->sub)
        sub_connect(mp);
    if (++mp->ticks % MPUB_CHECK_S == 0)
        mpub_check(mp);
}

struct mpub *mpub_new(struct gw *gw)
{
    struct mpub *mp = calloc(1, sizeof *mp);
    struct timeval second = { 1, 0 };

    if (!mp)
        return NULL;
    mp->gw = gw;
    snprintf(mp->host, sizeof mp->host, "%s", gw->cfg->redis_host);
    mp->port = gw->cfg->redis_port;
    mp->tick = event_new(gw->base, -1, EV_PERSIST, on_tick, mp);
    if (!mp->tick || event_add(mp->tick, &second) != 0) {
        mpub_free(mp);
        return NULL;
    }
    sub_connect(mp);
    return mp;
}

void mpub_retarget(struct mpub *mp, const char *host, int port)
{
    if (!mp)
        return;
    snprintf(mp->host, sizeof mp->host, "%s", host);
    mp->port = port;
    if (mp->sub)
        redisAsyncDisconnect(mp->sub);  /* the tick reconnects */
}

void mpub_free(struct mpub *mp)
{
    if (!mp)
        return;
    mp->closing = 1;
    if (mp->sub)
        redisAsyncFree(mp->sub);
    mp->sub = NULL;
    if (mp->tick)
        event_free(mp->tick);
    for (size_t i = 0; i < mp->n; i++) {
        for (size_t k = 0; k < mp->menus[i].nv; k++)
            mpub_put(mp->menus[i].vers[k]);
        free(mp->menus[i].funnel);
    }
    free(mp);
}

/* ---- what operators see ------------------------------------------------ */

int mpub_synced(const struct mpub *mp)
{
    const struct cfg *c;

    if (!mp)
        return 1;
    c = mp->gw->cfg;
    for (size_t i = 0; i < c->nmenus; i++) {
        const struct mpub_menu *e = NULL;

        for (size_t k = 0; k < mp->n && !e; k++)
            if (strcmp(mp->menus[k].name, c->menus[i]->name) == 0)
                e = &mp->menus[k];
        if (!e || !e->seen)
            return 0;
    }
    return 1;
}

size_t mpub_trouble(const struct mpub *mp, char *out, size_t outsz)
{
    size_t len = 0;

    if (outsz)
        out[0] = '\0';
    for (size_t i = 0; mp && i < mp->n && len + 1 < outsz; i++) {
        const struct mpub_menu *e = &mp->menus[i];
        int k;

        if (!e->bad)
            continue;
        k = snprintf(out + len, outsz - len, "menu %s: version %lld not "
                     "served (%s); serving %s%lld\n", e->name, e->bad, e->why,
                     e->cur ? "version " : "the file, version ", e->cur);
        if (k < 0)
            break;
        len += (size_t)k < outsz - len ? (size_t)k : outsz - len - 1;
    }
    return len;
}

/* HGETALL of a funnel: its /metrics lines into e->funnel. */
static void on_funnel(struct redisReply *reply, void *arg)
{
    struct mpub_req *r = arg;
    struct mpub_menu *e = r->mp->closing ? NULL : menu_of(r->mp, r->name);
    char *text;
    size_t len = 0;

    if (!e || !reply || reply->type != REDIS_REPLY_ARRAY ||
        !(text = malloc(FUNNEL_TEXT_MAX))) {
        free(r);
        return;
    }
    text[0] = '\0';
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        char node[MENU_NAME_MAX], lang[MENU_NAME_MAX];
        int ev, k;

        if (reply->element[i]->type != REDIS_REPLY_STRING ||
            reply->element[i + 1]->type != REDIS_REPLY_STRING ||
            mops_funnel_field_parse(reply->element[i]->str, node, lang,
                                    &ev) != 0)
            continue;
        k = snprintf(text + len, FUNNEL_TEXT_MAX - len,
                     "%s{menu=\"%s\",version=\"%lld\","
                     "node=\"%s\",lang=\"%s\",event=\"%s\"} %s\n",
                     M_FUNNEL, e->name, r->v, node, lang, mops_ev_names[ev],
                     reply->element[i + 1]->str);
        if (k < 0 || (size_t)k >= FUNNEL_TEXT_MAX - len)
            break;
        len += (size_t)k;
    }
    free(e->funnel);
    e->funnel = text;
    free(r);
}

static void funnel_read(struct mpub *mp, const struct mpub_menu *e)
{
    struct mpub_req *r = calloc(1, sizeof *r);
    char key[KEY_MAX];
    const char *av[2];
    size_t al[2];

    if (!r)
        return;
    r->mp = mp;
    r->v = e->cur;
    snprintf(r->name, sizeof r->name, "%s", e->name);
    snprintf(key, sizeof key, "%smenu:%s:f:%lld", mp->gw->cfg->prefix,
             e->name, e->cur);
    av[0] = "HGETALL";
    av[1] = key;
    al[0] = 7;
    al[1] = strlen(key);
    if (store_cmd(mp->gw->store, on_funnel, r, 2, av, al) != 0)
        free(r);
}

void mpub_funnel_refresh(struct mpub *mp)
{
    for (size_t i = 0; mp && !mp->closing && i < mp->n; i++)
        funnel_read(mp, &mp->menus[i]);
}

char *mpub_metrics(struct mpub *mp)
{
    size_t cap = 256, len = 0;
    char *out;

    if (!mp)
        return strdup("");
    for (size_t i = 0; i < mp->n; i++)
        cap += 256 + (mp->menus[i].funnel ? strlen(mp->menus[i].funnel) : 0);
    out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    if (mp->n)
        len += (size_t)snprintf(out, cap, "# TYPE %s gauge\n# TYPE %s gauge\n"
                                "# TYPE %s counter\n", M_VERSION, M_REFUSED,
                                M_FUNNEL);
    for (size_t i = 0; i < mp->n; i++)
        len += (size_t)snprintf(out + len, cap - len,
                                "%s{menu=\"%s\"} %lld\n%s{menu=\"%s\"} %lld\n",
                                M_VERSION, mp->menus[i].name, mp->menus[i].cur,
                                M_REFUSED, mp->menus[i].name,
                                mp->menus[i].bad);
    for (size_t i = 0; i < mp->n; i++) {
        if (mp->menus[i].funnel)
            len += (size_t)snprintf(out + len, cap - len, "%s",
                                    mp->menus[i].funnel);
        funnel_read(mp, &mp->menus[i]);
    }
    return out;
}
