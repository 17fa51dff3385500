/*
 * test_menu_check.c — the menu loader and checker as an operator meets them:
 * the exact lines `hotlinectl menu check` prints (FILE:LINE: node NAME:
 * message) for every broken menu in tests/menus/bad_*.cfg and for each kind
 * of warning; the shipped menus load with no error and no warning; hostile
 * input (garbage, oversized, @include, bad UTF-8, too many of anything)
 * fails cleanly; the loaded tree is what the file says; menu_text_get falls
 * back to the default language.
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
#include <unistd.h>

#include "menu.h"

#define HOTLINE "config/menus/hotline.cfg"
#define EXAMPLE "tests/menus/example.cfg"

/* The top of a small menu: nodes start on line 6. */
#define TOP(langs)                                                           \
    "name = \"t\";\n"                                                        \
    "languages = [ " langs " ];\n"                                           \
    "start = \"main\";\n"                                                    \
    "nav = { back = \"0\"; home = \"00\"; more = \"98\"; };\n"               \
    "strings = { back = \"Back\"; home = \"Home\"; more = \"More\"; "        \
    "invalid = \"Invalid.\"; };\n"

/* ---- helpers ------------------------------------------------------------ */

/* Compares every formatted diagnostic of d with want[0..n); prints all of
 * them when they differ, so a failure shows what the operator would see. */
static void expect_lines(const char *file, const struct menu_diags *d,
                         const char *const *want, size_t n)
{
    char line[600];
    int same = d->n == n;

    for (size_t i = 0; same && i < n; i++) {
        menu_diag_format(file, &d->v[i], line, sizeof line);
        same = strcmp(line, want[i]) == 0;
    }
    if (!same) {
        fprintf(stderr, "got %zu line(s):\n", d->n);
        for (size_t i = 0; i < d->n; i++) {
            menu_diag_format(file, &d->v[i], line, sizeof line);
            fprintf(stderr, "  %s\n", line);
        }
        fprintf(stderr, "want %zu line(s):\n", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  %s\n", want[i]);
    }
    assert_int_equal(d->n, n);
    for (size_t i = 0; i < n; i++) {
        menu_diag_format(file, &d->v[i], line, sizeof line);
        assert_string_equal(line, want[i]);
    }
}

/* Loads text as "t.cfg"; expects rc and exactly the lines want[0..n). */
static void expect_text(const char *text, int rc, const char *const *want,
                        size_t n)
{
    struct menu_diags d;
    struct menu *m = (struct menu *)&d;     /* must be overwritten */

    menu_diags_init(&d);
    assert_int_equal(menu_load_string(text, "t.cfg", &m, &d), rc);
    expect_lines("t.cfg", &d, want, n);
    if (rc == 0) {
        assert_non_null(m);
        assert_int_equal(d.errors, 0);
    } else {
        assert_null(m);
        assert_true(d.errors > 0);
    }
    menu_free(m);
    menu_diags_free(&d);
}

/* Loads path; expects rc and exactly the lines want[0..n). */
static void expect_file(const char *path, int rc, const char *const *want,
                        size_t n)
{
    struct menu_diags d;
    struct menu *m = (struct menu *)&d;

    menu_diags_init(&d);
    assert_int_equal(menu_load_file(path, &m, &d), rc);
    expect_lines(path, &d, want, n);
    if (rc != 0)
        assert_null(m);
    menu_free(m);
    menu_diags_free(&d);
}

#define LINES(...) ((const char *const[]){ __VA_ARGS__ })
#define COUNT(...) (sizeof LINES(__VA_ARGS__) / sizeof(const char *))
#define EXPECT_TEXT(text, rc, ...) \
    expect_text(text, rc, LINES(__VA_ARGS__), COUNT(__VA_ARGS__))
#define EXPECT_FILE(path, rc, ...) \
    expect_file(path, rc, LINES(__VA_ARGS__), COUNT(__VA_ARGS__))
#define EXPECT_CLEAN(text) expect_text(text, 0, NULL, 0)

/* ---- the shipped menus ---------------------------------------------------- */

static void test_shipped_menus_are_clean(void **state)
{
    (void)state;
    expect_file(HOTLINE, 0, NULL, 0);
    expect_file(EXAMPLE, 0, NULL, 0);
}

static void test_example_tree(void **state)
{
    struct menu_diags d;
    struct menu *m = NULL;
    const struct menu_node *nd;

    (void)state;
    menu_diags_init(&d);
    assert_int_equal(menu_load_file(EXAMPLE, &m, &d), 0);
    assert_string_equal(m->file, EXAMPLE);
    assert_string_equal(m->name, "hotline");
    assert_string_equal(m->title, "Migrant safety hotline");
    assert_int_equal(m->nlangs, 2);
    assert_string_equal(m->langs[0], "vi");
    assert_string_equal(m->langs[1], "en");
    assert_int_equal(m->start_idx, menu_node_index(m, "welcome"));
    assert_int_equal(m->nkeywords, 3);
    assert_string_equal(m->keywords[2], "GIUP");
    assert_string_equal(m->nav.home, "00");
    assert_null(m->nav.quit);
    assert_string_equal(menu_text_get(m, &m->strings.invalid, 1),
                        "Invalid choice.");
    assert_int_equal(m->nnodes, 6);

    nd = &m->nodes[menu_node_index(m, "welcome")];
    assert_int_equal(nd->type, MENU_NODE_MENU);
    assert_int_equal(nd->line, 17);
    assert_int_equal(nd->nopts, 2);
    assert_string_equal(nd->opts[1].label.all, "English");
    assert_int_equal(nd->opts[1].language, menu_lang_index(m, "en"));
    assert_int_equal(nd->opts[1].next_idx, menu_node_index(m, "main"));
    assert_int_equal(nd->opts[1].line, 22);

    nd = &m->nodes[menu_node_index(m, "where")];
    assert_int_equal(nd->type, MENU_NODE_INPUT);
    assert_string_equal(nd->save, "location");
    assert_int_equal(nd->accept, MENU_ACCEPT_TEXT);
    assert_int_equal(nd->min, 2);
    assert_int_equal(nd->max, 60);
    assert_int_equal(nd->next_idx, menu_node_index(m, "consent"));
    assert_string_equal(menu_text_get(m, &nd->text, 0), "Ban dang o dau?");
    assert_int_equal(nd->text.line, 35);

    nd = &m->nodes[menu_node_index(m, "consent")];
    assert_int_equal(nd->opts[1].nset, 1);
    assert_string_equal(nd->opts[1].set[0].name, "safe_to_call");
    assert_string_equal(nd->opts[1].set[0].value, "no");
    assert_int_equal(nd->opts[1].language, -1);

    nd = &m->nodes[menu_node_index(m, "send")];
    assert_int_equal(nd->type, MENU_NODE_FORWARD);
    assert_string_equal(nd->queue, "urgent");
    assert_int_equal(nd->nfields, 2);
    assert_string_equal(nd->fields[1], "safe_to_call");
    assert_int_equal(menu_node_index(m, "nowhere"), -1);
    assert_int_equal(menu_lang_index(m, "id"), -1);
    menu_free(m);
    menu_diags_free(&d);
}

/* ---- broken files: one problem each ---------------------------------------- */

static void test_bad_syntax(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_syntax.cfg", MENU_EINVAL,
                "tests/menus/bad_syntax.cfg:16: syntax error: check this "
                "line and the one before for a missing ';', a missing or "
                "extra comma, or an unclosed \", { or (");
    EXPECT_TEXT("name = \"t\";\nlanguages = [ \"en\" ;\nstart = \"main\";\n",
                MENU_EINVAL,
                "t.cfg:2: syntax error: check this line and the one before "
                "for a missing ';', a missing or extra comma, or an "
                "unclosed \", { or (");
    EXPECT_TEXT("name = \"t\";\nname = \"u\";\n", MENU_EINVAL,
                "t.cfg:2: this name is used twice in the same group");
    /* Errors that stop at a quoted text (libconfig 1.5 would leak it, the
     * loader reports them itself, at libconfig's line). */
    EXPECT_TEXT("name = \"t\";\nstart \"main\";\n", MENU_EINVAL,
                "t.cfg:2: syntax error: check this line and the one before "
                "for a missing ';', a missing or extra comma, or an "
                "unclosed \", { or (");
    EXPECT_TEXT("a = ( \"x\" \"y\", 1.5e5, [ \"q\" ], { b = 1; } );\n"
                "c = 1.5e \"x\";\n", MENU_EINVAL,
                "t.cfg:2: syntax error: check this line and the one before "
                "for a missing ';', a missing or extra comma, or an "
                "unclosed \", { or (");
    EXPECT_TEXT("a = [ \"x\", 1 ];\n", MENU_EINVAL,
                "t.cfg:1: the items of one [ ] list must all be of the same "
                "kind (all in double quotes, or all numbers)");
}

