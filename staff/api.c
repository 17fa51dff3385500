/*
 * api.c — the staff JSON API (see api.h), on hotlined's event loop.
 *
 *   GET  /api/cases[?status=new|claimed|resolved]   {"cases": [...]}
 *   GET  /api/cases/REF                             the case
 *   POST /api/cases/REF/claim | /resolve            {"ok": true, "message"}
 *   POST /api/cases/REF/note   {"text": "..."}      {"ok": true, "message"}
 *
 * Every request needs `Authorization: Bearer TOKEN`, a staff token of the
 * config (401 otherwise). The case rules are the scripts of cases.c, loaded
 * by the store on connect (GW_SCRIPT_*), so the API and hotlinectl cannot
 * disagree. Replies: 400 bad reference or body, 404 no such case, 405 wrong
 * method, 409 not allowed in the case's state, 503 Redis unreachable.
 * Cases carry the caller's number: the API is for staff, replies are never
 * cached, and log lines name the staff member and the reference only.
 */
#include "api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cases.h"
#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define BODY_MAX 4096

enum api_op { OP_LIST, OP_GET, OP_CLAIM, OP_NOTE, OP_RESOLVE };

struct areq {
    struct gw *gw;
    struct evhttp_request *req;
    struct cfg *cfg;
    enum api_op op;
    struct timeval t0;
    char ref[CASES_REF_MAX];
    char who[64];
    long long now;
};

static long long ms_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static double since(const struct timeval *t0)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_usec - t0->tv_usec) / 1e6;
}

/* The one reply of a request: JSON text, never cached. */
static void send_json(struct gw *gw, struct evhttp_request *req,
                      const struct timeval *t0, int status, const char *json)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (status == 401)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"hotline\"");
    evbuffer_add(evhttp_request_get_output_buffer(req), json, strlen(json));
    evbuffer_add(evhttp_request_get_output_buffer(req), "\n", 1);
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", NULL);
    metrics_request(gw->metrics, "api", status, since(t0));
}

static void send_error(struct gw *gw, struct evhttp_request *req,
                       const struct timeval *t0, int status, const char *why)
{
    json_t *o = json_pack("{s:s}", "error", why);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

    send_json(gw, req, t0, status, s ? s : "{\"error\":\"?\"}");
    free(s);
    json_decref(o);
}

static void areq_done(struct areq *a)
{
    a->gw->inflight--;
    cfg_release(a->cfg);
    free(a);
}

/* ---- replies from Redis --------------------------------------------- */

static void flatten(const redisReply *r, const char **kv, size_t *len,
                    size_t cap, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < r->elements && *n < cap; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        kv[*n] = r->element[i]->str;
        len[(*n)++] = r->element[i]->len;
    }
}

static void on_list(redisReply *r, void *arg)
{
    struct areq *a = arg;
    json_t *list;
    json_t *top;
    char *s;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
        areq_done(a);
        return;
    }
    list = json_array();
    for (size_t i = 0; list && i < r->elements; i++) {
        const char *kv[512];
        size_t len[512], n;
        json_t *o;

        flatten(r->element[i], kv, len, 512, &n);
        o = cases_json_object(kv, len, n);
        if (o)
            json_array_append_new(list, o);
    }
    top = list ? json_pack("{s:o}", "cases", list) : NULL;
    s = top ? json_dumps(top, JSON_COMPACT) : NULL;
    json_decref(top);
    if (s)
        send_json(a->gw, a->req, &a->t0, 200, s);
    else
        send_error(a->gw, a->req, &a->t0, 500, "out of memory");
    free(s);
    areq_done(a);
}

static void on_get(redisReply *r, void *arg)
{
    struct areq *a = arg;
    const char *kv[512];
    size_t len[512], n;
    char *s;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
    } else if (r->elements == 0) {
        send_error(a->gw, a->req, &a->t0, 404, "no such case");
    } else {
        flatten(r, kv, len, 512, &n);
        s = cases_json(kv, len, n);
        if (s)
            send_json(a->gw, a->req, &a->t0, 200, s);
        else
            send_error(a->gw, a->req, &a->t0, 500, "malformed case");
        free(s);
    }
    areq_done(a);
}

