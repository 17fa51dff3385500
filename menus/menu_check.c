/*
 * menu_check.c — every semantic rule of MENU-FORMAT.md, judged on the
 * structs the loader built.
 *
 * The loader (menu_load.c) reports what a struct cannot hold (syntax, wrong
 * kinds of values, unknown words); this file reports everything else, in
 * the words docs/menus.md section 12 uses:
 *
 *   errors    missing name/languages/start/nodes; `next` or `start` naming
 *             no node; a duplicate key; a key that is a nav key; a menu
 *             without options; an input without save, or with min > max; a
 *             forward without queue, or with a field no path saves; a bad
 *             node, variable or queue name; a screen that cannot be
 *             paginated to fit a USSD page; `home` naming no menu or input
 *             node; a match without value, naming no node, given twice or
 *             equal to a nav key.
 *   warnings  a node no path from start reaches; a part of the menu with no
 *             way to an end or forward node; a missing translation; a
 *             screen that needs UCS-2 even after folding; a nav key without
 *             its words in `strings`; a match value its input never
 *             accepts.
 *   per channel (menu_check_channel, for `hotlinectl menu check`): a
 *             screen that cannot be shown there is an error, a final screen
 *             of several pages a warning.
 *
 * The graph is the `next` of options (hidden ones too), inputs and their
 * match entries; navigation keys (back,
 * home) are not edges. "Saved on some path" is a may-dataflow over that
 * graph from `start`: a variable is saved at a node when some path from
 * start to it passes an input that saves it or an option that sets it.
 *
 * Lines: options, texts and nodes carry their own line; a `next` is
 * reported at its option's line (input: the node's line); top-level
 * settings the structs hold without a line are reported with line 0.
 *
 * Pure: allocation only, no I/O. Screens are measured by menu_fit_node
 * (menu_render.c) exactly as a folding USSD channel would send them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu_int.h"

/* One check in progress. */
struct check {
    struct menu *m;
    struct menu_diags *d;
    int oom;
};

/* The screen every node must fit: USSD with diacritics folded. */
static const struct menu_render fit_render = { MENU_CH_USSD, 1, 0 };

/* ---- names -------------------------------------------------------------- */

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* A copy of s short enough to quote in a message: at most CLIP_MAX bytes,
 * cut at a character boundary, with "..." when cut. */
#define CLIP_MAX 40
struct clip {
    char s[CLIP_MAX + 4];
};

static const char *clip(const char *s, struct clip *c)
{
    size_t n;

    if (!s)
        return "";
    n = strlen(s);
    if (n <= CLIP_MAX)
        return s;
    n = CLIP_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(c->s, s, n);
    memcpy(c->s + n, "...", 4);
    return c->s;
}

/* Why s cannot be a node or variable name (`dash`: '-' allowed too, for
 * queues), as words that follow the name in a message; NULL when it can. */
static const char *name_problem(const char *s, int dash)
{
    size_t n = strlen(s);

    if (n == 0)
        return "is empty";
    if (n >= MENU_NAME_MAX)
        return "is longer than 47 characters";
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && !(dash && s[i] == '-'))
            return dash ? "may only use letters, digits, _ and -"
                        : "may only use letters, digits and _";
    return NULL;
}

/* Reports a bad variable name (what: "variable", "field"). */
static void check_var(struct check *c, int line, const char *node,
                      const char *what, const char *name)
{
    const char *why = name ? name_problem(name, 0) : NULL;
    struct clip k;

    if (why)
        menu_diag_add(c->d, MENU_SEV_ERROR, line, node, "%s \"%s\" %s",
                      what, clip(name, &k), why);
}

/* ---- texts -------------------------------------------------------------- */

/* 1 when t has no string at all. */
static int text_empty(const struct menu *m, const struct menu_text *t)
{
    if (t->all)
        return 0;
    for (size_t i = 0; i < m->nlangs && i < MENU_MAX_LANGS; i++)
        if (t->lang[i])
            return 0;
    return 1;
}

/* Appends ", code" (or "code" first) to buf. */
static void list_add(char *buf, size_t sz, const char *code)
{
    size_t n = strlen(buf);

    snprintf(buf + n, sz - n, "%s%s", n ? ", " : "", code);
}

