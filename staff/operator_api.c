/*
 * operator_api.c — the operator pages' API (routes and rules:
 * operator_api.h), on hotlined's event loop.
 *
 * A request is parsed and its role checked, then it needs at most two Redis
 * calls, each one EVAL sent with store_cmd: the listing (OPAPI_LIST), the
 * texts of the versions it names (OPAPI_FETCH), then for a rollback or
 * a publish the record of menu_ops.h. Loading, checking, diffing and
 * simulating run on the loop, bounded by MENU_FILE_MAX per menu (as the
 * gateways' own loads). The simulator's walk is menu_begin and menu_step
 * as a gateway runs them, with the channel's render; what a gateway does
 * with Redis (the help request, the lookup) is not done: a forward screen
 * shows OPAPI_SIM_REF for the reference, a lookup takes the outcome the
 * request names. Logs name the operator and the menu, never a text.
 */
#include "operator_api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "cfg.h"
#include "gw.h"
#include "log.h"
#include "menu.h"
#include "menu_ops.h"
#include "metrics.h"
#include "store.h"

#define OPAPI_JSON_MAX 16384    /* bytes of a JSON request body */
#define OPAPI_ANSWERS_MAX 64    /* answers one simulation replays */
#define OPAPI_VERSIONS 50       /* versions listed per menu */
#define OPAPI_DIFF_MAX (256 * 1024)
#define OPAPI_PARTS_MAX 10      /* SMS segments a simulated page may use */
#define OPAPI_SIM_REF "XXXXXX"  /* a reference's length (session.h) */

/* Every menu (published, and those of the menus directory) with its
 * current and last version and up to ARGV[2] versions, newest first.
 * ARGV 1 prefix, 2 versions listed, 3.. the directory's menu names. */
static const char script_list[] =
    "local p = ARGV[1]\n"
    "local maxv = tonumber(ARGV[2])\n"
    "local names = redis.call('SMEMBERS', p .. 'menus')\n"
    "local seen = {}\n"
    "for _, n in ipairs(names) do seen[n] = true end\n"
    "for i = 3, #ARGV do\n"
    "  if not seen[ARGV[i]] then\n"
    "    seen[ARGV[i]] = true\n"
    "    names[#names + 1] = ARGV[i]\n"
    "  end\n"
    "end\n"
    "table.sort(names)\n"
    "local out = {}\n"
    "for _, n in ipairs(names) do\n"
    "  local k = p .. 'menu:' .. n\n"
    "  local cur = tonumber(redis.call('GET', k .. ':current') or '0')\n"
    "  local last = tonumber(redis.call('GET', k .. ':n') or '0')\n"
    "  local vs = {}\n"
    "  local v = last\n"
    "  while v > 0 and v > last - maxv do\n"
    "    local h = redis.call('HMGET', k .. ':v:' .. v, 'at', 'by', 'sum',"
    " 'note', 'from')\n"
    "    vs[#vs + 1] = {v, h[1] or '', h[2] or '', h[3] or '', h[4] or '',"
    " h[5] or ''}\n"
    "    v = v - 1\n"
    "  end\n"
    "  out[#out + 1] = {n, cur, last, vs}\n"
    "end\n"
    "return out\n";

/* The current version and the texts of versions. ARGV 1 version key base
 * ("P menu:NAME:v:"), 2 the current key, 3.. versions ("" = the current):
 * {current, v, text, v, text ...}, text "" when there is none (or v 0). */
static const char script_fetch[] =
    "local cur = tonumber(redis.call('GET', ARGV[2]) or '0')\n"
    "local out = {cur}\n"
    "for i = 3, #ARGV do\n"
    "  local v = cur\n"
    "  if ARGV[i] ~= '' then v = tonumber(ARGV[i]) end\n"
    "  out[#out + 1] = v\n"
    "  if v > 0 then\n"
    "    out[#out + 1] = redis.call('HGET', ARGV[1] .. v, 'text') or ''\n"
    "  else\n"
    "    out[#out + 1] = ''\n"
    "  end\n"
    "end\n"
    "return out\n";

enum opapi_op { OP_MENUS, OP_DIFF, OP_FUNNEL, OP_SIMULATE, OP_CHECK,
                OP_PUBLISH, OP_ROLLBACK };

