/*
 * dialect_hubtel.c — Hubtel USSD ("hubtel-ussd"), JSON in and out, the
 * latest input only (PROTOCOLS.md).
 *
 * Type Initiation starts a session; its Message is the whole dialled string,
 * so the input is what follows the service code ("*714*5*3#" with
 * ServiceCode "714*5" -> "3"; "*714#" with "714" -> ""; a Message that does
 * not begin with the service code -> ""). Several pre-dialled levels
 * ("*714*5*3#" with "714") arrive as one input "5*3", which the gateway
 * replays level by level as it does an Africa's Talking history. Release
 * and Timeout mean Hubtel has ended the session: the gateway answers and
 * changes nothing. ClientState is echoed back. Sequence (the request's
 * number in its session) goes to msg_id, so that a retried step is
 * recognised (session.c).
 */
#include "dialect_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct dia_field fields[] = {
    DIA_FIELD("SessionId", session, DIA_REQUIRED),
    DIA_FIELD("Mobile", phone, DIA_REQUIRED),
    DIA_FIELD("ServiceCode", service, DIA_OPTIONAL),
    DIA_FIELD("Operator", network, DIA_OPTIONAL),
    DIA_FIELD("ClientState", client_state, DIA_OPTIONAL),
};

static const struct dia_field message_field =
    DIA_FIELD("Message", text, DIA_OPTIONAL);

/* Rewrites in->text (the dialled string) to the input after in->service:
 * every level ("5*3"), walked by the gateway like an Africa's Talking
 * history; a Message that is not the service code gives "". */
static void predialled(struct inbound *in)
{
    char input[IN_TEXT_MAX];

    if (dialect_predialled(in->text, in->service, input, sizeof input) != 0)
        input[0] = '\0';
    memcpy(in->text, input, sizeof input);
}

/* Type into is_new / is_release; Message is required unless Hubtel ended. */
static int apply_type(struct dia_ctx *c, json_t *o)
{
    json_t *t = json_object_get(o, "Type");
    json_t *m = json_object_get(o, "Message");
    const char *s;

    if (!t || json_is_null(t))
        return dia_fail(c, 400, "missing field Type");
    if (!json_is_string(t))
        return dia_fail(c, 400, "field Type must be a string");
    s = json_string_value(t);
    if (strcasecmp(s, "Initiation") == 0)
        c->in->is_new = 1;
    else if (strcasecmp(s, "Release") == 0 || strcasecmp(s, "Timeout") == 0)
        c->in->is_release = 1;
    else if (strcasecmp(s, "Response") != 0)
        return dia_fail(c, 400, "field Type: unknown value");
    if (!c->in->is_release && (!m || json_is_null(m)))
        return dia_fail(c, 400, "missing field Message");
    return 0;
}

/* Sequence, Hubtel's number of the request in its session, into msg_id
 * (decimal): the gateway answers a step whose number it has seen already
 * with the same screen instead of taking it twice. */
static int read_sequence(struct dia_ctx *c, json_t *o)
{
    json_t *v = json_object_get(o, "Sequence");
    const char *s;

    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return dia_fail(c, 400, "field Sequence must be a number");
        snprintf(c->in->msg_id, sizeof c->in->msg_id, "%lld",
                 (long long)json_integer_value(v));
        return 0;
    }
    if (!json_is_string(v))
        return dia_fail(c, 400, "field Sequence must be a number");
    s = json_string_value(v);
    if (strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return dia_fail(c, 400, "field Sequence must be a number");
    snprintf(c->in->msg_id, sizeof c->in->msg_id, "%s", s);
    return 0;
}

static int parse(const struct dialect_request *req, struct inbound *in,
                 char *err, size_t errlen)
{
    struct dia_ctx c;
    json_t *o = NULL;
    int st;

    dia_begin(&c, req, in, err, errlen);
    st = dia_read_json(&c, &o);
    if (st == 0)
        st = dia_json_fields(&c, o, fields, DIA_NFIELDS(fields));
    if (st == 0)
        st = dia_json_fields(&c, o, &message_field, 1);
    if (st == 0)
        st = read_sequence(&c, o);
    if (st == 0)
        st = apply_type(&c, o);
    json_decref(o);
    if (st)
        return st;
    in->kind = IN_USSD;
    if (in->is_new)
        predialled(in);
    dialect_normalise(in);
    return 0;
}

static int render(const struct inbound *in, const struct outbound *out,
                  char *buf, size_t cap, const char **ctype)
{
    json_t *o = json_pack("{s:s, s:s, s:s}",
                          "Type", out->end ? "Release" : "Response",
                          "Message", out->text ? out->text : "",
                          "ClientState", in->client_state);

    return dia_render_json(o, buf, cap, ctype);
}

const struct dialect dialect_hubtel_ussd = {
    "hubtel-ussd", IN_USSD, 1, parse, render
};
