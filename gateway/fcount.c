/*
 * fcount.c — the funnel's in-process counts and their flush (fcount.h).
 *
 * The table is an array scanned by a 32-bit FNV-1a hash of key and field
 * (a few hundred entries at most: cheaper than a string compare each); an
 * entry leaves it by swapping with the last. The batch out is a copy of up
 * to FCOUNT_BATCH entries with its token; it stays until Redis answers it.
 */
#include "fcount.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "store.h"

#define FC_KEY_MAX 256
#define FC_FIELD_MAX 128
#define FC_TOKEN_TTL "3600"

struct fc_ent {
    uint32_t h;
    long long n;
    char key[FC_KEY_MAX];
    char field[FC_FIELD_MAX];
};

struct fcount {
    struct store *store;
    struct metrics *metrics;
    struct event *timer;
    char prefix[64];
    char rnd[33];               /* this process's token part */
    unsigned long long seq;
    struct fc_ent ents[FCOUNT_CAP];
    int nents;
    struct fc_ent batch[FCOUNT_BATCH];
    int nbatch;                 /* 0: no batch out */
    int sent;                   /* the batch awaits a reply */
    char token[FC_KEY_MAX];
};

/* KEYS[1] the batch's token, KEYS[2..] funnel hashes; ARGV field, count
 * pairs, one per hash key. Returns 1 applied now, 0 applied before. */
static const char fc_script[] =
    "if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', " FC_TOKEN_TTL ")"
    " then return 0 end\n"
    "for i = 2, #KEYS do\n"
    "  redis.call('HINCRBY', KEYS[i], ARGV[2 * i - 3], ARGV[2 * i - 2])\n"
    "end\n"
    "return 1\n";

static uint32_t fc_hash(const char *key, const char *field)
{
    uint32_t h = 2166136261u;

    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '|') * 16777619u;
    for (const char *p = field; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

static void on_tick(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    fcount_flush(arg);
}

struct fcount *fcount_new(struct event_base *base, struct store *store,
                          struct metrics *metrics, const char *prefix)
{
    struct fcount *f = calloc(1, sizeof *f);
    struct timeval second = { 1, 0 };
    unsigned char b[16];

    if (!f)
        return NULL;
    f->store = store;
    f->metrics = metrics;
    snprintf(f->prefix, sizeof f->prefix, "%s", prefix ? prefix : "");
    if (RAND_bytes(b, (int)sizeof b) != 1) {
        free(f);
        return NULL;
    }
    for (size_t i = 0; i < sizeof b; i++)
        snprintf(f->rnd + 2 * i, 3, "%02x", b[i]);
    f->timer = event_new(base, -1, EV_PERSIST, on_tick, f);
    if (!f->timer || event_add(f->timer, &second) != 0) {
        if (f->timer)
            event_free(f->timer);
        free(f);
        return NULL;
    }
    return f;
}

static void fc_drop(struct fcount *f)
{
    metrics_add(f->metrics, "hotline_funnel_dropped_total", NULL, NULL, 1);
}

int fcount_add(struct fcount *f, const char *key, const char *field)
{
    uint32_t h;
    struct fc_ent *e;

    if (!f)
        return -1;
    if (strlen(key) >= FC_KEY_MAX || strlen(field) >= FC_FIELD_MAX) {
        fc_drop(f);
        return -1;
    }
    h = fc_hash(key, field);
    for (int i = 0; i < f->nents; i++) {
        e = &f->ents[i];
        if (e->h == h && strcmp(e->field, field) == 0 &&
            strcmp(e->key, key) == 0) {
            e->n++;
            return 0;
        }
    }
    if (f->nents == FCOUNT_CAP)
        fcount_flush(f);        /* makes room unless a batch is out */
    if (f->nents == FCOUNT_CAP) {
        fc_drop(f);
        return -1;
    }
    e = &f->ents[f->nents++];
    e->h = h;
    e->n = 1;
    memcpy(e->key, key, strlen(key) + 1);
    memcpy(e->field, field, strlen(field) + 1);
    return 0;
}

static void fc_send(struct fcount *f);

static void on_flushed(struct redisReply *reply, void *arg)
{
    struct fcount *f = arg;

    f->sent = 0;
    if (!reply || reply->type != REDIS_REPLY_INTEGER)
        return;                 /* kept: sent again, same token, later */
    f->nbatch = 0;
    if (f->nents >= FCOUNT_BATCH)
        fcount_flush(f);        /* a full table drains batch by batch */
}

/* Takes up to FCOUNT_BATCH entries out of the table into a new batch. */
static void fc_take(struct fcount *f)
{
    int k = f->nents < FCOUNT_BATCH ? f->nents : FCOUNT_BATCH;

    for (int i = 0; i < k; i++)
        f->batch[i] = f->ents[--f->nents];
    f->nbatch = k;
    snprintf(f->token, sizeof f->token, "%sfc:%s:%llu", f->prefix, f->rnd,
             ++f->seq);
}

static void fc_send(struct fcount *f)
{
    const char *av[3 + 1 + 3 * FCOUNT_BATCH];
    size_t al[3 + 1 + 3 * FCOUNT_BATCH];
    char nk[16], num[FCOUNT_BATCH][24];
    int n = 0, k = f->nbatch;

    av[n++] = "EVAL";
    av[n++] = fc_script;
    snprintf(nk, sizeof nk, "%d", k + 1);
    av[n++] = nk;
    av[n++] = f->token;
    for (int i = 0; i < k; i++)
        av[n++] = f->batch[i].key;
    for (int i = 0; i < k; i++) {
        snprintf(num[i], sizeof num[i], "%lld", f->batch[i].n);
        av[n++] = f->batch[i].field;
        av[n++] = num[i];
    }
    for (int i = 0; i < n; i++)
        al[i] = strlen(av[i]);
    if (store_cmd(f->store, on_flushed, f, n, av, al) == 0)
        f->sent = 1;
}

void fcount_flush(struct fcount *f)
{
    if (!f || f->sent)
        return;
    if (f->nbatch == 0 && f->nents > 0)
        fc_take(f);
    if (f->nbatch > 0)
        fc_send(f);
}

long long fcount_pending(const struct fcount *f)
{
    long long n = 0;

    if (!f)
        return 0;
    for (int i = 0; i < f->nents; i++)
        n += f->ents[i].n;
    for (int i = 0; i < f->nbatch; i++)
        n += f->batch[i].n;
    return n;
}

void fcount_free(struct fcount *f)
{
    if (!f)
        return;
    if (f->timer)
        event_free(f->timer);
    free(f);
}