struct oreq {
    struct gw *gw;
    struct evhttp_request *req;
    struct cfg *cfg;
    struct timeval t0;
    enum opapi_op op;
    char who[64];
    char name[MENU_NAME_MAX];
    long long va, vb;           /* diff A and B; rollback's and funnel's v */
    int va_cur;                 /* simulate: no version given (current) */
    json_t *body;               /* simulate's and rollback's request */
    char *text;                 /* check, publish: the file */
    size_t len;
    char note[MOPS_NOTE_MAX + 1];
    json_t *msgs;               /* publish: the checker's messages */
    size_t warnings;
    struct mops_pub pub;
};

static double since(const struct timeval *t0)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_usec - t0->tv_usec) / 1e6;
}

static void oreq_free(struct oreq *o)
{
    o->gw->inflight--;
    cfg_release(o->cfg);
    json_decref(o->body);
    json_decref(o->msgs);
    free(o->text);
    free(o);
}

/* The one reply: obj (stolen) as JSON, never cached; then o is freed. */
static void reply(struct oreq *o, int status, json_t *obj)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(o->req);
    struct evbuffer *b = evhttp_request_get_output_buffer(o->req);
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

    if (!s) {
        status = 500;
        s = strdup("{\"error\":\"out of memory\"}");
    }
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (s)
        evbuffer_add(b, s, strlen(s));
    evbuffer_add(b, "\n", 1);
    evhttp_send_reply(o->req, status, status == 200 ? "OK" : "Error", NULL);
    metrics_request(o->gw->metrics, "api", status, since(&o->t0));
    free(s);
    json_decref(obj);
    oreq_free(o);
}

/* Replies {"error": why}; returns 0 so that `return fail(...)` ends a
 * request's start. */
static int fail(struct oreq *o, int status, const char *why)
{
    reply(o, status, json_pack("{s:s}", "error", why));
    return 0;
}

/* ---- pieces ------------------------------------------------------------ */

/* The checker's messages as the page lists them. */
static json_t *diags_json(const struct menu_diags *d, const char *label)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < d->n; i++) {
        const struct menu_diag *g = &d->v[i];
        char line[512];

        menu_diag_format(label, g, line, sizeof line);
        json_array_append_new(a, json_pack(
            "{s:s,s:i,s:s,s:s,s:s}", "severity",
            g->sev == MENU_SEV_ERROR ? "error" : "warning", "line", g->line,
            "node", g->node, "message", g->msg, "text", line));
    }
    return a;
}

/* The channels of the running config, as the checker takes them; NULL
 * (with *n 0) when there are none or no memory. */
static struct mops_chan *channels(const struct cfg *c, size_t *n)
{
    struct mops_chan *mc = c->nchannels ? calloc(c->nchannels, sizeof *mc)
                                        : NULL;

    *n = mc ? c->nchannels : 0;
    for (size_t i = 0; i < *n; i++) {
        mc[i].name = c->channels[i].name;
        mc[i].menu = c->channels[i].menu_name;
        mc[i].render = c->channels[i].render;
    }
    return mc;
}

/* The checker on o->text (as `hotlinectl menu check -c` and a publish run
 * it); d holds its messages. Returns the menu or NULL. */
static struct menu *check_text(struct oreq *o, struct menu_diags *d)
{
    size_t n;
    struct mops_chan *mc = channels(o->cfg, &n);
    struct menu *m = mops_check(o->text, "upload", mc, n,
                                "this gateway's config", d);

    free(mc);
    return m;
}

/* The file of the menus directory named name, or NULL. */
static const struct menu *file_menu(const struct cfg *c, const char *name)
{
    for (size_t i = 0; i < c->nmenus; i++)
        if (strcmp(c->menus[i]->name, name) == 0)
            return c->menus[i];
    return NULL;
}

/* Version v of o->name from text (a fetch's answer), or the directory's
 * file for v 0: *own set when the caller must free it. NULL after a
 * reply. */
