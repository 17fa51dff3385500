/*
 * test_cases.c — cases as staff see them (staff/cases.c): the caller's
 * answer to "safe to call back?" comes first, in the JSON and in the text;
 * fields, notes and history pass through; a malformed array is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cases.h"

static const char *const sample[] = {
    "phone", "+84901234567", "f:location", "Hanoi", "status", "claimed",
    "ref", "K7M3QX", "queue", "urgent", "lang", "en", "channel", "at-ussd",
    "created", "1763850000000", "f:safe_to_call", "no", "owner", "hl:s:{x}",
    "claimed_by", "lan", "claimed_at", "1763850060000",
    "notes", "[{\"who\":\"lan\",\"at\":1763850070000,\"text\":\"ok\"}]",
    "history", "not json",
};
#define NS (sizeof sample / sizeof sample[0])

static void lens(const char *const *kv, size_t n, size_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = strlen(kv[i]);
}

static void test_json_safe_to_call_first(void **state)
{
    size_t l[NS];
    char *js;

    (void)state;
    lens(sample, NS, l);
    js = cases_json(sample, l, NS);
    assert_non_null(js);
    assert_string_equal(js,
        "{\"safe_to_call\":false,\"ref\":\"K7M3QX\",\"status\":\"claimed\","
        "\"queue\":\"urgent\",\"lang\":\"en\",\"channel\":\"at-ussd\","
        "\"service\":\"\",\"risk\":\"normal\",\"created\":1763850000000,"
        "\"fields\":{\"location\":\"Hanoi\",\"safe_to_call\":\"no\"},"
        "\"phone\":\"+84901234567\",\"claimed_by\":\"lan\","
        "\"claimed_at\":1763850060000,\"resolved_by\":null,"
        "\"resolved_at\":null,\"notes\":[{\"who\":\"lan\","
        "\"at\":1763850070000,\"text\":\"ok\"}],\"history\":[]}");
    free(js);
}

/* One representation with the webhook: a boolean, true only for "yes";
 * the help request's strings are "" when the case lacks them. */
static void test_json_safe_to_call_boolean(void **state)
{
    const char *yes[] = { "ref", "AAAA44", "f:safe_to_call", "yes" };
    const char *other[] = { "ref", "AAAA44", "f:safe_to_call", "maybe" };
    const char *none[] = { "ref", "AAAA44" };
    size_t l[4];
    char *js;

    (void)state;
    lens(yes, 4, l);
    js = cases_json(yes, l, 4);
    assert_memory_equal(js, "{\"safe_to_call\":true,", 21);
    free(js);
    lens(other, 4, l);
    js = cases_json(other, l, 4);
    assert_memory_equal(js, "{\"safe_to_call\":false,", 22);
    free(js);
    lens(none, 2, l);
    js = cases_json(none, l, 2);
    assert_memory_equal(js, "{\"safe_to_call\":false,", 22);
    assert_non_null(strstr(js, "\"queue\":\"\",\"lang\":\"\",\"channel\":\"\","
                               "\"service\":\"\""));
    assert_non_null(strstr(js, "\"phone\":\"\""));
    free(js);
}

static void test_text_first_line(void **state)
{
    const char *yes[] = { "ref", "AAAA44", "f:safe_to_call", "yes" };
    const char *none[] = { "ref", "AAAA44", "risk", "high" };
    size_t l[NS];
    char *t;

    (void)state;
    lens(sample, NS, l);
    t = cases_text(sample, l, NS);
    assert_non_null(t);
    assert_memory_equal(t, "Safe to call back: NO - do not call or text this "
                           "number\n", 56);
    assert_non_null(strstr(t, "  location: Hanoi\n"));
    assert_non_null(strstr(t, "lan: ok\n"));
    free(t);
    lens(yes, 4, l);
    t = cases_text(yes, l, 4);
    assert_memory_equal(t, "Safe to call back: YES", 22);
    free(t);
    lens(none, 4, l);
    t = cases_text(none, l, 4);
    assert_memory_equal(t, "Safe to call back: UNKNOWN - do not call", 40);
    assert_non_null(strstr(t, "HIGH RISK"));
    free(t);
}

