/*
 * alert.c — the alert worker (see alert.h for the contract and the keys).
 *
 * The worker owns a store (its own Redis connection, with three Lua scripts
 * that make each step atomic), a 100 ms poll timer and a claim timer. Each
 * entry read from a stream is a `struct entry`, a small state machine:
 *
 *   ATTEMPT  script ATTEMPT: n += 1 on P ad:QUEUE:ID, read which targets
 *            were delivered before; too many attempts → DEAD
 *   SEND     deliver every target not yet delivered (webhook, one SMS per
 *            staff number, e-mail), at most SENDS_MAX at once across the
 *            worker; each success is recorded at once (HSET d:FP 1)
 *   WAIT     all answered, some failed: backoff timer, then ATTEMPT
 *   DONE     script DONE: XACK + DEL of the delivery hash, then freed
 *   DEAD     script DEAD: XADD P dead:QUEUE (with the targets delivered
 *            before) + XACK + DEL, then freed
 *
 * A target that answers again (a receiver back after an outage) wakes the
 * entries backing off on it alone, so they go now, not when their backoff
 * (up to backoff_max_ms) runs out.
 *
 * A Redis step that fails (timeout, Redis down) is retried after
 * REDIS_RETRY_MS without counting an attempt. An entry is freed only from
 * the reply of DONE or DEAD, so nothing else can hold it then. Deliveries in
 * flight (`struct send`) outlive a freed worker: alert_free detaches them
 * and their callback (hc_free guarantees one) frees them.
 *
 * Entries this worker holds are re-claimed to itself (XCLAIM JUSTID) on
 * every claim tick, so a long backoff never looks like a dead worker to
 * the others' XAUTOCLAIM.
 */
#include "alert.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alert_msg.h"
#include "cfg.h"
#include "gw.h"
#include "http_client.h"
#include "log.h"
#include "mask.h"
#include "metrics.h"
#include "sms_out.h"
#include "store.h"

#define GROUP "alerts"
#define POLL_MS 100
#define READ_COUNT 16           /* entries one XREADGROUP may return */
#define ENTRIES_MAX 64          /* entries held at once (memory bound) */
#define SENDS_MAX 16            /* deliveries in flight at once */
#define TARGETS_MAX 32          /* targets of one entry */
#define KV_MAX (2 * (ALERT_FIELDS_MAX + 16))
#define VALUE_MAX 4096          /* bytes of one field value kept */
#define REDIS_RETRY_MS 1000
#define KEY_MAX 256
#define ERROR_MAX 240
#define QUEUES_MAX 64

/* ---- Lua: each step one atomic script --------------------------------- */

enum { S_ATTEMPT, S_DONE, S_DEAD, S_PRUNE, S_COUNT };

/* KEYS 1 delivery hash, 2 stream; ARGV 1 ttl, 2 id, 3 group. Returns the
 * hash after n += 1, or 0 when the entry is gone from the stream (erased
 * with `hotlinectl cases erase`): then it is acknowledged, never sent. */
static const char script_attempt[] =
    "if #redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2]) == 0 then\n"
    "  redis.call('XACK', KEYS[2], ARGV[3], ARGV[2])\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return 0\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[1], 'n', 1)\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
    "return redis.call('HGETALL', KEYS[1])\n";

/* An entry acknowledged whose case staff resolved already leaves the
 * stream: it holds the number and the place (issue 11, item 7; the resolve
 * script deletes the entries delivered before it). KEYS[3] is the case. */
#define LUA_GONE_IF_RESOLVED                                               \
    "if redis.call('HGET', KEYS[3], 'status') == 'resolved' and"           \
    " redis.call('HGET', KEYS[3], 'entry') == ARGV[2] then\n"              \
    "  redis.call('XDEL', KEYS[1], ARGV[2])\n"                             \
    "end\n"

/* KEYS 1 stream, 2 delivery hash, 3 case; ARGV 1 group, 2 id. */
static const char script_done[] =
    "local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('DEL', KEYS[2])\n"
    LUA_GONE_IF_RESOLVED
    "return n\n";

/* KEYS 1 stream, 2 delivery hash, 3 case, 4 dead-letter stream; ARGV 1
 * group, 2 id, then field/value pairs of the dead letter. The targets
 * delivered before (the hash's d:FP fields) go with it as `delivered`
 * ("d:FP d:FP ..."), so that a retry sends only to the others. */
static const char script_dead[] =
    "local kv = {}\n"
    "for i = 3, #ARGV do kv[#kv + 1] = ARGV[i] end\n"
    "local done = {}\n"
    "local h = redis.call('HGETALL', KEYS[2])\n"
    "for i = 1, #h, 2 do\n"
    "  if string.sub(h[i], 1, 2) == 'd:' then done[#done + 1] = h[i] end\n"
    "end\n"
    "if #done > 0 then\n"
    "  kv[#kv + 1] = 'delivered'\n"
    "  kv[#kv + 1] = table.concat(done, ' ')\n"
    "end\n"
    "local id = redis.call('XADD', KEYS[4], '*', unpack(kv))\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('DEL', KEYS[2])\n"
    LUA_GONE_IF_RESOLVED
    "return id\n";

/* KEYS 1 stream; ARGV 1 group, 2 idle ms, 3 this worker's name. Deletes
 * the consumers of workers gone (a restart names a new one): nothing
 * pending and idle longer than ARGV 2, which a live worker polling every
 * POLL_MS never is. Returns how many. */
