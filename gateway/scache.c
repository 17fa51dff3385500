/*
 * scache.c — the bounded cache of recent session states (scache.h).
 *
 * cap slots, allocated once, in sets of SCACHE_WAYS; a key's set is its
 * FNV-1a hash modulo the number of sets. A slot holds the key, the version,
 * the pinned menu version and the fields packed one after another. Use
 * stamps (a counter) pick the victim within a full set. A slot's use stamp
 * and expiry are kept apart from it, in one dense array (struct meta), so
 * that the sweep each request runs reads a cache line for four slots
 * instead of one per slot.
 */
#include "scache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCACHE_WAYS 4

struct meta {
    unsigned long long used;    /* 0 = empty, else last use stamp */
    long long exp;
};

struct slot {
    long long mv;
    unsigned short klen, vlen;
    unsigned short flen[SCACHE_NFIELDS];
    char key[SCACHE_KEY_MAX];
    char ver[SCACHE_VER_MAX];
    char data[SCACHE_DATA_MAX];
};

struct scache {
    struct slot *slots;
    struct meta *meta;          /* of slots[i]: meta[i] */
    size_t cap, nsets, entries;
    size_t hand;                /* the sweep's next slot */
    unsigned long long tick;
    unsigned long long hits, misses, evictions, conflicts;
};

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

struct scache *scache_new(size_t cap)
{
    struct scache *c;
    size_t n = SCACHE_WAYS;

    if (cap == 0)
        return NULL;
    while (n < cap && n < ((size_t)1 << 24))
        n <<= 1;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slots = calloc(n, sizeof *c->slots);
    c->meta = calloc(n, sizeof *c->meta);
    if (!c->slots || !c->meta) {
        free(c->slots);
        free(c->meta);
        free(c);
        return NULL;
    }
    c->cap = n;
    c->nsets = n / SCACHE_WAYS;
    return c;
}

void scache_free(struct scache *c)
{
    if (!c)
        return;
    free(c->slots);
    free(c->meta);
    free(c);
}

/* The index of key's slot, or -1; *set = the index of its set's first. */
static long find(struct scache *c, const char *key, size_t klen, size_t *set)
{
    size_t b = (fnv1a(key, klen) % c->nsets) * SCACHE_WAYS;

    *set = b;
    for (size_t i = b; i < b + SCACHE_WAYS; i++)
        if (c->meta[i].used && c->slots[i].klen == klen &&
            memcmp(c->slots[i].key, key, klen) == 0)
            return (long)i;
    return -1;
}

int scache_get(struct scache *c, const char *key, struct scache_val *out)
{
    struct slot *s;
    size_t set, off = 0;
    long i;

    if (!c)
        return -1;
    i = find(c, key, strlen(key), &set);
    if (i < 0) {
        c->misses++;
        return -1;
    }
    c->hits++;
    s = &c->slots[i];
    c->meta[i].used = ++c->tick;
    out->ver = s->ver;
    out->mv = s->mv;
    out->exp = c->meta[i].exp;
    for (int f = 0; f < SCACHE_NFIELDS; f++) {
        out->f[f] = s->data + off;
        out->flen[f] = s->flen[f];
        off += s->flen[f] + 1;
    }
    return 0;
}

void scache_del(struct scache *c, const char *key)
{
    size_t set;
    long i;

    if (!c)
        return;
    i = find(c, key, strlen(key), &set);
    if (i >= 0) {
        c->meta[i].used = 0;
        c->entries--;
    }
}

/* 1 when v's fields (each with its NUL) fit a slot's data. */
static int fits(const struct scache_val *v)
{
    size_t need = 0;

    if (!v->ver || strlen(v->ver) >= SCACHE_VER_MAX)
        return 0;
    for (int i = 0; i < SCACHE_NFIELDS; i++)
        need += v->flen[i] + 1;
    return need <= SCACHE_DATA_MAX;
}

int scache_put(struct scache *c, const char *key, const struct scache_val *v)
{
    size_t klen = strlen(key), off = 0, set;
    struct slot *s;
    long i;

    if (!c)
        return -1;
    i = find(c, key, klen, &set);
    if (klen >= SCACHE_KEY_MAX || !fits(v)) {
        if (i >= 0) {
            c->meta[i].used = 0;
            c->entries--;
        }
        return -1;
    }
    if (i < 0) {
        i = (long)set;
        for (size_t j = set; j < set + SCACHE_WAYS; j++) {
            if (!c->meta[j].used) {
                i = (long)j;
                break;
            }
            if (c->meta[j].used < c->meta[i].used)
                i = (long)j;
        }
        if (c->meta[i].used)
            c->evictions++;
        else
            c->entries++;
        memcpy(c->slots[i].key, key, klen + 1);
        c->slots[i].klen = (unsigned short)klen;
    }
    s = &c->slots[i];
    c->meta[i].used = ++c->tick;
    c->meta[i].exp = v->exp;
    s->mv = v->mv;
    s->vlen = (unsigned short)strlen(v->ver);
    memcpy(s->ver, v->ver, s->vlen + 1u);
    for (int f = 0; f < SCACHE_NFIELDS; f++) {
        if (v->flen[f])
            memcpy(s->data + off, v->f[f], v->flen[f]);
        s->data[off + v->flen[f]] = '\0';
        s->flen[f] = (unsigned short)v->flen[f];
        off += v->flen[f] + 1;
    }
    return 0;
}

void scache_sweep(struct scache *c, long long now, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++) {
        struct meta *m = &c->meta[c->hand];

        c->hand = (c->hand + 1) & (c->cap - 1);   /* cap: a power of 2 */
        if (m->used && m->exp < now) {
            m->used = 0;
            c->entries--;
        }
    }
}

void scache_conflict(struct scache *c)
{
    if (c)
        c->conflicts++;
}

void scache_stats(const struct scache *c, struct scache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->cap = c->cap;
    out->entries = c->entries;
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    out->conflicts = c->conflicts;
}