/* Warns once about the languages text t lacks. what: NULL for a node's
 * text, else what the text is ("strings.back", "label of key \"1\""). */
static void check_translations(struct check *c, const struct menu_text *t,
                               const char *node, const char *what)
{
    char miss[MENU_MAX_LANGS * (MENU_NAME_MAX + 2) + 1] = "";

    if (t->all)
        return;
    for (size_t i = 0; i < c->m->nlangs && i < MENU_MAX_LANGS; i++)
        if (!t->lang[i] && c->m->langs[i])
            list_add(miss, sizeof miss, c->m->langs[i]);
    if (!miss[0])
        return;
    if (what)
        menu_diag_add(c->d, MENU_SEV_WARNING, t->line, node,
                      "%s: missing translation: %s", what, miss);
    else
        menu_diag_add(c->d, MENU_SEV_WARNING, t->line, node,
                      "missing translation: %s", miss);
}

/* ---- the top of the file ------------------------------------------------ */

static void check_required(struct check *c)
{
    const struct menu *m = c->m;

    if (!m->name || !m->name[0])
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "name is missing: add name = \"...\"; at the top");
    if (m->nlangs == 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "languages is missing: add languages = [ \"en\" ]; at "
                      "the top");
    if (!m->start || !m->start[0])
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "start is missing: add start = \"NODE\"; at the top");
    if (m->nnodes == 0 || !m->nodes)
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "nodes is missing: add the screens in nodes = { ... };");
}

/* Resolves start_idx. */
static void check_start(struct check *c)
{
    struct menu *m = c->m;
    struct clip k;

    m->start_idx = -1;
    if (!m->start || !m->start[0] || m->nnodes == 0)
        return;
    m->start_idx = menu_node_index(m, m->start);
    if (m->start_idx < 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "start \"%s\" is not a node", clip(m->start, &k));
}

/* Resolves home_idx: the node nav.home returns to (default: start). */
static void check_home(struct check *c)
{
    struct menu *m = c->m;
    struct clip k;

    m->home_idx = m->start_idx;
    if (!m->home || m->nnodes == 0)
        return;
    m->home_idx = menu_node_index(m, m->home);
    if (m->home_idx < 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "home \"%s\" is not a node: name the screen \"Main "
                      "menu\" returns to, like home = \"main\";",
                      clip(m->home, &k));
    else if (m->nodes[m->home_idx].type != MENU_NODE_MENU &&
             m->nodes[m->home_idx].type != MENU_NODE_INPUT)
        menu_diag_add(c->d, MENU_SEV_ERROR, 0, NULL,
                      "home \"%s\" is an end or forward node: \"Main "
                      "menu\" must lead to a menu or input node",
                      clip(m->home, &k));
}

/* The words of each configured nav key, and every translation of the
 * engine's own words. */
static void check_strings(struct check *c)
{
    const struct menu *m = c->m;
    const struct menu_strings *s = &m->strings;
    const struct {
        const char *name, *key;
        const struct menu_text *t;
    } v[] = {
        { "back", m->nav.back, &s->back },
        { "home", m->nav.home, &s->home },
        { "more", m->nav.more, &s->more },
        { "quit", m->nav.quit, &s->quit },
        { "invalid", "", &s->invalid },
        { "resume", NULL, &s->resume },     /* none: no resume offered */
    };

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char what[24];

        snprintf(what, sizeof what, "strings.%s", v[i].name);
        if (v[i].key && text_empty(m, v[i].t) && v[i].t->line == 0)
            menu_diag_add(c->d, MENU_SEV_WARNING, 0, NULL,
                          "%s is missing: add the words callers see for it",
                          what);
        else if (v[i].t->line != 0)
            check_translations(c, v[i].t, NULL, what);
    }
}

/* ---- nodes -------------------------------------------------------------- */

/* Resolves a next of node nd; reports a missing or dangling one. */
static int resolve_next(struct check *c, const struct menu_node *nd,
                        const char *next, int line, const char *owner)
{
    struct clip k;
    int idx;

    if (!next || !next[0]) {
        menu_diag_add(c->d, MENU_SEV_ERROR, line, nd->name,
                      "%s has no next: add next = \"NODE\";", owner);
        return -1;
    }
    idx = menu_node_index(c->m, next);
    if (idx < 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, line, nd->name,
                      "next \"%s\" is not a node", clip(next, &k));
    return idx;
}

