/*
 * metrics.c — a small fixed table of series; see metrics.h. Help texts for
 * the names hotlined uses are in `helps` so /metrics documents itself.
 *
 * With workers (metrics_shm_new), every worker's table is a slot of one
 * MAP_SHARED mapping made before the fork. Each slot has one writer, its
 * worker, and any worker reads them all when it renders: a series is
 * written whole before the slot's count is published (release/acquire),
 * and every value is stored and loaded whole (relaxed atomics), so a reader
 * never sees a half-made series and a worker killed mid-update leaves its
 * slot consistent for the worker restarted into it (its counters go on from
 * where they were: no reset seen by Prometheus).
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define METRICS_MAX_SERIES 256
#define METRICS_NAME_MAX 64
#define METRICS_LABEL_MAX 96
#define METRICS_INDEX 512       /* hash slots: a power of 2, > 2 x series */

static const double buckets[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                  0.05, 0.1, 0.25, 0.5, 1, 2.5 };
/* Staff response times: a minute to three days. */
static const double buckets_long[] = { 60, 300, 900, 1800, 3600, 7200, 14400,
                                       43200, 86400, 259200, 0, 0 };
#define NBUCKETS (sizeof buckets / sizeof buckets[0])
#define NBUCKETS_LONG 10

enum kind { K_COUNTER, K_GAUGE, K_HIST };

struct series {
    enum kind kind;
    char name[METRICS_NAME_MAX];
    char labels[METRICS_LABEL_MAX];     /* rendered: a="b",c="d" or "" */
    double value;                       /* counter/gauge; hist: sum */
    unsigned long long count;           /* hist */
    unsigned long long bucket[NBUCKETS];
    const double *bk;                   /* hist: bucket bounds */
    size_t nbk;
};

struct metrics {
    struct series s[METRICS_MAX_SERIES];
    size_t n;                           /* published with release */
    /* The writer's own index: series + 1 by hash of name and labels (0:
     * empty), so an update finds its series without comparing names with
     * every series. Read by no other process. */
    unsigned short idx[METRICS_INDEX];
    struct metrics_shm *shm;            /* NULL: a private table */
    int slot;                           /* this worker's slot in shm */
};

struct metrics_worker {
    int pid;                            /* 0: none yet */
    int up;
    unsigned long long restarts;
};

struct metrics_shm {
    size_t size;                        /* of the mapping */
    int nslots;
    struct metrics_worker w[METRICS_MAX_WORKERS];
    struct metrics slot[];
};

/* How a gauge of several workers is summed up into one value. */
enum agg { AGG_SUM, AGG_MIN, AGG_MAX, AGG_SELF };

static const struct { const char *name; enum agg agg; } gauge_aggs[] = {
    { "hotline_redis_up", AGG_MIN },            /* 1 only if all are up */
    { "hotline_redis_oom", AGG_MAX },
    { "hotline_spool_depth", AGG_SELF },        /* counted from the files */
    { "hotline_menus_loaded", AGG_SELF },       /* the same config */
};