static const char script_prune[] =
    "local ok, cs = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1],"
    " ARGV[1])\n"
    "if not ok then return 0 end\n"
    "local n = 0\n"
    "for _, c in ipairs(cs) do\n"
    "  local f = {}\n"
    "  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end\n"
    "  if f.name ~= ARGV[3] and f.pending == 0 and"
    " f.idle > tonumber(ARGV[2]) then\n"
    "    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f.name)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

static const char *const scripts[S_COUNT] = { script_attempt, script_done,
                                              script_dead, script_prune };

/* ---- state -------------------------------------------------------------- */

enum estate { E_ATTEMPT, E_SEND, E_WAIT, E_DONE, E_DEAD };

/* One place an entry must reach: an alert, and for SMS one staff number. */
struct target {
    const struct cfg_alert *al;   /* points into entry->cfg */
    size_t to;                    /* SMS: index in al->to */
    uint64_t fp;                  /* fingerprint, key of d:FP */
    int done;                     /* delivered, this attempt or before */
    int started;                  /* tried in this attempt */
};

struct entry {
    struct alert *a;
    struct entry *next;
    enum estate st;
    char queue[ALERT_TOKEN_MAX + 1];
    char id[48];
    char *kv[KV_MAX];             /* copies of the entry's fields */
    size_t nkv;
    struct alert_req req;         /* points into kv */
    const char *poison;           /* static reason it can never succeed */
    int attempt;                  /* attempts begun (the hash's n) */
    struct cfg *cfg;              /* retained during SEND */
    struct target t[TARGETS_MAX];
    size_t nt;
    size_t busy;                  /* deliveries in flight */
    uint64_t delivered[TARGETS_MAX];  /* fingerprints done before */
    size_t ndelivered;
    char error[ERROR_MAX];        /* last failures, no personal data */
    struct event *timer;
    struct timeval t0;            /* when this worker took it */
};

/* One delivery in flight; e is NULL once the worker was freed. */
struct send {
    struct entry *e;
    size_t ti;
    struct send *prev, *next;
};

struct alert {
    struct gw *gw;
    struct store *store;
    struct event *poll;           /* POLL_MS, persistent */
    struct event *claim;          /* claim_s / 2 */
    struct event *kick;           /* one-shot, alert_kick */
    struct cfg *groups_cfg;       /* groups exist for this config */
    int groups_pending;           /* XGROUP CREATE replies awaited */
    int groups_failed;
    struct cfg *groups_for;       /* config whose groups are being made */
    int reading;                  /* an XREADGROUP is outstanding */
    int read_again;
    int claiming;                 /* XAUTOCLAIM replies awaited */
    int claim_ms;                 /* the claim timer's period */
    char consumer[96];
    char read_prefix[64];         /* cfg->prefix of the outstanding read */
    struct entry *entries;
    size_t nentries;
    struct send *sends;
    size_t nsending;
    int closing;
};

static void entry_run(struct entry *e);
static void pump(struct alert *a);

/* ---- small helpers -------------------------------------------------------- */

static const char *type_name(enum cfg_alert_type t)
{
    return t == ALERT_WEBHOOK ? "webhook" : t == ALERT_SMS ? "sms" : "email";
}

static double since(const struct timeval *t0)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_usec - t0->tv_usec) / 1e6;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= 0xFF;                    /* separates "ab","c" from "a","bc" */
    return h * 1099511628211ULL;
}

/* The fingerprint of a target: what it is and where it goes, not its
 * place in the config. */
static uint64_t target_fp(const struct cfg_alert *al, size_t to)
{
    uint64_t h = fnv(14695981039346656037ULL, type_name(al->type));

    h = fnv(h, al->type == ALERT_SMS ? al->sms.base_url : al->url);
    if (al->type == ALERT_SMS)
        return fnv(h, al->to[to]);
    for (size_t i = 0; al->type == ALERT_EMAIL && i < al->nto; i++)
        h = fnv(h, al->to[i]);
    return h;
}

static void key_of(char *out, size_t outsz, const struct entry *e,
                   const char *kind)
{
    const char *p = e->a->gw->cfg->prefix;

    if (strcmp(kind, "ad") == 0)
        snprintf(out, outsz, "%sad:%s:%s", p, e->queue, e->id);
    else if (strcmp(kind, "case") == 0)
        snprintf(out, outsz, "%scase:%s", p,
                 !e->poison && e->req.ref ? e->req.ref : "");
    else
        snprintf(out, outsz, "%s%s:%s", p, kind, e->queue);
}

static void ignore_reply(struct redisReply *r, void *arg)
{
    (void)r;
    (void)arg;
}

static void count(struct alert *a, const char *name, const char *label,
                  const char *value)
{
    if (a->gw->metrics)
        metrics_add(a->gw->metrics, name, label, value, 1);
}

static void set_inflight(struct alert *a)
{
    if (a->gw->metrics)
        metrics_set(a->gw->metrics, "hotline_alerts_inflight",
                    (double)a->nentries);
}

/* ---- entries ---------------------------------------------------------------- */

