/*
 * menu_state.c — a session state as a short string, for Redis.
 *
 * The format, version 1 (one line, fields in this order, all present):
 *
 *   1|n=NODE|p=PAGE|l=LANG|e=ENDED|s=NODE:PAGE,NODE:PAGE|v=NAME=VALUE;NAME=VALUE
 *
 *   n  the node shown, by name        p  its page (decimal)
 *   l  the language, by code          e  0 live, 1 ended on an end/forward
 *                                        node, 2 ended by the duress exit
 *   s  the back stack, oldest first (empty when there is none)
 *   v  the session variables, in order (empty when there are none)
 *
 * followed, only while the resume question is shown over the walk
 * (menu_resume.c), by "|o=1". Every other state encodes exactly as before,
 * so older readers refuse only that one screen.
 *
 * Names, not indices: a state written before a menu reload still means the
 * same screens afterwards, or is refused (MENU_ENOENT) when a node or
 * language it names is gone. Names and values are percent-escaped: every
 * byte below 0x20, 0x7F and the characters % | ; = , : become %XX (upper
 * case hex); every other byte is itself, so UTF-8 text stays readable.
 * Numbers are plain decimal without leading zeros.
 *
 * The decoder is strict (the string comes from Redis and could be
 * anything): exactly this layout, version 1, canonical numbers, no raw
 * control byte, at most MENU_STATE_ENC_MAX - 1 bytes, MENU_STACK_MAX frames,
 * MENU_VARS_MAX distinct non-empty variable names, values shorter than
 * MENU_VAR_VALUE_MAX bytes and valid UTF-8. Whatever it accepts, the encoder
 * writes back in no more bytes, so a decoded state always re-encodes.
 *
 * Pure: no I/O, no allocation.
 */
#include <limits.h>
#include <string.h>

#include "menu_int.h"

#define VERSION "1"
/* Longest node name or language code the decoder reads. */
#define TOKEN_MAX 256

/* ---- encoding ---------------------------------------------------------- */

