/*
 * api.c — the staff JSON API (see api.h), on hotlined's event loop.
 *
 *   GET  /api/cases[?status=&queue=&limit=&cursor=]  {"cases": [...],
 *                                                     "next": CURSOR|null}
 *   GET  /api/cases/REF                             the case
 *   POST /api/cases/REF/claim | /release | /resolve {"ok": true, "message"}
 *   POST /api/cases/REF/note   {"text": "..."}      {"ok": true, "message"}
 *   POST /api/cases/REF/tag    {"identifiers": [..]} {"ok": true, "message"}
 *        (recruiter identifiers that count towards a lookup's "reported")
 *   POST /api/cases/REF/reveal                      {"ok": true, "phone"}
 *   GET  /api/events                                the live queue (live.h)
 *   /api/operator/...   the operator pages (operator_api.h): a signed-in
 *                       operator's only; a bearer token gets 403
 *   POST /api/cases/REF/reassign {"to": "NAME"}     {"ok": true, "message"}
 *        (supervisors only, 403 otherwise: a claimed case to another)
 *   GET|POST /api/super/...                         the supervisor view
 *        (super.h; signed-in supervisors only, 403 otherwise)
 *
 * A listing is one page of the case index (cases.h), oldest first: limit
 * 1..200 (default 100), and `next` is the cursor of the page after it.
 *
 * Every request needs `Authorization: Bearer TOKEN`, a staff token of the
 * config, or the session cookie of a signed-in person (session_auth.c,
 * which then calls api_serve; 401 otherwise). Failed tokens are counted
 * in Redis, shared by every gateway, per client address (an IPv6
 * address's /64) and per token prefix (the first API_PREFIX characters,
 * kept as an HMAC): at staff_auth's limit the address or prefix gets 429
 * with Retry-After until the window ends, good token or not. Nothing
 * counts per staff member, so guessing cannot lock out a member whose
 * token has another prefix, from another address.
 * Failures are logged (address, never the token) and counted in /metrics.
 * Reading a case or listing cases writes an audit entry (who, read/list)
 * into each case's history (cases.h), before the reply is sent.
 * The case rules are the scripts of cases.c, loaded
 * by the store on connect (GW_SCRIPT_*), so the API and hotlinectl cannot
 * disagree. Replies: 400 bad reference or body, 404 no such case, 405 wrong
 * method, 409 not allowed in the case's state or claimed by someone else,
 * 503 Redis unreachable.
 * Cases carry the caller's number: the API is for staff, replies are never
 * cached, and log lines name the staff member and the reference only. To
 * a signed-in person (the console) the number is masked (phone "",
 * phone_masked "+84 9•• ••• •67") until they reveal it, which the case's
 * history records; bearer-token clients get it as before. A supervisor
 * (an account's role) may act on a case someone else claimed.
 */
#include "api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <arpa/inet.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "accounts.h"
#include "cases.h"
#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "menu.h"
#include "metrics.h"
#include "live.h"
#include "operator_api.h"
#include "session_auth.h"
#include "store.h"
#include "super.h"

#define BODY_MAX 4096
#define API_PREFIX 8            /* token characters a prefix counter keys */

const char api_script_auth[] =
    "local wait = 0\n"
    "for i = 1, 2 do\n"
    "  local n = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if n >= tonumber(ARGV[i + 1]) then\n"
    "    local t = redis.call('PTTL', KEYS[i])\n"
    "    if t < 0 then\n"
    "      redis.call('PEXPIRE', KEYS[i], ARGV[4])\n"
    "      t = tonumber(ARGV[4])\n"
    "    end\n"
    "    if t > wait then wait = t end\n"
    "  end\n"
    "end\n"
    "if wait > 0 then return {2, wait} end\n"
    "if ARGV[1] ~= '1' then return {0} end\n"
    "local c = {1}\n"
    "for i = 1, 2 do\n"
    "  c[i + 1] = redis.call('INCR', KEYS[i])\n"
    "  if c[i + 1] == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[4]) end\n"
    "end\n"
    "return c\n";

