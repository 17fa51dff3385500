/*
 * alert_msg.c — the webhook JSON and its signature, the staff SMS and the
 * staff e-mail of one help request (see alert_msg.h for the formats).
 *
 * Every value that reaches a text for people (SMS, e-mail) goes through
 * clean_value(): controls become spaces, invalid UTF-8 becomes '?', digit
 * runs that could be a phone number become "***", and for SMS diacritics are
 * folded and what GSM-7's basic set lacks becomes '?'. Values are bounded
 * (VALUE_MAX) before any of that, so outputs are bounded too.
 */
#include "alert_msg.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu.h"

#define VALUE_MAX 256           /* bytes of one value shown to people */
#define CLEAN_MAX (VALUE_MAX * 4 + 1)
#define EMAIL_MAX 16384         /* the whole e-mail */
#define DIGITS_HIDDEN 6         /* a digit run this long is hidden */

/* ---- parsing an entry ------------------------------------------------ */

static int is_token(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ALERT_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Assigns one known top-level field; returns 1 when name was one. */
static int set_known(struct alert_req *r, const char *name, const char *v)
{
    static const char *const names[] = { "ref", "queue", "channel", "phone",
                                         "lang", "created", "service" };
    const char **dst[] = { &r->ref, &r->queue, &r->channel, &r->phone,
                           &r->lang, &r->created, &r->service };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *dst[i] = v;
            return 1;
        }
    }
    return 0;
}

int alert_req_parse(struct alert_req *r, const char *entry,
                    const char *default_queue, const char *const *kv,
                    size_t nkv, const char **why)
{
    memset(r, 0, sizeof *r);
    r->entry = entry ? entry : "";
    *why = NULL;
    if (nkv % 2) {
        *why = "odd number of field strings";
        return -1;
    }
    for (size_t i = 0; i < nkv; i += 2) {
        const char *name = kv[i];

        if (set_known(r, name, kv[i + 1]))
            continue;
        if (strncmp(name, "f:", 2) != 0 || name[2] == '\0')
            continue;                   /* unknown fields are ignored */
        if (r->nfields == ALERT_FIELDS_MAX) {
            *why = "too many f: fields";
            return -1;
        }
        r->names[r->nfields] = name + 2;
        r->values[r->nfields++] = kv[i + 1];
    }
    if (!r->queue)
        r->queue = default_queue ? default_queue : "";
    if (!r->ref)
        *why = "no ref";
    else if (!is_token(r->ref))
        *why = "ref is not a token";
    else if (*r->queue && !is_token(r->queue))
        *why = "queue is not a token";
    else if (r->lang && *r->lang && !is_token(r->lang))
        *why = "lang is not a token";
    if (*why)
        return -1;
    {
        const char **rest[] = { &r->channel, &r->phone, &r->lang,
                                &r->created, &r->service };

        for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
            if (!*rest[i])
                *rest[i] = "";
        }
    }
    return 0;
}

const char *alert_req_field(const struct alert_req *r, const char *name)
{
    for (size_t i = r->nfields; i > 0; i--) {
        if (strcmp(r->names[i - 1], name) == 0)
            return r->values[i - 1];
    }
    return NULL;
}

/* ---- cleaning values -------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4;
    else
        return 0;
    cp = s[0] & (0x7F >> len);
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* Copies at most VALUE_MAX bytes of in: invalid UTF-8 bytes become '?';
 * with controls set, control characters become ' '. Never cuts a
 * character in two. */
static void fix_utf8(const char *in, char *out, size_t outsz, int controls)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t n = strlen(in);
    size_t j = 0;

    for (size_t i = 0; i < n && i < VALUE_MAX;) {
        size_t len = utf8_len(s + i, n - i);

        if (len == 0) {
            if (j + 1 < outsz)
                out[j++] = '?';
            i++;
            continue;
        }
        if (j + len >= outsz)
            break;
        if (controls && len == 1 && (s[i] < 0x20 || s[i] == 0x7F)) {
            out[j++] = ' ';
        } else {
            memcpy(out + j, s + i, len);
            j += len;
        }
        i += len;
    }
    out[j] = '\0';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Replaces every run of DIGITS_HIDDEN or more digits (spaces, dots,
 * dashes, slashes and brackets between them count as part of the run) by
 * "***". out holds at least strlen(in) + 1 bytes. */
