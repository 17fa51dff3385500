/*
 * sms_out.c — one SMS through a provider's API (see sms_out.h).
 *
 * Each provider is a row of `providers[]`: a builder that turns (config,
 * number, text) into one HTTP request, and a classifier that turns the
 * answer into ok / temporary / permanent. sms_out_send() is the one generic
 * path around them: build, hc_send, classify in the callback. Values are
 * percent-encoded (everything but RFC 3986 unreserved characters), which
 * both form bodies and query strings accept.
 *
 * Wire facts (PROTOCOLS.md):
 *   africastalking  POST {base}/version1/messaging, apiKey header, form
 *                   username,to,message[,from]; 201 + JSON
 *                   SMSMessageData.Recipients[0].statusCode 100..102 = sent.
 *   kannel          GET {base}/cgi-bin/sendsms?username,password,from,to,
 *                   text,charset=UTF-8,coding=2; 202 = accepted or queued.
 *   twilio          POST {base}/2010-04-01/Accounts/{SID}/Messages.json,
 *                   basic auth SID:token, form To,From,Body; 201 = queued.
 */
#include "sms_out.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "http_client.h"

#define SMS_REASON_MAX 96
#define SMS_MAX_HEADERS 4

/* A growing NUL-terminated string; err sticks after a failed allocation. */
struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    int err;
};

/* One request as a builder leaves it; url and body are owned (freed by
 * req_clear), every other pointer borrows from the config or literals. */
struct sms_req {
    const char *method;
    struct sbuf url;
    struct sbuf body;
    struct sbuf apikey;          /* AT's "apiKey: …" header line */
    const char *headers[SMS_MAX_HEADERS];
    size_t nheaders;
    const char *username;
    const char *password;
};

typedef int (*sms_build_fn)(const struct cfg_sms_out *o, const char *to,
                            const char *text, struct sms_req *rq);
typedef enum sms_out_result (*sms_classify_fn)(const struct hc_response *res,
                                               char *reason, size_t len);

struct sms_provider {
    const char *name;
    sms_build_fn build;
    sms_classify_fn classify;
};

/* One send in flight; freed after the user's callback. */
struct sms_job {
    const struct sms_provider *prov;
    sms_out_cb cb;
    void *arg;
};

static const char form_type[] =
    "Content-Type: application/x-www-form-urlencoded";
static const char accept_json[] = "Accept: application/json";

const char *sms_out_result_str(enum sms_out_result r)
{
    switch (r) {
    case SMS_OUT_OK:
        return "ok";
    case SMS_OUT_TEMPORARY:
        return "temporary";
    case SMS_OUT_PERMANENT:
        return "permanent";
    }
    return "?";
}

/* ---- string building ------------------------------------------------------ */

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
    char *p;
    size_t cap;

    if (b->err)
        return;
    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->err = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

/* Appends s percent-encoded: only A-Z a-z 0-9 - . _ ~ stay as they are. */
static void sb_add_enc(struct sbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    char e[3];

    for (; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
            *p == '_' || *p == '~') {
            sb_addn(b, (const char *)p, 1);
        } else {
            e[0] = '%';
            e[1] = hex[*p >> 4];
            e[2] = hex[*p & 15];
            sb_addn(b, e, 3);
        }
    }
}

/* Appends "name=value" (value encoded), preceded by sep unless b is empty
 * or sep is NUL. A NULL value adds nothing (optional fields). */
static void sb_field(struct sbuf *b, char sep, const char *name,
                     const char *value)
{
    if (!value)
        return;
    if (b->len > 0 && sep)
        sb_addn(b, &sep, 1);
    sb_add(b, name);
    sb_addn(b, "=", 1);
    sb_add_enc(b, value);
}

/* Appends the base URL without its trailing slashes. */
static void sb_base(struct sbuf *b, const char *base)
{
    size_t n = strlen(base);

    while (n > 0 && base[n - 1] == '/')
        n--;
    sb_addn(b, base, n);
}

static void req_clear(struct sms_req *rq)
{
    free(rq->url.p);
    free(rq->body.p);
    free(rq->apikey.p);
}

static int req_failed(const struct sms_req *rq)
{
    return rq->url.err || rq->body.err || rq->apikey.err;
}

/* ---- providers ------------------------------------------------------------ */

static int at_build(const struct cfg_sms_out *o, const char *to,
                    const char *text, struct sms_req *rq)
{
    if (!o->username || !o->password)
        return -1;
    rq->method = "POST";
    sb_base(&rq->url, o->base_url);
    sb_add(&rq->url, "/version1/messaging");
    sb_field(&rq->body, '&', "username", o->username);
    sb_field(&rq->body, '&', "to", to);
    sb_field(&rq->body, '&', "message", text);
    sb_field(&rq->body, '&', "from", o->from);
    sb_add(&rq->apikey, "apiKey: ");
    sb_add(&rq->apikey, o->password);
    rq->headers[rq->nheaders++] = rq->apikey.p;
    rq->headers[rq->nheaders++] = accept_json;
    rq->headers[rq->nheaders++] = form_type;
    return 0;
}

/* 201 and Recipients[0].statusCode 100..102 (Processed, Sent, Queued).
 * A 201 we cannot read is permanent: the message may have gone out, and a
 * retry could send it twice. Per-recipient 500/501 (AT's internal or
 * gateway error) are worth a retry; every other code is permanent. */
