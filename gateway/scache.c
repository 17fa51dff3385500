/*
 * scache.c — the bounded cache of recent session states (scache.h).
 *
 * cap slots, allocated once, in sets of SCACHE_WAYS; a key's set is its
 * FNV-1a hash modulo the number of sets. A slot holds the key, the version,
 * the pinned menu version and the fields packed one after another. Use
 * stamps (a counter) pick the victim within a full set.
 */
#include "scache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SCACHE_WAYS 4

struct slot {
    unsigned long long used;    /* 0 = empty, else last use stamp */
    long long mv, exp;
    unsigned short klen, vlen;
    unsigned short flen[SCACHE_NFIELDS];
    char key[SCACHE_KEY_MAX];
    char ver[SCACHE_VER_MAX];
    char data[SCACHE_DATA_MAX];
};

struct scache {
    struct slot *slots;
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
    if (!c->slots) {
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
    free(c);
}

/* The slot of key in its set, or NULL; *set = the set's first slot. */
static struct slot *find(struct scache *c, const char *key, size_t klen,
                         struct slot **set)
{
    struct slot *s = c->slots + (fnv1a(key, klen) % c->nsets) * SCACHE_WAYS;

    *set = s;
    for (int i = 0; i < SCACHE_WAYS; i++)
        if (s[i].used && s[i].klen == klen && memcmp(s[i].key, key, klen) == 0)
            return &s[i];
    return NULL;
}

int scache_get(struct scache *c, const char *key, struct scache_val *out)
{
    struct slot *set, *s;
    size_t off = 0;

    if (!c)
        return -1;
    s = find(c, key, strlen(key), &set);
    if (!s) {
        c->misses++;
        return -1;
    }
    c->hits++;
    s->used = ++c->tick;
    out->ver = s->ver;
    out->mv = s->mv;
    out->exp = s->exp;
    for (int i = 0; i < SCACHE_NFIELDS; i++) {
        out->f[i] = s->data + off;
        out->flen[i] = s->flen[i];
        off += s->flen[i] + 1;
    }
    return 0;
}

void scache_del(struct scache *c, const char *key)
{
    struct slot *set, *s;

    if (!c)
        return;
    s = find(c, key, strlen(key), &set);
    if (s) {
        s->used = 0;
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
    size_t klen = strlen(key), off = 0;
    struct slot *set, *s;

    if (!c)
        return -1;
    s = find(c, key, klen, &set);
    if (klen >= SCACHE_KEY_MAX || !fits(v)) {
        if (s) {
            s->used = 0;
            c->entries--;
        }
        return -1;
    }
    if (!s) {
        s = &set[0];
        for (int i = 0; i < SCACHE_WAYS; i++) {
            if (!set[i].used) {
                s = &set[i];
                break;
            }
            if (set[i].used < s->used)
                s = &set[i];
        }
        if (s->used)
            c->evictions++;
        else
            c->entries++;
        memcpy(s->key, key, klen + 1);
        s->klen = (unsigned short)klen;
    }
    s->used = ++c->tick;
    s->mv = v->mv;
    s->exp = v->exp;
    s->vlen = (unsigned short)strlen(v->ver);
    memcpy(s->ver, v->ver, s->vlen + 1u);
    for (int i = 0; i < SCACHE_NFIELDS; i++) {
        if (v->flen[i])
            memcpy(s->data + off, v->f[i], v->flen[i]);
        s->data[off + v->flen[i]] = '\0';
        s->flen[i] = (unsigned short)v->flen[i];
        off += v->flen[i] + 1;
    }
    return 0;
}

void scache_sweep(struct scache *c, long long now, size_t n)
{
    if (!c)
        return;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &c->slots[c->hand];

        c->hand = (c->hand + 1) % c->cap;
        if (s->used && s->exp < now) {
            s->used = 0;
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
