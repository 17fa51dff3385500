/*
 * test_dialect.c — every aggregator dialect from bytes: what each request
 * becomes (the normalised inbound message), the exact reply bytes each
 * aggregator gets back, Twilio's published signature vector, and each 4xx a
 * malformed request earns — with reasons that never carry caller data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "dialect.h"
#include "form.h"
#include "mask.h"
#include "twilio_sig.h"

#define CT_FORM "application/x-www-form-urlencoded"
#define CT_JSON "application/json"

#define TW_TOKEN "12345"
#define TW_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define TW_PARAMS "CallSid=CA1234567890ABCDE&Caller=%2B14158675309" \
                  "&Digits=1234&From=%2B14158675309&To=%2B18005551212"
#define TW_SIG "RSOYDt4T1cUTdK1PDd93/VVr8B8="

static struct inbound in;
static char err[160];

/* One request through the named dialect; the result is in `in` and `err`. */
static int parse_full(const char *dialect, const struct dialect_request *r)
{
    const struct dialect *d = dialect_find(dialect);

    assert_non_null(d);
    err[0] = '\0';
    return d->parse(r, &in, err, sizeof err);
}

static int parse_len(const char *dialect, const char *method,
                     const char *ctype, const char *body, size_t len)
{
    struct dialect_request r = { 0 };

    r.method = method;
    r.content_type = ctype;
    r.body = body;
    r.body_len = len;
    return parse_full(dialect, &r);
}

static int parse(const char *dialect, const char *method, const char *ctype,
                 const char *body)
{
    return parse_len(dialect, method, ctype, body, strlen(body));
}

static int post(const char *dialect, const char *body)
{
    const char *ct = strstr(dialect, "-ussd") && strncmp(dialect, "africa", 6)
                     ? CT_JSON : CT_FORM;

    return parse(dialect, "POST", ct, body);
}

static int render(const char *dialect, const char *text, int end, char *buf,
                  size_t cap, const char **ctype)
{
    const struct dialect *d = dialect_find(dialect);
    struct outbound out = { text, end };

    assert_non_null(d);
    return d->render(&in, &out, buf, cap, ctype);
}

/* ---- Twilio -------------------------------------------------------------- */

static int twilio(const char *body, const char *url, const char *sig,
                  const char *secret)
{
    struct dialect_request r = { 0 };

    r.method = "POST";
    r.content_type = CT_FORM;
    r.body = body;
    r.body_len = strlen(body);
    r.public_url = url;
    r.signature = sig;
    r.secret = secret;
    return parse_full("twilio-sms", &r);
}

static void test_twilio_vector(void **state)
{
    static struct form f;
    char sig[TWILIO_SIG_LEN + 1];

    (void)state;
    assert_int_equal(form_parse(&f, TW_PARAMS, strlen(TW_PARAMS), err,
                                sizeof err), 0);
    assert_int_equal(dialect_twilio_signature(TW_TOKEN, TW_URL, &f, sig), 0);
    assert_string_equal(sig, TW_SIG);
    assert_int_equal(dialect_twilio_verify(TW_TOKEN, TW_URL, &f, TW_SIG), 1);
    assert_int_equal(dialect_twilio_verify(TW_TOKEN,
        "https://mycompany.com:443/myapp.php?foo=1&bar=2", &f, TW_SIG), 1);
    assert_int_equal(dialect_twilio_verify(TW_TOKEN,
        "https://mycompany.com:8443/myapp.php?foo=1&bar=2", &f, TW_SIG), 0);
    assert_int_equal(dialect_twilio_verify("12346", TW_URL, &f, TW_SIG), 0);
}

/* The vector's params carry no SMS fields: a request that passes the
 * signature fails later, on the first missing field (400, not 403). */
static void test_twilio_signature_gate(void **state)
{
    char flipped[] = TW_SIG;

    (void)state;
    assert_int_equal(twilio(TW_PARAMS, TW_URL, TW_SIG, TW_TOKEN), 400);
    assert_string_equal(err, "missing field MessageSid");
    assert_int_equal(twilio(TW_PARAMS,
        "https://mycompany.com:443/myapp.php?foo=1&bar=2", TW_SIG, TW_TOKEN),
        400);
    assert_string_equal(err, "missing field MessageSid");

    flipped[3] = flipped[3] == 'Y' ? 'Z' : 'Y';
    assert_int_equal(twilio(TW_PARAMS, TW_URL, flipped, TW_TOKEN), 403);
    assert_string_equal(err, "invalid signature");
    assert_int_equal(twilio(TW_PARAMS, TW_URL, NULL, TW_TOKEN), 403);
    assert_string_equal(err, "missing signature");
    assert_int_equal(twilio(TW_PARAMS, TW_URL, TW_SIG, NULL), 403);
    assert_int_equal(twilio(TW_PARAMS, NULL, TW_SIG, TW_TOKEN), 403);
    assert_int_equal(twilio(TW_PARAMS, TW_URL, "", TW_TOKEN), 403);
    /* A changed value breaks the signature. */
    assert_int_equal(twilio("CallSid=CA1234567890ABCDE&Caller=%2B14158675309"
        "&Digits=1235&From=%2B14158675309&To=%2B18005551212", TW_URL, TW_SIG,
        TW_TOKEN), 403);
}