/* 1 when key is 1 to MENU_NAME_MAX-1 ASCII letters or digits. */
static int key_ok(const char *key)
{
    size_t n = strlen(key);

    if (n == 0 || n >= MENU_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(key[i]))
            return 0;
    return 1;
}

/* An option's key: present, plain, unique in its menu, not a nav key. */
static void check_key(struct check *c, const struct menu_node *nd, size_t k)
{
    const struct menu_option *o = &nd->opts[k];
    const char *nav[] = { c->m->nav.back, c->m->nav.home, c->m->nav.more,
                          c->m->nav.quit };
    static const char *const navn[] = { "back", "home", "more", "quit" };
    struct clip ck;

    if (!o->key || !o->key[0]) {
        menu_diag_add(c->d, MENU_SEV_ERROR, o->line, nd->name,
                      "an option has no key: add key = \"1\";");
        return;
    }
    if (!key_ok(o->key))
        menu_diag_add(c->d, MENU_SEV_ERROR, o->line, nd->name,
                      "key \"%s\" may only use digits and letters (at most "
                      "47)", clip(o->key, &ck));
    for (size_t j = 0; j < k; j++) {
        if (nd->opts[j].key && strcmp(nd->opts[j].key, o->key) == 0) {
            menu_diag_add(c->d, MENU_SEV_ERROR, o->line, nd->name,
                          "key \"%s\" is used twice (first on line %d)",
                          clip(o->key, &ck), nd->opts[j].line);
            break;
        }
    }
    for (size_t j = 0; j < sizeof nav / sizeof nav[0]; j++)
        if (nav[j] && strcmp(nav[j], o->key) == 0)
            menu_diag_add(c->d, MENU_SEV_ERROR, o->line, nd->name,
                          "key \"%s\" is the nav.%s key", clip(o->key, &ck),
                          navn[j]);
}

/* One option of a menu node: key, label, language, set, next. */
static void check_option(struct check *c, struct menu_node *nd, size_t k)
{
    struct menu_option *o = &nd->opts[k];
    struct clip ck;
    const char *key = clip(o->key, &ck);
    char what[CLIP_MAX + 32];

    check_key(c, nd, k);
    snprintf(what, sizeof what, "label of key \"%s\"", key);
    if (o->hidden && text_empty(c->m, &o->label) && o->label.line == 0)
        ;                           /* never listed: no label needed */
    else if (text_empty(c->m, &o->label) && o->label.line == 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, o->line, nd->name,
                      "key \"%s\" has no label: add label = \"...\";", key);
    else
        check_translations(c, &o->label, nd->name, what);
    if (o->language >= (int)c->m->nlangs)
        menu_diag_add(c->d, MENU_SEV_ERROR, o->line, nd->name,
                      "the language of key \"%s\" is not listed in languages",
                      key);
    for (size_t i = 0; i < o->nset; i++)
        check_var(c, o->line, nd->name, "variable", o->set[i].name);
    snprintf(what, sizeof what, "key \"%s\"", key);
    o->next_idx = resolve_next(c, nd, o->next, o->line, what);
}

static void check_menu_node(struct check *c, struct menu_node *nd)
{
    if (nd->nopts == 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "menu has no options: add options = ( { key = \"1\"; "
                      "label = \"...\"; next = \"...\"; } );");
    for (size_t k = 0; k < nd->nopts; k++)
        check_option(c, nd, k);
}

/* The nav key `value` is, as "nav.NAME", or NULL. */
static const char *nav_of(const struct menu *m, const char *value)
{
    const char *nav[] = { m->nav.back, m->nav.home, m->nav.more,
                          m->nav.quit };
    static const char *const navn[] = { "nav.back", "nav.home", "nav.more",
                                        "nav.quit" };

    for (size_t j = 0; j < sizeof nav / sizeof nav[0]; j++)
        if (nav[j] && value && strcmp(nav[j], value) == 0)
            return navn[j];
    return NULL;
}

/* Entry i of an input's `match`: a value the input accepts, not a nav key,
 * not twice; a next that is a node. */
