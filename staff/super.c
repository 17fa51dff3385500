/*
 * super.c — the supervisor view's API (see super.h).
 *
 * Each request is one Lua script sent as EVAL (a supervisor's page asks a
 * few times a minute; not worth a preloaded script), its reply turned into
 * JSON here. The summary's percentiles are computed in C from the event
 * times the script returns (at most SUPER_EVENTS_MAX), so the script stays
 * a bounded read.
 */
#include "super.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "alert.h"
#include "cases.h"
#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define BODY_MAX 1024
#define QUEUES_MAX 64

enum super_op { SU_SUMMARY, SU_DEAD, SU_RETRY };

/* KEYS none; ARGV prefix, since (ms), cap, rows. Returns {queues,
 * claimed, claim waits, resolve waits, staff names, truncated}: queues
 * {name, new, claimed, oldest new ref, its created}; claimed {ref, queue,
 * claimed_by, claimed_at, risk}. */
static const char script_summary[] =
    "local P, since = ARGV[1], ARGV[2]\n"
    "local cap, rows = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local q, order, claimed, trunc = {}, {}, {}, 0\n"
    "local function qent(name)\n"
    "  if not q[name] then\n"
    "    q[name] = {name, 0, 0, '', -1}\n"
    "    order[#order + 1] = name\n"
    "  end\n"
    "  return q[name]\n"
    "end\n"
    "for _, st in ipairs({'new', 'claimed'}) do\n"
    "  local k = P .. 'cx:' .. st\n"
    "  if redis.call('ZCARD', k) > cap then trunc = 1 end\n"
    "  local r = redis.call('ZRANGE', k, 0, cap - 1, 'WITHSCORES')\n"
    "  for i = 1, #r, 2 do\n"
    "    local f = redis.call('HMGET', P .. 'case:' .. r[i], 'status',"
    " 'queue', 'created', 'claimed_by', 'claimed_at', 'risk')\n"
    "    if f[1] == st then\n"
    "      local e = qent(f[2] or 'default')\n"
    "      if st == 'new' then\n"
    "        e[2] = e[2] + 1\n"
    "        if e[5] < 0 then\n"
    "          e[4], e[5] = r[i], tonumber(f[3]) or tonumber(r[i + 1]) or 0\n"
    "        end\n"
    "      else\n"
    "        e[3] = e[3] + 1\n"
    "        if #claimed < rows then\n"
    "          claimed[#claimed + 1] = {r[i], f[2] or 'default', f[4] or '',"
    " f[5] or '0', f[6] or 'normal'}\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local qs = {}\n"
    "for _, name in ipairs(order) do qs[#qs + 1] = q[name] end\n"
    "local cl, rs = {}, {}\n"
    "local ev = redis.call('XRANGE', P .. 'ev:cases', since, '+', 'COUNT',"
    " ARGV[5])\n"
    "for _, e in ipairs(ev) do\n"
    "  local w, ms\n"
    "  for i = 1, #e[2], 2 do\n"
    "    if e[2][i] == 'what' then w = e[2][i + 1]\n"
    "    elseif e[2][i] == 'ms' then ms = e[2][i + 1] end\n"
    "  end\n"
    "  if w == 'claim' and ms then cl[#cl + 1] = ms\n"
    "  elseif w == 'resolve' and ms then rs[#rs + 1] = ms end\n"
    "end\n"
    "local staff = {}\n"
    "for _, n in ipairs(redis.call('SORT', P .. 'staff-names', 'ALPHA',"
    " 'LIMIT', 0, 500)) do\n"
    "  if redis.call('HGET', P .. 'staff:' .. n, 'disabled') ~= '1' then\n"
    "    staff[#staff + 1] = n\n"
    "  end\n"
    "end\n"
    "return {qs, claimed, cl, rs, staff, trunc}\n";