struct writer {
    char *p;
    size_t len, cap;
    int over;
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (w->over || n >= w->cap - w->len) {
        w->over = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

static void puts_(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static int must_escape(unsigned char c)
{
    return c < 0x20 || c == 0x7F || c == '%' || c == '|' || c == ';' ||
           c == '=' || c == ',' || c == ':';
}

static void put_escaped(struct writer *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char e[3];

        if (!must_escape(c)) {
            put(w, s, 1);
            continue;
        }
        e[0] = '%';
        e[1] = hex[c >> 4];
        e[2] = hex[c & 15];
        put(w, e, 3);
    }
}

static void put_num(struct writer *w, int v)
{
    char d[16];
    size_t n = sizeof d;

    do {
        d[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n > 0);
    put(w, d + n, sizeof d - n);
}

static int name_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL && s[0] != '\0';
}

/* 1 when st can be encoded against m (and would decode back). */
static int encodable(const struct menu *m, const struct menu_state *st)
{
    if (st->node < 0 || (size_t)st->node >= m->nnodes || st->lang < 0 ||
        (size_t)st->lang >= m->nlangs || st->lang >= MENU_MAX_LANGS ||
        st->page < 0 || st->page >= SHRT_MAX || st->ended < 0 ||
        st->ended > 2 || st->offer < 0 || st->offer > 1 ||
        (st->offer && st->ended) || st->depth < 0 ||
        st->depth > MENU_STACK_MAX || st->nvars < 0 ||
        st->nvars > MENU_VARS_MAX)
        return 0;
    for (int i = 0; i < st->depth; i++)
        if (st->stack[i].node < 0 || (size_t)st->stack[i].node >= m->nnodes ||
            st->stack[i].page < 0 || st->stack[i].page >= SHRT_MAX)
            return 0;
    for (int i = 0; i < st->nvars; i++) {
        const struct menu_var *v = &st->vars[i];

        if (!name_ok(v->name, sizeof v->name) ||
            !memchr(v->value, '\0', sizeof v->value) ||
            !menu_utf8_valid(v->value, strlen(v->value)))
            return 0;
        for (int j = 0; j < i; j++)
            if (strcmp(st->vars[j].name, v->name) == 0)
                return 0;
    }
    return 1;
}

int menu_state_encode(const struct menu *m, const struct menu_state *st,
                      char *out, size_t outsz)
{
    struct writer w = { out, 0, outsz, 0 };

    if (!m || !st || !out || outsz == 0 || !m->nodes)
        return MENU_EINVAL;
    out[0] = '\0';
    if (!encodable(m, st))
        return MENU_EINVAL;
    puts_(&w, VERSION "|n=");
    put_escaped(&w, m->nodes[st->node].name);
    puts_(&w, "|p=");
    put_num(&w, st->page);
    puts_(&w, "|l=");
    put_escaped(&w, m->langs[st->lang]);
    puts_(&w, "|e=");
    put_num(&w, st->ended);
    puts_(&w, "|s=");
    for (int i = 0; i < st->depth; i++) {
        if (i > 0)
            puts_(&w, ",");
        put_escaped(&w, m->nodes[st->stack[i].node].name);
        puts_(&w, ":");
        put_num(&w, st->stack[i].page);
    }
    puts_(&w, "|v=");
    for (int i = 0; i < st->nvars; i++) {
        if (i > 0)
            puts_(&w, ";");
        put_escaped(&w, st->vars[i].name);
        puts_(&w, "=");
        put_escaped(&w, st->vars[i].value);
    }
    if (st->offer)
        puts_(&w, "|o=1");
    if (w.over) {
        out[0] = '\0';
        return MENU_ENOSPC;
    }
    return (int)w.len;
}

/* ---- decoding ---------------------------------------------------------- */

/* The input, and the menu names are looked up in (NULL: the syntax pass,
 * which looks nothing up, so a truncated string is MENU_EINVAL even where
 * it cuts a name short). */
struct reader {
    const char *p;
    size_t n, i;
    const struct menu *m;
};

/* Consumes the literal s when it comes next. */
static int expect(struct reader *r, const char *s)
{
    size_t l = strlen(s);

    if (r->n - r->i < l || memcmp(r->p + r->i, s, l) != 0)
        return 0;
    r->i += l;
    return 1;
}

static int at(const struct reader *r, char c)
{
    return r->i < r->n && r->p[r->i] == c;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads an escaped token up to the next delimiter (or the end) into out
 * (cap bytes with the NUL). Returns its length, or MENU_EINVAL for a raw
 * byte that must be escaped, a bad or NUL escape, or a token too long. */
static int token(struct reader *r, char *out, size_t cap)
{
    size_t len = 0;

    while (r->i < r->n) {
        unsigned char c = (unsigned char)r->p[r->i];
        int hi, lo;

        if (c == '|' || c == ';' || c == '=' || c == ',' || c == ':')
            break;
        if (c < 0x20 || c == 0x7F)
            return MENU_EINVAL;
        if (c == '%') {
            if (r->n - r->i < 3)
                return MENU_EINVAL;
            hi = hexval(r->p[r->i + 1]);
            lo = hexval(r->p[r->i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return MENU_EINVAL;
            c = (unsigned char)(hi * 16 + lo);
            r->i += 2;
        }
        if (len + 1 >= cap)
            return MENU_EINVAL;
        out[len++] = (char)c;
        r->i++;
    }
    out[len] = '\0';
    return (int)len;
}

/* Reads a canonical decimal below SHRT_MAX. */
static int number(struct reader *r, int *v)
{
    size_t start = r->i;

    *v = 0;
    while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9') {
        *v = *v * 10 + (r->p[r->i] - '0');
        r->i++;
        if (*v >= SHRT_MAX)
            return MENU_EINVAL;
    }
    if (r->i == start || (r->p[start] == '0' && r->i - start > 1))
        return MENU_EINVAL;
    return 0;
}

/* Reads a node name; returns its index (0 in the syntax pass),
 * MENU_ENOENT or MENU_EINVAL. */
static int node_name(struct reader *r)
{
    char name[TOKEN_MAX];
    int idx;

    if (token(r, name, sizeof name) <= 0)
        return MENU_EINVAL;
    if (!r->m)
        return 0;
    idx = menu_node_index(r->m, name);
    if (idx < 0 || (size_t)idx >= r->m->nnodes)
        return MENU_ENOENT;
    return idx;
}

/* n=NODE|p=PAGE|l=LANG|e=ENDED| */
static int read_head(struct reader *r, struct menu_state *st)
{
    char code[TOKEN_MAX];
    int rc;

    if (!expect(r, VERSION "|n="))
        return MENU_EINVAL;
    rc = node_name(r);
    if (rc < 0)
        return rc;
    st->node = rc;
    if (!expect(r, "|p=") || number(r, &st->page) < 0 || !expect(r, "|l=") ||
        token(r, code, sizeof code) <= 0)
        return MENU_EINVAL;
    st->lang = r->m ? menu_lang_index(r->m, code) : 0;
    if (st->lang < 0 || (r->m && (size_t)st->lang >= r->m->nlangs))
        return MENU_ENOENT;
    if (!expect(r, "|e=") || number(r, &st->ended) < 0 || st->ended > 2)
        return MENU_EINVAL;
    return 0;
}

/* s=NODE:PAGE,... */
static int read_stack(struct reader *r, struct menu_state *st)
{
    if (!expect(r, "|s="))
        return MENU_EINVAL;
    if (at(r, '|'))
        return 0;
    do {
        int page;
        int rc;

        if (st->depth >= MENU_STACK_MAX)
            return MENU_EINVAL;
        rc = node_name(r);
        if (rc < 0)
            return rc;
        if (!expect(r, ":") || number(r, &page) < 0)
            return MENU_EINVAL;
        st->stack[st->depth].node = (short)rc;
        st->stack[st->depth].page = (short)page;
        st->depth++;
    } while (expect(r, ","));
    return 0;
}

/* v=NAME=VALUE;... up to the end of the input or an "|o=1" that ends it. */
static int read_vars(struct reader *r, struct menu_state *st)
{
    if (!expect(r, "|v="))
        return MENU_EINVAL;
    if (r->i == r->n || at(r, '|'))
        return 0;
    do {
        struct menu_var *v;
        int vl;

        if (st->nvars >= MENU_VARS_MAX)
            return MENU_EINVAL;
        v = &st->vars[st->nvars];
        if (token(r, v->name, sizeof v->name) <= 0 || !expect(r, "="))
            return MENU_EINVAL;
        vl = token(r, v->value, sizeof v->value);
        if (vl < 0 || !menu_utf8_valid(v->value, (size_t)vl))
            return MENU_EINVAL;
        for (int j = 0; j < st->nvars; j++)
            if (strcmp(st->vars[j].name, v->name) == 0)
                return MENU_EINVAL;
        st->nvars++;
    } while (expect(r, ";"));
    return r->i == r->n || at(r, '|') ? 0 : MENU_EINVAL;
}

/* The optional "|o=1" (the resume question), then the end. */
static int read_offer(struct reader *r, struct menu_state *st)
{
    if (r->i < r->n) {
        if (!expect(r, "|o=1") || st->ended)
            return MENU_EINVAL;
        st->offer = 1;
    }
    return r->i == r->n ? 0 : MENU_EINVAL;
}

/* One pass over the whole input into st (zeroed first). */
static int read_all(struct reader *r, struct menu_state *st)
{
    int rc;

    memset(st, 0, sizeof *st);
    r->i = 0;
    rc = read_head(r, st);
    if (rc == 0)
        rc = read_stack(r, st);
    if (rc == 0)
        rc = read_vars(r, st);
    if (rc == 0)
        rc = read_offer(r, st);
    return rc;
}

int menu_state_decode(const struct menu *m, const char *in, size_t len,
                      struct menu_state *st)
{
    struct reader r = { in, len, 0, NULL };
    int rc;

    if (!st)
        return MENU_EINVAL;
    memset(st, 0, sizeof *st);
    if (!m || !m->nodes || !in || len >= MENU_STATE_ENC_MAX ||
        memchr(in, '\0', len))
        return MENU_EINVAL;
    rc = read_all(&r, st);
    if (rc == 0) {
        r.m = m;
        rc = read_all(&r, st);
    }
    if (rc < 0)
        memset(st, 0, sizeof *st);
    return rc;
}