static const struct { const char *name, *type, *help; } helps[] = {
    { "hotline_requests_total", "counter", "HTTP requests by channel and status" },
    { "hotline_request_seconds", "histogram", "time to answer a request" },
    { "hotline_sessions_total", "counter", "sessions started by channel" },
    { "hotline_forwards_total", "counter", "help requests filed by queue" },
    { "hotline_spooled_total", "counter", "help requests written to the local spool" },
    { "hotline_spool_depth", "gauge", "help requests waiting in the local spool" },
    { "hotline_filings_unreplicated_total", "counter", "help requests no redis.wait_replicas replicas confirmed in time (kept in the spool)" },
    { "hotline_redis_errors_total", "gauge", "Redis errors, timeouts and disconnects" },
    { "hotline_redis_up", "gauge", "1 when Redis is connected and ready" },
    { "hotline_fallbacks_total", "counter", "screens answered without Redis" },
    { "hotline_limited_total", "counter", "requests held back by an abuse limit" },
    { "hotline_inflight", "gauge", "requests being answered" },
    { "hotline_menus_loaded", "gauge", "menus loaded" },
    { "hotline_alerts_sent_total", "counter", "alerts delivered to staff, by type" },
    { "hotline_alerts_failed_total", "counter", "alert deliveries that failed (retried), by type" },
    { "hotline_alerts_acked_total", "counter", "help requests whose every alert was delivered" },
    { "hotline_alerts_dead_total", "counter", "help requests moved to the dead-letter stream" },
    { "hotline_alerts_retried_total", "counter", "dead letters put back on their queue (supervisor Retry, hotlinectl alerts retry)" },
    { "hotline_alerts_erased_total", "counter", "help requests erased (cases erase) before their alerts went out" },
    { "hotline_alerts_inflight", "gauge", "alert deliveries under way" },
    { "hotline_sms_replies_total", "counter", "SMS replies sent through a provider API, by outcome" },
    { "hotline_case_claim_seconds", "histogram", "time from a help request to its claim by staff" },
    { "hotline_case_resolve_seconds", "histogram", "time from a claim to the case's resolution" },
};

/* Single-writer updates, read whole by other processes. */
static double ld_d(const double *p)
{
    double v;

    __atomic_load(p, &v, __ATOMIC_RELAXED);
    return v;
}

static void st_d(double *p, double v)
{
    __atomic_store(p, &v, __ATOMIC_RELAXED);
}

static unsigned long long ld_u(const unsigned long long *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void inc_u(unsigned long long *p)
{
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1,
                     __ATOMIC_RELAXED);
}

struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    if (m && !m->shm)
        free(m);
}

struct metrics_shm *metrics_shm_new(int nworkers)
{
    struct metrics_shm *shm;
    size_t size;

    if (nworkers < 1 || nworkers > METRICS_MAX_WORKERS)
        return NULL;
    size = sizeof *shm + (size_t)nworkers * sizeof(struct metrics);
    shm = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
               -1, 0);
    if (shm == MAP_FAILED)
        return NULL;
    shm->size = size;
    shm->nslots = nworkers;
    for (int i = 0; i < nworkers; i++) {
        shm->slot[i].shm = shm;
        shm->slot[i].slot = i;
    }
    return shm;
}

void metrics_shm_free(struct metrics_shm *shm)
{
    if (shm)
        munmap(shm, shm->size);
}

struct metrics *metrics_shm_slot(struct metrics_shm *shm, int i)
{
    return shm && i >= 0 && i < shm->nslots ? &shm->slot[i] : NULL;
}

void metrics_shm_worker(struct metrics_shm *shm, int i, int pid, int up,
                        int restarted)
{
    struct metrics_worker *w;

    if (!shm || i < 0 || i >= shm->nslots)
        return;
    w = &shm->w[i];
    __atomic_store_n(&w->pid, pid, __ATOMIC_RELAXED);
    __atomic_store_n(&w->up, up, __ATOMIC_RELAXED);
    if (restarted)
        inc_u(&w->restarts);
}

void metrics_gauges_reset(struct metrics *m)
{
    for (size_t i = 0; m && i < m->n; i++) {
        if (m->s[i].kind == K_GAUGE)
            st_d(&m->s[i].value, 0);
    }
}

int metrics_shared(const struct metrics *m)
{
    return m && m->shm;
}

/* Copies a label value, dropping characters the text format would need to
 * escape (config names never contain them). */
static void label_value(char *out, size_t outsz, const char *v)
{
    size_t j = 0;

    for (size_t i = 0; v[i] && j + 1 < outsz; i++) {
        if (v[i] != '"' && v[i] != '\\' && v[i] != '\n')
            out[j++] = v[i];
    }
    out[j] = '\0';
}

