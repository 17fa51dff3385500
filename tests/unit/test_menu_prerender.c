/*
 * test_menu_prerender.c — screens rendered once when a menu loads
 * (menu_prerender) are byte for byte what rendering on demand gives: for
 * every shipped menu (every .cfg in config/menus), node, language, render mode
 * (USSD and SMS of 1 and 3 parts, folded or not), with and without the
 * invalid line, and every page, the screen of a pre-rendered menu equals
 * the one of the same menu loaded without it — text, page, page count,
 * measure, end — for a session with every variable and {ref} set (a
 * screen wrongly kept would show them missing). Also: screens are really
 * kept, those with a {name} are not, and a mode not pre-rendered still
 * renders. Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "menu_int.h"

static const char *const menus[] = { "config/menus/hotline.cfg",
                                     "config/menus/disguised.cfg" };

static const struct menu_render modes[] = {
    { MENU_CH_USSD, 1, 0 }, { MENU_CH_USSD, 0, 0 },
    { MENU_CH_SMS, 1, 1 },  { MENU_CH_SMS, 0, 1 },
    { MENU_CH_SMS, 1, 3 },  { MENU_CH_SMS, 0, 3 },
};
#define NMODES (sizeof modes / sizeof modes[0])

static const char *const vars[] = { "company", "licence", "query",
                                    "reports", "since", "location" };

static struct menu *load(const char *path)
{
    struct menu *m = NULL;
    struct menu_diags d;

    menu_diags_init(&d);
    assert_int_equal(menu_load_file(path, &m, &d), 0);
    menu_diags_free(&d);
    return m;
}

/* A state at node/lang/page with every variable of the shipped menus set. */
static void state_at(const struct menu *m, int node, int lang, int page,
                     struct menu_state *st)
{
    memset(st, 0, sizeof *st);
    st->node = node;
    st->lang = lang;
    st->page = page;
    st->ended = m->nodes[node].type == MENU_NODE_END ||
                m->nodes[node].type == MENU_NODE_FORWARD;
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        snprintf(st->vars[i].name, sizeof st->vars[i].name, "%s", vars[i]);
        snprintf(st->vars[i].value, sizeof st->vars[i].value, "V-%s",
                 vars[i]);
        st->nvars++;
    }
}

/* Compares every screen of one mode; returns the screens compared. */
static size_t compare_mode(const struct menu *pre, const struct menu *plain,
                           const struct menu_render *r)
{
    struct menu_ctx cp = { pre, *r, "REF123", NULL, NULL };
    struct menu_ctx cq = { plain, *r, "REF123", NULL, NULL };
    size_t n = 0;

    for (size_t node = 0; node < pre->nnodes; node++)
        for (size_t lang = 0; lang < pre->nlangs; lang++)
            for (int inv = 0; inv < 2; inv++) {
                int pages = 1;

                for (int page = 0; page < pages + 1; page++) {
                    struct menu_state st;
                    struct menu_result a, b;
                    int ra, rb;

                    state_at(pre, (int)node, (int)lang, page, &st);
                    ra = menu_walk_show(&cp, &st, inv, &a);
                    rb = menu_walk_show(&cq, &st, inv, &b);
                    assert_int_equal(ra, rb);
                    assert_string_equal(a.screen.text, b.screen.text);
                    assert_int_equal(a.screen.page, b.screen.page);
                    assert_int_equal(a.screen.pages, b.screen.pages);
                    assert_memory_equal(&a.screen.measure, &b.screen.measure,
                                        sizeof a.screen.measure);
                    assert_int_equal(a.end, b.end);
                    if (b.screen.pages > pages)
                        pages = b.screen.pages;   /* and one past the last */
                    n++;
                }
            }
    return n;
}

static void prerendered_equal_on_demand(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof menus / sizeof menus[0]; k++) {
        struct menu *pre = load(menus[k]);
        struct menu *plain = load(menus[k]);
        size_t screens = 0;

        for (size_t i = 0; i < NMODES; i++)
            assert_int_equal(menu_prerender(pre, &modes[i]), 0);
        assert_true(menu_prerendered(pre) > pre->nnodes);
        assert_int_equal(menu_prerendered(plain), 0);
        for (size_t i = 0; i < NMODES; i++)
            screens += compare_mode(pre, plain, &modes[i]);
        assert_true(screens > 4 * pre->nnodes);
        menu_free(pre);
        menu_free(plain);
    }
}

/* A screen with {ref} is never kept; a plain one is; again is a no-op. */
static void dynamic_screens_are_not_kept(void **state)
{
    struct menu *m = load(menus[0]);
    struct menu_screen scr;
    size_t kept;
    int with_ref = -1, plain = -1;

    (void)state;
    assert_int_equal(menu_prerender(m, &modes[0]), 0);
    kept = menu_prerendered(m);
    assert_int_equal(menu_prerender(m, &modes[0]), 0);
    assert_int_equal(menu_prerendered(m), kept);
    for (size_t i = 0; i < m->nnodes; i++) {
        const char *t = menu_text_get(m, &m->nodes[i].text, 0);

        if (t && strstr(t, "{ref}") && with_ref < 0)
            with_ref = (int)i;
        if (t && !strchr(t, '{') && m->nodes[i].type == MENU_NODE_MENU &&
            plain < 0)
            plain = (int)i;
    }
    assert_true(with_ref >= 0 && plain >= 0);
    assert_int_equal(menu_pre_screen(m, &modes[0], with_ref, 0, 0, 0, &scr),
                     -1);
    assert_int_equal(menu_pre_screen(m, &modes[0], plain, 0, 0, 0, &scr), 0);
    /* a mode not pre-rendered: not kept (rendered on demand) */
    assert_int_equal(menu_pre_screen(m, &modes[1], plain, 0, 0, 0, &scr), -1);
    menu_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prerendered_equal_on_demand),
        cmocka_unit_test(dynamic_screens_are_not_kept),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