static const struct menu *version_menu(struct oreq *o, long long v,
                                       const redisReply *text, int *own)
{
    char label[MENU_NAME_MAX + 32];
    struct menu_diags d;
    struct menu *m = NULL;

    *own = 0;
    if (v == 0) {
        const struct menu *f = file_menu(o->cfg, o->name);

        if (!f)
            fail(o, 404, "no such menu");
        return f;
    }
    if (text->type != REDIS_REPLY_STRING || text->len == 0 ||
        strlen(text->str) != text->len) {
        fail(o, 404, "no such version");
        return NULL;
    }
    snprintf(label, sizeof label, "%s@%lld", o->name, v);
    menu_diags_init(&d);
    if (menu_load_string(text->str, label, &m, &d) != 0)
        m = NULL;
    menu_diags_free(&d);
    if (!m) {
        fail(o, 409, "that version does not load here");
        return NULL;
    }
    *own = 1;
    return m;
}

/* ---- the simulator ------------------------------------------------------ */

static const char *action_name(enum menu_action a)
{
    static const char *const names[] = { "none", "forward", "quit",
                                         "lookup" };

    return (unsigned)a < 4 ? names[a] : "none";
}

/* One screen as the phone shows it, with its length against the page
 * limit of its encoding on this channel. */
static json_t *screen_json(const struct menu_ctx *ctx,
                           const struct menu_result *r, const char *input,
                           enum menu_action act)
{
    const struct menu_screen *s = &r->screen;
    size_t limit = menu_page_limit(&ctx->render, s->measure.enc);
    json_t *o = json_pack(
        "{s:s,s:i,s:i,s:s,s:I,s:I,s:I,s:b,s:b,s:s,s:s}", "text", s->text,
        "page", s->page + 1, "pages", s->pages, "encoding",
        s->measure.enc == MENU_GSM7 ? "GSM-7" : "UCS-2", "units",
        (json_int_t)s->measure.units, "chars", (json_int_t)s->measure.chars,
        "limit", (json_int_t)limit, "end", r->end, "invalid", r->invalid,
        "action", action_name(act), "node", r->node ? r->node->name : "");

    if (o)
        json_object_set_new(o, "input", input ? json_string(input)
                                              : json_null());
    if (o && ctx->render.channel == MENU_CH_SMS)
        json_object_set_new(o, "segments", json_integer(
            (json_int_t)menu_sms_segments(&s->measure)));
    return o;
}