static void test_twilio_sms(void **state)
{
    static struct form f;
    const char *body = "ToCountry=US&MessageSid=SM42&AccountSid=AC1"
                       "&From=%2B84912345678&To=%2B15005550006"
                       "&Body=Gi%C3%BAp+t%C3%B4i%0Ahelp&NumMedia=0"
                       "&SomethingNew=x";
    const char *url = "http://gw.example.org/sms/twilio?key=k";
    char sig[TWILIO_SIG_LEN + 1];

    (void)state;
    assert_int_equal(form_parse(&f, body, strlen(body), err, sizeof err), 0);
    assert_int_equal(dialect_twilio_signature("tok", url, &f, sig), 0);
    assert_int_equal(twilio(body, url, sig, "tok"), 0);
    assert_int_equal(in.kind, IN_SMS);
    assert_string_equal(in.msg_id, "SM42");
    assert_string_equal(in.phone, "+84912345678");
    assert_string_equal(in.session, "+84912345678");
    assert_string_equal(in.service, "+15005550006");
    assert_string_equal(in.text, "Gi\xC3\xBAp t\xC3\xB4i\nhelp");
    /* Twilio signed the URL with :80, we know it without (or vice versa). */
    assert_int_equal(twilio(body, "http://gw.example.org:80/sms/twilio?key=k",
                            sig, "tok"), 0);
}

static void test_twilio_body_limit(void **state)
{
    static char body[8192];
    static struct form f;
    char sig[TWILIO_SIG_LEN + 1];
    size_t n;

    (void)state;
    n = (size_t)snprintf(body, sizeof body,
                         "MessageSid=SM1&From=%%2B1&To=%%2B2&Body=");
    memset(body + n, 'a', 1601);
    body[n + 1601] = '\0';
    assert_int_equal(form_parse(&f, body, strlen(body), err, sizeof err), 0);
    dialect_twilio_signature("t", "https://h/x", &f, sig);
    assert_int_equal(twilio(body, "https://h/x", sig, "t"), 400);
    assert_string_equal(err, "field Body too long");
    body[n + 1600] = '\0';
    assert_int_equal(form_parse(&f, body, strlen(body), err, sizeof err), 0);
    dialect_twilio_signature("t", "https://h/x", &f, sig);
    assert_int_equal(twilio(body, "https://h/x", sig, "t"), 0);
}

static void test_twilio_render(void **state)
{
    char buf[256];
    const char *ct = NULL;
    int n;

    (void)state;
    n = render("twilio-sms", "a <&> \"b\" 'c'", 1, buf, sizeof buf, &ct);
    assert_string_equal(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<Response><Message>a &lt;&amp;&gt; &quot;b&quot; &apos;c&apos;"
        "</Message></Response>");
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(ct, "text/xml");
    n = render("twilio-sms", "", 0, buf, sizeof buf, &ct);
    assert_string_equal(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                        "<Response/>");
    assert_int_equal(render("twilio-sms", "hello", 0, buf, 40, &ct), -1);
}

/* ---- Africa's Talking ---------------------------------------------------- */

static void test_at_first_and_history(void **state)
{
    (void)state;
    assert_int_equal(post("africastalking-ussd",
        "sessionId=ATUid_1&serviceCode=%2A384%2A123%23"
        "&phoneNumber=%2B84901234567&networkCode=45204&text="), 0);
    assert_int_equal(in.kind, IN_USSD);
    assert_string_equal(in.session, "ATUid_1");
    assert_string_equal(in.service, "*384*123#");
    assert_string_equal(in.phone, "+84901234567");
    assert_string_equal(in.network, "45204");
    assert_string_equal(in.text, "");
    assert_int_equal(in.has_history, 1);
    assert_int_equal(in.is_new, 1);

    assert_int_equal(post("africastalking-ussd",
        "sessionId=ATUid_1&serviceCode=*384*123%23&phoneNumber=%2B84901234567"
        "&text=2*1*Block+B*7"), 0);
    assert_string_equal(in.text, "2*1*Block B*7");
    assert_string_equal(in.network, "");
    assert_int_equal(in.has_history, 1);
    assert_int_equal(in.is_new, 0);
}

