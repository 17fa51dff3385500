/*
 * dialect.c — the dialect registry and what every dialect shares: request
 * checks (method, content type, NUL bytes), field extraction from forms and
 * JSON objects by table, text validation, and reply buffers. See dialect.h
 * for the contract and dialect_int.h for the helpers.
 *
 * The UTF-8 validator is our own (not menus/) so the gateway's input checks
 * do not depend on the engine: it refuses overlong forms, surrogates, code
 * points above U+10FFFF, C0 and C1 controls and DEL.
 */
#include "dialect_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct dialect *const all[] = {
    &dialect_africastalking_ussd,
    &dialect_africastalking_sms,
    &dialect_hubtel_ussd,
    &dialect_nalo_ussd,
    &dialect_arkesel_ussd,
    &dialect_twilio_sms,
    &dialect_kannel_sms,
    NULL
};

const struct dialect *dialect_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; all[i]; i++) {
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    }
    return NULL;
}

const struct dialect *dialect_for_cfg(const char *name, int *sms,
                                      int *reply_in_body)
{
    const struct dialect *d = dialect_find(name);

    if (d) {
        *sms = d->kind == IN_SMS;
        *reply_in_body = d->reply_in_body;
    }
    return d;
}

const struct dialect *const *dialect_all(void)
{
    return all;
}

/* ---- text ------------------------------------------------------------- */

/* Decodes one UTF-8 sequence at s (n > 0 bytes left) into *cp. Returns its
 * length, or 0 when it is not valid (truncated, overlong, surrogate, too
 * large). */
static size_t utf8_next(const unsigned char *s, size_t n, unsigned long *cp)
{
    size_t len;
    unsigned long c;
    unsigned long min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2; c = s[0] & 0x1F; min = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3; c = s[0] & 0x0F; min = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4; c = s[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

int dialect_text_ok(const char *s, size_t len, int allow_newlines)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned long cp;
        size_t n = utf8_next(u + i, len - i, &cp);

        if (n == 0)
            return 0;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            if (!allow_newlines || (cp != '\n' && cp != '\r' && cp != '\t'))
                return 0;
        }
        i += n;
    }
    return 1;
}

size_t dia_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    }
    return n;
}

/* ---- context and errors ----------------------------------------------- */

void dia_begin(struct dia_ctx *c, const struct dialect_request *req,
               struct inbound *in, char *err, size_t errlen)
{
    memset(in, 0, sizeof *in);
    c->req = req;
    c->in = in;
    c->err = err;
    c->errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
}