static enum sms_out_result at_classify(const struct hc_response *res,
                                       char *reason, size_t len)
{
    json_t *root;
    json_t *rcpt;
    json_t *code;
    long long sc;

    if (res->status != 201)
        return res->status >= 500 ? SMS_OUT_TEMPORARY : SMS_OUT_PERMANENT;
    root = json_loadb(res->body, res->body_len, 0, NULL);
    rcpt = json_array_get(json_object_get(json_object_get(root,
                                                          "SMSMessageData"),
                                          "Recipients"), 0);
    code = json_object_get(rcpt, "statusCode");
    if (!json_is_integer(code)) {
        snprintf(reason, len, "http 201, %s",
                 root ? "no recipient status" : "unreadable JSON");
        json_decref(root);
        return SMS_OUT_PERMANENT;
    }
    sc = json_integer_value(code);
    json_decref(root);
    snprintf(reason, len, "http 201, statusCode %lld", sc);
    if (sc >= 100 && sc <= 102)
        return SMS_OUT_OK;
    if (sc == 500 || sc == 501)
        return SMS_OUT_TEMPORARY;
    return SMS_OUT_PERMANENT;
}

static int kannel_build(const struct cfg_sms_out *o, const char *to,
                        const char *text, struct sms_req *rq)
{
    if (!o->username || !o->password)
        return -1;
    rq->method = "GET";
    sb_base(&rq->url, o->base_url);
    sb_add(&rq->url, "/cgi-bin/sendsms?");
    sb_field(&rq->url, '\0', "username", o->username);
    sb_field(&rq->url, '&', "password", o->password);
    sb_field(&rq->url, '&', "from", o->from);
    sb_field(&rq->url, '&', "to", to);
    sb_field(&rq->url, '&', "text", text);
    sb_add(&rq->url, "&charset=UTF-8&coding=2");
    return 0;
}

/* 202 is "0: Accepted for delivery" or "3: Queued for later delivery".
 * 503 is Kannel's "try again"; any 5xx (a proxy in front) is treated so. */
static enum sms_out_result kannel_classify(const struct hc_response *res,
                                           char *reason, size_t len)
{
    (void)reason;
    (void)len;
    if (res->status == 202)
        return SMS_OUT_OK;
    return res->status >= 500 ? SMS_OUT_TEMPORARY : SMS_OUT_PERMANENT;
}

static int twilio_build(const struct cfg_sms_out *o, const char *to,
                        const char *text, struct sms_req *rq)
{
    if (!o->username || !o->password)
        return -1;
    rq->method = "POST";
    sb_base(&rq->url, o->base_url);
    sb_add(&rq->url, "/2010-04-01/Accounts/");
    sb_add_enc(&rq->url, o->username);
    sb_add(&rq->url, "/Messages.json");
    sb_field(&rq->body, '&', "To", to);
    sb_field(&rq->body, '&', "From", o->from);
    sb_field(&rq->body, '&', "Body", text);
    rq->headers[rq->nheaders++] = accept_json;
    rq->headers[rq->nheaders++] = form_type;
    rq->username = o->username;
    rq->password = o->password;
    return 0;
}

/* 201 = queued by Twilio; 429 (rate limit) and 5xx are worth a retry. */
static enum sms_out_result twilio_classify(const struct hc_response *res,
                                           char *reason, size_t len)
{
    (void)reason;
    (void)len;
    if (res->status == 201)
        return SMS_OUT_OK;
    if (res->status == 429 || res->status >= 500)
        return SMS_OUT_TEMPORARY;
    return SMS_OUT_PERMANENT;
}

static const struct sms_provider providers[] = {
    { "africastalking", at_build, at_classify },
    { "kannel", kannel_build, kannel_classify },
    { "twilio", twilio_build, twilio_classify },
};

static const struct sms_provider *provider_find(const char *name)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        if (name && strcmp(providers[i].name, name) == 0)
            return &providers[i];
    }
    return NULL;
}

/* ---- the generic path ----------------------------------------------------- */

/* hc's answer: transport failures are temporary; otherwise the provider
 * decides. Its classifier may write a more precise reason than
 * "http STATUS". */
static void on_response(const struct hc_response *res, void *arg)
{
    struct sms_job *job = arg;
    char reason[SMS_REASON_MAX];
    enum sms_out_result r;

    if (res->status == 0) {
        snprintf(reason, sizeof reason, "transport: %s",
                 res->error ? res->error : "failed");
        r = SMS_OUT_TEMPORARY;
    } else {
        snprintf(reason, sizeof reason, "http %d", res->status);
        r = job->prov->classify(res, reason, sizeof reason);
    }
    job->cb(r, reason, job->arg);
    free(job);
}

int sms_out_send(struct hc *hc, const struct cfg_sms_out *o, const char *to,
                 const char *text, int timeout_ms, sms_out_cb cb, void *arg)
{
    const struct sms_provider *prov;
    struct sms_req rq;
    struct hc_request hr;
    struct sms_job *job = NULL;
    int rc = -1;

    if (!hc || !o || !o->base_url || !to || !text || !cb)
        return -1;
    prov = provider_find(o->provider);
    if (!prov)
        return -1;
    memset(&rq, 0, sizeof rq);
    if (prov->build(o, to, text, &rq) != 0 || req_failed(&rq))
        goto done;
    job = calloc(1, sizeof *job);
    if (!job)
        goto done;
    job->prov = prov;
    job->cb = cb;
    job->arg = arg;
    memset(&hr, 0, sizeof hr);
    hr.method = rq.method;
    hr.url = rq.url.p;
    hr.headers = rq.headers;
    hr.nheaders = rq.nheaders;
    hr.body = rq.body.p;
    hr.body_len = rq.body.len;
    hr.timeout_ms = timeout_ms;
    hr.username = rq.username;
    hr.password = rq.password;
    rc = hc_send(hc, &hr, on_response, job);
done:
    if (rc != 0)
        free(job);
    req_clear(&rq);
    return rc;
}
