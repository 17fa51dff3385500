/*
 * test_menu_lookup.c — the `lookup` node: how what a caller types becomes
 * a key (phone numbers, web addresses, handles, company names and licence
 * numbers), the near keys that may only ever say "did you mean", and the
 * walk through a lookup node (menu_step's LOOKUP action, then
 * menu_lookup_result) as the caller sees it. Also the checker's errors for
 * broken lookup nodes (tests/menus/bad_lookup_*.cfg).
 * Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu.h"

static const char *key_of(const char *typed)
{
    static struct menu_lookup lk;

    if (menu_lookup_keys(typed, strlen(typed), "84", &lk) < 0)
        return "(refused)";
    return lk.key;
}

/* 1 when a and b share a near key (a "did you mean" between them). */
static int near_each_other(const char *a, const char *b)
{
    struct menu_lookup la, lb;

    if (menu_lookup_keys(a, strlen(a), "84", &la) < 0 ||
        menu_lookup_keys(b, strlen(b), "84", &lb) < 0)
        return 0;
    for (size_t i = 0; i < la.nnear; i++)
        for (size_t j = 0; j < lb.nnear; j++)
            if (strcmp(la.near[i], lb.near[j]) == 0)
                return 1;
    return 0;
}

/* ---- keys --------------------------------------------------------------- */

static void test_phone_keys(void **state)
{
    (void)state;
    assert_string_equal(key_of("0912 345 678"), "tel:+84912345678");
    assert_string_equal(key_of("+84 912-345-678"), "tel:+84912345678");
    assert_string_equal(key_of("0084912345678"), "tel:+84912345678");
    assert_string_equal(key_of("+62 812 3456 7890"), "tel:+6281234567890");
    /* Too few digits for a phone number: a name or licence then. */
    assert_string_equal(key_of("123-456"), "id:123456");
}

static void test_web_keys(void **state)
{
    (void)state;
    assert_string_equal(key_of("https://www.Good-Jobs.example.com/apply?x=1"),
                        "web:good-jobs.example.com");
    assert_string_equal(key_of("good-jobs.example.com"),
                        "web:good-jobs.example.com");
    assert_string_equal(key_of("http://user:pw@jobs.example.net:8080/a"),
                        "web:jobs.example.net");
    /* Social and chat hosts keep the account. */
    assert_string_equal(key_of("https://t.me/HighPayJobs"),
                        "web:t.me/highpayjobs");
    assert_string_equal(key_of("facebook.com/viec.lam.luong.cao/posts/1"),
                        "web:facebook.com/viec.lam.luong.cao");
    assert_string_equal(key_of("@HighPay_Jobs"), "at:highpay_jobs");
    assert_string_equal(key_of("@bad handle"), "(refused)");
}

static void test_name_keys(void **state)
{
    (void)state;
    /* Accents, case, punctuation and the legal form do not matter. */
    assert_string_equal(key_of("Công ty TNHH Thành Đạt"), "id:thanhdat");
    assert_string_equal(key_of("thanh dat"), "id:thanhdat");
    assert_string_equal(key_of("THANH DAT JSC"), "id:thanhdat");
    assert_string_equal(key_of("Thành Đạt Co., Ltd."), "id:thanhdat");
    assert_string_equal(key_of("PT Maju Jaya Tbk"), "id:majujaya");
    /* A word of a legal form alone is part of the name: "Thành Công"
     * (success) stays. */
    assert_string_equal(key_of("Công ty Thành Công"), "id:thanhcong");
    /* Licence numbers with or without dashes, slashes and spaces. */
    assert_string_equal(key_of("123/LĐTBXH-GP"), "id:123ldtbxhgp");
    assert_string_equal(key_of("123 ldtbxh gp"), "id:123ldtbxhgp");
    /* Nothing left to look up. */
    assert_string_equal(key_of("Công ty TNHH"), "(refused)");
    assert_string_equal(key_of("   "), "(refused)");
    assert_string_equal(key_of("a\x01" "b"), "(refused)");
    assert_string_equal(key_of("\xff\xfe"), "(refused)");
}

/* The near-miss that must not answer "licensed": one letter apart is a
 * near key, never the same key, so the walk can only say "did you mean". */
