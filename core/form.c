/*
 * form.c — urlencoded decoding into a bounded struct form; see form.h.
 *
 * Every pair "name=value&" decodes into "name\0value\0" in f->buf, which is
 * never longer than the input (percent-decoding only shrinks), so
 * FORM_MAX_BYTES + 1 bytes of storage always suffice; a pair without '='
 * points its value at a shared empty string.
 */
#include "form.h"

#include <stdio.h>
#include <string.h>

static const char empty[] = "";

int form_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) onto out (room for len + 1 bytes), NUL-terminates it,
 * stores the decoded length in *outlen. Returns 0, or -1 on a malformed
 * percent escape. */
static int decode(const char *s, size_t len, char *out, size_t *outlen)
{
    size_t i = 0;
    size_t n = 0;

    while (i < len) {
        if (s[i] == '%') {
            int hi;
            int lo;

            if (len - i < 3)
                return -1;
            hi = form_hexval((unsigned char)s[i + 1]);
            lo = form_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[n++] = (char)(hi * 16 + lo);
            i += 3;
        } else {
            out[n++] = s[i] == '+' ? ' ' : s[i];
            i++;
        }
    }
    out[n] = '\0';
    *outlen = n;
    return 0;
}

/* 1 when name is short and made of [A-Za-z0-9_.-]: safe to echo. */
static int echoable(const char *name, size_t len)
{
    if (len == 0 || len > 32)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int fail(char *err, size_t errlen, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    return -1;
}

/* Adds the pair s[0..len) (non-empty, no '&') as the next field. */
static int add_pair(struct form *f, size_t *used, const char *s, size_t len,
                    char *err, size_t errlen)
{
    const char *eq = memchr(s, '=', len);
    size_t nlen = eq ? (size_t)(eq - s) : len;
    struct form_field *fld;

    if (f->n == FORM_MAX_FIELDS)
        return fail(err, errlen, "too many fields");
    fld = &f->field[f->n];
    fld->name = f->buf + *used;
    if (decode(s, nlen, f->buf + *used, &fld->name_len) != 0)
        return fail(err, errlen, "malformed percent escape");
    if (fld->name_len == 0)
        return fail(err, errlen, "field without a name");
    if (memchr(fld->name, '\0', fld->name_len))
        return fail(err, errlen, "NUL byte in a field name");
    *used += fld->name_len + 1;
    fld->value = empty;
    fld->value_len = 0;
    if (eq) {
        fld->value = f->buf + *used;
        if (decode(eq + 1, len - nlen - 1, f->buf + *used,
                   &fld->value_len) != 0)
            return fail(err, errlen, "malformed percent escape");
        *used += fld->value_len + 1;
    }
    if (form_get(f, fld->name)) {
        if (err && errlen) {
            if (echoable(fld->name, fld->name_len))
                snprintf(err, errlen, "duplicated field %s", fld->name);
            else
                snprintf(err, errlen, "duplicated field");
        }
        return -1;
    }
    f->n++;
    return 0;
}

int form_parse(struct form *f, const char *s, size_t len, char *err,
               size_t errlen)
{
    size_t used = 0;
    size_t i = 0;

    f->n = 0;
    f->buf[0] = '\0';
    if (len > FORM_MAX_BYTES)
        return fail(err, errlen, "form too large");
    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - s) : len;

        if (end > i && add_pair(f, &used, s + i, end - i, err, errlen) != 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

const struct form_field *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->field[i].name, name) == 0)
            return &f->field[i];
    }
    return NULL;
}