static void test_at_render(void **state)
{
    char buf[64];
    const char *ct = NULL;

    (void)state;
    assert_int_equal(render("africastalking-ussd", "Menu\n1. Help", 0, buf,
                            sizeof buf, &ct), 16);
    assert_string_equal(buf, "CON Menu\n1. Help");
    assert_string_equal(ct, "text/plain; charset=utf-8");
    assert_int_equal(render("africastalking-ussd", "Bye", 1, buf, sizeof buf,
                            &ct), 7);
    assert_string_equal(buf, "END Bye");
    assert_int_equal(render("africastalking-ussd", "12345", 1, buf, 9, &ct),
                     -1);
    assert_int_equal(render("africastalking-ussd", "1234", 1, buf, 9, &ct),
                     8);
}

static void test_at_sms(void **state)
{
    char buf[16] = "x";
    const char *ct = NULL;

    (void)state;
    assert_int_equal(dialect_find("africastalking-sms")->reply_in_body, 0);
    assert_int_equal(post("africastalking-sms",
        "from=%2B84944444444&to=12345&text=HELP%0D%0Ame&date=2026-11-22"
        "&id=at-1&linkId=L&networkCode=45204"), 0);
    assert_int_equal(in.kind, IN_SMS);
    assert_string_equal(in.phone, "+84944444444");
    assert_string_equal(in.session, "+84944444444");
    assert_string_equal(in.service, "12345");
    assert_string_equal(in.text, "HELP\r\nme");
    assert_string_equal(in.msg_id, "at-1");
    assert_int_equal(render("africastalking-sms", "Choose", 0, buf,
                            sizeof buf, &ct), 0);
    assert_string_equal(buf, "");
}

/* ---- the JSON USSD dialects --------------------------------------------- */

static void test_hubtel(void **state)
{
    (void)state;
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-1\",\"Mobile\":\"233200000123\","
        "\"ServiceCode\":\"714*5\",\"Type\":\"Initiation\","
        "\"Message\":\"*714*5*3#\",\"Operator\":\"mtn\",\"ClientState\":\"\","
        "\"Sequence\":1}"), 0);
    assert_int_equal(in.is_new, 1);
    assert_int_equal(in.is_release, 0);
    assert_int_equal(in.has_history, 0);
    assert_string_equal(in.text, "3");
    assert_string_equal(in.session, "hub-1");
    /* Hubtel writes numbers without "+" and codes without "*" and "#":
     * stored in E.164 and as dialled, like every other dialect's. */
    assert_string_equal(in.phone, "+233200000123");
    assert_string_equal(in.phone_raw, "233200000123");
    assert_string_equal(in.service, "*714*5#");
    assert_string_equal(in.network, "mtn");

    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-1\",\"Mobile\":\"233\",\"ServiceCode\":\"714\","
        "\"Type\":\"Initiation\",\"Message\":\"*714#\"}"), 0);
    assert_string_equal(in.text, "");

    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-1\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"Hanoi\",\"ClientState\":\"cs-7\",\"Sequence\":\"3\"}"),
        0);
    assert_int_equal(in.is_new, 0);
    assert_string_equal(in.text, "Hanoi");
    assert_string_equal(in.client_state, "cs-7");

    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-1\",\"Mobile\":\"233\",\"Type\":\"Release\"}"),
        0);
    assert_int_equal(in.is_release, 1);
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-1\",\"Mobile\":\"233\",\"Type\":\"Timeout\","
        "\"Message\":\"\"}"), 0);
    assert_int_equal(in.is_release, 1);

    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"233\",\"Type\":\"Response\"}"),
        400);
    assert_string_equal(err, "missing field Message");
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"233\",\"Type\":\"Bogus\","
        "\"Message\":\"1\"}"), 400);
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"1\",\"Sequence\":{}}"), 400);
    assert_string_equal(err, "field Sequence must be a number");
}

