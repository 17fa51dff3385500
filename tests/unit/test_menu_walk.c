/*
 * test_menu_walk.c — the walk as a caller sees it: the exact screens of the
 * shipped menu (config/menus/hotline.cfg) and of MENU-FORMAT.md's example
 * (tests/menus/example.cfg), navigation, the duress exit, pagination at the
 * exact page limits, history replay, and the state string kept in Redis.
 * Run from the repository root (the menus are loaded by relative path).
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

#define HOTLINE "config/menus/hotline.cfg"
#define EXAMPLE "tests/menus/example.cfg"

static const struct menu_render ussd_fold = { MENU_CH_USSD, 1, 0 };
static const struct menu_render ussd_plain = { MENU_CH_USSD, 0, 0 };

static const char main_en[] =
    "What do you need? Press 99 at any time to close this.\n"
    "1. Get help now\n"
    "2. Check a job offer\n"
    "3. Know your rights\n"
    "4. Useful numbers\n"
    "0. Back\n"
    "00. Main menu";

static const char language_folded[] =
    "Chon ngon ngu / Choose language / Pilih bahasa\n"
    "1. Tieng Viet\n"
    "2. English\n"
    "3. Bahasa Indonesia";

/* ---- helpers ---------------------------------------------------------- */

static struct menu *load_file(const char *path)
{
    struct menu *m = NULL;
    struct menu_diags d;
    int rc;

    menu_diags_init(&d);
    rc = menu_load_file(path, &m, &d);
    for (size_t i = 0; rc != 0 && i < d.n; i++) {
        char line[512];

        menu_diag_format(path, &d.v[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    menu_diags_free(&d);
    assert_int_equal(rc, 0);
    assert_non_null(m);
    return m;
}

static struct menu *load_text(const char *text)
{
    struct menu *m = NULL;
    struct menu_diags d;
    int rc;

    menu_diags_init(&d);
    rc = menu_load_string(text, "test.cfg", &m, &d);
    for (size_t i = 0; rc != 0 && i < d.n; i++) {
        char line[512];

        menu_diag_format("test.cfg", &d.v[i], line, sizeof line);
        fprintf(stderr, "%s\n", line);
    }
    menu_diags_free(&d);
    assert_int_equal(rc, 0);
    assert_non_null(m);
    return m;
}

/* A small one-language menu: start node `s` (a menu with text `text` and
 * one option "1. Go" to the end node `e`). */
static struct menu *load_start_text(const char *text)
{
    static const char fmt[] =
        "name = \"t\"; languages = [ \"en\" ]; start = \"s\";\n"
        "nav = { back = \"0\"; home = \"00\"; more = \"98\"; quit = \"99\"; };\n"
        "strings = { back = \"Back\"; home = \"Main menu\"; more = \"More\";\n"
        "  invalid = \"Invalid.\"; quit = \"Bye.\"; };\n"
        "nodes = {\n"
        "  s = { type = \"menu\"; text = \"%s\";\n"
        "        options = ( { key = \"1\"; label = \"Go\"; next = \"e\"; } ); };\n"
        "  e = { type = \"end\"; text = \"Done.\"; };\n"
        "};\n";
    char buf[4096];

    snprintf(buf, sizeof buf, fmt, text);
    return load_text(buf);
}

/* n characters of words "xxxxxxxxx" separated by single spaces, never
 * ending in a space; `wide` (a UTF-8 character) replaces the first x. */
static void words(char *out, size_t n, const char *wide)
{
    size_t o = 0;

    if (wide) {
        strcpy(out, wide);
        o = strlen(wide);
    }
    for (size_t i = wide ? 1 : 0; i < n; i++)
        out[o++] = (i % 10 == 9 && i + 1 < n) ? ' ' : 'x';
    out[o] = '\0';
}

static void step_ok(const struct menu_ctx *c, struct menu_state *st,
                    const char *in, struct menu_result *r)
{
    assert_int_equal(menu_step(c, st, in, r), 0);
}

static int node_of(const struct menu *m, const char *name)
{
    int i = menu_node_index(m, name);

    assert_true(i >= 0);
    return i;
}

/* ---- the shipped menu ---------------------------------------------------- */

static void test_language_screen_folded(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    assert_string_equal(r.screen.text, language_folded);
    assert_int_equal(r.screen.page, 0);
    assert_int_equal(r.screen.pages, 1);
    assert_int_equal(r.screen.measure.enc, MENU_GSM7);
    assert_int_equal(r.end, 0);
    assert_int_equal(st.node, m->start_idx);
    assert_int_equal(st.lang, 0);
    assert_int_equal(st.depth, 0);
    assert_int_equal(st.nvars, 0);
    menu_free(m);
}

/* Unfolded, the Vietnamese letters need UCS-2: 80 units a page, so the
 * same screen takes two pages, the more line in the default language. */
static void test_language_screen_ucs2_two_pages(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_plain, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    assert_string_equal(r.screen.text,
                        "Chọn ngôn ngữ / Choose language / Pilih bahasa\n"
                        "1. Tiếng Việt\n"
                        "98. Xem thêm");
    assert_int_equal(r.screen.pages, 2);
    assert_int_equal(r.screen.measure.enc, MENU_UCS2);
    step_ok(&c, &st, "98", &r);
    assert_string_equal(r.screen.text, "2. English\n3. Bahasa Indonesia");
    assert_int_equal(r.screen.page, 1);
    step_ok(&c, &st, "2", &r);
    assert_string_equal(r.screen.text, main_en);
    menu_free(m);
}

static void test_help_walk_forward_once(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, "ABC123", NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    step_ok(&c, &st, "2", &r);
    assert_string_equal(r.screen.text, main_en);
    assert_int_equal(st.lang, menu_lang_index(m, "en"));
    step_ok(&c, &st, "1", &r);
    assert_string_equal(r.screen.text,
                        "Where are you now? Write the town and country, or "
                        "the company or building name.\n0. Back\n00. Main menu");
    step_ok(&c, &st, " Hanoi\r\n", &r);
    assert_string_equal(r.screen.text,
                        "Are you in danger right now?\n1. Yes\n2. No\n"
                        "3. Not sure\n0. Back\n00. Main menu");
    assert_string_equal(menu_state_get(&st, "location"), "Hanoi");
    step_ok(&c, &st, "1", &r);
    assert_string_equal(r.screen.text,
                        "Is it safe for us to call you back?\n1. Yes, call me\n"
                        "2. No, do not call\n0. Back\n00. Main menu");
    assert_int_equal(r.action, MENU_ACT_NONE);
    step_ok(&c, &st, "2", &r);
    assert_string_equal(r.screen.text,
                        "Sent. Your reference is ABC123. Keep it. Call us only "
                        "when it is safe. If someone checks your phone, delete "
                        "this message.");
    assert_int_equal(r.action, MENU_ACT_FORWARD);
    assert_int_equal(r.end, 1);
    assert_int_equal(r.invalid, 0);
    assert_ptr_equal(r.node, &m->nodes[node_of(m, "send")]);
    assert_string_equal(menu_state_get(&st, "in_danger"), "yes");
    assert_string_equal(menu_state_get(&st, "safe_to_call"), "no");
    assert_string_equal(menu_state_get(&st, "callback"), "none");
    assert_int_equal(st.ended, 1);

    /* The session is over: no second forward, the same screen on show. */
    assert_int_equal(menu_step(&c, &st, "2", &r), MENU_EENDED);
    assert_int_equal(r.action, MENU_ACT_NONE);
    assert_int_equal(menu_show(&c, &st, &r), 0);
    assert_int_equal(r.action, MENU_ACT_NONE);
    assert_int_equal(r.end, 1);
    assert_string_equal(r.screen.text,
                        "Sent. Your reference is ABC123. Keep it. Call us only "
                        "when it is safe. If someone checks your phone, delete "
                        "this message.");
    menu_free(m);
}

static void test_invalid_key_then_valid(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    char want[512];

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "7", &r);
    snprintf(want, sizeof want, "Invalid. Try again.\n%s", main_en);
    assert_string_equal(r.screen.text, want);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(st.node, node_of(m, "main"));
    step_ok(&c, &st, "1", &r);
    assert_int_equal(r.invalid, 0);
    assert_int_equal(st.node, node_of(m, "where"));
    /* Too short for min = 2: refused, same question. */
    step_ok(&c, &st, "H", &r);
    assert_int_equal(r.invalid, 1);
    assert_string_equal(r.screen.text,
                        "Invalid. Try again.\nWhere are you now? Write the town "
                        "and country, or the company or building name.\n"
                        "0. Back\n00. Main menu");
    step_ok(&c, &st, "0", &r);
    assert_string_equal(r.screen.text, main_en);
    menu_free(m);
}

/* Back and home on the start screen at depth 0 are answers like any other:
 * refused, in the session's language. */
static void test_nav_keys_on_start_screen_are_invalid(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    char want[512];

    (void)state;
    menu_begin(&c, &st, &r);
    snprintf(want, sizeof want, "Sai. Hay thu lai.\n%s", language_folded);
    step_ok(&c, &st, "0", &r);
    assert_string_equal(r.screen.text, want);
    assert_int_equal(r.invalid, 1);
    step_ok(&c, &st, "00", &r);
    assert_string_equal(r.screen.text, want);
    step_ok(&c, &st, "98", &r);
    assert_string_equal(r.screen.text, want);
    menu_free(m);
}

static void test_home_clears_the_stack(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "5", &r);
    assert_int_equal(st.node, node_of(m, "jobs_more"));
    assert_int_equal(st.depth, 3);
    step_ok(&c, &st, "00", &r);
    assert_string_equal(r.screen.text, main_en);
    assert_int_equal(st.depth, 0);
    assert_int_equal(st.node, node_of(m, "main"));
    /* The language chosen stays until another is chosen. */
    assert_int_equal(st.lang, menu_lang_index(m, "en"));
    /* Nothing to go back to from home. */
    step_ok(&c, &st, "0", &r);
    assert_int_equal(r.invalid, 1);
    menu_free(m);
}

static void test_quit_from_input_node(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, "ABC123", NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "1", &r);
    step_ok(&c, &st, "99", &r);
    assert_string_equal(r.screen.text, "Thank you. Goodbye.");
    assert_int_equal(r.action, MENU_ACT_QUIT);
    assert_int_equal(r.end, 1);
    assert_int_equal(menu_state_get(&st, "location") == NULL, 1);
    assert_int_equal(menu_show(&c, &st, &r), 0);
    assert_string_equal(r.screen.text, "Thank you. Goodbye.");
    assert_int_equal(r.end, 1);
    assert_int_equal(r.action, MENU_ACT_NONE);
    assert_int_equal(menu_step(&c, &st, "1", &r), MENU_EENDED);
    menu_free(m);
}