static void entry_free(struct entry *e)
{
    struct alert *a = e->a;

    for (struct entry **pp = &a->entries; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            a->nentries--;
            break;
        }
    }
    for (size_t i = 0; i < e->nkv; i++)
        free(e->kv[i]);
    if (e->timer)
        event_free(e->timer);
    cfg_release(e->cfg);
    free(e);
    set_inflight(a);
}

static void on_entry_timer(evutil_socket_t fd, short ev, void *arg)
{
    struct entry *e = arg;

    (void)fd;
    (void)ev;
    if (e->st == E_WAIT)
        e->st = E_ATTEMPT;
    entry_run(e);
}

static void later(struct entry *e, long ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    evtimer_add(e->timer, &tv);
}

static struct entry *entry_find(struct alert *a, const char *queue,
                                const char *id)
{
    for (struct entry *e = a->entries; e; e = e->next) {
        if (strcmp(e->id, id) == 0 && strcmp(e->queue, queue) == 0)
            return e;
    }
    return NULL;
}

static int entry_copies_failed(const struct entry *e)
{
    for (size_t i = 0; i < e->nkv; i++) {
        if (!e->kv[i])
            return 1;
    }
    return 0;
}

/* Copies one stream entry ([id, [field, value, ...]]) into a new entry.
 * Values longer than VALUE_MAX or too many fields make it poison. */
static struct entry *entry_new(struct alert *a, const char *queue,
                               const redisReply *id, const redisReply *kv)
{
    struct entry *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    e->a = a;
    e->st = E_ATTEMPT;
    snprintf(e->queue, sizeof e->queue, "%s", queue);
    snprintf(e->id, sizeof e->id, "%.*s", (int)id->len, id->str);
    gettimeofday(&e->t0, NULL);
    e->timer = evtimer_new(a->gw->base, on_entry_timer, e);
    for (size_t i = 0; i < kv->elements && !e->poison; i++) {
        const redisReply *s = kv->element[i];

        if (e->nkv == KV_MAX)
            e->poison = "too many fields";
        else if (s->type != REDIS_REPLY_STRING || s->len > VALUE_MAX ||
                 memchr(s->str, '\0', s->len))
            e->poison = "a field is not a bounded string";
        else
            e->kv[e->nkv++] = strndup(s->str, s->len);
    }
    if (!e->timer || entry_copies_failed(e)) {
        for (size_t k = 0; k < e->nkv; k++)
            free(e->kv[k]);
        if (e->timer)
            event_free(e->timer);
        free(e);
        return NULL;
    }
    if (!e->poison &&
        alert_req_parse(&e->req, e->id, e->queue, (const char *const *)e->kv,
                        e->nkv, &e->poison) != 0 && !e->poison)
        e->poison = "malformed";
    if (e->poison) {
        e->st = E_DEAD;
        snprintf(e->error, sizeof e->error, "poison: %s", e->poison);
    }
    e->next = a->entries;
    a->entries = e;
    a->nentries++;
    set_inflight(a);
    return e;
}

/* Takes one entry of a XREADGROUP / XAUTOCLAIM reply. */
static void take_entry(struct alert *a, const char *queue,
                       const redisReply *item)
{
    struct entry *e;

    if (item->type != REDIS_REPLY_ARRAY || item->elements != 2 ||
        item->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (entry_find(a, queue, item->element[0]->str))
        return;
    if (item->element[1]->type != REDIS_REPLY_ARRAY) {
        /* Deleted from the stream while pending (Redis 6.2): forget it. */
        const char *av[] = { "XACK", NULL, GROUP, item->element[0]->str };
        char key[KEY_MAX];

        snprintf(key, sizeof key, "%sq:%s", a->gw->cfg->prefix, queue);
        av[1] = key;
        store_cmd(a->store, ignore_reply, NULL, 4, av, NULL);
        return;
    }
    e = entry_new(a, queue, item->element[0], item->element[1]);
    if (!e) {
        log_error("alert: out of memory taking an entry of %s", queue);
        return;
    }
    entry_run(e);
}

/* ---- ATTEMPT ------------------------------------------------------------------ */

static void on_attempt(struct redisReply *r, void *arg)
{
    struct entry *e = arg;

    if (e->a->closing)
        return;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
        struct alert *a = e->a;

        log_info("alert: %s %s was erased; not delivered", e->queue,
                 e->req.ref);
        count(a, "hotline_alerts_erased_total", "queue", e->queue);
        entry_free(e);
        pump(a);
        return;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        later(e, REDIS_RETRY_MS);
        return;
    }
    e->ndelivered = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i];
        const redisReply *v = r->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(k->str, "n") == 0)
            e->attempt = atoi(v->str);
        else if (strncmp(k->str, "d:", 2) == 0 &&
                 e->ndelivered < TARGETS_MAX)
            e->delivered[e->ndelivered++] = strtoull(k->str + 2, NULL, 16);
    }
    if (e->attempt > e->a->gw->cfg->alert_attempts) {
        /* Attempts begun but never finished (crashes): give up. */
        snprintf(e->error, sizeof e->error, "attempts exhausted");
        e->st = E_DEAD;
    } else {
        e->st = E_SEND;
    }
    entry_run(e);
}

static void run_attempt(struct entry *e)
{
    char key[KEY_MAX];
    char stream[KEY_MAX];
    const char *av[] = { key, stream, ALERT_AD_TTL_S, e->id, GROUP };

    key_of(key, sizeof key, e, "ad");
    key_of(stream, sizeof stream, e, "q");
    if (store_eval(e->a->store, S_ATTEMPT, on_attempt, e, 2, 5, av, NULL))
        later(e, REDIS_RETRY_MS);
}

