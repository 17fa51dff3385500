/*
 * menu_step.c — the walk: one caller input applied to one session state.
 *
 * A state (struct menu_state) is plain data: the node and page shown, the
 * language, whether the session ended (1: an end or forward node, 2: the
 * duress exit), the back stack and the session variables. A step reads an
 * input and moves the state; rendering the screen that results is a
 * separate, side-effect-free pass (menu_walk_show), so the replay of a long
 * history renders once, at its end.
 *
 * Order in which an input is understood (MENU-FORMAT.md):
 *   nav.quit  from any screen: the session ends on strings.quit;
 *   nav.more  when the screen has a next page;
 *   nav.back  when there is a screen to go back to (pages included);
 *   nav.home  anywhere but on the start node;
 *   then the node: an option key (menu, hidden options included) or an
 *   answer (input; a `match` value leads to its own next). Anything else
 *   is refused: the same node, page 0, headed by strings.invalid.
 * After an end or forward node (ended = 1) only the pages of that final
 * screen remain: nav.more and nav.quit work until its last page, which
 * ends the session (apply_final).
 * A state at the resume question (offer set) takes its answer instead
 * (menu_resume.c).
 *
 * Pure: no I/O, no allocation; every bound of menu.h is enforced.
 */
#include <limits.h>
#include <string.h>

#include "menu_int.h"

/* ---- validating what the caller hands us ------------------------------ */

