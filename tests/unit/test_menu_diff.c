/*
 * test_menu_diff.c — `hotlinectl menu diff` as an operator reads it: the
 * exact lines menu_diff writes for a renamed node, a changed text in one
 * language, an option added, removed and sent elsewhere, a new language;
 * nothing for two files that differ only in comments and order; a buffer
 * too small is said so.
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

#define HEAD(langs)                                                          \
    "name = \"t\";\nlanguages = [ " langs " ];\nstart = \"main\";\n"         \
    "nav = { back = \"0\"; home = \"00\"; more = \"98\"; };\n"               \
    "strings = { back = \"Back\"; home = \"Home\"; more = \"More\"; "        \
    "invalid = \"Invalid.\"; };\n"

static const char v1[] = HEAD("\"en\", \"vi\"")
    "nodes = {\n"
    "  main = { type = \"menu\"; text = { en = \"What do you need?\"; "
    "vi = \"Ban can gi?\"; };\n"
    "    options = ( { key = \"1\"; label = \"Help\"; next = \"help\"; },\n"
    "                { key = \"2\"; label = \"Jobs\"; next = \"jobs\"; } ); };\n"
    "  help = { type = \"end\"; text = \"Call 111.\"; };\n"
    "  jobs = { type = \"end\"; text = \"Never pay a fee.\"; };\n"
    "};\n";

/* Same menu: comments, order of settings and of nodes differ. */
static const char v1b[] = HEAD("\"en\", \"vi\"")
    "# reordered\nnodes = {\n"
    "  jobs = { text = \"Never pay a fee.\"; type = \"end\"; };\n"
    "  help = { type = \"end\"; text = \"Call 111.\"; };  # the line\n"
    "  main = { type = \"menu\"; text = { vi = \"Ban can gi?\"; "
    "en = \"What do you need?\"; };\n"
    "    options = ( { key = \"1\"; label = \"Help\"; next = \"help\"; },\n"
    "                { key = \"2\"; label = \"Jobs\"; next = \"jobs\"; } ); };\n"
    "};\n";

/* help renamed hotline, vi text changed, option 2 now goes to fees (a new
 * node), option 3 added, jobs gone. */
static const char v2[] = HEAD("\"en\", \"vi\"")
    "nodes = {\n"
    "  main = { type = \"menu\"; text = { en = \"What do you need?\"; "
    "vi = \"Ban can gi nhat?\"; };\n"
    "    options = ( { key = \"1\"; label = \"Help\"; next = \"hotline\"; },\n"
    "                { key = \"2\"; label = \"Fees\"; next = \"fees\"; },\n"
    "                { key = \"3\"; label = \"Call us\"; next = \"hotline\"; }"
    " ); };\n"
    "  hotline = { type = \"end\"; text = \"Call 111.\\nAny time.\"; };\n"
    "  fees = { type = \"end\"; text = \"Never pay a fee.\"; };\n"
    "};\n";

static struct menu *load(const char *text)
{
    struct menu_diags d;
    struct menu *m = NULL;

    menu_diags_init(&d);
    if (menu_load_string(text, "t.cfg", &m, &d) != 0) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "%s\n", d.v[i].msg);
    }
    menu_diags_free(&d);
    assert_non_null(m);
    return m;
}

static void test_same_screens_no_difference(void **st)
{
    struct menu *a = load(v1), *b = load(v1b);
    char out[4096];

    (void)st;
    assert_int_equal(menu_diff(a, b, out, sizeof out), 0);
    assert_string_equal(out, "");
    menu_free(a);
    menu_free(b);
}

static void test_nodes_texts_options(void **st)
{
    struct menu *a = load(v1), *b = load(v2);
    char out[4096];

    (void)st;
    assert_int_equal(menu_diff(a, b, out, sizeof out), 10);
    assert_string_equal(out,
        "~ node main: text [vi]: \"Ban can gi?\" -> \"Ban can gi nhat?\"\n"
        "~ node main: option 1: next help -> hotline\n"
        "~ node main: option 2: label [en]: \"Jobs\" -> \"Fees\"\n"
        "~ node main: option 2: label [vi]: \"Jobs\" -> \"Fees\"\n"
        "~ node main: option 2: next jobs -> fees\n"
        "~ node main: + option 3 \"Call us\" -> hotline\n"
        "- node help (end)\n"
        "- node jobs (end)\n"
        "+ node hotline (end)\n"
        "+ node fees (end)\n");
    menu_free(a);
    menu_free(b);
}

static void test_language_added_and_back(void **st)
{
    static const char v3[] = HEAD("\"en\", \"vi\", \"th\"")
        "nodes = {\n"
        "  main = { type = \"menu\"; text = { en = \"What do you need?\"; "
        "vi = \"Ban can gi?\"; th = \"Khun tong kan arai?\"; };\n"
        "    options = ( { key = \"1\"; label = \"Help\"; next = \"help\"; },\n"
        "                { key = \"2\"; label = \"Jobs\"; next = \"jobs\"; } );"
        " };\n"
        "  help = { type = \"end\"; text = \"Call 111.\"; };\n"
        "  jobs = { type = \"end\"; text = \"Never pay a fee.\"; };\n"
        "};\n";
    struct menu *a = load(v1), *b = load(v3);
    char out[4096];

    (void)st;
    /* Texts in the new language are not listed one by one. */
    assert_int_equal(menu_diff(a, b, out, sizeof out), 1);
    assert_string_equal(out, "languages: en vi -> en vi th\n");
    /* Rolling back shows the same difference the other way. */
    assert_int_equal(menu_diff(b, a, out, sizeof out), 1);
    assert_string_equal(out, "languages: en vi th -> en vi\n");
    menu_free(a);
    menu_free(b);
}

static void test_small_buffer(void **st)
{
    struct menu *a = load(v1), *b = load(v2);
    char out[80];

    (void)st;
    assert_int_equal(menu_diff(a, b, out, sizeof out), MENU_ENOSPC);
    assert_string_equal(out, "~ node main: text [vi]: \"Ban can gi?\" -> "
                             "\"Ban can gi nhat?\"\n");
    menu_free(a);
    menu_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_screens_no_difference),
        cmocka_unit_test(test_nodes_texts_options),
        cmocka_unit_test(test_language_added_and_back),
        cmocka_unit_test(test_small_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