static int outcome_of(const char *s)
{
    static const char *const names[MENU_OUT_COUNT] = {
        "found", "reported", "unknown", "near", "error" };

    for (int i = 0; s && i < MENU_OUT_COUNT; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return s ? -1 : MENU_OUT_UNKNOWN;
}

/* The simulation's render from the request: channel "ussd" or "sms",
 * fold, parts. 0, or -1. */
static int sim_render(const json_t *b, struct menu_render *r)
{
    const char *ch = json_string_value(json_object_get(b, "channel"));
    json_t *fold = json_object_get(b, "fold");
    json_t *parts = json_object_get(b, "parts");

    memset(r, 0, sizeof *r);
    if (!ch || (strcmp(ch, "ussd") != 0 && strcmp(ch, "sms") != 0))
        return -1;
    r->channel = strcmp(ch, "sms") == 0 ? MENU_CH_SMS : MENU_CH_USSD;
    if (fold && !json_is_boolean(fold))
        return -1;
    r->fold = json_is_true(fold);
    if (parts && (!json_is_integer(parts) || json_integer_value(parts) < 1 ||
                  json_integer_value(parts) > OPAPI_PARTS_MAX))
        return -1;
    r->sms_parts = parts ? (int)json_integer_value(parts) : 1;
    return 0;
}

/* Replays the request's answers on m: {"screens": [...]}. */
static json_t *simulate(const json_t *b, const struct menu *m, long long v,
                        const char **why)
{
    struct menu_ctx ctx = { .menu = m, .ref = OPAPI_SIM_REF };
    const char *lang = json_string_value(json_object_get(b, "lang"));
    json_t *ans = json_object_get(b, "answers");
    int outcome = outcome_of(json_string_value(json_object_get(b,
                                                               "lookup")));
    struct menu_state st;
    struct menu_result *r = malloc(sizeof *r);
    json_t *screens = json_array(), *out = NULL;
    int li = lang ? menu_lang_index(m, lang) : 0;
    size_t i;
    json_t *a;

    *why = "the request is not a simulation (docs/menus.md)";
    if (!r || !screens || sim_render(b, &ctx.render) != 0 || li < 0 ||
        outcome < 0 || (ans && !json_is_array(ans)) ||
        json_array_size(ans) > OPAPI_ANSWERS_MAX)
        goto done;
    if (menu_begin(&ctx, &st, r) != 0)
        goto done;
    if (li != st.lang) {
        st.lang = li;
        if (menu_show(&ctx, &st, r) != 0)
            goto done;
    }
    json_array_append_new(screens, screen_json(&ctx, r, NULL, r->action));
    json_array_foreach(ans, i, a) {
        const char *in = json_string_value(a);
        enum menu_action act;

        if (!in || strlen(in) > MENU_INPUT_MAX || st.ended)
            goto done;
        if (menu_step(&ctx, &st, in, r) != 0)
            goto done;
        act = r->action;
        if (act == MENU_ACT_LOOKUP &&
            menu_lookup_result(&ctx, &st, (enum menu_outcome)outcome, NULL,
                               0, r) != 0)
            goto done;
        json_array_append_new(screens, screen_json(&ctx, r, in, act));
    }
    out = json_pack("{s:s,s:I,s:s,s:s,s:b,s:i,s:O}", "menu", m->name,
                    "version", (json_int_t)v, "lang", m->langs[li],
                    "channel", ctx.render.channel == MENU_CH_SMS ? "sms" :
                    "ussd", "fold", ctx.render.fold, "parts",
                    ctx.render.sms_parts, "screens", screens);
done:
    json_decref(screens);
    free(r);
    return out;
}

/* ---- Redis answers ---------------------------------------------------- */

static const char *rstr(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_STRING ? r->str : "";
}

static json_t *version_json(const redisReply *v)
{
    const char *at = rstr(v->element[1]);
    const char *from = rstr(v->element[5]);

    return json_pack("{s:I,s:I,s:s,s:s,s:s,s:I}", "version",
                     (json_int_t)v->element[0]->integer, "at",
                     (json_int_t)atoll(at), "by", rstr(v->element[2]), "sum",
                     rstr(v->element[3]), "note", rstr(v->element[4]), "from",
                     (json_int_t)atoll(from));
}

static void on_list(redisReply *r, void *arg)
{
    struct oreq *o = arg;
    json_t *menus = json_array();

    if (!r || r->type != REDIS_REPLY_ARRAY || !menus) {
        json_decref(menus);
        fail(o, 503, "Redis unreachable");
        return;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        json_t *vs = json_array();

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 4 || !vs) {
            json_decref(vs);
            continue;
        }
        for (size_t j = 0; j < e->element[3]->elements; j++) {
            const redisReply *v = e->element[3]->element[j];

            if (v->type == REDIS_REPLY_ARRAY && v->elements == 6)
                json_array_append_new(vs, version_json(v));
        }
        json_array_append_new(menus, json_pack(
            "{s:s,s:I,s:I,s:b,s:o}", "name", rstr(e->element[0]),
            "current", (json_int_t)e->element[1]->integer, "last",
            (json_int_t)e->element[2]->integer, "file",
            file_menu(o->cfg, rstr(e->element[0])) != NULL, "versions", vs));
    }
    reply(o, 200, json_pack("{s:o}", "menus", menus));
}

