/*
 * dialect_int.h — what the dialect files share (dialect.c implements it);
 * not for the rest of the gateway, which sees only dialect.h.
 *
 * A parse runs with a struct dia_ctx (the request, the message being filled,
 * the caller's error buffer). Fields are described by tables of struct
 * dia_field — the wire name, where it goes in struct inbound, whether it is
 * required and whether it may hold newlines — and copied by one generic
 * helper per encoding (dia_form_fields, dia_json_fields), which applies every
 * check: presence, type, length against the inbound buffer, dialect_text_ok.
 * Every helper returns 0 or the HTTP status to answer, with err filled.
 */
#ifndef HOTLINE_DIALECT_INT_H
#define HOTLINE_DIALECT_INT_H

#include <stddef.h>
#include <jansson.h>

#include "dialect.h"
#include "form.h"

extern const struct dialect dialect_africastalking_ussd;
extern const struct dialect dialect_africastalking_sms;
extern const struct dialect dialect_hubtel_ussd;
extern const struct dialect dialect_nalo_ussd;
extern const struct dialect dialect_arkesel_ussd;
extern const struct dialect dialect_twilio_sms;
extern const struct dialect dialect_kannel_sms;

#define CT_FORM "application/x-www-form-urlencoded"
#define CT_JSON "application/json"

struct dia_ctx {
    const struct dialect_request *req;
    struct inbound *in;
    char *err;
    size_t errlen;
};

enum {
    DIA_OPTIONAL = 0,
    DIA_REQUIRED = 1,            /* absent (or JSON null) -> 400 */
    DIA_MULTILINE = 2            /* \n \r \t allowed (SMS bodies) */
};

struct dia_field {
    const char *name;            /* on the wire */
    size_t off;                  /* offsetof(struct inbound, member) */
    size_t cap;                  /* sizeof that member */
    unsigned flags;
};

#define DIA_FIELD(wire, member, flags) \
    { wire, offsetof(struct inbound, member), \
      sizeof(((struct inbound *)0)->member), flags }

#define DIA_NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Zeroes *in and sets up *c. */
void dia_begin(struct dia_ctx *c, const struct dialect_request *req,
               struct inbound *in, char *err, size_t errlen);
/* Writes the formatted reason into c->err; returns status. */
int dia_fail(struct dia_ctx *c, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* 1 when the media type of ctype (parameters and blanks ignored, case
 * insensitive) is want; 0 otherwise and when ctype is NULL. */
int dia_ctype_is(const char *ctype, const char *want);

/* Method, content type and body checks of a form dialect, then decodes the
 * body (POST) or, when allow_get, the query string (GET) into *f. */
int dia_read_form(struct dia_ctx *c, int allow_get, struct form *f);
/* Copies each field of t found in f into c->in, with every check. */
int dia_form_fields(struct dia_ctx *c, const struct form *f,
                    const struct dia_field *t, size_t n);

/* Method, content type and body checks of a JSON dialect, then parses the
 * body, which must be one object. On 0 the caller owns *root. */
int dia_read_json(struct dia_ctx *c, json_t **root);
/* Copies each string field of t found in o into c->in, with every check. */
int dia_json_fields(struct dia_ctx *c, json_t *o, const struct dia_field *t,
                    size_t n);
/* The required boolean o[name] into *out. */
int dia_json_bool(struct dia_ctx *c, json_t *o, const char *name, int *out);

/* The JSON USSD request of Nalo and Arkesel: the fields of table t, the
 * boolean `new_flag` (new session), and on a new session the input field
 * holds the dialled code, which goes to `dialled` and leaves the input "".
 * Returns 0 or the HTTP status (err says why). */
int dia_json_ussd(const struct dialect_request *req, struct inbound *in,
                  char *err, size_t errlen, const struct dia_field *t,
                  size_t n, const char *new_flag,
                  const struct dia_field *dialled);

/* Copies v[0..len) into dst (cap bytes with the NUL) after the length and
 * text checks; name is for the error. */
int dia_copy(struct dia_ctx *c, const struct dia_field *fd, const char *v,
             size_t len);

/* Dumps o compactly into buf (NUL-terminated), sets *ctype to JSON, and
 * releases o (which may be NULL: a failed json_pack). Returns the length,
 * or -1 when it does not fit or o is NULL. */
int dia_render_json(json_t *o, char *buf, size_t cap, const char **ctype);

/* A bounded appender for the text renderers. */
struct dia_buf {
    char *p;
    size_t cap;
    size_t len;
    int overflow;
};

void dia_buf_init(struct dia_buf *b, char *p, size_t cap);
void dia_buf_add(struct dia_buf *b, const char *s, size_t n);
void dia_buf_str(struct dia_buf *b, const char *s);
/* NUL-terminates; returns the length, or -1 when anything did not fit. */
int dia_buf_end(struct dia_buf *b);

/* The number of code points of valid UTF-8 s[0..len). */
size_t dia_utf8_chars(const char *s, size_t len);

#endif