static void check_match(struct check *c, struct menu_node *nd, size_t i)
{
    struct menu_match *mt = &nd->match[i];
    char form[MENU_VAR_VALUE_MAX], other[MENU_VAR_VALUE_MAX];
    const char *nav = nav_of(c->m, mt->value);
    struct clip k;

    mt->next_idx = resolve_next(c, nd, mt->next, mt->line, "a match");
    if (!mt->value || !mt->value[0]) {
        menu_diag_add(c->d, MENU_SEV_ERROR, mt->line, nd->name,
                      "a match has no value: add value = \"...\";");
        return;
    }
    if (nav) {
        menu_diag_add(c->d, MENU_SEV_ERROR, mt->line, nd->name,
                      "match value \"%s\" is the %s key: callers typing it "
                      "never reach the match", clip(mt->value, &k), nav);
        return;
    }
    if (menu_answer_form(c->m, nd, mt->value, strlen(mt->value), form,
                         sizeof form) < 0) {
        menu_diag_add(c->d, MENU_SEV_WARNING, mt->line, nd->name,
                      "match value \"%s\" is never accepted by this input "
                      "(accept, min, max): no caller can reach its next",
                      clip(mt->value, &k));
        return;
    }
    for (size_t j = 0; j < i; j++)
        if (nd->match[j].value &&
            menu_answer_form(c->m, nd, nd->match[j].value,
                             strlen(nd->match[j].value), other,
                             sizeof other) >= 0 &&
            strcmp(form, other) == 0) {
            menu_diag_add(c->d, MENU_SEV_ERROR, mt->line, nd->name,
                          "match value \"%s\" is used twice (first on line "
                          "%d)", clip(mt->value, &k), nd->match[j].line);
            return;
        }
}

static void check_input_node(struct check *c, struct menu_node *nd)
{
    int max = nd->max ? nd->max : MENU_VAR_VALUE_MAX - 1;

    if (!nd->save || !nd->save[0])
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "input has no save: add save = \"NAME\"; or the answer "
                      "is thrown away");
    else
        check_var(c, nd->line, nd->name, "variable", nd->save);
    if (nd->min < 0 || nd->max < 0)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "min and max may not be negative");
    else if (nd->max > MENU_VAR_VALUE_MAX - 1)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "max %d is more than %d, the most one answer can hold",
                      nd->max, MENU_VAR_VALUE_MAX - 1);
    else if (nd->min > max)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "min %d is more than max %d", nd->min, max);
    nd->next_idx = resolve_next(c, nd, nd->next, nd->line, "input");
    for (size_t i = 0; i < nd->nmatch; i++)
        check_match(c, nd, i);
}

static void check_forward_node(struct check *c, struct menu_node *nd)
{
    const char *why = nd->queue ? name_problem(nd->queue, 1) : NULL;
    struct clip k;

    if (!nd->queue || !nd->queue[0])
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "forward has no queue: add queue = \"NAME\";");
    else if (why)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "queue \"%s\" %s", clip(nd->queue, &k), why);
    for (size_t i = 0; i < nd->nfields; i++)
        check_var(c, nd->line, nd->name, "field", nd->fields[i]);
}

/* A lookup node: its lists named well, found / reported / unknown
 * present; near and error lead where unknown does unless given. */
static void check_lookup_node(struct check *c, struct menu_node *nd)
{
    static const char *const outs[MENU_OUT_COUNT] = {
        "found", "reported", "unknown", "near", "error"
    };
    struct clip k;

    for (size_t i = 0; i < nd->nlists; i++) {
        const char *why = name_problem(nd->lists[i], 1);

        if (why)
            menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                          "list \"%s\" %s", clip(nd->lists[i], &k), why);
    }
    if (nd->save || nd->next || nd->nopts)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "a lookup has no save, next or options: it goes to "
                      "found, reported, unknown (near, error)");
    for (size_t i = 0; i < MENU_OUT_COUNT; i++) {
        if (!nd->on[i] && i >= MENU_OUT_NEAR)
            continue;
        if (!nd->on[i] || !nd->on[i][0]) {
            menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                          "lookup has no %s: add %s = \"NODE\";", outs[i],
                          outs[i]);
            continue;
        }
        nd->on_idx[i] = menu_node_index(c->m, nd->on[i]);
        if (nd->on_idx[i] < 0)
            menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                          "%s \"%s\" is not a node", outs[i],
                          clip(nd->on[i], &k));
    }
    for (size_t i = MENU_OUT_NEAR; i < MENU_OUT_COUNT; i++)
        if (!nd->on[i])
            nd->on_idx[i] = nd->on_idx[MENU_OUT_UNKNOWN];
}