static void on_funnel(redisReply *r, void *arg)
{
    enum { ROWS = 2048 };
    struct oreq *o = arg;
    json_t *rows = json_array(), *idx = json_object();

    if (!r || r->type != REDIS_REPLY_ARRAY || !rows || !idx) {
        json_decref(rows);
        json_decref(idx);
        fail(o, 503, "Redis unreachable");
        return;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        char node[MENU_NAME_MAX], lang[MENU_NAME_MAX], key[2 * MENU_NAME_MAX];
        json_t *row;
        int ev;

        if (mops_funnel_field_parse(rstr(r->element[i]), node, lang,
                                    &ev) != 0)
            continue;
        snprintf(key, sizeof key, "%s|%s", node, lang);
        row = json_object_get(idx, key);
        if (!row && json_array_size(rows) < ROWS) {
            row = json_pack("{s:s,s:s}", "node", node, "lang", lang);
            for (int k = 0; row && k < MOPS_EV_COUNT; k++)
                json_object_set_new(row, mops_ev_names[k], json_integer(0));
            json_array_append_new(rows, row);
            json_object_set(idx, key, row);
        }
        if (row)
            json_object_set_new(row, mops_ev_names[ev], json_integer(
                json_integer_value(json_object_get(row, mops_ev_names[ev])) +
                atoll(rstr(r->element[i + 1]))));
    }
    json_decref(idx);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        json_int_t d = json_integer_value(json_object_get(row, "visit")) -
                       json_integer_value(json_object_get(row, "left"));

        json_object_set_new(row, "dropped", json_integer(d < 0 ? 0 : d));
    }
    reply(o, 200, json_pack("{s:s,s:I,s:o}", "name", o->name, "version",
                            (json_int_t)o->va, "rows", rows));
}

static void on_stored(redisReply *r, void *arg)
{
    struct oreq *o = arg;
    long long v;
    json_t *out;

    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer == 0) {
        fail(o, 503, "Redis unreachable: nothing published");
        return;
    }
    v = r->integer;
    if (o->op == OP_ROLLBACK)
        log_info("operator: %s rolled menu %s back to version %lld: now "
                 "version %lld", o->who, o->name, o->va, v);
    else if (v > 0)
        log_info("operator: %s published menu %s version %lld", o->who,
                 o->name, v);
    out = json_pack("{s:b,s:s,s:I,s:b,s:s,s:s,s:I}", "ok", 1, "name",
                    o->name, "version", (json_int_t)(v < 0 ? -v : v),
                    "unchanged", v < 0, "by", o->who, "sum", o->pub.sum,
                    "from", (json_int_t)(o->op == OP_ROLLBACK ? o->va : 0));
    if (out && o->msgs)
        json_object_set(out, "messages", o->msgs);
    reply(o, 200, out);
}

/* Sends o->pub (a publish or a rollback of text). */
static void store_record(struct oreq *o, const char *text, size_t len,
                         const char *from)
{
    if (mops_publish_args(&o->pub, o->cfg->prefix, o->name, text, len,
                          o->who, o->note, from, from[0] == '\0') != 0) {
        fail(o, 400, "not a menu name");
        return;
    }
    if (store_cmd(o->gw->store, on_stored, o, o->pub.argc, o->pub.av,
                  o->pub.al) != 0)
        fail(o, 503, "Redis unreachable");
}

static void rollback(struct oreq *o, long long cur, const redisReply *text)
{
    const struct menu *m;
    char from[24];
    int own;

    if (cur <= 0 || o->va <= 0 || o->va == cur) {
        fail(o, 409, "nothing to roll back to");
        return;
    }
    m = version_menu(o, o->va, text, &own);   /* it must still load */
    if (!m)
        return;
    if (own)
        menu_free((struct menu *)m);
    snprintf(from, sizeof from, "%lld", o->va);
    /* text is the reply's: store_cmd copies argv before returning */
    store_record(o, text->str, text->len, from);
}

static void diff(struct oreq *o, const redisReply *ta, const redisReply *tb)
{
    const struct menu *a, *b = NULL;
    char *buf = NULL;
    int owna = 0, ownb = 0, n = 0;
    json_t *lines = json_array();

    a = version_menu(o, o->va, ta, &owna);
    if (a)
        b = version_menu(o, o->vb, tb, &ownb);
    if (b)
        buf = malloc(OPAPI_DIFF_MAX);
    if (b && buf && lines) {
        char *save = NULL;

        n = menu_diff(a, b, buf, OPAPI_DIFF_MAX);
        for (char *l = strtok_r(buf, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save))
            json_array_append_new(lines, json_string(l));
        reply(o, 200, json_pack("{s:s,s:I,s:I,s:i,s:b,s:O}", "name", o->name,
                                "a", (json_int_t)o->va, "b",
                                (json_int_t)o->vb, "count", n < 0 ? 0 : n,
                                "more", n < 0, "lines", lines));
    } else if (b) {
        fail(o, 500, "out of memory");
    }
    if (owna)
        menu_free((struct menu *)a);
    if (ownb)
        menu_free((struct menu *)b);
    free(buf);
    json_decref(lines);
}