/* ---- SEND ---------------------------------------------------------------------- */

static int was_delivered(const struct entry *e, uint64_t fp)
{
    for (size_t i = 0; i < e->ndelivered; i++) {
        if (e->delivered[i] == fp)
            return 1;
    }
    return 0;
}

static void add_target(struct entry *e, const struct cfg_alert *al,
                       size_t to)
{
    struct target *t;

    if (e->nt == TARGETS_MAX)
        return;
    t = &e->t[e->nt++];
    memset(t, 0, sizeof *t);
    t->al = al;
    t->to = to;
    t->fp = target_fp(al, to);
    t->done = was_delivered(e, t->fp);
}

/* Builds the targets from the config of now. Returns the number left to
 * deliver; -1 when the queue has no alerts any more. */
static int plan(struct entry *e)
{
    const struct cfg_queue *q;
    int left = 0;

    cfg_release(e->cfg);
    e->cfg = cfg_retain(e->a->gw->cfg);
    e->nt = 0;
    q = cfg_queue_by_name(e->cfg, e->queue);
    if (!q || q->nalerts == 0)
        return -1;
    for (size_t i = 0; i < q->nalerts; i++) {
        const struct cfg_alert *al = &q->alerts[i];

        if (al->type == ALERT_SMS) {
            for (size_t k = 0; k < al->nto; k++)
                add_target(e, al, k);
        } else {
            add_target(e, al, 0);
        }
    }
    for (size_t i = 0; i < e->nt; i++)
        left += !e->t[i].done;
    return left;
}

static void attempt_end(struct entry *e)
{
    const struct cfg *c = e->a->gw->cfg;
    long ms;

    cfg_release(e->cfg);
    e->cfg = NULL;
    for (size_t i = 0; i < e->nt; i++) {
        if (!e->t[i].done)
            goto failed;
    }
    e->st = E_DONE;
    entry_run(e);
    return;
failed:
    if (e->attempt >= c->alert_attempts) {
        e->st = E_DEAD;
        entry_run(e);
        return;
    }
    ms = alert_msg_backoff_ms(c->alert_backoff_ms, c->alert_backoff_max_ms,
                              e->attempt, (double)random() / 2147483648.0);
    log_warn("alert: %s %s attempt %d/%d failed (%s); retry in %.1f s",
             e->queue, e->req.ref, e->attempt, c->alert_attempts, e->error,
             (double)ms / 1000);
    e->st = E_WAIT;
    later(e, ms);
}

/* Target fp just took a delivery: entries waiting out a backoff whose every
 * undelivered target is fp retry at once. Entries waiting on other targets
 * too keep their backoff (an early retry would spend their attempts). */
static void wake_waiting_on(struct alert *a, uint64_t fp)
{
    for (struct entry *o = a->entries; o; o = o->next) {
        int only = 0;

        if (o->st != E_WAIT)
            continue;
        for (size_t i = 0; i < o->nt; i++) {
            if (o->t[i].done)
                continue;
            if (o->t[i].fp != fp) {
                only = 0;
                break;
            }
            only = 1;
        }
        if (only) {
            evtimer_del(o->timer);
            later(o, 0);
        }
    }
}

/* Records one target's outcome; ends the attempt when it was the last. */
static void target_done(struct entry *e, size_t ti, int ok, const char *why)
{
    struct target *t = &e->t[ti];
    struct alert *a = e->a;
    const char *type = type_name(t->al->type);

    if (ok) {
        char key[KEY_MAX];
        char field[24];
        const char *av[] = { "HSET", key, field, "1" };

        t->done = 1;
        key_of(key, sizeof key, e, "ad");
        snprintf(field, sizeof field, "d:%016llx", (unsigned long long)t->fp);
        store_cmd(a->store, ignore_reply, NULL, 4, av, NULL);
        count(a, "hotline_alerts_sent_total", "type", type);
        wake_waiting_on(a, t->fp);
    } else {
        size_t n = strlen(e->error);

        if (n && n + 3 < sizeof e->error) {
            memcpy(e->error + n, "; ", 3);
            n += 2;
        }
        snprintf(e->error + n, sizeof e->error - n, "%s", why);
        count(a, "hotline_alerts_failed_total", "type", type);
    }
    for (size_t i = 0; i < e->nt; i++) {
        if (!e->t[i].done && !e->t[i].started)
            return;             /* pump starts it when a slot frees */
    }
    if (e->busy == 0)
        attempt_end(e);
}

static struct send *send_new(struct entry *e, size_t ti)
{
    struct alert *a = e->a;
    struct send *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->e = e;
    s->ti = ti;
    s->next = a->sends;
    if (a->sends)
        a->sends->prev = s;
    a->sends = s;
    a->nsending++;
    e->busy++;
    return s;
}

/* Ends a delivery: unlinks s and frees it; returns its entry (NULL when
 * the worker is gone). */
static struct entry *send_end(struct send *s)
{
    struct entry *e = s->e;

    if (e) {
        struct alert *a = e->a;

        if (s->prev)
            s->prev->next = s->next;
        else
            a->sends = s->next;
        if (s->next)
            s->next->prev = s->prev;
        a->nsending--;
        e->busy--;
    }
    free(s);
    return e;
}