/* Name, text and the settings its type needs; resolves next_idx. */
static void check_node(struct check *c, struct menu_node *nd)
{
    const char *why = nd->name ? name_problem(nd->name, 0) : "is empty";
    struct clip cn;

    nd->next_idx = -1;
    for (size_t k = 0; k < nd->nopts; k++)
        nd->opts[k].next_idx = -1;
    for (size_t k = 0; k < nd->nmatch; k++)
        nd->match[k].next_idx = -1;
    for (size_t k = 0; k < MENU_OUT_COUNT; k++)
        nd->on_idx[k] = -1;
    if (why)
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "node name \"%s\" %s", clip(nd->name, &cn), why);
    if (text_empty(c->m, &nd->text) && nd->text.line == 0)
        menu_diag_add(c->d, MENU_SEV_WARNING, nd->line, nd->name,
                      "has no text: add text = \"...\";");
    else
        check_translations(c, &nd->text, nd->name, NULL);
    if (nd->type == MENU_NODE_MENU)
        check_menu_node(c, nd);
    else if (nd->type == MENU_NODE_INPUT)
        check_input_node(c, nd);
    else if (nd->type == MENU_NODE_FORWARD)
        check_forward_node(c, nd);
    else if (nd->type == MENU_NODE_LOOKUP)
        check_lookup_node(c, nd);
}

/* ---- the graph ---------------------------------------------------------- */

/* Edges leaving node nd (options of a menu, hidden ones too; the next of
 * an input, then each of its matches). */
static size_t edge_count(const struct menu_node *nd)
{
    if (nd->type == MENU_NODE_MENU)
        return nd->nopts;
    if (nd->type == MENU_NODE_LOOKUP)
        return MENU_OUT_COUNT;
    return nd->type == MENU_NODE_INPUT ? 1 + nd->nmatch : 0;
}

/* Target of edge k of nd, or -1 when it leads nowhere. */
static int edge_to(const struct menu_node *nd, size_t k)
{
    if (nd->type == MENU_NODE_MENU)
        return nd->opts[k].next_idx;
    if (nd->type == MENU_NODE_LOOKUP)
        return nd->on_idx[k];
    return k == 0 ? nd->next_idx : nd->match[k - 1].next_idx;
}

static int is_exit(const struct menu_node *nd)
{
    return nd->type == MENU_NODE_END || nd->type == MENU_NODE_FORWARD;
}

/* 1 when node nd's way on is already reported as an error (a menu without
 * options, a next naming no node): no second, vaguer warning about it. */
static int edges_broken(const struct menu_node *nd)
{
    if (nd->type == MENU_NODE_MENU && nd->nopts == 0)
        return 1;
    for (size_t k = 0; k < edge_count(nd); k++)
        if (edge_to(nd, k) < 0)
            return 1;
    return 0;
}

/* Marks in reach[] every node a path from start reaches. */
static void find_reachable(const struct menu *m, char *reach, int *queue)
{
    size_t head = 0, tail = 0;

    if (m->start_idx < 0)
        return;
    reach[m->start_idx] = 1;
    queue[tail++] = m->start_idx;
    while (head < tail) {
        const struct menu_node *nd = &m->nodes[queue[head++]];

        for (size_t k = 0; k < edge_count(nd); k++) {
            int v = edge_to(nd, k);

            if (v >= 0 && !reach[v]) {
                reach[v] = 1;
                queue[tail++] = v;
            }
        }
    }
}

/* Marks in out[] every node from which an end or forward node is
 * reachable. */
static void find_exits(const struct menu *m, char *out)
{
    int changed = 1;

    while (changed) {
        changed = 0;
        for (size_t u = 0; u < m->nnodes; u++) {
            const struct menu_node *nd = &m->nodes[u];
            int ok = is_exit(nd);

            for (size_t k = 0; !ok && !out[u] && k < edge_count(nd); k++)
                ok = edge_to(nd, k) >= 0 && out[edge_to(nd, k)];
            if (ok && !out[u]) {
                out[u] = 1;
                changed = 1;
            }
        }
    }
}