/* A spooled caller's promised reference held by another case: both cases
 * say so, in JSON and in text (session.c, "The reference told"). */
static void test_told_reference_shown(void **state)
{
    const char *mine[] = { "ref", "BBBB44", "told", "AAAA44" };
    const char *other[] = { "ref", "AAAA44", "told_also", "BBBB44" };
    size_t l[4];
    char *t;

    (void)state;
    lens(mine, 4, l);
    t = cases_json(mine, l, 4);
    assert_non_null(strstr(t, "\"told\":\"AAAA44\""));
    free(t);
    t = cases_text(mine, l, 4);
    assert_non_null(strstr(t, "The caller was told reference AAAA44"));
    free(t);
    lens(other, 4, l);
    t = cases_json(other, l, 4);
    assert_non_null(strstr(t, "\"told_also\":\"BBBB44\""));
    free(t);
    t = cases_text(other, l, 4);
    assert_non_null(strstr(t, "Reference AAAA44 was also told to the caller "
                              "of case BBBB44"));
    free(t);
}

static void test_line_and_refs(void **state)
{
    size_t l[NS];
    char line[256];

    (void)state;
    lens(sample, NS, l);
    cases_line(sample, l, NS, 1763850000000LL + 3 * 3600 * 1000LL, line,
               sizeof line);
    assert_string_equal(line, "K7M3QX   claimed   urgent   en   3h    "
                              "call:no                  Hanoi");
    assert_true(cases_ref_ok("K7M3QX"));
    assert_false(cases_ref_ok("K7M"));
    assert_false(cases_ref_ok("K7M3QX:x"));
    assert_false(cases_ref_ok("K7M3QX*"));
}

static void test_malformed(void **state)
{
    const char *odd[] = { "ref" };
    const char *noref[] = { "status", "new" };
    size_t l[2] = { 3, 6 };

    (void)state;
    assert_null(cases_json(odd, l, 1));
    l[0] = 6;
    l[1] = 3;
    assert_null(cases_json(noref, l, 2));
}

/* Notes and history pass through as they are stored; a field that is not
 * a JSON array becomes []. */
static void test_notes_history_passthrough(void **state)
{
    const char *kv[] = {
        "ref", "AAAA44", "notes", "{\"who\":\"lan\"}",
        "history", "[{\"who\":\"minh\",\"at\":5,\"what\":\"claim\"}]",
    };
    size_t l[6];
    char *js;

    (void)state;
    lens(kv, 6, l);
    js = cases_json(kv, l, 6);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"notes\":[],\"history\":[{\"who\":\"minh\","
                               "\"at\":5,\"what\":\"claim\"}]}"));
    free(js);
}

static void test_note_and_status_rules(void **state)
{
    char big[CASES_NOTE_MAX + 2];

    (void)state;
    assert_true(cases_note_ok("Đã gọi\nok\t1", strlen("Đã gọi\nok\t1")));
    assert_false(cases_note_ok("", 0));
    assert_false(cases_note_ok("a\x1b[2J", 5));
    assert_false(cases_note_ok("a\0b", 3));
    assert_false(cases_note_ok("\xc3\x28", 2));
    memset(big, 'x', sizeof big);
    assert_true(cases_note_ok(big, CASES_NOTE_MAX));
    assert_false(cases_note_ok(big, CASES_NOTE_MAX + 1));
    assert_true(cases_status_ok(NULL));
    assert_true(cases_status_ok(""));
    assert_true(cases_status_ok("claimed"));
    assert_false(cases_status_ok("open"));
}