static void on_http(const struct hc_response *res, void *arg)
{
    struct send *s = arg;
    size_t ti = s->ti;
    struct entry *e = send_end(s);
    char why[96];
    int ok;

    if (!e)
        return;
    ok = res->status >= 200 && res->status < 300;
    if (res->status == 0)
        snprintf(why, sizeof why, "%s: %.70s",
                 type_name(e->t[ti].al->type),
                 res->error ? res->error : "failed");
    else
        snprintf(why, sizeof why, "%s: status %d",
                 type_name(e->t[ti].al->type), res->status);
    target_done(e, ti, ok, why);
    pump(e->a);
}

/* reason is number-free (sms_out.h); the staff number is masked. */
static void on_sms(enum sms_out_result r, const char *reason, void *arg)
{
    struct send *s = arg;
    size_t ti = s->ti;
    struct entry *e = send_end(s);
    char masked[16];
    char why[96];

    if (!e)
        return;
    mask_phone(e->t[ti].al->to[e->t[ti].to], masked, sizeof masked);
    snprintf(why, sizeof why, "sms %s: %s (%.40s)", masked,
             sms_out_result_str(r), reason ? reason : "");
    target_done(e, ti, r == SMS_OUT_OK, why);
    pump(e->a);
}

static int send_webhook(struct entry *e, const struct cfg_alert *al,
                        struct send *s)
{
    char sig[ALERT_SIG_MAX];
    char h_sig[ALERT_SIG_MAX + 32];
    char h_key[160];
    const char *headers[] = { "Content-Type: application/json", h_sig,
                              h_key };
    struct hc_request rq = { 0 };
    char *body = alert_msg_webhook(&e->req);
    int rc = -1;

    if (body && alert_msg_signature(al->secret, (long long)time(NULL), body,
                                    strlen(body), sig, sizeof sig) == 0) {
        snprintf(h_sig, sizeof h_sig, "X-Hotline-Signature: %s", sig);
        snprintf(h_key, sizeof h_key, "Idempotency-Key: %s-%s", e->queue,
                 e->id);
        rq.method = "POST";
        rq.url = al->url;
        rq.headers = headers;
        rq.nheaders = 3;
        rq.body = body;
        rq.body_len = strlen(body);
        rq.timeout_ms = e->a->gw->cfg->alert_timeout_ms;
        rc = hc_send(e->a->gw->hc, &rq, on_http, s);
    }
    free(body);
    return rc;
}

static int send_email(struct entry *e, const struct cfg_alert *al,
                      struct send *s)
{
    struct hc_request rq = { 0 };
    const char *why = NULL;
    char *msg = alert_msg_email(&e->req, al->from,
                                (const char *const *)al->to, al->nto,
                                time(NULL), &why);
    int rc;

    if (!msg) {
        log_error("alert: e-mail of queue %s (config line %d): %s",
                  e->queue, al->line, why ? why : "failed");
        return -1;
    }
    rq.url = al->url;
    rq.body = msg;
    rq.body_len = strlen(msg);
    rq.mail_from = al->from;
    rq.mail_rcpt = (const char *const *)al->to;
    rq.nrcpt = al->nto;
    rq.username = al->username;
    rq.password = al->password;
    rq.timeout_ms = e->a->gw->cfg->alert_timeout_ms;
    rc = hc_send(e->a->gw->hc, &rq, on_http, s);
    free(msg);
    return rc;
}

static int send_sms(struct entry *e, const struct cfg_alert *al, size_t to,
                    struct send *s)
{
    char text[ALERT_SMS_MAX + 1];

    if (alert_msg_sms(&e->req, text, sizeof text) != 0)
        return -1;
    return sms_out_send(e->a->gw->hc, &al->sms, al->to[to], text,
                        e->a->gw->cfg->alert_timeout_ms, on_sms, s);
}

/* Starts target ti; a target that cannot even start fails at once. */
static void start_target(struct entry *e, size_t ti)
{
    struct target *t = &e->t[ti];
    struct send *s = send_new(e, ti);
    int rc = -1;

    t->started = 1;
    if (s && t->al->type == ALERT_WEBHOOK)
        rc = send_webhook(e, t->al, s);
    else if (s && t->al->type == ALERT_EMAIL)
        rc = send_email(e, t->al, s);
    else if (s)
        rc = send_sms(e, t->al, t->to, s);
    if (rc != 0) {
        char why[64];

        if (s)
            send_end(s);
        snprintf(why, sizeof why, "%s: not started",
                 type_name(t->al->type));
        target_done(e, ti, 0, why);
    }
}

/* Starts waiting targets of entries in SEND while slots are free. */
static void pump(struct alert *a)
{
    for (struct entry *e = a->entries; e; e = e->next) {
        if (e->st != E_SEND)
            continue;
        for (size_t i = 0; i < e->nt && e->st == E_SEND; i++) {
            if (a->nsending >= SENDS_MAX)
                return;
            if (!e->t[i].done && !e->t[i].started)
                start_target(e, i);
        }
    }
}

static void run_send(struct entry *e)
{
    int left = plan(e);

    e->error[0] = '\0';
    if (left < 0) {
        snprintf(e->error, sizeof e->error, "queue has no alerts configured");
        e->st = E_DEAD;
        entry_run(e);
    } else if (left == 0) {
        attempt_end(e);
    } else {
        pump(e->a);
    }
}