/* Warns about nodes no path reaches, and about each place where a path
 * from start enters a part of the menu with no way to an end. */
static void check_paths(struct check *c, const char *reach, const char *exits)
{
    const struct menu *m = c->m;
    char *entry = calloc(m->nnodes, 1);

    if (!entry) {
        c->oom = 1;
        return;
    }
    if (!exits[m->start_idx])
        entry[m->start_idx] = 1;
    for (size_t u = 0; u < m->nnodes; u++) {
        const struct menu_node *nd = &m->nodes[u];

        for (size_t k = 0; reach[u] && exits[u] && k < edge_count(nd); k++)
            if (edge_to(nd, k) >= 0 && !exits[edge_to(nd, k)])
                entry[edge_to(nd, k)] = 1;
    }
    for (size_t u = 0; u < m->nnodes; u++) {
        const struct menu_node *nd = &m->nodes[u];

        if (!reach[u])
            menu_diag_add(c->d, MENU_SEV_WARNING, nd->line, nd->name,
                          "no path from start reaches this node");
        else if (entry[u] && !edges_broken(nd))
            menu_diag_add(c->d, MENU_SEV_WARNING, nd->line, nd->name,
                          "a path from start never reaches an end or "
                          "forward node from here");
    }
    free(entry);
}

/* ---- fields saved on the way to a forward -------------------------------- */

/* The variables a forward may need, each with a bit in the dataflow. */
struct vars {
    const char **name;              /* sorted, distinct */
    size_t n, words;                /* names; 64-bit words of one set */
    uint64_t *in;                   /* nnodes sets: saved on some path to */
    uint64_t *tmp;                  /* one set */
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Bit of variable name, or -1 when no forward sends it. */
static int var_bit(const struct vars *v, const char *name)
{
    const char **p;

    if (!name || v->n == 0)
        return -1;
    p = bsearch(&name, v->name, v->n, sizeof *v->name, cmp_str);
    return p ? (int)(p - v->name) : -1;
}

static void bit_set(uint64_t *set, int bit)
{
    if (bit >= 0)
        set[bit / 64] |= (uint64_t)1 << (bit % 64);
}

static int bit_get(const uint64_t *set, int bit)
{
    return bit >= 0 && ((set[bit / 64] >> (bit % 64)) & 1);
}

/* Collects the fields of reachable forward nodes. Returns -1 on no
 * memory. */
static int vars_collect(const struct menu *m, const char *reach,
                        struct vars *v)
{
    size_t total = 0, k = 0;

    for (size_t u = 0; u < m->nnodes; u++)
        if (reach[u] && m->nodes[u].type == MENU_NODE_FORWARD)
            total += m->nodes[u].nfields;
    if (total == 0)
        return 0;
    v->name = malloc(total * sizeof *v->name);
    if (!v->name)
        return -1;
    for (size_t u = 0; u < m->nnodes; u++)
        for (size_t i = 0; reach[u] && m->nodes[u].type == MENU_NODE_FORWARD &&
                           i < m->nodes[u].nfields; i++)
            if (m->nodes[u].fields[i])
                v->name[k++] = m->nodes[u].fields[i];
    qsort(v->name, k, sizeof *v->name, cmp_str);
    for (size_t i = 0; i < k; i++)
        if (v->n == 0 || strcmp(v->name[v->n - 1], v->name[i]) != 0)
            v->name[v->n++] = v->name[i];
    v->words = (v->n + 63) / 64;
    v->in = calloc(m->nnodes * v->words, sizeof *v->in);
    v->tmp = calloc(v->words, sizeof *v->tmp);
    return v->in && v->tmp ? 0 : -1;
}

/* Into v->tmp: what is saved after taking edge k of node u. */
static void edge_out(const struct menu *m, struct vars *v, size_t u, size_t k)
{
    const struct menu_node *nd = &m->nodes[u];

    memcpy(v->tmp, v->in + u * v->words, v->words * sizeof *v->tmp);
    if (nd->type == MENU_NODE_LOOKUP) {
        static const char *const set[] = { "query", "company", "licence",
                                           "reports", "since", "list" };

        for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
            bit_set(v->tmp, var_bit(v, set[i]));
        return;
    }
    if (nd->type == MENU_NODE_INPUT) {
        if (k == 0 || nd->match[k - 1].save)
            bit_set(v->tmp, var_bit(v, nd->save));
        return;
    }
    for (size_t i = 0; i < nd->opts[k].nset; i++)
        bit_set(v->tmp, var_bit(v, nd->opts[k].set[i].name));
}

/* Merges v->tmp into the set of node t; returns 1 when it grew. */
static int merge_into(struct vars *v, int t)
{
    uint64_t *dst = v->in + (size_t)t * v->words;
    int grew = 0;

    for (size_t w = 0; w < v->words; w++) {
        if (v->tmp[w] & ~dst[w])
            grew = 1;
        dst[w] |= v->tmp[w];
    }
    return grew;
}

/* The may-saved sets, by a worklist seeded with every reachable node (a
 * set that stays empty must still be passed on). queue holds nnodes ints,
 * inq nnodes flags (both zeroed by the caller). */
static void vars_flow(const struct menu *m, const char *reach,
                      struct vars *v, int *queue, char *inq)
{
    size_t head = 0, count = 0, n = m->nnodes;