static void test_bad_required(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_no_name.cfg", MENU_EINVAL,
                "tests/menus/bad_no_name.cfg: name is missing: add "
                "name = \"...\"; at the top");
    EXPECT_TEXT("", MENU_EINVAL,
                "t.cfg: name is missing: add name = \"...\"; at the top",
                "t.cfg: languages is missing: add languages = [ \"en\" ]; "
                "at the top",
                "t.cfg: start is missing: add start = \"NODE\"; at the top",
                "t.cfg: nodes is missing: add the screens in nodes = "
                "{ ... };",
                "t.cfg: warning: strings.invalid is missing: add the words "
                "callers see for it");
    EXPECT_FILE("tests/menus/bad_start.cfg", MENU_EINVAL,
                "tests/menus/bad_start.cfg: start \"welcome\" is not a node");
}

static void test_bad_nodes(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_unknown_type.cfg", MENU_EINVAL,
                "tests/menus/bad_unknown_type.cfg:19: node fee: unknown type "
                "\"ending\": use menu, input, end, forward or lookup");
    EXPECT_FILE("tests/menus/bad_node_name.cfg", MENU_EINVAL,
                "tests/menus/bad_node_name.cfg:18: node job-fee: node name "
                "\"job-fee\" may only use letters, digits and _");
    EXPECT_FILE("tests/menus/bad_no_options.cfg", MENU_EINVAL,
                "tests/menus/bad_no_options.cfg:19: node rights: menu has no "
                "options: add options = ( { key = \"1\"; label = \"...\"; "
                "next = \"...\"; } );");
    EXPECT_FILE("tests/menus/bad_forward_no_queue.cfg", MENU_EINVAL,
                "tests/menus/bad_forward_no_queue.cfg:35: node send: forward "
                "has no queue: add queue = \"NAME\";");
}