static void test_quit_from_start_screen(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "99", &r);
    assert_string_equal(r.screen.text, "Cam on. Tam biet.");
    assert_int_equal(r.action, MENU_ACT_QUIT);
    menu_free(m);
}

static void test_phone_input(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, "R", NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    static const char *const steps[] = { "2", "1", "Hanoi", "2", "1", "2" };

    (void)state;
    menu_begin(&c, &st, &r);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        step_ok(&c, &st, steps[i], &r);
    assert_int_equal(st.node, node_of(m, "othernum"));
    step_ok(&c, &st, "+84 912 abc", &r);
    assert_int_equal(r.invalid, 1);
    step_ok(&c, &st, "84-912", &r);
    assert_int_equal(r.invalid, 1);
    step_ok(&c, &st, "+8", &r);
    assert_int_equal(r.invalid, 1);
    step_ok(&c, &st, "+84 91-234.5678", &r);
    assert_int_equal(r.invalid, 0);
    assert_int_equal(r.action, MENU_ACT_FORWARD);
    assert_string_equal(menu_state_get(&st, "callback"), "+84912345678");
    assert_string_equal(menu_state_get(&st, "safe_to_call"), "yes");
    menu_free(m);
}

static void test_fit_report(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_fit f;

    (void)state;
    assert_int_equal(menu_fit_node(m, node_of(m, "main"),
                                   menu_lang_index(m, "en"), &ussd_fold, &f), 0);
    assert_int_equal(f.pages, 1);
    assert_int_equal(f.enc, MENU_GSM7);
    assert_int_equal(f.units, strlen(main_en));
    assert_int_equal(f.limit, 182);
    menu_free(m);
}

/* ---- MENU-FORMAT.md's example -------------------------------------------- */

static void test_example_walk(void **state)
{
    struct menu *m = load_file(EXAMPLE);
    struct menu_ctx c = { m, ussd_plain, "R1", NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    assert_string_equal(r.screen.text, "Duong day nong ho tro nguoi di cu\n"
                                       "1. Tieng Viet\n2. English");
    step_ok(&c, &st, "2", &r);
    assert_string_equal(r.screen.text, "What do you need?\n1. Help now\n"
                                       "2. Check a job offer\n0. Back\n"
                                       "00. Main menu");
    /* No nav.quit in this menu: 99 is just a wrong answer. */
    step_ok(&c, &st, "99", &r);
    assert_string_equal(r.screen.text, "Invalid choice.\nWhat do you need?\n"
                                       "1. Help now\n2. Check a job offer\n"
                                       "0. Back\n00. Main menu");
    step_ok(&c, &st, "1", &r);
    step_ok(&c, &st, "Hanoi", &r);
    assert_string_equal(r.screen.text, "Is it safe to call you back?\n1. Yes\n"
                                       "2. No\n0. Back\n00. Main menu");
    step_ok(&c, &st, "1", &r);
    assert_string_equal(r.screen.text, "Sent. Your reference is R1.");
    assert_int_equal(r.action, MENU_ACT_FORWARD);
    menu_free(m);
    m = load_file(EXAMPLE);
    c.menu = m;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "1", &r);
    step_ok(&c, &st, "2", &r);
    assert_string_equal(r.screen.text, "Khong tra phi tuyen dung.");
    assert_int_equal(r.end, 1);
    assert_int_equal(r.action, MENU_ACT_NONE);
    menu_free(m);
}