/* The list line cuts a long location on a character boundary. */
static void test_line_cuts_utf8(void **state)
{
    char loc[128];
    const char *kv[] = { "ref", "AAAA44", "f:location", loc };
    size_t l[4];
    char line[256];
    const char *tail;

    (void)state;
    memset(loc, 'a', 59);
    strcpy(loc + 59, "\xc3\xa2" "bbbb");         /* "â" straddles byte 60 */
    lens(kv, 4, l);
    cases_line(kv, l, 4, 0, line, sizeof line);
    tail = line + strlen(line) - 1;
    assert_int_equal(*tail, 'a');
    assert_null(strchr(line, '\xc3'));
}

/* The listing's cursor, queue names and index keys (cases.h). */
static void test_phone_mask(void **state)
{
    char m[96];

    (void)state;
    cases_phone_mask("+84912000767", m, sizeof m);
    assert_string_equal(m, "+84 9\xe2\x80\xa2\xe2\x80\xa2 \xe2\x80\xa2\xe2\x80\xa2"
                           "\xe2\x80\xa2 \xe2\x80\xa2" "67");
    cases_phone_mask("+233200000088", m, sizeof m);
    assert_non_null(strstr(m, "+233 2"));
    assert_null(strstr(m, "200000"));
    assert_string_equal(m + strlen(m) - 2, "88");
    cases_phone_mask("0912345678", m, sizeof m);
    assert_int_equal(m[0], '0');
    assert_null(strstr(m, "12345"));
    cases_phone_mask("", m, sizeof m);
    assert_string_equal(m, "");
    cases_phone_mask("+84912000767", m, 8);     /* cut, still a string */
    assert_true(strlen(m) < 8);
}

static void test_list_cursor_and_keys(void **state)
{
    char score[24], ref[CASES_REF_MAX], keys[3][128];

    (void)state;
    assert_int_equal(cases_cursor_parse("1764500000000-K7M3QX", score,
                                        sizeof score, ref, sizeof ref), 0);
    assert_string_equal(score, "1764500000000");
    assert_string_equal(ref, "K7M3QX");
    assert_int_equal(cases_cursor_parse("-K7M3QX", score, sizeof score, ref,
                                        sizeof ref), -1);
    assert_int_equal(cases_cursor_parse("12x-K7M3QX", score, sizeof score,
                                        ref, sizeof ref), -1);
    assert_int_equal(cases_cursor_parse("12-K7'3QX", score, sizeof score,
                                        ref, sizeof ref), -1);
    assert_int_equal(cases_cursor_parse("1234567890123456-K7M3QX", score,
                                        sizeof score, ref, sizeof ref), -1);
    assert_int_equal(cases_cursor_parse("12", score, sizeof score, ref,
                                        sizeof ref), -1);
    assert_true(cases_queue_ok("urgent"));
    assert_true(cases_queue_ok("legal_aid-2"));
    assert_false(cases_queue_ok(""));
    assert_false(cases_queue_ok("a b"));
    assert_false(cases_queue_ok("a:b"));
    assert_false(cases_queue_ok("q*"));
    assert_int_equal(cases_list_keys("hl:", "new", "urgent", keys,
                                     sizeof keys[0]), 1);
    assert_string_equal(keys[0], "hl:cx:new:urgent");
    assert_int_equal(cases_list_keys("hl:", NULL, NULL, keys,
                                     sizeof keys[0]), 3);
    assert_string_equal(keys[0], "hl:cx:new");
    assert_string_equal(keys[1], "hl:cx:claimed");
    assert_string_equal(keys[2], "hl:cx:resolved");
    assert_int_equal(cases_list_keys("hl:", "", "other", keys,
                                     sizeof keys[0]), 3);
    assert_string_equal(keys[2], "hl:cx:resolved:other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_safe_to_call_first),
        cmocka_unit_test(test_json_safe_to_call_boolean),
        cmocka_unit_test(test_text_first_line),
        cmocka_unit_test(test_told_reference_shown),
        cmocka_unit_test(test_line_and_refs),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_notes_history_passthrough),
        cmocka_unit_test(test_note_and_status_rules),
        cmocka_unit_test(test_line_cuts_utf8),
        cmocka_unit_test(test_list_cursor_and_keys),
        cmocka_unit_test(test_phone_mask),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