static void test_bad_next_and_keys(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_dangling_next.cfg", MENU_EINVAL,
                "tests/menus/bad_dangling_next.cfg:16: node main: next "
                "\"nowhere\" is not a node");
    EXPECT_FILE("tests/menus/bad_dup_key.cfg", MENU_EINVAL,
                "tests/menus/bad_dup_key.cfg:17: node main: key \"1\" is "
                "used twice (first on line 15)");
    EXPECT_FILE("tests/menus/bad_dangling_dup.cfg", MENU_EINVAL,
                "tests/menus/bad_dangling_dup.cfg:16: node main: key \"1\" "
                "is used twice (first on line 15)",
                "tests/menus/bad_dangling_dup.cfg:17: node main: next "
                "\"wher\" is not a node");
    EXPECT_FILE("tests/menus/bad_nav_key.cfg", MENU_EINVAL,
                "tests/menus/bad_nav_key.cfg:16: node main: key \"0\" is the "
                "nav.back key");
}

static void test_bad_inputs(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_input_no_save.cfg", MENU_EINVAL,
                "tests/menus/bad_input_no_save.cfg:18: node where: input has "
                "no save: add save = \"NAME\"; or the answer is thrown away");
    EXPECT_FILE("tests/menus/bad_input_accept.cfg", MENU_EINVAL,
                "tests/menus/bad_input_accept.cfg:22: node where: accept "
                "\"number\" is not one of text, digits, phone");
    EXPECT_FILE("tests/menus/bad_input_minmax.cfg", MENU_EINVAL,
                "tests/menus/bad_input_minmax.cfg:18: node where: min 60 is "
                "more than max 2");
}

static void test_bad_languages(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_language.cfg", MENU_EINVAL,
                "tests/menus/bad_language.cfg:14: node main: language \"vn\" "
                "is not listed in languages");
    EXPECT_FILE("tests/menus/bad_option_language.cfg", MENU_EINVAL,
                "tests/menus/bad_option_language.cfg:16: node main: language "
                "\"fr\" is not listed in languages");
}

static void test_bad_fit(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_long_label.cfg", MENU_EINVAL,
                "tests/menus/bad_long_label.cfg:11: node main: screen cannot "
                "be paginated to fit in en: an option is longer than a page "
                "(182 characters); shorten its label");
}

/* ---- forward fields: saved on SOME path ------------------------------------ */

static void test_field_never_saved(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_field_unsaved.cfg", MENU_EINVAL,
                "tests/menus/bad_field_unsaved.cfg:35: node send: field "
                "\"callback\" is never saved on any path to this node");
    /* Saved only on a branch that never reaches the forward node. */
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Hi\"; options = (\n"
                "    { key = \"1\"; label = \"Ask\"; set = { x = \"1\"; }; "
                "next = \"e\"; },\n"
                "    { key = \"2\"; label = \"Send\"; next = \"send\"; } ); };\n"
                "  e = { type = \"end\"; text = \"Bye\"; };\n"
                "  send = { type = \"forward\"; queue = \"q\"; "
                "fields = [ \"x\" ]; text = \"Sent {ref}\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:11: node send: field \"x\" is never saved on any path "
                "to this node");
}

static void test_field_saved_on_one_path_is_enough(void **state)
{
    (void)state;
    /* Option 1 sets x, option 2 does not: some path saves it. A loop back
     * through an input saves y too. */
    EXPECT_CLEAN(TOP("\"en\"")
                 "nodes = {\n"
                 "  main = { type = \"menu\"; text = \"Hi\"; options = (\n"
                 "    { key = \"1\"; label = \"Yes\"; set = { x = \"1\"; }; "
                 "next = \"ask\"; },\n"
                 "    { key = \"2\"; label = \"No\"; next = \"ask\"; } ); };\n"
                 "  ask = { type = \"input\"; text = \"Name?\"; save = \"y\"; "
                 "next = \"pick\"; };\n"
                 "  pick = { type = \"menu\"; text = \"Go?\"; options = (\n"
                 "    { key = \"1\"; label = \"Again\"; next = \"ask\"; },\n"
                 "    { key = \"2\"; label = \"Send\"; next = \"send\"; } ); };\n"
                 "  send = { type = \"forward\"; queue = \"q\"; "
                 "fields = [ \"x\", \"y\" ]; text = \"Sent {ref}\"; };\n"
                 "};\n");
}

/* ---- warnings ------------------------------------------------------------- */

static void test_warn_unreachable(void **state)
{
    (void)state;
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Hi\"; options = (\n"
                "    { key = \"1\"; label = \"Go\"; next = \"e\"; } ); };\n"
                "  e = { type = \"end\"; text = \"Bye\"; };\n"
                "  lost = { type = \"end\"; text = \"Nobody sees this\"; };\n"
                "};\n",
                0,
                "t.cfg:10: node lost: warning: no path from start reaches "
                "this node");
}