static int has_nul(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static int node_ok(const struct menu *m, int node)
{
    return node >= 0 && (size_t)node < m->nnodes;
}

/* 1 when c holds a usable menu and st fits it (indices, bounds, strings
 * terminated). A state from elsewhere (Redis, a fuzzer) is checked before
 * anything indexes with it. */
static int walk_valid(const struct menu_ctx *c, const struct menu_state *st)
{
    const struct menu *m;

    if (!c || !c->menu || !st)
        return 0;
    m = c->menu;
    if (!m->nodes || m->nnodes == 0 || m->nnodes > SHRT_MAX ||
        m->nlangs == 0 || m->nlangs > MENU_MAX_LANGS ||
        !node_ok(m, m->start_idx))
        return 0;
    if (!node_ok(m, st->node) || st->lang < 0 ||
        (size_t)st->lang >= m->nlangs || st->page < 0 ||
        st->page >= SHRT_MAX || st->ended < 0 || st->ended > 2 ||
        st->offer < 0 || st->offer > 1 || (st->offer && st->ended) ||
        st->depth < 0 || st->depth > MENU_STACK_MAX || st->nvars < 0 ||
        st->nvars > MENU_VARS_MAX)
        return 0;
    for (int i = 0; i < st->depth; i++)
        if (!node_ok(m, st->stack[i].node) || st->stack[i].page < 0)
            return 0;
    for (int i = 0; i < st->nvars; i++)
        if (!has_nul(st->vars[i].name, sizeof st->vars[i].name) ||
            !has_nul(st->vars[i].value, sizeof st->vars[i].value))
            return 0;
    return 1;
}

/* ---- variables --------------------------------------------------------- */

const char *menu_state_get(const struct menu_state *st, const char *name)
{
    if (!st || !name || st->nvars < 0 || st->nvars > MENU_VARS_MAX)
        return NULL;
    for (int i = 0; i < st->nvars; i++)
        if (has_nul(st->vars[i].name, sizeof st->vars[i].name) &&
            strcmp(st->vars[i].name, name) == 0)
            return st->vars[i].value;
    return NULL;
}

static int var_find(const struct menu_state *st, const char *name)
{
    for (int i = 0; i < st->nvars; i++)
        if (strcmp(st->vars[i].name, name) == 0)
            return i;
    return -1;
}

/* 1 when name = value (vlen bytes) can be stored in st: a name that fits,
 * a value that fits and is valid UTF-8. */
static int var_storable(const char *name, const char *value, size_t vlen)
{
    size_t nlen = strlen(name);

    return nlen > 0 && nlen < MENU_NAME_MAX && vlen < MENU_VAR_VALUE_MAX &&
           memchr(value, '\0', vlen) == NULL && menu_utf8_valid(value, vlen);
}

/* Sets name = value, replacing an existing value. The caller checked
 * var_storable and that a new name has room. */
static void var_set(struct menu_state *st, const char *name,
                    const char *value, size_t vlen)
{
    int i = var_find(st, name);

    if (i < 0) {
        i = st->nvars++;
        memset(&st->vars[i], 0, sizeof st->vars[i]);
        memcpy(st->vars[i].name, name, strlen(name));
    }
    memset(st->vars[i].value, 0, sizeof st->vars[i].value);
    memcpy(st->vars[i].value, value, vlen);
}

/* ---- moving ------------------------------------------------------------ */

/* Pushes the screen shown; a full stack forgets its oldest screen. */
static void push(struct menu_state *st)
{
    if (st->depth >= MENU_STACK_MAX) {
        memmove(&st->stack[0], &st->stack[1],
                (MENU_STACK_MAX - 1) * sizeof st->stack[0]);
        st->depth = MENU_STACK_MAX - 1;
    }
    st->stack[st->depth].node = (short)st->node;
    st->stack[st->depth].page = (short)st->page;
    st->depth++;
}

/* Shows node `to` from page 0; an end or forward node ends the session. */
static void arrive(const struct menu *m, struct menu_state *st, int to,
                   enum menu_action *action)
{
    st->node = to;
    st->page = 0;
    if (m->nodes[to].type == MENU_NODE_END) {
        st->ended = 1;
    } else if (m->nodes[to].type == MENU_NODE_FORWARD) {
        st->ended = 1;
        *action = MENU_ACT_FORWARD;
    }
}

/* 1 when the input (n bytes) is the nav key `key`. */
static int is_key(const char *key, const char *in, size_t n)
{
    return key && strlen(key) == n && memcmp(key, in, n) == 0;
}

/* 1 when the screen st shows has a page after st->page. */
static int has_next_page(const struct menu_ctx *c, const struct menu_state *st)
{
    struct menu_layout q = { c->menu, st->node, st->lang, &c->render, st,
                             c->ref, 0, st->page, c->ref_get, c->ref_arg };
    struct menu_screen scr;

    if (menu_pre_screen(c->menu, &c->render, st->node, st->lang, 0, st->page,
                        &scr) != 0 && menu_layout_screen(&q, &scr) < 0)
        return 0;
    return st->page + 1 < scr.pages;
}

/* Applies a nav key; returns 1 when `in` was one that applies here. */
static int apply_nav(const struct menu_ctx *c, struct menu_state *st,
                     const char *in, size_t n, enum menu_action *action)
{
    const struct menu *m = c->menu;

    if (is_key(m->nav.quit, in, n)) {
        st->ended = 2;
        *action = MENU_ACT_QUIT;
        return 1;
    }
    if (is_key(m->nav.more, in, n) && has_next_page(c, st)) {
        push(st);
        st->page++;
        return 1;
    }
    if (is_key(m->nav.back, in, n) && st->depth > 0) {
        st->depth--;
        st->node = st->stack[st->depth].node;
        st->page = st->stack[st->depth].page;
        memset(&st->stack[st->depth], 0, sizeof st->stack[0]);
        return 1;
    }
    if (is_key(m->nav.home, in, n) && st->node != m->start_idx) {
        memset(st->stack, 0, sizeof st->stack);
        st->depth = 0;
        arrive(m, st, node_ok(m, m->home_idx) ? m->home_idx : m->start_idx,
               action);
        return 1;
    }
    return 0;
}

/*
 * An input on a final screen (end or forward) that needs several pages:
 * the session ended when the screen was first shown (a forward filed
 * then), but its pages are still to be read. nav.more turns to the next
 * page, nav.back to the previous one, nav.quit is the duress exit; any
 * other input shows the same page again, refused. Returns 0 when applied
 * (*invalid set for a refused input), MENU_EENDED on the last page, where
 * the session is over.
 */
static int apply_final(const struct menu_ctx *c, struct menu_state *st,
                       const char *in, size_t n, int *invalid,
                       enum menu_action *action)
{
    const struct menu *m = c->menu;

    if (st->ended != 1 || !has_next_page(c, st))
        return MENU_EENDED;
    if (is_key(m->nav.quit, in, n)) {
        st->ended = 2;
        *action = MENU_ACT_QUIT;
    } else if (is_key(m->nav.more, in, n)) {
        push(st);
        st->page++;
    } else if (is_key(m->nav.back, in, n) && st->depth > 0 &&
               st->stack[st->depth - 1].node == st->node && st->page > 0) {
        st->depth--;
        st->page = st->stack[st->depth].page;
        memset(&st->stack[st->depth], 0, sizeof st->stack[0]);
    } else {
        *invalid = 1;
    }
    return 0;
}

/* A menu node: the option whose key is `in`. Returns 1 when applied, 0 when
 * refused, MENU_EINVAL for an option leading nowhere. */
static int apply_option(const struct menu *m, struct menu_state *st,
                        const char *in, size_t n, enum menu_action *action)
{
    const struct menu_node *nd = &m->nodes[st->node];
    const struct menu_option *o = NULL;
    int fresh = 0;

    for (size_t i = 0; i < nd->nopts && !o; i++)
        if (is_key(nd->opts[i].key, in, n))
            o = &nd->opts[i];
    if (!o)
        return 0;
    if (!node_ok(m, o->next_idx))
        return MENU_EINVAL;
    for (size_t i = 0; i < o->nset; i++) {
        const struct menu_set *s = &o->set[i];

        if (!s->name || !s->value ||
            !var_storable(s->name, s->value, strlen(s->value)))
            return 0;
        fresh += var_find(st, s->name) < 0;
    }
    if (st->nvars + fresh > MENU_VARS_MAX)
        return 0;
    for (size_t i = 0; i < o->nset; i++)
        var_set(st, o->set[i].name, o->set[i].value, strlen(o->set[i].value));
    if (o->language >= 0 && (size_t)o->language < m->nlangs)
        st->lang = o->language;
    push(st);
    arrive(m, st, o->next_idx, action);
    return 1;
}

/* 1 when in[0..n) is valid UTF-8 free of control characters (C0, DEL,
 * C1): what any answer must be. */
static int answer_clean(const char *in, size_t n)
{
    if (!menu_utf8_valid(in, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)in[i];

        if (b < 0x20 || b == 0x7F)
            return 0;
        if (b == 0xC2 && i + 1 < n && (unsigned char)in[i + 1] >= 0x80 &&
            (unsigned char)in[i + 1] <= 0x9F)
            return 0;   /* C1 control */
    }
    return 1;
}

int menu_answer_form(const struct menu *m, const struct menu_node *nd,
                     const char *in, size_t n, char *out, size_t outsz)
{
    size_t chars = 0, len = n;

    if (n == 0 || n >= MENU_VAR_VALUE_MAX || outsz < MENU_VAR_VALUE_MAX ||
        !answer_clean(in, n))
        return MENU_EINVAL;
    if (nd->accept == MENU_ACCEPT_PHONE) {
        int rc = menu_phone_normalize(in, n, nd->country ? nd->country
                                                         : m->country,
                                      out, outsz);

        if (rc < 0)
            return MENU_EINVAL;
        len = (size_t)rc;
    } else {
        for (size_t i = 0; i < n; i++)
            if (nd->accept == MENU_ACCEPT_DIGITS &&
                (in[i] < '0' || in[i] > '9'))
                return MENU_EINVAL;
        memcpy(out, in, n);
        out[n] = '\0';
    }
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)out[i] & 0xC0) != 0x80;
    if (nd->min > 0 && chars < (size_t)nd->min)
        return MENU_EINVAL;
    if (nd->max > 0 && chars > (size_t)nd->max)
        return MENU_EINVAL;
    return (int)len;
}