static void test_near_miss_is_not_found(void **state)
{
    struct menu_lookup lk;

    (void)state;
    char a[MENU_LOOKUP_KEY_MAX];

    snprintf(a, sizeof a, "%s", key_of("Thanh Dat Manpower"));
    assert_string_not_equal(a, key_of("Thanh Dat Manpowers"));
    assert_true(near_each_other("Thanh Dat Manpower", "Thanh Dat Manpowers"));
    assert_true(near_each_other("Thanh Dat Manpower", "Thanh Dta Manpower"));
    assert_true(near_each_other("Thanh Dat Manpower", "Thanh Bat Manpower"));
    /* Two edits apart: not even a "did you mean". */
    assert_false(near_each_other("Thanh Dat Manpower", "Thanh Bot Manpower"));
    /* The same licence number written another way is near. */
    assert_true(near_each_other("123/LĐTBXH-GP", "GP 123"));
    /* Phone numbers and web addresses have no near keys: one digit off is
     * another person. */
    assert_true(menu_lookup_keys("0912345678", 10, "84", &lk) > 0);
    assert_int_equal(lk.nnear, 0);
    assert_true(menu_lookup_keys("jobs.example.com", 16, "84", &lk) > 0);
    assert_int_equal(lk.nnear, 0);
    /* Short names get no deletion keys (too many strangers are one letter
     * from "abc"). */
    assert_false(near_each_other("ABC", "ABD"));
}

/* ---- the walk ------------------------------------------------------------ */

static const char lookup_menu[] =
    "name = \"check\";\n"
    "languages = [ \"en\" ];\n"
    "start = \"ask\";\n"
    "country = \"84\";\n"
    "nav = { back = \"0\"; };\n"
    "strings = { back = \"Back\"; invalid = \"Sorry, try again.\"; };\n"
    "nodes = {\n"
    "  ask = { type = \"lookup\"; text = \"Type the name or number\";\n"
    "          lists = [ \"licensed\" ]; found = \"yes\";\n"
    "          reported = \"bad\"; unknown = \"no\"; near = \"maybe\"; };\n"
    "  yes = { type = \"end\"; text = \"{company} holds licence {licence}\"; };\n"
    "  bad = { type = \"end\";\n"
    "          text = \"Reported by {reports} people since {since}\"; };\n"
    "  no = { type = \"end\"; text = \"{query} is not on the list\"; };\n"
    "  maybe = { type = \"end\"; text = \"Did you mean {company}?\"; };\n"
    "};\n";

static struct menu *load_text(const char *text)
{
    struct menu *m = NULL;
    struct menu_diags d;

    menu_diags_init(&d);
    assert_int_equal(menu_load_string(text, "check.cfg", &m, &d), 0);
    menu_diags_free(&d);
    return m;
}