static void test_warn_missing_translation(void **state)
{
    (void)state;
    EXPECT_TEXT("name = \"t\";\n"
                "languages = [ \"vi\", \"en\", \"id\" ];\n"
                "start = \"main\";\n"
                "nav = { back = \"0\"; };\n"
                "strings = { back = { vi = \"Quay lai\"; en = \"Back\"; };\n"
                "  invalid = \"Invalid.\"; };\n"
                "nodes = {\n"
                "  main = { type = \"menu\";\n"
                "    text = { vi = \"Chao\"; en = \"Hello\"; };\n"
                "    options = (\n"
                "      { key = \"1\"; label = { vi = \"Di\"; }; next = \"e\"; }"
                "\n    ); };\n"
                "  e = { type = \"end\"; text = { vi = \"A\"; en = \"B\"; "
                "id = \"C\"; }; };\n"
                "};\n",
                0,
                "t.cfg:5: warning: strings.back: missing translation: id",
                "t.cfg:9: node main: warning: missing translation: id",
                "t.cfg:11: node main: warning: label of key \"1\": missing "
                "translation: en, id");
}

static void test_warn_ucs2_after_folding(void **state)
{
    (void)state;
    /* Vietnamese diacritics fold away; curly quotes do not. */
    EXPECT_TEXT(TOP("\"vi\", \"en\"")
                "nodes = {\n"
                "  main = { type = \"end\";\n"
                "    text = { vi = \"B\xe1\xba\xa1n c\xe1\xba\xa7n g\xc3\xac?\";"
                "\n             en = \"Say \xe2\x80\x9cyes\xe2\x80\x9d\"; }; };\n"
                "};\n",
                0,
                "t.cfg:7: node main: warning: needs UCS-2 after folding (80 "
                "characters a page) in en: remove curly quotes, long dashes "
                "or symbols");
}

static void test_warn_no_way_out(void **state)
{
    (void)state;
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Hi\"; options = (\n"
                "    { key = \"1\"; label = \"Loop\"; next = \"a\"; },\n"
                "    { key = \"2\"; label = \"End\"; next = \"e\"; } ); };\n"
                "  a = { type = \"menu\"; text = \"A\"; options = (\n"
                "    { key = \"1\"; label = \"B\"; next = \"b\"; } ); };\n"
                "  b = { type = \"input\"; text = \"B\"; save = \"v\"; "
                "next = \"a\"; };\n"
                "  e = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                0,
                "t.cfg:10: node a: warning: a path from start never reaches "
                "an end or forward node from here");
}

static void test_warn_keyword_and_strings(void **state)
{
    (void)state;
    EXPECT_TEXT("name = \"t\";\n"
                "languages = [ \"en\" ];\n"
                "start = \"main\";\n"
                "keywords = [ \"HELP\", \"C\xe1\xbb\xa8U\", \"JOB 1\" ];\n"
                "nav = { back = \"0\"; quit = \"99\"; };\n"
                "strings = { back = \"Back\"; invalid = \"Invalid.\"; };\n"
                "nodes = {\n"
                "  main = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                0,
                "t.cfg: warning: strings.quit is missing: add the words "
                "callers see for it",
                "t.cfg:4: warning: keyword \"C\xe1\xbb\xa8U\" is not plain "
                "ASCII letters and digits: callers may not be able to type it",
                "t.cfg:4: warning: keyword \"JOB 1\" is not plain ASCII "
                "letters and digits: callers may not be able to type it");
}

/* sms_resume_s: default 300, 0 = no limit, out of range is an error; the
 * decision takes the idle time from the caller (the engine has no clock). */
static void test_sms_resume(void **state)
{
    struct menu_diags d;
    struct menu *m = NULL;
    static const char body[] =
        "nodes = {\n"
        "  main = { type = \"end\"; text = \"Bye\"; };\n"
        "};\n";
    char text[1024];

    (void)state;
    menu_diags_init(&d);
    snprintf(text, sizeof text, "%s%s", TOP("\"en\""), body);
    assert_int_equal(menu_load_string(text, "t.cfg", &m, &d), 0);
    assert_int_equal(m->sms_resume_s, MENU_SMS_RESUME_S);
    assert_int_equal(menu_sms_resumes(m, 300), 1);
    assert_int_equal(menu_sms_resumes(m, 301), 0);
    assert_int_equal(menu_sms_resumes(m, -1), 0);
    menu_free(m);
    m = NULL;
    snprintf(text, sizeof text, "%ssms_resume_s = 0;\n%s", TOP("\"en\""),
             body);
    assert_int_equal(menu_load_string(text, "t.cfg", &m, &d), 0);
    assert_int_equal(menu_sms_resumes(m, 86400 * 7), 1);
    menu_free(m);
    menu_diags_free(&d);
    EXPECT_TEXT(TOP("\"en\"")
                "sms_resume_s = -5;\n"
                "nodes = {\n"
                "  main = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:6: sms_resume_s must be 0 to 86400 seconds, "
                "like sms_resume_s = 300;");
}

/* resume_s: default, 0, range; strings.resume: optional, translated when
 * given. */