enum api_op { OP_LIST, OP_GET, OP_CLAIM, OP_NOTE, OP_RESOLVE, OP_RELEASE,
              OP_TAG, OP_EVENTS, OP_REVEAL, OP_REASSIGN };
#define API_TAGS_MAX 8

struct areq {
    struct gw *gw;
    struct evhttp_request *req;
    struct cfg *cfg;
    enum api_op op;
    struct timeval t0;
    char ref[CASES_REF_MAX];
    char who[64];
    char role[16];              /* "supervisor" may act on others' cases */
    int masked;                 /* a cookie session: numbers masked */
    long long now;
    int refused;                /* 1: no staff member has this token */
    int st;                     /* a refusal to send once authenticated */
    const char *why;
    char status[16];            /* the listing's filter, or "" */
    char queue[CASES_QUEUE_MAX];    /* its queue, or "" */
    int limit;                  /* its page size */
    char score[24];             /* its cursor, "" = from the oldest */
    char after[CASES_REF_MAX];
    char *text;                 /* a note's text; a tag's keys, one per
                                   line */
    char *out;                  /* a listing, sent once audited */
    char addr[64];              /* the client, for the failure counter */
    char akey[128];             /* Redis keys of the two counters */
    char pkey[128];
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
    free(a->text);
    free(a->out);
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

static void on_audited(redisReply *r, void *arg)
{
    struct areq *a = arg;

    if (!r || r->type != REDIS_REPLY_INTEGER) {
        /* No trace, no listing: the numbers stay unread. */
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
    } else {
        log_info("api: %s listed %lld cases", a->who, r->integer);
        send_json(a->gw, a->req, &a->t0, 200, a->out);
    }
    areq_done(a);
}

/* The references of a listing, space-separated, for the audit script. */
static char *list_refs(json_t *list)
{
    size_t n = json_array_size(list);
    char *refs = malloc(n * CASES_REF_MAX + 1);
    size_t len = 0, i;
    json_t *c;

    if (!refs)
        return NULL;
    refs[0] = '\0';
    json_array_foreach(list, i, c) {
        const char *ref = json_string_value(json_object_get(c, "ref"));

        if (ref && strlen(ref) < CASES_REF_MAX && cases_ref_ok(ref))
            len += (size_t)sprintf(refs + len, "%s%s", len ? " " : "", ref);
    }
    return refs;
}

/* Writes the list's audit entries; the listing goes out when they are. */
static void audit_list(struct areq *a, json_t *list)
{
    char now[24];
    char *refs = list_refs(list);
    const char *av[5];

    if (!refs) {
        send_error(a->gw, a->req, &a->t0, 500, "out of memory");
        areq_done(a);
        return;
    }
    snprintf(now, sizeof now, "%lld", a->now);
    av[0] = a->who;
    av[1] = now;
    av[2] = "list";
    av[3] = a->cfg->prefix;
    av[4] = refs;
    if (store_eval(a->gw->store, GW_SCRIPT_AUDIT, on_audited, a, 0, 5, av,
                   NULL) != 0) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
        areq_done(a);
    }
    free(refs);
}

static void on_list(redisReply *r, void *arg)
{
    struct areq *a = arg;
    json_t *list;
    json_t *top;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
        areq_done(a);
        return;
    }
    list = json_array();
    for (size_t i = 1; list && i < r->elements; i++) {
        const char *kv[512];
        size_t len[512], n;
        json_t *o;

        flatten(r->element[i], kv, len, 512, &n);
        o = cases_json_object(kv, len, n);
        if (o && a->masked)
            cases_json_mask(o);
        if (o)
            json_array_append_new(list, o);
    }
    top = list ? json_pack("{s:O,s:o}", "cases", list, "next",
                           r->element[0]->len ?
                               json_string(r->element[0]->str) :
                               json_null()) : NULL;
    a->out = top ? json_dumps(top, JSON_COMPACT) : NULL;
    json_decref(top);
    if (a->out) {
        audit_list(a, list);
    } else {
        send_error(a->gw, a->req, &a->t0, 500, "out of memory");
        areq_done(a);
    }
    json_decref(list);
}

