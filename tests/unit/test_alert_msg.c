/*
 * test_alert_msg.c — what staff receive for one help request: the webhook
 * JSON byte for byte, its signature against a vector computed in Python,
 * the SMS and e-mail texts (reference, queue, language and location in;
 * the caller's number out), header injection refused, and retry timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_msg.h"

#define PHONE "+84901234567"

/* The entry session.c's STEP script writes for the shipped help walk. */
static const char *const walk[] = {
    "ref", "K7M3QX", "queue", "urgent", "channel", "at-ussd",
    "phone", PHONE, "lang", "en", "created", "1700000000123",
    "service", "*384*123#", "f:location", "Hanoi", "f:in_danger", "yes",
    "f:safe_to_call", "no", "f:callback", "none",
};

static void parse_walk(struct alert_req *r)
{
    const char *why = "unset";

    assert_int_equal(alert_req_parse(r, "1700000000123-0", "urgent", walk,
                                     sizeof walk / sizeof walk[0], &why), 0);
    assert_null(why);
}

static void test_webhook_json_exact(void **state)
{
    struct alert_req r;
    char *json;

    (void)state;
    parse_walk(&r);
    json = alert_msg_webhook(&r);
    assert_non_null(json);
    assert_string_equal(json,
        "{\"safe_to_call\":false,\"ref\":\"K7M3QX\",\"queue\":\"urgent\","
        "\"channel\":\"at-ussd\",\"phone\":\"+84901234567\",\"lang\":\"en\","
        "\"created\":1700000000123,\"service\":\"*384*123#\","
        "\"entry\":\"1700000000123-0\",\"fields\":{\"location\":\"Hanoi\","
        "\"in_danger\":\"yes\",\"safe_to_call\":\"no\","
        "\"callback\":\"none\"}}");
    free(json);
}

static void test_webhook_safe_yes_and_bad_utf8(void **state)
{
    static const char *const kv[] = {
        "ref", "AB12", "phone", "+1", "created", "soon",
        "f:safe_to_call", "yes", "f:location", "Ha\xffNoi\n",
    };
    struct alert_req r;
    const char *why;
    char *json;

    (void)state;
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", kv, 10, &why), 0);
    json = alert_msg_webhook(&r);
    assert_non_null(json);
    assert_string_equal(json,
        "{\"safe_to_call\":true,\"ref\":\"AB12\",\"queue\":\"urgent\","
        "\"channel\":\"\",\"phone\":\"+1\",\"lang\":\"\",\"created\":null,"
        "\"service\":\"\",\"entry\":\"1-0\",\"fields\":{\"safe_to_call\":"
        "\"yes\",\"location\":\"Ha?Noi\\n\"}}");
    free(json);
}

/* python3 -c 'import hmac,hashlib; print(hmac.new(b"s3cret-webhook-key",
 *   b"1700000000." + BODY, hashlib.sha256).hexdigest())' */
static void test_signature_python_vector(void **state)
{
    const char *body = "{\"safe_to_call\":false,\"ref\":\"K7M3QX\"}";
    char sig[ALERT_SIG_MAX];

    (void)state;
    assert_int_equal(alert_msg_signature("s3cret-webhook-key", 1700000000LL,
                                         body, strlen(body), sig, sizeof sig),
                     0);
    assert_string_equal(sig, "t=1700000000,v1=ffb188d608cb85d0b05b768bf7d58f5e"
                             "af088bf3a397f02bfaa5497cb5a4dd9a");
    assert_int_equal(alert_msg_signature("k", 1, body, strlen(body), sig, 16),
                     -1);
}

static void test_sms_text(void **state)
{
    struct alert_req r;
    char sms[ALERT_SMS_MAX + 1];

    (void)state;
    parse_walk(&r);
    assert_int_equal(alert_msg_sms(&r, sms, sizeof sms), 0);
    assert_string_equal(sms, "hotline K7M3QX [urgent/en] at: Hanoi; "
                             "danger: yes; safe to call: no");
    assert_null(strstr(sms, "901234567"));
}

/* A caller who types their number as the location, in Vietnamese, too
 * long: folded, the number hidden, shortened to 160 characters. */
static void test_sms_hides_numbers_folds_and_fits(void **state)
{
    char loc[200];
    const char *kv[] = { "ref", "K7M3QX", "lang", "vi", "phone", PHONE,
                         "f:location", loc, "f:in_danger", "unsure",
                         "f:safe_to_call", "yes", "f:callback",
                         "+84 90 123 4567" };
    struct alert_req r;
    const char *why;
    char sms[ALERT_SMS_MAX + 1];

    (void)state;
    snprintf(loc, sizeof loc, "Hà Nội, gọi 0901 234 567 {nhà} %s",
             "đường Láng đường Láng đường Láng đường Láng đường Láng "
             "đường Láng đường Láng đường Láng đường Láng");
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", kv, 14, &why), 0);
    assert_int_equal(alert_msg_sms(&r, sms, sizeof sms), 0);
    assert_true(strlen(sms) <= ALERT_SMS_MAX);
    assert_non_null(strstr(sms, "hotline K7M3QX [urgent/vi] at: Ha Noi, "
                                "goi *** ?nha? duong Lang"));
    assert_non_null(strstr(sms, "...; danger: unsure; safe to call: yes"));
    assert_null(strstr(sms, "234"));
    assert_null(strstr(sms, "4567"));
    for (size_t i = 0; sms[i]; i++)
        assert_true(sms[i] >= 0x20 && sms[i] < 0x7F);
}