static void test_resume_settings(void **state)
{
    struct menu_diags d;
    struct menu *m = NULL;
    char text[1024];

    (void)state;
    menu_diags_init(&d);
    snprintf(text, sizeof text, "%sresume_s = 0;\nnodes = {\n"
             "  main = { type = \"end\"; text = \"Bye\"; };\n};\n",
             TOP("\"en\""));
    assert_int_equal(menu_load_string(text, "t.cfg", &m, &d), 0);
    assert_int_equal(m->resume_s, 0);
    assert_int_equal(d.warnings, 0);
    menu_free(m);
    menu_diags_free(&d);
    EXPECT_TEXT(TOP("\"en\"")
                "resume_s = 86401;\n"
                "nodes = {\n"
                "  main = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:6: resume_s must be 0 to 86400 seconds, like "
                "resume_s = 300;");
    EXPECT_TEXT("name = \"t\";\n"
                "languages = [ \"vi\", \"en\" ];\n"
                "start = \"main\";\n"
                "strings = { invalid = \"Invalid.\";\n"
                "  resume = { en = \"1. Continue\\n2. Start again\"; }; };\n"
                "nodes = {\n"
                "  main = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                0,
                "t.cfg:5: warning: strings.resume: missing translation: vi");
}

/* ---- values of the wrong kind, hostile input ------------------------------ */

static void test_wrong_kinds(void **state)
{
    (void)state;
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"input\"; text = 5; save = \"v\";\n"
                "    min = \"2\"; next = \"e\"; };\n"
                "  e = { type = \"end\"; text = \"Bye\"; };\n"
                "  f = 3;\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:7: node main: text must be a text in double quotes, "
                "or one text per language: text = { en = \"...\"; }",
                "t.cfg:8: node main: min must be a whole number, like "
                "min = 2;",
                "t.cfg:10: node f must be a group, like f = { type = "
                "\"menu\"; ... };");
}

/* An over-long name is one problem, reported once, quoted in short. */
static void test_long_names_one_error(void **state)
{
    (void)state;
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Hi\"; options = (\n"
                "    { key = \"1\"; label = \"Go\"; next = \"ask\"; },\n"
                "    { key = \"2\"; label = \"Far\"; next = "
                "\"a_very_long_node_name_that_nobody_could_ever_type\"; } ); };\n"
                "  ask = { type = \"input\"; text = \"Name?\"; next = \"e\";\n"
                "    save = \"a_very_long_variable_name_that_is_much_much_too_long\"; };\n"
                "  e = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:9: node main: next \"a_very_long_node_name_that_nobody_"
                "could_...\" is not a node",
                "t.cfg:10: node ask: variable \"a_very_long_variable_name_that_"
                "is_much_m...\" is longer than 47 "
                "characters");
}

static void test_bad_utf8_and_include(void **state)
{
    (void)state;
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"end\"; text = \"Bad \xc3\x28 byte\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:7: node main: text is not valid UTF-8: save the file "
                "as UTF-8");
    EXPECT_TEXT("name = \"t\";\n  @include \"/etc/passwd\"\n", MENU_EINVAL,
                "t.cfg:2: @include is not allowed in a menu file");
}

static void test_garbage_fails_cleanly(void **state)
{
    static const char *const junk[] = {
        "\x01\x02\x03 garbage {{{ ((( \"",
        "nodes = 5; languages = \"en\"; start = 7; name = [ 1 ];",
        "languages = [ 1, 2 ]; nodes = { a = { options = 4; }; };",
        "nodes = { a = { type = \"menu\"; options = ( 1, \"x\" ); }; };",
        "}",
        "\xef\xbb\xbf",
    };
    struct menu_diags d;
    struct menu *m;

    (void)state;
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        menu_diags_init(&d);
        m = (struct menu *)&d;
        assert_int_equal(menu_load_string(junk[i], "j.cfg", &m, &d),
                         MENU_EINVAL);
        assert_null(m);
        assert_true(d.errors > 0);
        assert_int_equal(d.n, d.errors + d.warnings);
        menu_diags_free(&d);
    }
    m = (struct menu *)&d;
    assert_int_equal(menu_load_string(NULL, "j.cfg", &m, NULL), MENU_EINVAL);
    assert_null(m);
    assert_int_equal(menu_load_string("", "j.cfg", NULL, NULL), MENU_EINVAL);
    menu_free(NULL);
    menu_diags_free(NULL);
}

static void test_oversized_input(void **state)
{
    size_t n = (size_t)MENU_FILE_MAX + 1;
    char *big = malloc(n + 1);
    char path[] = "/tmp/test_menu_check.XXXXXX";
    FILE *f;
    int fd;

    (void)state;
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    EXPECT_TEXT(big, MENU_EINVAL,
                "t.cfg: the menu is larger than 1048576 bytes");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(big, 1, n, f), n);
    fclose(f);
    {
        char want[128];

        snprintf(want, sizeof want,
                 "%s: the file is larger than 1048576 bytes", path);
        expect_file(path, MENU_EINVAL, LINES(want), 1);
    }
    unlink(path);
    free(big);
    EXPECT_FILE("tests/menus/no_such_menu.cfg", MENU_EINVAL,
                "tests/menus/no_such_menu.cfg: cannot open the file: No such "
                "file or directory");
}

/* A menu with `count` options on its start node (keys 1..count). */
static char *many_options(int count)
{
    size_t cap = 4096 + (size_t)count * 64, o;
    char *s = malloc(cap);

    assert_non_null(s);
    o = (size_t)snprintf(s, cap, TOP("\"en\"")
                         "nodes = {\n  main = { type = \"menu\"; text = "
                         "\"Hi\"; options = (\n");
    for (int i = 1; i <= count; i++)
        o += (size_t)snprintf(s + o, cap - o,
                              "    { key = \"%d\"; label = \"L\"; next = "
                              "\"e\"; }%s\n", i, i < count ? "," : "");
    snprintf(s + o, cap - o, "  ); };\n  e = { type = \"end\"; text = "
             "\"Bye\"; };\n};\n");
    return s;
}