/* FNV-1a of name, a NUL, labels. */
static unsigned hash2(const char *name, const char *labels)
{
    unsigned h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    h *= 16777619u;
    for (const unsigned char *p = (const unsigned char *)labels; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static int same(const struct series *s, const char *name, const char *labels)
{
    return strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0;
}

/* The series name{labels} of m, made (zero) if new; NULL when the table is
 * full. Found through m->idx; a series missing from the index (a slot
 * inherited from a worker killed between publishing a series and indexing
 * it) is found by a scan and indexed then. */
static struct series *find(struct metrics *m, enum kind k, const char *name,
                           const char *labels)
{
    unsigned h = hash2(name, labels) & (METRICS_INDEX - 1);
    struct series *s;
    size_t i;

    while (m->idx[h]) {
        s = &m->s[m->idx[h] - 1];
        if (same(s, name, labels))
            return s;
        h = (h + 1) & (METRICS_INDEX - 1);
    }
    for (i = 0; i < m->n && !same(&m->s[i], name, labels); i++)
        ;
    if (i == m->n) {
        if (m->n == METRICS_MAX_SERIES)
            return NULL;
        s = &m->s[m->n];
        memset(s, 0, sizeof *s);
        s->kind = k;
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->labels, sizeof s->labels, "%s", labels);
        __atomic_store_n(&m->n, m->n + 1, __ATOMIC_RELEASE);
    }
    m->idx[h] = (unsigned short)(i + 1);
    return &m->s[i];
}

/* Appends s to out (of outsz, *len used so far), truncating. */
static void cat(char *out, size_t outsz, size_t *len, const char *s)
{
    while (*s && *len + 1 < outsz)
        out[(*len)++] = *s++;
    out[*len] = '\0';
}

static void make_labels(char *out, size_t outsz, const char *ln,
                        const char *lv)
{
    char v[64];

    out[0] = '\0';
    if (!ln || !lv)
        return;
    label_value(v, sizeof v, lv);
    {
        size_t len = 0;

        cat(out, outsz, &len, ln);
        cat(out, outsz, &len, "=\"");
        cat(out, outsz, &len, v);
        cat(out, outsz, &len, "\"");
    }
}

void metrics_add(struct metrics *m, const char *name, const char *label_name,
                 const char *label, double v)
{
    char labels[METRICS_LABEL_MAX];
    struct series *s;

    if (!m)
        return;
    make_labels(labels, sizeof labels, label_name, label);
    s = find(m, K_COUNTER, name, labels);
    if (s)
        st_d(&s->value, s->value + v);
}

void metrics_set(struct metrics *m, const char *name, double v)
{
    struct series *s = m ? find(m, K_GAUGE, name, "") : NULL;

    if (s)
        st_d(&s->value, v);
}

/* Adds one observation to histogram s (NULL: the table is full). */
static void observe(struct series *s, const double *bk, size_t nbk,
                    double v)
{
    if (!s)
        return;
    s->bk = bk;
    s->nbk = nbk;
    /* The count first: a reader never sees a bucket above +Inf. */
    inc_u(&s->count);
    st_d(&s->value, s->value + v);
    for (size_t i = 0; i < nbk; i++) {
        if (v <= bk[i])
            inc_u(&s->bucket[i]);
    }
}

void metrics_request(struct metrics *m, const char *channel, int status,
                     double seconds)
{
    char labels[METRICS_LABEL_MAX];
    char ch[64], st[16];
    struct series *s;
    size_t len = 0;

    if (!m)
        return;
    label_value(ch, sizeof ch, channel);
    {
        unsigned u = status < 0 ? 0u : (unsigned)status;
        size_t j = sizeof st - 1;

        st[j] = '\0';
        do
            st[--j] = (char)('0' + u % 10);
        while ((u /= 10) && j > 0);
        memmove(st, st + j, sizeof st - j);
    }
    cat(labels, sizeof labels, &len, "channel=\"");
    cat(labels, sizeof labels, &len, ch);
    cat(labels, sizeof labels, &len, "\",status=\"");
    cat(labels, sizeof labels, &len, st);
    cat(labels, sizeof labels, &len, "\"");
    s = find(m, K_COUNTER, "hotline_requests_total", labels);
    if (s)
        st_d(&s->value, s->value + 1);
    make_labels(labels, sizeof labels, "channel", channel);
    observe(find(m, K_HIST, "hotline_request_seconds", labels), buckets,
            NBUCKETS, seconds);
}

void metrics_observe_long(struct metrics *m, const char *name,
                          const char *label_name, const char *label,
                          double seconds)
{
    char labels[METRICS_LABEL_MAX];

    if (!m)
        return;
    make_labels(labels, sizeof labels, label_name, label);
    observe(find(m, K_HIST, name, labels), buckets_long, NBUCKETS_LONG,
            seconds);
}

struct out {
    char *buf;
    size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        char *nb = realloc(o->buf, o->cap * 2 + (size_t)n);
        if (!nb)
            return;
        o->buf = nb;
        o->cap = o->cap * 2 + (size_t)n;
    }
}

