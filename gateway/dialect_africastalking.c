/*
 * dialect_africastalking.c — Africa's Talking USSD and incoming SMS
 * (PROTOCOLS.md), both form POSTs.
 *
 * USSD ("africastalking-ussd"): `text` is the whole '*'-joined history of the
 * session, so the message has has_history set and the gateway replays it;
 * a pre-dialled `*384*123*1#` arrives as text "1" on the first request. The
 * reply is text/plain beginning "CON " (continue) or "END " (end).
 *
 * SMS ("africastalking-sms"): the reply is not in the HTTP body but sent
 * through the messaging API (sms_reply.h); render writes an empty body. An
 * SMS conversation is keyed by the sender's number.
 */
#include "dialect_int.h"

#include <string.h>

#define CT_TEXT "text/plain; charset=utf-8"

static const struct dia_field ussd_fields[] = {
    DIA_FIELD("sessionId", session, DIA_REQUIRED),
    DIA_FIELD("serviceCode", service, DIA_REQUIRED),
    DIA_FIELD("phoneNumber", phone, DIA_REQUIRED),
    DIA_FIELD("text", text, DIA_REQUIRED),
    DIA_FIELD("networkCode", network, DIA_OPTIONAL),
};

static const struct dia_field sms_fields[] = {
    DIA_FIELD("from", phone, DIA_REQUIRED),
    DIA_FIELD("to", service, DIA_REQUIRED),
    DIA_FIELD("text", text, DIA_REQUIRED | DIA_MULTILINE),
    DIA_FIELD("id", msg_id, DIA_OPTIONAL),
    DIA_FIELD("networkCode", network, DIA_OPTIONAL),
};

static int ussd_parse(const struct dialect_request *req, struct inbound *in,
                      char *err, size_t errlen)
{
    struct dia_ctx c;
    struct form f;
    int st;

    dia_begin(&c, req, in, err, errlen);
    st = dia_read_form(&c, 0, &f);
    if (st == 0)
        st = dia_form_fields(&c, &f, ussd_fields, DIA_NFIELDS(ussd_fields));
    if (st)
        return st;
    in->kind = IN_USSD;
    in->has_history = 1;
    in->is_new = in->text[0] == '\0';
    dialect_normalise(in);
    return 0;
}

/* "CON text" or "END text", exactly: AT ends the session on anything else. */
static int ussd_render(const struct inbound *in, const struct outbound *out,
                       char *buf, size_t cap, const char **ctype)
{
    struct dia_buf b;

    (void)in;
    *ctype = CT_TEXT;
    dia_buf_init(&b, buf, cap);
    dia_buf_str(&b, out->end ? "END " : "CON ");
    dia_buf_str(&b, out->text ? out->text : "");
    return dia_buf_end(&b);
}

static int sms_parse(const struct dialect_request *req, struct inbound *in,
                     char *err, size_t errlen)
{
    struct dia_ctx c;
    struct form f;
    int st;

    dia_begin(&c, req, in, err, errlen);
    st = dia_read_form(&c, 0, &f);
    if (st == 0)
        st = dia_form_fields(&c, &f, sms_fields, DIA_NFIELDS(sms_fields));
    if (st)
        return st;
    in->kind = IN_SMS;
    dialect_normalise(in);
    memcpy(in->session, in->phone, sizeof in->phone);
    return 0;
}

/* The reply goes out through the messaging API: the webhook's body is empty. */
static int sms_render(const struct inbound *in, const struct outbound *out,
                      char *buf, size_t cap, const char **ctype)
{
    (void)in;
    (void)out;
    *ctype = CT_TEXT;
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    return 0;
}

const struct dialect dialect_africastalking_ussd = {
    "africastalking-ussd", IN_USSD, 1, ussd_parse, ussd_render
};

const struct dialect dialect_africastalking_sms = {
    "africastalking-sms", IN_SMS, 0, sms_parse, sms_render
};
