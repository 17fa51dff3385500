/*
 * dialect_kannel.c — Kannel's smsbox sms-service ("kannel-sms"): the
 * get-url of PROTOCOLS.md as a GET query, or the same fields as a form POST;
 * the reply is the HTTP body itself, text/plain UTF-8, and an empty body
 * sends nothing.
 *
 * `charset` (%C) says how `text` is encoded. Kannel passes a UCS-2 message
 * (coding 2: anything with Vietnamese diacritics) as UTF-16BE unless smsbox
 * recodes it, and older setups pass 7-bit text as Latin-1/Windows-1252, so
 * those are converted to UTF-8 here; an unknown charset is refused. `smsc`
 * (%i) is kept as the network. The SMS conversation is keyed by the
 * sender's number; `id` (%I) is the retry marker.
 */
#include "dialect_int.h"

#include <string.h>
#include <strings.h>

#define CT_TEXT "text/plain; charset=utf-8"

enum charset { CS_UTF8, CS_UTF16BE, CS_CP1252, CS_UNKNOWN };

static const struct dia_field fields[] = {
    DIA_FIELD("from", phone, DIA_REQUIRED),
    DIA_FIELD("to", service, DIA_OPTIONAL),
    DIA_FIELD("id", msg_id, DIA_OPTIONAL),
    DIA_FIELD("smsc", network, DIA_OPTIONAL),
};

static const struct dia_field text_field =
    DIA_FIELD("text", text, DIA_REQUIRED | DIA_MULTILINE);

/* Windows-1252 0x80..0x9F (0 = undefined); Latin-1 elsewhere. */
static const unsigned short cp1252[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

static enum charset charset_of(const struct form_field *f)
{
    static const char *const utf8[] = { "UTF-8", "UTF8", "US-ASCII",
                                        "ASCII", NULL };
    static const char *const utf16[] = { "UTF-16BE", "UTF-16", "UCS-2",
                                         "UCS-2BE", "ISO-10646-UCS-2", NULL };
    static const char *const latin[] = { "ISO-8859-1", "ISO8859-1", "LATIN1",
                                         "WINDOWS-1252", "CP1252", NULL };

    if (!f || f->value_len == 0)
        return CS_UTF8;
    for (size_t i = 0; utf8[i]; i++)
        if (strcasecmp(f->value, utf8[i]) == 0)
            return CS_UTF8;
    for (size_t i = 0; utf16[i]; i++)
        if (strcasecmp(f->value, utf16[i]) == 0)
            return CS_UTF16BE;
    for (size_t i = 0; latin[i]; i++)
        if (strcasecmp(f->value, latin[i]) == 0)
            return CS_CP1252;
    return CS_UNKNOWN;
}

/* Appends code point cp as UTF-8 to out (cap bytes); -1 when full. */
static int put_utf8(unsigned long cp, char *out, size_t cap, size_t *n)
{
    unsigned char u[4];
    size_t k;

    if (cp < 0x80) {
        u[0] = (unsigned char)cp; k = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6)); k = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | (cp >> 12)); k = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | (cp >> 18)); k = 4;
    }
    for (size_t i = 1; i < k; i++)
        u[i] = (unsigned char)(0x80 | ((cp >> (6 * (k - 1 - i))) & 0x3F));
    if (*n + k >= cap)
        return -1;
    memcpy(out + *n, u, k);
    *n += k;
    return 0;
}

/* UTF-16BE s[0..len) to UTF-8 in out. Returns the length, or -1 on an odd
 * length, a lone surrogate or no room. */
static long from_utf16be(const unsigned char *s, size_t len, char *out,
                         size_t cap)
{
    size_t n = 0;

    if (len % 2)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        unsigned long cp = (unsigned long)s[i] << 8 | s[i + 1];

        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return -1;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            unsigned long lo;

            if (i + 3 >= len)
                return -1;
            lo = (unsigned long)s[i + 2] << 8 | s[i + 3];
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 2;
        }
        if (put_utf8(cp, out, cap, &n) != 0)
            return -1;
    }
    return (long)n;
}

/* Windows-1252 s[0..len) to UTF-8 in out; -1 on an undefined byte or no
 * room. */
static long from_cp1252(const unsigned char *s, size_t len, char *out,
                        size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned long cp = s[i];

        if (cp >= 0x80 && cp <= 0x9F) {
            cp = cp1252[cp - 0x80];
            if (cp == 0)
                return -1;
        }
        if (put_utf8(cp, out, cap, &n) != 0)
            return -1;
    }
    return (long)n;
}

/* The text field, converted to UTF-8 per charset, into in->text. */
static int take_text(struct dia_ctx *c, const struct form *f)
{
    const struct form_field *t = form_get(f, "text");
    enum charset cs = charset_of(form_get(f, "charset"));
    char conv[IN_TEXT_MAX];
    long n;

    if (!t)
        return dia_fail(c, 400, "missing field text");
    if (cs == CS_UNKNOWN)
        return dia_fail(c, 400, "field charset: unsupported");
    if (cs == CS_UTF8)
        return dia_copy(c, &text_field, t->value, t->value_len);
    if (cs == CS_UTF16BE)
        n = from_utf16be((const unsigned char *)t->value, t->value_len, conv,
                         sizeof conv);
    else
        n = from_cp1252((const unsigned char *)t->value, t->value_len, conv,
                        sizeof conv);
    if (n < 0)
        return dia_fail(c, 400, "field text: not in its charset or too long");
    return dia_copy(c, &text_field, conv, (size_t)n);
}

static int parse(const struct dialect_request *req, struct inbound *in,
                 char *err, size_t errlen)
{
    struct dia_ctx c;
    struct form f;
    int st;

    dia_begin(&c, req, in, err, errlen);
    st = dia_read_form(&c, 1, &f);
    if (st == 0)
        st = dia_form_fields(&c, &f, fields, DIA_NFIELDS(fields));
    if (st == 0)
        st = take_text(&c, &f);
    if (st)
        return st;
    in->kind = IN_SMS;
    dialect_normalise(in);
    memcpy(in->session, in->phone, sizeof in->phone);
    return 0;
}

static int render(const struct inbound *in, const struct outbound *out,
                  char *buf, size_t cap, const char **ctype)
{
    struct dia_buf b;

    (void)in;
    *ctype = CT_TEXT;
    dia_buf_init(&b, buf, cap);
    dia_buf_str(&b, out->text ? out->text : "");
    return dia_buf_end(&b);
}

const struct dialect dialect_kannel_sms = {
    "kannel-sms", IN_SMS, 1, parse, render
};
