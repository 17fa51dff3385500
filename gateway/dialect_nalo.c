/*
 * dialect_nalo.c — Nalo USSD ("nalo-ussd"), JSON in and out, per the
 * ussd-builder library (PROTOCOLS.md).
 *
 * Nalo sends no session id: the phone number (MSISDN) is the session key.
 * MSGTYPE true marks a new session, whose USERDATA is the dialled code
 * ("*920*55#"), not an input: it becomes the service code and the input is
 * "". A pre-dialled code ("*920*55*2#") cannot be split without knowing the
 * base code, which Nalo does not send, so its input is "" too. MSISDN
 * ("233200000456") is stored in E.164 ("+233200000456"); the reply echoes
 * USERID and MSISDN as Nalo sent them; its MSGTYPE true means "continue".
 */
#include "dialect_int.h"

#include <string.h>

static const struct dia_field fields[] = {
    DIA_FIELD("USERID", user_id, DIA_REQUIRED),
    DIA_FIELD("MSISDN", phone, DIA_REQUIRED),
    DIA_FIELD("USERDATA", text, DIA_REQUIRED),
    DIA_FIELD("NETWORK", network, DIA_OPTIONAL),
};

static const struct dia_field dialled =
    DIA_FIELD("USERDATA", service, DIA_REQUIRED);

static int parse(const struct dialect_request *req, struct inbound *in,
                 char *err, size_t errlen)
{
    int st = dia_json_ussd(req, in, err, errlen, fields, DIA_NFIELDS(fields),
                           "MSGTYPE", &dialled);

    if (st)
        return st;
    dialect_normalise(in);
    memcpy(in->session, in->phone, sizeof in->phone);
    return 0;
}

static int render(const struct inbound *in, const struct outbound *out,
                  char *buf, size_t cap, const char **ctype)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}",
                          "USERID", in->user_id,
                          "MSISDN", in->phone_raw,
                          "MSG", out->text ? out->text : "",
                          "MSGTYPE", !out->end);

    return dia_render_json(o, buf, cap, ctype);
}

const struct dialect dialect_nalo_ussd = {
    "nalo-ussd", IN_USSD, 1, parse, render
};
