/*
 * menu_diff.c — what changed between two versions of a menu, in the words
 * of the file: nodes added and removed, and for a node both have, its type,
 * its text in every language, its options (label, next), and where an input
 * goes. `hotlinectl menu diff NAME A B` prints it before an operator
 * publishes or rolls back (docs/menus.md, "Publishing").
 *
 * Built on the loaded structs, not on bytes: reordered settings, comments
 * and whitespace are no difference; a text a caller sees differently is.
 *
 * Pure: no I/O; writes into the caller's buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "menu.h"

#define DIFF_QUOTE_MAX 400      /* bytes of one quoted text in a line */

struct dbuf {
    char *out;
    size_t sz, len;
    int full;
    int count;
};

/* Appends one line (printf-style) and counts it as a difference. */
__attribute__((format(printf, 2, 3)))
static void dline(struct dbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    b->count++;
    if (b->full || b->sz == 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->out + b->len, b->sz - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n + 1 >= b->sz - b->len) {
        b->out[b->len] = '\0';
        b->full = 1;
        return;
    }
    b->len += (size_t)n;
    b->out[b->len++] = '\n';
    b->out[b->len] = '\0';
}

/* s quoted, with newlines as \n and cut at DIFF_QUOTE_MAX. */
static const char *quote(const char *s, char *q, size_t qsz)
{
    size_t j = 0;

    q[j++] = '"';
    for (; s && *s && j + 4 < qsz; s++) {
        if (*s == '\n') {
            q[j++] = '\\';
            q[j++] = 'n';
        } else if (*s == '"') {
            q[j++] = '\\';
            q[j++] = '"';
        } else {
            q[j++] = *s;
        }
    }
    q[j++] = '"';
    q[j] = '\0';
    return q;
}

static const char *nz(const char *s)
{
    return s ? s : "(none)";
}

static int same(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") == 0;
}

static const char *type_name(enum menu_node_type t)
{
    switch (t) {
    case MENU_NODE_MENU: return "menu";
    case MENU_NODE_INPUT: return "input";
    case MENU_NODE_END: return "end";
    case MENU_NODE_FORWARD: return "forward";
    case MENU_NODE_LOOKUP: return "lookup";
    }
    return "?";
}

/* The text of t in language `code` as a caller of m sees it ("" when m does
 * not offer that language). */
static const char *text_in(const struct menu *m, const struct menu_text *t,
                           const char *code)
{
    int li = menu_lang_index(m, code);

    return li < 0 ? "" : menu_text_get(m, t, li);
}

/* One line per language both menus offer in which t reads differently (a
 * language only one offers is the `languages:` line's news). */
static void texts(struct dbuf *b, const struct menu *ma,
                  const struct menu_text *ta, const struct menu *mb,
                  const struct menu_text *tb, const char *what)
{
    char q1[DIFF_QUOTE_MAX], q2[DIFF_QUOTE_MAX];

    for (size_t i = 0; i < ma->nlangs; i++) {
        const char *code = ma->langs[i];
        const char *x, *y;

        if (menu_lang_index(mb, code) < 0)
            continue;
        x = text_in(ma, ta, code);
        y = text_in(mb, tb, code);
        if (strcmp(x, y) != 0)
            dline(b, "%s [%s]: %s -> %s", what, code,
                  quote(x, q1, sizeof q1), quote(y, q2, sizeof q2));
    }
}

static const struct menu_option *opt_by_key(const struct menu_node *n,
                                            const char *key)
{
    for (size_t i = 0; i < n->nopts; i++)
        if (strcmp(n->opts[i].key, key) == 0)
            return &n->opts[i];
    return NULL;
}

static void options(struct dbuf *b, const struct menu *ma,
                    const struct menu_node *na, const struct menu *mb,
                    const struct menu_node *nb)
{
    char what[MENU_NAME_MAX * 3];
    char q[DIFF_QUOTE_MAX];

    for (size_t i = 0; i < na->nopts; i++) {
        const struct menu_option *oa = &na->opts[i];
        const struct menu_option *ob = opt_by_key(nb, oa->key);

        if (!ob) {
            dline(b, "~ node %s: - option %s", na->name, oa->key);
            continue;
        }
        snprintf(what, sizeof what, "~ node %s: option %s: label", na->name,
                 oa->key);
        texts(b, ma, &oa->label, mb, &ob->label, what);
        if (!same(oa->next, ob->next))
            dline(b, "~ node %s: option %s: next %s -> %s", na->name,
                  oa->key, nz(oa->next), nz(ob->next));
        if (oa->hidden != ob->hidden)
            dline(b, "~ node %s: option %s: %s", na->name, oa->key,
                  ob->hidden ? "now hidden" : "now listed");
    }
    for (size_t i = 0; i < nb->nopts; i++) {
        const struct menu_option *ob = &nb->opts[i];

        if (opt_by_key(na, ob->key))
            continue;
        dline(b, "~ node %s: + option %s %s -> %s", nb->name, ob->key,
              quote(menu_text_get(mb, &ob->label, 0), q, sizeof q),
              nz(ob->next));
    }
}

