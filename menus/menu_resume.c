/*
 * menu_resume.c — giving a dropped USSD walk back to its caller.
 *
 * A mobile network cuts USSD sessions after tens of seconds of silence. The
 * gateway keeps the place of a walk cut before an end (for `resume_s`
 * seconds, under the number's HMAC) and, when the same number dials again,
 * opens the new session on the resume question instead of `start`:
 * strings.resume, in the walk's language, e.g. "1. Continue where you were
 * / 2. Start again". The question is a flag on the saved state itself
 * (menu_state.offer), so it is encoded, retried and replayed like any other
 * screen: "1" clears the flag and the walk goes on where it was (node, page,
 * language, back stack, answers), "2" starts at `start`, nav.quit is the
 * duress exit as everywhere, anything else asks again.
 *
 * Which walks are offered back is decided here (menu_resume_worth): live
 * ones that got somewhere. Ended walks (a filing, an end screen, the duress
 * exit) never are; the gateway also deletes their saved place.
 *
 * Pure: no I/O, no allocation.
 */
#include <stdio.h>
#include <string.h>

#include "menu_int.h"

int menu_resume_worth(const struct menu *m, const struct menu_state *st)
{
    if (!m || !st || st->ended || st->offer)
        return 0;
    return st->node != m->start_idx || st->nvars > 0 || st->depth > 0;
}

int menu_resume_offer(const struct menu_ctx *c,
                      const struct menu_state *saved, struct menu_state *st,
                      struct menu_result *r)
{
    int rc;

    rc = menu_begin(c, st, r);
    if (rc < 0)
        return rc;
    if (!saved || !menu_resume_worth(c->menu, saved))
        return MENU_EINVAL;
    if (!menu_text_get(c->menu, &c->menu->strings.resume, saved->lang)[0])
        return MENU_ENOENT;
    *st = *saved;
    st->offer = 1;
    rc = menu_show(c, st, r);
    if (rc < 0)                 /* a state that does not fit: start */
        menu_begin(c, st, r);
    return rc;
}

/* 1 when in[0..n) is exactly key. */
static int is(const char *key, const char *in, size_t n)
{
    return key && strlen(key) == n && memcmp(key, in, n) == 0;
}

int menu_offer_apply(const struct menu_ctx *c, struct menu_state *st,
                     const char *in, size_t n, int *invalid,
                     enum menu_action *action)
{
    const struct menu *m = c->menu;

    if (is(m->nav.quit, in, n)) {
        st->offer = 0;
        st->ended = 2;
        *action = MENU_ACT_QUIT;
    } else if (is(MENU_RESUME_KEY_CONTINUE, in, n)) {
        st->offer = 0;
    } else if (is(MENU_RESUME_KEY_RESTART, in, n)) {
        memset(st, 0, sizeof *st);
        st->node = m->start_idx;
    } else {
        *invalid = 1;
    }
    return 0;
}

int menu_offer_show(const struct menu_ctx *c, const struct menu_state *st,
                    int invalid, struct menu_result *r)
{
    const struct menu *m = c->menu;
    const char *q = menu_text_get(m, &m->strings.resume, st->lang);
    char text[MENU_SCREEN_MAX];

    if (invalid)
        snprintf(text, sizeof text, "%s\n%s",
                 menu_text_get(m, &m->strings.invalid, st->lang), q);
    else
        snprintf(text, sizeof text, "%s", q);
    r->node = &m->nodes[st->node];
    r->end = 0;
    return menu_layout_text(text, &c->render, &r->screen);
}