/* The match entry of input node nd that the answer (in its stored form
 * `form`) equals, or NULL. A match value is compared in its stored form
 * too, so "+84 90" matches "+8490". */
static const struct menu_match *find_match(const struct menu *m,
                                           const struct menu_node *nd,
                                           const char *form)
{
    char v[MENU_VAR_VALUE_MAX];

    for (size_t i = 0; i < nd->nmatch; i++) {
        const struct menu_match *mt = &nd->match[i];

        if (mt->value &&
            menu_answer_form(m, nd, mt->value, strlen(mt->value), v,
                             sizeof v) >= 0 &&
            strcmp(v, form) == 0)
            return mt;
    }
    return NULL;
}

/* An input node: saves a valid answer (unless a match says otherwise) and
 * moves on to `next`, or to the matching entry's next. Returns 1 when
 * applied, 0 when refused, MENU_EINVAL for a node leading nowhere. */
static int apply_answer(const struct menu *m, struct menu_state *st,
                        const char *in, size_t n, enum menu_action *action)
{
    const struct menu_node *nd = &m->nodes[st->node];
    const struct menu_match *mt;
    char form[MENU_VAR_VALUE_MAX];
    int len, to;

    if (!node_ok(m, nd->next_idx))
        return MENU_EINVAL;
    len = menu_answer_form(m, nd, in, n, form, sizeof form);
    if (len < 0)
        return 0;
    mt = find_match(m, nd, form);
    if (mt && !node_ok(m, mt->next_idx))
        return MENU_EINVAL;
    to = mt ? mt->next_idx : nd->next_idx;
    if (nd->save && (!mt || mt->save)) {
        if (!var_storable(nd->save, form, (size_t)len))
            return 0;
        if (var_find(st, nd->save) < 0 && st->nvars >= MENU_VARS_MAX)
            return 0;
        var_set(st, nd->save, form, (size_t)len);
    }
    push(st);
    arrive(m, st, to, action);
    return 1;
}

