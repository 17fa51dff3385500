/*
 * form.h — application/x-www-form-urlencoded decoding (POST bodies and query
 * strings), bounded and strict.
 *
 * A form is decoded into storage inside the struct: no allocation, nothing
 * to free, and at most FORM_MAX_FIELDS fields from at most FORM_MAX_BYTES of
 * input. Decoding follows the WHATWG rules where they are unambiguous ('&'
 * separates pairs, the first '=' separates name from value, '+' is a space,
 * %XX is a byte) and refuses what they leave to guesswork: a '%' not followed
 * by two hex digits, an empty name, a NUL byte in a name, and the same name
 * twice (which value would a dialect mean?). Empty pairs ("a=1&&b=2") are
 * skipped. Values are bytes: they may contain a NUL from %00, so every value
 * carries its length; the callers validate text with dialect_text_ok().
 *
 * Error strings name the problem and, for a duplicated field, the field's
 * name when it is a plain identifier — never a value.
 */
#ifndef HOTLINE_FORM_H
#define HOTLINE_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS 64
#define FORM_MAX_BYTES 32768

struct form_field {
    const char *name;            /* NUL-terminated, no NUL inside */
    size_t name_len;
    const char *value;           /* NUL-terminated at value[value_len] */
    size_t value_len;
};

struct form {
    size_t n;                                /* fields, in input order */
    struct form_field field[FORM_MAX_FIELDS];
    char buf[FORM_MAX_BYTES + 1];            /* decoded names and values */
};

/* Decodes len bytes of s (s may be NULL when len is 0) into *f, which is
 * reset first. Returns 0, or -1 with a reason in err (no caller data but a
 * plain field name). *f is unusable after -1. */
int form_parse(struct form *f, const char *s, size_t len, char *err,
               size_t errlen);

/* The field called name, or NULL. The pointer lives as long as *f. */
const struct form_field *form_get(const struct form *f, const char *name);

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other byte. */
int form_hexval(int c);

#endif