/* ---- DONE and DEAD -------------------------------------------------------------- */

static void on_done(struct redisReply *r, void *arg)
{
    struct entry *e = arg;
    struct alert *a = e->a;
    const char *c = e->req.created;
    double filed_ms = c && *c ? strtod(c, NULL) : 0;
    struct timeval now;

    if (a->closing)
        return;
    if (!r || r->type != REDIS_REPLY_INTEGER) {
        later(e, REDIS_RETRY_MS);
        return;
    }
    gettimeofday(&now, NULL);
    log_info("alert: %s %s delivered (%zu targets, attempt %d, %.3f s after"
             " filing)", e->queue, e->req.ref, e->nt, e->attempt,
             filed_ms > 0 ? ((double)now.tv_sec * 1000 +
                             (double)now.tv_usec / 1000 - filed_ms) / 1000
                          : since(&e->t0));
    count(a, "hotline_alerts_acked_total", "queue", e->queue);
    entry_free(e);
    pump(a);
}

static void run_done(struct entry *e)
{
    char stream[KEY_MAX], ad[KEY_MAX], ckey[KEY_MAX];
    const char *av[] = { stream, ad, ckey, GROUP, e->id };

    key_of(stream, sizeof stream, e, "q");
    key_of(ad, sizeof ad, e, "ad");
    key_of(ckey, sizeof ckey, e, "case");
    if (store_eval(e->a->store, S_DONE, on_done, e, 3, 5, av, NULL))
        later(e, REDIS_RETRY_MS);
}

static void on_dead(struct redisReply *r, void *arg)
{
    struct entry *e = arg;
    struct alert *a = e->a;

    if (a->closing)
        return;
    if (!r || r->type != REDIS_REPLY_STRING) {
        later(e, REDIS_RETRY_MS);
        return;
    }
    log_error("alert: %s entry %s (ref %s) moved to the dead letters after"
              " %d attempts: %s", e->queue, e->id,
              e->poison ? "?" : e->req.ref, e->attempt, e->error);
    count(a, "hotline_alerts_dead_total", "queue", e->queue);
    entry_free(e);
    pump(a);
}

static void run_dead(struct entry *e)
{
    char stream[KEY_MAX], ad[KEY_MAX], dead[KEY_MAX], ckey[KEY_MAX], n[16];
    const char *av[6 + KV_MAX + 6];
    int ac = 0;

    key_of(stream, sizeof stream, e, "q");
    key_of(ad, sizeof ad, e, "ad");
    key_of(dead, sizeof dead, e, "dead");
    key_of(ckey, sizeof ckey, e, "case");
    snprintf(n, sizeof n, "%d", e->attempt);
    av[ac++] = stream;
    av[ac++] = ad;
    av[ac++] = ckey;
    av[ac++] = dead;
    av[ac++] = GROUP;
    av[ac++] = e->id;
    for (size_t i = 0; i + 1 < e->nkv; i += 2) {
        av[ac++] = e->kv[i];
        av[ac++] = e->kv[i + 1];
    }
    av[ac++] = "error";
    av[ac++] = e->error[0] ? e->error : "failed";
    av[ac++] = "attempts";
    av[ac++] = n;
    av[ac++] = "entry";
    av[ac++] = e->id;
    if (store_eval(e->a->store, S_DEAD, on_dead, e, 4, ac, av, NULL))
        later(e, REDIS_RETRY_MS);
}

static void entry_run(struct entry *e)
{
    switch (e->st) {
    case E_ATTEMPT: run_attempt(e); break;
    case E_SEND:    run_send(e); break;
    case E_WAIT:    break;
    case E_DONE:    run_done(e); break;
    case E_DEAD:    run_dead(e); break;
    }
}

/* ---- groups, polling, claiming ------------------------------------------------------ */

/* Fills keys (P q:QUEUE) and queue names of every queue with alerts. */
static size_t alert_queues(const struct cfg *c, char keys[][KEY_MAX],
                           const char **names)
{
    size_t n = 0;

    for (size_t i = 0; i < c->nqueues && n < QUEUES_MAX; i++) {
        if (c->queues[i].nalerts == 0 ||
            strlen(c->queues[i].name) > ALERT_TOKEN_MAX)
            continue;           /* longer names are not filed (menu check) */
        names[n] = c->queues[i].name;
        snprintf(keys[n], KEY_MAX, "%sq:%s", c->prefix, c->queues[i].name);
        n++;
    }
    return n;
}

static void claim_all(struct alert *a);
static void poll_now(struct alert *a);

/* Every XGROUP CREATE answered: the groups exist for groups_for unless
 * one failed (the next poll tries again). */
static void groups_settle(struct alert *a)
{
    if (!a->groups_failed) {
        cfg_release(a->groups_cfg);
        a->groups_cfg = a->groups_for;
        a->groups_for = NULL;
        claim_all(a);           /* take over what a dead worker left */
        poll_now(a);
    } else {
        cfg_release(a->groups_for);
        a->groups_for = NULL;
    }
}

