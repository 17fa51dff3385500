/*
 * menu_replay.c — rebuilding a session from an Africa's Talking history.
 *
 * Africa's Talking sends every input of a USSD session joined with '*'
 * ("", "2", "2*1", "2*1*Hanoi", ...). Replaying that history from `start`
 * gives the session back when Redis is away, and the same screen for a
 * retried request (DESIGN.md). The screen is rendered once, after the last
 * input; the action reported is the last input's only, so a history that
 * ended on a forward reports it, and one that goes on after it never again.
 *
 * The one ambiguity is free text containing '*': "2*1*Block B*7" may be the
 * answer "Block B*7" or the answer "Block B" followed by "7". An `input`
 * node takes the fewest fields that its node accepts AND after which the
 * rest of the history replays without a refused input (up to the end of
 * the session: what follows an end is ignored); when no split does, it
 * takes a single field. So "Hanoi*1*2"
 * gives "Hanoi" then two option keys, and "Block B*7" at the end of the
 * history (7 being no key of the next screen) is one answer. Looking ahead
 * is bounded (LOOKAHEAD_STEPS inputs tried, LOOKAHEAD_DEPTH nested input
 * nodes), and as deterministic as the rest: one history, one result.
 *
 * menu_replay_from replays the same way from another first screen: the
 * resume question of a resumed walk (menu_resume.c), whose session's history
 * begins with the answer to it.
 *
 * Pure: no I/O, no allocation.
 */
#include <stdint.h>
#include <string.h>

#include "menu_int.h"

#define FIELDS_MAX (MENU_HISTORY_MAX + 1)
#define LOOKAHEAD_STEPS 2048
#define LOOKAHEAD_DEPTH 4

/* The history split on '*': field i is h[off[i] .. off[i] + len[i]). */
struct fields {
    const char *h;
    size_t n;
    uint16_t off[FIELDS_MAX];
    uint16_t len[FIELDS_MAX];
};

/* What the lookahead may still spend. */
struct budget {
    size_t steps;
    int depth;
};

static void split(const char *h, size_t hlen, struct fields *f)
{
    size_t start = 0;

    f->h = h;
    f->n = 0;
    for (size_t i = 0; i <= hlen; i++) {
        if (i == hlen || h[i] == '*') {
            f->off[f->n] = (uint16_t)start;
            f->len[f->n] = (uint16_t)(i - start);
            f->n++;
            start = i + 1;
        }
    }
}

/* Bytes of fields [i, i + k) joined with their '*'s. */
static size_t span_len(const struct fields *f, size_t i, size_t k)
{
    return (size_t)f->off[i + k - 1] + f->len[i + k - 1] - f->off[i];
}

static int rest_ok(const struct menu_ctx *c, const struct menu_state *st,
                   const struct fields *f, size_t i, struct budget *b);

/* A lookup the replay cannot ask Redis about (it is not the last input,
 * or it is being tried ahead) ends as MENU_OUT_ERROR: deterministic, and
 * never a "found". */
static void settle(const struct menu_ctx *c, struct menu_state *st,
                   enum menu_action *action)
{
    if (*action == MENU_ACT_LOOKUP &&
        menu_lookup_apply(c, st, MENU_OUT_ERROR, NULL, 0, action) < 0)
        *action = MENU_ACT_NONE;
}

/* Fields the input at i takes from state st: 1, except at an input node
 * with fields after it (see the top of this file). */
static size_t take(const struct menu_ctx *c, const struct menu_state *st,
                   const struct fields *f, size_t i, struct budget *b)
{
    const struct menu_node *nd = &c->menu->nodes[st->node];

    if (st->ended || st->offer || nd->type != MENU_NODE_INPUT ||
        i + 1 >= f->n ||
        b->depth >= LOOKAHEAD_DEPTH)
        return 1;
    b->depth++;
    for (size_t k = 1; i + k <= f->n && b->steps > 0; k++) {
        struct menu_state s = *st;
        enum menu_action act;
        int invalid;
        int rc;

        b->steps--;
        rc = menu_walk_apply(c, &s, f->h + f->off[i], span_len(f, i, k),
                             &invalid, &act);
        if (rc == 0)
            settle(c, &s, &act);
        if (rc == 0 && !invalid && rest_ok(c, &s, f, i + k, b)) {
            b->depth--;
            return k;
        }
    }
    b->depth--;
    return 1;
}