static void render_series(struct out *o, const struct series *s)
{
    const char *sep = s->labels[0] ? "," : "";
    unsigned long long cum = 0;

    if (s->kind != K_HIST) {
        if (s->labels[0])
            put(o, "%s{%s} %.17g\n", s->name, s->labels, s->value);
        else
            put(o, "%s %.17g\n", s->name, s->value);
        return;
    }
    for (size_t b = 0; b < s->nbk; b++) {
        cum = s->bucket[b];
        put(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", s->name, s->labels, sep,
            s->bk[b], cum);
    }
    put(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", s->name, s->labels, sep,
        s->count);
    if (s->labels[0]) {
        put(o, "%s_sum{%s} %.9f\n", s->name, s->labels, s->value);
        put(o, "%s_count{%s} %llu\n", s->name, s->labels, s->count);
    } else {
        put(o, "%s_sum %.9f\n", s->name, s->value);
        put(o, "%s_count %llu\n", s->name, s->count);
    }
}

/* Renders table m into o, series grouped by name, each group headed by
 * HELP and TYPE. */
static void render_table(struct out *o, const struct metrics *m)
{
    char done[METRICS_MAX_SERIES] = { 0 };

    for (size_t i = 0; i < m->n; i++) {
        if (done[i])
            continue;
        for (size_t h = 0; h < sizeof helps / sizeof helps[0]; h++) {
            if (strcmp(helps[h].name, m->s[i].name) == 0) {
                put(o, "# HELP %s %s\n# TYPE %s %s\n", helps[h].name,
                    helps[h].help, helps[h].name, helps[h].type);
                break;
            }
        }
        for (size_t j = i; j < m->n; j++) {
            if (!done[j] && strcmp(m->s[j].name, m->s[i].name) == 0) {
                render_series(o, &m->s[j]);
                done[j] = 1;
            }
        }
    }
}

static enum agg gauge_agg(const char *name)
{
    for (size_t i = 0; i < sizeof gauge_aggs / sizeof gauge_aggs[0]; i++) {
        if (strcmp(gauge_aggs[i].name, name) == 0)
            return gauge_aggs[i].agg;
    }
    return AGG_SUM;
}

/* Adds series s of worker `slot` (up or not) into the sum table. Counters
 * and histograms of every slot add up (a dead worker's counts stay
 * counted); a gauge counts only while its worker runs, and AGG_SELF ones
 * only from the worker answering (`self`). */