/* Several pre-dialled levels, and Sequence kept for the retry check. */
static void test_hubtel_levels_and_sequence(void **state)
{
    (void)state;
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-2\",\"Mobile\":\"233\",\"ServiceCode\":\"714\","
        "\"Type\":\"Initiation\",\"Message\":\"*714*2*1#\",\"Sequence\":1}"),
        0);
    assert_string_equal(in.text, "2*1");
    assert_string_equal(in.msg_id, "1");
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-2\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"Hanoi\",\"Sequence\":\"12\"}"), 0);
    assert_string_equal(in.msg_id, "12");
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-2\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"1\"}"), 0);
    assert_string_equal(in.msg_id, "");
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"1\",\"Sequence\":\"3x\"}"), 400);
    assert_string_equal(err, "field Sequence must be a number");
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"1\",\"Sequence\":-1}"), 400);
}

static void test_predialled_split(void **state)
{
    char out[16];

    (void)state;
    assert_int_equal(dialect_predialled("*920*55*2*1#", "*920*55#", out,
                                        sizeof out), 0);
    assert_string_equal(out, "2*1");
    assert_int_equal(dialect_predialled("*920*55#", "920*55", out,
                                        sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(dialect_predialled("*920*56*2#", "*920*55#", out,
                                        sizeof out), -1);
    assert_int_equal(dialect_predialled("*920*551#", "*920*55#", out,
                                        sizeof out), -1);
    assert_int_equal(dialect_predialled("*920#", "*920*55#", out,
                                        sizeof out), -1);
    assert_int_equal(dialect_predialled("*920*55*2*1#", "", out,
                                        sizeof out), -1);
    /* Too long for out: refused, out empty. */
    assert_int_equal(dialect_predialled("*1*0123456789012345#", "*1#", out,
                                        sizeof out), -1);
    assert_string_equal(out, "");
}

static json_t *load_reply(const char *buf)
{
    json_error_t je;
    json_t *o = json_loads(buf, 0, &je);

    assert_non_null(o);
    assert_true(json_is_object(o));
    return o;
}

static void test_hubtel_render(void **state)
{
    char buf[256];
    const char *ct = NULL;
    json_t *o;

    (void)state;
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"hub-1\",\"Mobile\":\"233\",\"Type\":\"Response\","
        "\"Message\":\"1\",\"ClientState\":\"cs\"}"), 0);
    render("hubtel-ussd", "Where \"now\"?\n0. Back", 0, buf, sizeof buf, &ct);
    assert_string_equal(buf, "{\"Type\":\"Response\",\"Message\":"
        "\"Where \\\"now\\\"?\\n0. Back\",\"ClientState\":\"cs\"}");
    assert_string_equal(ct, "application/json");
    render("hubtel-ussd", "Sent.", 1, buf, sizeof buf, &ct);
    o = load_reply(buf);
    assert_string_equal(json_string_value(json_object_get(o, "Type")),
                        "Release");
    assert_string_equal(json_string_value(json_object_get(o, "Message")),
                        "Sent.");
    json_decref(o);
    assert_int_equal(render("hubtel-ussd", "Sent.", 1, buf, 20, &ct), -1);
}

static void test_nalo(void **state)
{
    char buf[256];
    const char *ct = NULL;
    json_t *o;
    int n;

    (void)state;
    assert_int_equal(post("nalo-ussd",
        "{\"USERID\":\"nalo-user\",\"MSISDN\":\"233200000456\","
        "\"USERDATA\":\"*920*55#\",\"MSGTYPE\":true,\"NETWORK\":\"MTN\"}"), 0);
    assert_int_equal(in.kind, IN_USSD);
    assert_int_equal(in.is_new, 1);
    assert_string_equal(in.text, "");
    assert_string_equal(in.service, "*920*55#");
    assert_string_equal(in.session, "+233200000456");
    assert_string_equal(in.phone, "+233200000456");
    assert_string_equal(in.user_id, "nalo-user");
    assert_string_equal(in.network, "MTN");

    assert_int_equal(post("nalo-ussd",
        "{\"USERID\":\"nalo-user\",\"MSISDN\":\"233200000456\","
        "\"USERDATA\":\"2\",\"MSGTYPE\":false}"), 0);
    assert_int_equal(in.is_new, 0);
    assert_string_equal(in.text, "2");

    n = render("nalo-ussd", "Menu", 0, buf, sizeof buf, &ct);
    assert_int_equal(n, (int)strlen(buf));
    assert_string_equal(buf, "{\"USERID\":\"nalo-user\",\"MSISDN\":"
        "\"233200000456\",\"MSG\":\"Menu\",\"MSGTYPE\":true}");
    assert_string_equal(ct, "application/json");
    render("nalo-ussd", "Bye", 1, buf, sizeof buf, &ct);
    o = load_reply(buf);
    assert_true(json_is_false(json_object_get(o, "MSGTYPE")));
    assert_string_equal(json_string_value(json_object_get(o, "MSG")), "Bye");
    assert_string_equal(json_string_value(json_object_get(o, "USERID")),
                        "nalo-user");
    json_decref(o);

    assert_int_equal(post("nalo-ussd",
        "{\"USERID\":\"u\",\"MSISDN\":\"2\",\"USERDATA\":\"2\","
        "\"MSGTYPE\":\"true\"}"), 400);
    assert_string_equal(err, "field MSGTYPE must be true or false");
    assert_int_equal(post("nalo-ussd",
        "{\"USERID\":\"u\",\"MSISDN\":233,\"USERDATA\":\"2\","
        "\"MSGTYPE\":true}"), 400);
    assert_string_equal(err, "field MSISDN must be a string");
}