/* 1 when fields [i, n) replay from st without a refused input (inputs
 * after the end are ignored, as the replay itself ignores them). */
static int rest_ok(const struct menu_ctx *c, const struct menu_state *st,
                   const struct fields *f, size_t i, struct budget *b)
{
    struct menu_state s = *st;

    while (i < f->n) {
        size_t k = take(c, &s, f, i, b);
        enum menu_action act;
        int invalid;

        int rc;

        if (b->steps == 0)
            return 0;
        b->steps--;
        rc = menu_walk_apply(c, &s, f->h + f->off[i], span_len(f, i, k),
                             &invalid, &act);
        if (rc == MENU_EENDED)
            return 1;   /* what follows the end is ignored, as in replay */
        if (rc != 0 || invalid)
            return 0;
        settle(c, &s, &act);
        i += k;
    }
    return 1;
}

/* Replays every field into st; *invalid and *action are the last input's. */
static int walk_all(const struct menu_ctx *c, struct menu_state *st,
                    const struct fields *f, int *invalid,
                    enum menu_action *action, struct menu_lookup *lk)
{
    struct budget b = { LOOKAHEAD_STEPS, 0 };
    size_t i = 0;

    while (i < f->n) {
        size_t k = take(c, st, f, i, &b);
        int rc = menu_walk_apply_lk(c, st, f->h + f->off[i],
                                    span_len(f, i, k), invalid, action, lk);

        if (rc == 0 && i + k < f->n)
            settle(c, st, action);

        if (rc == MENU_EENDED) {
            /* The history goes on after the end: the end screen again,
             * and no action. */
            *invalid = 0;
            *action = MENU_ACT_NONE;
            return 0;
        }
        if (rc < 0)
            return rc;
        i += k;
    }
    return 0;
}

int menu_replay(const struct menu_ctx *c, const char *history,
                struct menu_state *st, struct menu_result *r)
{
    return menu_replay_from(c, NULL, history, st, r);
}

int menu_replay_from(const struct menu_ctx *c, const struct menu_state *base,
                     const char *history, struct menu_state *st,
                     struct menu_result *r)
{
    struct menu_lookup lk;
    struct fields f;
    enum menu_action action = MENU_ACT_NONE;
    int invalid = 0;
    size_t hlen;
    int rc;

    if (!r)
        return MENU_EINVAL;
    memset(r, 0, sizeof *r);
    r->screen.pages = -1;
    if (!c || !history || !st)
        return MENU_EINVAL;
    hlen = strnlen(history, MENU_HISTORY_MAX + 1);
    if (hlen > MENU_HISTORY_MAX)
        return MENU_EINVAL;
    rc = menu_begin(c, st, r);
    if (rc < 0)
        return rc;
    if (base) {
        if (base->ended)
            return MENU_EINVAL;
        *st = *base;
        rc = menu_show(c, st, r);
        if (rc < 0) {
            menu_begin(c, st, r);
            return rc;
        }
    }
    if (hlen == 0)
        return rc;
    split(history, hlen, &f);
    memset(&lk, 0, sizeof lk);
    rc = walk_all(c, st, &f, &invalid, &action, &lk);
    if (rc < 0)
        return rc;
    rc = menu_walk_show(c, st, invalid && !st->ended, r);
    r->invalid = invalid;
    r->action = action;
    if (action == MENU_ACT_LOOKUP)
        r->lookup = lk;
    if (r->screen.pages > 0 && !st->ended && !st->offer)
        st->page = r->screen.page;
    return rc;
}

const char *menu_history_next(const char *history, const char *prev)
{
    size_t n;

    if (!history || !prev)
        return NULL;
    if (prev[0] == '\0')
        return history[0] ? history : NULL;
    n = strlen(prev);
    if (strncmp(history, prev, n) == 0 && history[n] == '*')
        return history + n + 1;
    return NULL;
}