const char super_script_dead[] =
    "local P, max = ARGV[1], tonumber(ARGV[2])\n"
    "local out, more = {}, 0\n"
    "for i = 3, #ARGV do\n"
    "  local left = max - #out\n"
    "  if left <= 0 then\n"
    "    if redis.call('XLEN', P .. 'dead:' .. ARGV[i]) > 0 then more = 1"
    " end\n"
    "  else\n"
    "    local k = P .. 'dead:' .. ARGV[i]\n"
    "    local es = redis.call('XRANGE', k, '-', '+', 'COUNT', left)\n"
    "    if redis.call('XLEN', k) > #es then more = 1 end\n"
    "    for _, e in ipairs(es) do\n"
    "      local f = {}\n"
    "      for j = 1, #e[2], 2 do f[e[2][j]] = e[2][j + 1] end\n"
    "      out[#out + 1] = {ARGV[i], e[1], f.ref or '', f.error or '',"
    " f.attempts or '0'}\n"
    "    end\n"
    "  end\n"
    "end\n"
    "out[#out + 1] = more\n"
    "return out\n";

const char super_script_retry[] =
    "local P, max = ARGV[1], tonumber(ARGV[2])\n"
    "local n, dropped, missing = 0, 0, 0\n"
    "local function one(queue, id, fields)\n"
    "  local kv, ref, old, done = {}, nil, nil, nil\n"
    "  for i = 1, #fields, 2 do\n"
    "    local k, v = fields[i], fields[i + 1]\n"
    "    if k == 'entry' then old = v\n"
    "    elseif k == 'delivered' then done = v\n"
    "    elseif k ~= 'error' and k ~= 'attempts' then\n"
    "      kv[#kv + 1] = k\n"
    "      kv[#kv + 1] = v\n"
    "      if k == 'ref' then ref = v end\n"
    "    end\n"
    "  end\n"
    "  local qk = P .. 'q:' .. queue\n"
    "  redis.call('XDEL', P .. 'dead:' .. queue, id)\n"
    "  if old then\n"
    "    redis.call('XDEL', qk, old)\n"
    "    redis.call('DEL', P .. 'ad:' .. queue .. ':' .. old)\n"
    "  end\n"
    "  local ck = P .. 'case:' .. (ref or '')\n"
    "  local st = ref and redis.call('HGET', ck, 'status')\n"
    "  if not st or st == 'resolved' or #kv == 0 then\n"
    "    dropped = dropped + 1\n"
    "    return\n"
    "  end\n"
    "  local nid = redis.call('XADD', qk, '*', unpack(kv))\n"
    "  if done then\n"
    "    local ad = P .. 'ad:' .. queue .. ':' .. nid\n"
    "    for f in string.gmatch(done, '%S+') do\n"
    "      redis.call('HSET', ad, f, '1')\n"
    "    end\n"
    "    redis.call('EXPIRE', ad, " ALERT_AD_TTL_S ")\n"
    "  end\n"
    "  if not old or redis.call('HGET', ck, 'entry') == old then\n"
    "    redis.call('HSET', ck, 'entry', nid)\n"
    "  end\n"
    "  n = n + 1\n"
    "end\n"
    "for i = 3, #ARGV - 1, 2 do\n"
    "  local queue, id = ARGV[i], ARGV[i + 1]\n"
    "  local left = max - n - dropped\n"
    "  if left <= 0 then break end\n"
    "  local es\n"
    "  if id == '*' then\n"
    "    es = redis.call('XRANGE', P .. 'dead:' .. queue, '-', '+', 'COUNT',"
    " left)\n"
    "  else\n"
    "    es = redis.call('XRANGE', P .. 'dead:' .. queue, id, id)\n"
    "    if #es == 0 then missing = missing + 1 end\n"
    "  end\n"
    "  for _, e in ipairs(es) do one(queue, e[1], e[2]) end\n"
    "end\n"
    "return {n, dropped, missing}\n";

struct sureq {
    struct gw *gw;
    struct evhttp_request *req;
    struct cfg *cfg;
    enum super_op op;
    struct timeval t0;
    long long now;
    char who[64];
    int one;                    /* a retry of one dead letter */
};

long long super_pct(const long long *sorted, size_t n, int p)
{
    size_t k = ((size_t)p * n + 99) / 100;     /* ceil(p/100 * n) */

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

long long super_midnight(long long now_ms)
{
    return now_ms - now_ms % 86400000LL;
}

static double since(const struct timeval *t0)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_usec - t0->tv_usec) / 1e6;
}