static void test_size_caps(void **state)
{
    char *s = many_options(33);
    struct menu_diags d;
    struct menu *m = NULL;

    (void)state;
    EXPECT_TEXT(s, MENU_EINVAL,
                "t.cfg:7: node main: more than 32 options: split them over "
                "two screens");
    free(s);
    s = many_options(32);
    menu_diags_init(&d);
    assert_int_equal(menu_load_string(s, "t.cfg", &m, &d), 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(m->nodes[0].nopts, 32);
    menu_free(m);
    menu_diags_free(&d);
    free(s);
    EXPECT_TEXT("name = \"t\"; start = \"a\";\n"
                "languages = [ \"a\", \"b\", \"c\", \"d\", \"e\", \"f\", "
                "\"g\", \"h\",\n \"i\" ];\n"
                "strings = { invalid = \"x\"; };\n"
                "nodes = { a = { type = \"end\"; text = \"x\"; }; };\n",
                MENU_EINVAL, "t.cfg:3: more than 8 languages");
}

static void test_too_many_nodes(void **state)
{
    size_t cap = 600 * 64 + 512, o;
    char *s = malloc(cap);

    (void)state;
    assert_non_null(s);
    o = (size_t)snprintf(s, cap, TOP("\"en\"") "nodes = {\n");
    for (int i = 0; i < 513; i++)
        o += (size_t)snprintf(s + o, cap - o,
                              " %s%d = { type = \"end\"; text = \"x\"; };",
                              i ? "n" : "main", i);
    snprintf(s + o, cap - o, "\n};\n");
    /* main0 is not "main": the start is missing too. */
    EXPECT_TEXT(s, MENU_EINVAL, "t.cfg: start \"main\" is not a node",
                "t.cfg:6: more than 512 nodes");
    free(s);
}

/* ---- texts and diagnostics ----------------------------------------------- */

static void test_text_get_fallback(void **state)
{
    char vi[] = "Xin chao", en[] = "Hello", all[] = "OK";
    struct menu m;
    struct menu_text t;

    (void)state;
    memset(&m, 0, sizeof m);
    memset(&t, 0, sizeof t);
    m.nlangs = 3;
    assert_string_equal(menu_text_get(&m, &t, 0), "");
    assert_string_equal(menu_text_get(&m, NULL, 0), "");
    t.lang[0] = vi;
    t.lang[1] = en;
    assert_string_equal(menu_text_get(&m, &t, 1), "Hello");
    assert_string_equal(menu_text_get(&m, &t, 2), "Xin chao");
    assert_string_equal(menu_text_get(&m, &t, -1), "Xin chao");
    assert_string_equal(menu_text_get(&m, &t, MENU_MAX_LANGS), "Xin chao");
    t.all = all;
    assert_string_equal(menu_text_get(&m, &t, 1), "OK");
    t.all = NULL;
    t.lang[0] = NULL;
    assert_string_equal(menu_text_get(&m, &t, 2), "");
}

static void test_diag_format(void **state)
{
    struct menu_diags d;
    char out[64];

    (void)state;
    menu_diags_init(&d);
    menu_diag_add(&d, MENU_SEV_ERROR, 12, "main", "key \"%s\" is bad", "1");
    menu_diag_add(&d, MENU_SEV_WARNING, 0, NULL, "keyword %d", 2);
    menu_diag_add(&d, MENU_SEV_WARNING, 3, "n", "%s", "\xc3\xa9\xc3\xa9\xc3\xa9");
    assert_int_equal(d.n, 3);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.warnings, 2);
    assert_int_equal(menu_diag_format("f.cfg", &d.v[0], out, sizeof out),
                     (int)strlen("f.cfg:12: node main: key \"1\" is bad"));
    assert_string_equal(out, "f.cfg:12: node main: key \"1\" is bad");
    menu_diag_format("f.cfg", &d.v[1], out, sizeof out);
    assert_string_equal(out, "f.cfg: warning: keyword 2");
    menu_diag_format("f.cfg", &d.v[2], out, sizeof out);
    assert_string_equal(out, "f.cfg:3: node n: warning: \xc3\xa9\xc3\xa9\xc3\xa9");
    /* Truncated on a character boundary, never in the middle of one. */
    assert_int_equal(menu_diag_format("f.cfg", &d.v[2], out, 28), 26);
    assert_string_equal(out, "f.cfg:3: node n: warning: ");
    assert_int_equal(menu_diag_format("f.cfg", &d.v[2], out, 30), 28);
    assert_string_equal(out, "f.cfg:3: node n: warning: \xc3\xa9");
    assert_int_equal(menu_diag_format("f.cfg", &d.v[2], out, 0), 0);
    menu_diags_free(&d);
    assert_int_equal(d.n, 0);
}

/* ---- issue 13: home, hidden options, match, every channel ------------------ */