static void fields_of(const struct menu_node *n, char *out, size_t sz)
{
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n->nfields && len + 1 < sz; i++) {
        int k = snprintf(out + len, sz - len, "%s%s", i ? " " : "",
                         n->fields[i]);
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

static void node_pair(struct dbuf *b, const struct menu *ma,
                      const struct menu_node *na, const struct menu *mb,
                      const struct menu_node *nb)
{
    char what[MENU_NAME_MAX * 2];
    char f1[512], f2[512];

    if (na->type != nb->type)
        dline(b, "~ node %s: type %s -> %s", na->name, type_name(na->type),
              type_name(nb->type));
    snprintf(what, sizeof what, "~ node %s: text", na->name);
    texts(b, ma, &na->text, mb, &nb->text, what);
    options(b, ma, na, mb, nb);
    if (!same(na->next, nb->next))
        dline(b, "~ node %s: next %s -> %s", na->name, nz(na->next),
              nz(nb->next));
    if (!same(na->save, nb->save))
        dline(b, "~ node %s: save %s -> %s", na->name, nz(na->save),
              nz(nb->save));
    for (int k = 0; k < MENU_OUT_COUNT; k++)   /* a lookup's outcomes */
        if (!same(na->on[k], nb->on[k]))
            dline(b, "~ node %s: %s %s -> %s", na->name,
                  menu_outcome_name((enum menu_outcome)k), nz(na->on[k]),
                  nz(nb->on[k]));
    if (na->type == MENU_NODE_INPUT && nb->type == MENU_NODE_INPUT &&
        (na->accept != nb->accept || na->min != nb->min ||
         na->max != nb->max))
        dline(b, "~ node %s: accepted answers changed", na->name);
    if (!same(na->queue, nb->queue))
        dline(b, "~ node %s: queue %s -> %s", na->name, nz(na->queue),
              nz(nb->queue));
    fields_of(na, f1, sizeof f1);
    fields_of(nb, f2, sizeof f2);
    if (strcmp(f1, f2) != 0)
        dline(b, "~ node %s: fields %s -> %s", na->name, f1, f2);
}

static void top(struct dbuf *b, const struct menu *ma, const struct menu *mb)
{
    char l1[MENU_MAX_LANGS * MENU_NAME_MAX], l2[sizeof l1];
    size_t n1 = 0, n2 = 0;
    static const char *const snames[] = { "back", "home", "more", "invalid",
                                          "quit" };
    const struct menu_text *sa[] = { &ma->strings.back, &ma->strings.home,
                                     &ma->strings.more, &ma->strings.invalid,
                                     &ma->strings.quit };
    const struct menu_text *sb[] = { &mb->strings.back, &mb->strings.home,
                                     &mb->strings.more, &mb->strings.invalid,
                                     &mb->strings.quit };
    const char *ka[] = { ma->nav.back, ma->nav.home, ma->nav.more,
                         ma->nav.quit };
    const char *kb[] = { mb->nav.back, mb->nav.home, mb->nav.more,
                         mb->nav.quit };

    l1[0] = l2[0] = '\0';
    for (size_t i = 0; i < ma->nlangs; i++)
        n1 += (size_t)snprintf(l1 + n1, sizeof l1 - n1, "%s%s", i ? " " : "",
                               ma->langs[i]);
    for (size_t i = 0; i < mb->nlangs; i++)
        n2 += (size_t)snprintf(l2 + n2, sizeof l2 - n2, "%s%s", i ? " " : "",
                               mb->langs[i]);
    if (strcmp(l1, l2) != 0)
        dline(b, "languages: %s -> %s", l1, l2);
    if (!same(ma->start, mb->start))
        dline(b, "start: %s -> %s", nz(ma->start), nz(mb->start));
    if (!same(ma->home, mb->home))
        dline(b, "home: %s -> %s", nz(ma->home), nz(mb->home));
    for (int i = 0; i < 4; i++)
        if (!same(ka[i], kb[i]))
            dline(b, "nav.%s: %s -> %s", snames[i == 3 ? 4 : i], nz(ka[i]),
                  nz(kb[i]));
    for (int i = 0; i < 5; i++) {
        char what[32];

        snprintf(what, sizeof what, "strings.%s", snames[i]);
        texts(b, ma, sa[i], mb, sb[i], what);
    }
}

int menu_diff(const struct menu *a, const struct menu *b, char *out,
              size_t outsz)
{
    struct dbuf d = { out, outsz, 0, 0, 0 };

    if (!a || !b || !out)
        return MENU_EINVAL;
    if (outsz)
        out[0] = '\0';
    top(&d, a, b);
    for (size_t i = 0; i < a->nnodes; i++) {
        const struct menu_node *na = &a->nodes[i];
        int j = menu_node_index(b, na->name);

        if (j < 0)
            dline(&d, "- node %s (%s)", na->name, type_name(na->type));
        else
            node_pair(&d, a, na, b, &b->nodes[j]);
    }
    for (size_t i = 0; i < b->nnodes; i++) {
        const struct menu_node *nb = &b->nodes[i];

        if (menu_node_index(a, nb->name) < 0)
            dline(&d, "+ node %s (%s)", nb->name, type_name(nb->type));
    }
    return d.full ? MENU_ENOSPC : d.count;
}