/* The one reply of a request: JSON text, never cached; frees o. */
static void reply(struct sureq *s, int status, json_t *o)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(s->req);
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (!txt) {
        status = 500;
        txt = strdup("{\"error\":\"out of memory\"}");
    }
    if (txt)
        evbuffer_add(evhttp_request_get_output_buffer(s->req), txt,
                     strlen(txt));
    evbuffer_add(evhttp_request_get_output_buffer(s->req), "\n", 1);
    evhttp_send_reply(s->req, status, status == 200 ? "OK" : "Error", NULL);
    metrics_request(s->gw->metrics, "api", status, since(&s->t0));
    free(txt);
    json_decref(o);
}

static void fail(struct sureq *s, int status, const char *why)
{
    reply(s, status, json_pack("{s:s}", "error", why));
}

static void sureq_done(struct sureq *s)
{
    s->gw->inflight--;
    cfg_release(s->cfg);
    free(s);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

/* {count, median_s, p90_s} of an array of waits in ms (strings or
 * integers, as Lua returned them); null figures when there are none. */
static json_t *figures(const redisReply *r)
{
    long long *v = r->elements ? calloc(r->elements, sizeof *v) : NULL;
    size_t n = 0;
    json_t *o;

    for (size_t i = 0; v && i < r->elements; i++) {
        const redisReply *e = r->element[i];

        if (e->type == REDIS_REPLY_INTEGER)
            v[n++] = e->integer;
        else if (e->type == REDIS_REPLY_STRING)
            v[n++] = strtoll(e->str, NULL, 10);
    }
    if (n == 0) {
        free(v);
        return json_pack("{s:i,s:n,s:n}", "count", 0, "median_s", "p90_s");
    }
    qsort(v, n, sizeof *v, cmp_ll);
    o = json_pack("{s:I,s:f,s:f}", "count", (json_int_t)n, "median_s",
                  (double)super_pct(v, n, 50) / 1000.0, "p90_s",
                  (double)super_pct(v, n, 90) / 1000.0);
    free(v);
    return o;
}

static const char *str_at(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ?
               r->element[i]->str : "";
}

static long long int_at(const redisReply *r, size_t i)
{
    if (i >= r->elements)
        return 0;
    if (r->element[i]->type == REDIS_REPLY_INTEGER)
        return r->element[i]->integer;
    if (r->element[i]->type == REDIS_REPLY_STRING)
        return strtoll(r->element[i]->str, NULL, 10);
    return 0;
}

static json_t *queues_json(const redisReply *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < r->elements; i++) {
        const redisReply *q = r->element[i];

        if (q->type != REDIS_REPLY_ARRAY || q->elements < 5)
            continue;
        json_array_append_new(a, json_pack(
            "{s:s,s:I,s:I,s:o,s:o}", "queue", str_at(q, 0),
            "new", (json_int_t)int_at(q, 1), "claimed",
            (json_int_t)int_at(q, 2), "oldest_ref",
            *str_at(q, 3) ? json_string(str_at(q, 3)) : json_null(),
            "oldest_created", int_at(q, 4) >= 0 ?
                json_integer(int_at(q, 4)) : json_null()));
    }
    return a;
}

static json_t *claimed_json(const redisReply *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < r->elements; i++) {
        const redisReply *c = r->element[i];

        if (c->type != REDIS_REPLY_ARRAY || c->elements < 5)
            continue;
        json_array_append_new(a, json_pack(
            "{s:s,s:s,s:s,s:I,s:s}", "ref", str_at(c, 0), "queue",
            str_at(c, 1), "claimed_by", str_at(c, 2), "claimed_at",
            (json_int_t)int_at(c, 3), "risk", str_at(c, 4)));
    }
    return a;
}

/* The enabled accounts, then the config's staff not among them. */
static json_t *staff_json(const struct cfg *c, const redisReply *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            json_array_append_new(a, json_string(r->element[i]->str));
    for (size_t i = 0; a && i < c->nstaff; i++) {
        int seen = 0;

        for (size_t k = 0; k < r->elements && !seen; k++)
            seen = strcmp(str_at(r, k), c->staff[i].name) == 0;
        if (!seen)
            json_array_append_new(a, json_string(c->staff[i].name));
    }
    return a;
}