static void test_bad_home(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_home.cfg", MENU_EINVAL,
                "tests/menus/bad_home.cfg: home \"menu\" is not a node: name "
                "the screen \"Main menu\" returns to, like home = \"main\";");
    /* home on an end node: Main menu would end the session. */
    EXPECT_TEXT("home = \"e\";\n" TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Hi\"; options = (\n"
                "    { key = \"1\"; label = \"Go\"; next = \"e\"; } ); };\n"
                "  e = { type = \"end\"; text = \"Bye\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg: home \"e\" is an end or forward node: \"Main menu\" "
                "must lead to a menu or input node");
}

static void test_home_resolved(void **state)
{
    struct menu_diags d;
    struct menu *m = NULL;

    (void)state;
    menu_diags_init(&d);
    assert_int_equal(menu_load_file(HOTLINE, &m, &d), 0);
    assert_int_equal(m->home_idx, menu_node_index(m, "main"));
    menu_free(m);
    assert_int_equal(menu_load_file(EXAMPLE, &m, &d), 0);
    assert_int_equal(m->home_idx, m->start_idx);
    menu_free(m);
    menu_diags_free(&d);
}

static void test_hidden_option_checked(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_hidden_next.cfg", MENU_EINVAL,
                "tests/menus/bad_hidden_next.cfg:16: node main: next \"help\" "
                "is not a node");
    /* A hidden option needs no label, still counts as a way on (no
     * "unreachable" warning for its node), and must be true or false. */
    EXPECT_CLEAN(TOP("\"en\"")
                 "nodes = {\n"
                 "  main = { type = \"menu\"; text = \"Rates\"; options = (\n"
                 "    { key = \"1\"; label = \"USD\"; next = \"e\"; },\n"
                 "    { key = \"7\"; hidden = true; next = \"help\"; } ); };\n"
                 "  e = { type = \"end\"; text = \"1 USD = 25000 VND\"; };\n"
                 "  help = { type = \"end\"; text = \"Call us when safe\"; };\n"
                 "};\n");
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Rates\"; options = (\n"
                "    { key = \"1\"; label = \"USD\"; hidden = \"yes\"; "
                "next = \"e\"; } ); };\n"
                "  e = { type = \"end\"; text = \"1 USD = 25000 VND\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:8: node main: hidden must be true or false, without "
                "quotes: hidden = true;");
    /* A hidden key is still a key: it may not be a nav key. */
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"menu\"; text = \"Rates\"; options = (\n"
                "    { key = \"1\"; label = \"USD\"; next = \"e\"; },\n"
                "    { key = \"00\"; hidden = true; next = \"e\"; } ); };\n"
                "  e = { type = \"end\"; text = \"1 USD = 25000 VND\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:9: node main: key \"00\" is the nav.home key");
}

static void test_match_checked(void **state)
{
    (void)state;
    EXPECT_FILE("tests/menus/bad_match.cfg", MENU_EINVAL,
                "tests/menus/bad_match.cfg:20: node main: next \"helpme\" is "
                "not a node",
                "tests/menus/bad_match.cfg:21: node main: match value \"0\" "
                "is the nav.back key: callers typing it never reach the "
                "match",
                "tests/menus/bad_match.cfg:23: node main: match value \"1234\" "
                "is used twice (first on line 22)",
                "tests/menus/bad_match.cfg:24: node main: warning: match value "
                "\"12ab\" is never accepted by this input (accept, min, max): "
                "no caller can reach its next");
    /* A node reached only through a match is reached; a field saved only
     * by save_match counts as saved on that path. */
    EXPECT_CLEAN(TOP("\"en\"")
                 "nodes = {\n"
                 "  main = { type = \"input\"; text = \"Code\"; save = \"c\";\n"
                 "    accept = \"digits\"; next = \"e\";\n"
                 "    match = ( { value = \"4321\"; next = \"send\"; "
                 "save_match = true; } ); };\n"
                 "  e = { type = \"end\"; text = \"Unknown code\"; };\n"
                 "  send = { type = \"forward\"; queue = \"q\"; "
                 "fields = [ \"c\" ]; text = \"Sent {ref}\"; };\n"
                 "};\n");
    /* Without save_match the matched code is not saved: the field is. */
    EXPECT_TEXT(TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"input\"; text = \"Code\"; save = \"c\";\n"
                "    accept = \"digits\"; next = \"e\";\n"
                "    match = ( { value = \"4321\"; next = \"send\"; } ); };\n"
                "  e = { type = \"end\"; text = \"Unknown code\"; };\n"
                "  send = { type = \"forward\"; queue = \"q\"; "
                "fields = [ \"c\" ]; text = \"Sent {ref}\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:11: node send: field \"c\" is never saved on any path "
                "to this node");
    /* A phone match is compared in E.164. */
    EXPECT_TEXT("country = \"084\";\n" TOP("\"en\"")
                "nodes = {\n"
                "  main = { type = \"input\"; text = \"N\"; save = \"n\";\n"
                "    accept = \"phone\"; next = \"e\"; };\n"
                "  e = { type = \"end\"; text = \"{n}\"; };\n"
                "};\n",
                MENU_EINVAL,
                "t.cfg:1: country must be a calling code of 1 to 3 digits, "
                "like country = \"84\";");
}

/* The 1-based line of path that contains needle (the shipped menu's lines
 * move when it is edited). */