static void test_email_message(void **state)
{
    const char *to[] = { "duty@example.org", "lead@example.org" };
    struct alert_req r;
    const char *why = "unset";
    char *mail;

    (void)state;
    parse_walk(&r);
    mail = alert_msg_email(&r, "hotline@example.org", to, 2, 1700000000,
                           &why);
    assert_non_null(mail);
    assert_null(why);
    assert_string_equal(mail,
        "From: hotline@example.org\r\n"
        "To: duty@example.org, lead@example.org\r\n"
        "Subject: [hotline] help request K7M3QX (urgent/en)\r\n"
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "Message-ID: <1700000000123-0.K7M3QX@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "Auto-Submitted: auto-generated\r\n"
        "\r\n"
        "A caller asked the hotline for help.\r\n"
        "\r\n"
        "Reference:    K7M3QX\r\n"
        "Queue:        urgent\r\n"
        "Language:     en\r\n"
        "Channel:      at-ussd\r\n"
        "Filed:        2023-11-14 22:13:20 UTC\r\n"
        "Location:     Hanoi\r\n"
        "In danger:    yes\r\n"
        "Safe to call: no\r\n"
        "\r\n"
        "The caller's number is not in this e-mail: find the case by its "
        "reference\r\n(hotlinectl cases show K7M3QX, or the staff API). "
        "Call back only when\r\n\"Safe to call\" is yes.\r\n");
    assert_null(strstr(mail, "901234567"));
    free(mail);
}

/* Values cannot start a header line; addresses with CR/LF are refused. */
static void test_email_injection_refused(void **state)
{
    const char *kv[] = { "ref", "K7M3QX", "phone", PHONE, "f:location",
                         "Hanoi\r\nBcc: evil@example.com\r\n\r\n.",
                         "f:other_number", "0901234567", "f:note",
                         "call 0901234567" };
    const char *to_ok[] = { "duty@example.org" };
    const char *to_bad[] = { "duty@example.org\r\nBcc: evil@example.com" };
    const char *to_comma[] = { "duty@example.org, evil@example.com" };
    struct alert_req r;
    const char *why;
    char *mail;

    (void)state;
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", kv, 10, &why), 0);
    mail = alert_msg_email(&r, "hotline@example.org", to_ok, 1, 0, &why);
    assert_non_null(mail);
    assert_null(strstr(mail, "\nBcc"));
    assert_non_null(strstr(mail, "Location:     Hanoi  Bcc: evil@example.com"
                                 "    .\r\n"));
    assert_null(strstr(mail, "other_number"));
    assert_non_null(strstr(mail, "note:         call ***\r\n"));
    assert_null(strstr(mail, "901234567"));
    for (const char *p = mail; (p = strchr(p, '\n')) != NULL; p++)
        assert_true(p[-1] == '\r');
    free(mail);
    assert_null(alert_msg_email(&r, "hotline@example.org", to_bad, 1, 0,
                                &why));
    assert_non_null(why);
    assert_null(alert_msg_email(&r, "hotline@example.org", to_comma, 1, 0,
                                &why));
    assert_null(alert_msg_email(&r, "hot line@example.org\r\n", to_ok, 1, 0,
                                &why));
    assert_null(alert_msg_email(&r, "hotline@example.org", to_ok, 0, 0,
                                &why));
}

static void test_poison_entries(void **state)
{
    static const char *const noref[] = { "queue", "urgent", "phone", PHONE };
    static const char *const badref[] = { "ref", "A\r\nB" };
    static const char *const badlang[] = { "ref", "AB", "lang", "e n" };
    static const char *const odd[] = { "ref" };
    struct alert_req r;
    const char *why;

    (void)state;
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", noref, 4, &why), -1);
    assert_string_equal(why, "no ref");
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", badref, 2, &why),
                     -1);
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", badlang, 4, &why),
                     -1);
    assert_int_equal(alert_req_parse(&r, "1-0", "urgent", odd, 1, &why), -1);
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 1, 0.5), 500);
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 2, 0.5), 1000);
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 4, 0.5), 4000);
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 4, 0.0), 3000);
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 4, 0.999999), 4999);
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 30, 0.5), 60000);
    assert_int_equal(alert_msg_backoff_ms(500, 60000, 1000000, 0.5), 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_json_exact),
        cmocka_unit_test(test_webhook_safe_yes_and_bad_utf8),
        cmocka_unit_test(test_signature_python_vector),
        cmocka_unit_test(test_sms_text),
        cmocka_unit_test(test_sms_hides_numbers_folds_and_fits),
        cmocka_unit_test(test_email_message),
        cmocka_unit_test(test_email_injection_refused),
        cmocka_unit_test(test_poison_entries),
        cmocka_unit_test(test_backoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