static void on_summary(redisReply *r, void *arg)
{
    struct sureq *s = arg;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 6) {
        fail(s, 503, "Redis unreachable");
    } else {
        for (size_t i = 0; i < 5; i++)
            if (r->element[i]->type != REDIS_REPLY_ARRAY) {
                fail(s, 503, "Redis unreachable");
                sureq_done(s);
                return;
            }
        reply(s, 200, json_pack(
            "{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:b}", "now", (json_int_t)s->now,
            "since", (json_int_t)super_midnight(s->now), "queues",
            queues_json(r->element[0]), "claimed",
            claimed_json(r->element[1]), "time_to_claim",
            figures(r->element[2]), "time_to_resolve",
            figures(r->element[3]), "staff",
            staff_json(s->cfg, r->element[4]), "truncated",
            int_at(r, 5) != 0));
    }
    sureq_done(s);
}

static void on_dead(redisReply *r, void *arg)
{
    struct sureq *s = arg;
    json_t *a;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        fail(s, 503, "Redis unreachable");
        sureq_done(s);
        return;
    }
    a = json_array();
    for (size_t i = 0; a && i + 1 < r->elements; i++) {
        const redisReply *e = r->element[i];
        char id[CASES_QUEUE_MAX + 48];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 5)
            continue;
        snprintf(id, sizeof id, "%s/%s", str_at(e, 0), str_at(e, 1));
        json_array_append_new(a, json_pack(
            "{s:s,s:s,s:s,s:s,s:I,s:I}", "id", id, "queue", str_at(e, 0),
            "ref", str_at(e, 2), "error", str_at(e, 3), "attempts",
            (json_int_t)int_at(e, 4), "at",
            (json_int_t)strtoll(str_at(e, 1), NULL, 10)));
    }
    reply(s, 200, json_pack("{s:o,s:b}", "dead", a, "more",
                            int_at(r, r->elements - 1) != 0));
    sureq_done(s);
}

static void on_retry(redisReply *r, void *arg)
{
    struct sureq *s = arg;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
        fail(s, 503, "Redis unreachable");
    } else if (s->one && int_at(r, 2) > 0) {
        fail(s, 404, "no such dead letter");
    } else {
        long long n = int_at(r, 0), d = int_at(r, 1);

        log_info("api: %s retried %lld dead-lettered alerts (%lld dropped: "
                 "case resolved or gone)", s->who, n, d);
        if (n > 0)
            metrics_add(s->gw->metrics, "hotline_alerts_retried_total", NULL,
                        NULL, (double)n);
        alert_kick(s->gw->alert);
        reply(s, 200, json_pack("{s:b,s:I,s:I}", "ok", 1, "retried",
                                (json_int_t)n, "dropped", (json_int_t)d));
    }
    sureq_done(s);
}

/* The queue names of the config (the queues the alert worker serves). */
static size_t queue_names(const struct cfg *c, const char **names)
{
    size_t n = 0;

    for (size_t i = 0; i < c->nqueues && n < QUEUES_MAX; i++)
        names[n++] = c->queues[i].name;
    return n;
}

static int start_summary(struct sureq *s)
{
    char since_ms[24], cap[16], rows[16], evmax[16];
    const char *av[] = { "EVAL", script_summary, "0", s->cfg->prefix,
                         since_ms, cap, rows, evmax };

    snprintf(since_ms, sizeof since_ms, "%lld", super_midnight(s->now));
    snprintf(cap, sizeof cap, "%d", SUPER_OPEN_MAX);
    snprintf(rows, sizeof rows, "%d", SUPER_CLAIMED_ROWS);
    snprintf(evmax, sizeof evmax, "%d", SUPER_EVENTS_MAX);
    return store_cmd(s->gw->store, on_summary, s, 8, av, NULL);
}

static int start_dead(struct sureq *s)
{
    const char *av[5 + QUEUES_MAX];
    char max[16];
    size_t nq;

    snprintf(max, sizeof max, "%d", SUPER_DEAD_MAX);
    av[0] = "EVAL";
    av[1] = super_script_dead;
    av[2] = "0";
    av[3] = s->cfg->prefix;
    av[4] = max;
    nq = queue_names(s->cfg, av + 5);
    return store_cmd(s->gw->store, on_dead, s, (int)(5 + nq), av, NULL);
}