static void merge_series(struct metrics *sum, const struct series *s,
                         int slot, int up, int self)
{
    struct series *t;
    enum agg agg = AGG_SUM;
    double v = ld_d(&s->value);

    if (s->kind == K_GAUGE) {
        agg = gauge_agg(s->name);
        if (!up || (agg == AGG_SELF && slot != self))
            return;
    }
    t = find(sum, s->kind, s->name, s->labels);
    if (!t)
        return;
    if (s->kind == K_HIST) {
        t->bk = s->bk;
        t->nbk = s->nbk;
        t->count += ld_u(&s->count);
        for (size_t b = 0; b < NBUCKETS; b++)
            t->bucket[b] += ld_u(&s->bucket[b]);
    }
    if (s->kind != K_GAUGE || agg == AGG_SUM || agg == AGG_SELF ||
        t->count == 0)
        t->value += v;
    else if (agg == AGG_MIN ? v < t->value : v > t->value)
        t->value = v;
    if (s->kind == K_GAUGE)
        t->count++;                     /* seen: min/max start from it */
}

/* Resident memory of process pid in bytes, from /proc (0 if unknown). */
static double rss_of(int pid)
{
    char path[64];
    unsigned long size = 0, resident = 0;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/statm", pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

/* Requests answered by one slot (its hotline_requests_total series). */
static double slot_requests(const struct metrics *m)
{
    size_t n = __atomic_load_n(&m->n, __ATOMIC_ACQUIRE);
    double v = 0;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(m->s[i].name, "hotline_requests_total") == 0)
            v += ld_d(&m->s[i].value);
    }
    return v;
}

/* The per-worker series: bounded by the worker count (<= 64). */
static void render_workers(struct out *o, const struct metrics_shm *shm)
{
    static const char *const names[][2] = {
        { "hotline_worker_up", "gauge\0" "1 while worker i runs" },
        { "hotline_worker_restarts_total", "counter\0" "times worker i was started again after it died" },
        { "hotline_worker_requests_total", "counter\0" "HTTP requests answered by worker i" },
        { "hotline_worker_rss_bytes", "gauge\0" "resident memory of worker i" },
    };

    put(o, "# HELP hotline_workers worker processes configured\n"
        "# TYPE hotline_workers gauge\nhotline_workers %d\n", shm->nslots);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const char *type = names[k][1];

        put(o, "# HELP %s %s\n# TYPE %s %s\n", names[k][0],
            type + strlen(type) + 1, names[k][0], type);
        for (int i = 0; i < shm->nslots; i++) {
            const struct metrics_worker *w = &shm->w[i];
            int up = __atomic_load_n(&w->up, __ATOMIC_RELAXED);
            int pid = __atomic_load_n(&w->pid, __ATOMIC_RELAXED);
            double v = k == 0 ? up
                     : k == 1 ? (double)ld_u(&w->restarts)
                     : k == 2 ? slot_requests(&shm->slot[i])
                     : up && pid > 0 ? rss_of(pid) : 0;

            put(o, "%s{worker=\"%d\"} %.17g\n", names[k][0], i, v);
        }
    }
}

/* Sums every worker's slot into one table and renders it, then the
 * per-worker series. */
static void render_shared(struct out *o, const struct metrics *m)
{
    const struct metrics_shm *shm = m->shm;
    struct metrics *sum = calloc(1, sizeof *sum);

    if (!sum)
        return;
    for (int i = 0; i < shm->nslots; i++) {
        const struct metrics *w = &shm->slot[i];
        size_t n = __atomic_load_n(&w->n, __ATOMIC_ACQUIRE);
        int up = __atomic_load_n(&shm->w[i].up, __ATOMIC_RELAXED);

        for (size_t j = 0; j < n; j++)
            merge_series(sum, &w->s[j], i, up || i == m->slot, m->slot);
    }
    for (size_t j = 0; j < sum->n; j++) {
        if (sum->s[j].kind == K_GAUGE)
            sum->s[j].count = 0;
    }
    render_table(o, sum);
    free(sum);
    render_workers(o, shm);
}

char *metrics_render(const struct metrics *m)
{
    struct out o = { malloc(4096), 0, 4096 };

    if (!o.buf)
        return NULL;
    o.buf[0] = '\0';
    if (m->shm)
        render_shared(&o, m);
    else
        render_table(&o, m);
    return o.buf;
}
