/*
 * fuzz_step — the walk: arbitrary caller inputs (one per line) through the
 * shipped menus (hotline.cfg, or disguised.cfg when bit 4 of the first byte
 * is set). Invariants: every screen fits its page (or says it cannot),
 * the state always encodes and decodes back to the same screen, and at most
 * one forward is ever reported per session. A line "~" is a dropped call
 * and a redial: the walk so far is offered back (menu_resume_offer), as
 * the gateway does, when it is worth it. A lookup (the shipped menu's
 * "Check a recruiter") is answered as the gateway would, with an outcome
 * and fields taken from the input; its keys must be bounded and terminated.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct menu_ctx *c,
                            const struct menu_state *st,
                            const struct menu_result *r)
{
    char enc[MENU_STATE_ENC_MAX];
    struct menu_state back;
    struct menu_result again;
    int n = menu_state_encode(c->menu, st, enc, sizeof enc);

    if (n < 0)
        abort();
    if (menu_state_decode(c->menu, enc, (size_t)n, &back) != 0)
        abort();
    if (menu_show(c, &back, &again) == 0 &&
        strcmp(again.screen.text, r->screen.text) != 0 && !r->invalid)
        abort();
}

/* Answers a LOOKUP step: outcome from the input's length, fields that may
 * or may not be storable. */
static void answer_lookup(const struct menu_ctx *c, struct menu_state *st,
                          const char *line, struct menu_result *r)
{
    const struct menu_lookup_field f[] = {
        { "company", line }, { "licence", "000/SAMPLE-GP" },
        { "reports", "3" }, { "since", "2026-11-30" }, { "", "x" },
        { "query", "never replaced" }
    };
    enum menu_outcome o = (enum menu_outcome)(strlen(line) % MENU_OUT_COUNT);

    if (strnlen(r->lookup.key, sizeof r->lookup.key) >= sizeof r->lookup.key ||
        r->lookup.nnear > MENU_LOOKUP_NEAR_MAX)
        abort();
    for (size_t i = 0; i < r->lookup.nnear; i++)
        if (strnlen(r->lookup.near[i], MENU_LOOKUP_KEY_MAX) >=
            MENU_LOOKUP_KEY_MAX)
            abort();
    if (menu_lookup_result(c, st, o, f, sizeof f / sizeof f[0], r) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct menu_ctx c = { 0 };
    struct menu_state st;
    struct menu_result r;
    char *text;
    char *line;
    char *save = NULL;
    int forwards = 0;

    if (size < 1)
        return 0;
    c.menu = (data[0] & 0x10) ? fuzz_disguised() : fuzz_menu();
    c.render = fuzz_render(data[0]);
    c.ref = "FUZZ42";
    text = fuzz_str(data + 1, size - 1);
    if (menu_begin(&c, &st, &r) != 0)
        abort();
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int rc;

        if (strcmp(line, "~") == 0) {
            struct menu_state saved = st;

            if (menu_resume_offer(&c, &saved, &st, &r) == 0 &&
                (!st.offer || !menu_resume_worth(c.menu, &saved)))
                abort();
            forwards = 0;               /* a new session: a walk anew */
            check_roundtrip(&c, &st, &r);
            continue;
        }
        rc = menu_step(&c, &st, line, &r);

        if (rc == MENU_EENDED)
            break;
        if (rc != 0)
            continue;
        if (r.action == MENU_ACT_LOOKUP)
            answer_lookup(&c, &st, line, &r);
        if (r.screen.pages > 0 &&
            r.screen.measure.units >
                menu_page_limit(&c.render, r.screen.measure.enc))
            abort();
        if (r.action == MENU_ACT_FORWARD && ++forwards > 1)
            abort();
        check_roundtrip(&c, &st, &r);
    }
    free(text);
    return 0;
}