    for (size_t u = 0; u < n; u++) {
        if (reach[u]) {
            queue[count++] = (int)u;
            inq[u] = 1;
        }
    }
    while (count > 0) {
        int u = queue[head];
        const struct menu_node *nd = &m->nodes[u];

        head = (head + 1) % n;
        count--;
        inq[u] = 0;
        for (size_t k = 0; k < edge_count(nd); k++) {
            int t = edge_to(nd, k);

            edge_out(m, v, (size_t)u, k);
            if (t >= 0 && merge_into(v, t) && !inq[t]) {
                inq[t] = 1;
                queue[(head + count) % n] = t;
                count++;
            }
        }
    }
}

/* Reports each field of a reachable forward node that no path saves. */
static void check_fields(struct check *c, const char *reach, int *queue,
                         char *inq)
{
    const struct menu *m = c->m;
    struct vars v;
    struct clip k;

    memset(&v, 0, sizeof v);
    if (vars_collect(m, reach, &v) < 0) {
        c->oom = 1;
    } else if (v.n > 0) {
        vars_flow(m, reach, &v, queue, inq);
        for (size_t u = 0; u < m->nnodes; u++) {
            const struct menu_node *nd = &m->nodes[u];

            for (size_t i = 0; reach[u] && nd->type == MENU_NODE_FORWARD &&
                               i < nd->nfields; i++)
                if (!bit_get(v.in + u * v.words, var_bit(&v, nd->fields[i])))
                    menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                                  "field \"%s\" is never saved on any path "
                                  "to this node", clip(nd->fields[i], &k));
        }
    }
    free(v.name);
    free(v.in);
    free(v.tmp);
}

/* Reachability, exits and fields: everything that follows `next`. */
static void check_graph(struct check *c)
{
    const struct menu *m = c->m;
    char *reach = calloc(m->nnodes, 1);
    char *flags = calloc(m->nnodes, 1);
    int *queue = calloc(m->nnodes, sizeof *queue);

    if (!reach || !flags || !queue) {
        c->oom = 1;
    } else {
        find_reachable(m, reach, queue);
        check_fields(c, reach, queue, flags);
        memset(flags, 0, m->nnodes);
        find_exits(m, flags);
        check_paths(c, reach, flags);
    }
    free(reach);
    free(flags);
    free(queue);
}

/* ---- screens ------------------------------------------------------------ */

/* Every language's screen of node u on a folding USSD channel: an error
 * where it cannot be paginated, a warning where it still needs UCS-2. */