static void on_get(redisReply *r, void *arg)
{
    struct areq *a = arg;
    const char *kv[512];
    size_t len[512], n;
    char *s = NULL;
    json_t *o;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
    } else if (r->elements == 0) {
        send_error(a->gw, a->req, &a->t0, 404, "no such case");
    } else {
        flatten(r, kv, len, 512, &n);
        o = cases_json_object(kv, len, n);
        if (o && a->masked)
            cases_json_mask(o);
        s = o ? json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
        json_decref(o);
        if (s)
            log_info("api: %s read case %s", a->who, a->ref);
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
                                         "resolved", "released", "tagged",
                                         "", "revealed the number of",
                                         "reassigned" };
    long long code;
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
    if (code == 0) {
        send_error(a->gw, a->req, &a->t0, 404, r->element[1]->str);
    } else if (code < 0) {
        send_error(a->gw, a->req, &a->t0, 409, r->element[1]->str);
    } else {
        /* time-to-claim and -resolve: from the case events (caseev.c),
         * which hotlinectl writes as well */
        log_info("api: %s %s case %s", a->who, verbs[a->op], a->ref);
        if (a->op == OP_REVEAL)
            o = json_pack("{s:b,s:s,s:s}", "ok", 1, "ref", a->ref, "phone",
                          r->element[1]->str);
        else
            o = json_pack("{s:b,s:s,s:s}", "ok", 1, "ref", a->ref,
                          "message", r->element[1]->str);
        s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        send_json(a->gw, a->req, &a->t0, 200, s ? s : "{\"ok\":true}");
        free(s);
        json_decref(o);
    }
    areq_done(a);
}

/* ---- requests -------------------------------------------------------- */

/* The request's body as a JSON object (at most BODY_MAX bytes, no
 * duplicate names); NULL when missing, too long or not an object. The
 * caller json_decref()s it. */