/* ---- variables ------------------------------------------------------------ */

static void test_variables_in_text(void **state)
{
    struct menu *m = load_text(
        "name = \"t\"; languages = [ \"en\" ]; start = \"s\";\n"
        "nav = { back = \"0\"; home = \"00\"; more = \"98\"; };\n"
        "strings = { back = \"Back\"; home = \"Home\"; more = \"More\";\n"
        "  invalid = \"Invalid.\"; };\n"
        "nodes = {\n"
        "  s = { type = \"input\"; text = \"Name?\"; save = \"who\";\n"
        "        accept = \"text\"; min = 1; max = 10; next = \"f\"; };\n"
        "  f = { type = \"forward\"; queue = \"q\"; fields = [ \"who\" ];\n"
        "        text = \"Hi {who}, ref {ref}.{nobody} {open\"; };\n"
        "};\n");
    struct menu_ctx c = { m, ussd_plain, "R9", NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    assert_string_equal(r.screen.text, "Name?");
    step_ok(&c, &st, "Ann", &r);
    assert_string_equal(r.screen.text, "Hi Ann, ref R9. {open");
    c.ref = NULL;
    menu_show(&c, &st, &r);
    assert_string_equal(r.screen.text, "Hi Ann, ref . {open");
    menu_free(m);
}

/* ---- pagination at the exact limits --------------------------------------- */

/* A screen of `total` units: start text + "\n1. Go" (6 units). */
static int pages_for(const struct menu_render *rd, size_t total,
                     const char *wide)
{
    char text[1024];
    struct menu *m;
    struct menu_ctx c;
    struct menu_state st;
    struct menu_result r;
    int pages;

    words(text, total - 6, wide);
    m = load_start_text(text);
    c.menu = m;
    c.render = *rd;
    c.ref = NULL;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    pages = r.screen.pages;
    if (pages == 1)
        assert_int_equal(r.screen.measure.units, total);
    assert_true(r.screen.measure.units <=
                menu_page_limit(rd, r.screen.measure.enc));
    menu_free(m);
    return pages;
}

static void test_page_limits(void **state)
{
    struct menu_render sms1 = { MENU_CH_SMS, 0, 1 };
    struct menu_render sms3 = { MENU_CH_SMS, 0, 3 };
    struct menu_render sms0 = { MENU_CH_SMS, 0, 0 };

    (void)state;
    assert_int_equal(menu_page_limit(&ussd_plain, MENU_GSM7), 182);
    assert_int_equal(menu_page_limit(&ussd_plain, MENU_UCS2), 80);
    assert_int_equal(menu_page_limit(&sms0, MENU_GSM7), 160);
    assert_int_equal(menu_page_limit(&sms1, MENU_UCS2), 70);
    assert_int_equal(menu_page_limit(&sms3, MENU_GSM7), 459);
    assert_int_equal(menu_page_limit(&sms3, MENU_UCS2), 201);

    assert_int_equal(pages_for(&ussd_plain, 182, NULL), 1);
    assert_int_equal(pages_for(&ussd_plain, 183, NULL), 2);
    assert_int_equal(pages_for(&ussd_plain, 80, "\xe1\xbb\x87"), 1);
    assert_int_equal(pages_for(&ussd_plain, 81, "\xe1\xbb\x87"), 2);
    assert_int_equal(pages_for(&sms1, 160, NULL), 1);
    assert_int_equal(pages_for(&sms1, 161, NULL), 2);
    assert_int_equal(pages_for(&sms1, 70, "\xe1\xbb\x87"), 1);
    assert_int_equal(pages_for(&sms1, 71, "\xe1\xbb\x87"), 2);
    assert_int_equal(pages_for(&sms3, 459, NULL), 1);
    assert_int_equal(pages_for(&sms3, 460, NULL), 2);
}

/* 183 units: the text is cut at the last space that leaves room for
 * "\n98. More" (173 units), the rest goes on page 2 with the option. */
static void test_long_text_cut_at_spaces(void **state)
{
    char text[256], want[256];
    struct menu *m;
    struct menu_ctx c = { NULL, ussd_plain, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    words(text, 177, NULL);
    m = load_start_text(text);
    c.menu = m;
    menu_begin(&c, &st, &r);
    snprintf(want, sizeof want, "%.169s\n98. More", text);
    assert_string_equal(r.screen.text, want);
    assert_int_equal(r.screen.pages, 2);
    step_ok(&c, &st, "98", &r);
    assert_string_equal(r.screen.text, "xxxxxxx\n1. Go");
    assert_int_equal(r.screen.page, 1);
    /* No page after the last: 98 is a wrong answer there. */
    step_ok(&c, &st, "98", &r);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(r.screen.page, 0);
    menu_free(m);
}

static const char long_opts_menu[] =
    "name = \"t\"; languages = [ \"en\" ]; start = \"s\";\n"
    "nav = { back = \"0\"; home = \"00\"; more = \"98\"; quit = \"99\"; };\n"
    "strings = { back = \"Back\"; home = \"Main menu\"; more = \"More\";\n"
    "  invalid = \"Invalid.\"; quit = \"Bye.\"; };\n"
    "nodes = {\n"
    "  s = { type = \"menu\"; text = \"Start\";\n"
    "        options = ( { key = \"1\"; label = \"Long\"; next = \"m\"; } ); };\n"
    "  m = { type = \"menu\"; text = \"Pick\"; options = (\n"
    "    { key = \"1\"; label = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; next = \"e\"; },\n"
    "    { key = \"2\"; label = \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"; next = \"e\"; },\n"
    "    { key = \"3\"; label = \"cccccccccccccccccccccccccccccccccccccccc\"; next = \"e\"; },\n"
    "    { key = \"4\"; label = \"dddddddddddddddddddddddddddddddddddddddd\"; next = \"e\"; },\n"
    "    { key = \"5\"; label = \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"; next = \"e\"; }\n"
    "  ); };\n"
    "  e = { type = \"end\"; text = \"Done.\"; };\n"
    "};\n";

#define L40(ch) ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch \
                ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch

/* Option lines move whole to the next page; the nav lines are on every
 * page; back walks back across pages before it leaves the screen. */
static void test_options_never_split_and_back_across_pages(void **state)
{
    struct menu *m = load_text(long_opts_menu);
    struct menu_ctx c = { m, ussd_plain, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "1", &r);
    assert_string_equal(r.screen.text,
                        "Pick\n1. " L40("a") "\n2. " L40("b") "\n3. " L40("c")
                        "\n0. Back\n00. Main menu\n98. More");
    assert_int_equal(r.screen.pages, 2);
    step_ok(&c, &st, "98", &r);
    assert_string_equal(r.screen.text,
                        "4. " L40("d") "\n5. " L40("e")
                        "\n0. Back\n00. Main menu");
    assert_int_equal(st.page, 1);
    step_ok(&c, &st, "0", &r);
    assert_int_equal(st.page, 0);
    assert_int_equal(r.screen.page, 0);
    assert_int_equal(st.node, node_of(m, "m"));
    step_ok(&c, &st, "0", &r);
    assert_string_equal(r.screen.text, "Start\n1. Long");
    assert_int_equal(st.depth, 0);
    menu_free(m);
}

/* An option line longer than a page cannot be laid out. */
static void test_option_too_long_is_enospc(void **state)
{
    struct menu *m = load_text(long_opts_menu);
    struct menu_ctx c = { m, ussd_plain, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    struct menu_fit f;
    char huge[300];
    int n = node_of(m, "m");
    struct menu_option *o = &m->nodes[n].opts[0];
    char *saved_all = o->label.all;
    char *saved_lang = o->label.lang[0];

    (void)state;
    memset(huge, 'z', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    o->label.all = huge;
    o->label.lang[0] = NULL;
    assert_int_equal(menu_fit_node(m, n, 0, &ussd_plain, &f), MENU_ENOSPC);
    assert_int_equal(f.pages, -1);
    assert_int_equal(f.limit, 182);
    menu_begin(&c, &st, &r);
    assert_int_equal(menu_step(&c, &st, "1", &r), MENU_ENOSPC);
    assert_int_equal(r.screen.pages, -1);
    o->label.all = saved_all;
    o->label.lang[0] = saved_lang;
    menu_free(m);
}

static void test_stack_drops_oldest(void **state)
{
    struct menu *m = load_text(
        "name = \"t\"; languages = [ \"en\" ]; start = \"a\";\n"
        "nav = { back = \"0\"; home = \"00\"; more = \"98\"; };\n"
        "strings = { back = \"Back\"; home = \"Home\"; more = \"More\";\n"
        "  invalid = \"Invalid.\"; };\n"
        "nodes = {\n"
        "  a = { type = \"menu\"; text = \"A\"; options = (\n"
        "    { key = \"1\"; label = \"B\"; next = \"b\"; },\n"
        "    { key = \"2\"; label = \"End\"; next = \"e\"; } ); };\n"
        "  b = { type = \"menu\"; text = \"B\"; options = (\n"
        "    { key = \"1\"; label = \"A\"; next = \"a\"; } ); };\n"
        "  e = { type = \"end\"; text = \"Done.\"; };\n"
        "};\n");
    struct menu_ctx c = { m, ussd_plain, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    for (int i = 0; i < MENU_STACK_MAX + 6; i++)
        step_ok(&c, &st, "1", &r);
    assert_int_equal(st.depth, MENU_STACK_MAX);
    for (int i = 0; i < MENU_STACK_MAX; i++) {
        step_ok(&c, &st, "0", &r);
        assert_int_equal(r.invalid, 0);
    }
    assert_int_equal(st.depth, 0);
    /* 30 steps from a: the oldest 6 screens were forgotten; we are on a. */
    assert_int_equal(st.node, node_of(m, "a"));
    step_ok(&c, &st, "0", &r);
    assert_int_equal(r.invalid, 1);
    menu_free(m);
}

/* ---- replay ------------------------------------------------------------ */

static void test_replay_star_in_free_text(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, "ABC123", NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_replay(&c, "2*1*Block B*7", &st, &r), 0);
    assert_string_equal(menu_state_get(&st, "location"), "Block B*7");
    assert_int_equal(st.node, node_of(m, "danger"));
    assert_int_equal(r.invalid, 0);
    assert_int_equal(menu_replay(&c, "2*1*Block B*7*1", &st, &r), 0);
    assert_string_equal(menu_state_get(&st, "location"), "Block B*7");
    assert_int_equal(st.node, node_of(m, "callsafe"));
    /* Not the last: an answer is one field. */
    assert_int_equal(menu_replay(&c, "2*1*Hanoi*1*2", &st, &r), 0);
    assert_string_equal(menu_state_get(&st, "location"), "Hanoi");
    assert_int_equal(r.action, MENU_ACT_FORWARD);
    assert_int_equal(r.end, 1);
    menu_free(m);
}

static void test_replay_same_history_same_screen(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, "ABC123", NULL, NULL };
    struct menu_state a, b;
    struct menu_result ra, rb;
    char want[512];

    (void)state;
    assert_int_equal(menu_replay(&c, "", &a, &ra), 0);
    assert_string_equal(ra.screen.text, language_folded);
    assert_int_equal(menu_replay(&c, "2*1*Hanoi*1*2", &a, &ra), 0);
    assert_int_equal(menu_replay(&c, "2*1*Hanoi*1*2", &b, &rb), 0);
    assert_string_equal(ra.screen.text, rb.screen.text);
    assert_int_equal(ra.action, MENU_ACT_FORWARD);
    assert_int_equal(rb.action, MENU_ACT_FORWARD);
    assert_memory_equal(&a, &b, sizeof a);
    /* Going on after the end: the end screen, no action again. */
    assert_int_equal(menu_replay(&c, "2*1*Hanoi*1*2*1", &b, &rb), 0);
    assert_string_equal(rb.screen.text, ra.screen.text);
    assert_int_equal(rb.action, MENU_ACT_NONE);
    assert_int_equal(rb.end, 1);
    /* Only the last step's action is reported. */
    assert_int_equal(menu_replay(&c, "2*1*99", &b, &rb), 0);
    assert_int_equal(rb.action, MENU_ACT_QUIT);
    assert_string_equal(rb.screen.text, "Thank you. Goodbye.");
    assert_int_equal(menu_replay(&c, "2*7", &b, &rb), 0);
    snprintf(want, sizeof want, "Invalid. Try again.\n%s", main_en);
    assert_string_equal(rb.screen.text, want);
    assert_int_equal(rb.invalid, 1);
    assert_int_equal(menu_replay(&c, "2*7*1*0", &b, &rb), 0);
    assert_string_equal(rb.screen.text, main_en);
    menu_free(m);
}

static void test_replay_bounds(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    char *h = malloc(MENU_HISTORY_MAX + 2);

    (void)state;
    assert_non_null(h);
    for (size_t i = 0; i < MENU_HISTORY_MAX + 1; i++)
        h[i] = (i % 2) ? '*' : '0';
    h[MENU_HISTORY_MAX + 1] = '\0';
    assert_int_equal(menu_replay(&c, h, &st, &r), MENU_EINVAL);
    h[MENU_HISTORY_MAX] = '\0';
    assert_int_equal(menu_replay(&c, h, &st, &r), 0);
    /* Stars only: empty answers, all refused. */
    memset(h, '*', MENU_HISTORY_MAX);
    assert_int_equal(menu_replay(&c, h, &st, &r), 0);
    assert_int_equal(r.invalid, 1);
    free(h);
    menu_free(m);
}

static void test_history_next(void **state)
{
    const char *h = "2*1*Block B*7";

    (void)state;
    assert_ptr_equal(menu_history_next(h, "2*1"), h + 4);
    assert_string_equal(menu_history_next(h, "2*1"), "Block B*7");
    assert_string_equal(menu_history_next("2*1", "2"), "1");
    assert_string_equal(menu_history_next("2", ""), "2");
    assert_null(menu_history_next("", ""));
    assert_null(menu_history_next("2*1", "2*1"));
    assert_null(menu_history_next("3*1", "2"));
    assert_null(menu_history_next("21", "2"));
    assert_null(menu_history_next("2", "2*1"));
    assert_null(menu_history_next(NULL, ""));
}

/* ---- the state string ---------------------------------------------------- */

static void test_state_round_trip(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st, back;
    struct menu_result r, again;
    char enc[MENU_STATE_ENC_MAX];
    int n;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "1", &r);
    step_ok(&c, &st, "Ph\xc3\xb2ng 3|4; a=b%c,d:e", &r);
    assert_int_equal(r.invalid, 0);
    n = menu_state_encode(m, &st, enc, sizeof enc);
    assert_string_equal(enc, "1|n=danger|p=0|l=en|e=0|s=language:0,main:0,"
                             "where:0|v=location=Ph\xc3\xb2ng 3%7C4%3B a%3Db"
                             "%25c%2Cd%3Ae");
    assert_int_equal(n, (int)strlen(enc));
    assert_int_equal(menu_state_decode(m, enc, (size_t)n, &back), 0);
    assert_memory_equal(&st, &back, sizeof st);
    menu_show(&c, &back, &again);
    assert_string_equal(again.screen.text, r.screen.text);

    /* Every field used: a page, the end flag, several variables. */
    st.page = 3;
    st.ended = 2;
    strcpy(st.vars[1].name, "x");
    strcpy(st.vars[1].value, "");
    strcpy(st.vars[2].name, "y");
    strcpy(st.vars[2].value, "\xe1\xbb\x87 %% \t");
    st.nvars = 3;
    n = menu_state_encode(m, &st, enc, sizeof enc);
    assert_true(n > 0);
    assert_int_equal(menu_state_decode(m, enc, (size_t)n, &back), 0);
    assert_memory_equal(&st, &back, sizeof st);

    /* Too small a buffer. */
    assert_int_equal(menu_state_encode(m, &st, enc, 10), MENU_ENOSPC);
    menu_free(m);
}

/* Decodes s (its strlen) and checks the code and that st was zeroed. */
static void decode_fails(const struct menu *m, const char *s, size_t len,
                         int want)
{
    static const struct menu_state zero;
    struct menu_state st;

    memset(&st, 0x5a, sizeof st);
    assert_int_equal(menu_state_decode(m, s, len, &st), want);
    assert_memory_equal(&st, &zero, sizeof st);
}

static void test_state_decode_rejects(void **state)
{
    struct menu *m = load_file(HOTLINE);
    static const char good[] =
        "1|n=danger|p=0|l=en|e=0|s=language:0,main:0,where:0|v=location=Hanoi";
    struct menu_state st;
    char big[MENU_STATE_ENC_MAX + 8];
    char buf[4096];
    size_t vpos = strstr(good, "|v=") - good;

    (void)state;
    assert_int_equal(menu_state_decode(m, good, strlen(good), &st), 0);
    decode_fails(m, "", 0, MENU_EINVAL);
    decode_fails(m, "hello", 5, MENU_EINVAL);
#define BAD(s, code) decode_fails(m, s, strlen(s), code)
    BAD("\xff\xfe garbage |||", MENU_EINVAL);
    BAD("2|n=danger|p=0|l=en|e=0|s=|v=", MENU_EINVAL);
    BAD("1|n=nosuch|p=0|l=en|e=0|s=|v=", MENU_ENOENT);
    BAD("1|n=danger|p=0|l=fr|e=0|s=|v=", MENU_ENOENT);
    BAD("1|n=danger|p=0|l=en|e=0|s=nosuch:0|v=", MENU_ENOENT);
    BAD("1|n=danger|p=01|l=en|e=0|s=|v=", MENU_EINVAL);
    BAD("1|n=danger|p=-1|l=en|e=0|s=|v=", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=3|s=|v=", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=1;a=2", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v==1", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=%00", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=%zz", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=%FF", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=\xc3", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=x\ty", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=1|", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=1;", MENU_EINVAL);
    BAD("1|n=danger|p=0|l=en|e=0|s=|v=a=1 extra|x=1", MENU_EINVAL);
    decode_fails(m, "1|n=danger\0|p=0", 15, MENU_EINVAL);
#undef BAD

    /* Truncated anywhere before the variables. */
    for (size_t len = 0; len < vpos + 3; len++)
        decode_fails(m, good, len, MENU_EINVAL);

    /* Oversized. */
    memset(big, 'a', sizeof big);
    memcpy(big, good, strlen(good));
    decode_fails(m, big, MENU_STATE_ENC_MAX, MENU_EINVAL);

    /* Too many frames: MENU_STACK_MAX + 1. */
    strcpy(buf, "1|n=danger|p=0|l=en|e=0|s=main:0");
    for (int i = 0; i < MENU_STACK_MAX; i++)
        strcat(buf, ",main:0");
    strcat(buf, "|v=");
    decode_fails(m, buf, strlen(buf), MENU_EINVAL);

    /* Too many variables: MENU_VARS_MAX + 1. */
    strcpy(buf, "1|n=danger|p=0|l=en|e=0|s=|v=");
    for (int i = 0; i <= MENU_VARS_MAX; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%sv%d=1",
                 i ? ";" : "", i);
    decode_fails(m, buf, strlen(buf), MENU_EINVAL);

    /* A value one byte too long; one that just fits. */
    strcpy(buf, "1|n=danger|p=0|l=en|e=0|s=|v=a=");
    memset(buf + strlen(buf), 'v', MENU_VAR_VALUE_MAX);
    buf[strlen("1|n=danger|p=0|l=en|e=0|s=|v=a=") + MENU_VAR_VALUE_MAX] = '\0';
    decode_fails(m, buf, strlen(buf), MENU_EINVAL);
    buf[strlen(buf) - 1] = '\0';
    assert_int_equal(menu_state_decode(m, buf, strlen(buf), &st), 0);
    assert_int_equal(strlen(menu_state_get(&st, "a")), MENU_VAR_VALUE_MAX - 1);
    menu_free(m);
}

/* ---- issue 13: final screens, disguised entry, phone forms, home -------- */

/* Walks the shipped menu in Vietnamese to the "Sent" screen on an unfolded
 * USSD channel (80 UCS-2 units a page). */
static void walk_vi_to_sent(const struct menu_ctx *c, struct menu_state *st,
                            struct menu_result *r)
{
    static const char *const steps[] = { "1", "1", "Hà Nội", "1", "2" };

    assert_int_equal(menu_begin(c, st, r), 0);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        step_ok(c, st, steps[i], r);
}

/* A two-page final screen in vi unfolded: the first page continues with
 * "98. Xem thêm" (the session does not end there), the forward happens once
 * on page 1, and 98 shows the rest: "only call when safe / delete this
 * message". The last page ends the session; nothing more is accepted. */
static void test_final_screen_two_pages_vi_unfolded(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_plain, "ABC123", NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    char all[2 * MENU_SCREEN_MAX] = "";

    (void)state;
    walk_vi_to_sent(&c, &st, &r);
    assert_int_equal(r.action, MENU_ACT_FORWARD);
    assert_ptr_equal(r.node, &m->nodes[node_of(m, "send")]);
    assert_int_equal(r.screen.page, 0);
    assert_true(r.screen.pages >= 2);
    assert_int_equal(r.end, 0);
    assert_non_null(strstr(r.screen.text, "Đã gửi. Mã số của bạn: ABC123."));
    assert_non_null(strstr(r.screen.text, "\n98. Xem thêm"));
    assert_int_equal(st.ended, 1);
    /* The pages read one after the other, without their "98." lines. */
    strncat(all, r.screen.text, strstr(r.screen.text, "\n98. ") - r.screen.text);
    for (int p = 1; p < r.screen.pages; p++) {
        int pages = r.screen.pages;
        const char *more;

        step_ok(&c, &st, "98", &r);
        assert_int_equal(r.action, MENU_ACT_NONE);   /* never filed again */
        assert_int_equal(r.invalid, 0);
        assert_int_equal(r.screen.page, p);
        assert_int_equal(r.end, p + 1 == pages);
        more = strstr(r.screen.text, "\n98. ");
        strcat(all, " ");
        strncat(all, r.screen.text,
                more ? (size_t)(more - r.screen.text) : strlen(r.screen.text));
    }
    assert_int_equal(r.end, 1);
    assert_null(strstr(r.screen.text, "98."));
    assert_non_null(strstr(all, "Chỉ gọi cho chúng tôi khi an toàn."));
    assert_non_null(strstr(all, "hãy xóa tin này."));
    /* Past the last page the session is over. */
    assert_int_equal(menu_step(&c, &st, "98", &r), MENU_EENDED);
    assert_int_equal(r.action, MENU_ACT_NONE);
    menu_free(m);
}

/* Paging a final screen: any other answer shows the same page again (not
 * filed again); 99 is still the duress exit before the last page. The same
 * walk replayed from an Africa's Talking history reaches the last page with
 * no action. */
static void test_final_screen_paging_keys_and_replay(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_plain, "ABC123", NULL, NULL };
    struct menu_state st, st2;
    struct menu_result r, r2;
    char first[MENU_SCREEN_MAX];

    (void)state;
    walk_vi_to_sent(&c, &st, &r);
    snprintf(first, sizeof first, "%s", r.screen.text);
    step_ok(&c, &st, "5", &r);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(r.action, MENU_ACT_NONE);
    assert_int_equal(r.end, 0);
    assert_string_equal(r.screen.text, first);
    step_ok(&c, &st, "99", &r);
    assert_int_equal(r.action, MENU_ACT_QUIT);
    assert_int_equal(r.end, 1);
    assert_string_equal(r.screen.text, "Cảm ơn. Tạm biệt.");

    walk_vi_to_sent(&c, &st, &r);
    step_ok(&c, &st, "98", &r);
    assert_int_equal(r.end, 1);
    /* The last page ended the session: nothing is accepted after it. */
    {
        struct menu_state after = st;
        struct menu_result ra;

        assert_int_equal(menu_step(&c, &after, "0", &ra), MENU_EENDED);
        assert_int_equal(menu_step(&c, &after, "99", &ra), MENU_EENDED);
    }
    assert_int_equal(menu_replay(&c, "1*1*Hà Nội*1*2*98", &st2, &r2), 0);
    assert_int_equal(r2.action, MENU_ACT_NONE);
    assert_int_equal(r2.screen.page, 1);
    assert_int_equal(r2.end, r.end);
    assert_string_equal(r2.screen.text, r.screen.text);
    assert_int_equal(menu_replay(&c, "1*1*Hà Nội*1*2", &st2, &r2), 0);
    assert_int_equal(r2.action, MENU_ACT_FORWARD);
    assert_int_equal(r2.end, 0);
    menu_free(m);
}

/* The same final screen on a folding channel fits one page: it ends there,
 * as before. */
static void test_final_screen_one_page_ends(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, "ABC123", NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    walk_vi_to_sent(&c, &st, &r);
    assert_int_equal(r.screen.pages, 1);
    assert_int_equal(r.end, 1);
    assert_int_equal(r.action, MENU_ACT_FORWARD);
    menu_free(m);
}

/* A disguised front: "job tips" with a hidden option 7 and a code input. */
static const char disguised_text[] =
    "name = \"d\"; languages = [ \"en\" ]; start = \"front\"; home = \"front\";\n"
    "nav = { back = \"0\"; home = \"00\"; more = \"98\"; quit = \"99\"; };\n"
    "strings = { back = \"Back\"; home = \"Main menu\"; more = \"More\";\n"
    "  invalid = \"Invalid.\"; quit = \"Bye.\"; };\n"
    "nodes = {\n"
    "  front = { type = \"menu\"; text = \"Job tips\";\n"
    "    options = ( { key = \"1\"; label = \"Tip of the day\"; next = \"tip\"; },\n"
    "                { key = \"2\"; label = \"Enter member code\"; next = \"code\"; },\n"
    "                { key = \"7\"; hidden = true; next = \"help\"; } ); };\n"
    "  tip = { type = \"end\"; text = \"Read every contract.\"; };\n"
    "  code = { type = \"input\"; text = \"Member code:\"; accept = \"digits\";\n"
    "    save = \"member\"; min = 4; max = 8; next = \"nomember\";\n"
    "    match = ( { value = \"4321\"; next = \"help\"; },\n"
    "              { value = \"5555\"; next = \"help\"; save_match = true; } ); };\n"
    "  nomember = { type = \"end\"; text = \"Code {member} not found.\"; };\n"
    "  help = { type = \"menu\"; text = \"Secret help\";\n"
    "    options = ( { key = \"1\"; label = \"Get help\"; next = \"sent\"; } ); };\n"
    "  sent = { type = \"end\"; text = \"Sent.\"; };\n"
    "};\n";

static void test_hidden_option(void **state)
{
    struct menu *m = load_text(disguised_text);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    assert_int_equal(menu_begin(&c, &st, &r), 0);
    assert_string_equal(r.screen.text,
                        "Job tips\n1. Tip of the day\n2. Enter member code");
    step_ok(&c, &st, "7", &r);
    assert_int_equal(r.invalid, 0);
    assert_int_equal(st.node, node_of(m, "help"));
    assert_string_equal(r.screen.text,
                        "Secret help\n1. Get help\n0. Back\n00. Main menu");
    /* Invalid answers on the front never reveal the hidden option. */
    step_ok(&c, &st, "00", &r);
    assert_int_equal(st.node, node_of(m, "front"));
    step_ok(&c, &st, "8", &r);
    assert_int_equal(r.invalid, 1);
    assert_string_equal(r.screen.text,
                        "Invalid.\nJob tips\n1. Tip of the day\n"
                        "2. Enter member code");
    menu_free(m);
}

static void test_match_branches_on_the_answer(void **state)
{
    struct menu *m = load_text(disguised_text);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    /* The code: to help, and not saved. */
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, " 4321 ", &r);
    assert_int_equal(r.invalid, 0);
    assert_int_equal(st.node, node_of(m, "help"));
    assert_null(menu_state_get(&st, "member"));
    /* Back from help returns to the code question. */
    step_ok(&c, &st, "0", &r);
    assert_int_equal(st.node, node_of(m, "code"));
    /* save_match keeps the value. */
    step_ok(&c, &st, "5555", &r);
    assert_int_equal(st.node, node_of(m, "help"));
    assert_string_equal(menu_state_get(&st, "member"), "5555");
    /* Any other valid answer: saved, to `next`. */
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "1234", &r);
    assert_int_equal(st.node, node_of(m, "nomember"));
    assert_string_equal(r.screen.text, "Code 1234 not found.");
    /* An answer the input refuses is refused even before matching. */
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "43a1", &r);
    assert_int_equal(r.invalid, 1);
    assert_int_equal(st.node, node_of(m, "code"));
    /* The replay takes the same branch. */
    assert_int_equal(menu_replay(&c, "2*4321*1", &st, &r), 0);
    assert_int_equal(st.node, node_of(m, "sent"));
    menu_free(m);
}