/* A lookup node: a query that normalises to a key is kept as `query` and
 * handed to the gateway (action LOOKUP, out = the keys); the state stays on
 * the node until menu_lookup_result. Returns 1 when applied, 0 when
 * refused. */
static int apply_lookup(const struct menu *m, struct menu_state *st,
                        const char *in, size_t n, enum menu_action *action,
                        struct menu_lookup *out)
{
    const struct menu_node *nd = &m->nodes[st->node];
    struct menu_lookup lk;

    if (menu_lookup_keys(in, n, nd->country ? nd->country : m->country,
                         &lk) < 0 ||
        !var_storable("query", in, n) ||
        (var_find(st, "query") < 0 && st->nvars >= MENU_VARS_MAX))
        return 0;
    var_set(st, "query", in, n);
    lk.nlists = nd->nlists;
    for (size_t i = 0; i < nd->nlists; i++)
        lk.lists[i] = nd->lists[i];
    if (out)
        *out = lk;
    *action = MENU_ACT_LOOKUP;
    return 1;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int menu_walk_apply(const struct menu_ctx *c, struct menu_state *st,
                    const char *input, size_t len, int *invalid,
                    enum menu_action *action)
{
    return menu_walk_apply_lk(c, st, input, len, invalid, action, NULL);
}

int menu_walk_apply_lk(const struct menu_ctx *c, struct menu_state *st,
                       const char *input, size_t len, int *invalid,
                       enum menu_action *action, struct menu_lookup *lookup)
{
    const struct menu *m;
    int rc;