static json_t *body_object(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char body[BODY_MAX + 1];
    json_t *o;

    if (len == 0 || len > BODY_MAX)
        return NULL;
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The note's text from a JSON body {"text": "..."}; NULL when malformed. */
static char *note_text(struct evhttp_request *req)
{
    json_t *o = body_object(req), *t;
    char *text = NULL;

    t = o ? json_object_get(o, "text") : NULL;
    /* jansson checked UTF-8; this refuses NULs, controls and the size. */
    if (json_is_string(t) &&
        strlen(json_string_value(t)) == json_string_length(t) &&
        cases_note_ok(json_string_value(t), json_string_length(t)))
        text = strdup(json_string_value(t));
    json_decref(o);
    return text;
}

/* Sends the listing: one page of the index keys of a's status and
 * queue. 0 when sent. */
static int start_list(struct areq *a)
{
    char keys[3][128], max[16];
    const char *av[6];
    size_t al[6];
    int nk = cases_list_keys(a->cfg->prefix, a->status, a->queue, keys,
                             sizeof keys[0]);

    if (nk < 0)
        return -1;
    for (int i = 0; i < nk; i++)
        av[i] = keys[i];
    snprintf(max, sizeof max, "%d", a->limit);
    av[nk] = max;
    av[nk + 1] = a->score;
    av[nk + 2] = a->after;
    for (int i = 0; i < nk + 3; i++)
        al[i] = strlen(av[i]);
    return store_eval(a->gw->store, GW_SCRIPT_LIST, on_list, a, (size_t)nk,
                      nk + 3, av, al);
}

/* Tag (issue 16): {"identifiers": ["+84...", "t.me/x", ...]}, 1 to
 * API_TAGS_MAX, each normalised as a caller's lookup input is
 * (menu_lookup_keys; phone numbers with their country code). Returns the
 * keys one per line, or NULL when malformed. */
static char *tag_keys(struct evhttp_request *req)
{
    size_t n, used = 0;
    char *out = NULL;
    json_t *o = body_object(req), *ids;

    ids = o ? json_object_get(o, "identifiers") : NULL;
    n = json_is_array(ids) ? json_array_size(ids) : 0;
    if (n >= 1 && n <= API_TAGS_MAX)
        out = calloc(n, MENU_LOOKUP_KEY_MAX + 1);
    for (size_t i = 0; out && i < n; i++) {
        const char *v = json_string_value(json_array_get(ids, i));
        struct menu_lookup lk;

        if (!v || menu_lookup_keys(v, strlen(v), NULL, &lk) < 0 ||
            (lk.kind == MENU_LK_NAME &&
             strspn(v, "0123456789 +-.()") == strlen(v))) {
            free(out);
            out = NULL;
            break;
        }
        used += (size_t)sprintf(out + used, "%s%s", i ? "\n" : "", lk.key);
    }
    json_decref(o);
    return out;
}

/* Reassign: the new owner's name from {"to": "NAME"} (an account name's
 * rules); NULL when malformed. */
static char *reassign_to(struct evhttp_request *req)
{
    json_t *o = body_object(req), *t;
    char *to = NULL;

    t = o ? json_object_get(o, "to") : NULL;
    if (json_is_string(t) && acct_name_ok(json_string_value(t)))
        to = strdup(json_string_value(t));
    json_decref(o);
    return to;
}

/* The reassign script (rare: sent as EVAL, not preloaded). The new owner
 * may be a staff member of the config (vouched here) or an account. */
static int start_reassign(struct areq *a, const char *key, const char *now)
{
    int in_cfg = 0;

    for (size_t i = 0; i < a->cfg->nstaff; i++)
        if (strcmp(a->cfg->staff[i].name, a->text) == 0)
            in_cfg = 1;
    {
        const char *av[] = { "EVAL", cases_script_reassign, "1", key, a->who,
                             now, a->text, a->role, in_cfg ? "1" : "0" };

        return store_cmd(a->gw->store, on_moved, a, 9, av, NULL);
    }
}

/* Sends the Redis call of a's operation. 0 when sent. */
static int start(struct areq *a)
{
    char key[128], now[24], extra[24];
    const char *av[6 + 2 + API_TAGS_MAX];
    size_t al[6 + 2 + API_TAGS_MAX];
    int argc = 0;
    size_t script = GW_SCRIPT_CLAIM;

    snprintf(key, sizeof key, "%scase:%s", a->cfg->prefix, a->ref);
    snprintf(now, sizeof now, "%lld", a->now);
    if (a->op == OP_LIST)
        return start_list(a);
    if (a->op == OP_EVENTS) {
        live_attach(a->gw, a->req, a->who);
        areq_done(a);
        return 0;
    }
    if (a->op == OP_GET) {
        av[0] = key;
        av[1] = a->who;
        av[2] = now;
        return store_eval(a->gw->store, GW_SCRIPT_READ, on_get, a, 1, 3, av,
                          NULL);
    }
    if (a->op == OP_REASSIGN)
        return start_reassign(a, key, now);
    av[argc++] = key;
    av[argc++] = a->who;
    av[argc++] = now;
    if (a->op == OP_RELEASE) {
        script = GW_SCRIPT_RELEASE;
    } else if (a->op == OP_REVEAL) {
        script = GW_SCRIPT_REVEAL;
    } else if (a->op == OP_NOTE) {
        script = GW_SCRIPT_NOTE;
        av[argc++] = a->text;
    } else if (a->op == OP_TAG) {
        char *save = NULL;

        script = GW_SCRIPT_TAG;
        av[argc++] = a->cfg->prefix;
        av[argc++] = a->ref;
        for (char *t = strtok_r(a->text, "\n", &save);
             t && argc < (int)(sizeof av / sizeof av[0]);
             t = strtok_r(NULL, "\n", &save))
            av[argc++] = t;
    } else if (a->op == OP_RESOLVE) {
        script = GW_SCRIPT_RESOLVE;
        snprintf(extra, sizeof extra, "%d", a->cfg->case_retention_s);
        av[argc++] = extra;
    }
    if (a->op != OP_TAG)        /* cases.h: the role, after the others */
        av[argc++] = a->role[0] ? a->role : "staff";
    for (int i = 0; i < argc; i++)
        al[i] = strlen(av[i]);
    return store_eval(a->gw->store, script, on_moved, a, 1, argc, av, al);
}

/* The Bearer token of req, or "" when there is none. */
static const char *token_of(struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "Authorization");

    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return "";
    return h + 7;
}

