/*
 * lookup.c — the Redis side of a `lookup` node.
 *
 * Keys (prefix P; docs/menus.md "Lookups" and hotlinectl lists):
 *   P list:NAME          hash: cur (the version callers see), prev (the
 *                        one `lists rollback` returns to), key (the key
 *                        columns), cols, rows, at (import time)
 *   P list:NAME:V        hash: normalised key -> the row as a JSON object
 *   P list:NAME:V:near   hash: near key -> the normalised key it is near
 *   P rep:KEY            hash: case reference -> when staff tagged it
 *                        (hotlinectl cases tag; erase removes the field)
 *
 * One EVALSHA reads them all: the list pointer and its version together,
 * so a lookup sees one whole version while an import writes the next one.
 * Every read is an HGET (or the HVALS of one key's reports): nothing is
 * scanned. Outcome: reported when anyone tagged the exact key, else found
 * when a list holds it, else near when a near key points at an entry,
 * else unknown.
 */
#include "lookup.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw.h"
#include "metrics.h"
#include "store.h"

#define LOOKUP_FIELDS_MAX 10

/* ARGV 1 prefix, 2 exact key, 3 number of lists, then the list names,
 * then the number of near keys and the near keys. Returns {outcome, list,
 * row JSON, reports, earliest report (unix seconds, 0 = none)}. */
const char lookup_script[] =
    "local P, key = ARGV[1], ARGV[2]\n"
    "local nl = tonumber(ARGV[3])\n"
    "local nn = tonumber(ARGV[4 + nl])\n"
    "local vals = redis.call('HVALS', P .. 'rep:' .. key)\n"
    "local since = 0\n"
    "for _, v in ipairs(vals) do\n"
    "  local t = tonumber(v)\n"
    "  if t and (since == 0 or t < since) then since = t end\n"
    "end\n"
    "local hashes = {}\n"
    "for i = 1, nl do\n"
    "  local v = redis.call('HGET', P .. 'list:' .. ARGV[3 + i], 'cur')\n"
    "  if v then hashes[#hashes + 1] = {ARGV[3 + i],"
    " P .. 'list:' .. ARGV[3 + i] .. ':' .. v} end\n"
    "end\n"
    "local out, list, row = 'unknown', '', ''\n"
    "for _, h in ipairs(hashes) do\n"
    "  local r = redis.call('HGET', h[2], key)\n"
    "  if r then out, list, row = 'found', h[1], r break end\n"
    "end\n"
    "if out == 'unknown' then\n"
    "  for _, h in ipairs(hashes) do\n"
    "    for j = 1, nn do\n"
    "      local k = redis.call('HGET', h[2] .. ':near', ARGV[4 + nl + j])\n"
    "      local r = k and redis.call('HGET', h[2], k)\n"
    "      if r then out, list, row = 'near', h[1], r break end\n"
    "    end\n"
    "    if out == 'near' then break end\n"
    "  end\n"
    "end\n"
    "if #vals > 0 then out = 'reported' end\n"
    "return {out, list, row, #vals, since}\n";

struct lreq {
    struct gw *gw;
    lookup_cb cb;
    void *arg;
};

static enum menu_outcome outcome_of(const char *s)
{
    for (int o = 0; o < MENU_OUT_COUNT; o++)
        if (strcmp(s, menu_outcome_name((enum menu_outcome)o)) == 0)
            return (enum menu_outcome)o;
    return MENU_OUT_ERROR;
}

static void count(struct gw *gw, enum menu_outcome o, const char *list)
{
    metrics_add(gw->metrics, "hotline_lookups_total", "outcome",
                menu_outcome_name(o), 1);
    if (list && list[0])
        metrics_add(gw->metrics, "hotline_lookup_matches_total", "list", list,
                    1);
}

/* The row's string members as fields, then list, reports and since. */
static void answer(struct lreq *q, const redisReply *rep)
{
    struct menu_lookup_field f[LOOKUP_FIELDS_MAX + 3];
    enum menu_outcome o = outcome_of(rep->element[0]->str);
    const char *list = rep->element[1]->str;
    json_t *row = json_loads(rep->element[2]->str, 0, NULL);
    char reports[24], since[16] = "";
    size_t n = 0;
    const char *k;
    json_t *v;

    if (json_is_object(row))
        json_object_foreach(row, k, v) {
            if (n < LOOKUP_FIELDS_MAX && json_is_string(v)) {
                f[n].name = k;
                f[n++].value = json_string_value(v);
            }
        }
    snprintf(reports, sizeof reports, "%lld", rep->element[3]->integer);
    if (rep->element[4]->integer > 0) {
        time_t t = (time_t)rep->element[4]->integer;
        struct tm tm;

        if (gmtime_r(&t, &tm))
            strftime(since, sizeof since, "%Y-%m-%d", &tm);
    }
    f[n].name = "list";
    f[n++].value = list;
    f[n].name = "reports";
    f[n++].value = reports;
    f[n].name = "since";
    f[n++].value = since;
    count(q->gw, o, o == MENU_OUT_FOUND || o == MENU_OUT_NEAR ||
                    (o == MENU_OUT_REPORTED && list[0]) ? list : NULL);
    q->cb(o, f, n, q->arg);
    json_decref(row);
}

static void on_reply(struct redisReply *reply, void *arg)
{
    struct lreq *q = arg;

    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 5 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING &&
        reply->element[2]->type == REDIS_REPLY_STRING &&
        reply->element[3]->type == REDIS_REPLY_INTEGER &&
        reply->element[4]->type == REDIS_REPLY_INTEGER) {
        answer(q, reply);
    } else {
        count(q->gw, MENU_OUT_ERROR, NULL);
        q->cb(MENU_OUT_ERROR, NULL, 0, q->arg);
    }
    free(q);
}

void lookup_run(struct gw *gw, const char *prefix, const struct menu_lookup *lk,
                lookup_cb cb, void *arg)
{
    const char *av[8 + MENU_LOOKUP_LISTS_MAX + MENU_LOOKUP_NEAR_MAX];
    char nl[8], nn[8];
    struct lreq *q = calloc(1, sizeof *q);
    int ac = 0;

    if (!q) {
        count(gw, MENU_OUT_ERROR, NULL);
        cb(MENU_OUT_ERROR, NULL, 0, arg);
        return;
    }
    q->gw = gw;
    q->cb = cb;
    q->arg = arg;
    snprintf(nl, sizeof nl, "%zu", lk->nlists);
    snprintf(nn, sizeof nn, "%zu", lk->nnear);
    av[ac++] = prefix;
    av[ac++] = lk->key;
    av[ac++] = nl;
    for (size_t i = 0; i < lk->nlists && i < MENU_LOOKUP_LISTS_MAX; i++)
        av[ac++] = lk->lists[i];
    av[ac++] = nn;
    for (size_t i = 0; i < lk->nnear && i < MENU_LOOKUP_NEAR_MAX; i++)
        av[ac++] = lk->near[i];
    if (store_eval(gw->store, GW_SCRIPT_LOOKUP, on_reply, q, 0, ac, av,
                   NULL) != 0)
        on_reply(NULL, q);
}