static void hide_numbers(const char *in, char *out)
{
    size_t j = 0;

    for (size_t i = 0; in[i];) {
        size_t k = i;
        size_t end = i;
        int digits = 0;

        if (!is_digit(in[i])) {
            out[j++] = in[i++];
            continue;
        }
        while (in[k] && (is_digit(in[k]) || strchr(" .-/()", in[k]))) {
            if (is_digit(in[k])) {
                digits++;
                end = k + 1;
            }
            k++;
        }
        if (digits >= DIGITS_HIDDEN) {
            memcpy(out + j, "***", 3);
            j += 3;
        } else {
            memcpy(out + j, in + i, end - i);
            j += end - i;
        }
        i = end;
    }
    out[j] = '\0';
}

/* GSM 03.38's basic set within ASCII: printable, but not the characters
 * that need the escape table ([\]^{|}~) and not the backtick. */
static int gsm7_basic_ascii(unsigned char c)
{
    return c >= 0x20 && c < 0x7F && !strchr("[\\]^{|}~`", c);
}

/* A value as people may see it (see the file comment). gsm: fold and keep
 * only GSM-7 basic characters. Writes at most CLEAN_MAX bytes. */
static void clean_value(const char *in, char *out, int gsm)
{
    char a[CLEAN_MAX];
    char b[CLEAN_MAX];

    fix_utf8(in ? in : "", a, sizeof a, 1);
    if (gsm) {
        if (menu_fold(a, b, sizeof b) < 0)
            b[sizeof b - 1] = '\0';
        for (size_t i = 0, j = 0;; i++) {
            unsigned char c = (unsigned char)b[i];

            if (c == '\0') {
                a[j] = '\0';
                break;
            }
            if (c >= 0x80 && (c & 0xC0) == 0x80)
                continue;               /* rest of a non-ASCII character */
            a[j++] = gsm7_basic_ascii(c) ? (char)c : '?';
        }
    }
    hide_numbers(a, out);
}

/* 1 for field names that hold a number to call (never shown to people):
 * those containing one of `words`, in any case. */
static int is_number_field(const char *name)
{
    static const char *const words[] = { "callback", "phone", "number",
                                         "msisdn", "mobile" };
    char low[ALERT_TOKEN_MAX + 1];
    size_t n = 0;

    for (; name[n] && n < ALERT_TOKEN_MAX; n++)
        low[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32
                                                         : name[n]);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strstr(low, words[i]))
            return 1;
    }
    return 0;
}

/* ---- the webhook ------------------------------------------------------- */

static json_t *jstr(const char *s)
{
    char fixed[CLEAN_MAX];
    json_t *j = json_string(s ? s : "");

    if (j)
        return j;
    fix_utf8(s, fixed, sizeof fixed, 0);
    j = json_string(fixed);
    return j ? j : json_string("");
}

/* created as an integer when it is 1..15 digits, else null. */
static json_t *jcreated(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 15)
        return json_null();
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return json_null();
    }
    return json_integer(strtoll(s, NULL, 10));
}

char *alert_msg_webhook(const struct alert_req *r)
{
    const char *safe = alert_req_field(r, "safe_to_call");
    json_t *o = json_object();
    json_t *f = json_object();
    char *out = NULL;

    if (!o || !f)
        goto done;
    json_object_set_new(o, "safe_to_call",
                        json_boolean(safe && strcmp(safe, "yes") == 0));
    json_object_set_new(o, "ref", jstr(r->ref));
    json_object_set_new(o, "queue", jstr(r->queue));
    json_object_set_new(o, "channel", jstr(r->channel));
    json_object_set_new(o, "phone", jstr(r->phone));
    json_object_set_new(o, "lang", jstr(r->lang));
    json_object_set_new(o, "created", jcreated(r->created));
    json_object_set_new(o, "service", jstr(r->service));
    json_object_set_new(o, "entry", jstr(r->entry));
    for (size_t i = 0; i < r->nfields; i++) {
        char name[CLEAN_MAX];

        fix_utf8(r->names[i], name, sizeof name, 0);
        json_object_set_new(f, name, jstr(r->values[i]));
    }
    json_object_set(o, "fields", f);
    out = json_dumps(o, JSON_COMPACT);
done:
    json_decref(f);
    json_decref(o);
    return out;
}