/* The Redis keys of the failure counters of a's address and of token's
 * prefix; the prefix is kept as an HMAC under the pepper (shared by every
 * gateway), so Redis holds no part of any token. */
static void counter_keys(struct areq *a, const char *token)
{
    static const char hex[] = "0123456789abcdef";
    char data[API_PREFIX + 16];
    unsigned char mac[32];
    unsigned int ml = sizeof mac;
    char h[33];

    snprintf(data, sizeof data, "staff-prefix:%.*s", API_PREFIX, token);
    if (!HMAC(EVP_sha256(), a->cfg->pepper, (int)strlen(a->cfg->pepper),
              (const unsigned char *)data, strlen(data), mac, &ml))
        memset(mac, 0, sizeof mac);
    for (int i = 0; i < 16; i++) {
        h[2 * i] = hex[mac[i] >> 4];
        h[2 * i + 1] = hex[mac[i] & 15];
    }
    h[32] = '\0';
    snprintf(a->akey, sizeof a->akey, "%sauth:a:%s", a->cfg->prefix,
             a->addr);
    snprintf(a->pkey, sizeof a->pkey, "%sauth:p:%s", a->cfg->prefix, h);
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
    else if (strcmp(slash, "/release") == 0)
        a->op = OP_RELEASE;
    else if (strcmp(slash, "/tag") == 0)
        a->op = OP_TAG;
    else if (strcmp(slash, "/reveal") == 0)
        a->op = OP_REVEAL;
    else if (strcmp(slash, "/reassign") == 0)
        a->op = OP_REASSIGN;
    else {
        *why = "no such endpoint";
        return 404;
    }
    *why = "use POST";
    return m == EVHTTP_REQ_POST ? 0 : 405;
}

void api_addr_bucket(const char *addr, char *out, size_t outsz)
{
    unsigned char a6[16];
    char text[INET6_ADDRSTRLEN];

    if (strchr(addr, ':') && inet_pton(AF_INET6, addr, a6) == 1) {
        memset(a6 + 8, 0, 8);
        if (inet_ntop(AF_INET6, a6, text, sizeof text)) {
            snprintf(out, outsz, "%s/64", text);
            return;
        }
    }
    snprintf(out, outsz, "%s", addr);
}

/* 429 with Retry-After: the address or the prefix is held for wait_ms. */
static void send_limited(struct areq *a, long long wait_ms)
{
    char secs[24];

    snprintf(secs, sizeof secs, "%lld", (wait_ms + 999) / 1000);
    evhttp_add_header(evhttp_request_get_output_headers(a->req),
                      "Retry-After", secs);
    metrics_add(a->gw->metrics, "hotline_api_auth_limited_total", NULL, NULL,
                1);
    send_error(a->gw, a->req, &a->t0, 429,
               "too many failed staff tokens; retry later");
}

/* A failed token was counted: {1, address's failures, prefix's}. */
static void refused(struct areq *a, const redisReply *r)
{
    long long na = r->element[1]->integer;
    long long np = r->element[2]->integer;

    metrics_add(a->gw->metrics, "hotline_api_auth_failures_total", NULL,
                NULL, 1);
    log_warn("api: staff token refused from %s (%lld from this address, "
             "%lld with this prefix in %ds)", a->addr, na, np,
             a->cfg->auth_window_s);
    if (na == a->cfg->auth_fail_addr)
        log_warn("api: %s held for %ds: %lld failed staff tokens", a->addr,
                 a->cfg->auth_window_s, na);
    if (np == a->cfg->auth_fail_prefix)
        log_warn("api: a token prefix held for %ds: %lld failed tokens "
                 "with it (last from %s)", a->cfg->auth_window_s, np,
                 a->addr);
    send_error(a->gw, a->req, &a->t0, 401, "a staff token is needed");
}