static void test_walk_lookup(void **state)
{
    struct menu *m = load_text(lookup_menu);
    struct menu_ctx c = { m, { MENU_CH_USSD, 0, 0 }, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    const struct menu_lookup_field f[] = { { "company", "Thanh Dat" },
                                           { "licence", "123/LDTBXH-GP" } };

    (void)state;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    assert_string_equal(r.screen.text, "Type the name or number");
    /* Nothing to look up: refused, no lookup asked. */
    assert_int_equal(menu_step(&c, &st, "Công ty", &r), 0);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(r.action, MENU_ACT_NONE);
    /* A phone number: the gateway is asked for tel:+84... */
    assert_int_equal(menu_step(&c, &st, "0912 345 678", &r), 0);
    assert_int_equal(r.action, MENU_ACT_LOOKUP);
    assert_string_equal(r.lookup.key, "tel:+84912345678");
    assert_int_equal(r.lookup.nlists, 1);
    assert_string_equal(r.lookup.lists[0], "licensed");
    /* The outcome moves on and fills the text. */
    {
        struct menu_state s2 = st;
        assert_int_equal(menu_lookup_result(&c, &s2, MENU_OUT_FOUND, f, 2, &r),
                         0);
        assert_string_equal(r.screen.text,
                            "Thanh Dat holds licence 123/LDTBXH-GP");
        assert_int_equal(r.end, 1);
        /* Only once: an ended walk is no longer waiting. */
        assert_int_equal(menu_lookup_result(&c, &s2, MENU_OUT_FOUND, f, 2, &r),
                         MENU_EINVAL);
    }
    {
        struct menu_state s2 = st;
        const struct menu_lookup_field rep[] = { { "reports", "3" },
                                                 { "since", "2026-11-02" } };
        assert_int_equal(
            menu_lookup_result(&c, &s2, MENU_OUT_REPORTED, rep, 2, &r), 0);
        assert_string_equal(r.screen.text,
                            "Reported by 3 people since 2026-11-02");
    }
    {
        struct menu_state s2 = st;
        assert_int_equal(
            menu_lookup_result(&c, &s2, MENU_OUT_UNKNOWN, NULL, 0, &r), 0);
        assert_string_equal(r.screen.text, "0912 345 678 is not on the list");
    }
    {
        /* A near match shows its own node, never the found one. */
        struct menu_state s2 = st;
        assert_int_equal(menu_lookup_result(&c, &s2, MENU_OUT_NEAR, f, 1, &r),
                         0);
        assert_string_equal(r.screen.text, "Did you mean Thanh Dat?");
    }
    {
        /* error has no node of its own here: it goes where unknown does. */
        struct menu_state s2 = st;
        assert_int_equal(
            menu_lookup_result(&c, &s2, MENU_OUT_ERROR, NULL, 0, &r), 0);
        assert_string_equal(r.screen.text, "0912 345 678 is not on the list");
    }
    menu_free(m);
}

/* A history replayed without Redis (Africa's Talking, no stored state):
 * a lookup before the last input ends as "error" — never "found". */
static void test_replay_lookup(void **state)
{
    static const char two[] =
        "name = \"check\";\n"
        "languages = [ \"en\" ];\n"
        "start = \"home\";\n"
        "country = \"84\";\n"
        "nodes = {\n"
        "  home = { type = \"menu\"; text = \"Hi\"; options = (\n"
        "    { key = \"1\"; label = \"Check\"; next = \"ask\"; } ); };\n"
        "  ask = { type = \"lookup\"; text = \"Type it\";\n"
        "          lists = [ \"licensed\" ]; found = \"yes\";\n"
        "          reported = \"bad\"; unknown = \"no\"; error = \"down\"; };\n"
        "  yes = { type = \"end\"; text = \"Licensed\"; };\n"
        "  bad = { type = \"end\"; text = \"Reported\"; };\n"
        "  no = { type = \"menu\"; text = \"Not on the list\"; options = (\n"
        "    { key = \"1\"; label = \"Again\"; next = \"ask\"; } ); };\n"
        "  down = { type = \"menu\"; text = \"Cannot check now\"; options = (\n"
        "    { key = \"1\"; label = \"Again\"; next = \"ask\"; } ); };\n"
        "};\n";
    struct menu *m = load_text(two);
    struct menu_ctx c = { m, { MENU_CH_USSD, 0, 0 }, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_replay(&c, "1*0912345678", &st, &r), 0);
    assert_int_equal(r.action, MENU_ACT_LOOKUP);
    assert_string_equal(r.lookup.key, "tel:+84912345678");
    assert_int_equal(menu_replay(&c, "1*0912345678*1", &st, &r), 0);
    assert_int_equal(r.action, MENU_ACT_NONE);
    assert_string_equal(r.screen.text, "Type it");
    assert_int_equal(menu_replay(&c, "1*0912345678*1*thanh dat", &st, &r), 0);
    assert_int_equal(r.action, MENU_ACT_LOOKUP);
    assert_string_equal(r.lookup.key, "id:thanhdat");
    menu_free(m);
}

/* ---- the checker ---------------------------------------------------------- */

static void expect_error(const char *path, const char *want)
{
    struct menu *m = NULL;
    struct menu_diags d;
    int seen = 0;

    menu_diags_init(&d);
    assert_int_not_equal(menu_load_file(path, &m, &d), 0);
    for (size_t i = 0; i < d.n; i++) {
        char line[512];

        menu_diag_format(path, &d.v[i], line, sizeof line);
        if (strstr(line, want))
            seen = 1;
        else
            fprintf(stderr, "(other) %s\n", line);
    }
    if (!seen)
        fprintf(stderr, "missing: %s\n", want);
    assert_true(seen);
    menu_diags_free(&d);
}

static void test_checker(void **state)
{
    (void)state;
    expect_error("tests/menus/bad_lookup_no_found.cfg",
                 "bad_lookup_no_found.cfg:9: node ask: lookup has no found: "
                 "add found = \"NODE\";");
    expect_error("tests/menus/bad_lookup_dangling.cfg",
                 "bad_lookup_dangling.cfg:9: node ask: near \"perhaps\" is "
                 "not a node");
    expect_error("tests/menus/bad_lookup_list.cfg",
                 "bad_lookup_list.cfg:9: node ask: list \"licensed list\" "
                 "may only use letters, digits, _ and -");
    expect_error("tests/menus/bad_lookup_next.cfg",
                 "bad_lookup_next.cfg:9: node ask: a lookup has no save, "
                 "next or options");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phone_keys),
        cmocka_unit_test(test_web_keys),
        cmocka_unit_test(test_name_keys),
        cmocka_unit_test(test_near_miss_is_not_found),
        cmocka_unit_test(test_walk_lookup),
        cmocka_unit_test(test_replay_lookup),
        cmocka_unit_test(test_checker),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
