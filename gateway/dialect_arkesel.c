/*
 * dialect_arkesel.c — Arkesel USSD ("arkesel-ussd"), JSON in and out, per
 * the ussd-builder library (PROTOCOLS.md).
 *
 * newSession true starts a session; its userData is the dialled code, not an
 * input, so it becomes the service code and the input is "" (as for Nalo,
 * the base code is not sent, so a pre-dialled suffix cannot be split off).
 * The reply echoes sessionID, userID and msisdn; continueSession false ends.
 */
#include "dialect_int.h"

#include <string.h>

static const struct dia_field fields[] = {
    DIA_FIELD("sessionID", session, DIA_REQUIRED),
    DIA_FIELD("userID", user_id, DIA_REQUIRED),
    DIA_FIELD("msisdn", phone, DIA_REQUIRED),
    DIA_FIELD("userData", text, DIA_REQUIRED),
    DIA_FIELD("network", network, DIA_OPTIONAL),
};

static const struct dia_field dialled =
    DIA_FIELD("userData", service, DIA_REQUIRED);

static int parse(const struct dialect_request *req, struct inbound *in,
                 char *err, size_t errlen)
{
    int st = dia_json_ussd(req, in, err, errlen, fields, DIA_NFIELDS(fields),
                           "newSession", &dialled);

    if (st)
        return st;
    dialect_normalise(in);
    return 0;
}

static int render(const struct inbound *in, const struct outbound *out,
                  char *buf, size_t cap, const char **ctype)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}",
                          "sessionID", in->session,
                          "userID", in->user_id,
                          "msisdn", in->phone_raw,
                          "message", out->text ? out->text : "",
                          "continueSession", !out->end);

    return dia_render_json(o, buf, cap, ctype);
}

const struct dialect dialect_arkesel_ussd = {
    "arkesel-ussd", IN_USSD, 1, parse, render
};
