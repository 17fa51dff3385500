/*
 * test_menu_ops.c — publishing a menu as the CLI and the console share it
 * (staff/menu_ops.c): the checker on the channels serving a menu (an error
 * with its line on a channel a screen does not fit, a warning when no
 * channel serves it, a syntax error's line), the publish EVAL's argv (keys,
 * the record's fields, the "leave the same text alone" flag), funnel fields
 * and menu names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "menu_ops.h"

/* A menu whose main screen is long Vietnamese: it fits a folding USSD
 * channel, not an unfolded one without nav.more (80 UCS-2 a page). */
static const char menu_text[] =
    "name = \"m\";\n"
    "languages = [ \"vi\" ];\n"
    "start = \"main\";\n"
    "nav = { back = \"0\"; quit = \"99\"; };\n"
    "nodes = {\n"
    "  main = {\n"
    "    type = \"menu\";\n"
    "    text = \"Bạn cần gì? Bấm 99 bất cứ lúc nào để đóng. Chúng tôi "
    "ở đây để giúp bạn.\";\n"
    "    options = ( { key = \"1\"; label = \"Cần giúp ngay\"; "
    "next = \"bye\"; } );\n"
    "  };\n"
    "  bye = { type = \"end\"; text = \"Tạm biệt.\"; };\n"
    "};\n";

static size_t count(const struct menu_diags *d, enum menu_severity sev,
                    const char *needle, int *line)
{
    size_t n = 0;

    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].sev == sev && strstr(d->v[i].msg, needle)) {
            n++;
            if (line)
                *line = d->v[i].line;
        }
    }
    return n;
}

static void test_check_on_serving_channels(void **state)
{
    struct mops_chan chs[2] = {
        { "folded", "m", { MENU_CH_USSD, 1, 1 } },
        { "plain", "other", { MENU_CH_USSD, 0, 1 } },
    };
    struct menu_diags d;
    struct menu *m;
    int line = -1;

    (void)state;
    menu_diags_init(&d);
    m = mops_check(menu_text, "upload", chs, 2, "test.cfg", &d);
    assert_non_null(m);
    assert_int_equal(d.errors, 0);
    menu_free(m);
    menu_diags_free(&d);

    /* the unfolded channel serves it now: the screen needs 2 pages */
    chs[1].menu = "m";
    menu_diags_init(&d);
    m = mops_check(menu_text, "upload", chs, 2, "test.cfg", &d);
    assert_null(m);
    assert_true(d.errors >= 1);
    assert_int_equal(count(&d, MENU_SEV_ERROR, "plain", &line), 1);
    assert_int_equal(line, 6);
    menu_diags_free(&d);

    /* no channel serves it: a warning naming where */
    menu_diags_init(&d);
    m = mops_check(menu_text, "upload", NULL, 0, "test.cfg", &d);
    assert_non_null(m);
    assert_int_equal(count(&d, MENU_SEV_WARNING,
                           "no channel in test.cfg serves menu \"m\"", &line),
                     1);
    assert_int_equal(line, 0);
    menu_free(m);
    menu_diags_free(&d);

    /* a channel for every menu (menu NULL: `menu check` without -c) */
    chs[0].menu = NULL;
    chs[0].render.fold = 0;
    menu_diags_init(&d);
    m = mops_check(menu_text, "upload", chs, 1, "test.cfg", &d);
    assert_null(m);
    assert_int_equal(count(&d, MENU_SEV_ERROR, "folded", NULL), 1);
    menu_diags_free(&d);

    /* a syntax error carries its line */
    menu_diags_init(&d);
    m = mops_check("name = \"m\";\nnodes = {\n  main = \n", "upload", NULL, 0,
                   "test.cfg", &d);
    assert_null(m);
    assert_true(d.errors >= 1);
    assert_true(d.v[0].line >= 3);
    menu_diags_free(&d);
}

static void test_publish_args(void **state)
{
    struct mops_pub p;
    char sum[65];

    (void)state;
    assert_int_equal(mops_publish_args(&p, "hl:", "hotline", "abc", 3, "thu",
                                       "a note", "", 1), 0);
    assert_int_equal(p.argc, MOPS_PUB_ARGC);
    assert_string_equal(p.av[0], "EVAL");
    assert_ptr_equal(p.av[1], mops_script_publish);
    assert_string_equal(p.av[2], "3");
    assert_string_equal(p.av[3], "hl:menu:hotline:n");
    assert_string_equal(p.av[4], "hl:menu:hotline:current");
    assert_string_equal(p.av[5], "hl:menus");
    assert_string_equal(p.av[6], "hl:menu:hotline:v:");
    assert_int_equal(p.al[7], 3);
    mops_sha256_hex("abc", 3, sum);
    assert_string_equal(sum, "ba7816bf8f01cfea414140de5dae2223"
                             "b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(p.av[8], sum);
    assert_string_equal(p.av[9], "thu");
    assert_string_equal(p.av[10], "a note");
    assert_string_equal(p.av[11], "");
    assert_string_equal(p.av[12], "hotline");
    assert_string_equal(p.av[13], "hl:menu:published");
    assert_string_equal(p.av[14], "1");
    for (int i = 0; i < p.argc; i++)
        if (i != 7)
            assert_int_equal(p.al[i], strlen(p.av[i]));
    /* a rollback: from set, always stored */
    assert_int_equal(mops_publish_args(&p, "hl:", "hotline", "abc", 3, "thu",
                                       NULL, "2", 0), 0);
    assert_string_equal(p.av[10], "");
    assert_string_equal(p.av[11], "2");
    assert_string_equal(p.av[14], "0");
    /* not a menu name: no keys built from it */
    assert_int_equal(mops_publish_args(&p, "hl:", "a b", "abc", 3, "thu", "",
                                       "", 1), -1);
    assert_int_equal(mops_publish_args(&p, "hl:", "x}:{", "abc", 3, "thu",
                                       "", "", 1), -1);
}

static void test_names_and_funnel_fields(void **state)
{
    char f[160], node[MENU_NAME_MAX], lang[MENU_NAME_MAX];
    char big[MENU_NAME_MAX + 1];
    int ev = -1;

    (void)state;
    assert_true(mops_name_ok("hotline"));
    assert_true(mops_name_ok("jobs-2_b"));
    assert_false(mops_name_ok(""));
    assert_false(mops_name_ok(NULL));
    assert_false(mops_name_ok("a/b"));
    memset(big, 'a', MENU_NAME_MAX);
    big[MENU_NAME_MAX] = '\0';
    assert_false(mops_name_ok(big));
    big[MENU_NAME_MAX - 1] = '\0';
    assert_true(mops_name_ok(big));

    assert_int_equal(mops_funnel_field("main", "vi", MOPS_EV_QUIT, f,
                                       sizeof f), 0);
    assert_string_equal(f, "main|vi|duress");
    assert_int_equal(mops_funnel_field_parse(f, node, lang, &ev), 0);
    assert_string_equal(node, "main");
    assert_string_equal(lang, "vi");
    assert_int_equal(ev, MOPS_EV_QUIT);
    assert_int_equal(mops_funnel_field_parse("main|vi|nope", node, lang, &ev),
                     -1);
    assert_int_equal(mops_funnel_field("main", "vi", MOPS_EV_COUNT, f,
                                       sizeof f), -1);
    assert_int_equal(mops_funnel_field("main", "vi", 0, f, 6), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_on_serving_channels),
        cmocka_unit_test(test_publish_args),
        cmocka_unit_test(test_names_and_funnel_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