static void test_arkesel(void **state)
{
    char buf[256];
    const char *ct = NULL;
    json_t *o;

    (void)state;
    assert_int_equal(post("arkesel-ussd",
        "{\"sessionID\":\"ark-1\",\"userID\":\"ark-user\",\"newSession\":true,"
        "\"msisdn\":\"233200000789\",\"userData\":\"*920*56#\","
        "\"network\":\"MTN\"}"), 0);
    assert_int_equal(in.is_new, 1);
    assert_string_equal(in.text, "");
    assert_string_equal(in.service, "*920*56#");
    assert_string_equal(in.session, "ark-1");
    assert_string_equal(in.user_id, "ark-user");
    assert_string_equal(in.phone, "+233200000789");

    assert_int_equal(post("arkesel-ussd",
        "{\"sessionID\":\"ark-1\",\"userID\":\"ark-user\",\"newSession\":false,"
        "\"msisdn\":\"233200000789\",\"userData\":\"Hanoi\"}"), 0);
    assert_int_equal(in.is_new, 0);
    assert_string_equal(in.text, "Hanoi");

    render("arkesel-ussd", "Tiếng Việt", 0, buf, sizeof buf, &ct);
    assert_string_equal(buf, "{\"sessionID\":\"ark-1\",\"userID\":\"ark-user\","
        "\"msisdn\":\"233200000789\",\"message\":\"Tiếng Việt\","
        "\"continueSession\":true}");
    render("arkesel-ussd", "End", 1, buf, sizeof buf, &ct);
    o = load_reply(buf);
    assert_true(json_is_false(json_object_get(o, "continueSession")));
    assert_string_equal(json_string_value(json_object_get(o, "sessionID")),
                        "ark-1");
    assert_string_equal(json_string_value(json_object_get(o, "message")),
                        "End");
    json_decref(o);
}

/* ---- Kannel ---------------------------------------------------------------- */

static int kannel_get(const char *query)
{
    struct dialect_request r = { 0 };

    r.method = "GET";
    r.query = query;
    r.body = "";
    return parse_full("kannel-sms", &r);
}

static void test_kannel(void **state)
{
    char buf[64];
    const char *ct = NULL;

    (void)state;
    assert_int_equal(kannel_get("from=%2B84933333333&to=1234"
        "&text=++Gi%C3%BAp+&id=k1&smsc=fake&coding=0&charset=UTF-8&key=s"), 0);
    assert_int_equal(in.kind, IN_SMS);
    assert_string_equal(in.phone, "+84933333333");
    assert_string_equal(in.session, "+84933333333");
    assert_string_equal(in.service, "1234");
    assert_string_equal(in.text, "  Gi\xC3\xBAp ");
    assert_string_equal(in.msg_id, "k1");
    assert_string_equal(in.network, "fake");

    /* UCS-2 as Kannel passes it without mo-recode: "Giúp" in UTF-16BE. */
    assert_int_equal(kannel_get("from=%2B8493&text=%00G%00i%00%FA%00p"
                                "&coding=2&charset=UTF-16BE"), 0);
    assert_string_equal(in.text, "Gi\xC3\xBAp");
    assert_int_equal(kannel_get("from=%2B8493&text=%80uro&charset=WINDOWS-1252"),
                     0);
    assert_string_equal(in.text, "\xE2\x82\xAC" "uro");
    assert_int_equal(kannel_get("from=%2B8493&text=x&charset=KOI8-R"), 400);
    assert_int_equal(kannel_get("from=%2B8493&text=%00G%00&charset=UCS-2"),
                     400);
    assert_int_equal(kannel_get(NULL), 400);
    assert_string_equal(err, "missing field from");

    assert_int_equal(parse("kannel-sms", "POST", CT_FORM,
                           "from=%2B8493&to=1234&text=HELP&id=k2"), 0);
    assert_string_equal(in.text, "HELP");
    assert_int_equal(parse("kannel-sms", "PUT", CT_FORM, "from=1&text=x"),
                     405);
    assert_int_equal(parse("kannel-sms", "POST", "text/plain", "x"), 415);

    assert_int_equal(render("kannel-sms", "Choose language", 0, buf,
                            sizeof buf, &ct), 15);
    assert_string_equal(buf, "Choose language");
    assert_string_equal(ct, "text/plain; charset=utf-8");
    assert_int_equal(render("kannel-sms", "", 1, buf, sizeof buf, &ct), 0);
    assert_string_equal(buf, "");
}