/* `home`: nav.home returns to the named node, never to the language
 * screen (the shipped menu names "main"). */
static void test_home_names_the_node(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "5", &r);
    step_ok(&c, &st, "00", &r);
    assert_string_equal(r.screen.text, main_en);
    assert_int_equal(st.node, node_of(m, "main"));
    assert_int_equal(st.depth, 0);
    assert_int_equal(st.lang, menu_lang_index(m, "en"));
    menu_free(m);
}

/* Without `home`, nav.home goes to start as before. */
static void test_home_defaults_to_start(void **state)
{
    struct menu *m = load_file(EXAMPLE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;

    (void)state;
    menu_begin(&c, &st, &r);
    step_ok(&c, &st, "2", &r);
    step_ok(&c, &st, "1", &r);
    step_ok(&c, &st, "00", &r);
    assert_int_equal(st.node, m->start_idx);
    menu_free(m);
}

/* A menu with one phone input; `country` at the top, or on the node. */
static struct menu *load_phone(const char *top, const char *node)
{
    static const char fmt[] =
        "name = \"p\"; languages = [ \"en\" ]; start = \"num\"; %s\n"
        "nodes = {\n"
        "  num = { type = \"input\"; text = \"Number?\"; accept = \"phone\";\n"
        "    save = \"n\"; min = 6; max = 20; next = \"done\"; %s };\n"
        "  done = { type = \"end\"; text = \"{n}\"; };\n"
        "};\n";
    char buf[1024];

    snprintf(buf, sizeof buf, fmt, top, node);
    return load_text(buf);
}

/* Types `in` at the phone input; returns what was saved ("" = refused). */
static void phone_case(const struct menu *m, const char *in, const char *want)
{
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st;
    struct menu_result r;
    const char *got;

    menu_begin(&c, &st, &r);
    step_ok(&c, &st, in, &r);
    got = menu_state_get(&st, "n");
    if (!want[0]) {
        if (!r.invalid || got)
            fprintf(stderr, "phone \"%s\": accepted as \"%s\"\n", in,
                    got ? got : "");
        assert_int_equal(r.invalid, 1);
        assert_null(got);
        return;
    }
    if (r.invalid || !got || strcmp(got, want) != 0)
        fprintf(stderr, "phone \"%s\": want \"%s\", got \"%s\"\n", in, want,
                got ? got : "(refused)");
    assert_int_equal(r.invalid, 0);
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void test_phone_forms(void **state)
{
    struct menu *m = load_phone("country = \"84\";", "");
    struct menu *n = load_phone("", "");
    struct menu *o = load_phone("country = \"62\";", "country = \"84\";");

    (void)state;
    phone_case(m, "+84 90-123 4567", "+84901234567");
    phone_case(m, "+84.90.123.4567", "+84901234567");
    phone_case(m, "0084 90 123 4567", "+84901234567");
    phone_case(m, "090 123 4567", "+84901234567");
    phone_case(m, "(090) 123-4567", "+84901234567");
    phone_case(m, "+84 (0)90 123 4567", "+84901234567");
    phone_case(m, "+62 812 3456 789", "+628123456789");
    phone_case(m, "+84901234567", "+84901234567");
    /* Refused: letters, a second +, separators only, too long for E.164. */
    phone_case(m, "+84 90 abc 4567", "");
    phone_case(m, "++84901234567", "");
    phone_case(m, "84+901234567", "");
    phone_case(m, " - . ", "");
    phone_case(m, "+0 90 123 4567", "");
    phone_case(m, "+84 9012 3456 7890 12", "");
    /* No country: international forms still become E.164; a national
     * number is kept as its digits. */
    phone_case(n, "+84 90-123 4567", "+84901234567");
    phone_case(n, "0084 90 123 4567", "+84901234567");
    phone_case(n, "090 123 4567", "0901234567");
    /* The node's country wins over the menu's. */
    phone_case(o, "090 123 4567", "+84901234567");
    menu_free(m);
    menu_free(n);
    menu_free(o);
}

/* ---- resuming a dropped walk ------------------------------------------ */

/* The shipped menu's walk to "danger" in English, with "Hanoi" typed. */
static void walk_to_danger(const struct menu_ctx *c, struct menu_state *st)
{
    struct menu_result r;

    menu_begin(c, st, &r);
    step_ok(c, st, "2", &r);
    step_ok(c, st, "1", &r);
    step_ok(c, st, "Hanoi", &r);
    assert_string_equal(c->menu->nodes[st->node].name, "danger");
}

static void test_resume_offer_continue_restart_quit(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state saved, st, back;
    struct menu_result r, want;
    char enc[MENU_STATE_ENC_MAX];
    int n;

    (void)state;
    assert_int_equal(m->resume_s, 300);
    walk_to_danger(&c, &saved);
    assert_true(menu_resume_worth(m, &saved));
    menu_show(&c, &saved, &want);

    /* The question, in the walk's language; the state keeps the walk. */
    assert_int_equal(menu_resume_offer(&c, &saved, &st, &r), 0);
    assert_string_equal(r.screen.text,
                        "1. Continue where you were\n2. Start again");
    assert_int_equal(r.end, 0);
    assert_int_equal(st.offer, 1);
    assert_false(menu_resume_worth(m, &st));
    n = menu_state_encode(m, &st, enc, sizeof enc);
    assert_true(n > 0);
    assert_non_null(strstr(enc, "|v=location=Hanoi|o=1"));
    assert_int_equal(menu_state_decode(m, enc, (size_t)n, &back), 0);
    assert_memory_equal(&st, &back, sizeof st);
    /* The flag is strict: only "|o=1", last, on a live walk. */
    decode_fails(m, "1|n=danger|p=0|l=en|e=1|s=|v=|o=1", 33, MENU_EINVAL);
    decode_fails(m, "1|n=danger|p=0|l=en|e=0|s=|v=|o=2", 33, MENU_EINVAL);
    decode_fails(m, "1|n=danger|p=0|l=en|e=0|s=|v=|o=1|", 34, MENU_EINVAL);
    assert_int_equal(menu_state_decode(m, "1|n=danger|p=0|l=en|e=0|s=|v=|o=1",
                                       33, &back), 0);
    assert_int_equal(back.offer, 1);

    /* A wrong key asks again; "1" gives the walk back. */
    step_ok(&c, &st, "7", &r);
    assert_int_equal(r.invalid, 1);
    assert_string_equal(r.screen.text, "Invalid. Try again.\n"
                        "1. Continue where you were\n2. Start again");
    step_ok(&c, &st, "1", &r);
    assert_string_equal(r.screen.text, want.screen.text);
    assert_memory_equal(&st, &saved, sizeof st);
    assert_string_equal(menu_state_get(&st, "location"), "Hanoi");

    /* "2" starts again at the language screen. */
    menu_resume_offer(&c, &saved, &st, &r);
    step_ok(&c, &st, "2", &r);
    assert_string_equal(r.screen.text, language_folded);
    assert_int_equal(st.nvars, 0);
    assert_int_equal(st.depth, 0);
    assert_int_equal(st.lang, 0);

    /* 99 is the duress exit here too. */
    menu_resume_offer(&c, &saved, &st, &r);
    step_ok(&c, &st, "99", &r);
    assert_int_equal(r.action, MENU_ACT_QUIT);
    assert_int_equal(r.end, 1);
    assert_int_equal(st.ended, 2);
    assert_string_equal(r.screen.text, "Thank you. Goodbye.");
    menu_free(m);
}

static void test_resume_only_worthwhile_walks(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state st, saved;
    struct menu_result r;
    struct menu *bare;

    (void)state;
    /* The start screen untouched: nothing to resume. */
    menu_begin(&c, &saved, &r);
    assert_false(menu_resume_worth(m, &saved));
    assert_int_equal(menu_resume_offer(&c, &saved, &st, &r), MENU_EINVAL);
    assert_string_equal(r.screen.text, language_folded);
    assert_int_equal(st.offer, 0);
    /* An ended walk (an end screen, a filing, 99): never. */
    walk_to_danger(&c, &saved);
    step_ok(&c, &saved, "99", &r);
    assert_false(menu_resume_worth(m, &saved));
    assert_int_equal(menu_resume_offer(&c, &saved, &st, &r), MENU_EINVAL);
    /* A menu without strings.resume offers nothing; resume_s defaults to
     * 300 and 0 turns it off. */
    bare = load_text("name = \"b\"; languages = [ \"en\" ]; start = \"a\";\n"
                     "nodes = { a = { type = \"input\"; text = \"T\";"
                     " save = \"x\"; next = \"b\"; };\n"
                     " b = { type = \"input\"; text = \"U\";"
                     " save = \"y\"; next = \"e\"; };\n"
                     " e = { type = \"end\"; text = \"E\"; }; };\n");
    c.menu = bare;
    menu_begin(&c, &saved, &r);
    step_ok(&c, &saved, "hi", &r);
    assert_int_equal(menu_resume_offer(&c, &saved, &st, &r), MENU_ENOENT);
    assert_int_equal(bare->resume_s, MENU_RESUME_S);
    menu_free(bare);
    bare = load_text("name = \"b\"; languages = [ \"en\" ]; start = \"e\";\n"
                     "resume_s = 0;\n"
                     "nodes = { e = { type = \"end\"; text = \"E\"; }; };\n");
    assert_int_equal(bare->resume_s, 0);
    menu_free(bare);
    menu_free(m);
}

/* A resumed session's history begins with the answer to the question: it
 * replays from the question, not from start. */
static void test_replay_from_the_question(void **state)
{
    struct menu *m = load_file(HOTLINE);
    struct menu_ctx c = { m, ussd_fold, NULL, NULL, NULL };
    struct menu_state saved, base, st, stepped;
    struct menu_result r, want;

    (void)state;
    walk_to_danger(&c, &saved);
    menu_resume_offer(&c, &saved, &base, &want);
    assert_int_equal(menu_replay_from(&c, &base, "", &st, &r), 0);
    assert_string_equal(r.screen.text, want.screen.text);
    assert_int_equal(st.offer, 1);

    stepped = base;
    step_ok(&c, &stepped, "5", &want);
    step_ok(&c, &stepped, "1", &want);
    step_ok(&c, &stepped, "2", &want);
    assert_int_equal(menu_replay_from(&c, &base, "5*1*2", &st, &r), 0);
    assert_string_equal(r.screen.text, want.screen.text);
    assert_memory_equal(&st, &stepped, sizeof st);
    assert_string_equal(m->nodes[st.node].name, "callsafe");
    assert_string_equal(menu_state_get(&st, "in_danger"), "no");
    menu_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_language_screen_folded),
        cmocka_unit_test(test_language_screen_ucs2_two_pages),
        cmocka_unit_test(test_help_walk_forward_once),
        cmocka_unit_test(test_invalid_key_then_valid),
        cmocka_unit_test(test_nav_keys_on_start_screen_are_invalid),
        cmocka_unit_test(test_home_clears_the_stack),
        cmocka_unit_test(test_quit_from_input_node),
        cmocka_unit_test(test_quit_from_start_screen),
        cmocka_unit_test(test_phone_input),
        cmocka_unit_test(test_fit_report),
        cmocka_unit_test(test_example_walk),
        cmocka_unit_test(test_variables_in_text),
        cmocka_unit_test(test_page_limits),
        cmocka_unit_test(test_long_text_cut_at_spaces),
        cmocka_unit_test(test_options_never_split_and_back_across_pages),
        cmocka_unit_test(test_option_too_long_is_enospc),
        cmocka_unit_test(test_stack_drops_oldest),
        cmocka_unit_test(test_replay_star_in_free_text),
        cmocka_unit_test(test_replay_same_history_same_screen),
        cmocka_unit_test(test_replay_bounds),
        cmocka_unit_test(test_history_next),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_decode_rejects),
        cmocka_unit_test(test_final_screen_two_pages_vi_unfolded),
        cmocka_unit_test(test_final_screen_paging_keys_and_replay),
        cmocka_unit_test(test_final_screen_one_page_ends),
        cmocka_unit_test(test_hidden_option),
        cmocka_unit_test(test_match_branches_on_the_answer),
        cmocka_unit_test(test_home_names_the_node),
        cmocka_unit_test(test_home_defaults_to_start),
        cmocka_unit_test(test_phone_forms),
        cmocka_unit_test(test_resume_offer_continue_restart_quit),
        cmocka_unit_test(test_resume_only_worthwhile_walks),
        cmocka_unit_test(test_replay_from_the_question),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