static void on_group(struct redisReply *r, void *arg)
{
    struct alert *a = arg;

    if (a->closing)
        return;
    if (!r || (r->type == REDIS_REPLY_ERROR &&
               strncmp(r->str, "BUSYGROUP", 9) != 0)) {
        log_warn("alert: XGROUP CREATE failed: %s",
                 r ? r->str : "no reply");
        a->groups_failed = 1;
    }
    if (--a->groups_pending == 0)
        groups_settle(a);
}

static void make_groups(struct alert *a)
{
    char keys[QUEUES_MAX][KEY_MAX];
    const char *names[QUEUES_MAX];
    size_t n = alert_queues(a->gw->cfg, keys, names);

    a->groups_for = cfg_retain(a->gw->cfg);
    a->groups_failed = 0;
    a->groups_pending = 0;
    for (size_t i = 0; i < n; i++) {
        const char *av[] = { "XGROUP", "CREATE", keys[i], GROUP, "0",
                             "MKSTREAM" };

        if (store_cmd(a->store, on_group, a, 6, av, NULL) == 0)
            a->groups_pending++;
        else
            a->groups_failed = 1;
    }
    if (a->groups_pending == 0)
        groups_settle(a);
}

/* The queue of a stream key read with prefix a->read_prefix, or NULL. */
static const char *queue_of(const struct alert *a, const redisReply *key)
{
    size_t pl = strlen(a->read_prefix);

    if (key->type != REDIS_REPLY_STRING || key->len <= pl + 2 ||
        strncmp(key->str, a->read_prefix, pl) != 0 ||
        strncmp(key->str + pl, "q:", 2) != 0)
        return NULL;
    return key->str + pl + 2;
}

static void forget_groups(struct alert *a)
{
    cfg_release(a->groups_cfg);
    a->groups_cfg = NULL;
}

/* XREADGROUP's reply: nil, or [[key, [[id, [f, v, ...]], ...]], ...]. */
static void on_read(struct redisReply *r, void *arg)
{
    struct alert *a = arg;
    size_t got = 0;

    if (a->closing)
        return;
    a->reading = 0;
    if (r && r->type == REDIS_REPLY_ERROR) {
        log_warn("alert: XREADGROUP: %s", r->str);
        if (strncmp(r->str, "NOGROUP", 7) == 0)
            forget_groups(a);   /* a stream was deleted: make them again */
        return;
    }
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements;
         i++) {
        const redisReply *s = r->element[i];
        const char *queue;

        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        queue = queue_of(a, s->element[0]);
        for (size_t k = 0; queue && k < s->element[1]->elements; k++) {
            take_entry(a, queue, s->element[1]->element[k]);
            got++;
        }
    }
    if (got || a->read_again) {
        a->read_again = 0;
        poll_now(a);            /* more may be waiting */
    }
}

/* One non-blocking XREADGROUP over every queue with alerts. */
static void poll_now(struct alert *a)
{
    char keys[QUEUES_MAX][KEY_MAX];
    const char *names[QUEUES_MAX];
    const char *av[6 + 2 * QUEUES_MAX];
    char cnt[16];
    size_t n;
    int ac = 0;

    if (a->closing || !store_ready(a->store))
        return;
    if (a->groups_cfg != a->gw->cfg) {
        if (!a->groups_for)
            make_groups(a);
        return;
    }
    if (a->reading) {
        a->read_again = 1;
        return;
    }
    n = alert_queues(a->gw->cfg, keys, names);
    if (n == 0 || a->nentries >= ENTRIES_MAX)
        return;
    snprintf(cnt, sizeof cnt, "%zu", ENTRIES_MAX - a->nentries < READ_COUNT
                                     ? ENTRIES_MAX - a->nentries
                                     : (size_t)READ_COUNT);
    av[ac++] = "XREADGROUP";
    av[ac++] = "GROUP";
    av[ac++] = GROUP;
    av[ac++] = a->consumer;
    av[ac++] = "COUNT";
    av[ac++] = cnt;
    av[ac++] = "STREAMS";
    for (size_t i = 0; i < n; i++)
        av[ac++] = keys[i];
    for (size_t i = 0; i < n; i++)
        av[ac++] = ">";
    snprintf(a->read_prefix, sizeof a->read_prefix, "%s", a->gw->cfg->prefix);
    if (store_cmd(a->store, on_read, a, ac, av, NULL) == 0)
        a->reading = 1;
}

/* One XAUTOCLAIM in flight: its reply does not name the stream. */
struct claim {
    struct alert *a;
    char queue[ALERT_TOKEN_MAX + 1];
};

/* XAUTOCLAIM's reply: [cursor, [[id, fields], ...], (deleted ids)]. */
static void on_claim(struct redisReply *r, void *arg)
{
    struct claim *cl = arg;
    struct alert *a = cl->a;

    if (!a->closing) {
        a->claiming--;
        if (r && r->type == REDIS_REPLY_ERROR)
            log_warn("alert: XAUTOCLAIM: %s", r->str);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *list = r->element[1];

            if (list->elements)
                log_info("alert: %s: took over %zu entries left pending",
                         cl->queue, list->elements);
            for (size_t i = 0; i < list->elements; i++)
                take_entry(a, cl->queue, list->element[i]);
        }
    }
    free(cl);
}

/* Keeps the entries this worker holds its own (idle time back to 0), so
 * that no other worker's XAUTOCLAIM takes an entry waiting out a backoff. */