int alert_msg_signature(const char *secret, long long ts, const char *body,
                        size_t len, char *out, size_t outsz)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char head[32];
    int hl = snprintf(head, sizeof head, "%lld.", ts);
    unsigned char *msg;
    size_t n;

    if (outsz < ALERT_SIG_MAX || hl <= 0)
        return -1;
    msg = malloc((size_t)hl + len + 1);
    if (!msg)
        return -1;
    memcpy(msg, head, (size_t)hl);
    memcpy(msg + hl, body, len);
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg,
              (size_t)hl + len, mac, &maclen)) {
        free(msg);
        return -1;
    }
    free(msg);
    n = (size_t)snprintf(out, outsz, "t=%lld,v1=", ts);
    for (unsigned int i = 0; i < maclen && n + 3 <= outsz; i++)
        n += (size_t)snprintf(out + n, outsz - n, "%02x", mac[i]);
    return 0;
}

/* ---- the SMS ------------------------------------------------------------ */

int alert_msg_sms(const struct alert_req *r, char *out, size_t outsz)
{
    char loc[CLEAN_MAX], danger[CLEAN_MAX], safe[CLEAN_MAX];
    char head[ALERT_TOKEN_MAX * 3 + 32];
    char tail[2 * CLEAN_MAX + 64] = "";
    size_t room;

    if (outsz < ALERT_SMS_MAX + 1)
        return -1;
    snprintf(head, sizeof head, "hotline %s [%s%s%s]", r->ref, r->queue,
             *r->lang ? "/" : "", r->lang);
    clean_value(alert_req_field(r, "location"), loc, 1);
    clean_value(alert_req_field(r, "in_danger"), danger, 1);
    clean_value(alert_req_field(r, "safe_to_call"), safe, 1);
    danger[24] = safe[24] = '\0';       /* option values are short */
    if (*danger)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                 "%sdanger: %s", *loc ? "; " : " ", danger);
    if (*safe)
        snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                 "%ssafe to call: %s", *loc || *danger ? "; " : " ", safe);
    room = strlen(head) + strlen(tail) < ALERT_SMS_MAX
               ? ALERT_SMS_MAX - strlen(head) - strlen(tail) : 0;
    if (*loc && room > 8) {
        room -= 5;                      /* " at: " */
        if (strlen(loc) > room)
            memcpy(loc + room - 3, "...", 4);
        snprintf(out, outsz, "%s at: %s%s", head, loc, tail);
    } else {
        snprintf(out, outsz, "%s%s", head, tail);
    }
    out[ALERT_SMS_MAX] = '\0';
    return 0;
}

/* ---- the e-mail ---------------------------------------------------------- */

struct buf {
    char *p;
    size_t len;
    int full;
};

static void put(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, EMAIL_MAX - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= EMAIL_MAX - b->len)
        b->full = 1;
    else
        b->len += (size_t)n;
}

/* 1 when s is a bare address: printable ASCII without spaces, commas,
 * quotes or angle brackets, with one '@' not at either end. */
static int plain_address(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);

    if (n == 0 || n > 254 || !at || at == s || at[1] == '\0' ||
        strchr(at + 1, '@'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7F || strchr(",;<>\"()[]\\:", c))
            return 0;
    }
    return 1;
}