static void on_fetch(redisReply *r, void *arg)
{
    struct oreq *o = arg;
    const struct menu *m;
    const char *why;
    json_t *out;
    int own;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        fail(o, 503, "Redis unreachable");
        return;
    }
    if (o->op == OP_ROLLBACK) {
        rollback(o, r->element[0]->integer, r->element[2]);
        return;
    }
    if (o->op == OP_DIFF) {
        if (r->elements < 5)
            fail(o, 503, "Redis unreachable");
        else
            diff(o, r->element[2], r->element[4]);
        return;
    }
    o->va = r->element[1]->integer;
    m = version_menu(o, o->va, r->element[2], &own);
    if (!m)
        return;
    out = simulate(o->body, m, o->va, &why);
    if (own)
        menu_free((struct menu *)m);
    if (out)
        reply(o, 200, out);
    else
        fail(o, 400, why);
}

/* ---- requests ------------------------------------------------------- */

/* The fetch of o->name's versions (each "" for the current). */
static int send_fetch(struct oreq *o, const char *v1, const char *v2)
{
    char base[MOPS_KEY_MAX], cur[MOPS_KEY_MAX];
    const char *av[7] = { "EVAL", script_fetch, "0", base, cur, v1, v2 };

    snprintf(base, sizeof base, "%smenu:%s:v:", o->cfg->prefix, o->name);
    snprintf(cur, sizeof cur, "%smenu:%s:current", o->cfg->prefix, o->name);
    return store_cmd(o->gw->store, on_fetch, o, v2 ? 7 : 6, av, NULL);
}

static int send_list(struct oreq *o)
{
    const char *av[4 + 32];
    char maxv[16];
    int n = 0;

    snprintf(maxv, sizeof maxv, "%d", OPAPI_VERSIONS);
    av[n++] = "EVAL";
    av[n++] = script_list;
    av[n++] = "0";
    av[n++] = o->cfg->prefix;
    av[n++] = maxv;
    for (size_t i = 0; i < o->cfg->nmenus && n < (int)(sizeof av /
                                                       sizeof av[0]); i++)
        av[n++] = o->cfg->menus[i]->name;
    return store_cmd(o->gw->store, on_list, o, n, av, NULL);
}

static int send_funnel(struct oreq *o)
{
    char key[MOPS_KEY_MAX];
    const char *av[2] = { "HGETALL", key };

    snprintf(key, sizeof key, "%smenu:%s:f:%lld", o->cfg->prefix, o->name,
             o->va);
    return store_cmd(o->gw->store, on_funnel, o, 2, av, NULL);
}

/* The request's query parameter name, decoded into out ("" when absent).
 * 0, or -1 when the query is malformed or the value does not fit. */
static int query_param(struct evhttp_request *req, const char *name,
                       char *out, size_t outsz)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    const char *v;
    int rc = 0;

    out[0] = '\0';
    if (!q)
        return 0;
    TAILQ_INIT(&kv);
    if (evhttp_parse_query_str(q, &kv) != 0)
        return -1;
    v = evhttp_find_header(&kv, name);
    if (v && strlen(v) >= outsz)
        rc = -1;
    else if (v)
        snprintf(out, outsz, "%s", v);
    evhttp_clear_headers(&kv);
    return rc;
}

/* A version number of a query ("" = dflt); -1 when malformed. */
static long long query_version(struct evhttp_request *req, const char *name,
                               long long dflt)
{
    char v[24], *end;
    long long n;

    if (query_param(req, name, v, sizeof v) != 0)
        return -1;
    if (!v[0])
        return dflt;
    n = strtoll(v, &end, 10);
    return *end || n < 0 ? -1 : n;
}

/* A note: valid UTF-8 without control characters, at most MOPS_NOTE_MAX
 * bytes. 1 when s is one. */