/* claim / note / resolve: {code, message, time}. */
static void on_moved(redisReply *r, void *arg)
{
    struct areq *a = arg;
    static const char *const verbs[] = { "", "", "claimed", "noted",
                                         "resolved" };
    long long code, t;
    json_t *o;
    char *s;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[2]->type != REDIS_REPLY_INTEGER) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
        areq_done(a);
        return;
    }
    code = r->element[0]->integer;
    t = r->element[2]->integer;
    if (code == 0) {
        send_error(a->gw, a->req, &a->t0, 404, r->element[1]->str);
    } else if (code < 0) {
        send_error(a->gw, a->req, &a->t0, 409, r->element[1]->str);
    } else {
        if (a->op == OP_CLAIM && t > 0)
            metrics_observe_long(a->gw->metrics, "hotline_case_claim_seconds",
                                 NULL, NULL, (double)(a->now - t) / 1000.0);
        if (a->op == OP_RESOLVE && t > 0)
            metrics_observe_long(a->gw->metrics,
                                 "hotline_case_resolve_seconds", NULL, NULL,
                                 (double)(a->now - t) / 1000.0);
        log_info("api: %s %s case %s", a->who, verbs[a->op], a->ref);
        o = json_pack("{s:b,s:s,s:s}", "ok", 1, "ref", a->ref, "message",
                      r->element[1]->str);
        s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        send_json(a->gw, a->req, &a->t0, 200, s ? s : "{\"ok\":true}");
        free(s);
        json_decref(o);
    }
    areq_done(a);
}

/* ---- requests -------------------------------------------------------- */

/* The note's text from a JSON body {"text": "..."}; NULL when malformed. */
static char *note_text(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char body[BODY_MAX + 1];
    json_t *o, *t;
    char *text = NULL;

    if (len == 0 || len > BODY_MAX)
        return NULL;
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    t = json_is_object(o) ? json_object_get(o, "text") : NULL;
    /* jansson checked UTF-8; this refuses NULs, controls and the size. */
    if (json_is_string(t) &&
        strlen(json_string_value(t)) == json_string_length(t) &&
        cases_note_ok(json_string_value(t), json_string_length(t)))
        text = strdup(json_string_value(t));
    json_decref(o);
    return text;
}

/* Sends the Redis call of a's operation. 0 when sent. */
static int start(struct areq *a, const char *status, const char *text)
{
    char key[128], now[24], extra[24], max[16];
    const char *av[5];
    size_t al[5];
    int argc = 0;
    size_t script = GW_SCRIPT_CLAIM;

    snprintf(key, sizeof key, "%scase:%s", a->cfg->prefix, a->ref);
    snprintf(now, sizeof now, "%lld", a->now);
    if (a->op == OP_LIST) {
        snprintf(max, sizeof max, "%d", CASES_LIST_MAX);
        av[0] = a->cfg->prefix;
        av[1] = status ? status : "";
        av[2] = max;
        for (int i = 0; i < 3; i++)
            al[i] = strlen(av[i]);
        return store_eval(a->gw->store, GW_SCRIPT_LIST, on_list, a, 0, 3, av,
                          al);
    }
    if (a->op == OP_GET) {
        av[0] = "HGETALL";
        av[1] = key;
        al[0] = 7;
        al[1] = strlen(key);
        return store_cmd(a->gw->store, on_get, a, 2, av, al);
    }
    av[argc++] = key;
    av[argc++] = a->who;
    av[argc++] = now;
    if (a->op == OP_NOTE) {
        script = GW_SCRIPT_NOTE;
        av[argc++] = text;
    } else if (a->op == OP_RESOLVE) {
        script = GW_SCRIPT_RESOLVE;
        snprintf(extra, sizeof extra, "%d", a->cfg->case_retention_s);
        av[argc++] = extra;
    }
    for (int i = 0; i < argc; i++)
        al[i] = strlen(av[i]);
    return store_eval(a->gw->store, script, on_moved, a, 1, argc, av, al);
}