int dia_fail(struct dia_ctx *c, int status, const char *fmt, ...)
{
    va_list ap;

    if (c->err && c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

int dia_ctype_is(const char *ctype, const char *want)
{
    size_t wl = strlen(want);
    size_t n;

    if (!ctype)
        return 0;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    n = strcspn(ctype, "; \t");
    if (n != wl || strncasecmp(ctype, want, wl) != 0)
        return 0;
    ctype += n;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    return *ctype == '\0' || *ctype == ';';
}

/* The method and body checks shared by both encodings. */
static int check_post(struct dia_ctx *c, const char *ctype)
{
    const struct dialect_request *r = c->req;

    if (!r->method || strcmp(r->method, "POST") != 0)
        return dia_fail(c, 405, "use POST");
    if (!dia_ctype_is(r->content_type, ctype))
        return dia_fail(c, 415, "content type must be %s", ctype);
    if (r->body_len && (!r->body || memchr(r->body, '\0', r->body_len)))
        return dia_fail(c, 400, "NUL byte in body");
    return 0;
}

/* ---- fields ------------------------------------------------------------ */

int dia_copy(struct dia_ctx *c, const struct dia_field *fd, const char *v,
             size_t len)
{
    char *dst = (char *)c->in + fd->off;

    if (len >= fd->cap)
        return dia_fail(c, 400, "field %s too long", fd->name);
    if (!dialect_text_ok(v, len, (fd->flags & DIA_MULTILINE) != 0))
        return dia_fail(c, 400, "field %s: invalid UTF-8 or control "
                        "character", fd->name);
    memcpy(dst, v, len);
    dst[len] = '\0';
    return 0;
}

int dia_read_form(struct dia_ctx *c, int allow_get, struct form *f)
{
    const struct dialect_request *r = c->req;
    char why[96];
    int st;

    if (allow_get && r->method && strcmp(r->method, "GET") == 0) {
        const char *q = r->query ? r->query : "";

        if (form_parse(f, q, strlen(q), why, sizeof why) != 0)
            return dia_fail(c, 400, "query: %s", why);
        return 0;
    }
    st = check_post(c, CT_FORM);
    if (st == 405 && allow_get)
        return dia_fail(c, 405, "use GET or POST");
    if (st)
        return st;
    if (form_parse(f, r->body, r->body_len, why, sizeof why) != 0)
        return dia_fail(c, 400, "body: %s", why);
    return 0;
}

int dia_form_fields(struct dia_ctx *c, const struct form *f,
                    const struct dia_field *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct form_field *ff = form_get(f, t[i].name);
        int st;

        if (!ff) {
            if (t[i].flags & DIA_REQUIRED)
                return dia_fail(c, 400, "missing field %s", t[i].name);
            continue;
        }
        st = dia_copy(c, &t[i], ff->value, ff->value_len);
        if (st)
            return st;
    }
    return 0;
}

int dia_read_json(struct dia_ctx *c, json_t **root)
{
    const struct dialect_request *r = c->req;
    json_error_t je;
    json_t *o;
    int st = check_post(c, CT_JSON);

    *root = NULL;
    if (st)
        return st;
    o = json_loadb(r->body ? r->body : "", r->body_len,
                   JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        /* je.text may quote the input: never passed on. */
        if (strstr(je.text, "duplicate"))
            return dia_fail(c, 400, "duplicated field in JSON");
        return dia_fail(c, 400, "invalid JSON");
    }
    if (!json_is_object(o)) {
        json_decref(o);
        return dia_fail(c, 400, "JSON body is not an object");
    }
    *root = o;
    return 0;
}

int dia_json_fields(struct dia_ctx *c, json_t *o, const struct dia_field *t,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(o, t[i].name);
        int st;

        if (!v || json_is_null(v)) {
            if (t[i].flags & DIA_REQUIRED)
                return dia_fail(c, 400, "missing field %s", t[i].name);
            continue;
        }
        if (!json_is_string(v))
            return dia_fail(c, 400, "field %s must be a string", t[i].name);
        st = dia_copy(c, &t[i], json_string_value(v), json_string_length(v));
        if (st)
            return st;
    }
    return 0;
}

int dia_json_bool(struct dia_ctx *c, json_t *o, const char *name, int *out)
{
    json_t *v = json_object_get(o, name);

    if (!v || json_is_null(v))
        return dia_fail(c, 400, "missing field %s", name);
    if (!json_is_boolean(v))
        return dia_fail(c, 400, "field %s must be true or false", name);
    *out = json_is_true(v);
    return 0;
}

/* ---- replies ----------------------------------------------------------- */

int dia_render_json(json_t *o, char *buf, size_t cap, const char **ctype)
{
    size_t n;

    *ctype = CT_JSON;
    if (cap)
        buf[0] = '\0';
    if (!o)
        return -1;
    n = json_dumpb(o, buf, cap, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n >= cap) {
        if (cap)
            buf[0] = '\0';
        return -1;
    }
    buf[n] = '\0';
    return (int)n;
}

void dia_buf_init(struct dia_buf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->overflow = cap == 0;
}

