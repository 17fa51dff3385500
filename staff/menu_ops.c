/*
 * menu_ops.c — publishing a menu, as the CLI and the console both do it
 * (menu_ops.h): the checker on the channels serving the menu, and the one
 * EVAL that writes a version's audit record.
 */
#include "menu_ops.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mops_ev_names[MOPS_EV_COUNT] = {
    "visit", "left", "invalid", "back", "home", "duress"
};

const char mops_script_publish[] =
    "if ARGV[9] == '1' then\n"
    "  local cur = redis.call('GET', KEYS[2])\n"
    "  if cur and redis.call('HGET', ARGV[1] .. cur, 'sum') == ARGV[3] then\n"
    "    return -tonumber(cur)\n"
    "  end\n"
    "end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "redis.call('HSET', ARGV[1] .. n, 'text', ARGV[2], 'sum', ARGV[3],"
    " 'by', ARGV[4], 'at', redis.call('TIME')[1], 'note', ARGV[5],"
    " 'from', ARGV[6])\n"
    "redis.call('SET', KEYS[2], n)\n"
    "redis.call('SADD', KEYS[3], ARGV[7])\n"
    "redis.call('PUBLISH', ARGV[8], ARGV[7] .. ' ' .. n)\n"
    "return n\n";

int mops_funnel_field(const char *node, const char *lang, int ev, char *out,
                      size_t outsz)
{
    int n;

    if (ev < 0 || ev >= MOPS_EV_COUNT)
        return -1;
    n = snprintf(out, outsz, "%s|%s|%s", node, lang, mops_ev_names[ev]);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int mops_funnel_field_parse(const char *f, char *node, char *lang, int *ev)
{
    const char *a = f ? strchr(f, '|') : NULL;
    const char *b = a ? strchr(a + 1, '|') : NULL;

    if (!b || a - f >= MENU_NAME_MAX || b - a - 1 >= MENU_NAME_MAX)
        return -1;
    memcpy(node, f, (size_t)(a - f));
    node[a - f] = '\0';
    memcpy(lang, a + 1, (size_t)(b - a - 1));
    lang[b - a - 1] = '\0';
    for (int i = 0; i < MOPS_EV_COUNT; i++) {
        if (strcmp(b + 1, mops_ev_names[i]) == 0) {
            *ev = i;
            return 0;
        }
    }
    return -1;
}

void mops_sha256_hex(const char *s, size_t n, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int len = 0;

    EVP_Digest(s, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

int mops_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n >= MENU_NAME_MAX)
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_-") == n;
}

int mops_publish_args(struct mops_pub *p, const char *prefix,
                      const char *name, const char *text, size_t len,
                      const char *who, const char *note, const char *from,
                      int same)
{
    int bad = 0;

    if (!mops_name_ok(name))
        return -1;
    memset(p, 0, sizeof *p);
    mops_sha256_hex(text, len, p->sum);
    bad |= snprintf(p->k[0], MOPS_KEY_MAX, "%smenu:%s:n", prefix, name) >=
           MOPS_KEY_MAX;
    bad |= snprintf(p->k[1], MOPS_KEY_MAX, "%smenu:%s:current", prefix,
                    name) >= MOPS_KEY_MAX;
    bad |= snprintf(p->k[2], MOPS_KEY_MAX, "%smenus", prefix) >= MOPS_KEY_MAX;
    bad |= snprintf(p->base, MOPS_KEY_MAX, "%smenu:%s:v:", prefix, name) >=
           MOPS_KEY_MAX;
    bad |= snprintf(p->chan, MOPS_KEY_MAX, "%s%s", prefix, MOPS_CHANNEL) >=
           MOPS_KEY_MAX;
    if (bad)
        return -1;
    p->av[0] = "EVAL"; p->av[1] = mops_script_publish; p->av[2] = "3";
    p->av[3] = p->k[0]; p->av[4] = p->k[1]; p->av[5] = p->k[2];
    p->av[6] = p->base; p->av[7] = text; p->av[8] = p->sum; p->av[9] = who;
    p->av[10] = note ? note : ""; p->av[11] = from ? from : "";
    p->av[12] = name; p->av[13] = p->chan; p->av[14] = same ? "1" : "0";
    p->argc = MOPS_PUB_ARGC;
    for (int i = 0; i < MOPS_PUB_ARGC; i++)
        p->al[i] = i == 7 ? len : strlen(p->av[i]);
    return 0;
}

size_t mops_judge(const struct menu *m, const struct mops_chan *chs,
                  size_t n, const char *where, struct menu_diags *d)
{
    size_t served = 0, before = d->errors;

    for (size_t i = 0; i < n; i++) {
        if (chs[i].menu && strcmp(chs[i].menu, m->name) != 0)
            continue;
        served++;
        menu_check_channel(m, chs[i].name, &chs[i].render, d);
    }
    if (!served)
        menu_diag_add(d, MENU_SEV_WARNING, 0, NULL,
                      "no channel in %s serves menu \"%s\"", where, m->name);
    return d->errors - before;
}

struct menu *mops_check(const char *text, const char *label,
                        const struct mops_chan *chs, size_t n,
                        const char *where, struct menu_diags *d)
{
    struct menu *m = NULL;

    if (menu_load_string(text, label, &m, d) != 0 || !m)
        return NULL;
    if (mops_judge(m, chs, n, where, d) || d->errors) {
        menu_free(m);
        m = NULL;
    }
    return m;
}