static void heartbeat(struct alert *a)
{
    for (struct entry *e = a->entries; e; e = e->next) {
        char key[KEY_MAX];
        const char *av[] = { "XCLAIM", key, GROUP, a->consumer, "0", e->id,
                             "JUSTID" };

        key_of(key, sizeof key, e, "q");
        store_cmd(a->store, ignore_reply, NULL, 7, av, NULL);
    }
}

static void on_pruned(struct redisReply *r, void *arg)
{
    (void)arg;
    if (r && r->type == REDIS_REPLY_INTEGER && r->integer > 0)
        log_info("alert: forgot %lld consumers of stopped workers",
                 r->integer);
}

/* Heartbeat, then XAUTOCLAIM of entries idle longer than claim_s in every
 * queue, as many as there is room for; consumers of stopped workers with
 * nothing pending, idle 3 x claim_s, are deleted. */
static void claim_all(struct alert *a)
{
    char keys[QUEUES_MAX][KEY_MAX];
    const char *names[QUEUES_MAX];
    char idle[24], cnt[16];
    size_t n;

    if (a->closing || !store_ready(a->store) ||
        a->groups_cfg != a->gw->cfg || a->claiming)
        return;
    heartbeat(a);
    n = alert_queues(a->gw->cfg, keys, names);
    snprintf(idle, sizeof idle, "%lld", (long long)a->gw->cfg->alert_claim_s
                                        * 3000);
    for (size_t i = 0; i < n; i++) {
        const char *av[] = { keys[i], GROUP, idle, a->consumer };

        store_eval(a->store, S_PRUNE, on_pruned, NULL, 1, 4, av, NULL);
    }
    if (a->nentries >= ENTRIES_MAX)
        return;
    snprintf(idle, sizeof idle, "%lld", (long long)a->gw->cfg->alert_claim_s
                                        * 1000);
    snprintf(cnt, sizeof cnt, "%zu", ENTRIES_MAX - a->nentries < READ_COUNT
                                     ? ENTRIES_MAX - a->nentries
                                     : (size_t)READ_COUNT);
    for (size_t i = 0; i < n; i++) {
        const char *av[] = { "XAUTOCLAIM", keys[i], GROUP, a->consumer, idle,
                             "0-0", "COUNT", cnt };
        struct claim *cl = calloc(1, sizeof *cl);

        if (!cl)
            return;
        cl->a = a;
        snprintf(cl->queue, sizeof cl->queue, "%s", names[i]);
        if (store_cmd(a->store, on_claim, cl, 8, av, NULL) == 0)
            a->claiming++;
        else
            free(cl);
    }
}

/* ---- timers and the public side ---------------------------------------------------- */

static void on_poll(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    poll_now(arg);
}

static void arm_claim(struct alert *a)
{
    int ms = a->gw->cfg->alert_claim_s * 500;
    struct timeval tv;

    if (ms < 500)
        ms = 500;
    a->claim_ms = ms;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(a->claim, &tv);
}

static void on_claim_timer(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    claim_all(arg);
    arm_claim(arg);             /* claim_s may change on reload */
}

static void on_store_ready(struct store *s, void *arg)
{
    struct alert *a = arg;

    (void)s;
    forget_groups(a);           /* a new server may lack them */
    poll_now(a);
}

struct alert *alert_new(struct gw *gw)
{
    struct alert *a = calloc(1, sizeof *a);
    struct store_opts so = { 0 };
    struct timeval every = { 0, POLL_MS * 1000 };
    char host[64] = "hotlined";

    if (!a)
        return NULL;
    a->gw = gw;
    gethostname(host, sizeof host - 1);
    snprintf(a->consumer, sizeof a->consumer, "%s-%ld", host,
             (long)getpid());
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    a->poll = event_new(gw->base, -1, EV_PERSIST, on_poll, a);
    a->claim = evtimer_new(gw->base, on_claim_timer, a);
    a->kick = evtimer_new(gw->base, on_poll, a);
    so.host = gw->cfg->redis_host;
    so.port = gw->cfg->redis_port;
    so.password = gw->cfg->redis_password;
    so.timeout_ms = gw->cfg->redis_timeout_ms;
    so.scripts = scripts;
    so.nscripts = S_COUNT;
    so.on_ready = on_store_ready;
    so.arg = a;
    if (!a->poll || !a->claim || !a->kick) {
        alert_free(a);
        return NULL;
    }
    a->store = store_new(gw->base, &so);
    if (!a->store) {
        alert_free(a);
        return NULL;
    }
    event_add(a->poll, &every);
    arm_claim(a);
    return a;
}

void alert_free(struct alert *a)
{
    if (!a)
        return;
    a->closing = 1;
    store_free(a->store);       /* pending replies run with NULL: ignored */
    for (struct send *s = a->sends; s; s = s->next)
        s->e = NULL;            /* their callbacks free them */
    while (a->entries)
        entry_free(a->entries);
    if (a->poll)
        event_free(a->poll);
    if (a->claim)
        event_free(a->claim);
    if (a->kick)
        event_free(a->kick);
    cfg_release(a->groups_cfg);
    cfg_release(a->groups_for);
    free(a);
}

void alert_kick(struct alert *a)
{
    struct timeval now = { 0, 0 };

    if (a && !a->closing)
        evtimer_add(a->kick, &now);
}

void alert_retarget(struct alert *a, const char *host, int port)
{
    if (a)
        store_retarget(a->store, host, port);
}
