/*
 * test_cases.c — cases as staff see them (gateway/cases.c): the caller's
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
        "{\"safe_to_call\":\"no\",\"ref\":\"K7M3QX\",\"status\":\"claimed\","
        "\"queue\":\"urgent\",\"lang\":\"en\",\"channel\":\"at-ussd\","
        "\"service\":null,\"risk\":\"normal\",\"created\":1763850000000,"
        "\"fields\":{\"location\":\"Hanoi\",\"safe_to_call\":\"no\"},"
        "\"phone\":\"+84901234567\",\"claimed_by\":\"lan\","
        "\"claimed_at\":1763850060000,\"resolved_by\":null,"
        "\"resolved_at\":null,\"notes\":[{\"who\":\"lan\","
        "\"at\":1763850070000,\"text\":\"ok\"}],\"history\":[]}");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_safe_to_call_first),
        cmocka_unit_test(test_text_first_line),
        cmocka_unit_test(test_line_and_refs),
        cmocka_unit_test(test_malformed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