static int line_in(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    int n = 0, found = 0;

    assert_non_null(f);
    while (!found && fgets(buf, sizeof buf, f)) {
        n++;
        found = strstr(buf, needle) != NULL;
    }
    fclose(f);
    assert_true(found);
    return n;
}

/* Runs menu_check_channel on a loaded file; expects exactly want[0..n). */
static void expect_channel(const char *path, const char *ch,
                          const struct menu_render *r, int errors,
                          const char *const *want, size_t n)
{
    struct menu_diags d;
    struct menu *m = NULL;

    menu_diags_init(&d);
    assert_int_equal(menu_load_file(path, &m, &d), 0);
    menu_diags_free(&d);
    menu_diags_init(&d);
    assert_int_equal(menu_check_channel(m, ch, r, &d), errors);
    expect_lines(path, &d, want, n);
    menu_free(m);
    menu_diags_free(&d);
}

#define EXPECT_CHANNEL(path, ch, r, errors, ...)                              \
    expect_channel(path, ch, r, errors, LINES(__VA_ARGS__),                   \
                   COUNT(__VA_ARGS__))

/* The shipped Vietnamese final screens need two pages of 80 UCS-2 units on
 * a USSD channel that does not fold: one warning per screen, naming the
 * line, node, language and channel. Folded they fit; so does SMS. */
static void test_channel_final_screens(void **state)
{
    static const struct menu_render ussd = { MENU_CH_USSD, 0, 0 };
    static const struct menu_render ussd_fold = { MENU_CH_USSD, 1, 0 };
    static const struct menu_render sms = { MENU_CH_SMS, 0, 3 };
    struct menu_diags d;
    struct menu *m = NULL;

    (void)state;
    {
        static const char *const nodes[] = { "send", "job_advice",
                                             "c_hotline", "c_police" };
        char want[4][512];
        const char *wantp[4];

        for (size_t k = 0; k < 4; k++) {
            char needle[64];

            snprintf(needle, sizeof needle, "  %s = {", nodes[k]);
            snprintf(want[k], sizeof want[k],
                     "%s:%d: node %s: warning: final screen needs 2 pages in "
                     "vi on channel at-plain (80 characters a page, UCS-2): "
                     "callers must press 98 to read the rest before the "
                     "session ends; shorten it to one page",
                     HOTLINE, line_in(HOTLINE, needle), nodes[k]);
            wantp[k] = want[k];
        }
        expect_channel(HOTLINE, "at-plain", &ussd, 0, wantp, 4);
    }
    menu_diags_init(&d);
    assert_int_equal(menu_load_file(HOTLINE, &m, &d), 0);
    assert_int_equal(menu_check_channel(m, "at-ussd", &ussd_fold, &d), 0);
    assert_int_equal(menu_check_channel(m, "sms", &sms, &d), 0);
    assert_int_equal(d.n, 0);
    menu_free(m);
    menu_diags_free(&d);
}

/* Without nav.more a screen of two pages cannot be read past page 1: an
 * error on that channel only. */
static void test_channel_no_more_key(void **state)
{
    static const struct menu_render ussd = { MENU_CH_USSD, 0, 0 };
    static const struct menu_render ussd_fold = { MENU_CH_USSD, 1, 0 };

    (void)state;
    EXPECT_CHANNEL("tests/menus/bad_final_no_more.cfg", "ussd", &ussd, 1,
                   "tests/menus/bad_final_no_more.cfg:14: node advice: screen "
                   "needs 2 pages in vi on channel ussd but nav.more is not "
                   "set: callers can never read past page 1; add more = "
                   "\"98\"; to nav or shorten the screen");
    expect_channel("tests/menus/bad_final_no_more.cfg", "ussd", &ussd_fold,
                   0, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_menus_are_clean),
        cmocka_unit_test(test_example_tree),
        cmocka_unit_test(test_bad_syntax),
        cmocka_unit_test(test_bad_required),
        cmocka_unit_test(test_bad_nodes),
        cmocka_unit_test(test_bad_next_and_keys),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_bad_languages),
        cmocka_unit_test(test_bad_fit),
        cmocka_unit_test(test_field_never_saved),
        cmocka_unit_test(test_field_saved_on_one_path_is_enough),
        cmocka_unit_test(test_warn_unreachable),
        cmocka_unit_test(test_warn_missing_translation),
        cmocka_unit_test(test_resume_settings),
        cmocka_unit_test(test_warn_ucs2_after_folding),
        cmocka_unit_test(test_warn_no_way_out),
        cmocka_unit_test(test_warn_keyword_and_strings),
        cmocka_unit_test(test_sms_resume),
        cmocka_unit_test(test_wrong_kinds),
        cmocka_unit_test(test_long_names_one_error),
        cmocka_unit_test(test_bad_utf8_and_include),
        cmocka_unit_test(test_garbage_fails_cleanly),
        cmocka_unit_test(test_oversized_input),
        cmocka_unit_test(test_size_caps),
        cmocka_unit_test(test_too_many_nodes),
        cmocka_unit_test(test_text_get_fallback),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_bad_home),
        cmocka_unit_test(test_home_resolved),
        cmocka_unit_test(test_hidden_option_checked),
        cmocka_unit_test(test_match_checked),
        cmocka_unit_test(test_channel_final_screens),
        cmocka_unit_test(test_channel_no_more_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