/* The retry's body: {"id": "QUEUE/ID"} or {"all": true}. Fills the
 * script's (queue, id) pairs into av from *ac; 0, or -1 when malformed.
 * buf keeps the strings. */
static int retry_args(struct sureq *s, const char **av, int *ac, char *buf,
                      size_t bufsz)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(s->req);
    size_t len = evbuffer_get_length(in);
    char body[BODY_MAX + 1];
    json_t *o;
    const char *id;
    int rc = -1;

    if (len == 0 || len > BODY_MAX)
        return -1;
    evbuffer_copyout(in, body, len);
    body[len] = '\0';
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    id = json_string_value(json_object_get(o, "id"));
    if (json_is_true(json_object_get(o, "all"))) {
        const char *names[QUEUES_MAX];
        size_t nq = queue_names(s->cfg, names);

        for (size_t i = 0; i < nq; i++) {
            av[(*ac)++] = names[i];
            av[(*ac)++] = "*";
        }
        rc = 0;
    } else if (id && strlen(id) < bufsz && strchr(id, '/')) {
        char *slash;

        snprintf(buf, bufsz, "%s", id);
        slash = strchr(buf, '/');
        *slash = '\0';
        if (cases_queue_ok(buf) && slash[1] &&
            strspn(slash + 1, "0123456789-") == strlen(slash + 1)) {
            av[(*ac)++] = buf;
            av[(*ac)++] = slash + 1;
            s->one = 1;
            rc = 0;
        }
    }
    json_decref(o);
    return rc;
}

static int start_retry(struct sureq *s)
{
    const char *av[5 + 2 * QUEUES_MAX];
    char max[16], buf[CASES_QUEUE_MAX + 48];
    int ac = 5;

    snprintf(max, sizeof max, "%d", SUPER_RETRY_MAX);
    av[0] = "EVAL";
    av[1] = super_script_retry;
    av[2] = "0";
    av[3] = s->cfg->prefix;
    av[4] = max;
    if (retry_args(s, av, &ac, buf, sizeof buf) != 0) {
        fail(s, 400, "body must be JSON {\"id\": \"QUEUE/ID\"} or "
                     "{\"all\": true}");
        sureq_done(s);
        return 0;
    }
    return store_cmd(s->gw->store, on_retry, s, ac, av, NULL);
}

/* The operation of path and method; 0, or an HTTP status with *why. */
static int route(struct sureq *s, const char *path, const char **why)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(s->req);
    int want_post = 0;

    if (strcmp(path, "/api/super/summary") == 0) {
        s->op = SU_SUMMARY;
    } else if (strcmp(path, "/api/super/dead") == 0) {
        s->op = SU_DEAD;
    } else if (strcmp(path, "/api/super/dead/retry") == 0) {
        s->op = SU_RETRY;
        want_post = 1;
    } else {
        *why = "no such endpoint";
        return 404;
    }
    *why = want_post ? "use POST" : "use GET";
    return m == (want_post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET) ? 0 : 405;
}

void super_serve(struct gw *gw, struct evhttp_request *req, const char *path,
                 const char *who, const char *role)
{
    struct sureq *s = calloc(1, sizeof *s);
    const char *why = "";
    struct timeval tv;
    int st, rc;

    if (!s) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    gettimeofday(&s->t0, NULL);
    gettimeofday(&tv, NULL);
    s->now = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    s->gw = gw;
    s->req = req;
    s->cfg = cfg_retain(gw->cfg);
    gw->inflight++;
    snprintf(s->who, sizeof s->who, "%s", who);
    if (!role || strcmp(role, "supervisor") != 0) {
        log_info("api: %s (role %s) refused the supervisor view", who,
                 role ? role : "?");
        fail(s, 403, "the supervisor view is for supervisors");
        sureq_done(s);
        return;
    }
    st = route(s, path, &why);
    if (st) {
        fail(s, st, why);
        sureq_done(s);
        return;
    }
    rc = s->op == SU_SUMMARY ? start_summary(s) :
         s->op == SU_DEAD ? start_dead(s) : start_retry(s);
    if (rc != 0) {
        fail(s, 503, "Redis unreachable");
        sureq_done(s);
    }
}
