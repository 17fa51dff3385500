/*
 * metrics.c — a small fixed table of series; see metrics.h. Help texts for
 * the names hotlined uses are in `helps` so /metrics documents itself.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_MAX_SERIES 256
#define METRICS_NAME_MAX 64
#define METRICS_LABEL_MAX 96

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
    size_t n;
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
    { "hotline_alerts_erased_total", "counter", "help requests erased (cases erase) before their alerts went out" },
    { "hotline_alerts_inflight", "gauge", "alert deliveries under way" },
    { "hotline_sms_replies_total", "counter", "SMS replies sent through a provider API, by outcome" },
    { "hotline_case_claim_seconds", "histogram", "time from a help request to its claim by staff" },
    { "hotline_case_resolve_seconds", "histogram", "time from a claim to the case's resolution" },
};

struct metrics *metrics_new(void)
{
    return calloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
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

static struct series *find(struct metrics *m, enum kind k, const char *name,
                           const char *labels)
{
    struct series *s;

    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->s[i].name, name) == 0 &&
            strcmp(m->s[i].labels, labels) == 0)
            return &m->s[i];
    }
    if (m->n == METRICS_MAX_SERIES)
        return NULL;
    s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    s->kind = k;
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->labels, sizeof s->labels, "%s", labels);
    return s;
}

static void make_labels(char *out, size_t outsz, const char *ln,
                        const char *lv)
{
    char v[64];

    out[0] = '\0';
    if (!ln || !lv)
        return;
    label_value(v, sizeof v, lv);
    snprintf(out, outsz, "%s=\"%s\"", ln, v);
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
        s->value += v;
}

void metrics_set(struct metrics *m, const char *name, double v)
{
    struct series *s = m ? find(m, K_GAUGE, name, "") : NULL;

    if (s)
        s->value = v;
}

/* Adds one observation to histogram s (NULL: the table is full). */
static void observe(struct series *s, const double *bk, size_t nbk,
                    double v)
{
    if (!s)
        return;
    s->bk = bk;
    s->nbk = nbk;
    s->value += v;
    s->count++;
    for (size_t i = 0; i < nbk; i++) {
        if (v <= bk[i])
            s->bucket[i]++;
    }
}

void metrics_request(struct metrics *m, const char *channel, int status,
                     double seconds)
{
    char labels[METRICS_LABEL_MAX];
    char ch[64];
    struct series *s;

    if (!m)
        return;
    label_value(ch, sizeof ch, channel);
    snprintf(labels, sizeof labels, "channel=\"%s\",status=\"%d\"", ch,
             status);
    s = find(m, K_COUNTER, "hotline_requests_total", labels);
    if (s)
        s->value += 1;
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

char *metrics_render(const struct metrics *m)
{
    struct out o = { malloc(4096), 0, 4096 };
    char done[METRICS_MAX_SERIES] = { 0 };

    if (!o.buf)
        return NULL;
    o.buf[0] = '\0';
    /* Group series by name, each group headed by HELP and TYPE. */
    for (size_t i = 0; i < m->n; i++) {
        if (done[i])
            continue;
        for (size_t h = 0; h < sizeof helps / sizeof helps[0]; h++) {
            if (strcmp(helps[h].name, m->s[i].name) == 0) {
                put(&o, "# HELP %s %s\n# TYPE %s %s\n", helps[h].name,
                    helps[h].help, helps[h].name, helps[h].type);
                break;
            }
        }
        for (size_t j = i; j < m->n; j++) {
            if (!done[j] && strcmp(m->s[j].name, m->s[i].name) == 0) {
                render_series(&o, &m->s[j]);
                done[j] = 1;
            }
        }
    }
    return o.buf;
}