    *invalid = 0;
    *action = MENU_ACT_NONE;
    if (!walk_valid(c, st) || (!input && len > 0))
        return MENU_EINVAL;
    m = c->menu;
    while (len > 0 && is_blank(input[0])) {
        input++;
        len--;
    }
    while (len > 0 && is_blank(input[len - 1]))
        len--;
    if (st->ended)
        return apply_final(c, st, input, len, invalid, action);
    if (st->offer)
        return menu_offer_apply(c, st, input, len, invalid, action);
    if (apply_nav(c, st, input, len, action))
        return 0;
    switch (m->nodes[st->node].type) {
    case MENU_NODE_MENU:
        rc = apply_option(m, st, input, len, action);
        break;
    case MENU_NODE_INPUT:
        rc = apply_answer(m, st, input, len, action);
        break;
    case MENU_NODE_LOOKUP:
        rc = apply_lookup(m, st, input, len, action, lookup);
        break;
    default:
        /* An end or forward node not yet marked ended (a state written
         * by hand): it ends now. */
        arrive(m, st, st->node, action);
        rc = 1;
        break;
    }
    if (rc < 0)
        return rc;
    if (rc == 0) {
        *invalid = 1;
        st->page = 0;
    }
    return 0;
}

/* ---- rendering ---------------------------------------------------------- */

int menu_walk_show(const struct menu_ctx *c, const struct menu_state *st,
                   int invalid, struct menu_result *r)
{
    struct menu_layout q;
    int rc;

    if (!r)
        return MENU_EINVAL;
    memset(r, 0, sizeof *r);
    r->screen.pages = -1;
    if (!walk_valid(c, st))
        return MENU_EINVAL;
    r->node = &c->menu->nodes[st->node];
    r->end = st->ended != 0;
    if (st->offer)
        return menu_offer_show(c, st, invalid, r);
    if (st->ended == 2)
        return menu_layout_text(
            menu_text_get(c->menu, &c->menu->strings.quit, st->lang),
            &c->render, &r->screen);
    /* A final screen ends the session on its last page only; the pages
     * before it continue (their last line is nav.more). */
    q.m = c->menu;
    q.node = st->node;
    q.lang = st->lang;
    q.r = &c->render;
    q.st = st;
    q.ref = c->ref;
    q.ref_get = c->ref_get;
    q.ref_arg = c->ref_arg;
    q.invalid = invalid;
    q.page = st->page;
    if (menu_pre_screen(c->menu, &c->render, st->node, st->lang, invalid,
                        st->page, &r->screen) == 0)
        rc = 0;                 /* rendered when the menu loaded */
    else
        rc = menu_layout_screen(&q, &r->screen);
    if (rc == 0 && st->ended && r->screen.page + 1 < r->screen.pages &&
        c->menu->nav.more)
        r->end = 0;
    return rc;
}

int menu_show(const struct menu_ctx *c, const struct menu_state *st,
              struct menu_result *r)
{
    return menu_walk_show(c, st, 0, r);
}

int menu_begin(const struct menu_ctx *c, struct menu_state *st,
               struct menu_result *r)
{
    if (!c || !c->menu || !st || !r)
        return MENU_EINVAL;
    memset(st, 0, sizeof *st);
    st->node = c->menu->start_idx;
    return menu_walk_show(c, st, 0, r);
}

int menu_step(const struct menu_ctx *c, struct menu_state *st,
              const char *input, struct menu_result *r)
{
    struct menu_lookup lk;
    enum menu_action action;
    int invalid;
    size_t len;
    int rc;

    if (!r)
        return MENU_EINVAL;
    memset(r, 0, sizeof *r);
    r->screen.pages = -1;
    if (!input)
        return MENU_EINVAL;
    len = strnlen(input, MENU_INPUT_MAX + 1);
    if (len > MENU_INPUT_MAX)
        return MENU_EINVAL;
    rc = menu_walk_apply_lk(c, st, input, len, &invalid, &action, &lk);
    if (rc == MENU_EENDED) {
        menu_walk_show(c, st, 0, r);
        return rc;
    }
    if (rc < 0)
        return rc;
    /* A refused input on a final screen shows the same page unchanged. */
    rc = menu_walk_show(c, st, invalid && !st->ended, r);
    r->invalid = invalid;
    r->action = action;
    if (action == MENU_ACT_LOOKUP)
        r->lookup = lk;
    if (r->screen.pages > 0 && !st->ended && !st->offer)
        st->page = r->screen.page;
    return rc;
}

/* ---- the end of a lookup ------------------------------------------------ */

/* The variables a lookup sets; cleared before each result. */
static const char *const lookup_vars[] = { "company", "licence", "reports",
                                           "since", "list" };

static void var_clear(struct menu_state *st, const char *name)
{
    int i = var_find(st, name);

    if (i < 0)
        return;
    memmove(&st->vars[i], &st->vars[i + 1],
            (size_t)(st->nvars - i - 1) * sizeof st->vars[0]);
    st->nvars--;
    memset(&st->vars[st->nvars], 0, sizeof st->vars[0]);
}

int menu_lookup_apply(const struct menu_ctx *c, struct menu_state *st,
                      enum menu_outcome outcome,
                      const struct menu_lookup_field *fields, size_t nfields,
                      enum menu_action *action)
{
    const struct menu *m;
    const struct menu_node *nd;
    int to;

    *action = MENU_ACT_NONE;
    if (!walk_valid(c, st) || st->ended || outcome < 0 ||
        outcome >= MENU_OUT_COUNT || (nfields > 0 && !fields))
        return MENU_EINVAL;
    m = c->menu;
    nd = &m->nodes[st->node];
    if (nd->type != MENU_NODE_LOOKUP)
        return MENU_EINVAL;
    to = nd->on_idx[outcome];
    if (!node_ok(m, to))
        to = nd->on_idx[MENU_OUT_UNKNOWN];
    if (!node_ok(m, to))
        return MENU_EINVAL;
    for (size_t i = 0; i < sizeof lookup_vars / sizeof lookup_vars[0]; i++)
        var_clear(st, lookup_vars[i]);
    for (size_t i = 0; i < nfields; i++) {
        const char *name = fields[i].name, *value = fields[i].value;

        if (!name || !value || strcmp(name, "query") == 0 ||
            !var_storable(name, value, strlen(value)) ||
            (var_find(st, name) < 0 && st->nvars >= MENU_VARS_MAX))
            continue;
        var_set(st, name, value, strlen(value));
    }
    push(st);
    arrive(m, st, to, action);
    return 0;
}

int menu_lookup_result(const struct menu_ctx *c, struct menu_state *st,
                       enum menu_outcome outcome,
                       const struct menu_lookup_field *fields, size_t nfields,
                       struct menu_result *r)
{
    enum menu_action action;
    int rc;

    if (!r)
        return MENU_EINVAL;
    memset(r, 0, sizeof *r);
    r->screen.pages = -1;
    rc = menu_lookup_apply(c, st, outcome, fields, nfields, &action);
    if (rc < 0)
        return rc;
    rc = menu_walk_show(c, st, 0, r);
    r->action = action;
    return rc;
}