/* ---- every 4xx ------------------------------------------------------------ */

#define AT_OK "sessionId=a&serviceCode=1&phoneNumber=%2B1234"

static void test_method_and_content_type(void **state)
{
    (void)state;
    assert_int_equal(parse("africastalking-ussd", "GET", CT_FORM, AT_OK
                           "&text="), 405);
    assert_string_equal(err, "use POST");
    assert_int_equal(parse("hubtel-ussd", "GET", CT_JSON, "{}"), 405);
    assert_int_equal(parse("twilio-sms", "PUT", CT_FORM, ""), 405);
    assert_int_equal(parse("africastalking-ussd", "POST", CT_JSON, "{}"),
                     415);
    assert_string_equal(err, "content type must be "
                        "application/x-www-form-urlencoded");
    assert_int_equal(parse("africastalking-ussd", "POST", NULL, AT_OK
                           "&text="), 415);
    assert_int_equal(parse("nalo-ussd", "POST", CT_FORM, "{}"), 415);
    assert_int_equal(parse("arkesel-ussd", "POST", "application/jsonx",
                           "{}"), 415);
    /* Parameters and case do not matter. */
    assert_int_equal(parse("africastalking-ussd", "POST",
                           "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
                           AT_OK "&text="), 0);
    assert_int_equal(parse("arkesel-ussd", "POST",
        "application/json ; charset=utf-8",
        "{\"sessionID\":\"a\",\"userID\":\"u\",\"newSession\":false,"
        "\"msisdn\":\"1\",\"userData\":\"1\"}"), 0);
}

static void test_bad_text(void **state)
{
    static const char nul_body[] = AT_OK "&text=a\0b";
    char long_phone[128];

    (void)state;
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%FF"), 400);
    assert_string_equal(err, "field text: invalid UTF-8 or control character");
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%01"), 400);
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=a%0Ab"), 400);
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%00"), 400);
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%C0%AF"), 400);
    assert_int_equal(parse_len("africastalking-ussd", "POST", CT_FORM,
                               nul_body, sizeof nul_body - 1), 400);
    assert_string_equal(err, "NUL byte in body");
    assert_int_equal(parse_len("hubtel-ussd", "POST", CT_JSON, "{}\0",
                               3), 400);
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"2\",\"Type\":\"Response\","
        "\"Message\":\"\\u0007\"}"), 400);
    assert_string_equal(err,
                        "field Message: invalid UTF-8 or control character");
    assert_int_equal(post("arkesel-ussd",
        "{\"sessionID\":\"a\",\"userID\":\"u\",\"newSession\":false,"
        "\"msisdn\":\"1\",\"userData\":\"\xFF\"}"), 400);
    snprintf(long_phone, sizeof long_phone, "sessionId=a&serviceCode=1"
             "&text=&phoneNumber=%040d", 0);
    assert_int_equal(post("africastalking-ussd", long_phone), 400);
    assert_string_equal(err, "field phoneNumber too long");
}

static void test_missing_duplicated_malformed(void **state)
{
    (void)state;
    assert_int_equal(post("africastalking-ussd",
        "serviceCode=1&phoneNumber=%2B1234&text="), 400);
    assert_string_equal(err, "missing field sessionId");
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=1&text=2"),
                     400);
    assert_string_equal(err, "body: duplicated field text");
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=1&%01=1&%01=2"),
                     400);
    assert_string_equal(err, "body: duplicated field");
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%G1"), 400);
    assert_string_equal(err, "body: malformed percent escape");
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%4"), 400);
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=%"), 400);
    assert_int_equal(post("africastalking-ussd", AT_OK "&text=1&=x"), 400);
    assert_int_equal(post("hubtel-ussd", "[1,2]"), 400);
    assert_string_equal(err, "JSON body is not an object");
    assert_int_equal(post("hubtel-ussd", "\"SECRET\""), 400);
    assert_int_equal(post("hubtel-ussd", "{\"SessionId\":"), 400);
    assert_string_equal(err, "invalid JSON");
    assert_int_equal(post("nalo-ussd", "{\"USERID\":\"a\",\"USERID\":\"b\"}"),
                     400);
    assert_string_equal(err, "duplicated field in JSON");
    assert_int_equal(post("arkesel-ussd", "{\"sessionID\":\"a\"}"), 400);
    assert_string_equal(err, "missing field userID");
}

