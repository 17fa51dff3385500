/*
 * dialect_twilio.c — Twilio incoming SMS ("twilio-sms"): a signed form POST
 * in, TwiML out (PROTOCOLS.md).
 *
 * The signature is checked before any field: a request without a valid
 * X-Twilio-Signature — or one that cannot be checked because the channel
 * has no auth token or no public URL — is answered 403 and nothing else
 * happens. Twilio adds fields at any time, so unknown fields are accepted
 * (and signed over). The SMS conversation is keyed by the sender's number;
 * MessageSid is the retry marker.
 */
#include "dialect_int.h"
#include "twilio_sig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX_CHARS 1600
#define URL_VARIANT_MAX 4096

static const struct dia_field fields[] = {
    DIA_FIELD("MessageSid", msg_id, DIA_REQUIRED),
    DIA_FIELD("From", phone, DIA_REQUIRED),
    DIA_FIELD("To", service, DIA_REQUIRED),
    DIA_FIELD("Body", text, DIA_REQUIRED | DIA_MULTILINE),
};

/* ---- signature --------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    const struct form_field *x = *(const struct form_field *const *)a;
    const struct form_field *y = *(const struct form_field *const *)b;

    return strcmp(x->name, y->name);
}

/* The signed string: url, then name + value of each field sorted by name.
 * Returns a malloc'd buffer (caller frees) and its length in *len. */
static unsigned char *signed_data(const char *url, const struct form *p,
                                  size_t *len)
{
    const struct form_field *sorted[FORM_MAX_FIELDS];
    size_t n = strlen(url);
    unsigned char *d;

    for (size_t i = 0; i < p->n; i++) {
        sorted[i] = &p->field[i];
        n += p->field[i].name_len + p->field[i].value_len;
    }
    qsort(sorted, p->n, sizeof sorted[0], by_name);
    d = malloc(n + 1);
    if (!d)
        return NULL;
    *len = strlen(url);
    memcpy(d, url, *len);
    for (size_t i = 0; i < p->n; i++) {
        memcpy(d + *len, sorted[i]->name, sorted[i]->name_len);
        *len += sorted[i]->name_len;
        memcpy(d + *len, sorted[i]->value, sorted[i]->value_len);
        *len += sorted[i]->value_len;
    }
    return d;
}

int dialect_twilio_signature(const char *token, const char *url,
                             const struct form *params,
                             char out[TWILIO_SIG_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    size_t len = 0;
    unsigned char *d = signed_data(url, params, &len);
    int ok;

    out[0] = '\0';
    if (!d)
        return -1;
    ok = HMAC(EVP_sha1(), token, (int)strlen(token), d, len, mac,
              &maclen) != NULL && maclen == 20;
    free(d);
    if (!ok)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    return 0;
}

/* The URL with its default port added or removed, as Twilio's libraries
 * try it, into out. Returns 1 when there is such a variant. */
static int port_variant(const char *url, char *out, size_t cap)
{
    const char *dflt;
    const char *host;
    const char *end;
    const char *colon;
    size_t dl;

    if (strncasecmp(url, "https://", 8) == 0) {
        dflt = ":443"; host = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        dflt = ":80"; host = url + 7;
    } else {
        return 0;
    }
    dl = strlen(dflt);
    end = host + strcspn(host, "/?#");
    colon = end;
    while (colon > host && colon[-1] >= '0' && colon[-1] <= '9')
        colon--;
    colon = colon > host && colon[-1] == ':' && colon < end ? colon - 1 : end;
    if (strlen(url) + dl >= cap)
        return 0;
    if (colon == end) {                         /* no port: add it */
        memcpy(out, url, (size_t)(end - url));
        memcpy(out + (end - url), dflt, dl);
        strcpy(out + (end - url) + dl, end);
        return 1;
    }
    if ((size_t)(end - colon) != dl || memcmp(colon, dflt, dl) != 0)
        return 0;                               /* another port: as is */
    memcpy(out, url, (size_t)(colon - url));
    strcpy(out + (colon - url), end);
    return 1;
}

static int matches(const char *token, const char *url,
                   const struct form *params, const char *sig)
{
    char want[TWILIO_SIG_LEN + 1];

    if (dialect_twilio_signature(token, url, params, want) != 0)
        return 0;
    return CRYPTO_memcmp(want, sig, TWILIO_SIG_LEN) == 0;
}

int dialect_twilio_verify(const char *token, const char *url,
                          const struct form *params, const char *sig)
{
    char alt[URL_VARIANT_MAX];
    int ok;

    if (!token || !url || !sig || strlen(sig) != TWILIO_SIG_LEN)
        return 0;
    ok = matches(token, url, params, sig);
    if (port_variant(url, alt, sizeof alt))
        ok |= matches(token, alt, params, sig);
    return ok;
}

/* ---- parse and render ---------------------------------------------------- */

static int check_signature(struct dia_ctx *c, const struct form *f)
{
    const struct dialect_request *r = c->req;

    if (!r->secret || !r->secret[0])
        return dia_fail(c, 403, "no auth token configured");
    if (!r->public_url || !r->public_url[0])
        return dia_fail(c, 403, "no public URL configured");
    if (!r->signature)
        return dia_fail(c, 403, "missing signature");
    if (!dialect_twilio_verify(r->secret, r->public_url, f, r->signature))
        return dia_fail(c, 403, "invalid signature");
    return 0;
}

static int parse(const struct dialect_request *req, struct inbound *in,
                 char *err, size_t errlen)
{
    struct dia_ctx c;
    struct form f;
    int st;

    dia_begin(&c, req, in, err, errlen);
    st = dia_read_form(&c, 0, &f);
    if (st == 0)
        st = check_signature(&c, &f);
    if (st == 0)
        st = dia_form_fields(&c, &f, fields, DIA_NFIELDS(fields));
    if (st)
        return st;
    if (dia_utf8_chars(in->text, strlen(in->text)) > BODY_MAX_CHARS)
        return dia_fail(&c, 400, "field Body too long");
    in->kind = IN_SMS;
    dialect_normalise(in);
    memcpy(in->session, in->phone, sizeof in->phone);
    return 0;
}

/* Appends s XML-escaped; characters XML 1.0 forbids are dropped. */
static void add_escaped(struct dia_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        switch (ch) {
        case '&': dia_buf_str(b, "&amp;"); break;
        case '<': dia_buf_str(b, "&lt;"); break;
        case '>': dia_buf_str(b, "&gt;"); break;
        case '"': dia_buf_str(b, "&quot;"); break;
        case '\'': dia_buf_str(b, "&apos;"); break;
        default:
            if (ch >= 0x20 || ch == '\n' || ch == '\r' || ch == '\t')
                dia_buf_add(b, s, 1);
            break;
        }
    }
}

static int render(const struct inbound *in, const struct outbound *out,
                  char *buf, size_t cap, const char **ctype)
{
    const char *text = out->text ? out->text : "";
    struct dia_buf b;

    (void)in;
    *ctype = "text/xml";
    dia_buf_init(&b, buf, cap);
    dia_buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    if (!text[0]) {
        dia_buf_str(&b, "<Response/>");
    } else {
        dia_buf_str(&b, "<Response><Message>");
        add_escaped(&b, text);
        dia_buf_str(&b, "</Message></Response>");
    }
    return dia_buf_end(&b);
}

const struct dialect dialect_twilio_sms = {
    "twilio-sms", IN_SMS, 1, parse, render
};