/* The limiter's answer (api_script_auth), then the request itself. */
static void on_auth(redisReply *r, void *arg)
{
    struct areq *a = arg;
    long long code = -1;

    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER)
        code = r->element[0]->integer;
    if (code == 2 && r->elements == 2) {
        send_limited(a, r->element[1]->integer);
    } else if (code == 1 && r->elements == 3 && a->refused) {
        refused(a, r);
    } else if (code != 0 || a->refused) {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
    } else if (a->st) {
        send_error(a->gw, a->req, &a->t0, a->st, a->why);
    } else if (start(a) == 0) {
        return;
    } else {
        send_error(a->gw, a->req, &a->t0, 503, "Redis unreachable");
    }
    areq_done(a);
}

/* Asks the limiter whether a may go on, counting a failed token. */
static int check_auth(struct areq *a, const char *token)
{
    char lim_a[16], lim_p[16], win[24];
    const char *av[6];

    counter_keys(a, token);
    snprintf(lim_a, sizeof lim_a, "%d", a->cfg->auth_fail_addr);
    snprintf(lim_p, sizeof lim_p, "%d", a->cfg->auth_fail_prefix);
    snprintf(win, sizeof win, "%lld", (long long)a->cfg->auth_window_s * 1000);
    av[0] = a->akey;
    av[1] = a->pkey;
    av[2] = a->refused ? "1" : "0";
    av[3] = lim_a;
    av[4] = lim_p;
    av[5] = win;
    return store_eval(a->gw->store, GW_SCRIPT_AUTH, on_auth, a, 2, 6, av,
                      NULL);
}

/* The listing's query (status, queue, limit, cursor) into a. 0, or 400
 * with *why set. */
static int list_query(struct areq *a, const char **why)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(a->req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *status, *queue, *limit, *cursor;
    struct evkeyvalq q;
    int st = 0;
    char *end;
    long n;

    a->limit = CASES_LIST_DEFAULT;
    if (!query)
        return 0;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q) != 0) {
        *why = "malformed query";
        return 400;
    }
    status = evhttp_find_header(&q, "status");
    queue = evhttp_find_header(&q, "queue");
    limit = evhttp_find_header(&q, "limit");
    cursor = evhttp_find_header(&q, "cursor");
    n = limit ? strtol(limit, &end, 10) : CASES_LIST_DEFAULT;
    if (!cases_status_ok(status)) {
        *why = "status is new, claimed or resolved";
        st = 400;
    } else if (queue && *queue && !cases_queue_ok(queue)) {
        *why = "not a queue name";
        st = 400;
    } else if (limit && (!*limit || *end || n < 1 || n > CASES_LIST_MAX)) {
        *why = "limit is 1 to 200";
        st = 400;
    } else if (cursor && *cursor &&
               cases_cursor_parse(cursor, a->score, sizeof a->score,
                                  a->after, sizeof a->after) != 0) {
        *why = "not a cursor of this listing";
        st = 400;
    } else {
        snprintf(a->status, sizeof a->status, "%s", status ? status : "");
        snprintf(a->queue, sizeof a->queue, "%s", queue ? queue : "");
        a->limit = (int)n;
    }
    evhttp_clear_headers(&q);
    return st;
}

/* Routes req into a: operation, reference, note text, listing query; a
 * refusal is kept in a->st / a->why and sent only once authenticated. */