/* Reasons name the problem, never what the caller sent. */
static void test_errors_carry_no_caller_data(void **state)
{
    static const char *const bodies[] = {
        AT_OK "&text=SECRET%FF", AT_OK "&text=SECRET&text=SECRET",
        "sessionId=SECRET&serviceCode=1&phoneNumber=%2B84987654321",
        AT_OK "&x=SECRET%ZZ", "x=SECRET&x=SECRET",
        "sessionId=SECRET&serviceCode=1&phoneNumber=%2B84987654321&text=%01",
    };

    (void)state;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        assert_int_equal(post("africastalking-ussd", bodies[i]), 400);
        assert_null(strstr(err, "SECRET"));
        assert_null(strstr(err, "987"));
    }
}

/* ---- shared pieces -------------------------------------------------------- */

static void test_form_decoding(void **state)
{
    static struct form f;
    static char many[FORM_MAX_FIELDS * 8 + 16];
    size_t n = 0;
    const char *s = "a=1+2%2B3&&b&c=%e1%BA%A1&";

    (void)state;
    assert_int_equal(form_parse(&f, s, strlen(s), err, sizeof err), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(form_get(&f, "a")->value, "1 2+3");
    assert_string_equal(form_get(&f, "b")->value, "");
    assert_string_equal(form_get(&f, "c")->value, "\xE1\xBA\xA1");
    assert_null(form_get(&f, "d"));
    assert_int_equal(form_parse(&f, "", 0, err, sizeof err), 0);
    assert_int_equal(f.n, 0);
    for (int i = 0; i <= FORM_MAX_FIELDS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "f%d=&", i);
    assert_int_equal(form_parse(&f, many, n, err, sizeof err), -1);
    assert_string_equal(err, "too many fields");
}

static void test_text_ok(void **state)
{
    const char *vi = "Ti\xE1\xBA\xBFng \xF0\x9F\x98\x80";

    (void)state;
    assert_int_equal(dialect_text_ok(vi, strlen(vi), 0), 1);
    assert_int_equal(dialect_text_ok("a\nb", 3, 0), 0);
    assert_int_equal(dialect_text_ok("a\nb\r\tc", 6, 1), 1);
    assert_int_equal(dialect_text_ok("a\x7f", 2, 1), 0);
    assert_int_equal(dialect_text_ok("\xC2\x85", 2, 1), 0);       /* C1 */
    assert_int_equal(dialect_text_ok("\xC0\xAF", 2, 0), 0);       /* overlong */
    assert_int_equal(dialect_text_ok("\xED\xA0\x80", 3, 0), 0);   /* surrogate */
    assert_int_equal(dialect_text_ok("\xF4\x90\x80\x80", 4, 0), 0);
    assert_int_equal(dialect_text_ok("\xE1\xBA", 2, 0), 0);       /* truncated */
}

static void test_registry(void **state)
{
    const struct dialect *const *all = dialect_all();
    size_t n = 0;

    (void)state;
    for (; all[n]; n++)
        assert_ptr_equal(dialect_find(all[n]->name), all[n]);
    assert_int_equal(n, 7);
    assert_null(dialect_find("nope"));
    assert_int_equal(dialect_find("kannel-sms")->kind, IN_SMS);
    assert_int_equal(dialect_find("hubtel-ussd")->kind, IN_USSD);
}

static void test_phone_e164(void **state)
{
    static const char *const same[] = {
        "+233200000088", "233200000088", "00233200000088", "+233 20 000 0088",
        "233-20-000-0088", " +233 (20) 000.0088", "0023320-000-0088",
    };
    static const char *const refused[] = {
        "0200000088", "", "+", "+0233200000088", "+2332000000881234",
        "233 20 abc", "tel:+233200000088", "++233200000088",
    };
    char out[IN_PHONE_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        memset(out, 0, sizeof out);
        assert_int_equal(dialect_phone_e164(same[i], out, sizeof out), 0);
        assert_string_equal(out, "+233200000088");
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        strcpy(out, "untouched");
        assert_int_equal(dialect_phone_e164(refused[i], out, sizeof out), -1);
        assert_string_equal(out, "untouched");
    }
    assert_int_equal(dialect_phone_e164("84901000003", out, sizeof out), 0);
    assert_string_equal(out, "+84901000003");
    assert_int_equal(dialect_phone_e164("+84901000003", out, 12), -1);
}

/* Every dialect: the number in E.164, a USSD code written *CODE#. */
static void test_dialects_store_e164(void **state)
{
    char buf[256];
    const char *ct = NULL;

    (void)state;
    assert_int_equal(post("nalo-ussd",
        "{\"USERID\":\"u\",\"MSISDN\":\"84901000003\","
        "\"USERDATA\":\"*384*123#\",\"MSGTYPE\":true}"), 0);
    assert_string_equal(in.phone, "+84901000003");
    assert_string_equal(in.service, "*384*123#");
    render("nalo-ussd", "Menu", 0, buf, sizeof buf, &ct);
    assert_non_null(strstr(buf, "\"MSISDN\":\"84901000003\""));
    assert_int_equal(post("arkesel-ussd",
        "{\"sessionID\":\"a\",\"userID\":\"u\",\"newSession\":true,"
        "\"msisdn\":\"233200000088\",\"userData\":\"*384*123#\"}"), 0);
    assert_string_equal(in.phone, "+233200000088");
    render("arkesel-ussd", "Menu", 0, buf, sizeof buf, &ct);
    assert_non_null(strstr(buf, "\"msisdn\":\"233200000088\""));
    assert_int_equal(post("hubtel-ussd",
        "{\"SessionId\":\"h\",\"Mobile\":\"233200000088\","
        "\"ServiceCode\":\"384*123\",\"Type\":\"Initiation\","
        "\"Message\":\"*384*123#\"}"), 0);
    assert_string_equal(in.phone, "+233200000088");
    assert_string_equal(in.service, "*384*123#");
    assert_int_equal(post("africastalking-ussd",
        "sessionId=s&serviceCode=*384*123%23&phoneNumber=%2B84901000003"
        "&text="), 0);
    assert_string_equal(in.phone, "+84901000003");
    assert_string_equal(in.service, "*384*123#");
    assert_int_equal(kannel_get("from=0084901000003&to=1234&text=HELP"), 0);
    assert_string_equal(in.phone, "+84901000003");
    assert_string_equal(in.session, "+84901000003");
    assert_string_equal(in.service, "1234");
    /* A national number keeps its form: its country is unknown. */
    assert_int_equal(kannel_get("from=0901000003&to=1234&text=HELP"), 0);
    assert_string_equal(in.phone, "0901000003");
}

static void test_mask_phone(void **state)
{
    char out[16];

    (void)state;
    mask_phone("+84987654321", out, sizeof out);
    assert_string_equal(out, "***321");
    mask_phone("+84 987-654 321", out, sizeof out);
    assert_string_equal(out, "***321");
    mask_phone("123", out, sizeof out);
    assert_string_equal(out, "***123");
    mask_phone("12", out, sizeof out);
    assert_string_equal(out, "***");
    mask_phone("", out, sizeof out);
    assert_string_equal(out, "***");
    mask_phone(NULL, out, sizeof out);
    assert_string_equal(out, "***");
    mask_phone("+84987654321", out, 5);
    assert_string_equal(out, "***3");
    mask_phone("+84987654321", out, 1);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_vector),
        cmocka_unit_test(test_twilio_signature_gate),
        cmocka_unit_test(test_twilio_sms),
        cmocka_unit_test(test_twilio_body_limit),
        cmocka_unit_test(test_twilio_render),
        cmocka_unit_test(test_at_first_and_history),
        cmocka_unit_test(test_at_render),
        cmocka_unit_test(test_at_sms),
        cmocka_unit_test(test_hubtel),
        cmocka_unit_test(test_hubtel_levels_and_sequence),
        cmocka_unit_test(test_predialled_split),
        cmocka_unit_test(test_hubtel_render),
        cmocka_unit_test(test_nalo),
        cmocka_unit_test(test_arkesel),
        cmocka_unit_test(test_kannel),
        cmocka_unit_test(test_method_and_content_type),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_missing_duplicated_malformed),
        cmocka_unit_test(test_errors_carry_no_caller_data),
        cmocka_unit_test(test_form_decoding),
        cmocka_unit_test(test_text_ok),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_phone_e164),
        cmocka_unit_test(test_dialects_store_e164),
        cmocka_unit_test(test_mask_phone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