static void put_date(struct buf *b, time_t t, int header)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
                                        "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
                                          "Jun", "Jul", "Aug", "Sep", "Oct",
                                          "Nov", "Dec" };
    struct tm tm;

    gmtime_r(&t, &tm);
    if (header)
        put(b, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
            tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
            tm.tm_min, tm.tm_sec);
    else
        put(b, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void put_headers(struct buf *b, const struct alert_req *r,
                        const char *from, const char *const *to, size_t nto,
                        time_t now)
{
    put(b, "From: %s\r\nTo: ", from);
    for (size_t i = 0; i < nto; i++)
        put(b, "%s%s", i ? ", " : "", to[i]);
    put(b, "\r\nSubject: [hotline] help request %s (%s%s%s)\r\nDate: ",
        r->ref, r->queue, *r->lang ? "/" : "", r->lang);
    put_date(b, now, 1);
    put(b, "\r\nMessage-ID: <%s.%s@%s>\r\n", *r->entry ? r->entry : "0",
        r->ref, strchr(from, '@') + 1);
    put(b, "MIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=UTF-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n"
           "Auto-Submitted: auto-generated\r\n\r\n");
}

/* One "Label: value" line, cleaned; nothing when the value is empty. */
static void put_line(struct buf *b, const char *label, const char *v)
{
    char c[CLEAN_MAX];

    clean_value(v, c, 0);
    if (*c)
        put(b, "%-14s%s\r\n", label, c);
}

static void put_body(struct buf *b, const struct alert_req *r)
{
    static const char *const known[][2] = { { "location", "Location:" },
                                            { "in_danger", "In danger:" },
                                            { "safe_to_call",
                                              "Safe to call:" } };
    const char *created = r->created;
    char *end = NULL;
    long long ms = strtoll(created, &end, 10);

    put(b, "A caller asked the hotline for help.\r\n\r\n");
    put_line(b, "Reference:", r->ref);
    put_line(b, "Queue:", r->queue);
    put_line(b, "Language:", r->lang);
    put_line(b, "Channel:", r->channel);
    if (*created && end && *end == '\0' && ms > 0) {
        put(b, "%-14s", "Filed:");
        put_date(b, (time_t)(ms / 1000), 0);
        put(b, "\r\n");
    }
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        put_line(b, known[k][1], alert_req_field(r, known[k][0]));
    for (size_t i = 0; i < r->nfields; i++) {
        char label[ALERT_TOKEN_MAX + 2];
        int skip = is_number_field(r->names[i]) || !is_token(r->names[i]);

        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            skip |= strcmp(r->names[i], known[k][0]) == 0;
        if (skip)
            continue;
        snprintf(label, sizeof label, "%s:", r->names[i]);
        put_line(b, label, r->values[i]);
    }
    put(b, "\r\nThe caller's number is not in this e-mail: find the case by"
           " its reference\r\n(hotlinectl cases show %s, or the staff API)."
           " Call back only when\r\n\"Safe to call\" is yes.\r\n", r->ref);
}

char *alert_msg_email(const struct alert_req *r, const char *from,
                      const char *const *to, size_t nto, time_t now,
                      const char **why)
{
    struct buf b = { NULL, 0, 0 };

    *why = NULL;
    if (!from || !plain_address(from))
        *why = "from is not a plain e-mail address";
    for (size_t i = 0; !*why && i < nto; i++) {
        if (!to[i] || !plain_address(to[i]))
            *why = "a to address is not a plain e-mail address";
    }
    if (!*why && nto == 0)
        *why = "no recipient";
    if (*why)
        return NULL;
    b.p = malloc(EMAIL_MAX);
    if (!b.p) {
        *why = "out of memory";
        return NULL;
    }
    put_headers(&b, r, from, to, nto, now);
    put_body(&b, r);
    if (b.full) {
        free(b.p);
        *why = "message too long";
        return NULL;
    }
    return b.p;
}

/* ---- retry timing ---------------------------------------------------------- */

long alert_msg_backoff_ms(int base_ms, int max_ms, int attempt, double r01)
{
    double d = base_ms > 0 ? base_ms : 1;

    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (r01 < 0)
        r01 = 0;
    if (r01 >= 1)
        r01 = 0.999999;
    return (long)(d * (0.75 + 0.5 * r01));
}