void dia_buf_add(struct dia_buf *b, const char *s, size_t n)
{
    if (b->overflow || n >= b->cap - b->len) {
        b->overflow = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

void dia_buf_str(struct dia_buf *b, const char *s)
{
    dia_buf_add(b, s, strlen(s));
}

int dia_buf_end(struct dia_buf *b)
{
    if (b->overflow) {
        if (b->cap)
            b->p[0] = '\0';
        return -1;
    }
    b->p[b->len] = '\0';
    return (int)b->len;
}

int dia_json_ussd(const struct dialect_request *req, struct inbound *in,
                  char *err, size_t errlen, const struct dia_field *t,
                  size_t n, const char *new_flag,
                  const struct dia_field *dialled)
{
    struct dia_ctx c;
    json_t *o = NULL;
    int st;

    dia_begin(&c, req, in, err, errlen);
    st = dia_read_json(&c, &o);
    if (st == 0)
        st = dia_json_fields(&c, o, t, n);
    if (st == 0)
        st = dia_json_bool(&c, o, new_flag, &in->is_new);
    json_decref(o);
    if (st == 0 && in->is_new) {
        st = dia_copy(&c, dialled, in->text, strlen(in->text));
        in->text[0] = '\0';
    }
    if (st)
        return st;
    in->kind = IN_USSD;
    return 0;
}

int dialect_phone_e164(const char *typed, char *out, size_t cap)
{
    char d[16];
    size_t n = 0;
    const char *p = typed;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '+')
        p++;
    else if (p[0] == '0' && p[1] == '0')
        p += 2;
    else if (p[0] == '0')
        return -1;                      /* national: no country code */
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == 15)
                return -1;
            d[n++] = *p;
        } else if (!strchr(" \t-.()", *p)) {
            return -1;
        }
    }
    if (n == 0 || d[0] == '0' || n + 2 > cap)
        return -1;
    out[0] = '+';
    memcpy(out + 1, d, n);
    out[n + 1] = '\0';
    return 0;
}

/* "384*123", "*384*123" or "384*123#" -> "*384*123#". */
static void service_code(char *s, size_t cap)
{
    char tmp[IN_SERVICE_MAX];
    size_t n = strlen(s);
    const char *b = s;

    if (n == 0 || cap > sizeof tmp)
        return;
    if (*b == '*') {
        b++;
        n--;
    }
    if (n && b[n - 1] == '#')
        n--;
    if (n == 0 || n + 3 > cap)
        return;
    tmp[0] = '*';
    memcpy(tmp + 1, b, n);
    tmp[n + 1] = '#';
    tmp[n + 2] = '\0';
    memcpy(s, tmp, n + 3);
}

void dialect_normalise(struct inbound *in)
{
    char e164[IN_PHONE_MAX];

    memcpy(in->phone_raw, in->phone, sizeof in->phone_raw);
    if (dialect_phone_e164(in->phone, e164, sizeof e164) == 0)
        memcpy(in->phone, e164, sizeof e164);
    if (in->kind == IN_USSD)
        service_code(in->service, sizeof in->service);
}

/* s without a leading '*' and a trailing '#': *start, *len. */
static void bare_code(const char *s, const char **start, size_t *len)
{
    size_t n;

    if (*s == '*')
        s++;
    n = strlen(s);
    if (n && s[n - 1] == '#')
        n--;
    *start = s;
    *len = n;
}

int dialect_predialled(const char *dialled, const char *code, char *out,
                       size_t cap)
{
    const char *m;
    const char *c;
    size_t ml;
    size_t cl;

    if (cap == 0)
        return -1;
    out[0] = '\0';
    bare_code(dialled, &m, &ml);
    bare_code(code, &c, &cl);
    if (cl == 0 || ml < cl || memcmp(m, c, cl) != 0)
        return -1;
    if (ml == cl)
        return 0;
    if (m[cl] != '*' || ml - cl - 1 >= cap)
        return -1;
    memcpy(out, m + cl + 1, ml - cl - 1);
    out[ml - cl - 1] = '\0';
    return 0;
}