static void check_fit(struct check *c, size_t u)
{
    const struct menu *m = c->m;
    const struct menu_node *nd = &m->nodes[u];
    char bad[MENU_MAX_LANGS * (MENU_NAME_MAX + 2) + 1] = "";
    char wide[sizeof bad] = "";
    size_t bad_limit = 0, wide_limit = 0;

    for (size_t l = 0; l < m->nlangs && l < MENU_MAX_LANGS; l++) {
        struct menu_fit f;
        int rc = menu_fit_node(m, (int)u, (int)l, &fit_render, &f);

        if (rc == MENU_EINVAL)
            continue;
        if (rc < 0 || f.pages < 0) {
            list_add(bad, sizeof bad, m->langs[l]);
            bad_limit = f.limit;
        } else if (f.enc == MENU_UCS2) {
            list_add(wide, sizeof wide, m->langs[l]);
            wide_limit = f.limit;
        }
    }
    if (bad[0])
        menu_diag_add(c->d, MENU_SEV_ERROR, nd->line, nd->name,
                      "screen cannot be paginated to fit in %s: an option "
                      "is longer than a page (%zu characters); shorten its "
                      "label", bad, bad_limit);
    if (wide[0])
        menu_diag_add(c->d, MENU_SEV_WARNING, nd->line, nd->name,
                      "needs UCS-2 after folding (%zu characters a page) in "
                      "%s: remove curly quotes, long dashes or symbols",
                      wide_limit, wide);
}

/* ---- one channel --------------------------------------------------------- */

static const char *enc_word(enum menu_enc e)
{
    return e == MENU_GSM7 ? "GSM-7" : "UCS-2";
}

/* Node u in language l on channel r: an error when its screen cannot be
 * shown (cannot be paginated, or needs pages nobody can turn to), a
 * warning when it is a final screen of several pages. */
static void check_channel_one(const struct menu *m, size_t u, size_t l,
                              const char *ch, const struct menu_render *r,
                              struct menu_diags *d)
{
    const struct menu_node *nd = &m->nodes[u];
    struct menu_fit f;
    int rc = menu_fit_node(m, (int)u, (int)l, r, &f);

    if (rc == MENU_EINVAL)
        return;
    if (rc < 0 || f.pages < 0) {
        menu_diag_add(d, MENU_SEV_ERROR, nd->line, nd->name,
                      "screen cannot be shown in %s on channel %s: an "
                      "option is longer than a page (%zu characters, %s); "
                      "shorten its label", m->langs[l], ch, f.limit,
                      enc_word(f.enc));
    } else if (f.pages > 1 && !m->nav.more) {
        menu_diag_add(d, MENU_SEV_ERROR, nd->line, nd->name,
                      "screen needs %d pages in %s on channel %s but nav.more "
                      "is not set: callers can never read past page 1; add "
                      "more = \"98\"; to nav or shorten the screen", f.pages,
                      m->langs[l], ch);
    } else if (f.pages > 1 && is_exit(nd)) {
        menu_diag_add(d, MENU_SEV_WARNING, nd->line, nd->name,
                      "final screen needs %d pages in %s on channel %s (%zu "
                      "characters a page, %s): callers must press %s to read "
                      "the rest before the session ends; shorten it to one "
                      "page", f.pages, m->langs[l], ch, f.limit,
                      enc_word(f.enc), m->nav.more);
    }
}

int menu_check_channel(const struct menu *m, const char *channel,
                       const struct menu_render *r, struct menu_diags *d)
{
    size_t errors;

    if (!m || !r || !d || !m->nodes)
        return MENU_EINVAL;
    errors = d->errors;
    for (size_t u = 0; u < m->nnodes; u++)
        for (size_t l = 0; l < m->nlangs && l < MENU_MAX_LANGS; l++)
            check_channel_one(m, u, l, channel ? channel : "?", r, d);
    return (int)(d->errors - errors);
}

/* ---- entry point -------------------------------------------------------- */

int menu_check(struct menu *m, struct menu_diags *d)
{
    struct menu_diags local;
    struct check c = { m, d, 0 };
    size_t errors;

    if (!m)
        return MENU_EINVAL;
    menu_diags_init(&local);
    if (!d)
        c.d = &local;
    errors = c.d->errors;
    check_required(&c);
    check_start(&c);
    check_home(&c);
    check_strings(&c);
    for (size_t u = 0; m->nodes && u < m->nnodes; u++)
        check_node(&c, &m->nodes[u]);
    if (m->nodes && m->nnodes > 0 && m->start_idx >= 0)
        check_graph(&c);
    for (size_t u = 0; m->nodes && u < m->nnodes && m->nlangs > 0; u++)
        check_fit(&c, u);
    if (c.oom)
        menu_diag_add(c.d, MENU_SEV_ERROR, 0, NULL,
                      "out of memory while checking the menu");
    errors = c.d->errors - errors;
    menu_diags_free(&local);
    return (int)errors;
}
