/*
 * dialect.h — one aggregator's wire format, as a pair of pure functions.
 *
 * The HTTP server (server.c) hands a dialect the request it received, already
 * bounded in size; the dialect turns it into a normalised `struct inbound` or
 * says which 4xx to answer and why; later it renders the engine's screen back
 * in the aggregator's format. Dialects never touch a socket, Redis, the clock
 * or the log, so they are unit-tested and fuzzed from bytes.
 *
 * One file per dialect: dialect_africastalking.c (USSD and SMS),
 * dialect_hubtel.c, dialect_nalo.c, dialect_arkesel.c, dialect_twilio.c,
 * dialect_kannel.c. Shared decoding lives in form.c (urlencoded) and the
 * dialects use jansson for JSON. See ../shared/PROTOCOLS.md.
 */
#ifndef HOTLINE_DIALECT_H
#define HOTLINE_DIALECT_H

#include <stddef.h>

#define IN_SESSION_MAX 128   /* bytes + NUL of a session id */
#define IN_PHONE_MAX 32      /* bytes + NUL of a phone number */
#define IN_SERVICE_MAX 64    /* bytes + NUL of a service code / short number */
#define IN_TEXT_MAX 4096     /* bytes + NUL of input (AT history can be long) */
#define IN_ID_MAX 128        /* bytes + NUL of a message id / echo field */

/* What the server knows of the HTTP request. All strings NUL-terminated;
 * body is also NUL-terminated at body[body_len] (it may contain NULs before:
 * dialects must refuse those). */
struct dialect_request {
    const char *method;          /* "GET", "POST", ... */
    const char *content_type;    /* Content-Type header or NULL */
    const char *body;
    size_t body_len;
    const char *query;           /* raw query string (no '?'), or NULL */
    const char *public_url;      /* full URL the aggregator called, for
                                    signatures; NULL when not configured */
    const char *signature;       /* X-Twilio-Signature header, or NULL */
    const char *secret;          /* the channel's auth secret (Twilio auth
                                    token), or NULL */
};

enum inbound_kind { IN_USSD = 0, IN_SMS = 1 };

/* A normalised inbound message. */
struct inbound {
    enum inbound_kind kind;
    char session[IN_SESSION_MAX]; /* aggregator session id; Nalo and every SMS
                                    dialect: the phone number */
    char phone[IN_PHONE_MAX];     /* caller in E.164 ("+233200000088")
                                    when it is a number with its country
                                    code, else as the aggregator wrote it */
    char phone_raw[IN_PHONE_MAX]; /* as the aggregator wrote it (echoed) */
    char service[IN_SERVICE_MAX]; /* USSD service code as dialled,
                                    "*384*123#" (Nalo, Arkesel: the whole
                                    dialled string of a new session); SMS:
                                    the "to" number */
    char text[IN_TEXT_MAX];       /* has_history ? AT's whole '*'-joined
                                    history : the latest input (SMS: body) */
    char network[IN_ID_MAX];      /* network / operator code, may be "" */
    char msg_id[IN_ID_MAX];       /* SMS: MessageSid / Kannel %I / AT id;
                                    USSD: Hubtel's Sequence, else "" */
    char user_id[IN_ID_MAX];      /* Nalo USERID / Arkesel userID, echoed */
    char client_state[IN_ID_MAX]; /* Hubtel ClientState, echoed */
    int is_new;                   /* the aggregator says: new session */
    int has_history;              /* text is the full history (AT USSD) */
    int is_release;               /* the aggregator ended the session (Hubtel
                                    Release/Timeout): answer, change nothing */
};

/* The reply the gateway wants to send. */
struct outbound {
    const char *text;            /* screen text, UTF-8; "" = nothing to say */
    int end;                     /* 1 = the session ends */
};

struct dialect {
    const char *name;            /* "africastalking-ussd", ... */
    enum inbound_kind kind;
    int reply_in_body;           /* 0: the reply goes out through an API
                                    (africastalking-sms), the body is empty */
    /* Parses req into *in (zeroed first). Returns 0, or the HTTP status to
     * answer (400 bad/missing field, invalid UTF-8 or control character;
     * 403 bad signature; 405 wrong method; 415 wrong content type) with a
     * short reason in err that contains no personal data. */
    int (*parse)(const struct dialect_request *req, struct inbound *in,
                 char *err, size_t errlen);
    /* Renders out for the request in into buf (NUL-terminated) and sets
     * *ctype. Returns the body length or -1 if buf is too small. */
    int (*render)(const struct inbound *in, const struct outbound *out,
                  char *buf, size_t cap, const char **ctype);
};

/* The dialect named `name`, or NULL. */
const struct dialect *dialect_find(const char *name);
/* dialect_find in the form cfg_set_dialects takes (core/cfg.h). */
const struct dialect *dialect_for_cfg(const char *name, int *sms,
                                      int *reply_in_body);
/* NULL-terminated list of every dialect (for docs and tests). */
const struct dialect *const *dialect_all(void);

/* The number a person or an aggregator wrote, in E.164: "+" and 1 to 15
 * digits, the first not 0. Accepts spaces, dashes, dots and parentheses
 * between digits, a leading "+" or "00", or digits alone (aggregators
 * such as Hubtel and Nalo send "233200000088"). Returns 0 with out set, or
 * -1 (out untouched) for anything else: letters, a national number
 * ("0200000088": its country is unknown), too long, or cap too small. */
int dialect_phone_e164(const char *typed, char *out, size_t cap);

/* What every dialect does last: in->phone_raw keeps the number as
 * written, in->phone becomes E.164 when it can (dialect_phone_e164), and a
 * USSD service code is written "*CODE#" whatever form it came in. */
void dialect_normalise(struct inbound *in);

/* Shared field checks: 1 when s is valid UTF-8 without control characters
 * (allow_newlines: \n, \r and \t are allowed, for SMS bodies). */
int dialect_text_ok(const char *s, size_t len, int allow_newlines);

/* The pre-dialled input in a dialled string: dialled "*714*5*3#" with the
 * service code code "*714#" (or "714", '*' and '#' optional on both) gives
 * "5*3" in out (cap bytes with the NUL); the code alone gives "". Returns
 * 0, or -1 when dialled is not code (optionally followed by "*INPUT") or
 * out is too small (out is then ""). Pure. */
int dialect_predialled(const char *dialled, const char *code, char *out,
                       size_t cap);

#endif