static void parse(struct areq *a, const char *path)
{
    a->why = "";
    if (opapi_path(path)) {     /* a person's pages, not a token's */
        a->st = 403;
        a->why = "the operator pages need an operator signed in to the "
                 "console";
        return;
    }
    if (strcmp(path, "/api/events") == 0) {
        a->op = OP_EVENTS;
        a->why = "use GET";
        a->st = evhttp_request_get_command(a->req) == EVHTTP_REQ_GET ? 0 : 405;
        return;
    }
    if (strncmp(path, "/api/super/", 11) == 0) {
        a->st = 403;            /* bearer tokens have no role */
        a->why = "the supervisor view is for signed-in supervisors";
        return;
    }
    a->st = strncmp(path, "/api/cases", 10) == 0 ?
                route(path + 10, evhttp_request_get_command(a->req), a,
                      &a->why) : 404;
    if (a->st == 404 && !a->why[0])
        a->why = "no such endpoint";
    if (a->st == 0 && a->op == OP_NOTE) {
        a->text = note_text(a->req);
        if (!a->text) {
            a->st = 400;
            a->why = "body must be JSON {\"text\": \"...\"}: 1 to 2000 "
                     "bytes of text without control characters";
        }
    }
    if (a->st == 0 && a->op == OP_TAG) {
        a->text = tag_keys(a->req);
        if (!a->text) {
            a->st = 400;
            a->why = "body must be JSON {\"identifiers\": [\"+84...\", "
                     "...]}: 1 to 8 phone numbers with their country code, "
                     "web addresses, @handles or company names";
        }
    }
    if (a->st == 0 && a->op == OP_REASSIGN) {
        a->text = strcmp(a->role, "supervisor") == 0 ?
                      reassign_to(a->req) : NULL;
        if (strcmp(a->role, "supervisor") != 0) {
            a->st = 403;
            a->why = "only a supervisor may reassign a case";
        } else if (!a->text) {
            a->st = 400;
            a->why = "body must be JSON {\"to\": \"NAME\"}: a staff "
                     "member's name";
        }
    }
    if (a->st == 0 && a->gw->draining) {
        a->st = 503;
        a->why = "shutting down";
    }
    if (a->st == 0 && a->op == OP_LIST)
        a->st = list_query(a, &a->why);
}

int api_handle(struct gw *gw, struct evhttp_request *req, const char *path)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    const struct cfg_staff *staff;
    const char *token = token_of(req);
    const char *addr;
    char *peer_ip = NULL;
    ev_uint16_t port = 0;
    struct areq *a;

    if (strncmp(path, "/api/", 5) != 0)
        return 0;
    if (sauth_handle(gw, req, path))    /* sign-in, cookie sessions */
        return 1;
    a = calloc(1, sizeof *a);
    if (!a) {
        evhttp_send_error(req, 503, "out of memory");
        return 1;
    }
    gettimeofday(&a->t0, NULL);
    a->gw = gw;
    a->req = req;
    a->now = ms_now();
    a->cfg = cfg_retain(gw->cfg);
    gw->inflight++;
    if (conn)
        evhttp_connection_get_peer(conn, &peer_ip, &port);
    addr = cfg_client_addr(a->cfg, peer_ip,
                           evhttp_find_header(
                               evhttp_request_get_input_headers(req),
                               "X-Real-IP"));
    api_addr_bucket(addr ? addr : "unknown", a->addr, sizeof a->addr);
    staff = token[0] ? cfg_staff_by_token(a->cfg, token) : NULL;
    a->refused = !staff;
    if (staff)
        snprintf(a->who, sizeof a->who, "%s", staff->name);
    parse(a, path);
    if (check_auth(a, token) != 0) {
        send_error(gw, req, &a->t0, 503, "Redis unreachable");
        areq_done(a);
    }
    return 1;
}

void api_serve(struct gw *gw, struct evhttp_request *req, const char *path,
               const char *who, const char *role)
{
    struct areq *a;

    if (opapi_path(path)) {
        opapi_serve(gw, req, path, who, role);
        return;
    }
    if (strncmp(path, "/api/super/", 11) == 0) {
        super_serve(gw, req, path, who, role);
        return;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    gettimeofday(&a->t0, NULL);
    a->gw = gw;
    a->req = req;
    a->now = ms_now();
    a->cfg = cfg_retain(gw->cfg);
    gw->inflight++;
    snprintf(a->who, sizeof a->who, "%s", who);
    snprintf(a->role, sizeof a->role, "%s", role ? role : "staff");
    a->masked = 1;
    parse(a, path);
    if (a->st) {
        send_error(gw, req, &a->t0, a->st, a->why);
    } else if (start(a) == 0) {
        return;
    } else {
        send_error(gw, req, &a->t0, 503, "Redis unreachable");
    }
    areq_done(a);
}