/* The staff member a Bearer token names, or NULL. */
static const struct cfg_staff *staff_of(const struct cfg *c,
                                        struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "Authorization");

    if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7])
        return NULL;
    return cfg_staff_by_token(c, h + 7);
}

/* Parses path (after "/api/cases") into op and ref; returns 0, or the HTTP
 * status of a refusal with *why set. */
static int route(const char *rest, enum evhttp_cmd_type m, struct areq *a,
                 const char **why)
{
    const char *slash;
    size_t n;

    if (!*rest) {
        a->op = OP_LIST;
        *why = "use GET";
        return m == EVHTTP_REQ_GET ? 0 : 405;
    }
    if (*rest != '/') {
        *why = "no such endpoint";
        return 404;
    }
    rest++;
    slash = strchr(rest, '/');
    n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n >= sizeof a->ref) {
        *why = "not a case reference";
        return 400;
    }
    memcpy(a->ref, rest, n);
    a->ref[n] = '\0';
    if (!cases_ref_ok(a->ref)) {
        *why = "not a case reference";
        return 400;
    }
    if (!slash) {
        a->op = OP_GET;
        *why = "use GET";
        return m == EVHTTP_REQ_GET ? 0 : 405;
    }
    if (strcmp(slash, "/claim") == 0)
        a->op = OP_CLAIM;
    else if (strcmp(slash, "/note") == 0)
        a->op = OP_NOTE;
    else if (strcmp(slash, "/resolve") == 0)
        a->op = OP_RESOLVE;
    else {
        *why = "no such endpoint";
        return 404;
    }
    *why = "use POST";
    return m == EVHTTP_REQ_POST ? 0 : 405;
}

int api_handle(struct gw *gw, struct evhttp_request *req, const char *path)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const struct cfg_staff *staff;
    struct evkeyvalq q;
    struct areq *a;
    const char *why = "";
    const char *status = NULL;
    char *text = NULL;
    int st;

    if (strncmp(path, "/api/", 5) != 0)
        return 0;
    a = calloc(1, sizeof *a);
    if (!a) {
        evhttp_send_error(req, 503, "out of memory");
        return 1;
    }
    gettimeofday(&a->t0, NULL);
    a->gw = gw;
    a->req = req;
    a->now = ms_now();
    staff = staff_of(gw->cfg, req);
    if (!staff) {
        send_error(gw, req, &a->t0, 401, "a staff token is needed");
        free(a);
        return 1;
    }
    snprintf(a->who, sizeof a->who, "%s", staff->name);
    st = strncmp(path, "/api/cases", 10) == 0 ?
             route(path + 10, evhttp_request_get_command(req), a, &why) : 404;
    if (st == 404 && !why[0])
        why = "no such endpoint";
    if (st == 0 && a->op == OP_NOTE) {
        text = note_text(req);
        if (!text) {
            st = 400;
            why = "body must be JSON {\"text\": \"...\"}: 1 to 2000 bytes"
                  " of text without control characters";
        }
    }
    if (st == 0 && gw->draining) {
        st = 503;
        why = "shutting down";
    }
    TAILQ_INIT(&q);
    if (st == 0 && a->op == OP_LIST && uri && evhttp_uri_get_query(uri) &&
        evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) == 0)
        status = evhttp_find_header(&q, "status");
    if (st == 0 && !cases_status_ok(status)) {
        st = 400;
        why = "status is new, claimed or resolved";
    }
    if (st) {
        send_error(gw, req, &a->t0, st, why);
        evhttp_clear_headers(&q);
        free(text);
        free(a);
        return 1;
    }
    a->cfg = cfg_retain(gw->cfg);
    gw->inflight++;
    if (start(a, status, text) != 0) {
        send_error(gw, req, &a->t0, 503, "Redis unreachable");
        areq_done(a);
    }
    evhttp_clear_headers(&q);
    free(text);
    return 1;
}