static int note_ok(const char *s)
{
    size_t n = strlen(s);

    if (n > MOPS_NOTE_MAX || !menu_utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* The body: OPAPI_JSON_MAX or console.upload_max bytes at most; JSON
 * (into o->body) or the raw file (into o->text). 0, or -1. */
static int read_body(struct oreq *o, int json)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(o->req);
    size_t len = evbuffer_get_length(in);
    size_t max = json ? OPAPI_JSON_MAX : (size_t)o->cfg->console.upload_max;

    if (len == 0 || len > max)
        return -1;
    o->text = malloc(len + 1);
    if (!o->text)
        return -1;
    evbuffer_copyout(in, o->text, len);
    o->text[len] = '\0';
    o->len = len;
    if (!json)
        return strlen(o->text) == len ? 0 : -1;
    o->body = json_loadb(o->text, len, JSON_REJECT_DUPLICATES, NULL);
    return json_is_object(o->body) ? 0 : -1;
}

/* /api/operator/menus/NAME/WHAT into o->name and what. 0, or -1. */
static int menu_path(struct oreq *o, const char *rest, const char **what)
{
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;

    if (!slash || n == 0 || n >= sizeof o->name)
        return -1;
    memcpy(o->name, rest, n);
    o->name[n] = '\0';
    *what = slash + 1;
    return mops_name_ok(o->name) ? 0 : -1;
}

/* Which operation path and method are; 0, or an HTTP status with *why. */
static int route(struct oreq *o, const char *path, const char **why)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(o->req);
    const char *rest = path + strlen("/api/operator/");
    const char *what;
    int get = 1;

    *why = "no such endpoint";
    if (strcmp(rest, "menus") == 0) {
        o->op = OP_MENUS;
    } else if (strcmp(rest, "simulate") == 0) {
        o->op = OP_SIMULATE;
        get = 0;
    } else if (strcmp(rest, "check") == 0) {
        o->op = OP_CHECK;
        get = 0;
    } else if (strcmp(rest, "publish") == 0) {
        o->op = OP_PUBLISH;
        get = 0;
    } else if (strncmp(rest, "menus/", 6) == 0 &&
               menu_path(o, rest + 6, &what) == 0) {
        if (strcmp(what, "diff") == 0) {
            o->op = OP_DIFF;
        } else if (strcmp(what, "funnel") == 0) {
            o->op = OP_FUNNEL;
        } else if (strcmp(what, "rollback") == 0) {
            o->op = OP_ROLLBACK;
            get = 0;
        } else {
            return 404;
        }
    } else {
        return 404;
    }
    *why = get ? "use GET" : "use POST";
    return (get ? m == EVHTTP_REQ_GET : m == EVHTTP_REQ_POST) ? 0 : 405;
}

/* The checker's verdict on the uploaded file; a publish goes on to store
 * it when there is no error. */
static void check_or_publish(struct oreq *o)
{
    struct menu_diags d;
    struct menu *m;
    json_t *msgs;

    menu_diags_init(&d);
    m = check_text(o, &d);
    msgs = diags_json(&d, "upload");
    if (o->op == OP_CHECK || !m) {
        reply(o, o->op == OP_CHECK ? 200 : 422,
              json_pack("{s:b,s:s?,s:I,s:I,s:o}", "ok", m != NULL, "name",
                        m ? m->name : NULL, "errors", (json_int_t)d.errors,
                        "warnings", (json_int_t)d.warnings, "messages",
                        msgs));
    } else {
        o->msgs = msgs;
        snprintf(o->name, sizeof o->name, "%s", m->name);
        store_record(o, o->text, o->len, "");
    }
    menu_free(m);
    menu_diags_free(&d);
}

/* Reads what o's operation needs and sends its first Redis call (or
 * answers at once). Returns 0 (a reply is sent or on its way). */
static int start(struct oreq *o)
{
    const char *menu;
    json_t *v;
    char va[24];
    int rc = 0;

    switch (o->op) {
    case OP_MENUS:
        rc = send_list(o);
        break;
    case OP_FUNNEL:
        o->va = query_version(o->req, "v", -1);
        if (o->va < 0)
            return fail(o, 400, "funnel?v=VERSION (0 = the file)");
        rc = send_funnel(o);
        break;
    case OP_DIFF:
        o->va = query_version(o->req, "a", -1);
        o->vb = query_version(o->req, "b", -1);
        if (o->va < 0 || o->vb < 0)
            return fail(o, 400, "diff?a=VERSION&b=VERSION (0 = the file)");
        snprintf(va, sizeof va, "%lld", o->va);
        {
            char vb[24];

            snprintf(vb, sizeof vb, "%lld", o->vb);
            rc = send_fetch(o, va, vb);
        }
        break;
    case OP_SIMULATE:
        if (read_body(o, 1) != 0)
            return fail(o, 400, "send JSON {\"menu\", \"version\", \"lang\", "
                                "\"channel\", \"fold\", \"answers\"}");
        menu = json_string_value(json_object_get(o->body, "menu"));
        v = json_object_get(o->body, "version");
        if (!mops_name_ok(menu) || (v && !json_is_null(v) &&
                                    (!json_is_integer(v) ||
                                     json_integer_value(v) < 0)))
            return fail(o, 400, "menu is a menu's name, version a number "
                                "(0 = the file, absent = the current)");
        snprintf(o->name, sizeof o->name, "%s", menu);
        snprintf(va, sizeof va, "%lld", v && json_is_integer(v) ?
                 (long long)json_integer_value(v) : 0);
        rc = send_fetch(o, v && json_is_integer(v) ? va : "", NULL);
        break;
    case OP_ROLLBACK:
        if (read_body(o, 1) != 0 ||
            !json_is_integer(json_object_get(o->body, "version")) ||
            (json_object_get(o->body, "note") &&
             !json_is_string(json_object_get(o->body, "note"))) ||
            !note_ok(json_string_value(json_object_get(o->body, "note")) ?
                     json_string_value(json_object_get(o->body, "note")) :
                     ""))
            return fail(o, 400, "send JSON {\"version\": N, \"note\": "
                                "\"...\"} (a note of 500 bytes at most)");
        o->va = (long long)json_integer_value(json_object_get(o->body,
                                                              "version"));
        snprintf(o->note, sizeof o->note, "%s",
                 json_string_value(json_object_get(o->body, "note")) ?
                 json_string_value(json_object_get(o->body, "note")) : "");
        snprintf(va, sizeof va, "%lld", o->va);
        rc = send_fetch(o, va, NULL);
        break;
    case OP_CHECK:
    case OP_PUBLISH:
        if (query_param(o->req, "note", o->note, sizeof o->note) != 0 ||
            !note_ok(o->note))
            return fail(o, 400, "a note is 500 bytes at most, without "
                                "control characters");
        if (read_body(o, 0) != 0)
            return fail(o, 400, "send the menu file itself as the body "
                                "(console.upload_max bytes at most, no "
                                "NUL byte)");
        check_or_publish(o);
        return 0;
    }
    return rc != 0 ? fail(o, 503, "Redis unreachable") : 0;
}

int opapi_path(const char *path)
{
    return strcmp(path, "/api/operator") == 0 ||
           strncmp(path, "/api/operator/", 14) == 0;
}

void opapi_serve(struct gw *gw, struct evhttp_request *req, const char *path,
                 const char *who, const char *role)
{
    struct oreq *o = calloc(1, sizeof *o);
    const char *why;
    int st;

    if (!o) {
        evhttp_send_error(req, 503, "out of memory");
        return;
    }
    gettimeofday(&o->t0, NULL);
    o->gw = gw;
    o->req = req;
    o->cfg = cfg_retain(gw->cfg);
    gw->inflight++;
    snprintf(o->who, sizeof o->who, "%s", who);
    if (!role || (strcmp(role, "operator") != 0 &&
                  strcmp(role, "supervisor") != 0)) {
        log_info("operator: %s (%s) refused the operator pages", who,
                 role ? role : "no role");
        fail(o, 403, "the operator pages are for operators");
        return;
    }
    st = strncmp(path, "/api/operator/", 14) == 0 ? route(o, path, &why)
                                                   : 404;
    if (st == 404)
        why = "no such endpoint";
    if (!st && gw->draining) {
        st = 503;
        why = "shutting down";
    }
    if (st)
        fail(o, st, why);
    else
        start(o);       /* it replies, now or from Redis's answer */
}
